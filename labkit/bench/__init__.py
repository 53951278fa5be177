"""``labkit bench``: how fast the feedback loop runs, against the machine and against T-RECS.

What it measures, in one process (so every figure shares the machine's state):

* **the matmul bound**: a float32 ``[block_users, d] @ [d, items]`` product, the
  shape of one scoring block, timed here. Scoring a user-item pair costs ``2 d`` flops,
  so ``bound = matmul FLOP/s / (2 d)`` pairs/s is the most any loop that scores every
  live item for every user could reach.
* **a ladder of world sizes** (users x items x rounds): end-to-end throughput of
  :func:`labkit.simulate`'s compiled program in user-rounds/s and scored pairs/s
  (``users * items`` per round), compile time (``lower().compile()``) apart from the
  steady-state run time (median of repeats, ``block_until_ready``), the fraction of the
  matmul bound, and memory: the process's peak RSS, the device's peak where the backend
  reports it (GPU), XLA's own plan for the compiled program, the analytic size of the
  state pytree, and the largest array in the compiled program (to check that nothing
  of size ``users x items`` is ever made beyond one scoring block).
* **a lever grid**: ``points`` values of one param lever x ``seeds`` seeds in one
  vmapped compiled call (:func:`labkit.sim.loop.simulate_grid`, its points spread over the
  local devices: ``labkit bench`` splits a CPU host into one device per core, see
  :mod:`labkit.sim.devices`; ``devices`` column) against the same points run one by one
  through one compiled :func:`labkit.simulate` on one device.
* **the random-number hash**: the grid's world compiled under jax's default threefry
  lowering and under labkit's unrolled one (:mod:`labkit.sim.prng`), timed in alternation,
  with a check that both give the same numbers.
* **T-RECS side by side** (optional): T-RECS's ``ContentFiltering`` model (1000 users,
  1000 items, 32 attributes, 100 steps, training between steps) run in a subprocess
  with another interpreter (``--trecs-python``, a virtual environment where ``trecs``
  is installed: labkit never imports it), and labkit's closest analogue, the
  ``content`` recommender with a ``greedy`` policy on 32 topics, on the same sizes.

Results go to ``OUT/bench.parquet`` (one row per measurement), ``OUT/manifest.json``
(machine, versions, backend, device, options) and, with ``--profile``, a per-phase
breakdown of one round in ``OUT/profile.parquet``. Nothing here asserts a speed: the
numbers are reported, and ``docs/benchmarks.md`` compares them with the targets.
Nothing assumes a CPU: on a GPU the same code times the GPU (RSS then measures the
host only, and ``device_peak_mb`` the device).
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from labkit.sim import loop, measure, prng
from labkit.sim.config import Config, ConfigError, params_grid
from labkit.sim.devices import devices_for

# T-RECS's ContentFiltering took about 71 s for this work on the 2-core machine
# (not measured here): the fallback when no interpreter with trecs is given.
TRECS_REFERENCE_S = 71.0
TRECS_SIZES = {"n_users": 1000, "n_items": 1000, "n_topics": 32, "rounds": 100}

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

COLUMNS = (
    "benchmark", "mode", "n_users", "n_items", "n_topics", "slate_size", "rounds", "block_users",
    "simulations", "compile_s", "run_s", "repeats", "user_rounds_per_s", "pairs_per_s",
    "matmul_gflops", "matmul_pairs_bound", "fraction_of_matmul", "peak_rss_mb", "device_peak_mb",
    "compiled_mb", "state_mb", "largest_array_elems", "score_block_elems", "users_x_items", "devices",
)


@dataclass(frozen=True)
class Size:
    """One rung of the ladder: ``users x items x rounds``."""

    n_users: int
    n_items: int
    rounds: int

    @classmethod
    def parse(cls, text: str) -> "Size":
        parts = text.lower().split("x")
        try:
            values = [int(float(p)) for p in parts]
        except ValueError:
            values = []
        if len(values) != 3 or min(values) < 1:
            raise ConfigError(f"--sizes {text!r}: expected USERSxITEMSxROUNDS with positive whole "
                              f"numbers, e.g. 100000x10000x3")
        return cls(*values)

    def __str__(self) -> str:
        return f"{self.n_users}x{self.n_items}x{self.rounds}"


# --- measuring -------------------------------------------------------------------------


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, each waited for to completion."""
    times = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compile_timed(jitted, *args) -> tuple[Any, float]:
    """``jitted.lower(*args).compile()`` and the seconds it took (tracing included)."""
    start = time.perf_counter()
    compiled = jitted.lower(*args).compile()
    return compiled, time.perf_counter() - start


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


def state_mb(static, params) -> float:
    """Analytic size of the loop's state pytree (catalog, users, log, recommender...), in MiB."""
    shapes = jax.eval_shape(lambda p: loop.init_state(jax.random.key(0), static, p), params)
    leaves = jax.tree.leaves(shapes)
    return sum(int(np.prod(x.shape)) * x.dtype.itemsize for x in leaves) / 2 ** 20


# --- the benchmarks --------------------------------------------------------------------


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
        "state_mb": state_mb(s, config.params),
        "largest_array_elems": largest_array_elems(compiled) if compiled is not None else 0,
        "score_block_elems": min(s.block_users, s.n_users) * s.n_items,
        "users_x_items": s.n_users * s.n_items, "devices": 1,
    }


def bench_world(config: Config, repeats: int, benchmark: str = "ladder") -> dict[str, Any]:
    """One world, one seed: compile once, then the median steady-state run."""
    key = jax.random.key(0)
    static, params = config.static, config.params
    gflops = matmul_gflops(min(static.block_users, static.n_users), static.n_topics, static.n_items)
    compiled, compile_s = compile_timed(loop._simulate, static, params, key)
    run_s = median_time(lambda: compiled(params, key), repeats)
    gflops = max(gflops, matmul_gflops(min(static.block_users, static.n_users), static.n_topics, static.n_items))
    return _row(benchmark, "single", config, 1, compiled, compile_s, run_s, repeats, gflops)


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
    times: dict[str, list[float]] = {mode: [] for mode in compiled}
    for _ in range(max(2 * repeats + 1, 5)):
        for mode, program in compiled.items():
            start = time.perf_counter()
            jax.block_until_ready(program(params, key))
            times[mode].append(time.perf_counter() - start)
    return [{**_row("prng", mode, config, 1, compiled[mode], compile_s[mode], statistics.median(times[mode]),
                    len(times[mode]), gflops), "same_numbers": same} for mode in compiled]


# --- T-RECS ----------------------------------------------------------------------------

_TRECS_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
import trecs
from trecs.models import ContentFiltering
users, items, attributes, steps = (int(a) for a in sys.argv[1:5])
start = time.perf_counter()
model = ContentFiltering(num_users=users, num_items=items, num_attributes=attributes, seed=0)
setup = time.perf_counter() - start
start = time.perf_counter()
model.run(timesteps=steps, train_between_steps=True, disable_tqdm=True)
run = time.perf_counter() - start
print(json.dumps({"setup_s": setup, "run_s": run, "trecs_version": getattr(trecs, "__version__", "?"),
                  "numpy_version": np.__version__, "python": sys.version.split()[0]}))
"""


def run_trecs(python: str, users: int, items: int, attributes: int, steps: int,
              timeout_s: float = 3600.0) -> dict[str, Any]:
    """Time T-RECS's ContentFiltering in a subprocess run by ``python`` (which must import trecs)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(_TRECS_SCRIPT)
        script = handle.name
    try:
        done = subprocess.run([python, script, str(users), str(items), str(attributes), str(steps)],
                              capture_output=True, text=True, timeout=timeout_s)
    finally:
        Path(script).unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"T-RECS run with {python} failed (exit {done.returncode}): "
                           f"{done.stderr.strip()[-600:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def trecs_python(given: str | None) -> str | None:
    """The interpreter that imports trecs: ``--trecs-python``, ``$LABKIT_TRECS_PYTHON``, or this one."""
    candidates = [given] if given else [os.environ.get("LABKIT_TRECS_PYTHON"), sys.executable]
    for python in filter(None, candidates):
        try:
            probe = subprocess.run([python, "-c", "import trecs"], capture_output=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            probe = None
        if probe is not None and probe.returncode == 0:
            return python
        if given:
            raise ConfigError(f"--trecs-python {given}: that interpreter cannot `import trecs`; "
                              f"install it there (see docs/benchmarks.md)")
    return None


def bench_trecs(python: str | None, steps: int, repeats: int, log: Callable[[str], None]
                ) -> list[dict[str, Any]]:
    """T-RECS ContentFiltering and labkit's content/greedy world on the same sizes, side by side."""
    size = Size(TRECS_SIZES["n_users"], TRECS_SIZES["n_items"], steps)
    # T-RECS: a fixed catalog, every user interacts with one item of a 10-item slate each step.
    config = world_config(size, block_users=size.n_users, new_items=0, n_topics=TRECS_SIZES["n_topics"],
                          no_click_logit=-100.0)
    labkit_row = bench_world(config, repeats, benchmark="trecs_comparison")
    labkit_row["mode"] = "labkit"
    pairs = size.rounds * size.n_users * size.n_items
    if python is not None:
        log(f"T-RECS: running ContentFiltering {size} with {python} (this takes a while)")
        measured = run_trecs(python, size.n_users, size.n_items, TRECS_SIZES["n_topics"], size.rounds)
        trecs_s, mode, note = measured["run_s"], "trecs", f"measured in-session, trecs {measured['trecs_version']}"
    else:
        trecs_s = TRECS_REFERENCE_S * size.rounds / TRECS_SIZES["rounds"]
        mode, note = "trecs_reference", "NOT measured: the issue's 71 s figure (no --trecs-python)"
        measured = {}
    trecs_row = {column: float("nan") for column in COLUMNS}
    trecs_row.update({
        "benchmark": "trecs_comparison", "mode": mode, "n_users": size.n_users, "n_items": size.n_items,
        "n_topics": TRECS_SIZES["n_topics"], "slate_size": 10, "rounds": size.rounds, "block_users": size.n_users,
        "simulations": 1, "compile_s": 0.0, "run_s": trecs_s, "repeats": 1,
        "user_rounds_per_s": size.rounds * size.n_users / trecs_s, "pairs_per_s": pairs / trecs_s,
        "matmul_gflops": labkit_row["matmul_gflops"], "matmul_pairs_bound": labkit_row["matmul_pairs_bound"],
        "fraction_of_matmul": pairs / trecs_s / labkit_row["matmul_pairs_bound"],
        "largest_array_elems": 0, "score_block_elems": size.n_users * size.n_items,
        "users_x_items": size.n_users * size.n_items,
    })
    trecs_row["note"] = note
    labkit_row["note"] = "content recommender, greedy, 32 topics, accumulate"
    return [labkit_row, trecs_row]


# --- where a round's time goes -------------------------------------------------------------


def phase_profile(config: Config, repeats: int = 3) -> pd.DataFrame:
    """Seconds per phase of one round at the *last* round of a run (the log full), each phase
    jitted on its own: what a round of ``config`` spends where.

    The log is filled with random impressions (one click in about 10 of 13 user-rounds),
    so log-sized work (retraining, homogenization) costs what it costs at the end of a run.
    """
    from labkit.sim import data as data_mod
    from labkit.sim.policies import POLICIES, SlateContext, novelty_bonus
    from labkit.sim.recommenders import RECOMMENDERS, World

    static, params = config.static, config.params
    key = jax.random.key(0)
    recommender = RECOMMENDERS[static.recommender]

    @jax.jit
    def last_round_state(key):
        state = loop.init_state(key, static, params)
        rounds, users, k = state.log.item.shape
        k_item, k_click = jax.random.split(key)
        slots = jnp.nonzero(state.catalog.alive, size=static.n_items, fill_value=0)[0]
        item = slots[jax.random.randint(k_item, (rounds, users, k), 0, state.catalog.alive.sum())]
        click = jax.nn.one_hot(jax.random.randint(k_click, (rounds, users), -3, k), k, dtype=bool)
        log = state.log._replace(item=item, uid=state.catalog.uid[item], click=click,
                                 round=jnp.arange(rounds, dtype=jnp.int32))
        clicked = jax.vmap(lambda row: data_mod.clicked_uids(log, row))(jnp.arange(rounds))  # [rounds, users]
        return state._replace(log=log, round=jnp.int32(rounds - 1), history=jnp.sort(clicked.T, axis=1))

    state = last_round_state(key)
    block = min(static.block_users, static.n_users)
    rows = jnp.arange(-(-static.n_users // block) * block).reshape(-1, block)

    def context(s):
        return SlateContext(alive=s.catalog.alive, exposure=s.exposure, features=s.catalog.features)

    def score_blocks(s, k):
        world = World(s.catalog, s.users)
        return jax.lax.map(lambda r: recommender.score(s.recommender, world, k,
                                                       jnp.minimum(r, static.n_users - 1)).sum(1), rows)

    def score_and_policy(s, k):
        world, ctx = World(s.catalog, s.users), context(s)
        ctx = ctx._replace(bonus=novelty_bonus(ctx, params))  # as the loop does
        def one(r):
            scores = recommender.score(s.recommender, world, k, jnp.minimum(r, static.n_users - 1))
            return POLICIES[static.policy](k, scores, ctx, params, static.slate_size).items
        return jax.lax.map(one, rows)

    def training_data(s):
        return data_mod.training_data(s.log, s.catalog, s.round, static, params)

    def fit(s, k, training):
        if recommender.update is not None:  # what the loop runs: the round's change
            return recommender.update(s.recommender, s.log, s.round, World(s.catalog, s.users), k, static, params)
        return recommender.fit(s.recommender, training, World(s.catalog, s.users), k, static, params)

    def measurement(s, k, training):
        k_slate, k_click = jax.random.split(k)
        slate = jax.random.randint(k_slate, (static.n_users, static.slate_size), 0, static.n_items)
        features = s.catalog.features[slate]
        clicked = jax.random.bernoulli(k_click, 0.75, (static.n_users,))
        return measure.round_metrics(measure.view(
            s.catalog, s.users, s.training, s.history, slate, features, clicked, jnp.where(clicked, slate[:, 0], -1),
            features[:, 0], features[:, 0, 0], s.exposure, k, static.n_pairs))

    training = jax.jit(training_data)(state)
    phases = {
        "step (whole round)": lambda s, k, t: loop.step(static, params, s, k),
        "creation": lambda s, k, t: loop.create(k, s, static, params),
        "recommend (as in step)": lambda s, k, t: loop.recommend(
            k, s.recommender, World(s.catalog, s.users), context(s), static, params),
        "  of which scoring only (matmul)": lambda s, k, t: score_blocks(s, k),
        "  scoring + policy, no share": lambda s, k, t: score_and_policy(s, k),
        "retraining: training data": lambda s, k, t: (
            data_mod.update_totals(s.training, s.log, s.catalog, s.round, static, params)
            if recommender.update is not None else training_data(s)),
        "retraining: recommender": fit,
        "measurement: round_metrics": measurement,
    }
    rows_out = []
    for name, fn in phases.items():
        compiled, compile_s = compile_timed(jax.jit(fn), state, key, training)
        run_s = median_time(lambda: compiled(state, key, training), repeats)
        rows_out.append({"phase": name, "seconds": run_s, "compile_s": compile_s})
    frame = pd.DataFrame(rows_out)
    whole = frame.loc[frame.phase == "step (whole round)", "seconds"].iloc[0]
    frame["share_of_step"] = frame.seconds / whole
    parts = ["creation", "recommend (as in step)", "retraining: training data", "retraining: recommender",
             "measurement: round_metrics"]
    rest = whole - frame.loc[frame.phase.isin(parts), "seconds"].sum()
    frame.loc[len(frame)] = {"phase": "rest (choice, drift, logging, GenAI refit; may be < 0: noise)",
                             "seconds": rest, "compile_s": float("nan"), "share_of_step": rest / whole}
    for column, value in [("n_users", static.n_users), ("n_items", static.n_items),
                          ("rounds_in_log", static.rounds), ("block_users", block)]:
        frame.insert(0, column, value)
    return frame


# --- the command -----------------------------------------------------------------------


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


def format_table(frame: pd.DataFrame) -> str:
    """The printed table: the columns a reader compares, in readable units."""
    shown = pd.DataFrame({
        "benchmark": frame.benchmark, "mode": frame["mode"],
        "users x items x rounds": [f"{u}x{i}x{r}" for u, i, r in zip(frame.n_users, frame.n_items, frame.rounds)],
        "sims": frame.simulations, "block": frame.block_users,
        "dev": frame["devices"].fillna(1).astype(int),
        "compile s": frame.compile_s.map(lambda v: f"{v:.1f}"),
        "run s": frame.run_s.map(lambda v: f"{v:.3g}"),
        "user-rounds/s": frame.user_rounds_per_s.map(lambda v: f"{v:.3g}"),
        "pairs/s": frame.pairs_per_s.map(lambda v: f"{v:.3g}"),
        "matmul GF/s": frame.matmul_gflops.map(lambda v: f"{v:.0f}"),
        "of bound": frame.fraction_of_matmul.map(lambda v: f"{100 * v:.1f}%"),
        "peak RSS MB": frame.peak_rss_mb.map(lambda v: "-" if np.isnan(v) else f"{v:.0f}"),
        "XLA MB": frame.compiled_mb.map(lambda v: "-" if np.isnan(v) else f"{v:.0f}"),
        "state MB": frame.state_mb.map(lambda v: "-" if np.isnan(v) else f"{v:.1f}"),
        "max array/(UxI)": [("-" if not a or np.isnan(a) else f"{a / b:.3g}")
                            for a, b in zip(frame.largest_array_elems, frame.users_x_items)],
    })
    return shown.to_string(index=False)


def summary(frame: pd.DataFrame) -> dict[str, Any]:
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
        out["trecs_speedup_incl_compile"] = trecs_row.run_s / (labkit_row.run_s + labkit_row.compile_s)
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
    return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in out.items()}


TARGETS = (
    ("trecs_speedup", 100.0, "x T-RECS's throughput on its ContentFiltering world"),
    ("largest_world_fraction_of_matmul", 0.30, "of the matmul bound at the largest world"),
    ("grid_speedup", 5.0, "x faster: vmapped grid against one by one"),
)


def format_summary(ratios: dict[str, Any]) -> str:
    lines = []
    for key, target, meaning in TARGETS:
        if key in ratios:
            value = ratios[key]
            shown = f"{100 * value:.1f}%" if target < 1 else f"{value:.1f}x"
            wanted = f"{100 * target:.0f}%" if target < 1 else f"{target:g}x"
            verdict = "met" if value >= target else "MISSED"
            lines.append(f"{key:34} {shown:>10}  target >= {wanted:>5} {meaning}: {verdict}")
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
              log: Callable[[str], None] = print) -> pd.DataFrame:
    """Run every part of the benchmark, write ``bench.parquet`` + ``manifest.json``, return the table.

    Programs are compiled with labkit's straight-line threefry (:func:`labkit.sim.prng.unrolled_threefry`),
    as labkit's own runs are; the ``prng`` rows compare it with jax's default.
    """
    with prng.unrolled_threefry():
        return _run_bench(sizes, out, block_users=block_users, repeats=repeats, grid=grid, grid_size=grid_size,
                          grid_lever=grid_lever, trecs=trecs, trecs_python_path=trecs_python_path,
                          trecs_steps=trecs_steps, profile=profile, prng_ab=prng_ab, log=log)


def _run_bench(sizes, out, *, block_users, repeats, grid, grid_size, grid_lever, trecs, trecs_python_path,
               trecs_steps, profile, prng_ab, log) -> pd.DataFrame:
    from labkit.experiments.results import provenance, write_json, write_table

    started = time.perf_counter()
    info = machine_info()
    # For reference only (the bound used is the scoring-shaped product): a square product's rate.
    info["matmul_square_2048_gflops"] = round(matmul_gflops(2048, 2048, 2048, repeats=5), 1)
    log(f"labkit bench on {info['backend']} ({info['device']}, {info['cpu_count']} cores, "
        f"load {info['load_average']})")
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
    if trecs:
        log(f"T-RECS comparison: {TRECS_SIZES['n_users']} users x {TRECS_SIZES['n_items']} items x "
            f"{TRECS_SIZES['n_topics']} attributes x {trecs_steps} steps")
        rows.extend(bench_trecs(python, trecs_steps, repeats, log))
    frame = pd.DataFrame(rows)
    frame = frame[list(COLUMNS) + [c for c in frame.columns if c not in COLUMNS]]
    out.mkdir(parents=True, exist_ok=True)
    write_table(frame, out / "bench.parquet")
    ratios = summary(frame)
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
                    "prng_ab": prng_ab,
                    "world": BASE},
        "summary": ratios, "wall_time_s": round(time.perf_counter() - started, 1),
        "load_average_after": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }, out / "manifest.json")
    log("")
    log(format_table(frame))
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
              profile=Size.parse(args.profile) if args.profile else None, prng_ab=args.prng)
    return 0
