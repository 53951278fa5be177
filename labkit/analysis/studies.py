"""Analysis shared by the study notebooks and the write-up.

Every study reads the same way: take a sweep's tidy table (one row per point, seed and
round; :func:`labkit.experiments.sweep.run_sweep`), average each metric over the *late rounds* of
each run (:func:`late_means`: one row per point and seed), then summarize over seeds
with a Student-t confidence interval (:func:`summarize`), or compare each point with a
baseline seed by seed (:func:`effects`: paired differences, since a seed fixes the
initial world of every arm). :func:`pareto_front` and :func:`cost_per_nat` put the
mitigations on one engagement-vs-diversity plane.

Nothing here runs a simulation; :func:`reuse_points` only copies point files that a
sibling study already computed, so a point shared by several studies is computed once.

Why a t interval and not a bootstrap: a study has few seeds (4 at the default scale), and
a percentile bootstrap of the mean of 4 values is too narrow (it ignores the
uncertainty of the standard deviation); ``mean +- t(n-1) s / sqrt(n)`` does not.
"""

from __future__ import annotations

import math
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from labkit.sim.loop import METRIC_NAMES
from labkit.experiments.results import write_csv
from labkit.experiments.sweep import PROVENANCE_COLUMNS  # how a row was produced, not which point it is

LATE_ROUNDS = 10  # rounds averaged at the end of each run (see late_window)


# --------------------------------------------------------------------------- paths

def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding pyproject.toml."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    raise FileNotFoundError(f"no pyproject.toml at or above {start}; run from inside the repository")


def resolve(path: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """``path`` itself if absolute, else relative to the repository root (not the cwd)."""
    path = Path(path)
    return path if path.is_absolute() else Path(root or repo_root()) / path


# --------------------------------------------------------------------------- statistics

def _t_two_sided(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for j in range(2, df - 1, 2):  # 1 + c2/2 + 1*3 c2^2/(2*4) + ...
            term *= c2 * (j - 1) / j
            total += term
        return s * total
    if df == 1:
        return 2 * theta / math.pi
    term, total = 1.0, 1.0
    for j in range(3, df - 1, 2):  # 1 + 2 c2/3 + 2*4 c2^2/(3*5) + ...
        term *= c2 * (j - 1) / j
        total += term
    return 2 / math.pi * (theta + s * math.cos(theta) * total)


def t_critical(level: float, df: int) -> float:
    """The two-sided Student-t critical value: ``t`` with P(|T| <= t) = level/100."""
    if not 0 < level < 100:
        raise ValueError(f"level must be a percentage in (0, 100), got {level}")
    if df < 1 or int(df) != df:
        raise ValueError(f"df must be a whole number >= 1, got {df}")
    df, target = int(df), level / 100
    low, high = 0.0, 1.0
    while _t_two_sided(high, df) < target:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if _t_two_sided(mid, df) < target else (low, mid)
    return (low + high) / 2


def mean_ci(values: Iterable[float], level: float = 95) -> tuple[float, float, float]:
    """Mean and its Student-t confidence interval ``(mean, low, high)``.

    With one value the interval is undefined: ``low`` and ``high`` are NaN.
    """
    values = np.asarray(list(values), dtype=np.float64)
    if values.size == 0:
        raise ValueError("mean_ci: no values")
    mean = float(values.mean())
    if values.size < 2:
        return mean, math.nan, math.nan
    half = t_critical(level, values.size - 1) * float(values.std(ddof=1)) / math.sqrt(values.size)
    return mean, mean - half, mean + half


def ci_errorbar(level: float = 95):
    """A seaborn ``errorbar`` callable drawing the Student-t CI of the mean (see :func:`mean_ci`).

    With a single value it draws no band (returns the value twice).
    """
    def interval(values) -> tuple[float, float]:
        mean, low, high = mean_ci(values, level)
        return (mean, mean) if math.isnan(low) else (low, high)

    interval.__name__ = f"t{level:g}"
    return interval


# --------------------------------------------------------------------------- tables

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
          level: float, values=lambda frame, m: frame[m]) -> pd.DataFrame:
    rows = []
    for key, frame in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key))
        for m in metrics:
            row[m], row[f"{m}_low"], row[f"{m}_high"] = mean_ci(values(frame, m), level)
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


def paired_differences(per_seed: pd.DataFrame, baseline: Mapping[str, Any], metrics: Sequence[str],
                       match: Sequence[str] = ()) -> pd.DataFrame:
    """Per point and seed, ``metric - metric of the baseline`` with the same seed (and ``match`` values).

    ``baseline``: column values selecting the baseline rows (``{"arm": "none"}``);
    ``match``: columns that must agree between a point and its baseline (say
    ``synthetic_share``, when there is one baseline per share). Baseline rows are left
    out of the result. Raises if a point has no baseline for one of its seeds.
    """
    is_base = np.ones(len(per_seed), bool)
    for column, value in baseline.items():
        is_base &= (per_seed[column] == value).to_numpy()
    base = per_seed[is_base]
    if base.empty:
        raise ValueError(f"no baseline rows where {dict(baseline)}; "
                         f"values of {list(baseline)}: {[sorted(per_seed[c].unique().tolist()) for c in baseline]}")
    on = [*match, "seed"]
    if base.duplicated(on).any():
        raise ValueError(f"the baseline {dict(baseline)} has several rows per {on}: add the column that "
                         f"tells them apart to `match` or to `baseline`")
    treated = per_seed[~is_base]
    merged = treated.merge(base[[*on, *metrics]], on=on, how="left", suffixes=("", "__base"),
                           validate="many_to_one")
    lacking = merged[[f"{m}__base" for m in metrics]].isna().any(axis=1)
    if lacking.any():
        row = merged[lacking].iloc[0]
        raise ValueError(f"no baseline {dict(baseline)} for seed {row['seed']}"
                         + (f" at {({c: row[c] for c in match})}" if match else ""))
    for m in metrics:
        merged[m] = merged[m] - merged.pop(f"{m}__base")
    return merged


def effects(per_seed: pd.DataFrame, baseline: Mapping[str, Any], metrics: Sequence[str] | None = None,
            match: Sequence[str] = (), by: Sequence[str] | None = None, level: float = 95) -> pd.DataFrame:
    """Each point's effect against the baseline: the mean over seeds of the paired
    difference (:func:`paired_differences`) and its ``level``% t interval.

    Returns one row per non-baseline point with, per metric ``m``, the mean difference
    ``m`` and ``m_low``, ``m_high``, and ``n_seeds``.
    """
    metrics = list(metrics or metric_columns(per_seed))
    by = list(by or point_columns(per_seed))
    diffs = paired_differences(per_seed, baseline, metrics, match)
    return _wide(diffs.groupby(by, sort=False, dropna=False), by, metrics, level)


def pareto_front(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Mask of the points no other point beats on both ``x`` and ``y`` (larger is better on both).

    A point is dominated when another is at least as good on both and better on one.
    Points with NaN are never on the front.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"pareto_front: x and y must be 1-d of the same length, got {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    front = ok.copy()
    for i in np.flatnonzero(ok):
        others = ok & (x >= x[i]) & (y >= y[i]) & ((x > x[i]) | (y > y[i]))
        front[i] = not others.any()
    return front


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

# The metrics the studies read: what the feed shows and users come to like, and the
# dashboard a product team watches.
DIVERSITY = ("exposure_entropy", "coverage", "long_tail_share", "exposure_topic_entropy", "user_taste_entropy")
DASHBOARD = ("ctr", "true_utility")


def ci_text(mean: float, low: float, high: float, digits: int = 2, signed: bool = False) -> str:
    """``3.61 [3.52, 3.70]`` (``signed``: ``+0.42 [+0.30, +0.54]``); no interval when it is NaN."""
    f = (lambda v: f"{v:+.{digits}f}") if signed else (lambda v: f"{v:.{digits}f}")
    return f(mean) if math.isnan(low) else f"{f(mean)} [{f(low)}, {f(high)}]"


def direction(low: float, high: float) -> str:
    """``up`` if the interval lies above 0, ``down`` if below, else ``unclear`` (it spans 0)."""
    if math.isnan(low) or math.isnan(high):
        return "unclear"
    return "up" if low > 0 else "down" if high < 0 else "unclear"


def ci_table(frame: pd.DataFrame, metrics: Sequence[str], index: str | Sequence[str], digits: int = 2,
             signed: bool = False) -> pd.DataFrame:
    """A display table: one row per ``index``, one column per metric (its label with units),
    each cell ``mean [low, high]`` (:func:`ci_text`), from a :func:`summarize` or
    :func:`effects` table."""
    from labkit.analysis.labels import metric_label

    index = [index] if isinstance(index, str) else list(index)
    out = frame[index].copy()
    for m in metrics:
        out[metric_label(m)] = [ci_text(r[m], r[f"{m}_low"], r[f"{m}_high"], digits, signed)
                                for r in frame.to_dict("records")]
    return out.set_index(index)


def effect_lines(effect_table: pd.DataFrame, metrics: Sequence[str], label: str, digits: int = 2) -> list[str]:
    """One line per row of an :func:`effects` table: each metric's change with its CI and
    whether the CI says up, down or unclear."""
    from labkit.analysis.labels import split_label

    lines = []
    for row in effect_table.to_dict("records"):
        parts = []
        for m in metrics:
            name, units = split_label(m)
            parts.append(f"{name} {ci_text(row[m], row[f'{m}_low'], row[f'{m}_high'], digits, signed=True)}"
                         f" {units} ({direction(row[f'{m}_low'], row[f'{m}_high'])})")
        lines.append(f"{row[label]}: " + "; ".join(parts))
    return lines


# --------------------------------------------------------------------------- arms and labels

def arm_families(experiment) -> dict[str, str]:
    """{point label: the arm it came from}: an arm's ``label`` if it has one, else the levers
    it varies (``embedding_dim``). Arms that cross static levers give one label per
    combination (``explore [policy=softmax]``), all of one family."""
    out = {}
    for arm in experiment.arms:
        varied = [name for name, values in arm.levers if len(values) > 1]
        family = arm.label or ", ".join(varied) or arm.fallback
        for label, _ in arm.points():
            out[label] = family
    return out


def varied_levers(experiment) -> dict[str, list[str]]:
    """{family (:func:`arm_families`): the levers its arm takes several values of}."""
    families = arm_families(experiment)
    out: dict[str, list[str]] = {}
    for arm in experiment.arms:
        family = families[arm.points()[0][0]]
        out[family] = [name for name, values in arm.levers if len(values) > 1]
    return out


def arm_settings(experiment) -> dict[str, dict[str, Any]]:
    """{point label: the lever values its arm sets} for arms that set single values
    (for a crossed arm, the last point's values)."""
    return {label: dict(levers) for label, levers, _ in experiment.points()}


def setting_label(arm: str, levers: Mapping[str, Any]) -> str:
    """``epsilon_greedy (epsilon=0.2)``: an arm and the lever values it sets, for legends
    that name the lever values. ``policy`` and ``data_strategy`` are left out: the arm's
    name says them."""
    shown = ", ".join(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
                      for name, value in levers.items() if name not in ("policy", "data_strategy"))
    return f"{arm} ({shown})" if shown else arm


# --------------------------------------------------------------------------- reusing points

def sibling_results(out_dir: str | os.PathLike) -> list[Path]:
    """The other study folders beside ``out_dir`` that hold computed points (``points/``), sorted."""
    out_dir = Path(out_dir).resolve()
    parent = out_dir.parent
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir()
                  if p.is_dir() and p.resolve() != out_dir and (p / "points").is_dir())


def reuse_points(experiment, out_dir: str | os.PathLike, sources: Iterable[str | os.PathLike]) -> list[str]:
    """Copy into ``out_dir/points/`` the point files of ``experiment`` that a source folder holds.

    A point file is named by the hash of its resolved config and holds that config and
    its seeds, so a study sharing a point with another (same levers, same scale) can use
    the other's file instead of computing it again. :func:`labkit.experiments.sweep.run_sweep` then
    checks every file (config hash, seeds, rounds) and recomputes any that do not fit,
    so a stale copy costs time, never correctness. Returns the hashes copied.
    """
    from labkit.experiments.results import atomic_write
    from labkit.experiments.sweep import point_path, sweep_points

    wanted = list(dict.fromkeys(p.config_hash for p in sweep_points(experiment)))
    copied = []
    for config_hash in wanted:
        target = point_path(out_dir, config_hash)
        if target.exists():
            continue
        for source in sources:
            found = point_path(source, config_hash)
            if found.is_file():
                atomic_write(target, lambda tmp, found=found: shutil.copyfile(found, tmp))
                copied.append(config_hash)
                break
    return copied


# --------------------------------------------------------------------------- a study notebook's run

@dataclass(frozen=True)
class StudyRun:
    """A study swept at one scale: the experiment, its table and where it was written.

    ``table`` is the sweep's table plus a ``family`` column (:func:`arm_families`);
    ``reused``: point hashes copied from sibling studies; ``computed``: hashes computed now.
    """

    experiment: Any
    table: pd.DataFrame
    out: Path
    reused: tuple[str, ...]
    computed: tuple[str, ...]
    wall_time_s: float

    def describe(self) -> str:
        e, c = self.experiment, self.experiment.config
        n = self.table["config_hash"].nunique()
        return (f"study {e.name!r} at scale {e.scale!r}: {n} points x {len(e.seeds)} seeds x {c.rounds} rounds, "
                f"{c.n_users} users, {c.n_items} catalog slots; {len(self.computed)} points computed now, "
                f"{len(self.reused)} reused from sibling studies, {n - len(self.computed) - len(self.reused)} "
                f"already here ({self.wall_time_s:.0f} s)\nresults: {self.out}")


def run_study(experiment: str | os.PathLike, scale: str, out_dir: str | os.PathLike, reuse: bool = True,
              progress: bool = False) -> StudyRun:
    """Load ``experiment`` at ``scale`` and sweep it into ``out_dir`` (both relative to the
    repository root unless absolute), first reusing the points sibling studies computed.

    The same call as ``labkit sweep experiments/<study>.yaml --scale S --out DIR``, so the
    notebook and the command line write the same table.
    """
    import json
    import time

    from labkit.experiments import load
    from labkit.experiments.sweep import run_sweep

    root = repo_root()
    out = resolve(out_dir, root)
    exp = load(resolve(experiment, root), scale=scale)
    start = time.perf_counter()
    reused = reuse_points(exp, out, sibling_results(out)) if reuse else []
    with warnings.catch_warnings():  # tqdm's "IProgress not found" in kernels without widgets
        warnings.filterwarnings("ignore", message="IProgress not found")
        table = run_sweep(exp, out, progress=progress)
    computed = json.loads((out / "manifest.json").read_text()).get("computed_now", [])
    table["family"] = table["arm"].map(arm_families(exp))
    return StudyRun(exp, table, out, tuple(reused), tuple(computed), time.perf_counter() - start)


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
    from labkit.experiments import load
    from labkit.experiments.sweep import sweep_points

    exp = load(resolve(tradeoffs), scale=scale)
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
                 baseline: Mapping[str, Any], out: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A lever study's two summary tables, also written as ``summary.csv`` and
    ``effects.csv`` in ``out``: late-round means per setting over seeds [CI] and each
    setting's change against ``baseline``, paired by seed [CI]."""
    levers = sorted({lever for names in varied.values() for lever in names})
    by = ["family", "setting", *levers]
    summary = summarize(per_seed, metrics, by=by)
    effect_table = effects(per_seed, baseline, metrics, by=by)
    write_csv(summary, Path(out) / "summary.csv")
    write_csv(effect_table, Path(out) / "effects.csv")
    return summary, effect_table


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


__all__ = ["LATE_ROUNDS", "DIVERSITY", "DASHBOARD", "ci_text", "direction", "ci_table", "effect_lines",
           "repo_root", "resolve", "t_critical", "mean_ci", "ci_errorbar", "metric_columns",
           "point_columns", "late_window", "late_means", "summarize", "paired_differences", "effects",
           "pareto_front", "cost_per_nat", "arm_families", "varied_levers", "arm_settings", "setting_label",
           "sibling_results", "reuse_points", "StudyRun", "run_study", "settings_column", "carried_settings",
           "trend", "lever_tables", "reading_checks"]
