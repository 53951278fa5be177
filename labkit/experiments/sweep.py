"""Sweeps: every point of a study computed once, addressed by its config hash, resumable.

A study's points (:func:`sweep_points`) are its arms expanded: static levers crossed in
a Python loop (each combination is its own compiled program), param levers crossed on
top. :func:`run_sweep` computes whatever is missing and writes, under ``out_dir``::

    points/<config_hash>.parquet   one file per point: rows = seeds x rounds, written
                                   atomically as soon as the point is computed
    metrics.parquet                the tidy table, one row per (arm, point, seed, round)
    manifest.json                  study, scale, seeds, grid, the named conditions'
                                   configs, every point's resolved config by hash,
                                   versions, commit, wall time, executor

The table and manifest are written only when every point exists. A point file already
present and valid is read, never recomputed; a corrupt or partial one (unreadable,
truncated, wrong row count, wrong seeds or rounds, a config hash inside that is not its
name) is reported with a :class:`PointFileWarning` and recomputed. So an interrupted
sweep resumes where it stopped, and a finished one reruns in seconds.

**Unit of computation: one point per compiled call, its seeds vmapped.** XLA on CPU
does *not* give bit-identical metrics for a point computed inside a ``jax.vmap``-ed batch
of points and the same point computed alone or in another batch: batching changes the
kernels XLA emits (a vmapped matrix-vector product becomes a matrix-matrix product,
reductions are fused differently), so float32 results differ in the last bits (seen
here, jax 0.10.2 CPU: a point run by ``simulate_grid`` in a batch of 1 or 2 points
differs from ``simulate_seeds`` on that point in 4-6 of the 21 metrics, by about 1e-6;
likewise one seed alone differs from that seed inside a batch of seeds). If points were
batched, a point's numbers would depend on which other points shared its batch, so a
resumed sweep (which computes only the missing points) or a grid with one more value
would not reproduce an uninterrupted run. Therefore each point is one call of
:func:`labkit.simulate_seeds` (seeds vmapped), and a point's numbers are a function of
its resolved config and the study's seed list only, whatever else the sweep holds.

*Cost.* Compilation is unchanged: params are traced arguments, so all points of one
static combination share a single compiled program (one compile per static combination
per process, as with ``simulate_grid``). The policy, a static lever, is not a combination
of its own here: every point runs the program that holds all policies as runtime branches
(``simulate_seeds(..., policy_branches=True)``, a ``lax.switch`` on a traced index), whose
numbers are the plain program's bit for bit and whose compile costs about one policy's, so
points that differ only in their policy share one compile, across studies too. What is lost is vectorization across points:
points run one after another instead of side by side. On a CPU, where one point with
a few seeds already fills the cores, this costs little; on an accelerator with small
worlds, use more seeds per point, or fan points out over Dask workers. Changing the
seed list changes every point (its files are recomputed, since their seeds no longer
match), and numbers are reproducible for a given jax/jaxlib version, backend, host CPU
and ``XLA_FLAGS`` (each point file records them). The in-scan progress callback of
:func:`labkit.sim.loop.progress_bar` is never used here: it would change the compiled
program, and with it the numbers, depending on ``--quiet``.

**Executors.** ``local`` computes the point groups in this process. ``dask`` submits each
point group as a task to a dask.distributed cluster (a ``LocalCluster`` on this machine
when ``scheduler`` is None, else the scheduler at that address); each task computes its
points and writes their files itself, so ``out_dir`` must be on a filesystem that the
workers and this driver share. The driver then checks and reads the point files and
assembles the same table as the local executor. A point group is the points of one
compiled program, so a worker compiles once per group.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from labkit.sim.config import Config, ConfigError
from labkit.experiments import Experiment, load
from labkit.sim.loop import METRIC_NAMES
from labkit.experiments.results import metrics_frame, provenance, write_json, write_table

EXECUTORS = ("local", "dask")
PROVENANCE_COLUMNS = ("labkit_version", "jax_version", "git_commit")
POINT_META = "labkit_point"  # key of the point's metadata in the parquet file's attrs


class PointFileWarning(UserWarning):
    """A point file was found corrupt or partial; it is recomputed."""


class InvalidPoint(ValueError):
    """A point file cannot be used; the message says why."""


@dataclass(frozen=True)
class Point:
    """One point of a sweep.

    ``arm``: the label of the arm it belongs to; ``config``: its resolved config;
    ``config_hash``: ``config.hash()``, the name of its file; ``levers``: the lever
    values its arm sets (the values it varies), in the file's order.
    """

    arm: str
    config: Config
    config_hash: str
    levers: Mapping[str, Any]


def sweep_points(experiment: Experiment | str | os.PathLike) -> list[Point]:
    """Every point of the study, arm by arm, static combinations outermost.

    Two arms may reach the same resolved config: both points are listed (each with its
    arm) and share one file.
    """
    experiment = _experiment(experiment)
    return [Point(arm=label, config=config, config_hash=config.hash(), levers=dict(levers))
            for label, levers, config in experiment.points()]


def point_path(out_dir: str | os.PathLike, config_hash: str) -> Path:
    """Where the point with this config hash is stored."""
    return Path(out_dir) / "points" / f"{config_hash}.parquet"


def point_groups(points: Iterable[Point]) -> list[list[Point]]:
    """Distinct points (by hash), grouped by compiled program in order of first appearance:
    by static combination apart from the policy, which every point's program holds as a
    runtime branch (:func:`labkit.sim.loop.branched`)."""
    from labkit.sim.loop import branched_static

    groups: dict[Any, dict[str, Point]] = {}
    for point in points:
        groups.setdefault(branched_static(point.config.static), {}).setdefault(point.config_hash, point)
    return [list(group.values()) for group in groups.values()]


def environment() -> dict[str, str]:
    """What produces a point's numbers here and now: versions, commit, backend, XLA flags, host."""
    import jaxlib

    return {**provenance(), "jaxlib_version": jaxlib.__version__,
            "xla_flags": os.environ.get("XLA_FLAGS", ""), "host": platform.node()}


def compute_point(config: Config, seeds: Sequence[int], env: Mapping[str, str] | None = None
                  ) -> pd.DataFrame:
    """One point: a single compiled call with the seeds vmapped (see the module docstring).

    Returns its table (``config_hash``, ``seed``, ``round`` and every metric; rows =
    seeds x rounds) with the point's metadata (config, seeds, ``env`` or
    :func:`environment`, wall time) in ``frame.attrs``. Every table of simulated
    metrics in labkit (a sweep's points, ``labkit run``) is made here, so the same
    config and seeds give the same numbers whichever command asked.
    """
    return simulated_point(config, seeds, env)[0]


def simulated_point(config: Config, seeds: Sequence[int], env: Mapping[str, str] | None = None):
    """:func:`compute_point`'s table and the simulation's final state (seeds on the leading
    axis), e.g. for its log (:func:`labkit.analysis.logs.log_table`)."""
    import jax

    from labkit.sim.loop import simulate_seeds

    start = time.perf_counter()
    state, metrics = simulate_seeds(config, list(seeds), progress=False, policy_branches=True)
    metrics = jax.device_get(metrics)
    frame = metrics_frame(metrics, seeds, config_hash=config.hash())
    frame.attrs[POINT_META] = json.dumps({
        "config_hash": config.hash(), "config": config.to_dict(), "seeds": [int(s) for s in seeds],
        "wall_time_s": round(time.perf_counter() - start, 3), **(env or environment())}, sort_keys=True)
    return frame, state


def compute_group(configs: Sequence[Config], seeds: Sequence[int], out_dir: str) -> list[str]:
    """Compute and atomically write each point of a group; the task a Dask worker runs.

    Each point is written as soon as it is done, so an interruption loses at most the
    point being computed. Returns the hashes written.
    """
    written, env = [], environment()
    for config in configs:
        write_table(compute_point(config, seeds, env), point_path(out_dir, config.hash()))
        written.append(config.hash())
    return written


def read_point(path: str | os.PathLike, config: Config, seeds: Sequence[int]) -> pd.DataFrame:
    """Read a point file and check it is the whole of this point; raise :class:`InvalidPoint` if not."""
    path = Path(path)
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # truncated or not parquet at all: pyarrow raises many kinds
        raise InvalidPoint(f"unreadable ({type(err).__name__}: {err})") from None
    expected = config.hash()
    missing = [c for c in ("config_hash", "seed", "round", *METRIC_NAMES) if c not in frame.columns]
    if missing:
        raise InvalidPoint(f"missing columns {missing}")
    try:
        meta = json.loads(frame.attrs[POINT_META])
        inside = Config.from_dict(meta["config"]).hash()
    except (KeyError, TypeError, ValueError):  # ConfigError is a ValueError
        raise InvalidPoint("no readable labkit point metadata") from None
    if meta.get("config_hash") != expected or inside != expected:
        raise InvalidPoint(f"it holds config {meta.get('config_hash')!r}, not {expected!r}")
    hashes = frame["config_hash"].unique().tolist()
    if hashes != [expected]:
        raise InvalidPoint(f"its config_hash column holds {hashes[:3]}, not {expected!r}")
    rounds = config.rounds
    if len(frame) != len(seeds) * rounds:
        raise InvalidPoint(f"{len(frame)} rows, expected {len(seeds)} seeds x {rounds} rounds = "
                           f"{len(seeds) * rounds}")
    want_seed = np.repeat(np.asarray(seeds, dtype=np.int64), rounds)
    want_round = np.tile(np.arange(rounds, dtype=np.int64), len(seeds))
    if (meta.get("seeds") != [int(s) for s in seeds] or not np.array_equal(frame["seed"], want_seed)
            or not np.array_equal(frame["round"], want_round)):
        raise InvalidPoint(f"its seeds {sorted(set(frame['seed'].tolist()))} x rounds are not the "
                           f"sweep's seeds {list(seeds)} x {rounds} rounds")
    bad = [m for m in METRIC_NAMES if frame[m].dtype != "float64"]
    if bad:
        raise InvalidPoint(f"metric columns {bad} are not float64")
    frame.attrs[POINT_META] = meta
    return frame


def check_points(points: Iterable[Point], seeds: Sequence[int], out_dir: str | os.PathLike
                 ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Split the distinct points into those with a valid file (hash -> table) and the
    rest (hash -> why: ``missing`` or what is wrong with the file)."""
    valid, todo = {}, {}
    for point in points:
        if point.config_hash in valid or point.config_hash in todo:
            continue
        path = point_path(out_dir, point.config_hash)
        if not path.exists():
            todo[point.config_hash] = "missing"
            continue
        try:
            valid[point.config_hash] = read_point(path, point.config, seeds)
        except InvalidPoint as err:
            todo[point.config_hash] = str(err)
    return valid, todo


def metrics_table(experiment: Experiment, points: Sequence[Point], frames: Mapping[str, pd.DataFrame]
                  ) -> pd.DataFrame:
    """The tidy table: one row per (point, seed, round), in sweep order.

    Columns: ``study``, ``arm``, ``condition`` (only in a study with named conditions:
    the condition a point is, empty for a grid point), ``config_hash``, each lever any
    arm varies (its resolved value for the point), ``seed``, ``round``, every metric,
    then the versions and commit recorded in the point file that produced the row.
    """
    varied = list(dict.fromkeys(name for point in points for name in point.levers))
    parts = []
    for point in points:
        frame = frames[point.config_hash]
        meta = frame.attrs[POINT_META]
        part = frame[["seed", "round", *METRIC_NAMES]].copy()
        part.attrs = {}
        named = ({"condition": point.arm if point.arm in experiment.conditions else None}
                 if experiment.conditions else {})
        head = {"study": experiment.name, "arm": point.arm, **named, "config_hash": point.config_hash,
                **{name: getattr(point.config, name) for name in varied}}
        for i, (column, value) in enumerate(head.items()):
            part.insert(i, column, value)
        for column in PROVENANCE_COLUMNS:
            part[column] = meta.get(column, "unknown")
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def run_sweep(experiment: Experiment | str | os.PathLike, out_dir: str | os.PathLike,
              executor: str = "local", scheduler: str | None = None, progress: bool = True
              ) -> pd.DataFrame:
    """Compute every missing point of ``experiment`` and write the table and manifest.

    ``experiment``: a loaded study (:func:`labkit.experiments.load`, at its scale), or a
    path to one (default scale). ``out_dir``: the results folder (``points/``,
    ``metrics.parquet``, ``manifest.json``). ``executor``: ``local`` or ``dask``;
    ``scheduler``: with ``dask``, the address of a running scheduler (None starts a
    ``LocalCluster``). ``progress``: a tqdm bar over point groups.

    Returns the table written to ``out_dir/metrics.parquet``.
    """
    experiment = _experiment(experiment)
    if executor not in EXECUTORS:
        raise ConfigError(f"executor = {executor!r}; allowed: one of {', '.join(map(repr, EXECUTORS))}")
    if scheduler is not None and executor != "dask":
        raise ConfigError(f"scheduler = {scheduler!r} is given but executor = {executor!r}; "
                          f"a scheduler address needs executor 'dask'")
    out_dir = Path(out_dir)
    seeds = tuple(int(s) for s in experiment.seeds)
    points = sweep_points(experiment)
    start = time.perf_counter()

    valid, todo = check_points(points, seeds, out_dir)
    invalid = {h: why for h, why in todo.items() if why != "missing"}
    for config_hash, why in invalid.items():
        warnings.warn(f"{point_path(out_dir, config_hash)}: {why}; recomputing it", PointFileWarning,
                      stacklevel=2)
    groups = [[p for p in group if p.config_hash in todo] for group in point_groups(points)]
    groups = [group for group in groups if group]

    if groups and executor == "local":  # every point before any is computed (a Dask worker checks its own)
        from labkit.sim.loop import check_memory

        for group in groups:
            check_memory(group[0].config.static, seeds=len(seeds), policy_branches=True)
    if groups:
        run_groups = _run_local if executor == "local" else functools.partial(_run_dask, scheduler=scheduler)
        run_groups(groups, seeds, out_dir, progress, desc=f"{experiment.name}: point groups")

    valid, still = check_points(points, seeds, out_dir)
    if still:
        raise RuntimeError(f"{len(still)} point(s) missing or invalid after computing them, e.g. "
                           f"{point_path(out_dir, next(iter(still)))}: {next(iter(still.values()))}. "
                           f"With a cluster, out_dir must be a filesystem shared by workers and driver.")
    table = metrics_table(experiment, points, valid)
    write_table(table, out_dir / "metrics.parquet")
    write_json(_manifest(experiment, points, valid, executor, scheduler, time.perf_counter() - start,
                         computed=[p.config_hash for group in groups for p in group], invalid=invalid),
               out_dir / "manifest.json")
    return table


def _experiment(experiment: Experiment | str | os.PathLike) -> Experiment:
    return experiment if isinstance(experiment, Experiment) else load(experiment)


def _run_local(groups: list[list[Point]], seeds, out_dir: Path, progress: bool, desc: str) -> None:
    from tqdm.auto import tqdm

    for group in tqdm(groups, desc=desc, unit="group", disable=not progress):
        compute_group([p.config for p in group], seeds, str(out_dir))


def _run_dask(groups: list[list[Point]], seeds, out_dir: Path, progress: bool, desc: str,
              scheduler: str | None) -> None:
    from distributed import Client, LocalCluster, as_completed
    from tqdm.auto import tqdm

    cluster = None
    if scheduler is None:
        # One thread per worker: XLA already uses every core of a worker's process.
        dashboard = ":8787" if importlib.util.find_spec("bokeh") else None
        cluster = LocalCluster(threads_per_worker=1, dashboard_address=dashboard)
    client = Client(cluster if cluster is not None else scheduler)
    try:
        futures = [client.submit(compute_group, [p.config for p in group], seeds, str(out_dir),
                                 key=f"labkit-points-{group[0].config_hash}-{len(group)}", pure=False)
                   for group in groups]
        with tqdm(total=len(futures), desc=desc, unit="group", disable=not progress) as bar:
            for future in as_completed(futures):
                try:
                    future.result()
                except BaseException:
                    client.cancel(futures)
                    raise
                bar.update(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _manifest(experiment: Experiment, points: Sequence[Point], frames: Mapping[str, pd.DataFrame],
              executor: str, scheduler: str | None, wall_time_s: float, computed: list[str],
              invalid: Mapping[str, str]) -> dict[str, Any]:
    by_hash: dict[str, dict[str, Any]] = {}
    for point in points:
        entry = by_hash.setdefault(point.config_hash, {
            "arms": [], "levers": dict(point.levers), "config": point.config.to_dict(),
            "environment": {k: v for k, v in frames[point.config_hash].attrs[POINT_META].items()
                            if k not in ("config", "config_hash", "seeds")}})
        entry["arms"].append(point.arm)
    environments = {json.dumps({k: v for k, v in e["environment"].items() if k not in ("wall_time_s", "host")},
                               sort_keys=True) for e in by_hash.values()}
    return {
        "study": experiment.name,
        "description": experiment.description,
        "source": experiment.source,
        "scale": experiment.scale,
        "seeds": list(experiment.seeds),
        "grid": experiment.grid,
        "conditions": {name: config.to_dict() for name, config in experiment.conditions.items()},
        "arms": [{"where": arm.where, **arm.as_dict()} for arm in experiment.arms],
        "points": by_hash,
        "n_points": len(by_hash),
        "computed_now": computed,
        "recomputed_invalid": dict(invalid),
        "mixed_environments": len(environments) > 1,
        "executor": executor,
        "scheduler": scheduler,
        "wall_time_s": round(wall_time_s, 3),
        **environment(),
    }
