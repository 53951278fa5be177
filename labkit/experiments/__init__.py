"""Running experiments: study files, sweeps, the results store and the notebook runner.

``study`` reads ``experiments/<study>.yaml`` into an :class:`Experiment` (its API is
re-exported here), ``sweep`` runs its points (locally or on Dask) into tables addressed
by config hash, ``results`` writes tables and manifests atomically, ``parameters``
checks notebook parameters and ``notebooks`` runs the main job's notebooks.
"""

from labkit.experiments.study import (GRID_FORM, STUDY_KEYS, Arm, Experiment, load, read_yaml,
                                      resolve)

__all__ = ["Arm", "Experiment", "GRID_FORM", "STUDY_KEYS", "load", "read_yaml", "resolve"]
