"""The worlds ``labkit bench`` times, and one table row per measurement: the ladder of sizes,
the lever grid (vmapped against one by one) and the two threefry lowerings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import jax
import jax.numpy as jnp

from labkit.bench.timing import (alternating_medians, compile_timed, compiled_mb, device_peak_mb,
                                 largest_array_elems, matmul_gflops, median_time, peak_rss_mb, state_mb)
from labkit.sim import loop, prng
from labkit.sim.config import Config, ConfigError, params_grid
from labkit.sim.devices import devices_for

# The world every benchmark uses unless told otherwise: the closest labkit analogue of
# T-RECS's ContentFiltering (attribute profiles retrained between steps, greedy top-k).
BASE = {
    "recommender": "content",
    "policy": "greedy",
    "data_strategy": "accumulate",
    "n_topics": 32,
    "slate_size": 10,
}

# The largest world twice, 3 and 10 rounds: the difference is the cost of 7 rounds
# without the one-off start (init, the first compile-free call), the steady round rate.
FULL_SIZES = ("1000x1000x50", "10000x10000x10", "100000x10000x3", "100000x10000x10")
QUICK_SIZES = ("1000x1000x20", "10000x10000x3")

# The table's columns, first and in this order; a part may add its own after them
# (``same_numbers`` for the prng rows, ``note`` for the T-RECS ones).
COLUMNS = (
    "benchmark", "mode", "n_users", "n_items", "n_topics", "slate_size", "rounds", "block_users",
    "simulations", "compile_s", "run_s", "repeats", "user_rounds_per_s", "pairs_per_s",
    "matmul_gflops", "matmul_pairs_bound", "fraction_of_matmul", "peak_rss_mb", "device_peak_mb",
    "compiled_mb", "estimate_mb", "state_mb", "largest_array_elems", "score_block_elems", "users_x_items", "devices",
)


@dataclass(frozen=True)
class Size:
    """One rung of the ladder: ``users x items x rounds``."""

    n_users: int
    n_items: int
    rounds: int

    @classmethod
    def parse(cls, text: str, flag: str = "--sizes") -> "Size":
        """Read ``USERSxITEMSxROUNDS`` (e.g. ``100000x10000x3``); a ConfigError names ``flag`` and says
        what was expected."""
        parts = text.lower().split("x")
        try:
            values = [int(float(p)) for p in parts]
        except ValueError:
            values = []
        if len(values) != 3 or min(values) < 1:
            raise ConfigError(f"{flag} {text!r}: expected USERSxITEMSxROUNDS with positive whole "
                              f"numbers, e.g. 100000x10000x3")
        return cls(*values)

    def __str__(self) -> str:
        return f"{self.n_users}x{self.n_items}x{self.rounds}"


def world_config(size: Size, block_users: int, **overrides: Any) -> Config:
    """The benchmark world: :data:`BASE` at ``size``, a full catalog that turns over slowly."""
    new_items = max(1, size.n_items // 100)
    return Config.from_dict({**BASE, "n_users": size.n_users, "n_items": size.n_items,
                             "initial_items": size.n_items, "new_items": new_items,
                             "rounds": size.rounds, "block_users": min(block_users, size.n_users),
                             **overrides}, where="bench")


def _row(benchmark: str, mode: str, config: Config, simulations: int, compiled, compile_s: float,
         run_s: float, repeats: int, gflops: float) -> dict[str, Any]:
    """One table row: throughput, fraction of the matmul bound, memory."""
    s = config.static
    pairs = simulations * s.rounds * s.n_users * s.n_items
    bound = gflops * 1e9 / (2.0 * s.n_topics)
    return {
        "benchmark": benchmark, "mode": mode, "n_users": s.n_users, "n_items": s.n_items,
        "n_topics": s.n_topics, "slate_size": s.slate_size, "rounds": s.rounds,
        "block_users": s.block_users, "simulations": simulations, "compile_s": compile_s,
        "run_s": run_s, "repeats": repeats,
        "user_rounds_per_s": simulations * s.rounds * s.n_users / run_s,
        "pairs_per_s": pairs / run_s, "matmul_gflops": gflops, "matmul_pairs_bound": bound,
        "fraction_of_matmul": pairs / run_s / bound, "peak_rss_mb": peak_rss_mb(),
        "device_peak_mb": device_peak_mb(),
        "compiled_mb": compiled_mb(compiled) if compiled is not None else float("nan"),
        "estimate_mb": (float("nan") if benchmark == "relaxed_grad"  # the estimate is the exact loop's
                        else loop.estimate_memory(s, 1 if mode == "one_by_one" else simulations).total / 2 ** 20),
        "state_mb": state_mb(s, config.params),
        "largest_array_elems": largest_array_elems(compiled) if compiled is not None else 0,
        "score_block_elems": min(s.block_users, s.n_users) * s.n_items,
        "users_x_items": s.n_users * s.n_items, "devices": 1,
    }


def bench_world(config: Config, repeats: int, benchmark: str = "ladder") -> dict[str, Any]:
    """One world, one seed: compile once, the first run (``first_run_s``: what a user waits for
    after the compile), then the median steady-state run."""
    key = jax.random.key(0)
    static, params = config.static, config.params
    gflops = matmul_gflops(min(static.block_users, static.n_users), static.n_topics, static.n_items)
    compiled, compile_s = compile_timed(loop._simulate, static, params, key)
    first_run_s = median_time(lambda: compiled(params, key), 1)
    run_s = median_time(lambda: compiled(params, key), repeats)
    gflops = max(gflops, matmul_gflops(min(static.block_users, static.n_users), static.n_topics, static.n_items))
    return {**_row(benchmark, "single", config, 1, compiled, compile_s, run_s, repeats, gflops),
            "first_run_s": first_run_s}


def bench_grid(config: Config, lever: str, values: Sequence[float], seeds: int,
               repeats: int) -> list[dict[str, Any]]:
    """``len(values) x seeds`` simulations: one vmapped compiled call against one call each.

    Both sides use one compiled program each and the same keys and params, so the
    difference is what batching buys (and the one-by-one side's per-call overhead).
    """
    static = config.static
    batched, _ = params_grid(config, {lever: list(values)})
    keys = loop.seed_keys(range(seeds))
    gflops = matmul_gflops(min(static.block_users, static.n_users), static.n_topics, static.n_items)
    n = len(values) * seeds

    compiled, compile_s = compile_timed(loop._simulate_grid, static, batched, keys)
    run_s = median_time(lambda: compiled(batched, keys), repeats)
    vmapped = _row("grid", "vmapped", config, n, compiled, compile_s, run_s, repeats, gflops)
    vmapped["devices"] = devices_for(len(values))  # the points split across them

    points = [jax.tree.map(lambda leaf, i=i: leaf[i], batched) for i in range(len(values))]
    one, one_compile_s = compile_timed(loop._simulate, static, points[0], keys[0])

    def every_point():
        out = None
        for point in points:
            for seed in range(seeds):
                out = one(point, keys[seed])
        return out

    one_s = median_time(every_point, max(1, repeats // 2))
    one_by_one = _row("grid", "one_by_one", config, n, one, one_compile_s, one_s, max(1, repeats // 2),
                      gflops)
    return [vmapped, one_by_one]


def bench_prng(config: Config, repeats: int) -> list[dict[str, Any]]:
    """One world, one seed, compiled under each threefry lowering on this backend (jax's
    default, a loop on CPU, and labkit's unrolled one; see :mod:`labkit.sim.prng`), timed
    in alternation so both share the machine's state. Checks that both give the same
    numbers (``same_numbers`` column). Leaves the lowering as it found it.
    """
    static, params = config.static, config.params
    key = jax.random.key(0)
    gflops = matmul_gflops(min(static.block_users, static.n_users), static.n_topics, static.n_items)
    was_unrolled = prng.unrolled_threefry_active()
    compiled, compile_s, outputs = {}, {}, {}
    try:
        for mode in ("threefry_loop", "threefry_unrolled"):
            if prng.use_unrolled_threefry(mode == "threefry_unrolled") != (mode == "threefry_unrolled"):
                return []  # this jax does not expose the lowering rules: nothing to compare
            jax.clear_caches()  # the lowering is chosen when a program is traced
            compiled[mode], compile_s[mode] = compile_timed(loop._simulate, static, params, key)
            outputs[mode] = jax.block_until_ready(compiled[mode](params, key))
    finally:
        prng.use_unrolled_threefry(was_unrolled)
        jax.clear_caches()
    same = all(bool(jnp.array_equal(a, b)) for a, b in zip(jax.tree.leaves(outputs["threefry_loop"]),
                                                            jax.tree.leaves(outputs["threefry_unrolled"])))
    rounds = max(2 * repeats + 1, 5)
    run_s = alternating_medians({mode: (lambda program=program: program(params, key))
                                 for mode, program in compiled.items()}, rounds)
    return [{**_row("prng", mode, config, 1, compiled[mode], compile_s[mode], run_s[mode], rounds, gflops),
             "same_numbers": same} for mode in compiled]

