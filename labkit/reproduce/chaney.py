"""Reproduction ``chaney``: algorithmic confounding homogenizes users and lowers their utility.

Chaney, Stewart & Engelhardt, RecSys 2018: every seed's world first runs a start-up
period of random recommendations; each recommender is then trained on that history and
run on, on paired worlds (:func:`simulate_with_startup`). Recommenders retrained on the
data they confounded make users' consumption more alike than the ``ideal`` recommender
(:func:`labkit.sim.metrics.jaccard_homogenization`) and give lower utility; ``random``
makes it least alike.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Sequence

import jax
import numpy as np
import pandas as pd

from labkit.reproduce.common import (Paper, Reproduction, _claim, _figure, _finite_metrics, _paired,
                                     _verdict)
from labkit.sim import data as data_mod
from labkit.sim import loop
from labkit.sim import metrics as M
from labkit.sim.config import Config, ConfigError
from labkit.sim.recommenders import RECOMMENDERS, Observation

NAME = "chaney"
CITATION = ("Chaney, Stewart & Engelhardt, \"How algorithmic confounding in recommendation systems "
            "increases homogeneity and decreases utility\", RecSys 2018")
# The settings that are not labkit levers, with their defaults (a study file's `setup` overrides them).
SETUP = {"startup_rounds": 10, "checkpoints": 10}


# ---------------------------------------------------------------------------
# simulations with a random start-up period (Chaney et al.'s protocol)


@partial(jax.jit, static_argnums=(0, 3))
def _startup(static, params, keys, rounds: int):
    """Every seed's world from init, then ``rounds`` rounds of ``static`` (the random recommender)."""
    def one(key):
        state = loop.init_state(jax.random.fold_in(key, 0), static, params)
        return loop.run_rounds(static, params, state, jax.random.split(jax.random.fold_in(key, 1), rounds))
    return jax.vmap(one)(keys)


@partial(jax.jit, static_argnums=(0, 4))
def _continue(static, params, states, keys, rounds: int):
    """From each seed's start-up state: the recommender of ``static`` is initialised,
    trained on the start-up log, then the loop runs ``rounds`` more rounds."""
    recommender = RECOMMENDERS[static.recommender]

    def one(state, key):
        k_init, k_fit = jax.random.split(jax.random.fold_in(key, 2))
        rec = recommender.init(k_init, static, params)
        training = data_mod.training_data(state.log, state.catalog, state.round - 1, static, params)
        rec = recommender.fit(rec, training, Observation(state.catalog, state.users), k_fit, static, params)
        served = None if static.retrain_every == 1 else (rec, state.generator)  # the trained model is served
        return loop.run_rounds(static, params, state._replace(recommender=rec, served=served),
                               jax.random.split(jax.random.fold_in(key, 3), rounds))
    return jax.vmap(one)(states, keys)


def _check_startup(config: Config, startup_rounds: int) -> None:
    if not 0 <= startup_rounds < config.rounds:
        raise ConfigError(f"startup_rounds = {startup_rounds} must lie in [0, rounds = {config.rounds})")


def startup_phase(config: Config, seeds: Sequence[int], startup_rounds: int):
    """The start-up of :func:`simulate_with_startup`: ``startup_rounds`` rounds of random
    recommendations in every seed's world. It depends on ``config`` only through the
    levers other than ``recommender``, so one start-up serves every recommender."""
    _check_startup(config, startup_rounds)
    # the whole log, as the continuation's (simulate_with_startup): it is the start-up's training table
    startup = config.replace(recommender="random", log_capacity="full")
    state, metrics = _startup(startup.static, startup.params, loop.seed_keys(seeds), startup_rounds)
    return state, _finite_metrics(metrics, seeds)


def simulate_with_startup(config: Config, seeds: Sequence[int], startup_rounds: int, startup=None):
    """Run ``config`` for ``config.rounds`` rounds, of which the first ``startup_rounds``
    recommend at random (Chaney et al.'s start-up period) and the rest use
    ``config.recommender``, which is first trained on the start-up interactions.

    With the same seeds every recommender gets the same world and the same start-up
    history, so recommenders are compared on paired runs; pass ``startup`` (the result
    of :func:`startup_phase` for the same levers and seeds) to reuse one start-up.

    Both phases keep every round in the log (``log_capacity = full``): the recommender
    trains on the whole start-up log, and Chaney et al.'s measures read the final one.

    Returns ``(final_state, metrics)``; metrics are numpy ``[seeds, rounds]`` arrays.
    """
    _check_startup(config, startup_rounds)
    config = config.replace(log_capacity="full")
    state, first = startup if startup is not None else startup_phase(config, seeds, startup_rounds)
    state, rest = _continue(config.static, config.params, state, loop.seed_keys(seeds),
                            config.rounds - startup_rounds)
    rest = _finite_metrics(rest, seeds)
    return state, {name: np.concatenate([first[name], rest[name]], axis=1) for name in loop.METRIC_NAMES}


def consumption_history(log: data_mod.Log) -> np.ndarray:
    """Item (uid) each user consumed in each round, -1 for none: ``[rounds, users]``.

    Users click at most one slate item per round, so one column per round holds it all.
    """
    click = np.asarray(log.click)
    uid = np.asarray(log.uid)
    return np.where(click, uid, -1).max(axis=-1)


# ---------------------------------------------------------------------------
# homogenization and utility against the ideal recommender


def run_chaney(spec: Reproduction, workers: int = 2) -> pd.DataFrame:
    """Run every recommender of the study on paired worlds; one row per (recommender, seed, round).

    Rows are the checkpoints (``setup.checkpoints`` evenly spaced rounds after the
    start-up, the last round always included). Columns: ``homogenization``, the mean
    Jaccard index of the items consumed since the start-up over all pairs of users
    (:func:`labkit.sim.metrics.jaccard_homogenization`, as Chaney et al.); ``utility``, the
    mean true utility of the items consumed since the start-up; and both relative to the
    ``ideal`` recommender in the same seed: ``delta_homogenization`` (a difference, as in
    Chaney et al.'s figures) and ``relative_utility`` (``utility / ideal's - 1``).
    """
    exp = spec.experiment
    startup = spec.setup["startup_rounds"]
    if "ideal" not in exp.conditions:
        raise ConfigError("chaney: the study needs an `ideal` condition to measure against")
    rounds = exp.config.rounds
    after = rounds - startup
    checkpoints = np.unique(np.linspace(0, after - 1, min(spec.setup["checkpoints"], after)).round().astype(int))
    startups = {}  # one start-up per distinct set of non-recommender levers
    for config in exp.conditions.values():
        shared = config.replace(recommender="random").hash()
        if shared not in startups:
            startups[shared] = startup_phase(config, exp.seeds, startup)

    def one(item):
        name, config = item
        state, metrics = simulate_with_startup(config, exp.seeds, startup,
                                               startups[config.replace(recommender="random").hash()])
        return name, jax.device_get(state.log), metrics

    # Each recommender is its own compiled program; compiling two at a time uses both cores.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(one, exp.conditions.items()))
    records = []
    for name, logs, metrics in runs:
        for s, seed in enumerate(exp.seeds):
            history = consumption_history(jax.tree.map(lambda a: a[s], logs))[startup:]  # [after, users]
            utility = metrics["true_utility"][s, startup:]
            clicks = metrics["ctr"][s, startup:]
            for c in checkpoints:
                sets = np.where(np.arange(after)[:, None] <= c, history, -1).T  # users x rounds
                weight = clicks[:c + 1]
                records.append({
                    "recommender": name, "seed": seed, "round": startup + int(c),
                    "homogenization": float(M.jaccard_homogenization(sets)),
                    "utility": float((utility[:c + 1] * weight).sum() / max(weight.sum(), 1e-12)),
                    "ctr": float(weight.mean()),
                })
    table = pd.DataFrame.from_records(records)
    ideal = table[table["recommender"] == "ideal"].set_index(["seed", "round"])
    key = pd.MultiIndex.from_frame(table[["seed", "round"]])
    ideal = {column: ideal[column].reindex(key).to_numpy() for column in ("homogenization", "utility")}
    table["delta_homogenization"] = table["homogenization"].to_numpy() - ideal["homogenization"]
    table["relative_utility"] = table["utility"].to_numpy() / ideal["utility"] - 1.0
    return table



def check_chaney(table: pd.DataFrame, z: float = 2.0,
                 confounded: Sequence[str] = ("popularity", "mf", "content")) -> dict:
    """Does labkit show Chaney et al.'s homogenization and utility loss?

    At the last round, over seeds (each seed a paired world, so differences from
    ``ideal`` are taken seed by seed), one claim each:

    1. every recommender trained on its own confounded data (``confounded``) homogenizes
       users more than ``ideal``: mean Jaccard difference more than ``z`` SE above 0;
    2. ``random`` homogenizes less than ``ideal`` (more than ``z`` SE below 0), and the
       least of all recommenders (the lowest mean Jaccard index);
    3. users' utility is lower than under ``ideal`` for every other recommender:
       mean relative utility more than ``z`` SE below 0.
    """
    last = table[table["round"] == table["round"].max()]
    by = {name: group for name, group in last.groupby("recommender")}
    claims = []
    for name in confounded:
        if name in by:
            mean, se = _paired(by[name]["delta_homogenization"])
            claims.append(_claim(f"{name} homogenizes users more than ideal",
                                 {"Jaccard - ideal's": round(mean, 4), "SE": round(se, 4)}, "> 0",
                                 f"mean - {z:g} SE > 0", mean - z * se > 0))
    if "random" in by:
        mean, se = _paired(by["random"]["delta_homogenization"])
        jaccard = last.groupby("recommender")["homogenization"].mean()
        claims.append(_claim("random homogenizes least",
                             {"Jaccard - ideal's": round(mean, 4), "SE": round(se, 4),
                              "lowest": jaccard.idxmin(), "Jaccard by recommender": jaccard.round(4).to_dict()},
                             {"Jaccard - ideal's": "< 0", "lowest": "random"}, f"mean + {z:g} SE < 0",
                             mean + z * se < 0 and jaccard.idxmin() == "random"))
    measured, ok = {}, True
    for name, group in by.items():
        if name == "ideal":
            continue
        mean, se = _paired(group["relative_utility"])
        measured[name] = {"utility / ideal's - 1": round(mean, 4), "SE": round(se, 4)}
        ok &= mean + z * se < 0
    claims.append(_claim("utility is lower than under ideal", measured, {n: "< 0" for n in measured},
                         f"mean + {z:g} SE < 0", ok and bool(measured)))
    return _verdict(NAME, CITATION, claims)


def figure_chaney(table: pd.DataFrame):
    """(a) homogenization relative to ideal over rounds; (b) utility relative to ideal."""
    import seaborn as sns

    from labkit.analysis.style import style

    with style():
        fig, (a, b) = _figure(2, width=3.0, height=2.3)
        order = list(pd.unique(table["recommender"]))
        sns.lineplot(data=table, x="round", y="delta_homogenization", hue="recommender", hue_order=order,
                     errorbar=("se", 2), ax=a)
        a.axhline(0, color="k", lw=0.6)
        a.set(title="homogenization vs ideal\n(published: popularity, mf, content > 0 > random)",
              ylabel="Jaccard index - ideal's", xlabel="round")
        a.legend(frameon=False, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        last = table[table["round"] == table["round"].max()]
        sns.barplot(data=last, x="recommender", y="relative_utility", order=order, hue="recommender",
                    hue_order=order, errorbar=("se", 2), ax=b, legend=False)
        b.axhline(0, color="k", lw=0.6)
        b.set(title="utility vs ideal (published: all < 0)", ylabel="utility / ideal's - 1", xlabel="")
        b.tick_params(axis="x", rotation=30)
    return fig


PAPER = Paper(NAME, CITATION, SETUP, run_chaney, check_chaney, figure_chaney)
