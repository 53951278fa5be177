"""``labkit bench``: how fast the feedback loop runs, against the machine and against T-RECS.

What it measures, in one process (so every figure shares the machine's state):

* **the matmul bound**: a float32 ``[block_users, d] @ [d, items]`` product, the
  shape of one scoring block. Scoring a user-item pair costs ``2 d`` flops, so
  ``bound = matmul FLOP/s / (2 d)`` pairs/s is the most any loop that scores every
  live item for every user could reach.
* **a ladder of world sizes** (users x items x rounds): throughput of
  :func:`labkit.simulate`'s compiled program (user-rounds/s, scored pairs/s), compile
  time apart from the steady-state run time, the fraction of the matmul bound, and
  memory (peak RSS, the device's peak, XLA's plan, the state pytree, the largest array).
* **a lever grid**: ``points`` values of one param lever x ``seeds`` seeds in one
  vmapped compiled call (:func:`labkit.sim.loop.simulate_grid`, its points spread over
  the local devices, see :mod:`labkit.sim.devices`) against the same points one by one.
* **the random-number hash**: the grid's world under jax's default threefry lowering
  and under labkit's unrolled one (:mod:`labkit.sim.prng`), checked to give the same numbers.
* **the cost of a gradient**: ``jax.value_and_grad`` of an objective of the relaxed,
  differentiable loop (:mod:`labkit.grad.relaxed`) against a forward pass of the same
  objective, in run time and in XLA's memory plan (``--grad-size``).
* **time to result**: each compiled program of a study (``--study``, default
  :data:`~labkit.bench.programs.PROGRAMS_STUDY` at its default scale) as its sweep runs it,
  timed stage by stage: trace, lower, XLA compile (cold: an empty cache), first run, steady
  run, and the warm start of a second process (the program read back from the cache);
  with ``--notebooks``, the main job's notebooks run cold and warm.
* **MF retraining as the log grows** (``--retrain-size``, off by default; the issue's world is
  :data:`~labkit.bench.retrain.RETRAIN_SIZE`): ``mf_training = full`` against ``minibatch``,
  the whole run at the world's rounds and at twice them, and the cost per round along one run.
* **T-RECS side by side** (optional): T-RECS's ``ContentFiltering`` run in a subprocess
  of another interpreter (``--trecs-python``: labkit never imports trecs) against
  labkit's closest analogue on the same sizes.

Where each part lives: :mod:`~labkit.bench.timing` (wall and compile time, the matmul
bound, memory, the machine), :mod:`~labkit.bench.worlds` (the benchmark world, the
ladder sizes, the table's rows, the ladder, grid and prng benchmarks),
:mod:`~labkit.bench.programs` (time to result: a study's programs, notebooks cold and warm),
:mod:`~labkit.bench.gradient` (value-and-grad of the relaxed loop against its forward pass),
:mod:`~labkit.bench.retrain` (MF's retraining, full against minibatch),
:mod:`~labkit.bench.trecs` (the T-RECS comparison), :mod:`~labkit.bench.profile` (time
per phase of one round); this package runs them all, prints the table and the ratios
the targets are stated in, and re-exports the parts' public names.

Results go to ``OUT/bench.parquet`` (one row per measurement), ``OUT/manifest.json``
(machine, versions, backend, device, options) and, with ``--profile``, a per-phase
breakdown of one round in ``OUT/profile.parquet``. Nothing here asserts a speed: the
numbers are reported, and ``docs/benchmarks.md`` compares them with the targets.
The persistent compilation cache is off while the benchmark runs (``labkit bench`` turns it
off, :mod:`labkit.cache`), so every compile time is a real compile. Nothing assumes a CPU: on a GPU the same code times the GPU (RSS then measures the
host only, and ``device_peak_mb`` the device).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from labkit.bench.gradient import (GRAD_MEMORY_TARGET, GRAD_OBJECTIVE, GRAD_QUICK_SIZE, GRAD_RUN_TARGET,
                                   GRAD_SIZE, GRAD_TEMPERATURE, bench_gradient)
from labkit.bench.profile import phase_profile
from labkit.bench.programs import (COMPILE_TARGET_S, PROGRAMS_STUDY, TRACE_LOWER_TARGET_S, bench_notebooks,
                                   bench_programs, format_notebooks, format_programs)
from labkit.bench.retrain import RETRAIN_SIZE, bench_retrain, format_retrain_summary, retrain_summary
from labkit.bench.timing import (compile_timed, compiled_mb, device_peak_mb, largest_array_elems, machine_info,
                                 matmul_gflops, median_time, peak_rss_mb, stages_timed, state_mb)
from labkit.bench.trecs import TRECS_REFERENCE_S, TRECS_SIZES, bench_trecs, run_trecs, trecs_python
from labkit.bench.worlds import (BASE, COLUMNS, FULL_SIZES, QUICK_SIZES, Size, bench_grid, bench_prng, bench_world,
                                 world_config)
from labkit.cache import active_cache_dir
from labkit.experiments.results import provenance, write_json, write_table
from labkit.sim.config import ConfigError
from labkit.sim import loop, prng

__all__ = [
    # this package: the command, its table and its targets
    "COLUMNS", "TARGETS", "command", "format_summary", "format_table", "run_bench", "targets_summary",
    # labkit.bench.worlds
    "BASE", "FULL_SIZES", "QUICK_SIZES", "Size", "bench_grid", "bench_prng", "bench_world", "world_config",
    # labkit.bench.gradient
    "GRAD_MEMORY_TARGET", "GRAD_OBJECTIVE", "GRAD_QUICK_SIZE", "GRAD_RUN_TARGET", "GRAD_SIZE", "GRAD_TEMPERATURE",
    "bench_gradient",
    # labkit.bench.trecs
    "TRECS_REFERENCE_S", "TRECS_SIZES", "bench_trecs", "run_trecs", "trecs_python",
    # labkit.bench.profile
    "phase_profile",
    # labkit.bench.programs
    "COMPILE_TARGET_S", "PROGRAMS_STUDY", "TRACE_LOWER_TARGET_S", "bench_notebooks", "bench_programs",
    "format_notebooks", "format_programs",
    # labkit.bench.retrain
    "RETRAIN_SIZE", "bench_retrain", "format_retrain_summary", "retrain_summary",
    # labkit.bench.timing
    "compile_timed", "compiled_mb", "device_peak_mb", "largest_array_elems", "machine_info", "matmul_gflops",
    "median_time", "peak_rss_mb", "stages_timed", "state_mb",
]


def format_table(frame: pd.DataFrame) -> str:
    """The printed table: the columns a reader compares, in readable units (the notebook rows,
    which have no world of their own, are printed by :func:`format_notebooks`)."""
    frame = frame[frame.benchmark != "notebook"]
    shown = pd.DataFrame({
        "benchmark": frame.benchmark, "mode": frame["mode"],
        "users x items x rounds": [f"{u:.0f}x{i:.0f}x{r:.0f}" for u, i, r in zip(frame.n_users, frame.n_items,
                                                                                 frame.rounds)],
        "sims": frame.simulations.astype(int), "block": frame.block_users.astype(int),
        "dev": frame["devices"].fillna(1).astype(int),
        "compile s": frame.compile_s.map(lambda v: f"{v:.1f}"),
        "run s": frame.run_s.map(lambda v: f"{v:.3g}"),
        "user-rounds/s": frame.user_rounds_per_s.map(lambda v: f"{v:.3g}"),
        "pairs/s": frame.pairs_per_s.map(lambda v: f"{v:.3g}"),
        "matmul GF/s": frame.matmul_gflops.map(lambda v: f"{v:.0f}"),
        "of bound": frame.fraction_of_matmul.map(lambda v: f"{100 * v:.1f}%"),
        "peak RSS MB": frame.peak_rss_mb.map(lambda v: "-" if np.isnan(v) else f"{v:.0f}"),
        "XLA MB": frame.compiled_mb.map(lambda v: "-" if np.isnan(v) else f"{v:.0f}"),
        "estimate MB": frame.estimate_mb.map(lambda v: "-" if np.isnan(v) else f"{v:.0f}"),
        "state MB": frame.state_mb.map(lambda v: "-" if np.isnan(v) else f"{v:.1f}"),
        "max array/(UxI)": [("-" if not a or np.isnan(a) else f"{a / b:.3g}")
                            for a, b in zip(frame.largest_array_elems, frame.users_x_items)],
    })
    return shown.to_string(index=False)


def targets_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """The ratios the issue's targets are stated in (NaN where a part was not run)."""
    def pick(benchmark, mode):
        rows = frame[(frame.benchmark == benchmark) & (frame["mode"] == mode)]
        return rows.iloc[0] if len(rows) else None

    out: dict[str, Any] = {}
    labkit_row = pick("trecs_comparison", "labkit")
    trecs_row = pick("trecs_comparison", "trecs")
    if trecs_row is None:
        trecs_row = pick("trecs_comparison", "trecs_reference")
    if labkit_row is not None and trecs_row is not None:
        out["trecs_speedup"] = trecs_row.run_s / labkit_row.run_s
        # cold end to end: labkit's trace, lower, compile and first run (the steady run if not timed)
        first = labkit_row.get("first_run_s", np.nan)
        first = labkit_row.run_s if pd.isna(first) else first
        out["trecs_speedup_incl_compile"] = trecs_row.run_s / (labkit_row.compile_s + first)
        out["trecs_measured"] = trecs_row["mode"] == "trecs"
    ladder = frame[frame.benchmark == "ladder"]
    if len(ladder):
        largest = ladder.iloc[int(np.argmax((ladder.n_users * ladder.n_items * ladder.rounds).to_numpy()))]
        out["largest_world"] = f"{largest.n_users}x{largest.n_items}x{largest.rounds}"
        out["largest_world_fraction_of_matmul"] = largest.fraction_of_matmul
        # the same world run for fewer rounds: the extra rounds' rate, without the start
        same = ladder[(ladder.n_users == largest.n_users) & (ladder.n_items == largest.n_items)
                      & (ladder.rounds < largest.rounds)]
        if len(same):
            short = same.iloc[int(np.argmin(same.rounds.to_numpy()))]
            extra_s = largest.run_s - short.run_s
            if extra_s > 0:
                pairs = (largest.rounds - short.rounds) * largest.n_users * largest.n_items
                out["largest_world_extra_rounds_fraction_of_matmul"] = (
                    pairs / extra_s / max(largest.matmul_pairs_bound, short.matmul_pairs_bound))
        out["largest_world_max_array_over_score_block"] = float(
            largest.largest_array_elems / largest.score_block_elems)
        out["largest_world_max_array_over_users_x_items"] = float(
            largest.largest_array_elems / largest.users_x_items)
    looped, unrolled = pick("prng", "threefry_loop"), pick("prng", "threefry_unrolled")
    if looped is not None and unrolled is not None:
        out["prng_world"] = f"{looped.n_users}x{looped.n_items}x{looped.rounds}"
        out["prng_unrolled_speedup"] = looped.run_s / unrolled.run_s
        out["prng_same_numbers"] = bool(looped.same_numbers and unrolled.same_numbers)
    vmapped, one = pick("grid", "vmapped"), pick("grid", "one_by_one")
    if vmapped is not None and one is not None:
        out["grid_speedup"] = one.run_s / vmapped.run_s
        out["grid_speedup_incl_compile"] = (one.run_s + one.compile_s) / (vmapped.run_s + vmapped.compile_s)
    programs = frame[frame.benchmark == "program"]
    if len(programs):
        slowest = programs.iloc[int(np.argmax(programs.xla_compile_s.to_numpy()))]
        out["program_study"] = f"{slowest.study} at scale {slowest.scale}"
        out["program_compile_s"] = slowest.xla_compile_s
        out["program_trace_lower_s"] = float((programs.trace_s + programs.lower_s).max())
        out["program_warm_start_s"] = float(programs.warm_start_s.max())
    forward, grad = pick("relaxed_grad", "forward"), pick("relaxed_grad", "value_and_grad")
    if forward is not None and grad is not None:
        out["grad_world"] = f"{forward.n_users}x{forward.n_items}x{forward.rounds}"
        out["grad_run_ratio"] = grad.run_s / forward.run_s
        out["grad_memory_ratio"] = grad.compiled_mb / forward.compiled_mb
        out["grad_compile_ratio"] = grad.compile_s / forward.compile_s
    out.update(retrain_summary(frame))
    return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in out.items()}


# (ratio, ">=" or "<=", target, what it means): the targets, each met when ``ratio direction target``.
TARGETS = (
    ("trecs_speedup", ">=", 150.0, "x T-RECS's throughput on its ContentFiltering world (steady)"),
    ("trecs_speedup_incl_compile", ">=", 30.0, "x T-RECS, cold end to end: labkit's compile and first run included"),
    ("program_compile_s", "<=", COMPILE_TARGET_S, "XLA compile of a study's slowest program (cold)"),
    ("program_trace_lower_s", "<=", TRACE_LOWER_TARGET_S, "trace + lower of a study's slowest program"),
    ("largest_world_fraction_of_matmul", ">=", 0.30, "of the matmul bound at the largest world"),
    ("grid_speedup", ">=", 5.0, "x faster: vmapped grid against one by one"),
    ("grad_run_ratio", "<=", GRAD_RUN_TARGET, "x the forward pass's run time: relaxed loop's value and grad"),
    ("grad_memory_ratio", "<=", GRAD_MEMORY_TARGET, "x the forward pass's XLA memory: relaxed loop's value and grad"),
)


def format_summary(ratios: dict[str, Any]) -> str:
    """The printed summary: each target's ratio, its threshold and whether it was met, then the details.

    ``ratios``: what :func:`targets_summary` returns.
    """
    lines = []
    for key, direction, target, meaning in TARGETS:
        if key in ratios:
            value = ratios[key]
            if key.endswith("_s"):  # a time in seconds
                shown, wanted = f"{value:.2f} s", f"{target:g} s"
            elif target < 1:
                shown, wanted = f"{100 * value:.1f}%", f"{100 * target:.0f}%"
            else:
                shown, wanted = f"{value:.{2 if value < 10 else 1}f}x", f"{target:g}x"
            met = value >= target if direction == ">=" else value <= target
            lines.append(f"{key:34} {shown:>10}  target {direction} {wanted:>5} {meaning}: "
                         f"{'met' if met else 'MISSED'}")
    if "grad_world" in ratios:
        lines.append(f"{'  relaxed loop differentiated at':34} {ratios['grad_world']:>10}  "
                     f"({GRAD_OBJECTIVE.describe()}, relax_temperature {GRAD_TEMPERATURE:g}); compile "
                     f"{ratios['grad_compile_ratio']:.2f}x the forward pass's")
    lines.extend(format_retrain_summary(ratios))
    if "program_study" in ratios:
        lines.append(f"{'  study programs timed':34} {ratios['program_study']}; the slowest warm start "
                     f"(trace, lower, read from the cache): {ratios['program_warm_start_s']:.2f} s")
    if "largest_world_extra_rounds_fraction_of_matmul" in ratios:
        lines.append(f"{'  of which the extra rounds':34} "
                     f"{100 * ratios['largest_world_extra_rounds_fraction_of_matmul']:>9.1f}%  of the bound: "
                     f"the same world's shorter run subtracted (the start, mostly init, left out)")
    if "prng_unrolled_speedup" in ratios:
        lines.append(f"{'threefry unrolled vs jax default':34} {ratios['prng_unrolled_speedup']:>9.2f}x  "
                     f"faster at {ratios['prng_world']}; same numbers: {ratios['prng_same_numbers']}")
    if "trecs_measured" in ratios and not ratios["trecs_measured"]:
        lines.append("(T-RECS not measured in this session: compared with the issue's 71 s figure)")
    if "largest_world_max_array_over_score_block" in ratios:
        lines.append(f"{'largest array / one scoring block':34} "
                     f"{ratios['largest_world_max_array_over_score_block']:>10.3g}  at the largest world "
                     f"(<= 1: nothing bigger than block_users x items)")
        lines.append(f"{'largest array / (users x items)':34} "
                     f"{ratios['largest_world_max_array_over_users_x_items']:>10.3g}  at the largest world")
    return "\n".join(lines)


def run_bench(sizes: Sequence[Size], out: Path, *, block_users: int = 1024, repeats: int = 3,
              grid: tuple[int, int] | None = (64, 8), grid_size: Size = Size(200, 500, 20),
              grid_lever: str = "drift", trecs: bool = True, trecs_python_path: str | None = None,
              trecs_steps: int = TRECS_SIZES["rounds"], profile: Size | None = None, prng_ab: bool = True,
              grad_size: Size | None = Size.parse(GRAD_SIZE), programs: tuple[str, str | None] | None = None,
              notebooks: Sequence[str] = (), notebook_scale: str = "default", retrain_size: Size | None = None,
              log: Callable[[str], None] = print) -> pd.DataFrame:
    """Run every part of the benchmark, write ``bench.parquet`` + ``manifest.json``, return the table.

    Programs are compiled with labkit's straight-line threefry (:func:`labkit.sim.prng.unrolled_threefry`),
    as labkit's own runs are; the ``prng`` rows compare it with jax's default. ``grad_size``:
    the world of the ``relaxed_grad`` rows (None skips them). ``programs``: (study file, scale) whose
    compiled programs the ``program`` rows time (None skips them); ``notebooks``: the main job's
    notebooks (numbers or names) the ``notebook`` rows run cold and warm at ``notebook_scale``.
    ``retrain_size``: the MF world of the ``mf_retrain`` rows (None skips them).
    """
    with prng.unrolled_threefry():
        return _run_bench(sizes, out, block_users=block_users, repeats=repeats, grid=grid, grid_size=grid_size,
                          grid_lever=grid_lever, trecs=trecs, trecs_python_path=trecs_python_path,
                          trecs_steps=trecs_steps, profile=profile, prng_ab=prng_ab, grad_size=grad_size,
                          programs=programs, notebooks=notebooks, notebook_scale=notebook_scale,
                          retrain_size=retrain_size, log=log)


def _run_bench(sizes, out, *, block_users, repeats, grid, grid_size, grid_lever, trecs, trecs_python_path,
               trecs_steps, profile, prng_ab, grad_size, programs, notebooks, notebook_scale, retrain_size,
               log) -> pd.DataFrame:
    # every world of the ladder and the grid, before anything runs (labkit.sim.memory)
    for size in sizes:
        loop.check_memory(world_config(size, block_users).static)
    if grid is not None:
        loop.check_memory(world_config(grid_size, block_users).static, seeds=grid[1], points=grid[0])
    started = time.perf_counter()
    info = machine_info()
    # For reference only (the bound used is the scoring-shaped product): a square product's rate.
    info["matmul_square_2048_gflops"] = round(matmul_gflops(2048, 2048, 2048, repeats=5), 1)
    log(f"labkit bench on {info['backend']} ({info['device']}, {info['cpu_count']} cores, "
        f"load {info['load_average']})")
    cache = active_cache_dir()
    log(f"persistent compilation cache: {'off, every compile time a real compile' if cache is None else cache}"
        + ("" if cache is None else " (ON: compile times may be reads from it; `labkit bench` turns it off)"))
    python = None
    if trecs:
        python = trecs_python(trecs_python_path)
        if python is None:
            log("T-RECS: no interpreter with trecs (--trecs-python); comparing with the issue's 71 s "
                "figure, NOT measured here")
    rows: list[dict[str, Any]] = []
    for size in sizes:
        log(f"ladder: {size} (block_users {min(block_users, size.n_users)})")
        rows.append(bench_world(world_config(size, block_users), repeats))
    if grid is not None:
        points, seeds = grid
        log(f"grid: {points} values of {grid_lever} x {seeds} seeds at {grid_size}, vmapped vs one by one")
        values = np.linspace(0.0, 0.5, points).round(6).tolist()
        rows.extend(bench_grid(world_config(grid_size, block_users), grid_lever, values, seeds, repeats))
    if prng_ab:
        log(f"prng: threefry lowered as jax's default vs unrolled, at {grid_size}, alternating")
        rows.extend(bench_prng(world_config(grid_size, block_users), repeats))
    if grad_size is not None:
        log(f"gradient: value-and-grad of the relaxed loop vs its forward pass at {grad_size} "
            f"({GRAD_OBJECTIVE.describe()}, relax_temperature {GRAD_TEMPERATURE:g})")
        rows.extend(bench_gradient(world_config(grad_size, block_users), repeats))
    if retrain_size is not None:
        log(f"MF retraining: mf_training full vs minibatch at {retrain_size} and twice its rounds, then per round")
        rows.extend(bench_retrain(retrain_size, repeats, log=log))
    if programs is not None:
        log(f"time to result: the compiled programs of {programs[0]} at scale {programs[1] or 'default'}, "
            f"each traced, lowered and compiled cold (an empty temporary cache), then read back warm")
        rows.extend(bench_programs(programs[0], programs[1], repeats))
    if notebooks:
        rows.extend(bench_notebooks(notebooks, notebook_scale, log))
    if trecs:
        log(f"T-RECS comparison: {TRECS_SIZES['n_users']} users x {TRECS_SIZES['n_items']} items x "
            f"{TRECS_SIZES['n_topics']} attributes x {trecs_steps} steps")
        rows.extend(bench_trecs(python, trecs_steps, repeats, log))
    frame = pd.DataFrame(rows)
    frame = frame[list(COLUMNS) + [c for c in frame.columns if c not in COLUMNS]]
    out.mkdir(parents=True, exist_ok=True)
    write_table(frame, out / "bench.parquet")
    ratios = targets_summary(frame)
    profile_rows = None
    if profile is not None:
        log(f"profile: phases of one round at {profile} (log full)")
        profile_rows = phase_profile(world_config(profile, block_users), repeats)
        write_table(profile_rows, out / "profile.parquet")
    write_json({
        "machine": info, **provenance(), "argv": sys.argv,
        "options": {"sizes": [str(s) for s in sizes], "block_users": block_users, "repeats": repeats,
                    "grid": list(grid) if grid else None, "grid_size": str(grid_size),
                    "grid_lever": grid_lever, "trecs": trecs, "trecs_python": python,
                    "trecs_steps": trecs_steps, "profile": str(profile) if profile else None,
                    "prng_ab": prng_ab, "grad_size": str(grad_size) if grad_size else None,
                    "programs": list(programs) if programs else None, "notebooks": list(notebooks),
                    "notebook_scale": notebook_scale, "world": BASE,
                    "retrain_size": str(retrain_size) if retrain_size else None,
                    "compilation_cache": (f"on at {cache}: compile times may be reads from it" if cache else
                                          "off; program rows: an empty temporary cache per program")},
        "summary": ratios, "wall_time_s": round(time.perf_counter() - started, 1),
        "load_average_after": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }, out / "manifest.json")
    log("")
    log(format_table(frame))
    log("")
    for benchmark, formatter in (("program", format_programs), ("notebook", format_notebooks)):
        if (frame.benchmark == benchmark).any():
            log("")
            log(formatter(frame[frame.benchmark == benchmark]))
    log("")
    log(format_summary(ratios))
    if profile_rows is not None:
        log("")
        log(profile_rows[["phase", "seconds", "share_of_step", "compile_s"]].to_string(
            index=False, float_format=lambda v: f"{v:.4g}"))
    log(f"\nwrote {out / 'bench.parquet'} and {out / 'manifest.json'}"
        + (f" and {out / 'profile.parquet'}" if profile_rows is not None else ""))
    return frame


def command(args) -> int:
    """``labkit bench`` with the parsed command-line ``args`` (see :mod:`labkit.cli`)."""
    sizes = [Size.parse(s) for s in (args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES))]
    if args.grid is None:
        grid = (16, 4) if args.quick else (64, 8)
    else:
        grid = tuple(args.grid) if min(args.grid) > 0 else None
    run_bench(sizes, Path(args.out), block_users=args.block_users,
              repeats=args.repeats or (1 if args.quick else 3), grid=grid,
              grid_size=Size.parse(args.grid_size), trecs=args.trecs, trecs_python_path=args.trecs_python,
              trecs_steps=args.trecs_steps or (20 if args.quick else TRECS_SIZES["rounds"]),
              profile=Size.parse(args.profile) if args.profile else None, prng_ab=args.prng,
              grad_size=_grad_size(args.grad_size, args.quick),
              programs=_programs(args.study, args.study_scale, args.quick), notebooks=_notebooks(args.notebooks or ()),
              notebook_scale=args.notebook_scale,
              retrain_size=Size.parse(args.retrain_size, "--retrain-size") if args.retrain_size else None)
    return 0


def _grad_size(text: str | None, quick: bool) -> Size | None:
    """``--grad-size``: a world (default :data:`GRAD_SIZE`, :data:`GRAD_QUICK_SIZE` with ``--quick``), or 0: none."""
    if text is None:
        text = GRAD_QUICK_SIZE if quick else GRAD_SIZE
    return None if text.strip() == "0" else Size.parse(text, "--grad-size")


def _programs(study: str | None, scale: str | None, quick: bool) -> tuple[str, str] | None:
    """``--study`` and ``--study-scale``: (study file, scale), or None for ``--study none``; read once
    here, so a missing file or scale is refused before anything runs."""
    from labkit.experiments import load

    if study is not None and study.strip().lower() in ("none", "0", ""):
        return None
    chosen = (study or PROGRAMS_STUDY, scale or ("tiny" if quick else "default"))
    load(*chosen)
    return chosen


def _notebooks(names: Sequence[str]) -> list[str]:
    """``--notebooks``: each must name a notebook of the main job (checked before anything runs)."""
    from labkit.experiments.notebooks import discover, select

    try:
        for name in names:
            select(discover(), name)
    except SystemExit as err:
        raise ConfigError(str(err).replace("--only", "--notebooks", 1)) from None
    return list(names)
