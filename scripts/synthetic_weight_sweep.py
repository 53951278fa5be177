"""Where does ``synthetic_weight`` under ``downweight`` do best in labkit's loop? (issue 17, item 2)

The golden-ratio reproduction finds the real-data weight that minimizes a refitted
generator's long-run error (1/phi with as many synthetic as real points). This sweeps the
same lever in the recommender loop: the base world of ``experiments/capacity.yaml`` (the
pressure world the mitigation studies share: mf, greedy, GenAI share 0.8 at temperature
0.3, drift 0.2; at its default scale 200 users, 400 items, 30 rounds) retrained under ``downweight``, whose AI-influenced rows (synthetic item, or a user already drifted
past ``influence_threshold``) weigh ``synthetic_weight``. One compiled grid over the weight
and the seeds. For each outcome, the late rounds' mean (the last third) per weight and
seed, and the weight with the best mean (with its SE and the paired difference from
``synthetic_weight = 1``, i.e. ``accumulate``)::

    python scripts/synthetic_weight_sweep.py                  # the default scale, 4 seeds
    python scripts/synthetic_weight_sweep.py --scale tiny --seeds 2 --out /tmp/sw
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

WEIGHTS = [0.0, 0.1, 0.25, 0.5, 0.618, 0.75, 1.0]
# outcome -> True when larger is better
OUTCOMES = {"true_utility": True, "ctr": True, "consumption_topic_entropy": True, "user_taste_entropy": True,
            "preference_drift": False, "exposure_gini": False}


def sweep(scale: str, seeds: list[int], weights: list[float]) -> pd.DataFrame:
    """One row per (synthetic_weight, seed, round) with every outcome of :data:`OUTCOMES`."""
    from labkit.experiments.paths import repo_root
    from labkit.experiments.study import load
    from labkit.sim import loop
    from labkit.sim.config import params_grid

    study = load(repo_root() / "experiments" / "capacity.yaml", scale=scale)
    config = study.config.replace(data_strategy="downweight")
    params, points = params_grid(config, {"synthetic_weight": weights})
    metrics = loop.simulate_grid(config, params, seeds)[1]
    return tidy({name: np.asarray(metrics[name], np.float64) for name in OUTCOMES},
                [p["synthetic_weight"] for p in points], seeds)


def tidy(metrics: dict[str, np.ndarray], weights: list[float], seeds: list[int]) -> pd.DataFrame:
    """``[points, seeds, rounds]`` arrays to one row per (synthetic_weight, seed, round)."""
    n_points, n_seeds, n_rounds = next(iter(metrics.values())).shape
    table = pd.DataFrame({"synthetic_weight": np.repeat(weights, n_seeds * n_rounds),
                          "seed": np.tile(np.repeat(seeds, n_rounds), n_points),
                          "round": np.tile(np.arange(n_rounds), n_points * n_seeds)})
    for name, values in metrics.items():
        table[name] = values.reshape(-1)
    return table


def optima(table: pd.DataFrame, outcomes: dict[str, bool] = OUTCOMES) -> pd.DataFrame:
    """Per outcome: the weight whose late-round mean (last third of the rounds, mean over
    seeds) is best, that mean and its SE over seeds, and the paired difference (mean, SE)
    between the best weight and ``synthetic_weight = 1`` (no downweighting)."""
    rounds = table["round"].max() + 1
    late = table[table["round"] >= rounds - max(rounds // 3, 1)]
    per_seed = late.groupby(["synthetic_weight", "seed"])[list(outcomes)].mean()
    rows = []
    for name, larger in outcomes.items():
        by_weight = per_seed[name].unstack("seed")
        mean = by_weight.mean(axis=1)
        best = mean.idxmax() if larger else mean.idxmin()
        diff = by_weight.loc[best] - by_weight.loc[by_weight.index.max()]
        se = lambda v: float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")  # noqa: E731
        rows.append({"outcome": name, "better": "higher" if larger else "lower", "best weight": best,
                     "late mean at best": float(mean[best]), "SE": se(by_weight.loc[best]),
                     "at weight 1": float(mean[by_weight.index.max()]),
                     "best - weight 1": float(diff.mean()), "SE (paired)": se(diff)})
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, outcomes: dict[str, bool] = OUTCOMES):
    import seaborn as sns

    from labkit.analysis.style import style
    from labkit.reproduce.common import _figure

    rounds = table["round"].max() + 1
    late = table[table["round"] >= rounds - max(rounds // 3, 1)]
    per_seed = late.groupby(["synthetic_weight", "seed"])[list(outcomes)].mean().reset_index()
    with style():
        fig, axes = _figure(len(outcomes), width=2.1, height=2.0)
        for ax, name in zip(axes, outcomes):
            sns.pointplot(data=per_seed, x="synthetic_weight", y=name, errorbar=("se", 2), ax=ax, markersize=3,
                          linewidth=1, native_scale=True)
            ax.set(title=name.replace("_", " "), xlabel="synthetic_weight", ylabel="late-round mean")
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="default")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--weights", type=float, nargs="+", default=WEIGHTS)
    parser.add_argument("--out", default="docs/figures")
    args = parser.parse_args()
    from labkit.analysis.style import save
    from labkit.experiments.results import write_table

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = sweep(args.scale, list(range(args.seeds)), args.weights)
    write_table(table, out / "synthetic_weight_sweep.parquet")
    save(figure(table), out / "synthetic_weight_sweep")
    print(optima(table).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
