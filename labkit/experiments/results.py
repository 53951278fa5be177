"""Result tables and manifests: tidy, atomic, and labelled with what produced them.

Tables are parquet (one row per seed and round, one column per metric), manifests are
JSON. Both are written to a temporary file in the same folder and renamed into place,
so a reader never sees half a file and an interrupted run loses nothing already written.
Nothing here pickles: opening a result never runs code.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from labkit.sim.config import Config
from labkit.sim.loop import METRIC_NAMES


def metrics_frame(metrics: Mapping[str, Any], seeds: Sequence[int], **labels: Any) -> pd.DataFrame:
    """A tidy table from ``simulate_seeds`` output: one row per (seed, round).

    ``metrics`` maps each metric name to an array of shape ``[seeds, rounds]``; extra
    keyword ``labels`` become constant columns (for example the condition's name).
    """
    first = np.asarray(metrics[METRIC_NAMES[0]])
    if first.ndim != 2 or first.shape[0] != len(seeds):
        raise ValueError(f"metrics must have shape [seeds, rounds] with {len(seeds)} seeds; "
                         f"got {first.shape} for {METRIC_NAMES[0]!r}")
    n_seeds, n_rounds = first.shape
    frame = pd.DataFrame({
        "seed": np.repeat(np.asarray(seeds, dtype=np.int64), n_rounds),
        "round": np.tile(np.arange(n_rounds, dtype=np.int64), n_seeds),
    })
    for name in METRIC_NAMES:
        frame[name] = np.asarray(metrics[name], dtype=np.float64).reshape(-1)
    for key, value in labels.items():
        frame.insert(0, key, value)
    return frame


def git_commit(path: str | os.PathLike = ".") -> str:
    """The commit of the repository holding ``path`` (``unknown`` outside git), marked dirty if edited."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=path,
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def provenance() -> dict[str, str]:
    """Versions and commit: what every result carries so it can be reproduced."""
    import jax

    import labkit

    return {
        "labkit_version": labkit.__version__,
        "jax_version": jax.__version__,
        "jax_backend": jax.default_backend(),
        "git_commit": git_commit(Path(__file__).resolve().parent),
    }


def manifest(config: Config, seeds: Sequence[int], wall_time_s: float, **extra: Any) -> dict[str, Any]:
    """The manifest of one run: resolved config, its hash, seeds, versions, commit, wall time."""
    return {
        "config": config.to_dict(),
        "config_hash": config.hash(),
        "seeds": [int(s) for s in seeds],
        "wall_time_s": round(float(wall_time_s), 3),
        **provenance(),
        **extra,
    }


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a parquet table atomically (temporary file, then rename)."""
    return atomic_write(Path(path), lambda tmp: frame.to_parquet(tmp, index=False))


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a CSV table (no index) atomically (temporary file, then rename)."""
    return atomic_write(Path(path), lambda tmp: frame.to_csv(tmp, index=False))


def write_json(obj: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write JSON atomically (temporary file, then rename)."""
    def write(tmp: str) -> None:
        with open(tmp, "w") as handle:
            json.dump(obj, handle, indent=2, sort_keys=True)
            handle.write("\n")
    return atomic_write(Path(path), write)
