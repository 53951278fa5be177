"""What MF's retraining costs as the log grows: ``mf_training = full`` against ``minibatch``
(:data:`labkit.sim.recommenders.MF_TRAINING`) on the MF world, several seeds in one vmapped call.

Two kinds of rows:

* ``mf_retrain``: the whole run (:func:`labkit.sim.loop.simulate_seeds`'s program,
  compiled once, then timed in alternation so both forms share the machine's state), at
  the world's horizon and at twice it. The full form trains on the whole log array,
  whose length is the horizon, so its cost per round grows with the horizon; the
  minibatch form's stays the same.
* ``mf_retrain_curve``: the cost of each chunk of rounds of one run at the world's
  horizon (one compiled chunk of :func:`labkit.sim.loop.run_rounds`, timed from the
  state each chunk starts from), the cost per round against the round number.

The issue's target: the minibatch run at 200x400x30, 4 seeds, in at most
:data:`RETRAIN_RUN_TARGET_S` seconds, and a round's cost flat in the round number.

``labkit bench --retrain-size UxIxR`` adds these rows to the benchmark's table;
``python -m labkit.bench.retrain`` runs them alone (``OUT/retrain.parquet``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import numpy as np
import pandas as pd

from labkit.bench.timing import alternating_medians, compile_timed, matmul_gflops, timed_calls
from labkit.bench.worlds import COLUMNS, Size, _row
from labkit.cache import compilation_cache_at
from labkit.experiments.results import write_table
from labkit.sim import loop, prng
from labkit.sim.config import Config

RETRAIN_SIZE = "200x400x30"
RETRAIN_QUICK_SIZE = "100x200x10"
RETRAIN_SEEDS = 4
RETRAIN_RUN_TARGET_S = 1.5
MODES = ("full", "minibatch")


def retrain_config(size: Size, mode: str) -> Config:
    """The MF world: every lever at its default (``recommender = mf``, ``accumulate``), a full
    catalog of ``size.n_items``, and MF retrained by ``mode``."""
    return Config.from_dict({"n_users": size.n_users, "n_items": size.n_items, "initial_items": size.n_items,
                             "rounds": size.rounds, "recommender": "mf", "mf_training": mode}, where="bench")


def bench_retrain(size: Size, repeats: int, seeds: int = RETRAIN_SEEDS, chunks: int = 6,
                  log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """The ``mf_retrain`` rows (each form, at ``size`` and at twice its rounds) and the
    ``mf_retrain_curve`` rows (each form, ``chunks`` chunks of ``size``'s rounds)."""
    keys = loop.seed_keys(range(seeds))
    rows = []
    for horizon in (size.rounds, 2 * size.rounds):
        world = Size(size.n_users, size.n_items, horizon)
        configs = {mode: retrain_config(world, mode) for mode in MODES}
        static = configs["full"].static
        gflops = matmul_gflops(min(static.block_users, static.n_users), static.n_topics, static.n_items)
        compiled, compile_s = {}, {}
        for mode, config in configs.items():
            log(f"  mf_retrain {mode} at {world}: compiling")
            compiled[mode], compile_s[mode] = compile_timed(loop._simulate_seeds, config.static, config.params, keys)
        run_s = alternating_medians({mode: (lambda mode=mode: compiled[mode](configs[mode].params, keys))
                                     for mode in MODES}, repeats)
        rows.extend({**_row("mf_retrain", mode, configs[mode], seeds, compiled[mode], compile_s[mode],
                            run_s[mode], repeats, gflops),
                     "round_s": run_s[mode] / horizon} for mode in MODES)
    for mode in MODES:
        log(f"  mf_retrain_curve {mode} at {size}: {chunks} chunks")
        rows.extend(_curve(retrain_config(size, mode), keys, chunks, repeats))
    return rows


def _curve(config: Config, keys: jax.Array, chunks: int, repeats: int) -> list[dict[str, Any]]:
    """One run in ``chunks`` chunks of rounds (one compiled program: the same chunk length),
    each timed ``repeats`` times from the state it starts from (the median kept), after one
    untimed call."""
    static, params = config.static, config.params
    length = max(1, static.rounds // chunks)

    def start(key):
        k_init, k_rounds = jax.random.split(key)
        return loop.init_state(k_init, static, params), jax.random.split(k_rounds, static.rounds)

    def chunk(state, round_keys):
        return loop.run_rounds(static, params, state, round_keys)

    states, round_keys = jax.jit(jax.vmap(start))(keys)
    program, compile_s = compile_timed(jax.jit(jax.vmap(chunk)), states, round_keys[:, :length])
    jax.block_until_ready(program(states, round_keys[:, :length]))  # a first call's one-off costs, untimed
    rows = []
    for first in range(0, static.rounds - length + 1, length):
        these = round_keys[:, first:first + length]
        run_s, after = timed_calls(lambda: program(states, these), repeats)
        states = after[0]
        rows.append({**dict.fromkeys(COLUMNS, np.nan), "benchmark": "mf_retrain_curve", "mode": static.mf_training, "n_users": static.n_users,
                     "n_items": static.n_items, "n_topics": static.n_topics, "slate_size": static.slate_size,
                     "rounds": static.rounds, "block_users": static.block_users, "simulations": keys.shape[0],
                     "compile_s": compile_s, "run_s": run_s, "repeats": repeats, "round_start": first,
                     "round_s": run_s / length,
                     "user_rounds_per_s": keys.shape[0] * length * static.n_users / run_s})
    return rows


def retrain_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """The figures the issue's target is stated in (empty where the rows were not run):
    each form's run time, the cost per round at twice the horizon against the horizon's,
    and the last chunk's cost per round against the first's."""
    whole = frame[frame.benchmark == "mf_retrain"]
    curve = frame[frame.benchmark == "mf_retrain_curve"]
    if not len(whole):
        return {}
    horizon = int(whole.rounds.min())
    out: dict[str, Any] = {"retrain_world": f"{whole.n_users.iloc[0]}x{whole.n_items.iloc[0]}x{horizon}",
                           "retrain_seeds": int(whole.simulations.iloc[0])}
    for mode in MODES:
        rows = whole[whole["mode"] == mode].sort_values("rounds")
        out[f"retrain_{mode}_run_s"] = float(rows.run_s.iloc[0])
        out[f"retrain_{mode}_round_s_growth_at_2x_horizon"] = float(rows.round_s.iloc[-1] / rows.round_s.iloc[0])
        chunks = curve[curve["mode"] == mode].sort_values("round_start")
        if len(chunks) > 1:
            out[f"retrain_{mode}_last_over_first_chunk"] = float(chunks.round_s.iloc[-1] / chunks.round_s.iloc[0])
    return out


def format_retrain_summary(ratios: dict[str, Any]) -> list[str]:
    """The summary's lines for the ``mf_retrain`` rows (none where they were not run)."""
    if "retrain_minibatch_run_s" not in ratios:
        return []
    run_s = ratios["retrain_minibatch_run_s"]
    met = "met" if run_s <= RETRAIN_RUN_TARGET_S else "MISSED"
    lines = [f"{'retrain_minibatch_run_s':34} {run_s:>8.2f} s  target <= {RETRAIN_RUN_TARGET_S:g} s MF world "
             f"{ratios['retrain_world']}, {ratios['retrain_seeds']} seeds, mf_training minibatch: {met} "
             f"(full: {ratios['retrain_full_run_s']:.2f} s)"]
    for mode in MODES:
        chunk = ratios.get(f"retrain_{mode}_last_over_first_chunk", np.nan)
        lines.append(f"{'  ' + mode + ' retraining, per round':34} "
                     f"{ratios[f'retrain_{mode}_round_s_growth_at_2x_horizon']:>9.2f}x  at twice the rounds; "
                     f"last chunk / first chunk of one run {chunk:.2f}x")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m labkit.bench.retrain``: the ``mf_retrain`` rows alone, compiled without the
    persistent cache (real compiles), written to ``OUT/retrain.parquet`` and printed."""
    parser = argparse.ArgumentParser(prog="python -m labkit.bench.retrain", description=__doc__.split("\n")[0])
    parser.add_argument("--size", default=RETRAIN_SIZE, metavar="UxIxR", help=f"the MF world (default {RETRAIN_SIZE})")
    parser.add_argument("--seeds", type=int, default=RETRAIN_SEEDS, help=f"seeds vmapped (default {RETRAIN_SEEDS})")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (median; default 3)")
    parser.add_argument("--out", default="results/benchmarks", help="output folder (default results/benchmarks)")
    args = parser.parse_args(argv)
    with compilation_cache_at(False), prng.unrolled_threefry():
        frame = pd.DataFrame(bench_retrain(Size.parse(args.size, "--size"), args.repeats, args.seeds))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_table(frame, out / "retrain.parquet")
    print(frame[["benchmark", "mode", "rounds", "simulations", "round_start", "compile_s", "run_s", "round_s"]]
          .to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print("\n".join(format_retrain_summary(retrain_summary(frame))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
