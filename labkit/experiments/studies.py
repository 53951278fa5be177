"""A study notebook's run: load a study at a scale and sweep it, reusing the points its siblings computed.

:func:`run_study` is the call a study notebook makes; it runs the same sweep as
``labkit sweep experiments/<study>.yaml --scale S --out DIR``, so the notebook and the
command line write the same table. Before sweeping, :func:`reuse_points` copies the
point files that a sibling study (another folder beside ``DIR``) already computed, so a
point shared by several studies is computed once.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from labkit.experiments.paths import in_repo, repo_root
from labkit.experiments.results import atomic_write
from labkit.experiments.study import Experiment, arm_families, load
from labkit.experiments.sweep import point_path, run_sweep, sweep_points


def sibling_results(out_dir: str | os.PathLike) -> list[Path]:
    """The other study folders beside ``out_dir`` that hold computed points (``points/``), sorted."""
    out_dir = Path(out_dir).resolve()
    parent = out_dir.parent
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir()
                  if p.is_dir() and p.resolve() != out_dir and (p / "points").is_dir())


def reuse_points(experiment: Experiment, out_dir: str | os.PathLike,
                 sources: Iterable[str | os.PathLike]) -> list[str]:
    """Copy into ``out_dir/points/`` the point files of ``experiment`` that a source folder holds.

    ``sources``: results folders to look in, in order. A point file is named by the hash
    of its resolved config and holds that config and its seeds, so a study sharing a
    point with another (same levers, same scale) can use the other's file instead of
    computing it again. :func:`labkit.experiments.sweep.run_sweep` then checks every file
    (config hash, seeds, rounds) and recomputes any that do not fit, so a stale copy
    costs time, never correctness. Returns the hashes copied.
    """
    wanted = list(dict.fromkeys(p.config_hash for p in sweep_points(experiment)))
    copied = []
    for config_hash in wanted:
        target = point_path(out_dir, config_hash)
        if target.exists():
            continue
        for source in sources:
            found = point_path(source, config_hash)
            if found.is_file():
                atomic_write(target, lambda tmp, found=found: shutil.copyfile(found, tmp))
                copied.append(config_hash)
                break
    return copied


@dataclass(frozen=True)
class StudyRun:
    """A study swept at one scale: the experiment, its table and where it was written.

    ``table`` is the sweep's table plus a ``family`` column
    (:func:`labkit.experiments.study.arm_families`); ``reused``: point hashes copied from
    sibling studies; ``computed``: hashes computed now; ``wall_time_s``: the run's time.
    """

    experiment: Experiment
    table: pd.DataFrame
    out: Path
    reused: tuple[str, ...]
    computed: tuple[str, ...]
    wall_time_s: float

    def describe(self) -> str:
        """Two lines: the study's size and where its points came from, then its results folder."""
        e, c = self.experiment, self.experiment.config
        n = self.table["config_hash"].nunique()
        return (f"study {e.name!r} at scale {e.scale!r}: {n} points x {len(e.seeds)} seeds x {c.rounds} rounds, "
                f"{c.n_users} users, {c.n_items} catalog slots; {len(self.computed)} points computed now, "
                f"{len(self.reused)} reused from sibling studies, {n - len(self.computed) - len(self.reused)} "
                f"already here ({self.wall_time_s:.0f} s)\nresults: {self.out}")


def run_study(experiment: str | os.PathLike, scale: str, out_dir: str | os.PathLike, reuse: bool = True,
              progress: bool = False, seeds: int | list[int] | None = None,
              levers: Mapping[str, Any] | None = None,
              conditions: Mapping[str, Mapping[str, Any]] | None = None) -> StudyRun:
    """Load ``experiment`` at ``scale`` and sweep it into ``out_dir``, first reusing the points
    sibling studies computed.

    ``experiment``, ``out_dir``: relative to the repository root unless absolute;
    ``reuse``: look for the study's points in the folders beside ``out_dir``;
    ``progress``: a progress bar over point groups; ``seeds``, ``levers``,
    ``conditions``: changes to the study file (:func:`labkit.experiments.study.load`).
    """
    root = repo_root()
    out = in_repo(out_dir, root)
    exp = load(in_repo(experiment, root), scale=scale, seeds=seeds, levers=levers, conditions=conditions)
    start = time.perf_counter()
    reused = reuse_points(exp, out, sibling_results(out)) if reuse else []
    with warnings.catch_warnings():  # tqdm's "IProgress not found" in kernels without widgets
        warnings.filterwarnings("ignore", message="IProgress not found")
        table = run_sweep(exp, out, progress=progress)
    computed = json.loads((out / "manifest.json").read_text()).get("computed_now", [])
    table["family"] = table["arm"].map(arm_families(exp))
    return StudyRun(exp, table, out, tuple(reused), tuple(computed), time.perf_counter() - start)


__all__ = ["sibling_results", "reuse_points", "StudyRun", "run_study"]
