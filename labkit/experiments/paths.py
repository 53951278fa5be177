"""Paths relative to the repository root, so a notebook run from any folder finds the same files."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working folder) holding pyproject.toml.

    ``start``: where to begin looking. Raises FileNotFoundError outside a repository.
    """
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    raise FileNotFoundError(f"no pyproject.toml at or above {start}; run from inside the repository")


def in_repo(path: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """``path`` itself if absolute, else relative to the repository root (not the working folder).

    ``root``: the repository root (default: :func:`repo_root`).
    """
    path = Path(path)
    return path if path.is_absolute() else Path(root or repo_root()) / path


__all__ = ["in_repo", "repo_root"]
