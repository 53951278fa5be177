"""Packaging consistency: pyproject.toml and environment.yml must agree.

The conda environment (environment.yml) and the pip install (pyproject.toml,
runtime dependencies + the ``test`` extra) must list the same packages, so that
``make test`` behaves the same in ``.venv`` and in an active conda env.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT = ROOT / "environment.yml"

# PyPI requirement "name[extra]" -> names it stands for on conda-forge, where
# the extra is a separate package. Extras not listed here are simply dropped.
EXTRA_PACKAGES = {
    ("dask", "distributed"): {"distributed"},
}

# conda-forge name -> PyPI name, where the two differ.
CONDA_TO_PYPI: dict[str, str] = {}

# Entries of environment.yml that are not project dependencies.
CONDA_NON_DEPS = {"python", "pip"}

_PIP_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    """PEP 503-style name: lowercase, runs of ``_``, ``.`` and ``-`` become ``-``."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def pip_requirement_names(req: str) -> set[str]:
    """Names a PEP 508 requirement stands for (version, markers dropped; known extras expanded)."""
    m = _PIP_REQ.match(req)
    if m is None:
        raise ValueError(f"cannot parse requirement {req!r}")
    name = normalize(m.group(1))
    names = {name}
    for extra in filter(None, (e.strip() for e in (m.group(2) or "").split(","))):
        names |= EXTRA_PACKAGES.get((name, normalize(extra)), set())
    return names


def conda_spec_name(spec: str) -> str:
    """Package name of a conda match spec such as ``conda-forge::numpy>=1.26`` or ``jax 0.4.*``."""
    spec = spec.split("::", 1)[-1]
    m = _CONDA_SPEC.match(spec)
    if m is None:
        raise ValueError(f"cannot parse conda spec {spec!r}")
    name = normalize(m.group(1))
    return CONDA_TO_PYPI.get(name, name)


def load_pyproject() -> dict:
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)


def load_environment() -> dict:
    with ENVIRONMENT.open() as f:
        return yaml.safe_load(f)


def pyproject_dependency_names(data: dict) -> set[str]:
    project = data["project"]
    reqs = list(project.get("dependencies", []))
    reqs += project.get("optional-dependencies", {}).get("test", [])
    names: set[str] = set()
    for req in reqs:
        names |= pip_requirement_names(req)
    return names


def environment_conda_specs(env: dict) -> list[str]:
    return [d for d in env.get("dependencies", []) if isinstance(d, str)]


def environment_pip_entries(env: dict) -> list[str]:
    entries: list[str] = []
    for d in env.get("dependencies", []):
        if isinstance(d, dict) and "pip" in d:
            entries += [str(e) for e in d["pip"] or []]
    return entries


def environment_dependency_names(env: dict) -> set[str]:
    names = {conda_spec_name(s) for s in environment_conda_specs(env)}
    return names - CONDA_NON_DEPS


# --- the normalisation itself ------------------------------------------------


@pytest.mark.parametrize(
    ("req", "expected"),
    [
        ("jax>=0.4.30", {"jax"}),
        ("PyYAML", {"pyyaml"}),
        ("typing_extensions>=4; python_version<'3.12'", {"typing-extensions"}),
        ("dask[distributed]", {"dask", "distributed"}),
        ("dask[distributed]>=2024.1", {"dask", "distributed"}),
        ("jax[cpu]", {"jax"}),
    ],
)
def test_pip_requirement_names(req, expected):
    assert pip_requirement_names(req) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("numpy>=1.26", "numpy"),
        ("python=3.11", "python"),
        ("jax 0.4.*", "jax"),
        ("conda-forge::Jupyter_Lab", "jupyter-lab"),
    ],
)
def test_conda_spec_name(spec, expected):
    assert conda_spec_name(spec) == expected


# --- the real files ----------------------------------------------------------


def test_dependency_sets_agree():
    pip_names = pyproject_dependency_names(load_pyproject())
    conda_names = environment_dependency_names(load_environment())

    missing_in_env = sorted(pip_names - conda_names)
    missing_in_pyproject = sorted(conda_names - pip_names)
    assert not (missing_in_env or missing_in_pyproject), (
        "pyproject.toml (dependencies + [test]) and environment.yml disagree:\n"
        f"  missing from environment.yml: {missing_in_env or 'none'}\n"
        f"  missing from pyproject.toml:  {missing_in_pyproject or 'none'}"
    )


def test_environment_pins_python_311():
    specs = {conda_spec_name(s): s for s in environment_conda_specs(load_environment())}
    assert "python" in specs, "environment.yml must pin python"
    assert re.fullmatch(r"python\s*=+\s*3\.11(\.\*)?", specs["python"].strip()), specs["python"]
    assert load_pyproject()["project"]["requires-python"] == ">=3.11"


def test_console_script_points_at_cli_main():
    scripts = load_pyproject()["project"].get("scripts", {})
    assert scripts.get("labkit") == "labkit.cli:main", scripts


def test_environment_installs_package_editable():
    env = load_environment()
    assert env.get("name") == "labkit"
    assert "conda-forge" in env.get("channels", [])
    entries = [e.split() for e in environment_pip_entries(env)]
    assert ["-e", "."] in entries, (
        f"environment.yml must install the package with pip '-e .'; pip entries: {environment_pip_entries(env)}"
    )
    # pip must itself be a conda dependency for the pip: section to be honoured
    assert "pip" in {conda_spec_name(s) for s in environment_conda_specs(env)}
