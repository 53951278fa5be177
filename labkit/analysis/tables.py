"""Study tables: late-round means, summaries over seeds, effects against a baseline, their text.

Every study reads the same way: take a sweep's tidy table (one row per point, seed and
round; :func:`labkit.experiments.sweep.run_sweep`), average each metric over the *late rounds* of
each run (:func:`late_means`: one row per point and seed), then summarize over seeds
with a Student-t confidence interval (:func:`summarize`), or compare each point with a
baseline seed by seed (:func:`effects`: paired differences, since a seed fixes the
initial world of every arm). :func:`cost_per_nat` prices the diversity a mitigation keeps
in engagement. The statistics themselves are in :mod:`labkit.analysis.stats`.

Nothing here runs a simulation.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from labkit.analysis.labels import metric_label, split_label
from labkit.analysis.stats import mean_ci, paired_differences
from labkit.experiments import load
from labkit.experiments.paths import in_repo
from labkit.experiments.results import write_csv
from labkit.experiments.study import setting_label
from labkit.experiments.sweep import PROVENANCE_COLUMNS  # how a row was produced, not which point it is
from labkit.experiments.sweep import sweep_points
from labkit.sim.loop import METRIC_NAMES

LATE_ROUNDS = 10  # rounds averaged at the end of each run (see late_window)

# The metrics the studies read: what the feed shows and users come to like, and the
# dashboard a product team watches.
DIVERSITY = ("exposure_entropy", "coverage", "long_tail_share", "exposure_topic_entropy", "user_taste_entropy")
DASHBOARD = ("ctr", "true_utility")


# --------------------------------------------------------------------------- late-round means and summaries

def metric_columns(table: pd.DataFrame) -> list[str]:
    """The metric columns of ``table``, in :data:`labkit.METRIC_NAMES` order."""
    return [m for m in METRIC_NAMES if m in table.columns]


def point_columns(table: pd.DataFrame) -> list[str]:
    """Columns that say which point a row belongs to: neither seed, round, metric nor provenance."""
    skip = {"seed", "round", *METRIC_NAMES, *PROVENANCE_COLUMNS}
    return [c for c in table.columns if c not in skip]


def late_window(n_rounds: int, last: int = LATE_ROUNDS) -> int:
    """How many final rounds :func:`late_means` averages: ``last``, at most half the run
    (so a short run is not all transient or all steady state), at least 1."""
    return max(1, min(int(last), int(n_rounds) // 2))


def late_means(table: pd.DataFrame, last: int = LATE_ROUNDS) -> pd.DataFrame:
    """Each metric averaged over the last rounds of each run: one row per point and seed.

    ``table``: a tidy table (one row per point, seed and round, rounds numbered from 0).
    The window is :func:`late_window` of the number of rounds; it is recorded in
    ``attrs["late_rounds"]`` as ``[first, last]`` (inclusive round numbers).
    """
    if "round" not in table.columns or "seed" not in table.columns:
        raise KeyError(f"late_means: the table needs 'seed' and 'round' columns; it has {list(table.columns)}")
    n_rounds = int(table["round"].max()) + 1
    window = late_window(n_rounds, last)
    first = n_rounds - window
    keys = [*point_columns(table), "seed"]
    late = table[table["round"] >= first]
    out = late.groupby(keys, sort=False, dropna=False)[metric_columns(table)].mean().reset_index()
    out.attrs["late_rounds"] = [first, n_rounds - 1]
    return out


def _wide(groups: Iterable[tuple[Any, pd.DataFrame]], keys: Sequence[str], metrics: Sequence[str],
          level: float) -> pd.DataFrame:
    """One row per group (named by ``keys``): each metric's mean over seeds, its ``level``% t
    interval (:func:`labkit.analysis.stats.mean_ci`) and the number of seeds."""
    rows = []
    for key, frame in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key))
        for m in metrics:
            row[m], row[f"{m}_low"], row[f"{m}_high"] = mean_ci(frame[m], level)
        row["n_seeds"] = int(frame["seed"].nunique())
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(per_seed: pd.DataFrame, metrics: Sequence[str] | None = None, by: Sequence[str] | None = None,
              level: float = 95) -> pd.DataFrame:
    """Mean over seeds and its ``level``% t interval, per point.

    ``per_seed``: one row per point and seed (:func:`late_means`). ``by``: the columns
    that name a point (default :func:`point_columns`). Returns one row per point with,
    for each metric ``m``, columns ``m``, ``m_low``, ``m_high``, and ``n_seeds``.
    """
    metrics = list(metrics or metric_columns(per_seed))
    by = list(by or point_columns(per_seed))
    return _wide(per_seed.groupby(by, sort=False, dropna=False), by, metrics, level)


def effects(per_seed: pd.DataFrame, baseline: Mapping[str, Any], metrics: Sequence[str] | None = None,
            match: Sequence[str] = (), by: Sequence[str] | None = None, level: float = 95) -> pd.DataFrame:
    """Each point's effect against the baseline: the mean over seeds of the paired
    difference (:func:`labkit.analysis.stats.paired_differences`) and its ``level``% t interval.

    ``per_seed``: one row per point and seed; ``baseline``, ``match``: as in
    :func:`labkit.analysis.stats.paired_differences`; ``by``: the columns that name a
    point (default :func:`point_columns`). Returns one row per non-baseline point with,
    per metric ``m``, the mean difference ``m`` and ``m_low``, ``m_high``, and ``n_seeds``.
    """
    metrics = list(metrics or metric_columns(per_seed))
    by = list(by or point_columns(per_seed))
    diffs = paired_differences(per_seed, baseline, metrics, match)
    return _wide(diffs.groupby(by, sort=False, dropna=False), by, metrics, level)


def cost_per_nat(per_seed: pd.DataFrame, baseline: Mapping[str, Any], diversity: str = "exposure_entropy",
                 engagement: str = "ctr", match: Sequence[str] = (), by: Sequence[str] | None = None,
                 level: float = 95, n_boot: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """What each nat of diversity kept costs in engagement, against the baseline.

    Per point: ``kept`` = mean paired difference in ``diversity`` (nats above the
    baseline), ``lost`` = minus the mean paired difference in ``engagement`` (clicks per
    slate given up), ``cost = lost / kept`` (NaN where nothing is kept, ``kept <= 0``).
    ``cost_low``/``cost_high``: a paired percentile bootstrap over seeds (``n_boot``
    resamples with a fixed ``seed``); with few seeds it is rough, and it is NaN when a
    resample keeps no diversity.
    """
    by = list(by or point_columns(per_seed))
    diffs = paired_differences(per_seed, baseline, [diversity, engagement], match)
    rng = np.random.default_rng(seed)
    tail = (100 - level) / 2
    rows = []
    for key, frame in diffs.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        kept, lost = frame[diversity].to_numpy(), -frame[engagement].to_numpy()
        row = dict(zip(by, key))
        row["kept"], row["lost"] = float(kept.mean()), float(lost.mean())
        row["cost"] = row["lost"] / row["kept"] if row["kept"] > 0 else math.nan
        low = high = math.nan
        if kept.size > 1 and row["kept"] > 0:
            pick = rng.integers(0, kept.size, (n_boot, kept.size))
            k, l_ = kept[pick].mean(axis=1), lost[pick].mean(axis=1)
            if (k > 0).all():
                low, high = np.percentile(l_ / k, [tail, 100 - tail])
        row["cost_low"], row["cost_high"] = float(low), float(high)
        row["n_seeds"] = int(frame["seed"].nunique())
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- reading numbers

def ci_text(mean: float, low: float, high: float, digits: int = 2, signed: bool = False) -> str:
    """``3.61 [3.52, 3.70]`` (``signed``: ``+0.42 [+0.30, +0.54]``); no interval when it is NaN."""
    f = (lambda v: f"{v:+.{digits}f}") if signed else (lambda v: f"{v:.{digits}f}")
    return f(mean) if math.isnan(low) else f"{f(mean)} [{f(low)}, {f(high)}]"


def direction(low: float, high: float) -> str:
    """``up`` if the interval lies above 0, ``down`` if below, else ``unclear`` (it spans 0)."""
    if math.isnan(low) or math.isnan(high):
        return "unclear"
    return "up" if low > 0 else "down" if high < 0 else "unclear"


def clear_effects(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """How many of the paired changes in these effect tables (CSV files with ``m``, ``m_low`` and
    ``m_high`` columns per metric ``m``, as :func:`effects` writes them) have a 95% interval that
    excludes zero: one row per file (``table``, ``effects``, ``clear``, ``up``, ``down``).
    Files that do not exist are left out; an interval that is NaN (one seed) counts as unclear."""
    rows = []
    for path in map(Path, paths):
        if not path.is_file():
            continue
        table = pd.read_csv(path)
        metrics = [c for c in table.columns if f"{c}_low" in table.columns and f"{c}_high" in table.columns]
        low = table[[f"{m}_low" for m in metrics]].to_numpy(float)
        high = table[[f"{m}_high" for m in metrics]].to_numpy(float)
        up, down = int((low > 0).sum()), int((high < 0).sum())
        rows.append({"table": f"{path.parent.name}/{path.name}", "effects": low.size, "clear": up + down,
                     "up": up, "down": down})
    return pd.DataFrame(rows, columns=["table", "effects", "clear", "up", "down"])


def ci_table(frame: pd.DataFrame, metrics: Sequence[str], index: str | Sequence[str], digits: int = 2,
             signed: bool = False) -> pd.DataFrame:
    """A display table: one row per ``index``, one column per metric (its label with units),
    each cell ``mean [low, high]`` (:func:`ci_text`), from a :func:`summarize` or
    :func:`effects` table."""
    index = [index] if isinstance(index, str) else list(index)
    out = frame[index].copy()
    for m in metrics:
        out[metric_label(m)] = [ci_text(r[m], r[f"{m}_low"], r[f"{m}_high"], digits, signed)
                                for r in frame.to_dict("records")]
    return out.set_index(index)


def effect_lines(effect_table: pd.DataFrame, metrics: Sequence[str], label: str, digits: int = 2) -> list[str]:
    """One line per row of an :func:`effects` table: each metric's change with its CI and
    whether the CI says up, down or unclear."""
    lines = []
    for row in effect_table.to_dict("records"):
        parts = []
        for m in metrics:
            name, units = split_label(m)
            parts.append(f"{name} {ci_text(row[m], row[f'{m}_low'], row[f'{m}_high'], digits, signed=True)}"
                         f" {units} ({direction(row[f'{m}_low'], row[f'{m}_high'])})")
        lines.append(f"{row[label]}: " + "; ".join(parts))
    return lines


# --------------------------------------------------------------------------- settings and lever studies

def settings_column(frame: pd.DataFrame, varied: Mapping[str, Sequence[str]], family: str = "family",
                    arm: str = "arm") -> list[str]:
    """A label per row naming its arm and the values of the levers its family varies
    (``epsilon_greedy (epsilon=0.2)``), for legends and tables."""
    return [setting_label(r[arm], {lever: r[lever] for lever in varied.get(r[family], ())})
            for r in frame.to_dict("records")]


def carried_settings(table: pd.DataFrame, scale: str,
                     tradeoffs: str | os.PathLike = "experiments/tradeoffs.yaml") -> pd.DataFrame:
    """The rows of ``table`` whose point is one that 06_tradeoffs carries forward (same
    config hash as an arm of ``tradeoffs``), with a ``setting`` column naming that arm."""
    exp = load(in_repo(tradeoffs), scale=scale)
    labels = {p.config_hash: setting_label(p.arm, p.levers) for p in sweep_points(exp)}
    rows = table[table["config_hash"].isin(labels)].drop_duplicates(["config_hash", "seed", "round"]).copy()
    rows["setting"] = rows["config_hash"].map(labels)
    order = list(dict.fromkeys(labels.values()))
    return rows.sort_values("setting", key=lambda s: s.map(order.index), kind="stable")


def trend(frame: pd.DataFrame, x: str, y: str) -> str:
    """How ``y`` moves as ``x`` grows across the rows (say one family's summary):
    ``rises`` or ``falls`` (monotone), else ``mixed``."""
    values = frame.sort_values(x)[y].to_numpy()
    steps = np.diff(values)
    if len(steps) and (steps > 0).all():
        return "rises"
    if len(steps) and (steps < 0).all():
        return "falls"
    return "mixed"


def lever_tables(per_seed: pd.DataFrame, metrics: Sequence[str], varied: Mapping[str, Sequence[str]],
                 baseline: Mapping[str, Any] | None, out: str | os.PathLike, label: str = "setting"
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A lever study's two summary tables, also written as CSV in ``out``.

    ``per_seed``: late-round means with ``family``, ``label`` and lever columns;
    ``varied``: {family: the levers it sweeps} (:func:`labkit.experiments.study.varied_levers`);
    ``baseline``: column values of the reference point; with None, each family's
    smallest setting (of its first lever) is its own reference; ``label``: the column
    naming a setting. Returns the late-round means per setting over seeds [CI]
    (``summary.csv``) and each setting's change against its reference, paired by seed
    [CI] (``effects.csv``, or ``effects_vs_smallest.csv`` with no baseline).
    """
    levers = sorted({lever for names in varied.values() for lever in names})
    by = ["family", label, *levers]
    summary = summarize(per_seed, metrics, by=by)
    if baseline is not None:
        effect_table, name = effects(per_seed, baseline, metrics, by=by), "effects.csv"
    else:
        parts = []
        for family, names in varied.items():
            rows = per_seed[per_seed["family"] == family]
            parts.append(effects(rows, {names[0]: rows[names[0]].min()}, metrics, by=by))
        effect_table, name = pd.concat(parts, ignore_index=True), "effects_vs_smallest.csv"
    write_csv(summary, Path(out) / "summary.csv")
    write_csv(effect_table, Path(out) / name)
    return summary, effect_table


def priced_costs(per_seed: pd.DataFrame, baseline: Mapping[str, Any], by: Sequence[str],
                 diversity: str = "exposure_entropy", engagement: str = "ctr", level: float = 95,
                 digits: int = 3) -> pd.DataFrame:
    """:func:`cost_per_nat` of each point, with how it reads: a price only where the gain is clear.

    ``per_seed``, ``baseline``, ``by``, ``diversity``, ``engagement``, ``level``: as in
    :func:`cost_per_nat`; ``digits``: decimals of the text. Adds ``gain``, the
    :func:`direction` of the point's change in ``diversity`` (its t interval, as in
    :func:`effects`), and ``text``: the cost with its interval (:func:`ci_text`), or why
    there is none, ``n/a (keeps no entropy)`` or ``n/a (no clear entropy gain)``.
    """
    by = list(by)
    costs = cost_per_nat(per_seed, baseline, diversity, engagement, by=by, level=level)
    change = effects(per_seed, baseline, [diversity], by=by, level=level)
    bounds = costs[by].merge(change[[*by, f"{diversity}_low", f"{diversity}_high"]], on=by, how="left")
    costs["gain"] = [direction(low, high) for low, high in
                     zip(bounds[f"{diversity}_low"], bounds[f"{diversity}_high"])]
    costs["text"] = ["n/a (keeps no entropy)" if math.isnan(r["cost"])
                     else "n/a (no clear entropy gain)" if r["gain"] != "up"
                     else ci_text(r["cost"], r["cost_low"], r["cost_high"], digits)
                     for r in costs.to_dict("records")]
    return costs


def reading_checks(summary: pd.DataFrame, effect_table: pd.DataFrame, varied: Mapping[str, Sequence[str]],
                   metrics: Sequence[str], headline: Sequence[str]) -> list[str]:
    """Lines that check a lever study's reading: the direction of each metric along each
    family's sweep, then the change at each family's strongest (last) setting with its
    interval, for the ``headline`` metrics."""
    lines = []
    for family, names in varied.items():
        if not names:
            continue
        rows = summary[summary["family"] == family]
        lines.append(f"{family} (as {names[0]} grows):")
        lines += [f"  {m:24s} {trend(rows, names[0], m)}" for m in metrics]
    strongest = [effect_table[effect_table["family"] == f].iloc[-1:] for f, v in varied.items() if v]
    return lines + effect_lines(pd.concat(strongest), headline, "setting")


__all__ = ["LATE_ROUNDS", "DIVERSITY", "DASHBOARD", "metric_columns", "point_columns", "late_window",
           "late_means", "summarize", "effects", "cost_per_nat", "ci_text", "direction", "clear_effects", "ci_table",
           "effect_lines", "settings_column", "carried_settings", "trend", "lever_tables", "priced_costs",
           "reading_checks"]
