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
    python scripts/bonus_units.py --cost               # one round's recommendation, timed per lever value
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
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


def cost() -> None:
    """Median wall time of one round's ``recommend`` (ucb, mf; 4096 users x 10000 items,
    blocks of 1024, 20 logged rounds of random slates) for each units and scope."""
    from labkit.sim import loop
    from labkit.sim.policies import SlateContext
    from labkit.sim.recommenders import Observation

    base = dict(n_users=4096, n_items=10000, initial_items=10000, slate_size=10, rounds=20, policy="ucb",
                recommender="mf", block_users=1024)
    for units in ("raw", "standardized"):
        for scope in ("global", "per_user"):
            c = Config.from_dict(base, score_units=units, bonus_scope=scope)
            s = jax.jit(lambda k: loop.init_state(k, c.static, c.params))(jax.random.key(0))
            items = jax.random.randint(jax.random.key(1), s.log.item.shape, 0, c.n_items)
            log = s.log._replace(item=items, uid=s.catalog.uid[items], round=jnp.arange(c.rounds))
            context = SlateContext(alive=s.catalog.alive, exposure=s.exposure, features=s.catalog.features)
            run = jax.jit(lambda k, log: loop.recommend(k, s.recommender, Observation(s.catalog, s.users), context,
                                                        c.static, c.params, log=log)[0].items)
            run(jax.random.key(2), log).block_until_ready()
            times = []
            for i in range(5):
                start = time.perf_counter()
                run(jax.random.key(i), log).block_until_ready()
                times.append(time.perf_counter() - start)
            print(f"{units:12} {scope:8} median {sorted(times)[2] * 1e3:.0f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recommender", default="content")
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--cost", action="store_true", help="time one round's recommendation instead")
    args = parser.parse_args()
    if args.cost:
        return cost()
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
