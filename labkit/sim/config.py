"""The lever registry, and the one validated configuration object built from it.

Every knob of the simulation is declared once as a :class:`labkit.sim.levers.Lever` (its
name, kind, type, range or choices, default, meaning and figure label): the world's size
and the loop's settings here, the others beside the code that reads them (``LEVERS`` of
``world``, ``users``, ``generator``, ``recommenders``, ``policies``, ``data``, ``agents``).
This module gathers them into :data:`LEVERS`; config validation, ``labkit levers``, the
figures' axis labels, and the :class:`Static` and :class:`Params` pytrees all derive from it.

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
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

import jax.numpy as jnp

from labkit.sim import agents, data, generator, policies, recommenders, users, world
from labkit.sim.levers import PARAM, STATIC, ConfigError, Lever  # noqa: F401 (ConfigError: re-exported)

CONSUMPTION = ("repeat", "once")

# The world's size and the loop's own settings; every other module declares its levers
# beside the code that reads them (labkit.sim.levers).
_LOOP_LEVERS = (
    Lever("n_users", STATIC, int, 200, "number of simulated users", 1, 10_000_000),
    Lever("n_items", STATIC, int, 500, "catalog capacity: the ring buffer of items", 2, 10_000_000),
    Lever("initial_items", STATIC, int, 500,
          "human items in the catalog before round 0 (a full catalog turns over steadily)", 1, 10_000_000),
    Lever("new_items", STATIC, int, 10, "items created per round (human + synthetic)", 0, 1_000_000),
    Lever("n_topics", STATIC, int, 10, "latent topics d: item features and preferences live on the d-simplex",
          2, 4096),
    Lever("n_creators", STATIC, int, 50, "human creators, each with a topic style", 1, 1_000_000),
    Lever("slate_size", STATIC, int, 10, "k: items recommended to each user per round", 1, 1000),
    Lever("rounds", STATIC, int, 50, "rounds of the feedback loop", 1, 100_000),
    Lever("consumption", STATIC, str, "repeat",
          "repeat: users may be shown and consume an item again; once: a user's ranking puts the items "
          "it consumed below every other live item (Chaney et al.; T-RECS repeated_items=False)",
          choices=CONSUMPTION),
    Lever("n_pairs", STATIC, int, 256, "user pairs sampled per round for homogenization", 1, 1_000_000),
    Lever("block_users", STATIC, int, 1024, "users scored per block: memory holds block_users x n_items scores",
          1, 10_000_000),
    Lever("retrain_every", STATIC, int, 1,
          "rounds between refreshes of the recommender and the GenAI the loop serves: both keep learning every "
          "round, and what users are shown and what the GenAI makes come from the last refresh (1: every "
          "round, a loop that closes each round)", 1, 100_000, label="retraining cadence (rounds)",
          hashed_at_default=False),
)

LEVERS: dict[str, Lever] = {}
for _lever in (*_LOOP_LEVERS, *world.LEVERS, *users.LEVERS, *generator.LEVERS, *recommenders.LEVERS,
               *policies.LEVERS, *data.LEVERS, *agents.LEVERS):
    if _lever.name in LEVERS:
        raise ValueError(f"lever {_lever.name!r} is declared twice")
    LEVERS[_lever.name] = _lever

# The registries behind the choice levers (a new value there is a new allowed choice).
RECOMMENDERS, POLICIES = recommenders.RECOMMENDERS, policies.POLICIES
DATA_STRATEGIES, GENERATOR_OBJECTIVES = data.STRATEGIES, generator.OBJECTIVES

STATIC_LEVERS = tuple(name for name, lever in LEVERS.items() if lever.kind == STATIC)
PARAM_LEVERS = tuple(name for name, lever in LEVERS.items() if lever.kind == PARAM)

# Both pytrees are built from the registry, so a lever is declared once.
Static = dataclasses.make_dataclass("Static", [(name, LEVERS[name].type) for name in STATIC_LEVERS],
                                    frozen=True)
Static.__module__ = __name__
Static.__doc__ = ("Shapes and code-path choices (every ``static`` lever): hashable, part of the compiled "
                  "program, never traced.")
Params = NamedTuple("Params", [(name, Any) for name in PARAM_LEVERS])
Params.__module__ = __name__
Params.__doc__ = ("Continuous levers (every ``param`` lever) as a pytree of float32 scalars: ``jax.vmap`` "
                  "runs a grid of them.")


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
        """A short stable digest of the resolved config, used to address results.

        A lever declared with ``hashed_at_default=False`` counts only when it is not at its
        default, so a lever added later leaves the addresses of earlier results as they were.
        """
        values = {name: value for name, value in self.to_dict().items()
                  if LEVERS[name].hashed_at_default or value != LEVERS[name].default}
        blob = json.dumps(values, sort_keys=True).encode()
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
    if values["creator_exit_share"] > 0 and values["creator_exit_window"] > values["rounds"]:
        refuse("creator_exit_window", f"is longer than the run, rounds = {values['rounds']}: no creator would "
                                      f"ever be judged; allowed with creator_exit_share > 0: 1..{values['rounds']}")
    components, family = values["generator_components"], values["generator_family"]
    if family != "mixture" and components != LEVERS["generator_components"].default:
        refuse("generator_components", f"is read only by generator_family = 'mixture' (here {family!r}); "
                                       f"allowed: leave it out, or set generator_family = 'mixture'")
    fitted = {"initial_items": values["initial_items"]}  # the first fit, then each round's rows:
    if values["generator_objective"] == "likelihood":  # one clicked item per user, or the catalog
        fitted["n_users"] = values["n_users"]
    for size, rows in fitted.items():
        if family == "mixture" and components > rows:
            refuse("generator_components", f"exceeds the items the mixture is fitted to, {size} = {rows}; "
                                           f"allowed: 1..{min(fitted.values())}")
    if values["agent_share"] > 0 and values["agent_estimate"] == "recommender" and values["recommender"] == "random":
        refuse("agent_estimate", "reads the served model's scores, and recommender = 'random' scores every item by "
                                 "fresh noise: its agents would click at random whatever agent_sharpness; allowed with "
                                 "recommender = 'random': 'genai'")
    if values["assisted_share"] > 0 and values["new_items"] == 0:
        refuse("assisted_share", "needs items created in the loop (assisted creators blend the GenAI's output into "
                                 "their new items; the initial catalog is made before the GenAI); allowed with "
                                 "new_items = 0: 0")
    if values["creator_entry_rate"] > 0 and values["creator_exit_share"] == 0:
        refuse("creator_entry_rate", "needs creators who leave (new creators take the places of those who left); "
                                     "allowed with creator_exit_share = 0: 0")


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
        if LEVERS[name].kind != PARAM:
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
