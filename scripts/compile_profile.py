"""Where compile time goes in a study's programs: trace, lower, compile and run, timed apart.

Each program is one point group of a study (one static combination: what
``labkit sweep`` compiles once, :func:`labkit.sim.loop.simulate_seeds` over the study's
seeds), built at the study's scale and compiled in this process with no persistent
compilation cache, at XLA's default optimization level (unless ``XLA_FLAGS`` says
otherwise). Per program it reports the seconds to trace, lower and compile (wall, and the
process's CPU seconds: on a loaded machine the steadier figure), the steady run time
(median of ``--repeats`` calls after a first; 0 skips the runs), and the program's size:
ops in the lowered StableHLO and in the optimized HLO XLA compiled. ``--times`` compiles
each program several times (the spread of the compile time).

``--phases`` also compiles each phase of one round alone (the start, the whole step,
creation, recommendation, MF retraining, measurement), vmapped over the seeds as in the
program: its CPU compile seconds and ops.

``--variants`` also compiles the same program with one part changed, to see what each
part costs: ``no-metrics`` (the round's metrics replaced by a constant),
``jax-threefry`` (jax's own CPU lowering of the PRNG hash, a loop, instead of labkit's
straight-line one), ``rbg`` (keys of the ``rbg`` PRNG: different numbers, for size only),
``random-rec`` (the ``random`` recommender, no MF training). Numbers of variants are
never compared with the study's; only their cost is.

    python scripts/compile_profile.py experiments/stochasticity.yaml --scale default
    python scripts/compile_profile.py experiments/stochasticity.yaml --policies mmr --variants

Run it in a fresh process: it refuses to run with a persistent cache configured.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from contextlib import contextmanager, nullcontext

if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    sys.exit("unset JAX_COMPILATION_CACHE_DIR: compile times are measured without a persistent cache")

import jax  # noqa: E402

jax.config.update("jax_enable_compilation_cache", False)  # this script's process only

from labkit.bench.timing import stages_timed  # noqa: E402
from labkit.experiments import load  # noqa: E402
from labkit.experiments.sweep import point_groups, sweep_points  # noqa: E402
from labkit.sim import loop, measure  # noqa: E402
from labkit.sim.prng import unrolled_threefry  # noqa: E402

_OP = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-#]+(?::\d+)?\s*=\s", re.M)
VARIANTS = ("no-metrics", "jax-threefry", "rbg", "random-rec")


def op_count(text: str) -> int:
    """Instructions in an HLO or StableHLO text: lines that assign a value."""
    return len(_OP.findall(text))


@contextmanager
def no_metrics():
    """The round's metrics replaced by one constant (what measurement costs)."""
    original = measure.round_metrics
    measure.round_metrics = lambda view: {"none": jax.numpy.float32(0.0)}
    try:
        yield
    finally:
        measure.round_metrics = original


def profile(config, seeds, variant: str | None = None, repeats: int = 3) -> dict:
    """Trace, lower, compile and run one study program; its sizes."""
    keys = loop.seed_keys(seeds)
    if variant == "rbg":
        keys = jax.vmap(lambda s: jax.random.key(s, impl="rbg"))(jax.numpy.asarray(list(seeds), jax.numpy.uint32))
    if variant == "random-rec":
        config = config.replace(recommender="random")
    jax.clear_caches()
    threefry = nullcontext() if variant == "jax-threefry" else unrolled_threefry()
    patched = no_metrics() if variant == "no-metrics" else nullcontext()
    with threefry, patched:
        compiled, seconds, lowered, cpu_compile = stages_timed(
            loop._simulate_seeds, config.static, config.params, keys, False)
    run, run_cpu = [float("nan")] * 2, [float("nan")] * 2
    for _ in range(repeats + 1 if repeats else 0):
        start, cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(compiled(config.params, keys))
        run.append(time.perf_counter() - start)
        run_cpu.append(time.process_time() - cpu)
    return {"trace_s": seconds["trace_s"], "lower_s": seconds["lower_s"], "compile_s": seconds["xla_compile_s"],
            "compile_cpu_s": cpu_compile,
            "run_s": statistics.median(run[-repeats:] if repeats else run),
            "run_cpu_s": statistics.median(run_cpu[-repeats:] if repeats else run_cpu),
            "stablehlo_ops": op_count(lowered.as_text()), "hlo_ops": op_count(compiled.as_text())}


def phase_programs(config) -> dict:
    """One round's phases, each a function of (state, key), vmapped over seeds as in the study program."""
    from labkit.sim.data import training_data
    from labkit.sim.policies import SlateContext
    from labkit.sim.recommenders import RECOMMENDERS, Observation

    static, params = config.static, config.params
    recommender = RECOMMENDERS[static.recommender]

    def context(s):
        return SlateContext(alive=s.catalog.alive, exposure=s.exposure, features=s.catalog.features)

    def metrics(s, k):
        slate = jax.numpy.zeros((static.n_users, static.slate_size), jax.numpy.int32) + s.round
        features = s.catalog.features[slate]
        clicked = s.users.theta[:, 0] > 0.1
        return measure.round_metrics(measure.view(
            s.catalog, s.users, s.training, s.history, slate, features, clicked, jax.numpy.where(clicked, 0, -1),
            features[:, 0], features[:, 0, 0], s.exposure, k, static.n_pairs))

    return {
        "init_state": lambda s, k: loop.init_state(k, static, params),
        "step (whole round)": lambda s, k: loop.step(static, params, s, k),
        "creation": lambda s, k: loop.create(k, s, static, params),
        "recommend": lambda s, k: loop.recommend(k, s.recommender, Observation(s.catalog, s.users), context(s),
                                                 static, params),
        "retraining (fit)": lambda s, k: recommender.fit(
            s.recommender, training_data(s.log, s.catalog, s.round, static, params),
            Observation(s.catalog, s.users), k, static, params),
        "measurement": metrics,
    }


def profile_phases(config, seeds) -> None:
    """Compile each phase of one round alone (vmapped over ``seeds``): CPU seconds and ops."""
    keys = loop.seed_keys(seeds)
    states = jax.eval_shape(jax.vmap(lambda k: loop.init_state(k, config.static, config.params)), keys)
    for name, fn in phase_programs(config).items():
        jax.clear_caches()
        with unrolled_threefry():
            lowered = jax.jit(jax.vmap(fn)).trace(states, keys).lower()
            cpu = time.process_time()
            compiled = lowered.compile()
            cpu = time.process_time() - cpu
        print(f"  phase {name:28} compile cpu {cpu:6.2f} s  stablehlo {op_count(lowered.as_text()):6d}  "
              f"hlo {op_count(compiled.as_text()):6d}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("study", help="experiments/<study>.yaml")
    parser.add_argument("--scale", default="default")
    parser.add_argument("--policies", nargs="*", help="only the program groups with these policies")
    parser.add_argument("--variants", nargs="*", choices=VARIANTS,
                        help="also compile these variants, every one if none named (see the module doc)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after the first; 0: compile only")
    parser.add_argument("--times", type=int, default=1, help="compile each program this many times")
    parser.add_argument("--phases", action="store_true", help="also compile each phase of a round alone")
    args = parser.parse_args(argv)

    experiment = load(args.study, scale=args.scale)
    seeds = list(experiment.seeds)
    print(f"# {args.study} at {args.scale}: seeds {seeds}; jax {jax.__version__}; "
          f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}; {os.cpu_count()} cpus", flush=True)
    header = (f"{'program':34} {'variant':13} {'trace':>6} {'lower':>6} {'compile':>8} {'cpu':>6} {'run':>6} "
              f"{'cpu':>6} {'stablehlo':>9} {'hlo':>7}")
    print(header, flush=True)
    for group in point_groups(sweep_points(experiment)):
        config = group[0].config
        if args.policies and config.policy not in args.policies:
            continue
        name = f"{config.policy}/{config.recommender}/{config.data_strategy}"
        variants = () if args.variants is None else (args.variants or VARIANTS)
        for variant in [v for v in (None, *variants) for _ in range(args.times)]:
            row = profile(config, seeds, variant, args.repeats)
            print(f"{name:34} {variant or '-':13} {row['trace_s']:6.2f} {row['lower_s']:6.2f} "
                  f"{row['compile_s']:8.2f} {row['compile_cpu_s']:6.2f} {row['run_s']:6.2f} {row['run_cpu_s']:6.2f} "
                  f"{row['stablehlo_ops']:9d} {row['hlo_ops']:7d}",
                  flush=True)
        if args.phases:
            profile_phases(config, seeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
