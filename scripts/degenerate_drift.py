"""Jiang et al.'s first claim across drift: does labkit's greedy loop degenerate at every drift? (issue 17)

On the ``fixed_pool`` world of ``experiments/reproduce_degenerate.yaml`` at a scale (tiny by
default: 50 users, 150 items), one compiled grid over epsilon (0 and 1) and ``drift``, run
for ``--rounds`` rounds; for each drift, the check of :func:`labkit.reproduce.check_degenerate`
with the degeneracy speed fitted over every round (``start="first"``, the earlier form) and
from the greedy arm's peak of taste entropy on (``start="peak"``, the default since the fix). Writes the table (parquet), the figure (PNG + PDF) and prints the
table of ``docs/degenerate-drift.md``::

    python scripts/degenerate_drift.py                              # 60 rounds, 4 seeds (~6 min on 2 loaded cores)
    python scripts/degenerate_drift.py --rounds 30 --drifts 0.05 0.1 --out /tmp/drift
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from labkit import reproduce as R
from labkit.reproduce.jiang import check_degenerate, speed_window_start
from labkit.sim import loop
from labkit.sim.config import params_grid

DRIFTS = [0.02, 0.05, 0.1, 0.2, 0.5]


def sweep(scale: str, rounds: int, seeds: list[int], drifts: list[float]) -> pd.DataFrame:
    """One row per (drift, epsilon, seed, round): users' taste entropy in the fixed-pool world."""
    config = R.load("degenerate", scale).experiment.conditions["fixed_pool"].replace(rounds=rounds)
    params, points = params_grid(config, {"drift": drifts, "epsilon": [0.0, 1.0]})
    entropy = np.asarray(loop.simulate_grid(config, params, seeds)[1]["user_taste_entropy"], np.float64)
    n_points, n_seeds, n_rounds = entropy.shape
    return pd.DataFrame({
        "condition": "fixed_pool",
        "drift": np.repeat([p["drift"] for p in points], n_seeds * n_rounds),
        "epsilon": np.repeat([p["epsilon"] for p in points], n_seeds * n_rounds),
        "seed": np.tile(np.repeat(seeds, n_rounds), n_points),
        "round": np.tile(np.arange(n_rounds), n_points * n_seeds),
        "user_taste_entropy": entropy.reshape(-1),
    })


def verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Per drift and speed window: the greedy arm's speed (mean, SE), and whether the claims pass."""
    rows = []
    for drift, part in table.groupby("drift"):
        for start in ("first", "peak"):
            claims = check_degenerate(part, start=start)["claims"]
            greedy = R.find_claim({"name": "degenerate", "claims": claims}, "greedy loop")
            rows.append({"drift": drift, "window": start,
                         "from round": 0 if start == "first" else speed_window_start(part),
                         "speed (nats/round)": greedy["measured"]["speed (nats/round)"],
                         "SE": greedy["measured"]["SE"], "degenerates": greedy["passed"],
                         "exploration slows it": claims[1]["passed"]})
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame):
    import seaborn as sns

    from labkit.analysis.style import style
    from labkit.reproduce.common import _figure

    with style():
        fig, axes = _figure(2, width=3.2, height=2.4)
        for ax, epsilon in zip(axes, (0.0, 1.0)):
            sns.lineplot(data=table[table["epsilon"] == epsilon], x="round", y="user_taste_entropy", hue="drift",
                         palette="viridis", errorbar=("se", 2), ax=ax)
            ax.set(title=f"epsilon = {epsilon:g} ({'greedy' if epsilon == 0 else 'random'})",
                   ylabel="users' taste entropy (nats)")
            ax.legend(title="drift", frameon=False, fontsize=6, title_fontsize=6)
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="tiny")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--drifts", type=float, nargs="+", default=DRIFTS)
    parser.add_argument("--out", default="docs/figures")
    args = parser.parse_args()
    from labkit.analysis.style import save
    from labkit.experiments.results import write_table

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = sweep(args.scale, args.rounds, list(range(args.seeds)), args.drifts)
    write_table(table, out / "degenerate_drift.parquet")
    save(figure(table), out / "degenerate_drift")
    print(verdicts(table).to_string(index=False))


if __name__ == "__main__":
    main()
