"""Levers, and the one validated configuration object built from them.

Every knob of the simulation is registered once here as a :class:`Lever` (its name,
kind, type, range or choices, default and meaning). Config validation, the CLI's
``labkit levers`` listing and the docs all read from :data:`LEVERS`.

A lever is either

* ``static``: fixes array shapes or picks a code path (how many users, which policy).
  Static levers are hashed into the compiled program and are never traced; or
* ``param``: a continuous value that an ablation varies (``drift``, ``epsilon``...).
  Params form the :class:`Params` pytree, so a grid of them is ``jax.vmap``-ed in one
  compiled call.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

import jax.numpy as jnp


class ConfigError(ValueError):
    """A configuration value was refused; the message names the key and what is allowed."""


@dataclass(frozen=True)
class Lever:
    """One registered knob: what it is called, what it may be and what it means."""

    name: str
    kind: str  # "static" or "param"
    type: type
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the lower bound itself is not allowed
    choices: tuple[str, ...] | None = None

    def allowed(self) -> str:
        """Say in words which values this lever accepts."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        bracket = "(" if self.low_open else "["
        return f"{self.type.__name__} in {bracket}{lo}, {hi}]"

    def validate(self, value: Any, where: str = "config") -> Any:
        """Return ``value`` coerced to the lever's type, or raise a :class:`ConfigError`."""
        given = value
        fail = lambda why: ConfigError(  # noqa: E731
            f"{where}: {self.name} = {given!r} {why}; allowed: {self.allowed()}")
        if self.choices is not None:
            if not isinstance(value, str) or value not in self.choices:
                raise fail("is not a known choice")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(f"has type {type(value).__name__}")
        if self.type is int:
            if isinstance(value, float) and not value.is_integer():
                raise fail("is not a whole number")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise fail("is not finite")
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise fail("is below the range")
        if self.high is not None and value > self.high:
            raise fail("is above the range")
        return value


RECOMMENDERS = ("random", "popularity", "ideal", "content", "mf")
POLICIES = ("greedy", "softmax", "epsilon_greedy", "ucb", "thompson", "mmr")
DATA_STRATEGIES = ("accumulate", "replace", "downweight", "human_only", "reserve")
GENERATOR_OBJECTIVES = ("likelihood", "engagement")
CONSUMPTION = ("repeat", "once")

_S, _P = "static", "param"

LEVERS: dict[str, Lever] = {lever.name: lever for lever in [
    # --- the world's size (static: array shapes)
    Lever("n_users", _S, int, 200, "number of simulated users", 1, 10_000_000),
    Lever("n_items", _S, int, 500, "catalog capacity: the ring buffer of items", 2, 10_000_000),
    Lever("initial_items", _S, int, 500,
          "human items in the catalog before round 0 (a full catalog turns over steadily)", 1, 10_000_000),
    Lever("new_items", _S, int, 10, "items created per round (human + synthetic)", 0, 1_000_000),
    Lever("n_topics", _S, int, 10, "latent topics d: item features and preferences live on the d-simplex", 2, 4096),
    Lever("n_creators", _S, int, 50, "human creators, each with a topic style", 1, 1_000_000),
    Lever("slate_size", _S, int, 10, "k: items recommended to each user per round", 1, 1000),
    Lever("rounds", _S, int, 50, "rounds of the feedback loop", 1, 100_000),
    # --- which parts run (static: code paths)
    Lever("recommender", _S, str, "mf", "scoring model", choices=RECOMMENDERS),
    Lever("policy", _S, str, "greedy", "how scores become a slate", choices=POLICIES),
    Lever("data_strategy", _S, str, "accumulate", "which logged rows retrain the recommender",
          choices=DATA_STRATEGIES),
    Lever("generator_objective", _S, str, "likelihood",
          "what the GenAI fits: engaged items (likelihood) or predicted clicks (engagement)",
          choices=GENERATOR_OBJECTIVES),
    Lever("consumption", _S, str, "repeat",
          "repeat: users may be shown and consume an item again; once: a user's ranking puts the items "
          "it consumed below every other live item (Chaney et al.; T-RECS repeated_items=False)",
          choices=CONSUMPTION),
    Lever("window", _S, int, 5, "replace strategy: rounds of log kept for retraining", 1, 100_000),
    Lever("embedding_dim", _S, int, 16, "MF capacity: embedding dimension", 1, 4096),
    Lever("train_steps", _S, int, 10, "MF capacity: optimizer steps per round", 0, 100_000),
    Lever("n_pairs", _S, int, 256, "user pairs sampled per round for homogenization", 1, 1_000_000),
    Lever("block_users", _S, int, 1024, "users scored per block: memory holds block_users x n_items scores",
          1, 10_000_000),
    # --- the world's dynamics (params: vmappable)
    Lever("synthetic_share", _P, float, 0.0, "share of new items made by the GenAI", 0.0, 1.0),
    Lever("generator_temperature", _P, float, 0.5,
          "GenAI sampling temperature (<1 mode-seeking, lower entropy)", 0.0, 100.0, low_open=True),
    Lever("drift", _P, float, 0.0, "rate at which users' preferences move toward what they consume",
          0.0, 1.0),
    Lever("influence_threshold", _P, float, 0.1,
          "total-variation distance from initial tastes beyond which a user counts as AI-influenced",
          0.0, 1.0),
    Lever("choice_sharpness", _P, float, 10.0, "inverse noise of the users' logit choice over true utility",
          0.0, 1e4),
    Lever("no_click_logit", _P, float, 3.0, "logit of the no-click option in the choice model", -100.0, 100.0),
    Lever("position_bias", _P, float, 0.5, "logit penalty per log2(1 + slate position)", 0.0, 100.0),
    Lever("user_concentration", _P, float, 0.3, "Dirichlet concentration of users' initial tastes",
          0.0, 1e4, low_open=True),
    Lever("style_concentration", _P, float, 0.3, "Dirichlet concentration of creators' topic styles",
          0.0, 1e4, low_open=True),
    Lever("creator_focus", _P, float, 5.0, "how closely a creator's items follow the creator's style",
          0.0, 1e4, low_open=True),
    Lever("creator_zipf", _P, float, 1.0, "Zipf exponent of creators' activity (heavy tail)", 0.0, 10.0),
    Lever("learning_rate", _P, float, 0.05, "MF optimizer (Adam) learning rate", 0.0, 10.0, low_open=True),
    Lever("l2", _P, float, 1e-3, "MF L2 regularization", 0.0, 100.0),
    # --- mitigation levers (params)
    Lever("temperature", _P, float, 1.0, "softmax policy: Plackett-Luce sampling temperature",
          0.0, 1e6),
    Lever("epsilon", _P, float, 0.1, "epsilon_greedy policy: chance a slot is explored", 0.0, 1.0),
    Lever("beta", _P, float, 1.0, "ucb policy: weight of the exposure bonus beta/sqrt(1+n)", 0.0, 1e6),
    Lever("novelty_weight", _P, float, 0.0, "weight of the novelty bonus -log popularity added to scores",
          0.0, 1e6),
    Lever("mmr_lambda", _P, float, 0.5, "mmr policy: relevance weight (1 = pure relevance)", 0.0, 1.0),
    Lever("synthetic_weight", _P, float, 0.1, "downweight strategy: loss weight of AI-influenced rows",
          0.0, 1.0),
    Lever("reserve_share", _P, float, 0.1, "reserve strategy: share of slates given to the exploration stream",
          0.0, 1.0),
]}

STATIC_LEVERS = tuple(name for name, lever in LEVERS.items() if lever.kind == _S)
PARAM_LEVERS = tuple(name for name, lever in LEVERS.items() if lever.kind == _P)


@dataclass(frozen=True)
class Static:
    """Shapes and code-path choices: hashable, part of the compiled program, never traced."""

    n_users: int
    n_items: int
    initial_items: int
    new_items: int
    n_topics: int
    n_creators: int
    slate_size: int
    rounds: int
    recommender: str
    policy: str
    data_strategy: str
    generator_objective: str
    consumption: str
    window: int
    embedding_dim: int
    train_steps: int
    n_pairs: int
    block_users: int


class Params(NamedTuple):
    """Continuous levers as a pytree of float32 scalars: ``jax.vmap`` runs a grid of them."""

    synthetic_share: Any
    generator_temperature: Any
    drift: Any
    influence_threshold: Any
    choice_sharpness: Any
    no_click_logit: Any
    position_bias: Any
    user_concentration: Any
    style_concentration: Any
    creator_focus: Any
    creator_zipf: Any
    learning_rate: Any
    l2: Any
    temperature: Any
    epsilon: Any
    beta: Any
    novelty_weight: Any
    mmr_lambda: Any
    synthetic_weight: Any
    reserve_share: Any


@dataclass(frozen=True)
class Config:
    """A resolved, validated configuration: one value for every lever.

    Build it with :meth:`Config.from_dict` (from YAML, CLI or notebook parameters);
    ``config.static`` and ``config.params`` are what :func:`labkit.simulate` consumes.
    """

    values: tuple[tuple[str, Any], ...]

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any] | None = None, *, where: str = "config",
                  **overrides: Any) -> "Config":
        """Validate ``mapping`` (plus keyword overrides) against :data:`LEVERS`.

        Unknown keys, wrong types, out-of-range values and inconsistent sizes are refused
        with a :class:`ConfigError` naming the key, the value and what is allowed.
        """
        given = dict(mapping or {})
        given.update(overrides)
        if not all(isinstance(key, str) for key in given):
            raise ConfigError(f"{where}: lever names must be strings, got {list(given)!r}")
        for key in given:
            if key not in LEVERS:
                near = difflib.get_close_matches(key, LEVERS, n=3)
                hint = f"; did you mean {', '.join(near)}?" if near else ""
                raise ConfigError(f"{where}: unknown key {key!r}{hint} "
                                  f"(known levers: `labkit levers` lists them)")
        resolved = {name: lever.validate(given[name], where) if name in given else lever.default
                    for name, lever in LEVERS.items()}
        _check_consistency(resolved, where)
        return cls(tuple(resolved.items()))

    def to_dict(self) -> dict[str, Any]:
        """Every lever's resolved value, in registry order."""
        return dict(self.values)

    def replace(self, **changes: Any) -> "Config":
        """A new validated config with some levers changed."""
        return Config.from_dict({**self.to_dict(), **changes})

    def __getattr__(self, name: str) -> Any:
        values = dict(object.__getattribute__(self, "values"))
        if name in values:
            return values[name]
        raise AttributeError(name)

    @property
    def static(self) -> Static:
        values = self.to_dict()
        return Static(**{name: values[name] for name in STATIC_LEVERS})

    @property
    def params(self) -> Params:
        values = self.to_dict()
        return Params(**{name: jnp.float32(values[name]) for name in PARAM_LEVERS})

    def hash(self) -> str:
        """A short stable digest of the resolved config, used to address results."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _check_consistency(values: dict[str, Any], where: str) -> None:
    """Refuse combinations that no single lever's range can catch."""
    def refuse(key: str, why: str) -> None:
        raise ConfigError(f"{where}: {key} = {values[key]!r} {why}")

    if values["initial_items"] > values["n_items"]:
        refuse("initial_items", f"exceeds the catalog capacity n_items = {values['n_items']}")
    if values["new_items"] > values["n_items"]:
        refuse("new_items", f"exceeds the catalog capacity n_items = {values['n_items']}")
    if values["slate_size"] > values["initial_items"]:
        refuse("slate_size", f"exceeds the items alive at the start, initial_items = "
                             f"{values['initial_items']}; allowed: 1..{values['initial_items']}")


def params_grid(config: Config, grid: Mapping[str, list[float]]) -> tuple[Params, list[dict]]:
    """Stack the config's params over the Cartesian product of ``grid`` (param levers only).

    Returns the batched :class:`Params` (leading axis = grid point) and, per point, the
    dict of lever values it sets, so results can be labelled.
    """
    import itertools

    names = list(grid)
    for name in names:
        if name not in LEVERS:
            raise ConfigError(f"grid: unknown key {name!r}")
        if LEVERS[name].kind != _P:
            raise ConfigError(f"grid: {name} is a static lever (it changes shapes or code paths); "
                              f"only param levers can be vmapped: {', '.join(PARAM_LEVERS)}")
        if not isinstance(grid[name], (list, tuple)) or not grid[name]:
            raise ConfigError(f"grid: {name} must be a non-empty list of values, got {grid[name]!r}")
    points = [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]
    configs = [config.replace(**point) for point in points]
    stacked = Params(*[jnp.stack([getattr(c.params, f) for c in configs]) for f in Params._fields])
    return stacked, [{n: c.to_dict()[n] for n in names} for c in configs]


def describe_levers() -> str:
    """A plain-text table of every lever: name, kind, default, allowed values, meaning."""
    rows = [f"{'lever':22} {'kind':6} {'default':>10}  allowed / meaning"]
    for lever in LEVERS.values():
        rows.append(f"{lever.name:22} {lever.kind:6} {lever.default!s:>10}  {lever.allowed()}\n"
                    f"{'':41}{lever.doc}")
    return "\n".join(rows)


def field_names(cls: type) -> tuple[str, ...]:
    """Field names of a Static/Params class, for the registry-consistency test."""
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    return tuple(cls._fields)
