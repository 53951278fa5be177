"""Time to result: what a user waits for before a study's numbers exist, program by program.

A study (``labkit sweep``, its notebook) compiles one program per static combination of its
points apart from the policy (:func:`labkit.experiments.sweep.point_groups`; every policy is
a runtime branch of it), each :func:`labkit.simulate_seeds` over the study's seeds with
``policy_branches=True``. For each of those programs, exactly as the sweep calls it, the
``program`` rows time the stages of ``jax.stages``: ``trace_s`` (Python to jaxpr),
``lower_s`` (to StableHLO), ``xla_compile_s`` (XLA's compile; ``compile_s`` is the sum, as
in the other rows), ``first_run_s`` (the first call of the compiled program, compile
excluded), ``run_s`` (the median steady-state call) and ``warm_start_s`` (trace, lower and
the program read back from the persistent cache, ``cache_read_s``: what a second process on
the same machine waits for before its first run).

The compile is a cold one: the persistent compilation cache is a fresh, empty temporary
folder, so XLA compiles and the program is written there (as on a user's first run with
:func:`labkit.compilation_cache` on); the warm start then reads it back from that folder.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import jax

from labkit.bench.timing import matmul_gflops, median_time, stages_timed
from labkit.bench.worlds import _row
from labkit.cache import compilation_cache_at
from labkit.experiments import load
from labkit.experiments.sweep import point_groups, sweep_points
from labkit.sim import loop

# The study timed by default, at its default scale: the MF world every mitigation study
# shares, one program for its three policies (greedy, softmax, MMR).
PROGRAMS_STUDY = "experiments/stochasticity.yaml"

# The targets for a default-scale study program (reported, never asserted).
COMPILE_TARGET_S = 5.0
TRACE_LOWER_TARGET_S = 1.0


def bench_programs(study: str | os.PathLike, scale: str | None, repeats: int) -> list[dict[str, Any]]:
    """One ``program`` row per compiled program of ``study`` at ``scale`` (see the module docstring)."""
    experiment = load(study, scale)
    keys = loop.seed_keys(experiment.seeds)
    rows = []
    for group in point_groups(sweep_points(experiment)):
        config = group[0].config
        (static, index), params = loop.branched(config), config.params
        args = (static, params, keys, False, index)  # as labkit.simulate_seeds(..., policy_branches=True) calls it
        with tempfile.TemporaryDirectory(prefix="labkit-bench-cache-") as folder, \
                compilation_cache_at(folder, min_compile_secs=0.0):
            jax.clear_caches()  # nothing traced or compiled in this process is reused
            compiled, stages, *_ = stages_timed(loop._simulate_seeds_branched, *args)
            first_run_s = median_time(lambda: compiled(params, keys, index), 1)
            run_s = median_time(lambda: compiled(params, keys, index), repeats)
            jax.clear_caches()
            warm = stages_timed(loop._simulate_seeds_branched, *args).seconds
        gflops = matmul_gflops(min(static.block_users, static.n_users), static.n_topics, static.n_items)
        arms = ", ".join(dict.fromkeys(point.arm for point in group))
        rows.append({**_row("program", arms, config, len(experiment.seeds), compiled, sum(stages.values()),
                            run_s, repeats, gflops),
                     **stages, "first_run_s": first_run_s, "warm_start_s": sum(warm.values()),
                     "cache_read_s": warm["xla_compile_s"],
                     "study": experiment.name, "scale": experiment.scale, "points": len(group),
                     "note": "compile: cold, an empty temporary cache; warm start: read back from it"})
    return rows


def format_programs(rows) -> str:
    """The printed table of the ``program`` rows (a DataFrame), in seconds."""
    shown = rows[["study", "scale", "mode", "points", "trace_s", "lower_s", "xla_compile_s", "first_run_s",
                  "run_s", "warm_start_s", "cache_read_s"]].rename(columns={"mode": "program (arms)"})
    return shown.to_string(index=False, float_format=lambda v: f"{v:.3g}")


def bench_notebooks(names, scale: str, log=print, folder: str | os.PathLike | None = None
                    ) -> list[dict[str, Any]]:
    """Each named notebook of the main job (in ``folder``, default ``notebooks/``) run twice at
    ``scale``: ``cold`` with an empty temporary compilation cache, then ``warm`` with the cache the
    cold run filled. ``run_s``: the notebook's wall time (kernel start included);
    ``programs_compiled``: programs the run added to the cache."""
    from labkit.cache import cache_entries
    from labkit.experiments.notebooks import discover, run_notebook, select

    rows = []
    found = discover(folder) if folder is not None else discover()
    for notebook in [p for name in names for p in select(found, name)]:
        with tempfile.TemporaryDirectory(prefix="labkit-bench-notebook-") as scratch:
            cache = os.path.join(scratch, "cache")
            with compilation_cache_at(cache):
                for mode in ("cold", "warm"):
                    before = cache_entries(cache)
                    log(f"notebook: {notebook.stem} at scale {scale}, {mode} compilation cache ...")
                    done = run_notebook(notebook, os.path.join(scratch, mode), {"scale": scale})
                    rows.append({"benchmark": "notebook", "mode": mode, "notebook": notebook.stem,
                                 "scale": scale, "run_s": done.wall_time_s, "compile_s": float("nan"),
                                 "programs_compiled": cache_entries(cache) - before, "repeats": 1,
                                 "note": "wall time of the papermill run, kernel start included"})
    return rows


def format_notebooks(rows) -> str:
    """The printed table of the ``notebook`` rows (a DataFrame)."""
    shown = rows[["notebook", "scale", "mode", "run_s", "programs_compiled"]].rename(
        columns={"mode": "cache", "run_s": "wall s"})
    return shown.to_string(index=False, float_format=lambda v: f"{v:.1f}")
