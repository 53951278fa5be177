"""``python -m labkit.bench.generator``: what each GenAI family costs, to compile and to run.

One world (the default config at ``--size``, half of the new items made by the GenAI), once
per value of ``generator_family`` (the mixture at ``--components``): the XLA compile time of
:func:`labkit.simulate`'s program (a real compile: the persistent cache is off) in wall and
process CPU seconds, and the median wall time of a run after it. The families differ only in
the GenAI's fit and sampling, so the differences between rows are their cost. A second table
times the GenAI alone: one round's refit (warm-started) and draw of the round's new items, on as
many rows as the objective fits (``n_users`` clicked items, or the ``n_items`` catalog).
"""

from __future__ import annotations

import argparse
from typing import Sequence

import jax
import jax.numpy as jnp
import pandas as pd

from labkit.bench.timing import median_time, stages_timed
from labkit.bench.worlds import Size
from labkit.cache import compilation_cache_at
from labkit.sim import generator as gen_mod
from labkit.sim import loop, prng
from labkit.sim.config import Config

DEFAULT_SIZE = "200x500x50"  # the default config's world


def bench_families(size: Size, components: int, repeats: int, objective: str) -> pd.DataFrame:
    """One row per family: compile seconds (wall, CPU) and the median run's wall seconds."""
    rows = []
    for family in gen_mod.FAMILIES:
        extra = {"generator_components": components} if family == "mixture" else {}
        config = Config.from_dict(n_users=size.n_users, n_items=size.n_items, initial_items=size.n_items,
                                  rounds=size.rounds, synthetic_share=0.5, generator_objective=objective,
                                  generator_family=family, **extra, where="bench")
        program = jax.jit(lambda key, c=config: loop._run(c.static, c.params, key))
        stages = stages_timed(program, jax.random.key(0))
        run_s = median_time(lambda: stages.compiled(jax.random.key(1)), repeats)
        rows.append({"family": family, "components": components if family == "mixture" else 1,
                     "compile_s": sum(stages.seconds.values()), "xla_compile_cpu_s": stages.xla_compile_cpu_s,
                     "run_s": run_s, "round_ms": 1e3 * run_s / size.rounds})
    return pd.DataFrame(rows)


def bench_refit(size: Size, components: int, repeats: int, topics: int = 10, new_items: int = 10
                ) -> pd.DataFrame:
    """One row per family and objective: the median wall microseconds of a refit and a draw."""
    rows = []
    for objective, n in (("likelihood", size.n_users), ("engagement", size.n_items)):
        k_items, k_weights = jax.random.split(jax.random.key(0))
        features = jax.random.dirichlet(k_items, jnp.full(topics, 0.3), (n,))
        weights = jax.random.uniform(k_weights, (n,))
        for family in gen_mod.FAMILIES:
            first = gen_mod.fit(features, weights, family=family, components=components)
            round_ = jax.jit(lambda key, f, w, g: gen_mod.sample(key, gen_mod.fit(f, w, g), new_items, 0.5))
            jax.block_until_ready(round_(jax.random.key(1), features, weights, first))
            run_s = median_time(lambda: round_(jax.random.key(1), features, weights, first), repeats)
            rows.append({"objective": objective, "rows": n, "family": family, "refit_and_draw_us": 1e6 * run_s})
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Print :func:`bench_families`'s table for the world and objective asked for."""
    parser = argparse.ArgumentParser(prog="python -m labkit.bench.generator", description=__doc__.split("\n")[0])
    parser.add_argument("--size", default=DEFAULT_SIZE, metavar="UxIxR", help=f"the world (default {DEFAULT_SIZE})")
    parser.add_argument("--components", type=int, default=4, help="the mixture's K (default 4)")
    parser.add_argument("--objective", default="likelihood", choices=list(gen_mod.OBJECTIVES),
                        help="generator_objective (default likelihood)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per family (median; default 5)")
    parser.add_argument("--refit-only", action="store_true", help="only the GenAI alone, not the whole loop")
    args = parser.parse_args(argv)
    with compilation_cache_at(False), prng.unrolled_threefry():
        size = Size.parse(args.size, "--size")
        refit = bench_refit(size, args.components, 20 * args.repeats)
        print(refit.to_string(index=False, float_format=lambda v: f"{v:.3g}"), flush=True)
        if not args.refit_only:
            frame = bench_families(size, args.components, args.repeats, args.objective)
            print(frame.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
