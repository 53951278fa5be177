"""The ``labkit`` command line.

    labkit run CONFIG.yaml [--scale S] [--seeds N] [--set LEVER=VALUE ...] --out DIR
    labkit sweep STUDY.yaml [--scale S] [--out DIR] [--executor local|dask] [--scheduler ADDRESS] [--quiet]
    labkit bench [--quick] [--sizes UxIxR ...] [--study STUDY.yaml] [--notebooks NN ...] [--trecs/--no-trecs] [--out DIR]
    labkit tune CONFIG.yaml --objective METRIC --levers a,b,c --steps N [--max-ctr-loss X] [--out DIR]
    labkit audit LOG --out DIR [--time COL] [--period day|week|month|round] [--user COL --item COL ...]
    labkit data ml-100k|ml-100k-genres [--cache DIR]
    labkit levers
    labkit main [--scale S] [--only NN] [...]     (the main job: see labkit.experiments.notebooks)

``run`` simulates the config for seeds ``0..N-1`` in one vmapped, compiled call and
writes ``DIR/metrics.parquet`` (one row per seed and round, one column per metric) and
``DIR/manifest.json`` (resolved config, seeds, versions, commit, wall time).

``sweep`` runs every point of a study's conditions and grid (see :mod:`labkit.experiments.sweep`):
one file per point under ``DIR/points/`` (default ``DIR``: ``results/<study>``), then
the tidy ``DIR/metrics.parquet`` and ``DIR/manifest.json``. Rerun the same command to
resume an interrupted sweep; points already written are not recomputed.

``audit`` measures a real interaction log (parquet or CSV, a glob of files too) period by
period, tests each metric for a trend and prints the collapse alarm's verdict; it writes
``DIR/periods.parquet``, ``DIR/trends.parquet`` and ``DIR/manifest.json`` (see
:mod:`labkit.analysis.audit`). ``data ml-100k`` fetches MovieLens 100K into the data cache
(:mod:`labkit.datasets`) and prints the path of its parquet table; ``data ml-100k-genres``
its movies' genres (item, feature), for ``audit --item-features``.

``run``, ``sweep``, ``bench`` and ``tune`` refuse, before any compute, a world whose
estimated memory exceeds what the device has free (:mod:`labkit.sim.memory`); with
``--no-memory-check`` they run it anyway.

``run``, ``sweep``, ``tune`` and ``main`` keep compiled programs in JAX's persistent
compilation cache (:func:`labkit.compilation_cache`: ``~/.cache/labkit/jax`` unless
``$LABKIT_COMPILATION_CACHE`` names another folder or is ``0`` / ``off``), so a program
compiled once on a machine is loaded, not compiled, by later commands. ``bench`` turns the
cache off: its compile times are real compiles.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import yaml

from labkit.cache import SWITCH_VARIABLE, compilation_cache_at
from labkit.experiments.notebooks import SCALES
from labkit.sim.config import ConfigError, describe_levers
from labkit.sim.memory import unchecked

# The commands that compile simulations: each keeps its programs in the persistent cache
# (bench turns it off, see bench()).
CACHED_COMMANDS = ("run", "sweep", "tune", "audit")


def _parse_set(pairs: list[str]) -> dict:
    overrides = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: expected LEVER=VALUE, e.g. --set drift=0.1")
        key, value = pair.split("=", 1)
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def run(args: argparse.Namespace) -> int:
    """``labkit run``: simulate, then write the metrics table and the manifest."""
    from labkit.experiments import load
    from labkit.sim.loop import check_memory

    experiment = load(args.config, args.scale)
    config = experiment.config.replace(**_parse_set(args.set)) if args.set else experiment.config
    if args.log:  # the exported log holds every round (the same metrics: labkit.sim.loop.log_rounds)
        config = config.replace(log_capacity="full")
    if args.seeds is not None and args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds}: allowed: a count >= 1")
    seeds = list(range(args.seed_start, args.seed_start + args.seeds)) if args.seeds else list(experiment.seeds)
    # before anything else is computed; the run is simulated_point's program, every policy a branch
    check_memory(config.static, seeds=len(seeds), policy_branches=True)
    out = Path(args.out)

    from labkit.experiments.results import manifest, write_json, write_table
    from labkit.experiments.sweep import POINT_META, simulated_point

    if not args.quiet:  # no bar inside the compiled scan: it would change the program (see sweep)
        print(f"{experiment.name}: {len(seeds)} seeds x {config.rounds} rounds, compiling and running ...",
              flush=True)
    start = time.perf_counter()
    table, state = simulated_point(config, seeds)
    wall = time.perf_counter() - start
    table.attrs.pop(POINT_META)  # the manifest beside the table says it
    write_table(table, out / "metrics.parquet")
    if args.log:
        from labkit.analysis.logs import log_table

        log = log_table(state.log, seeds)
        write_table(log, out / "log.parquet")
        print(f"wrote {out / 'log.parquet'} ({len(log)} impressions, {int(log['clicked'].sum())} clicks)")
    del state
    write_json(manifest(config, seeds, wall, source=str(args.config), scale=experiment.scale),
               out / "manifest.json")
    print(f"wrote {out / 'metrics.parquet'} ({len(table)} rows) and {out / 'manifest.json'} "
          f"in {wall:.1f} s")
    return 0


def sweep(args: argparse.Namespace) -> int:
    """``labkit sweep``: compute the study's missing points, then write the table and manifest."""
    from labkit.experiments import load
    from labkit.experiments.sweep import run_sweep, sweep_points

    experiment = load(args.study, args.scale)
    if args.scheduler is not None and args.executor != "dask":
        raise ConfigError(f"--scheduler {args.scheduler!r} needs --executor dask")
    out = Path(args.out) if args.out is not None else Path("results") / experiment.name
    start = time.perf_counter()
    table = run_sweep(experiment, out, executor=args.executor, scheduler=args.scheduler,
                      progress=not args.quiet)
    n_points = len({p.config_hash for p in sweep_points(experiment)})
    print(f"wrote {out / 'metrics.parquet'} ({len(table)} rows, {n_points} points) and "
          f"{out / 'manifest.json'} in {time.perf_counter() - start:.1f} s")
    return 0


def tune(args: argparse.Namespace) -> int:
    """``labkit tune``: fit levers by gradient for a long-term objective under a CTR floor."""
    from labkit.experiments import load
    from labkit.grad.tune import check_tune, tune as run_tune

    experiment = load(args.config, args.scale)
    config = experiment.config.replace(**_parse_set(args.set)) if args.set else experiment.config
    levers = [name.strip() for name in args.levers.split(",") if name.strip()]
    max_ctr_loss = None if str(args.max_ctr_loss).lower() == "none" else _number(args.max_ctr_loss, "--max-ctr-loss")
    check_tune(args.objective, levers, args.steps, max_ctr_loss, args.relax_temperature, args.seeds_per_step,
               args.eval_seeds, args.lr)
    out = Path(args.out) if args.out is not None else Path("results") / "tune" / experiment.name
    result = run_tune(config, args.objective, levers, args.steps, reduce=args.reduce, max_ctr_loss=max_ctr_loss,
                      penalty=args.penalty, learning_rate=args.lr, relax_temperature=args.relax_temperature,
                      seeds_per_step=args.seeds_per_step, eval_seeds=args.eval_seeds, seed=args.seed, out=out,
                      progress=not args.quiet)
    print(result.summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"tuned levers: {', '.join(f'{k} = {v:.4g}' for k, v in result.levers.items())} "
          f"(worlds simulated: {', '.join(f'{n} {k}' for k, n in result.worlds.items())})")
    print(f"wrote {out / 'trajectory.parquet'}, {out / 'evaluation.parquet'} and {out / 'manifest.json'}")
    return 0


def _read_log(pattern: str):
    """The rows of every parquet / CSV / TSV file matching ``pattern`` (a path or a glob)."""
    import glob

    import pandas as pd

    paths = sorted(glob.glob(pattern)) or ([pattern] if Path(pattern).exists() else [])
    if not paths:
        raise ConfigError(f"LOG {pattern!r}: no file matches; expected a parquet or CSV file (or a glob)")
    readers = {".parquet": pd.read_parquet, ".pq": pd.read_parquet, ".csv": pd.read_csv,
               ".tsv": lambda path: pd.read_csv(path, sep="\t")}
    frames = []
    for path in paths:
        reader = readers.get(Path(path).suffix.lower())
        if reader is None:
            raise ConfigError(f"LOG {path!r}: unknown file type; expected one of {sorted(readers)}")
        try:
            frames.append(reader(path))
        except (OSError, ValueError) as err:
            raise ConfigError(f"LOG {path!r}: could not be read ({str(err).splitlines()[0]})") from None
    return pd.concat(frames, ignore_index=True), paths


def audit(args: argparse.Namespace) -> int:
    """``labkit audit``: per-period collapse metrics of a log, their trends, the alarm; tables + manifest."""
    from labkit.analysis.audit import audit as run_audit
    from labkit.analysis.audit_report import write_report

    start = time.perf_counter()
    table, paths = _read_log(args.log)
    period = None if args.period == "round" else args.period
    columns = {"user": args.user, "item": args.item, "time": args.time, "round": args.round,
               "is_synthetic": args.synthetic, "ai_influenced": args.ai_influenced, "creator": args.creator,
               "clicked": args.clicked, "weight": args.weight, "rating": args.rating}
    item_features = None
    if args.item_features:
        item_features, _ = _read_log(args.item_features)
        if args.feature not in item_features.columns or "item" not in item_features.columns:
            raise ConfigError(f"--item-features {args.item_features!r}: expected columns 'item' and "
                              f"{args.feature!r} (--feature COL), found {list(item_features.columns)}")
        item_features = item_features.rename(columns={args.feature: "feature"})
    result = run_audit(table, period=period, columns={k: v for k, v in columns.items() if v is not None},
                       n_pairs=args.n_pairs or None, duplicates=args.duplicates, seed=args.seed,
                       catalog=args.catalog, item_features=item_features)
    wall = time.perf_counter() - start
    out = Path(args.out)
    write_report(result, out, log=paths, wall_time_s=wall)
    print(f"{result.info['rows']} rows, {result.info['users']} users, {result.info['items']} items, "
          f"{result.info['periods']} periods ({result.info['first_period']} .. {result.info['last_period']}), "
          f"{result.info['duplicate_rows']} duplicate rows ({result.info['duplicates']})")
    print(result.summary)
    print(f"audited in {wall:.1f} s; wrote {out / 'report.html'} (and report.md, audit.png/.pdf, periods.parquet, "
          f"trends.parquet, manifest.json)")
    return 0


def data(args: argparse.Namespace) -> int:
    """``labkit data NAME``: fetch a public log into the data cache and print its path."""
    from labkit.datasets import ml_100k_genres_path, ml_100k_path

    print((ml_100k_genres_path if args.name == "ml-100k-genres" else ml_100k_path)(args.cache))
    return 0


def _number(value: str, flag: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{flag} {value!r}: expected a number in [0, 1] or none") from None


def bench(args: argparse.Namespace) -> int:
    """``labkit bench``: throughput, compile time, memory, vmapped grid and T-RECS side by side."""
    from labkit.sim.devices import use_host_devices

    if args.host_devices != 0:  # before anything starts jax's backend
        use_host_devices(args.host_devices)
    from labkit.bench import command

    with compilation_cache_at(False):  # a program loaded from the cache would fake its compile time
        return command(args)


def _memory_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument("--no-memory-check", action="store_true",
                         help="run worlds whose estimated memory exceeds what the device has free (by default "
                              "refused before any compute; LABKIT_MEMORY_CHECK=0 does the same)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="labkit", description="Preference-collapse lab kit.",
        epilog=f"Compiled programs are kept in ~/.cache/labkit/jax (run, sweep, tune, main); "
               f"{SWITCH_VARIABLE}=DIR picks another folder, {SWITCH_VARIABLE}=0 turns the cache off.")
    sub = top.add_subparsers(dest="command", required=True)

    p_run = sub.add_parser("run", help="simulate a config and write metrics.parquet + manifest.json")
    p_run.add_argument("config", help="YAML file: a flat mapping of levers, or a study file")
    p_run.add_argument("--out", required=True, help="output folder")
    p_run.add_argument("--seeds", type=int, default=None,
                       help="number of seeds (0..N-1); default: the file's `seeds`")
    p_run.add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    p_run.add_argument("--scale", default=None, help="named scale of a study file (tiny, default, paper)")
    p_run.add_argument("--set", action="append", default=[], metavar="LEVER=VALUE",
                       help="override a lever; repeatable (see `labkit levers`)")
    p_run.add_argument("--quiet", action="store_true", help="no progress bar")
    p_run.add_argument("--log", action="store_true",
                       help="also write log.parquet: every impression with its provenance (seed, round, user, "
                            "position, item, clicked, is_synthetic, ai_influenced, organic), for labkit audit")
    _memory_flag(p_run)
    p_run.set_defaults(func=run)

    p_sweep = sub.add_parser("sweep", help="run every point of a study's conditions and grid; resumable")
    p_sweep.add_argument("study", help="study file: experiments/<study>.yaml")
    p_sweep.add_argument("--scale", default=None, help="named scale of the study (tiny, default, paper)")
    p_sweep.add_argument("--out", default=None, help="output folder (default: results/<study>)")
    p_sweep.add_argument("--executor", choices=("local", "dask"), default="local",
                         help="local: this process; dask: tasks on a dask.distributed cluster")
    p_sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="with --executor dask: scheduler address (default: start a LocalCluster)")
    p_sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    _memory_flag(p_sweep)
    p_sweep.set_defaults(func=sweep)

    p_bench = sub.add_parser("bench", help="measure throughput, compile time and memory; compare with T-RECS")
    p_bench.add_argument("--quick", action="store_true",
                         help="small ladder, small grid, 1 repeat, T-RECS for 20 steps (a smoke run)")
    p_bench.add_argument("--sizes", nargs="+", default=None, metavar="UxIxR",
                         help="ladder of users x items x rounds (default: labkit.bench.FULL_SIZES, "
                              "1000x1000x50 up to 100000x10000x10)")
    p_bench.add_argument("--block-users", type=int, default=1024, help="users scored per block (default 1024)")
    p_bench.add_argument("--repeats", type=int, default=None, help="timed runs per measurement (median)")
    p_bench.add_argument("--grid", type=int, nargs=2, default=None, metavar=("POINTS", "SEEDS"),
                         help="lever grid vmapped vs one by one (default 64 8; 0 0 skips it)")
    p_bench.add_argument("--grid-size", default="200x500x20", metavar="UxIxR",
                         help="world of the grid benchmark (default 200x500x20)")
    p_bench.add_argument("--host-devices", type=int, default=None, metavar="N",
                         help="on CPU, split the host into N jax devices, over which the vmapped grid "
                              "is spread (default: one per core; 0: jax's default, one device)")
    p_bench.add_argument("--prng", action=argparse.BooleanOptionalAction, default=True,
                         help="time the grid's world under jax's default and labkit's unrolled threefry "
                              "lowering (default: on)")
    p_bench.add_argument("--trecs", action=argparse.BooleanOptionalAction, default=True,
                         help="run T-RECS's ContentFiltering side by side (default: on)")
    p_bench.add_argument("--trecs-python", default=None, metavar="PY",
                         help="python of a virtual environment with trecs installed (default: "
                              "$LABKIT_TRECS_PYTHON, else this one; see docs/benchmarks.md)")
    p_bench.add_argument("--trecs-steps", type=int, default=None, help="T-RECS comparison steps (default 100)")
    p_bench.add_argument("--profile", default=None, metavar="UxIxR",
                         help="also time each phase of one round at this size (log full)")
    p_bench.add_argument("--grad-size", default=None, metavar="UxIxR",
                         help="world of the relaxed loop's value-and-grad against its forward pass "
                              "(default 1000x1000x50, with --quick 100x200x9; 0 skips it)")
    p_bench.add_argument("--retrain-size", default=None, metavar="UxIxR",
                         help="also time MF's retraining, mf_training full vs minibatch, 4 seeds, at this world "
                              "and twice its rounds (the issue's world: 200x400x30; default: off)")
    p_bench.add_argument("--study", default=None, metavar="STUDY.yaml",
                         help="time to result: time each compiled program of this study, stage by stage "
                              "(default experiments/stochasticity.yaml; none skips it)")
    p_bench.add_argument("--study-scale", default=None, metavar="SCALE",
                         help="scale of --study (default: default; with --quick: tiny)")
    p_bench.add_argument("--notebooks", nargs="+", default=None, metavar="NN",
                         help="run these notebooks of the main job (number or name) cold and warm "
                              "(an empty, then a filled compilation cache) and report their wall times")
    p_bench.add_argument("--notebook-scale", default="default", choices=SCALES,
                         help="scale of --notebooks (default: default)")
    p_bench.add_argument("--out", default="results/benchmarks", help="output folder (default results/benchmarks)")
    _memory_flag(p_bench)
    p_bench.set_defaults(func=bench)

    p_tune = sub.add_parser("tune", help="fit continuous levers by gradient for a long-term objective under "
                                         "a CTR floor; judged on the exact loop")
    p_tune.add_argument("config", help="YAML file: a flat mapping of levers, or a study file (its base)")
    p_tune.add_argument("--objective", required=True, metavar="METRIC",
                        help="metric to maximize (labkit.grad.RELAXED_METRICS), e.g. consumption_entropy")
    p_tune.add_argument("--reduce", default="last", choices=("last", "mean", "late"),
                        help="over rounds: the last round (default), every round, or the last 5")
    p_tune.add_argument("--levers", required=True, metavar="a,b,c", help="continuous levers to fit, comma-separated")
    p_tune.add_argument("--steps", type=int, required=True, help="optimizer steps")
    p_tune.add_argument("--max-ctr-loss", default="0.1", metavar="X",
                        help="keep CTR >= (1 - X) x the greedy baseline's (default 0.1; none: no floor)")
    p_tune.add_argument("--penalty", type=float, default=100.0, help="weight of the squared CTR shortfall")
    p_tune.add_argument("--lr", type=float, default=0.1, help="Adam's learning rate, in the levers' "
                        "unconstrained coordinates (default 0.1)")
    p_tune.add_argument("--relax-temperature", type=float, default=0.5,
                        help="temperature of the relaxed loop the gradient is taken on (default 0.5)")
    p_tune.add_argument("--seeds-per-step", type=int, default=4, help="fresh seeds per step (default 4)")
    p_tune.add_argument("--eval-seeds", type=int, default=8,
                        help="fresh seeds of the exact loop judging the result (default 8)")
    p_tune.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p_tune.add_argument("--scale", default=None, help="named scale of a study file (tiny, default, paper)")
    p_tune.add_argument("--set", action="append", default=[], metavar="LEVER=VALUE",
                        help="override a lever; repeatable (see `labkit levers`)")
    p_tune.add_argument("--out", default=None, help="output folder (default results/tune/<name>)")
    p_tune.add_argument("--quiet", action="store_true", help="no progress bar")
    _memory_flag(p_tune)
    p_tune.set_defaults(func=tune)

    # listed for `labkit --help` only: main() hands `labkit main ...` to the notebook runner
    sub.add_parser("main", help="run the main job: every notebook, figures and write-up under results/",
                   add_help=False)

    p_audit = sub.add_parser("audit", help="collapse metrics per period of a real interaction log, their trends "
                                           "and the alarm; writes tables + manifest.json")
    p_audit.add_argument("log", help="parquet or CSV file(s) of interactions, one row each (a glob too)")
    p_audit.add_argument("--out", required=True, help="output folder")
    p_audit.add_argument("--period", default="month", choices=("day", "week", "month", "round"),
                         help="bucket the time column by calendar period, or use a round column (default month)")
    p_audit.add_argument("--time", default=None, metavar="COL",
                         help="time column: epoch seconds or timestamps (default: time, else timestamp)")
    p_audit.add_argument("--round", default=None, metavar="COL", help="with --period round: its column (default round)")
    p_audit.add_argument("--user", default=None, metavar="COL", help="user id column (default user)")
    p_audit.add_argument("--item", default=None, metavar="COL", help="item id column (default item)")
    p_audit.add_argument("--synthetic", default=None, metavar="COL",
                         help="true/false: the item was made by GenAI (default is_synthetic, when present)")
    p_audit.add_argument("--ai-influenced", default=None, metavar="COL",
                         help="true/false: the row was made or nudged by AI (default ai_influenced or agent)")
    p_audit.add_argument("--creator", default=None, metavar="COL", help="creator id column (default creator)")
    p_audit.add_argument("--catalog", default="so_far", choices=("so_far", "lifetime"),
                         help="the items a period is measured over: so_far (every item seen up to it; default) or "
                              "lifetime (items between their first and last row: use it where items retire)")
    p_audit.add_argument("--clicked", default=None, metavar="COL",
                         help="the rows are impressions and this boolean column marks the consumed ones (default "
                              "clicked or click): adds CTR, exposure entropy, synthetic exposure share, source bias")
    p_audit.add_argument("--weight", default=None, metavar="COL",
                         help="nonnegative weight of each row (watch time, say; default weight, when present): item, "
                              "creator and feature counts become sums of weights; adds weight per user (engagement)")
    p_audit.add_argument("--rating", default=None, metavar="COL",
                         help="numeric rating of each row (default rating, when present): adds mean rating")
    p_audit.add_argument("--item-features", default=None, metavar="FILE",
                         help="parquet or CSV with columns item and feature (genres, topics, clusters; a row per "
                              "item and feature): adds users' taste entropy and entropy over features")
    p_audit.add_argument("--feature", default="feature", metavar="COL",
                         help="the feature column of --item-features (default feature)")
    p_audit.add_argument("--n-pairs", type=int, default=2000,
                         help="user pairs sampled per period for homogenization (default 2000; 0: all pairs)")
    p_audit.add_argument("--duplicates", default="keep", choices=("keep", "drop", "error"),
                         help="rows with the same user, item and time (default keep: repeat interactions)")
    p_audit.add_argument("--seed", type=int, default=0, help="seed of the pair sampling (default 0)")
    p_audit.set_defaults(func=audit)

    p_data = sub.add_parser("data", help="fetch a public interaction log into the data cache; print its path")
    p_data.add_argument("name", choices=("ml-100k", "ml-100k-genres"),
                        help="ml-100k: MovieLens 100K (GroupLens terms of use); ml-100k-genres: its movies' genres")
    p_data.add_argument("--cache", default=None, metavar="DIR",
                        help="data cache (default $LABKIT_DATA, else ~/.cache/labkit/data)")
    p_data.set_defaults(func=data)

    p_levers = sub.add_parser("levers", help="list every lever: kind, default, allowed values, meaning")
    p_levers.set_defaults(func=lambda args: print(describe_levers()) or 0)
    return top


def _notebooks_main(argv: list[str]) -> int:
    from labkit.experiments import notebooks

    return notebooks.main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["main"]:  # its options are the notebook runner's own (argparse would take them)
        return _notebooks_main(argv[1:])
    args = parser().parse_args(argv)
    # in a block: main() called in-process (tests) leaves jax's settings as it found them
    cache = compilation_cache_at(None) if args.command in CACHED_COMMANDS else contextlib.nullcontext()
    try:
        with cache, unchecked(getattr(args, "no_memory_check", False)):
            return args.func(args)
    except ConfigError as err:
        print(f"labkit: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
