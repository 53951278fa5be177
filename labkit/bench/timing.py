"""Measuring tools of ``labkit bench``: wall time, compile time, the matmul bound, memory, the machine.

Every figure in the benchmark's table is taken with these, so all parts measure alike:
run time is the median of repeats waited for with ``block_until_ready``, compile time
is ``lower().compile()`` (tracing included; :func:`stages_timed` splits it into trace,
lower and XLA compile), the matmul bound is the best rate of a
scoring-shaped product, and memory is read from the process, the device and XLA's plan.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from labkit.sim import loop, prng


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, each waited for to completion."""
    return timed_calls(fn, repeats)[0]


def timed_calls(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """:func:`median_time` of ``fn`` and what its last call returned."""
    times = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        result = jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def alternating_medians(fns: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Median wall time of each of ``fns`` over ``rounds`` rounds, each round calling every one in
    turn (waited for to completion): the programs compared share the machine's state, so a
    ratio of two of them is steadier on a shared machine than two medians taken one after the other."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(max(rounds, 1)):
        for name, fn in fns.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


class Stages(NamedTuple):
    """What :func:`stages_timed` compiled and how long each stage took."""

    compiled: Any
    seconds: dict[str, float]  # wall seconds: trace_s, lower_s, xla_compile_s
    lowered: Any  # the StableHLO program that XLA compiled
    xla_compile_cpu_s: float  # the process's CPU seconds in XLA's stage (steadier on a loaded machine)


def stages_timed(jitted, *args) -> Stages:
    """``jitted.trace(*args).lower().compile()`` and the seconds of each stage (``jax.stages``):
    ``trace_s`` (Python to jaxpr), ``lower_s`` (jaxpr to StableHLO), ``xla_compile_s`` (XLA, or a
    read from the persistent compilation cache when one is on and holds the program)."""
    seconds = {}
    start = time.perf_counter()
    traced = jitted.trace(*args)
    seconds["trace_s"] = time.perf_counter() - start
    start = time.perf_counter()
    lowered = traced.lower()
    seconds["lower_s"] = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    compiled = lowered.compile()
    seconds["xla_compile_s"] = time.perf_counter() - start
    return Stages(compiled, seconds, lowered, time.process_time() - cpu)


def compile_timed(jitted, *args) -> tuple[Any, float]:
    """``jitted.lower(*args).compile()`` and the seconds it took (tracing included).

    ``labkit bench`` runs with the persistent compilation cache off (:mod:`labkit.cache`), so
    this is a real compile, never a read from the cache.
    """
    stages = stages_timed(jitted, *args)
    return stages.compiled, sum(stages.seconds.values())


def matmul_gflops(rows: int, d: int, cols: int, repeats: int = 20, blocks: int = 8) -> float:
    """GFLOP/s of a float32 ``[rows, d] @ [d, cols]`` product on the default device.

    Measured two ways, and the higher rate kept: the product alone, and ``blocks``
    products one after another in one compiled ``lax.map`` (each reduced to its row
    maxima), as the loop scores its user blocks. Alone, each call writes a fresh
    ``rows x cols`` output and may pay the page faults of new memory (a 1024 x 10000
    block ran at 25 GF/s alone and 100 GF/s in a map on this 2-core machine); in a map the
    buffer is reused. The *best* of ``repeats`` timings, not the median: this is the
    bound the loop is compared with, and on a shared machine the fastest run is the
    least disturbed one.
    """
    key_a, key_b = jax.random.split(jax.random.key(0))
    a = jax.random.normal(key_a, (blocks, rows, d), jnp.float32)
    b = jax.random.normal(key_b, (d, cols), jnp.float32)
    alone = jax.jit(jnp.matmul)
    mapped = jax.jit(lambda a, b: jax.lax.map(lambda block: (block @ b).max(axis=1), a))

    def best_of(fn, *args) -> float:
        jax.block_until_ready(fn(*args))
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            best = min(best, time.perf_counter() - start)
        return best

    per_product = min(best_of(alone, a[0], b), best_of(mapped, a, b) / blocks)
    return 2.0 * rows * d * cols / per_product / 1e9


def peak_rss_mb() -> float:
    """The process's resident-set high-water mark so far, in MiB (monotone over a run)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2 ** 20  # KiB on Linux, bytes on macOS


def device_peak_mb() -> float:
    """The default device's peak bytes in use, in MiB, where the backend reports it (GPU/TPU); else NaN."""
    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # noqa: BLE001 - backends without memory stats raise various errors
        stats = {}
    peak = stats.get("peak_bytes_in_use")
    return float(peak) / 2 ** 20 if peak is not None else float("nan")


def compiled_mb(compiled) -> float:
    """XLA's plan for the compiled program: arguments + outputs + temporaries, in MiB (NaN if unknown)."""
    try:
        stats = compiled.memory_analysis()
        total = stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
        return total / 2 ** 20
    except Exception:  # noqa: BLE001 - not every backend/version provides it
        return float("nan")


_SHAPE = re.compile(r"\b(?:f|s|u|bf|pred)\d*\[(\d+(?:,\d+)*)\]")


def largest_array_elems(compiled) -> int:
    """Elements of the largest array in the compiled program (from its HLO text; 0 if unavailable).

    The memory target is that nothing grows with ``users x items`` beyond one scoring
    block: compare this with ``block_users x items``.
    """
    try:
        text = compiled.as_text()
    except Exception:  # noqa: BLE001
        return 0
    largest = 0
    for match in _SHAPE.finditer(text or ""):
        largest = max(largest, int(np.prod([int(n) for n in match.group(1).split(",")])))
    return largest


def state_mb(static, params, init: Callable = loop.init_state) -> float:
    """Analytic size of the loop's state pytree (catalog, users, log, recommender...), in MiB.

    ``init(key, static, params)``: the loop's initial state (default the exact loop's;
    :func:`labkit.grad.relaxed.init_state` at a temperature for the relaxed one).
    """
    shapes = jax.eval_shape(lambda p: init(jax.random.key(0), static, p), params)
    leaves = jax.tree.leaves(shapes)
    return sum(int(np.prod(x.shape)) * x.dtype.itemsize for x in leaves) / 2 ** 20


def machine_info() -> dict[str, Any]:
    """What ran the benchmark: host, CPU, cores, jax and its backend and device."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    device = jax.devices()[0]
    return {
        "host": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
        "cpu": cpu, "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "jax_version": jax.__version__, "jaxlib_version": getattr(jax.lib, "__version__", None) or
        __import__("jaxlib").__version__, "backend": jax.default_backend(),
        "device": str(device), "device_kind": getattr(device, "device_kind", None),
        "device_count": jax.device_count(), "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "threefry_on_cpu": "unrolled" if prng.unrolled_threefry_active() else "jax default (loop)",
    }
