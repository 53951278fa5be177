"""Reading study 04: each data strategy as the GenAI's share of new items rises.

04_data_separation sweeps every data strategy (``accumulate``, ``replace``, ``downweight``,
``human_only``, ``reserve``) at every synthetic share. From its late-round means (one row
per strategy, share and seed; :func:`labkit.analysis.tables.late_means`),
:func:`share_tables` writes the study's three tables and :func:`share_checks` the lines
that check the notebook's reading of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import pandas as pd

from labkit.analysis.tables import effect_lines, effects, summarize, trend
from labkit.experiments.results import write_csv

STRATEGY, SHARE = "strategy", "synthetic_share"  # the columns that name a point of the study


def share_tables(per_seed: pd.DataFrame, metrics: Sequence[str], shown: Sequence[str], out: str | os.PathLike,
                 baseline: str = "accumulate") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The study's three tables, also written as CSV in ``out``.

    ``per_seed``: late-round means with ``strategy`` and ``synthetic_share`` columns;
    ``metrics``: the metrics compared; ``shown``: the metrics summarized (``metrics`` and
    what else the figure draws, say ``training_ai_share``); ``baseline``: the strategy
    every other is compared with. Returns the late-round means per strategy and share over
    seeds [CI] (``summary.csv``); each strategy against ``baseline`` at the same share,
    paired by seed [CI] (``effects_vs_<baseline>.csv``); and, within each strategy, each
    share against the lowest share, paired by seed [CI] (``effects_of_share.csv``).
    """
    by = [STRATEGY, SHARE]
    summary = summarize(per_seed, shown, by=by)
    vs_baseline = effects(per_seed, {STRATEGY: baseline}, metrics, match=[SHARE], by=by)
    vs_share = effects(per_seed, {SHARE: per_seed[SHARE].min()}, metrics, match=[STRATEGY], by=by)
    write_csv(summary, Path(out) / "summary.csv")
    write_csv(vs_baseline, Path(out) / f"effects_vs_{baseline}.csv")
    write_csv(vs_share, Path(out) / "effects_of_share.csv")
    return summary, vs_baseline, vs_share


def share_checks(summary: pd.DataFrame, vs_baseline: pd.DataFrame, vs_share: pd.DataFrame,
                 moves: Sequence[str], headline: Sequence[str], baseline: str = "accumulate") -> list[str]:
    """Lines that check the reading of the study's figures against its tables.

    ``summary``, ``vs_baseline``, ``vs_share``: as :func:`share_tables` returns them;
    ``moves``: the metrics whose direction along the share is printed per strategy;
    ``headline``: the metrics whose change (with its interval) is printed at the highest
    share, against ``baseline`` and against the lowest share.
    """
    lines = []
    for strategy, rows in summary.groupby(STRATEGY, sort=False):
        lines.append(f"{strategy:11s} as the share grows: "
                     + ", ".join(f"{m} {trend(rows, SHARE, m)}" for m in moves))
    low, high = summary[SHARE].min(), summary[SHARE].max()
    top = vs_baseline[vs_baseline[SHARE] == high].assign(
        setting=lambda d: d[STRATEGY] + f" vs {baseline} at synthetic_share {high:g}")
    rise = vs_share[vs_share[SHARE] == high].assign(
        setting=lambda d: d[STRATEGY] + f": synthetic_share {high:g} vs {low:g}")
    return lines + effect_lines(top, headline, "setting") + effect_lines(rise, headline, "setting")


__all__ = ["STRATEGY", "SHARE", "share_tables", "share_checks"]
