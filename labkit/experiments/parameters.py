"""Validation of notebook parameters: the values papermill injects into a ``parameters`` cell.

A notebook's first code cell calls :func:`check` on its parameters, so a wrong value
(``-p late_rounds ten``, ``-p scale huge``, ``-p synthetic_share 1.5``) stops the run
before any compute with one :class:`~labkit.sim.config.ConfigError` naming the notebook, the
parameter, the value and what is allowed; under papermill (and ``labkit main``)
that error is reported with the failing cell. Names that are levers (``synthetic_share``,
``drift``...) are checked by the lever registry, so they accept what a config accepts.
Before a notebook starts, :func:`check_names` refuses a parameter the notebook does not
declare (papermill itself would only warn and inject it).
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from labkit.experiments.paths import in_repo, repo_root
from labkit.sim.config import LEVERS, ConfigError


def _int_at_least(low: int, optional: bool = False) -> tuple[Callable[[Any], bool], str]:
    def ok(value):
        if value is None:
            return optional
        return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low
    return ok, f"an integer >= {low}" + (" or None" if optional else "")


def _text(optional: bool = False) -> tuple[Callable[[Any], bool], str]:
    def ok(value):
        return (value is None and optional) or (isinstance(value, str) and value.strip() != "")
    return ok, "a non-empty string (a path)" + (" or None" if optional else "")


def _share() -> tuple[Callable[[Any], bool], str]:
    def ok(value):
        return isinstance(value, numbers.Real) and not isinstance(value, bool) and 0.0 <= value <= 1.0
    return ok, "a number in [0, 1]"


def _positive() -> tuple[Callable[[Any], bool], str]:
    def ok(value):
        return isinstance(value, numbers.Real) and not isinstance(value, bool) and 0.0 < value < float("inf")
    return ok, "a finite number > 0"


#: Rules for the parameters the notebooks declare: name -> (test, allowed values in words).
#: ``scale``, ``experiment`` and ``only`` have cross-checks in :func:`check`.
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "scale": _text(),
    "out_dir": _text(),
    "experiment": _text(),
    "writeup_dir": _text(optional=True),
    "late_rounds": _int_at_least(1),
    "seeds": _int_at_least(1, optional=True),
    "rounds": _int_at_least(1, optional=True),
    "tradeoffs_dir": _text(optional=True),
    "steps": _int_at_least(1),
    "seeds_per_step": _int_at_least(1),
    "max_ctr_loss": _share(),
    "tune_lr": _positive(),
    "relax_temperature": _positive(),
    "catalog": ((lambda value: value in ("lifetime", "so_far")), "one of 'lifetime', 'so_far'"),
    "movielens": ((lambda value: isinstance(value, bool)), "True or False"),
}


def _refuse(notebook: str, name: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"notebook {notebook}: parameter {name} = {value!r} is refused; allowed: {allowed}")


def _scales_of(path: Path) -> list[str]:
    from labkit.experiments import read_yaml

    scales = read_yaml(path).get("scales") or {}
    return list(scales) if isinstance(scales, Mapping) else []


def check(notebook: str, root: str | Path | None = None, only_choices: Iterable[str] | None = None,
          **values: Any) -> dict[str, Any]:
    """Check a notebook's parameters; return them unchanged (levers coerced to their type).

    ``notebook``: its name, for the message. ``root``: the folder relative paths resolve
    against (default: the repository root). ``only_choices``: the names a list parameter
    ``only`` may hold. Every keyword is a parameter: a lever name is validated by
    :data:`labkit.sim.config.LEVERS`, any other by :data:`RULES`; ``experiment`` must name an
    existing file and ``scale`` one of its scales. Raises :class:`ConfigError`.
    """
    base = Path(root) if root is not None else repo_root()
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name in LEVERS and not (value is None and name in RULES):
            checked[name] = LEVERS[name].validate(value, where=f"notebook {notebook}, parameter")
            continue
        if name == "only":
            choices = list(only_choices or ())
            allowed = f"None or a list drawn from {choices}"
            if value is not None and (isinstance(value, str) or not isinstance(value, Iterable)
                                      or not list(value) or any(v not in choices for v in value)):
                raise _refuse(notebook, name, value, allowed)
            checked[name] = value
            continue
        if name not in RULES:
            raise ConfigError(f"notebook {notebook}: parameter {name} has no validation rule; "
                              f"known: {', '.join(sorted({*RULES, 'only', *LEVERS}))}")
        ok, allowed = RULES[name]
        if not ok(value):
            raise _refuse(notebook, name, value, allowed)
        checked[name] = value
    if "experiment" in checked:
        path = in_repo(checked["experiment"], base)
        if not path.is_file():
            raise _refuse(notebook, "experiment", checked["experiment"],
                          f"an experiment file that exists (looked for {path})")
        if "scale" in checked:
            scales = _scales_of(path)
            if checked["scale"] not in scales:
                raise _refuse(notebook, "scale", checked["scale"], f"a scale of {path.name}: {', '.join(scales)}")
    return checked


def declared(notebook: str | Path) -> dict[str, Any]:
    """The parameters a notebook declares in its ``parameters`` cell, with their defaults
    (as papermill reads them)."""
    import ast

    import papermill

    return {name: ast.literal_eval(spec["default"])
            for name, spec in papermill.inspect_notebook(str(notebook)).items()}


def check_names(notebook: str | Path, parameters: Iterable[str]) -> None:
    """Refuse, before the notebook runs, a parameter it does not declare."""
    names = declared(notebook)
    unknown = [p for p in parameters if p not in names]
    if unknown:
        raise ConfigError(f"notebook {Path(notebook).stem}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                          f"allowed: {', '.join(names)}")
