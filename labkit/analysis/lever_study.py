"""A lever study: each family of arms sweeps one lever; one call runs it and shapes its tables.

Studies 02_exploration, 03_stochasticity and 05_capacity read the same way::

    study = lever_study("experiments/exploration.yaml", "default", "results/02_exploration",
                        baseline={"arm": "none"})
    save(study.lever_figure(logx=["beta"]), study.out / "exploration_levers")
    display(*study.ci_tables())
    print("\\n".join(study.reading_checks(["exposure_entropy", "ctr"])))

:func:`lever_study` sweeps the study (:func:`labkit.experiments.studies.run_study`),
averages each run over its late rounds (:func:`labkit.analysis.tables.late_means`) and
writes the two summary tables beside the sweep's (:func:`labkit.analysis.tables.lever_tables`):
late-round means per setting over seeds, and each setting's change against a reference
point, paired by seed, both with 95% Student-t intervals. The reference is one named
point (``baseline``, say the greedy feed) or, with no baseline, each family's smallest
setting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labkit.analysis.plots import collapse_figure, lever_figure
from labkit.analysis.stats import ci_errorbar
from labkit.analysis.tables import (DASHBOARD, DIVERSITY, LATE_ROUNDS, carried_settings, ci_table, late_means,
                                    lever_tables, reading_checks, settings_column)
from labkit.experiments.studies import StudyRun, run_study
from labkit.experiments.study import varied_levers


@dataclass(frozen=True)
class LeverStudy:
    """A lever study swept and summarized: what its notebook draws, shows and checks.

    ``run``: the sweep (experiment, table, results folder); ``per_seed``: late-round
    means, one row per point and seed; ``varied``: {family: the levers it sweeps};
    ``metrics``: the metrics summarized (diversity, then the dashboard); ``baseline``:
    the reference point's column values, or None (each family's smallest setting);
    ``label``: the column naming a setting (``setting``, or ``arm`` with no baseline);
    ``summary``, ``effects``: the tables written as CSV; ``apart``: late-round means of the
    families set apart (``lever_study(apart=...)``), kept out of everything above.
    """

    run: StudyRun
    per_seed: pd.DataFrame
    varied: dict[str, list[str]]
    metrics: list[str]
    baseline: Mapping[str, Any] | None
    label: str
    summary: pd.DataFrame
    effects: pd.DataFrame
    apart: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def out(self) -> Path:
        """The study's results folder."""
        return self.run.out

    @property
    def note(self) -> str:
        """A line saying what a point of the lever figure is: which rounds, how many seeds, which band."""
        first, last = self.per_seed.attrs["late_rounds"]
        return (f"late-round mean (rounds {first}-{last} of each run); line: mean over "
                f"{self.per_seed['seed'].nunique()} seeds, band: 95% t confidence interval")

    def describe(self) -> str:
        """The study's question, its size and where its results are."""
        return " ".join(self.run.experiment.description.split()) + "\n" + self.run.describe()

    def _is_baseline(self) -> np.ndarray:
        mask = np.zeros(len(self.per_seed), bool)
        if self.baseline is not None:
            mask[:] = True
            for column, value in self.baseline.items():
                mask &= (self.per_seed[column] == value).to_numpy()
        return mask

    def lever_figure(self, logx: Sequence[str] = (), baseline_label: str = "baseline") -> Figure:
        """Each metric against each family's lever (:func:`labkit.analysis.plots.lever_figure`).

        ``logx``: levers drawn on a log axis; ``baseline_label``: the legend's name for the
        reference point, drawn in every panel as a dashed line and grey band.
        """
        base = self._is_baseline()
        return lever_figure(self.per_seed[~base], self.metrics, col="family",
                            x={family: names[0] for family, names in self.varied.items() if names},
                            baseline=self.per_seed[base] if base.any() else None,
                            baseline_label=baseline_label, logx=logx, note=self.note)

    def rounds_figure(self, setting: str | None = None) -> Figure:
        """Every metric against round (:func:`labkit.analysis.plots.collapse_figure`), one line per setting.

        ``setting``: None draws the settings 06_tradeoffs carries forward, named as there
        (:func:`labkit.analysis.tables.carried_settings`); a format string over the table's
        columns (``"dim {embedding_dim}, {train_steps} steps"``) draws every point once,
        named by it.
        """
        table = self.run.table
        if setting is None:
            rows = carried_settings(table, self.run.experiment.scale)
        else:
            rows = table.drop_duplicates(["config_hash", "seed", "round"]).copy()
            rows["setting"] = [setting.format(**r) for r in rows.to_dict("records")]
        return collapse_figure(rows, {"diversity": DIVERSITY, "dashboard": DASHBOARD}, hue="setting",
                               errorbar=ci_errorbar(95))

    def ci_tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The summary and the effects as display tables: ``mean [low, high]`` per metric and setting."""
        return (ci_table(self.summary, self.metrics, self.label),
                ci_table(self.effects, self.metrics, self.label, signed=True))

    def reading_checks(self, headline: Sequence[str]) -> list[str]:
        """Lines that check the reading of the figure (:func:`labkit.analysis.tables.reading_checks`).

        ``headline``: the metrics whose change at each family's strongest setting is printed.
        """
        effects = self.effects
        if self.baseline is None:
            effects = effects.assign(setting=effects["arm"] + " vs the smallest")
        return reading_checks(self.summary, effects, self.varied, self.metrics, headline)


def lever_study(experiment: str | os.PathLike, scale: str, out_dir: str | os.PathLike,
                baseline: Mapping[str, Any] | None, late_rounds: int = LATE_ROUNDS,
                apart: str | None = None) -> LeverStudy:
    """Sweep a lever study, average its late rounds and write its summary tables.

    ``experiment``, ``scale``, ``out_dir``: as in :func:`labkit.experiments.studies.run_study`;
    ``baseline``: column values of the reference point (``{"arm": "none"}``), or None to
    compare each family with its own smallest setting; ``late_rounds``: rounds averaged
    at the end of each run (:func:`labkit.analysis.tables.late_window`); ``apart``: families
    whose name holds this string (02's ``_strength_`` sweeps, read by
    :mod:`labkit.analysis.bonus_strength`) are kept out of the lever figure and tables, their
    late-round means returned as ``apart``.
    """
    run = run_study(experiment, scale, out_dir)
    varied = varied_levers(run.experiment)
    per_seed = late_means(run.table, late_rounds)
    window = dict(per_seed.attrs)
    aside = (per_seed["family"].str.contains(apart, regex=False).to_numpy(bool) if apart
             else np.zeros(len(per_seed), bool))
    set_apart, per_seed = per_seed[aside].reset_index(drop=True), per_seed[~aside].reset_index(drop=True)
    set_apart.attrs, per_seed.attrs = dict(window), dict(window)  # the late-round window, kept by both
    varied = {family: names for family, names in varied.items() if not (apart and apart in family)}
    label = "arm" if baseline is None else "setting"
    if baseline is not None:  # name a setting by its lever values: the arm alone does not say them
        per_seed["setting"] = settings_column(per_seed, varied)
    metrics = [*DIVERSITY, *DASHBOARD]
    summary, effects = lever_tables(per_seed, metrics, varied, baseline, run.out, label)
    return LeverStudy(run, per_seed, varied, metrics, baseline, label, summary, effects, set_apart)


__all__ = ["LeverStudy", "lever_study"]
