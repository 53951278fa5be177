"""What every reproduction shares: the study file, the claims and verdicts, the pass/fail
table, the figure frame, and the generations of data weighted by labkit's data strategies.

A paper module (``shumailov``, ``gerstgrasser``, ``chaney``, ``jiang``) imports this one
and declares itself as one :class:`Paper` value; :mod:`labkit.reproduce` gathers those
values into its registry. This module never imports a paper module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax.numpy as jnp
import numpy as np
import pandas as pd
from jaxtyping import Array, Float

from labkit.experiments.study import Experiment, read_yaml, resolve, scale_of
from labkit.sim import data as data_mod
from labkit.sim import loop
from labkit.sim.config import DATA_STRATEGIES, Config, ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"


@dataclass(frozen=True)
class Reproduction:
    """One reproduction resolved at a scale.

    ``setup`` holds the settings that are not labkit levers (sample sizes, number of
    chains, start-up rounds); ``experiment`` the labkit levers, named conditions, grid
    and seeds of the simulation studies (``None`` for the two that need no simulation).
    """

    name: str
    paper: str
    finding: str
    scale: str | None
    setup: Mapping[str, Any]
    experiment: Experiment | None = None


class Paper(NamedTuple):
    """One reproduction, declared once by its module.

    Args:
      name: the short name; the study file is ``experiments/reproduce_<name>.yaml``.
      citation: the paper, as the verdicts and the notebook's table cite it.
      setup: the settings that are not labkit levers (sample sizes, chains...) with their
        defaults; a study file's ``setup`` may override them, and so may a scale's.
      run: ``run(spec) -> table``, the tidy table of a :class:`Reproduction`.
      check: ``check(table) -> verdict``, whether the table agrees with the paper.
      figure: ``figure(table) -> Figure``, labkit's result beside the published shape.
    """

    name: str
    citation: str
    setup: Mapping[str, Any]
    run: Callable[[Reproduction], pd.DataFrame]
    check: Callable[[pd.DataFrame], dict]
    figure: Callable[[pd.DataFrame], Any]


# ---------------------------------------------------------------------------
# the study file

# The keys of a reproduction's study file: the study form of labkit.experiments plus the
# paper, its finding and the setup.
_TOP_KEYS = ("study", "paper", "finding", "description", "setup", "base", "conditions", "grid", "seeds",
             "scales")
# The keys passed on to labkit.experiments.resolve (the simulation part).
_STUDY_KEYS = ("study", "description", "base", "conditions", "grid", "seeds")


def _coerce(key: str, value: Any, default: Any, where: str) -> Any:
    """``value`` checked against the type of ``default`` (lists element-wise)."""
    def bad(why: str) -> ConfigError:
        return ConfigError(f"{where}: setup.{key} = {value!r} {why}")

    if isinstance(default, list):
        if not isinstance(value, list) or not value:
            raise bad("must be a non-empty list")
        return [_coerce(key, v, default[0], where) for v in value]
    if isinstance(default, bool) or isinstance(value, bool):
        raise bad("has the wrong type")
    if isinstance(default, int):
        if not isinstance(value, int) or value < 0:
            raise bad("must be a whole number >= 0")
        return value
    if isinstance(default, float):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise bad("must be a positive number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("must be a string")
        return value
    return value


def _setup(given: Mapping[str, Any], defaults: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Every setup key of a reproduction: ``given`` checked against ``defaults``, the rest defaulted."""
    for key in given:
        if key not in defaults:
            raise ConfigError(f"{where}: unknown setup key {key!r}; allowed: {', '.join(defaults) or 'none'}")
    return {key: _coerce(key, given[key], default, where) if key in given else default
            for key, default in defaults.items()}


def read_reproduction(name: str | Path, scale: str | None, papers: Mapping[str, Paper]) -> Reproduction:
    """Read ``experiments/reproduce_<name>.yaml`` (or a path) and resolve it at ``scale``.

    The file has the study form of :mod:`labkit.experiments` (``base``, ``conditions``,
    ``grid``, ``seeds``, ``scales``) plus ``paper``, ``finding`` and ``setup``; a scale
    may override ``setup`` keys under its own ``setup``, and the ``grid`` under its own
    ``grid``. The file is read by the experiments loader and its simulation part resolved
    by it. Errors name the file and key.

    Args:
      name: a reproduction's short name, or the path of a study file.
      scale: the scale to resolve at; ``None`` means ``default`` if the file defines it.
      papers: the known reproductions by name (:data:`labkit.reproduce.REGISTRY`).
    """
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = EXPERIMENTS / f"reproduce_{name}.yaml"
    where = str(path)
    raw = read_yaml(path)
    unknown = sorted(set(raw) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(_TOP_KEYS)}")
    short = str(raw.get("study", path.stem)).removeprefix("reproduce_")
    if short not in papers:
        raise ConfigError(f"{where}: study = {raw.get('study')!r} is not a reproduction; known: "
                          f"{', '.join('reproduce_' + n for n in papers)}")
    paper = papers[short]
    # What the scale sets: `setup` keys are this module's, `grid` and levers the experiments loader's.
    scale, sized = scale_of(raw, scale, where)
    setup = _setup({**(raw.get("setup") or {}), **(sized.pop("setup", None) or {})}, paper.setup, where)
    grid = sized.pop("grid", None)
    experiment = None
    if "base" in raw:
        study = {k: raw[k] for k in _STUDY_KEYS if k in raw}
        if grid is not None:
            study["grid"] = grid
        study["scales"] = {scale: sized} if scale is not None else {}
        experiment = resolve(study, scale, where=where, name=path.stem)
    elif sized or grid is not None:
        raise ConfigError(f"{where}: scale {scale!r} sets levers {sorted(sized)} but the file has no `base`; "
                          f"put this reproduction's sizes under the scale's `setup`")
    return Reproduction(name=short, paper=str(raw.get("paper", paper.citation)).strip(),
                        finding=" ".join(str(raw.get("finding", "")).split()), scale=scale,
                        setup=setup, experiment=experiment)


# ---------------------------------------------------------------------------
# generations of data, weighted by labkit's data strategies


@lru_cache(maxsize=None)
def _strategy_config(strategy: str, generations: int, rows: int) -> Config:
    if strategy not in DATA_STRATEGIES:
        raise ConfigError(f"strategy = {strategy!r} is not a labkit data strategy; allowed: "
                          f"{', '.join(DATA_STRATEGIES)}")
    # One "round" of the log per generation, one "user" per row of that generation's data,
    # a slate of one: the log is then exactly a table of generations x rows.
    return Config.from_dict(data_strategy=strategy, window=1, rounds=generations, n_users=rows,
                            slate_size=1, n_items=2, initial_items=2, new_items=0)


def generation_weights(strategy: str, generations: int, rows: int, current: Any
                       ) -> Float[Array, "generations rows"]:
    """Loss weight of each row of each generation of data, when training generation ``current``.

    The weights come from labkit's own data strategy (:data:`labkit.sim.data.STRATEGIES`) run
    on a log in which round ``g`` holds the ``rows`` data points of generation ``g``:
    generation 0 is real (human) data, every later generation is synthetic (made by the
    previous model). So ``accumulate`` trains on every generation so far and ``replace``
    (with a window of one round) on the newest generation only; ``human_only`` keeps the
    real data only and ``downweight`` weights synthetic rows by ``synthetic_weight``.

    Args:
      strategy: a labkit data strategy name.
      generations: rows of the table (static).
      rows: data points per generation (static).
      current: the generation being trained, 0-based; may be traced (inside ``scan``).
    """
    config = _strategy_config(strategy, generations, rows)
    static = config.static
    generation = jnp.arange(generations)
    filled = generation <= current
    log = data_mod.empty_log(static)
    synthetic = ((generation >= 1) & filled)[:, None, None]
    log = log._replace(round=jnp.where(filled, generation, -1).astype(jnp.int32),
                       synthetic=jnp.broadcast_to(synthetic, log.synthetic.shape))
    valid = jnp.broadcast_to(filled[:, None, None], log.item.shape)
    weight = data_mod.STRATEGIES[strategy](log, valid, jnp.asarray(current, jnp.int32), static, config.params)
    return weight[:, :, 0]


def mixed_weights(strategy: str, real: int, synthetic: int, synthetic_weight: Any = None) -> Float[Array, "rows"]:
    """Loss weight of each row of one generation that mixes fresh real data with synthetic data.

    Rows ``0..real-1`` are fresh real (human) data, the next ``synthetic`` rows were made
    by the previous model. The weights come from labkit's data strategy run on a log of
    one round holding that generation (the loop keeps no older data): ``accumulate`` and
    ``replace`` weigh every row 1, ``downweight`` weighs the synthetic rows by
    ``synthetic_weight`` (the lever; may be traced, so a sweep or a derivative can run
    through it), ``human_only`` keeps the real rows only.
    """
    config = _strategy_config(strategy, 1, real + synthetic)
    log = data_mod.empty_log(config.static)
    synthetic_row = jnp.arange(real + synthetic) >= real
    log = log._replace(round=jnp.zeros(1, jnp.int32),
                       synthetic=jnp.broadcast_to(synthetic_row[None, :, None], log.synthetic.shape))
    params = config.params
    if synthetic_weight is not None:
        params = params._replace(synthetic_weight=jnp.asarray(synthetic_weight, jnp.float32))
    valid = jnp.ones(log.item.shape, bool)
    return data_mod.STRATEGIES[strategy](log, valid, jnp.asarray(0, jnp.int32), config.static, params)[0, :, 0]


# ---------------------------------------------------------------------------
# simulation metrics and seed statistics


def _finite_metrics(metrics: Mapping[str, Any], seeds: Sequence[int]) -> dict[str, np.ndarray]:
    """The round metrics of labkit.METRIC_NAMES as numpy arrays; a NaN or inf raises
    :class:`labkit.sim.loop.NumericalError` naming the round, seed and quantity."""
    checked = loop.check_finite(metrics, seeds)
    return {name: np.asarray(checked[name]) for name in loop.METRIC_NAMES}


def _paired(values: pd.Series) -> tuple[float, float]:
    """Mean and standard error over seeds."""
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("inf")


# ---------------------------------------------------------------------------
# claims, verdicts and the pass/fail table


def _claim(claim: str, measured: Any, published: Any, tolerance: Any, passed: bool | None) -> dict:
    return {"claim": claim, "measured": measured, "published": published, "tolerance": tolerance,
            "passed": None if passed is None else bool(passed)}


def _verdict(name: str, citation: str, claims: list[dict]) -> dict:
    """A check's result: passed when at least one claim was testable and every testable one passed."""
    tested = [c["passed"] for c in claims if c["passed"] is not None]
    return {"name": name, "paper": citation, "passed": bool(tested) and all(tested), "claims": claims}


def find_claim(verdict: Mapping[str, Any], start: str) -> dict:
    """The claim of a check's verdict whose text starts with ``start`` (the first one)."""
    found = [c for c in verdict["claims"] if c["claim"].startswith(start)]
    if not found:
        raise KeyError(f"no claim of {verdict['name']!r} starts with {start!r}; its claims: "
                       f"{[c['claim'] for c in verdict['claims']]}")
    return found[0]


def summary(verdicts: Sequence[dict]) -> pd.DataFrame:
    """The pass/fail table: one row per claim of each reproduction's check."""
    rows = []
    for verdict in verdicts:
        for c in verdict["claims"]:
            rows.append({"reproduction": verdict["name"], "claim": c["claim"],
                         "result": {True: "pass", False: "FAIL", None: "not testable"}[c["passed"]],
                         "measured": _text(c["measured"]), "published": _text(c["published"]),
                         "tolerance": c["tolerance"]})
    return pd.DataFrame(rows, columns=["reproduction", "claim", "result", "measured", "published",
                                       "tolerance"])


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _figure(ncols: int, width: float = 2.4, height: float = 2.0):
    """A figure of ``ncols`` panels in a row, each ``width`` x ``height`` inches."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]
