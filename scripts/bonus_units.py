"""Exposure entropy of the additive mitigations against greedy, by units and scope (issue 20).

Runs the world of issue 20 (``content`` recommender, 120 users, 240 items, 8-item slates,
24 rounds, GenAI share 0.7, drift 0.15, 6 seeds; ``--recommender`` changes it) for
greedy, ``ucb`` (``beta``) and greedy with the novelty reward (``novelty_weight``), each
in ``score_units`` raw and standardized and ``bonus_scope`` global and per_user, and
prints, per strength, the change against greedy (mean over seeds, paired SE) of the late
rounds' exposure entropy (within-round), the catalog coverage of all impressions so far
(cumulative, from the final state) and CTR::

    python scripts/bonus_units.py                      # the table of docs/mitigation-units.md
    python scripts/bonus_units.py --recommender mf
"""

from __future__ import annotations

import argparse

import numpy as np

from labkit.analysis.tables import late_window
from labkit.sim.config import Config, params_grid
from labkit.sim.loop import simulate_grid

WORLD = dict(recommender="content", n_users=120, n_items=240, initial_items=240, slate_size=8, rounds=24,
             synthetic_share=0.7, drift=0.15)
STRENGTHS = [0.05, 0.25, 1.0, 4.0, 16.0]
ARMS = {"ucb": ("ucb", "beta"), "novelty": ("greedy", "novelty_weight")}


def measure(config: Config, grid: dict, seeds: list[int]) -> dict[str, np.ndarray]:
    """Per grid point and seed: late exposure entropy, cumulative coverage, late CTR."""
    params, _ = params_grid(config, grid)
    state, metrics = simulate_grid(config, params, seeds)
    late = late_window(config.rounds)
    alive = np.asarray(state.catalog.alive)
    shown = np.asarray(state.exposure) > 0
    return {"entropy": np.asarray(metrics["exposure_entropy"])[..., -late:].mean(-1),
            "coverage": (shown & alive).sum(-1) / alive.sum(-1),
            "ctr": np.asarray(metrics["ctr"])[..., -late:].mean(-1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recommender", default="content")
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    base = Config.from_dict({**WORLD, "recommender": args.recommender})
    greedy = measure(base, {"beta": [0.0]}, seeds)
    print(f"recommender {args.recommender}; change vs greedy (mean (paired SE) over {len(seeds)} seeds); "
          f"greedy: entropy {greedy['entropy'].mean():.2f}, coverage {greedy['coverage'].mean():.2f}, "
          f"CTR {greedy['ctr'].mean():.3f}")
    print("| mitigation | units | scope | strength | exposure entropy (nats) | cumulative coverage | CTR |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for arm, (policy, lever) in ARMS.items():
        for units in ("raw", "standardized"):
            for scope in ("global", "per_user"):
                config = base.replace(policy=policy, score_units=units, bonus_scope=scope)
                got = measure(config, {lever: STRENGTHS}, seeds)
                for i, strength in enumerate(STRENGTHS):
                    cells = []
                    for name in ("entropy", "coverage", "ctr"):
                        diff = got[name][i] - greedy[name][0]
                        cells.append(f"{diff.mean():+.2f} ({diff.std(ddof=1) / np.sqrt(len(seeds)):.2f})")
                    print(f"| {arm} | {units} | {scope} | {lever} {strength:g} | " + " | ".join(cells) + " |",
                          flush=True)


if __name__ == "__main__":
    main()
