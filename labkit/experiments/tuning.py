"""Study 07: gradients of the loop, a mitigation mix tuned by them, and the relaxation checked.

:func:`run_tuning` is the call notebook ``07_tuning`` makes. From ``experiments/tuning.yaml``
(the pressure of 02-06; one arm per mitigation family, at 06's representative setting)
at a scale it computes and writes, under ``out`` (atomically):

* ``sensitivity.parquet``: per lever, metric and seed, the pathwise gradient of the
  metric's late-round mean (relaxed loop), each lever read in the arm where it acts
  (:func:`read_in`); one compiled program per arm, every metric's gradient in one pass;
* ``relaxation.parquet``: late-round means per seed of the relaxed loop at each
  relaxation temperature, and of the exact loop (``tau`` = 0);
* ``tune/``: the tuning's trajectory, its exact-loop evaluation and manifest
  (:func:`labkit.grad.tune.tune`), and ``metrics.parquet``: the tuned mix simulated
  on the exact loop over the study's seeds (the seeds of 06, so it lands on 06's plane);
* ``manifest.json``: the study, its settings and how many worlds each method simulated.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from labkit.experiments.paths import in_repo
from labkit.experiments.results import manifest, write_json, write_table
from labkit.experiments.study import Experiment, load
from labkit.experiments.sweep import compute_point, sweep_points
from labkit.sim.config import PARAM_LEVERS, Config

# Levers that act only through the data strategy's AI-influenced rows: read where one weighs them.
_READ_UNDER_STRATEGY = {"influence_threshold": "downweight"}
# The studies whose grid search drew 06's plane (06 and the sweeps behind its settings).
GRID_STUDIES = ("exploration", "stochasticity", "data_separation", "tradeoffs")
SENSITIVITY_METRICS = ("exposure_entropy", "ctr")


def read_in(experiment: Experiment) -> dict[str, str]:
    """Per continuous lever, the arm where its gradient is read: the arm that sets it, the
    arm with the data strategy it acts through, else the baseline (the first arm)."""
    arms = {arm.label: dict(arm.levers) for arm in experiment.arms}
    baseline = experiment.arms[0].label
    where = {}
    for lever in PARAM_LEVERS:
        setting = next((label for label, levers in arms.items() if lever in levers), None)
        if setting is None and lever in _READ_UNDER_STRATEGY:
            strategy = _READ_UNDER_STRATEGY[lever]
            setting = next((label for label, levers in arms.items()
                            if levers.get("data_strategy", (None,))[0] == strategy), None)
        where[lever] = setting or baseline
    return where


def sensitivity(experiment: Experiment, relax_temperature: float, metrics: Sequence[str] = SENSITIVITY_METRICS,
                progress: bool = True) -> pd.DataFrame:
    """Per lever, metric and seed: the pathwise gradient of the metric's late-round mean,
    read in :func:`read_in`'s arm (one row per lever, metric and seed)."""
    from tqdm.auto import tqdm

    from labkit.grad.estimators import objective, pathwise_many

    where = read_in(experiment)
    configs = {label: config for label, _, config in experiment.points()}
    frames = []
    for arm in tqdm(list(dict.fromkeys(where.values())), desc="gradients", unit="world", disable=not progress):
        levers = [lever for lever, at in where.items() if at == arm]
        results = pathwise_many(configs[arm], [objective(m, "late") for m in metrics], experiment.seeds, levers,
                                relax_temperature)
        for metric, result in zip(metrics, results):
            for lever in levers:
                frames.append(pd.DataFrame({"arm": arm, "lever": lever, "metric": metric,
                                            "value": float(getattr(configs[arm], lever)),
                                            "seed": list(result.seeds), "grad": result.grad[lever]}))
    return pd.concat(frames, ignore_index=True)


def relaxation_check(config: Config, seeds: Sequence[int], temperatures: Sequence[float],
                     metrics: Sequence[str]) -> pd.DataFrame:
    """Late-round means per seed of the relaxed loop at each temperature and of the exact
    loop (``tau`` = 0), on the same seeds: one row per ``tau`` and seed."""
    from labkit.grad.estimators import objective, relaxed_metrics
    from labkit.sim.loop import simulate_seeds

    seeds = list(seeds)
    runs = [(0.0, "exact", simulate_seeds(config, seeds, policy_branches=True)[1])]  # the sweeps' program
    runs += [(float(tau), "relaxed", relaxed_metrics(config, seeds, tau)) for tau in temperatures]
    return pd.DataFrame([{"tau": tau, "loop": loop, "seed": seed,
                          **{m: float(np.asarray(objective(m, "late", relaxed_loop=False)(values))[i])
                             for m in metrics}}
                         for tau, loop, values in runs for i, seed in enumerate(seeds)])


def grid_worlds(scale: str | None, studies: Sequence[str] = GRID_STUDIES) -> int:
    """Worlds the grid search behind 06's plane simulated: distinct points of those
    studies (a point shared by two is computed once) times their seeds."""
    seen: dict[str, int] = {}
    for name in studies:
        experiment = load(in_repo(f"experiments/{name}.yaml"), scale)
        for point in sweep_points(experiment):
            seen[point.config_hash] = len(experiment.seeds)
    return sum(seen.values())


@dataclass(frozen=True)
class TuningRun:
    """What :func:`run_tuning` computed and wrote under ``out``."""

    experiment: Experiment
    out: Path
    sensitivity: pd.DataFrame
    relaxation: pd.DataFrame
    tuned: Any  # labkit.grad.tune.TuneResult
    tuned_table: pd.DataFrame  # the tuned mix on the exact loop, the study's seeds (metrics.parquet)
    worlds: dict[str, int]


def run_tuning(experiment_path: str | os.PathLike, scale: str, out: str | os.PathLike, *, mix: dict[str, Any],
               objective: str, levers: Sequence[str], steps: int, seeds_per_step: int, max_ctr_loss: float,
               learning_rate: float, relax_temperature: float, temperatures: Sequence[float],
               eval_seeds: int | None = None, progress: bool = True) -> TuningRun:
    """Study 07 at ``scale``: the sensitivity map, the tuned mix (``mix`` on the study's base,
    ``levers`` fitted for ``objective``'s late-round mean) and the relaxation check."""
    from labkit.grad.tune import tune

    start = time.perf_counter()
    experiment = load(in_repo(experiment_path), scale)
    out = in_repo(out)
    seeds = list(experiment.seeds)
    per_seed = sensitivity(experiment, relax_temperature, progress=progress)
    write_table(per_seed, out / "sensitivity.parquet")

    mixed = experiment.config.replace(**mix)
    tuned = tune(mixed, objective, levers, steps, reduce="late", max_ctr_loss=max_ctr_loss,
                 learning_rate=learning_rate, relax_temperature=relax_temperature, seeds_per_step=seeds_per_step,
                 eval_seeds=eval_seeds or len(seeds), seed=seeds[0], out=out / "tune", progress=progress)
    tuned_config = mixed.replace(**tuned.levers)
    table = compute_point(tuned_config, seeds)
    table.attrs = {}
    table.insert(0, "arm", "tuned")
    write_table(table, out / "metrics.parquet")

    relaxation = relaxation_check(experiment.config, seeds, temperatures,
                                  ["exposure_entropy", "consumption_entropy", "ctr", "true_utility"])
    write_table(relaxation, out / "relaxation.parquet")

    n_worlds = {"grid search (02-04, 06)": grid_worlds(scale),
                "tuning (relaxed, with gradient)": tuned.worlds["relaxed (with gradient)"],
                "tuning (exact, CTR floor)": tuned.worlds["exact (CTR floor)"],
                "tuned mix judged (exact)": len(seeds),
                "sensitivity map (relaxed, with gradient)": int(per_seed.groupby("arm")["seed"].nunique().sum())}
    write_json(manifest(tuned_config, seeds, time.perf_counter() - start, study=experiment.name, scale=scale,
                        description=experiment.description, mix=mix, tuned_levers=tuned.levers,
                        tuning=tuned.manifest["tuning"], worlds=n_worlds,
                        relaxation_temperatures=[float(t) for t in temperatures]),
               out / "manifest.json")
    return TuningRun(experiment, out, per_seed, relaxation, tuned, table, n_worlds)
