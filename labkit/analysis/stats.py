"""Statistics of a study's seeds: Student-t intervals, paired differences, the Pareto front.

A study has few seeds (4 at the default scale), so the interval of a mean over seeds is
``mean +- t(n-1) s / sqrt(n)`` (:func:`mean_ci`), not a percentile bootstrap: a bootstrap
of the mean of 4 values is too narrow, since it ignores the uncertainty of the standard
deviation. A seed fixes the initial world of every arm, so an arm is compared with a
baseline seed by seed (:func:`paired_differences`). The t quantiles come from scipy.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats


def t_critical(level: float, df: int) -> float:
    """The two-sided Student-t critical value: ``t`` with P(|T| <= t) = level/100.

    ``level``: the confidence level in percent, in (0, 100); ``df``: the degrees of
    freedom, a whole number >= 1.
    """
    if not 0 < level < 100:
        raise ValueError(f"level must be a percentage in (0, 100), got {level}")
    if df < 1 or int(df) != df:
        raise ValueError(f"df must be a whole number >= 1, got {df}")
    return float(stats.t.ppf(0.5 + level / 200, int(df)))


def mean_ci(values: Iterable[float], level: float = 95) -> tuple[float, float, float]:
    """Mean and its Student-t confidence interval ``(mean, low, high)``.

    ``values``: one value per seed; ``level``: the confidence level in percent. With one
    value the interval is undefined: ``low`` and ``high`` are NaN.
    """
    values = np.asarray(list(values), dtype=np.float64)
    if values.size == 0:
        raise ValueError("mean_ci: no values")
    mean = float(values.mean())
    if values.size < 2:
        return mean, math.nan, math.nan
    half = t_critical(level, values.size - 1) * float(stats.sem(values))
    return mean, mean - half, mean + half


def ci_errorbar(level: float = 95):
    """A seaborn ``errorbar`` callable drawing the Student-t CI of the mean (see :func:`mean_ci`).

    ``level``: the confidence level in percent. With a single value it draws no band
    (returns the value twice).
    """
    def interval(values) -> tuple[float, float]:
        mean, low, high = mean_ci(values, level)
        return (mean, mean) if math.isnan(low) else (low, high)

    interval.__name__ = f"t{level:g}"
    return interval


def bootstrap_ci(level: float = 95, n_boot: int = 1000, seed: int = 0):
    """A seaborn ``errorbar`` callable: percentile bootstrap CI of the mean, vectorised.

    The same interval as seaborn's ``("ci", level)`` (resample the values with
    replacement ``n_boot`` times, take the central ``level``% of the resampled means),
    but drawn in one numpy call per group instead of ``n_boot`` Python calls, and with
    a fixed ``seed`` per group, so a redraw gives the same band.
    """
    def interval(values) -> tuple[float, float]:
        values = np.asarray(values, dtype=np.float64)
        if values.size < 2:
            return float(values.mean()), float(values.mean())
        rng = np.random.default_rng(seed)
        means = values[rng.integers(0, values.size, (n_boot, values.size))].mean(axis=1)
        tail = (100 - level) / 2
        low, high = np.percentile(means, [tail, 100 - tail])
        return float(low), float(high)

    return interval


def paired_differences(per_seed: pd.DataFrame, baseline: Mapping[str, Any], metrics: Sequence[str],
                       match: Sequence[str] = ()) -> pd.DataFrame:
    """Per point and seed, ``metric - metric of the baseline`` with the same seed (and ``match`` values).

    ``per_seed``: one row per point and seed; ``baseline``: column values selecting the
    baseline rows (``{"arm": "none"}``); ``metrics``: the columns differenced;
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


def pareto_front(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Mask of the points no other point beats on both ``x`` and ``y`` (larger is better on both).

    ``x``, ``y``: one value per point (say mean CTR and mean exposure entropy). A point
    is dominated when another is at least as good on both and better on one. Points
    with NaN are never on the front.
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


def dominated_by(summary: pd.DataFrame, ctr: float, exposure_entropy: float) -> list[str]:
    """The settings (``arm``) of ``summary`` with both a higher mean CTR and a higher mean
    exposure entropy than the given point: what keeps it off the Pareto front of :func:`pareto_front`."""
    better = summary[(summary["ctr"] > ctr) & (summary["exposure_entropy"] > exposure_entropy)]
    return list(better["arm"])


__all__ = ["t_critical", "mean_ci", "ci_errorbar", "bootstrap_ci", "paired_differences", "pareto_front",
           "dominated_by"]
