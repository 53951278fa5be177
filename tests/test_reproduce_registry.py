"""The registry of reproductions: every paper module is listed once, has a study file, and
imports only what the papers share (never the package that gathers them)."""

import ast
from pathlib import Path

import pytest

from labkit import reproduce as R

PACKAGE = Path(R.__file__).parent
SHARED = {"__init__", "common"}


def test_every_paper_module_is_in_the_registry_once_with_its_study_file():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - SHARED
    assert {m.__name__.rsplit(".", 1)[1] for m in R.MODULES} == modules
    assert len(R.NAMES) == len(R.MODULES) == len(set(R.NAMES))
    for name in R.NAMES:
        assert (R.EXPERIMENTS / f"reproduce_{name}.yaml").is_file(), name
        assert R.load(name).name == name
        assert set(R.load(name).setup) == set(R.SETUP_DEFAULTS[name])


def test_paper_modules_import_common_but_never_the_package():
    for path in PACKAGE.glob("*.py"):
        if path.stem in SHARED:
            continue
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        assert "labkit.reproduce" not in imported, path.name
        assert "labkit.reproduce.common" in imported, path.name
        others = {f"labkit.reproduce.{other.stem}" for other in PACKAGE.glob("*.py")} - {"labkit.reproduce.common"}
        assert not imported & others, path.name  # papers do not import each other


def test_a_reproduction_file_is_read_by_the_study_loader_errors_included(tmp_path):
    import pytest

    from labkit.sim.config import ConfigError

    with pytest.raises(ConfigError, match=r"reproduce_chaney.yaml: scale = 'huge' is not defined; allowed: 'tiny'"):
        R.load("chaney", scale="huge")
    bad = tmp_path / "reproduce_generator.yaml"
    bad.write_text("study: reproduce_generator\nscales: [tiny]\n")
    with pytest.raises(ConfigError, match=r"scales must be a mapping"):
        R.load(bad)


def test_find_claim_names_the_claims_when_none_starts_so():
    verdict = {"name": "toy", "claims": [{"claim": "variance falls"}, {"claim": "tails thin"}]}
    assert R.find_claim(verdict, "tails") == {"claim": "tails thin"}
    with pytest.raises(KeyError, match="no claim of 'toy' starts with 'mean'.*variance falls"):
        R.find_claim(verdict, "mean")
