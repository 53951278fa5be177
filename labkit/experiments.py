"""Experiments are data: ``experiments/<study>.yaml`` read with a safe YAML loader.

A file is either a flat mapping of levers (a config written by hand), or a study::

    study: collapse
    description: one line on the question
    base: {recommender: mf, ...}            # levers shared by every run
    conditions:                              # named lever settings compared in the study
      ai_and_drift: {synthetic_share: 0.5, drift: 0.1}
      neither: {synthetic_share: 0.0, drift: 0.0}
    seeds: 5
    scales:                                  # sizes; `default` is used when none is asked
      tiny: {n_users: 30, rounds: 6, seeds: 2}
      default: {}

Every lever value is validated by :class:`labkit.config.Config`; the study keys here are
validated by :func:`load`, with errors naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from labkit.config import Config, ConfigError

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
    grid: Mapping[str, list] = field(default_factory=dict)


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
    scales = _mapping(raw.get("scales"), where, "scales")
    scale = scale if scale is not None else ("default" if "default" in scales else None)
    sized: dict[str, Any] = {}
    if scale is not None:
        if scale not in scales:
            raise ConfigError(f"{where}: scale = {scale!r} is not defined; allowed: "
                              f"{', '.join(map(repr, scales)) or 'none (the file has no scales)'}")
        sized = _mapping(scales[scale], where, f"scales.{scale}")
    seeds = _seeds(sized.pop("seeds", raw.get("seeds", 1)), where)
    config = Config.from_dict({**base, **sized}, where=f"{where} (base + scale {scale})")
    conditions = {}
    for cname, levers in _mapping(raw.get("conditions"), where, "conditions").items():
        conditions[cname] = Config.from_dict({**base, **sized, **_mapping(levers, where, f"conditions.{cname}")},
                                             where=f"{where}: conditions.{cname}")
    grid = _mapping(raw.get("grid"), where, "grid")
    return Experiment(name=str(raw.get("study", name)), config=config, seeds=seeds, scale=scale,
                      description=str(raw.get("description", "")), conditions=conditions, grid=grid)


def load(path: str | Path, scale: str | None = None) -> Experiment:
    """Read and resolve ``path`` (flat config or study file) at ``scale``."""
    path = Path(path)
    return resolve(read_yaml(path), scale, where=str(path), name=path.stem)
