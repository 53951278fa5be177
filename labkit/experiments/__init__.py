"""Running experiments: study files, sweeps, the results store and the notebook runner.

``study`` reads ``experiments/<study>.yaml`` into an :class:`Experiment` (its API is
re-exported here) and labels its arms, ``sweep`` runs its points (locally or on Dask)
into tables addressed by config hash, ``studies`` runs a study for its notebook (reusing
the points sibling studies computed), ``results`` writes tables and manifests
atomically, ``paths`` resolves paths against the repository root, ``parameters`` checks
notebook parameters and ``notebooks`` runs the main job's notebooks.

Nothing here imports :mod:`labkit.analysis`: analysis reads what experiments wrote.
"""

from labkit.experiments.study import (GRID_FORM, STUDY_KEYS, Arm, Experiment, load, read_yaml,
                                      resolve)

__all__ = ["Arm", "Experiment", "GRID_FORM", "STUDY_KEYS", "load", "read_yaml", "resolve"]
