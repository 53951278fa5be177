"""Each exploration bonus over its whole strength range, and the regime where it herds users.

Study 02's arms ``<bonus>_strength_<recommender>`` (``experiments/exploration.yaml``) sweep
ucb's ``beta`` and the novelty reward's ``novelty_weight`` from 0.05 to 16 in standardized
units (each user's scores centred and divided by their spread, so one value means about the
same strength under every recommender) under two recommenders; strength 0 is that
recommender's greedy feed, the reference of every comparison here.

A bonus every user shares can *herd* them: once it dominates the scores, every user is sent
to the same least-shown items in the same round. Each round's exposure then narrows
(within-round ``exposure_entropy`` below greedy's) while the run's widens
(``cumulative_exposure_entropy`` above greedy's): two readings of diversity moving apart
(docs/mitigation-units.md). :func:`herding_table` finds those strengths from the late-round
means, :func:`herding_bands` turns them into spans of the strength axis, and
:func:`strength_figure` draws each metric against strength with the bands shaded::

    sweep = bonus_strength(study.apart, study.out)      # writes bonus_strength.csv
    save(strength_figure(sweep.per_seed, sweep.levers, bands=herding_bands(sweep.herding)), path)
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from labkit.analysis.labels import split_label
from labkit.analysis.stats import ci_errorbar, mean_ci
from labkit.analysis.style import PALETTE, RC, style
from labkit.analysis.tables import ci_text, effects
from labkit.experiments.results import write_csv

BONUS_LEVERS = ("beta", "novelty_weight")  # the strength levers a family may sweep
WITHIN, CUMULATIVE = "exposure_entropy", "cumulative_exposure_entropy"  # the two readings of diversity
STRENGTH_METRICS = (WITHIN, "slate_overlap", CUMULATIVE, "cumulative_coverage", "ctr")
HERDING_LABEL = "herding: within-round exposure entropy below greedy's, cumulative above"


class StrengthSweep(NamedTuple):
    """The strength sweeps of a study (see :func:`bonus_strength`)."""

    per_seed: pd.DataFrame  # late-round means of the sweeps' points, one row per point and seed
    levers: dict[str, str]  # {family: the bonus lever it sweeps}
    herding: pd.DataFrame  # :func:`herding_table`


def strength_levers(per_seed: pd.DataFrame, levers: Sequence[str] = BONUS_LEVERS) -> dict[str, str]:
    """{family: the one lever of ``levers`` that takes several values in it}, in table order.

    Raises if a family varies none of them or more than one.
    """
    out = {}
    for family, rows in per_seed.groupby("family", sort=False):
        swept = [lever for lever in levers if lever in rows and rows[lever].nunique() > 1]
        if len(swept) != 1:
            raise ValueError(f"family {family!r}: expected exactly one of {list(levers)} to vary, found {swept}")
        out[str(family)] = swept[0]
    return out


def herding_table(per_seed: pd.DataFrame, levers: Mapping[str, str], level: float = 95) -> pd.DataFrame:
    """Per family and strength, the change against strength 0 of both readings of diversity.

    ``per_seed``: late-round means, one row per point and seed, with ``family``, the lever
    columns and :data:`WITHIN`, :data:`CUMULATIVE`; ``levers``: {family: its strength lever}
    (:func:`strength_levers`); each family needs its strength-0 point, its reference.
    Returns one row per family and positive strength: ``family``, ``lever``, ``strength``,
    both changes (paired by seed, mean and ``level``% t interval, columns ``m``, ``m_low``,
    ``m_high``), ``n_seeds`` and ``herding``: within-round entropy clearly below the
    reference's (interval under 0) while cumulative entropy is clearly above it (interval
    over 0). With one seed there is no interval, so nothing is called herding.
    """
    parts = []
    for family, lever in levers.items():
        rows = per_seed[per_seed["family"] == family]
        change = effects(rows, {lever: 0.0}, [WITHIN, CUMULATIVE], by=["family", lever], level=level)
        change = change.rename(columns={lever: "strength"})
        change.insert(1, "lever", lever)
        parts.append(change.sort_values("strength", kind="stable"))
    table = pd.concat(parts, ignore_index=True)
    table["herding"] = (table[f"{WITHIN}_high"] < 0) & (table[f"{CUMULATIVE}_low"] > 0)
    return table


def herding_bands(herding: pd.DataFrame) -> dict[str, list[tuple[float, float]]]:
    """{family: spans (low, high) of the strength axis where it herds}, from :func:`herding_table`.

    A run of consecutive herding strengths is one span; it reaches half a grid step (on a
    log axis: the geometric midpoint) past its first and last strength, so a single
    herding strength is a band around its marker and two adjacent runs would touch.
    """
    out: dict[str, list[tuple[float, float]]] = {}
    for family, rows in herding.groupby("family", sort=False):
        values = rows["strength"].to_numpy(float)
        flags = rows["herding"].to_numpy(bool)
        ratios = values[1:] / values[:-1] if len(values) > 1 else np.array([2.0])
        spans, i = [], 0
        while i < len(values):
            if not flags[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(values) and flags[j + 1]:
                j += 1
            low = values[i] / np.sqrt(ratios[i - 1] if i > 0 else ratios[0])
            high = values[j] * np.sqrt(ratios[j] if j < len(ratios) else ratios[-1])
            spans.append((float(low), float(high)))
            i = j + 1
        out[str(family)] = spans
    return out


def bonus_strength(per_seed: pd.DataFrame, out: str | os.PathLike | None = None, level: float = 95
                   ) -> StrengthSweep:
    """The strength sweeps of a study read together: their levers and their herding table.

    ``per_seed``: late-round means of the sweeps' points only (a lever study's ``apart``
    rows); ``out``: where ``bonus_strength.csv`` (the herding table) is written, or None.
    """
    levers = strength_levers(per_seed)
    table = herding_table(per_seed, levers, level)
    if out is not None:
        write_csv(table, Path(out) / "bonus_strength.csv")
    return StrengthSweep(per_seed, levers, table)


def _title(family: str, lever: str, per_seed: pd.DataFrame) -> str:
    rows = per_seed[per_seed["family"] == family]
    recommender = rows["recommender"].iloc[0] if "recommender" in rows else family.rsplit("_", 1)[-1]
    return f"{lever.replace('_', ' ')}, {recommender}"


def _thinned(values: Sequence[float], ratio: float = 3.9) -> list[float]:
    """Tick values at least ``ratio`` apart on a log axis, from the smallest (labels must not collide)."""
    kept: list[float] = []
    for value in values:
        if not kept or value >= kept[-1] * ratio:
            kept.append(value)
    return kept


def _short_label(metric: str, width: int = 16) -> str:
    """A metric's name wrapped for a narrow panel, with its units only when they are short."""
    name, units = split_label(metric)
    return textwrap.fill(name, width) + (f"\n({units})" if units and len(units) <= width else "")


def strength_figure(per_seed: pd.DataFrame, levers: Mapping[str, str],
                    metrics: Sequence[str] = STRENGTH_METRICS,
                    bands: Mapping[str, Sequence[tuple[float, float]]] | None = None,
                    note: str | None = None, panel_size: tuple[float, float] = (1.45, 1.0)) -> Figure:
    """Each metric against bonus strength (log axis): one row per metric, one column per family.

    ``per_seed``: late-round means per point and seed (``family``, the lever columns, the
    metrics); ``levers``: {family: its strength lever}, the columns in order; ``bands``:
    {family: spans of the strength axis shaded as herding} (:func:`herding_bands`);
    ``note``: a line above the panels. In each panel the line is the mean over seeds at
    each positive strength with its 95% t band; the dashed line and grey band are the
    family's strength-0 point (that recommender's greedy feed) and its interval.
    Panels are labelled ``ax.get_label() == f"{metric}|{family}"``; rows share their y axis.
    """
    missing = sorted({c for c in [*metrics, "family", *levers.values()] if c not in per_seed.columns})
    if missing:
        raise KeyError(f"strength_figure: column(s) {missing} not in the table; it has {list(per_seed.columns)}")
    bands = bands or {}
    with style():
        colour = sns.color_palette(PALETTE, 1)[0]
        shade = sns.color_palette(PALETTE)[3]
        width, height = panel_size
        fig = Figure(figsize=(width * len(levers) + 0.6, height * len(metrics) + 0.75 + 0.2 * bool(note)),
                     layout="constrained")
        grid = fig.subplots(len(metrics), len(levers), sharey="row", squeeze=False)
        for j, (family, lever) in enumerate(levers.items()):
            rows = per_seed[per_seed["family"] == family]
            reference, swept = rows[rows[lever] == 0], rows[rows[lever] > 0]
            values = sorted(pd.unique(swept[lever]))
            for i, metric in enumerate(metrics):
                ax = grid[i, j]
                for low, high in bands.get(family, ()):
                    ax.axvspan(low, high, color=shade, alpha=0.18, lw=0, zorder=0)
                if len(reference):
                    mean, low, high = mean_ci(reference[metric])
                    if not np.isnan(low):
                        ax.axhspan(low, high, color="0.88", lw=0, zorder=0)
                    ax.axhline(mean, color="0.35", ls="--", lw=0.8, zorder=1)
                sns.lineplot(data=swept, x=lever, y=metric, errorbar=ci_errorbar(95), color=colour, marker="o",
                             markersize=3, markeredgewidth=0, err_kws={"linewidth": 0}, legend=False, ax=ax)
                ax.set_xscale("log")
                ax.minorticks_off()
                ticks = _thinned(values)
                ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
                ax.set_ylabel(_short_label(metric) if j == 0 else "")
                ax.set_xlabel(f"{lever.replace('_', ' ')}\n(standardized units)" if i == len(metrics) - 1 else "")
                if i == 0:
                    ax.set_title(_title(family, lever, per_seed))
                ax.set_label(f"{metric}|{family}")
        handles = [Line2D([], [], color=colour, marker="o", markersize=3, markeredgewidth=0,
                          label="bonus (mean over seeds, 95% t band)"),
                   Line2D([], [], color="0.35", ls="--", lw=0.8, label="greedy feed, same recommender"),
                   Patch(color=shade, alpha=0.18, lw=0, label=HERDING_LABEL)]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
        if note:
            fig.suptitle(note, x=0.0, ha="left", fontweight="normal", fontsize=RC["axes.titlesize"])
    return fig


def strength_lines(sweep: StrengthSweep, metrics: Sequence[str] = (WITHIN, "slate_overlap", "ctr"),
                   level: float = 95) -> list[str]:
    """Lines that check the reading of the strength figure: per family, where it herds, then
    the change of each of ``metrics`` against strength 0 (paired by seed, ``level``% t
    interval) at the strength that widens the round most (largest change of within-round
    entropy), at the first herding strength and at the strongest."""
    lines = []
    for family, lever in sweep.levers.items():
        rows = sweep.per_seed[sweep.per_seed["family"] == family]
        change = effects(rows, {lever: 0.0}, list(metrics), by=[lever], level=level).sort_values(lever)
        change = change.reset_index(drop=True)
        herd = sweep.herding[(sweep.herding["family"] == family) & sweep.herding["herding"]]["strength"].tolist()
        lines.append(f"{family} ({lever}): herds at " + (", ".join(f"{v:g}" for v in herd) or "no strength"))
        marks = [("widest round", change[WITHIN].idxmax())]
        if herd:
            marks.append(("herding starts", int(change.index[change[lever] == herd[0]][0])))
        marks.append(("strongest", len(change) - 1))
        for name, i in marks:
            row = change.loc[i]
            said = ", ".join(f"{m} {ci_text(row[m], row[f'{m}_low'], row[f'{m}_high'], signed=True)}"
                             for m in metrics)
            lines.append(f"  {name}, {lever} {row[lever]:g}: {said}")
    return lines


__all__ = ["BONUS_LEVERS", "WITHIN", "CUMULATIVE", "STRENGTH_METRICS", "HERDING_LABEL", "StrengthSweep",
           "strength_levers", "herding_table", "herding_bands", "bonus_strength", "strength_figure",
           "strength_lines"]
