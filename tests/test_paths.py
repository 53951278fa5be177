"""labkit.experiments.paths: the repository root is found from any folder inside it."""

from pathlib import Path

import pytest

from labkit.experiments.paths import in_repo, repo_root

ROOT = Path(__file__).resolve().parent.parent


def test_repo_root_is_found_from_a_subfolder_and_in_repo_uses_it(monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")
    assert repo_root() == ROOT
    assert in_repo("results/x") == ROOT / "results" / "x"
    assert in_repo("/abs/x") == Path("/abs/x")
    assert in_repo("x", root="/elsewhere") == Path("/elsewhere/x")


def test_repo_root_outside_a_repository_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="pyproject.toml"):
        repo_root(tmp_path)
