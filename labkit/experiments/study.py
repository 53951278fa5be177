"""Experiments are data: ``experiments/<study>.yaml`` read with a safe YAML loader.

A file is either a flat mapping of levers (a config written by hand), or a study::

    study: collapse
    description: one line on the question
    base: {recommender: mf, ...}            # levers shared by every run
    conditions:                              # named lever settings compared in the study
      ai_and_drift: {synthetic_share: 0.5, drift: 0.1}
      neither: {synthetic_share: 0.0, drift: 0.0}
    grid:                                    # arms swept by `labkit sweep` (optional)
      - label: explore                       # optional; the name in figures and tables
        policy: [softmax, epsilon_greedy]    # static levers: crossed in a Python loop
        epsilon: [0.05, 0.2]                 # param levers: crossed; one compiled program
      - {policy: greedy, novelty_weight: [0.0, 1.0]}
    seeds: 5
    scales:                                  # sizes; `default` is used when none is asked
      tiny: {n_users: 30, rounds: 6, seeds: 2}
      default: {}

Every lever value is validated by :class:`labkit.sim.config.Config`; the study keys here are
validated by :func:`load`, with errors naming the file and the key.

**Arms.** ``grid`` is one arm (a mapping) or a list of arms. An arm maps levers to one
value or to a list of values; the arm's points are the Cartesian product of its lists,
applied on top of ``base`` and the scale. An arm may carry a ``label`` (a string);
otherwise its label is derived from the static levers it sets (``policy=softmax``), or
from its position (``grid[1]``) when it sets none. An arm with a label and several
static combinations gets one label per combination (``explore [policy=softmax]``). Each
named condition is also an arm (its label is its name, every lever a single value), so
``labkit sweep`` on a study with conditions and no grid runs the conditions. Every arm,
every value and every resolved point is validated by :func:`load` before anything runs.

**Arm labels.** Figures and tables group points by the family of their arm
(:func:`arm_families`), sweep each family along the levers it varies
(:func:`varied_levers`) and name a setting by its arm and lever values
(:func:`setting_label`).
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from labkit.sim.config import LEVERS, Config, ConfigError

STUDY_KEYS = ("study", "description", "base", "conditions", "grid", "seeds", "scales")


@dataclass(frozen=True)
class Experiment:
    """A study resolved at one scale: the base config, its named conditions and seeds."""

    name: str
    config: Config
    seeds: tuple[int, ...]
    scale: str | None
    description: str = ""
    conditions: Mapping[str, Config] = field(default_factory=dict)
    grid: Any = field(default_factory=dict)  # the validated `grid` as written (mapping or list)
    arms: tuple["Arm", ...] = ()  # the conditions, then the grid's arms
    source: str | None = None  # the file it was read from

    def points(self) -> list[tuple[str, dict[str, Any], Config]]:
        """Every (arm label, levers the arm sets, resolved config) of the study, in order.

        A study with neither conditions nor a grid has one point: its base config,
        labelled ``base``.
        """
        if not self.arms:
            return [("base", {}, self.config)]
        base = self.config.to_dict()
        return [(label, levers, Config.from_dict({**base, **levers}, where=f"{arm.where} point {levers}"))
                for arm in self.arms for label, levers in arm.points()]


@dataclass(frozen=True)
class Arm:
    """One arm of a study's grid: each lever it sets maps to the values it takes.

    ``levers`` keeps the file's order; a lever given as a single value has one value.
    ``where`` names the arm in error messages (``experiments/x.yaml: grid[1]``).
    """

    levers: tuple[tuple[str, tuple[Any, ...]], ...]
    where: str
    label: str | None = None
    fallback: str = "grid"  # the label when none is given and no static lever is set

    def points(self) -> list[tuple[str, dict[str, Any]]]:
        """The arm's points as (label, lever values): static combinations outermost,
        so the points of one compiled program are consecutive."""
        static = [(n, v) for n, v in self.levers if LEVERS[n].kind == "static"]
        param = [(n, v) for n, v in self.levers if LEVERS[n].kind == "param"]
        combos = list(itertools.product(*(v for _, v in static)))
        out = []
        for combo in combos:
            derived = ", ".join(f"{n}={value}" for (n, _), value in zip(static, combo))
            if self.label is None:
                label = derived or self.fallback
            else:
                label = self.label if len(combos) == 1 else f"{self.label} [{derived}]"
            fixed = dict(zip((n for n, _ in static), combo))
            for values in itertools.product(*(v for _, v in param)):
                point = {**fixed, **dict(zip((n for n, _ in param), values))}
                out.append((label, {n: point[n] for n, _ in self.levers}))
        return out

    def as_dict(self) -> dict[str, Any]:
        """The arm as a JSON-able mapping (lists where the file gave lists)."""
        out: dict[str, Any] = {} if self.label is None else {"label": self.label}
        out.update({n: list(v) for n, v in self.levers})
        return out


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping with the safe loader (no Python objects are ever built)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such experiment file")
    with open(path) as handle:
        try:
            loaded = yaml.safe_load(handle)
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level, "
                          f"got {type(loaded).__name__}")
    return loaded


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, bool) or not isinstance(value, (int, list)):
        raise ConfigError(f"{where}: seeds = {value!r}; allowed: a count >= 1 or a list of integers >= 0")
    if isinstance(value, int):
        if value < 1:
            raise ConfigError(f"{where}: seeds = {value!r}; allowed: a count >= 1")
        return tuple(range(value))
    if not value or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value):
        raise ConfigError(f"{where}: seeds = {value!r}; allowed: a non-empty list of integers >= 0")
    return tuple(value)


def _mapping(value: Any, where: str, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a mapping, got {type(value).__name__} {value!r}")
    return dict(value)


def scale_of(raw: Mapping[str, Any], scale: str | None, where: str) -> tuple[str | None, dict[str, Any]]:
    """The scale a study file resolves at, and what that scale sets.

    ``scale`` None means ``default`` when the file's ``scales`` has one, else no scale.
    A scale the file does not define is refused, naming the ones it does.
    """
    scales = _mapping(raw.get("scales"), where, "scales")
    scale = scale if scale is not None else ("default" if "default" in scales else None)
    if scale is None:
        return None, {}
    if scale not in scales:
        raise ConfigError(f"{where}: scale = {scale!r} is not defined; allowed: "
                          f"{', '.join(map(repr, scales)) or 'none (the file has no scales)'}")
    return scale, _mapping(scales[scale], where, f"scales.{scale}")


def resolve(raw: Mapping[str, Any], scale: str | None = None, where: str = "experiment",
            name: str = "run") -> Experiment:
    """Resolve a parsed experiment (flat or study form) at ``scale``."""
    if "base" not in raw:  # a flat config written by hand
        if scale is not None:
            raise ConfigError(f"{where}: --scale {scale!r} given but the file has no `scales`")
        raw = dict(raw)
        seeds = _seeds(raw.pop("seeds", 1), where)
        return Experiment(name=name, config=Config.from_dict(raw, where=where), seeds=seeds, scale=None)

    unknown = sorted(set(raw) - set(STUDY_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed top-level keys: "
                          f"{', '.join(STUDY_KEYS)}")
    base = _mapping(raw["base"], where, "base")
    scale, sized = scale_of(raw, scale, where)
    seeds = _seeds(sized.pop("seeds", raw.get("seeds", 1)), where)
    config = Config.from_dict({**base, **sized}, where=f"{where} (base + scale {scale})")
    conditions = {}
    for cname, levers in _mapping(raw.get("conditions"), where, "conditions").items():
        conditions[cname] = Config.from_dict({**base, **sized, **_mapping(levers, where, f"conditions.{cname}")},
                                             where=f"{where}: conditions.{cname}")
    arms = [Arm(tuple((k, (LEVERS[k].validate(v),)) for k, v in (levers or {}).items()),
                where=f"{where}: conditions.{cname}", label=str(cname))
            for cname, levers in _mapping(raw.get("conditions"), where, "conditions").items()]
    arms += _grid_arms(raw.get("grid"), where)
    _check_labels(arms)
    experiment = Experiment(name=str(raw.get("study", name)), config=config, seeds=seeds, scale=scale,
                            description=str(raw.get("description", "")), conditions=conditions,
                            grid=raw.get("grid") or {}, arms=tuple(arms))
    experiment.points()  # validate every resolved point (sizes that clash) before any compute
    return experiment


GRID_FORM = ("a mapping of levers to a value or a non-empty list of values (one arm), "
             "or a non-empty list of such mappings (arms), each with an optional `label`")


def _grid_arms(grid: Any, where: str) -> list[Arm]:
    """Validate a study's ``grid`` (a mapping or a list of arms) and parse its arms."""
    if grid is None:
        return []
    if isinstance(grid, dict):
        return [_arm(grid, f"{where}: grid", "grid")]
    if not isinstance(grid, list):
        raise ConfigError(f"{where}: grid = {grid!r} has type {type(grid).__name__}; allowed: {GRID_FORM}")
    if not grid:
        raise ConfigError(f"{where}: grid = [] is empty; allowed: {GRID_FORM}")
    return [_arm(arm, f"{where}: grid[{i}]", f"grid[{i}]") for i, arm in enumerate(grid)]


def _arm(arm: Any, where: str, fallback: str) -> Arm:
    """Validate one arm: known levers, each value (or every value of a list) in range."""
    if not isinstance(arm, dict):
        raise ConfigError(f"{where} = {arm!r} has type {type(arm).__name__}; allowed: a mapping of "
                          f"levers to a value or a non-empty list of values, with an optional `label`")
    arm = dict(arm)
    label = arm.pop("label", None)
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise ConfigError(f"{where}: label = {label!r}; allowed: a non-empty string")
    if label is not None:
        where = f"{where} (label {label!r})"
    levers = []
    for key, value in arm.items():
        if key not in LEVERS:
            near = difflib.get_close_matches(str(key), LEVERS, n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise ConfigError(f"{where}: unknown key {key!r}{hint} (allowed: `label` or a lever; "
                              f"`labkit levers` lists them)")
        lever = LEVERS[key]
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ConfigError(f"{where}: {key} = [] is an empty list; allowed: a value or a non-empty "
                              f"list of values, each {lever.allowed()}")
        checked = tuple(lever.validate(v, where) for v in values)
        repeated = next((v for i, v in enumerate(checked) if v in checked[:i]), None)
        if repeated is not None:
            raise ConfigError(f"{where}: {key} = {value!r} lists {repeated!r} twice; allowed: distinct "
                              f"values, each {lever.allowed()}")
        levers.append((key, checked))
    return Arm(tuple(levers), where=where, label=label, fallback=fallback)


def _check_labels(arms: list[Arm]) -> None:
    """Refuse two arms that would share a label: figures and tables tell arms apart by it."""
    seen: dict[str, str] = {}
    for arm in arms:
        for label in dict.fromkeys(label for label, _ in arm.points()):
            if label in seen:
                raise ConfigError(f"{arm.where}: label {label!r} is already used by {seen[label]}; "
                                  f"give each arm its own `label`")
            seen[label] = arm.where


def load(path: str | Path, scale: str | None = None, *, seeds: int | list[int] | None = None,
         levers: Mapping[str, Any] | None = None,
         conditions: Mapping[str, Mapping[str, Any]] | None = None) -> Experiment:
    """Read and resolve ``path`` (flat config or study file) at ``scale``.

    The keywords change the study before it is resolved (say a notebook's parameters),
    and are validated as if the file said them. ``seeds``: a count (seeds 0..n-1) or a
    list, in place of the file's. ``levers``: lever values over the base and the scale
    (a condition or arm that sets the same lever keeps its own value). ``conditions``:
    {condition: lever values} set on those named conditions.
    """
    path = Path(path)
    raw = _changed(read_yaml(path), scale, seeds, levers, conditions, where=str(path))
    experiment = resolve(raw, scale, where=str(path), name=path.stem)
    return dataclasses.replace(experiment, source=str(path))


def _changed(raw: dict[str, Any], scale: str | None, seeds, levers, conditions, where: str) -> dict[str, Any]:
    """``raw`` with :func:`load`'s keywords written into it, where the file would say them."""
    if seeds is None and not levers and not conditions:
        return raw
    raw, levers = dict(raw), dict(levers or {})
    if "base" not in raw:  # a flat config: no scales, no conditions
        if conditions:
            raise ConfigError(f"{where}: conditions {sorted(conditions)} are set but the file has no `conditions`")
        return {**raw, **levers, **({} if seeds is None else {"seeds": seeds})}
    scales = _mapping(raw.get("scales"), where, "scales")
    scale = scale if scale is not None else ("default" if "default" in scales else None)
    if scale in scales:  # the scale's sizes and seeds win over the base's, so write there
        sized = {**_mapping(scales[scale], where, f"scales.{scale}"), **levers}
        raw["scales"] = {**scales, scale: sized if seeds is None else {**sized, "seeds": seeds}}
    else:  # no scale (or an unknown one, which resolve refuses)
        raw["base"] = {**_mapping(raw["base"], where, "base"), **levers}
        raw["seeds"] = raw.get("seeds", 1) if seeds is None else seeds
    if conditions:
        known = _mapping(raw.get("conditions"), where, "conditions")
        unknown = sorted(set(conditions) - set(known))
        if unknown:
            raise ConfigError(f"{where}: condition {unknown[0]!r} is set but not defined; "
                              f"conditions: {', '.join(map(repr, known)) or 'none'}")
        raw["conditions"] = {name: {**_mapping(value, where, f"conditions.{name}"), **conditions.get(name, {})}
                             for name, value in known.items()}
    return raw


# --------------------------------------------------------------------------- arm labels

def arm_families(experiment: Experiment) -> dict[str, str]:
    """{point label: the family of the arm it came from}, the name figures and tables group by.

    A family is the arm's ``label`` if it has one, else the levers it varies
    (``embedding_dim``). An arm that crosses static levers gives one point label per
    combination (``explore [policy=softmax]``), all of one family.
    """
    out = {}
    for arm in experiment.arms:
        varied = [name for name, values in arm.levers if len(values) > 1]
        family = arm.label or ", ".join(varied) or arm.fallback
        for label, _ in arm.points():
            out[label] = family
    return out


def varied_levers(experiment: Experiment) -> dict[str, list[str]]:
    """{family (:func:`arm_families`): the levers its arm takes several values of}."""
    families = arm_families(experiment)
    out: dict[str, list[str]] = {}
    for arm in experiment.arms:
        family = families[arm.points()[0][0]]
        out[family] = [name for name, values in arm.levers if len(values) > 1]
    return out


def arm_settings(experiment: Experiment) -> dict[str, dict[str, Any]]:
    """{point label: the lever values its arm sets}, meant for arms that set single values
    (for an arm with several points, the last point's values)."""
    return {label: dict(levers) for label, levers, _ in experiment.points()}


def setting_label(arm: str, levers: Mapping[str, Any]) -> str:
    """``epsilon_greedy (epsilon=0.2)``: an arm and the lever values it sets, for legends.

    ``arm``: the arm's label; ``levers``: {lever: value}. ``policy`` and ``data_strategy``
    are left out: the arm's name says them.
    """
    shown = ", ".join(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
                      for name, value in levers.items() if name not in ("policy", "data_strategy"))
    return f"{arm} ({shown})" if shown else arm
