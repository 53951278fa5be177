"""A long run's memory against a short one's: the log keeps what the run reads (issue 19).

    python -m labkit.bench.log_memory                       # 10000 x 10000, 10 and 1000 rounds
    python -m labkit.bench.log_memory --users 1000 --items 2000 --rounds 10,100,1000

The world is ``content`` under ``accumulate`` (the benchmark world's other levers), its
catalog sized so that no slot is reused in the longest run (a tenth of the items at the
start, the rest created evenly over the rounds): the incremental profiles and the running
totals read the current round alone, so the log keeps one round
(:func:`labkit.sim.capacity.log_rounds`). Each run length is compiled (not run) twice, under
``log_capacity`` ``auto`` and ``full``, one seed, and each row reports XLA's plan for the
program (``memory_analysis()``: arguments + outputs + temporaries), labkit's estimate before
any compile (:func:`labkit.sim.loop.estimate_memory`), and the log's and the click history's
bytes in the state. The summary gives each capacity's longest-to-shortest plan ratio
(target < 2x for ``auto``).
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Sequence

import jax
import pandas as pd

from labkit.bench.timing import compile_timed, compiled_mb
from labkit.bench.worlds import BASE
from labkit.sim import loop
from labkit.sim.config import Config
from labkit.sim.prng import unrolled_threefry

MIB = 2 ** 20


def world(users: int, items: int, rounds: int, longest: int, capacity: str = "auto") -> Config:
    """The content / accumulate world of ``rounds`` rounds whose catalog has room for ``longest``."""
    initial = max(items // 10, BASE["slate_size"])
    new_items = (items - initial) // longest
    return Config.from_dict({**BASE, "n_users": users, "n_items": items, "initial_items": initial,
                             "new_items": new_items, "rounds": rounds, "recommender": "content",
                             "data_strategy": "accumulate", "log_capacity": capacity}, where="log_memory")


def row(config: Config) -> dict[str, Any]:
    """One compile of ``config`` (one seed): XLA's plan, the estimate and the state's log, in MiB."""
    static = config.static
    state = loop.state_shape(static)
    with unrolled_threefry():
        compiled, compile_s = compile_timed(loop._simulate_seeds, static, config.params, loop.seed_keys([0]), False)
    nbytes = lambda tree: sum(math.prod(x.shape) * x.dtype.itemsize for x in jax.tree.leaves(tree))  # noqa: E731
    return {"n_users": static.n_users, "n_items": static.n_items, "initial_items": static.initial_items,
            "new_items": static.new_items, "rounds": static.rounds, "log_capacity": static.log_capacity,
            "log_rounds": loop.log_rounds(static), "compiled_mb": compiled_mb(compiled),
            "estimate_mb": loop.estimate_memory(static).total / MIB, "log_mb": nbytes(state.log) / MIB,
            "history_mb": nbytes(state.history) / MIB, "state_mb": nbytes(state) / MIB, "compile_s": compile_s}


def measure(users: int, items: int, rounds: Sequence[int]) -> pd.DataFrame:
    longest = max(rounds)
    return pd.DataFrame([row(world(users, items, r, longest, capacity))
                         for capacity in ("auto", "full") for r in sorted(rounds)])


def summary(table: pd.DataFrame) -> str:
    lines = []
    for capacity, rows in table.groupby("log_capacity", sort=False):
        rows = rows.sort_values("rounds")
        short, long = rows.iloc[0], rows.iloc[-1]
        lines.append(f"log_capacity {capacity}: XLA plan {long.compiled_mb:.1f} MiB at {long.rounds} rounds "
                     f"against {short.compiled_mb:.1f} MiB at {short.rounds}: "
                     f"{long.compiled_mb / short.compiled_mb:.2f}x (estimate "
                     f"{long.estimate_mb / short.estimate_mb:.2f}x)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.bench.log_memory", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", default="10,1000", help="run lengths, comma-separated (default 10,1000)")
    args = parser.parse_args(argv)
    table = measure(args.users, args.items, [int(r) for r in args.rounds.split(",")])
    columns = ["rounds", "log_capacity", "log_rounds", "compiled_mb", "estimate_mb", "log_mb", "history_mb",
               "state_mb", "compile_s"]
    first = table.iloc[0]
    print(f"content / accumulate, {args.users} users x {args.items} items, {first.initial_items} items at the start "
          f"+ {first.new_items} a round (no slot reused in {table.rounds.max()} rounds), one seed, "
          f"jax {jax.__version__} on {jax.default_backend()}")
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(summary(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
