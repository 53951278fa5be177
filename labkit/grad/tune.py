"""Gradient-based tuning of the levers: maximize a long-term objective under a CTR floor.

:func:`tune` fits the chosen continuous levers with optax (Adam) on the relaxed loop's
pathwise gradient (:func:`labkit.grad.estimators.pathwise`), a fresh batch of seeds each
step. Each lever is optimized in an unconstrained coordinate mapped into its allowed
range (a sigmoid onto a bounded range, ``low + softplus`` onto a half-line), so every
step's values are allowed. The constraint keeps the CTR at or above ``(1 - x)`` times
the greedy baseline's (``x``: ``max_ctr_loss``), by a quadratic penalty on the shortfall
(weight ``penalty``) in the objective ascended:
``objective - penalty * max(0, floor - ctr) ** 2``. The floor and the CTR the penalty
reads are measured on the *exact* loop (the greedy baseline once, the current levers
on each step's seeds): the relaxed loop's CTR is biased at the temperatures its
gradients are taken on (a soft slate shows a blend of items), so a floor on it would not
hold on the exact loop. Only the directions come from the relaxed loop: the gradient
of the objective and of the CTR. With a floor, the result is the iterate with the best
exact-loop objective among those that met the floor on their step's seeds
(:func:`_choose`); the exact runs that measure the CTR give it at no extra cost.

The result is judged on the *exact* loop: the final levers, the starting levers and the
greedy baseline are simulated over fresh seeds (never those the tuner saw) and their
objective and CTR reported; a relaxed-loop number is never the result.

Written under ``out`` (atomically; an interrupted run resumes from its last step):
``trajectory.parquet`` (per step: levers, objective, CTR, floor, penalized objective,
gradient norm, worlds simulated so far), ``evaluation.parquet`` (per setting and fresh
seed, on the exact loop) and ``manifest.json`` (resolved config, the tuning's
settings, versions, commit, wall time).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from labkit.grad import relaxed
from labkit.grad.estimators import (Objective, _relaxed_value_and_jacobian, as_params, check_levers,
                                    check_temperature, objective as make_objective)
from labkit.sim.config import LEVERS, Config, Params, Static
from labkit.sim.levers import ConfigError
from labkit.sim.loop import check_memory, seed_keys, simulate_seeds
from labkit.sim.prng import unrolled_threefry

UNBOUNDED = 1e3  # an upper bound at or above this is treated as none (softplus, not sigmoid)
# How far inside its range a lever that starts on an end is moved (in its units on a
# half-line; as a share of the range on a bounded one): at the end itself the map's slope is 0.
START_INSIDE = 0.05


class Bounds(NamedTuple):
    """A lever's range as the tuner maps it: ``low + (high - low) sigmoid(u)`` or ``low + softplus(u)``."""

    low: float
    high: float | None  # None: a half-line

    def value(self, u):
        if self.high is None:
            return self.low + jax.nn.softplus(u)
        return self.low + (self.high - self.low) * jax.nn.sigmoid(u)

    def coordinate(self, x: float) -> float:
        """The unconstrained coordinate of ``x``; a value on (or next to) an end starts
        :data:`START_INSIDE` inside it, where the map's slope still lets it move."""
        if self.high is None:
            gap = max(x - self.low, START_INSIDE)
            return float(gap + math.log(-math.expm1(-gap)))  # softplus^-1
        share = min(max((x - self.low) / (self.high - self.low), START_INSIDE), 1 - START_INSIDE)
        return float(math.log(share) - math.log1p(-share))


def bounds(name: str) -> Bounds:
    lever = LEVERS[name]
    low = 0.0 if lever.low is None else float(lever.low)
    high = None if lever.high is None or lever.high >= UNBOUNDED else float(lever.high)
    return Bounds(low, high)


class TuneResult(NamedTuple):
    """What :func:`tune` found and how it was judged (tables as written under ``out``)."""

    levers: dict[str, float]  # the final values
    trajectory: pd.DataFrame
    evaluation: pd.DataFrame  # exact loop, fresh seeds: per setting and seed
    summary: pd.DataFrame  # per setting: objective and CTR, mean and standard error
    worlds: dict[str, int]  # simulated worlds: relaxed (tuning), exact (CTR floor), exact (evaluation)
    manifest: dict[str, Any]


def _params_of(base: Params, names: tuple[str, ...], limits: tuple[Bounds, ...], u) -> Params:
    return base._replace(**{n: b.value(u[i]) for i, (n, b) in enumerate(zip(names, limits))})


def _step_values(static: Static, objective_: Objective, names: tuple[str, ...], limits: tuple[Bounds, ...],
                 base: Params, u, keys, tau):
    """Per seed, on the relaxed loop: the objective and the CTR, and their gradients in ``u``.

    The pathwise program of :mod:`labkit.grad.estimators` in the levers themselves (one
    compiled program per world and objective pair, shared with ``pathwise_many`` there, so
    study 07's sensitivity map and its tuning compile it once), then the chain rule through
    each lever's map onto its range (:meth:`Bounds.value`, elementwise)."""
    params = as_params(_params_of(base, names, limits, u))
    values, jac = _relaxed_value_and_jacobian(static, (objective_, ctr_objective(objective_)), params, keys, tau)
    slope = jnp.stack([jax.grad(b.value)(u[i]) for i, b in enumerate(limits)])
    return values, jnp.stack([getattr(jac, n) for n in names], axis=-1) * slope  # [seeds, 2, levers]


def _exact(config: Config, objective_: Objective, seeds) -> tuple[np.ndarray, np.ndarray]:
    """The objective and the CTR (reduced as the objective is) of the exact loop, per seed
    (the program a sweep runs, every policy a branch: one compile serves every policy)."""
    metrics = jax.device_get(simulate_seeds(config, seeds, policy_branches=True)[1])
    return (np.asarray(objective_(metrics), dtype=np.float64),
            np.asarray(ctr_objective(objective_)(metrics), dtype=np.float64))


def ctr_objective(objective_: Objective) -> Objective:
    """The CTR the floor constrains: reduced over rounds as the objective is."""
    return Objective("ctr", objective_.reduce)


def baseline_config(config: Config) -> Config:
    """The greedy feed the CTR floor is measured against: the config with policy greedy,
    no novelty reward and every logged row retrained on (``accumulate``)."""
    return config.replace(policy="greedy", novelty_weight=0.0, data_strategy="accumulate")


def check_tune(objective_: str, levers: Sequence[str], steps: int, max_ctr_loss: float | None,
               relax_temperature: float, seeds_per_step: int, eval_seeds: int, learning_rate: float) -> None:
    """Refuse bad settings before any compute, naming the setting and what is allowed."""
    make_objective(objective_)
    check_levers(levers)
    check_temperature(relax_temperature)
    for name, value, low in (("steps", steps, 1), ("seeds_per_step", seeds_per_step, 1),
                             ("eval_seeds", eval_seeds, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name} = {value!r}: allowed: a whole number >= {low}")
    if max_ctr_loss is not None and (isinstance(max_ctr_loss, bool) or not isinstance(max_ctr_loss, (int, float))
                                     or not 0.0 <= max_ctr_loss <= 1.0):
        raise ConfigError(f"constraint: max_ctr_loss = {max_ctr_loss!r}: allowed: a share in [0, 1] "
                          f"(CTR >= (1 - x) * the greedy baseline's), or none")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ConfigError(f"learning_rate = {learning_rate!r}: allowed: a number > 0")


def tune(config: Config, objective: str, levers: Sequence[str], steps: int, *, reduce: str = "last",
         max_ctr_loss: float | None = 0.1, penalty: float = 100.0, learning_rate: float = 0.1,
         relax_temperature: float = 0.5, seeds_per_step: int = 4, eval_seeds: int = 8, seed: int = 0,
         out: str | Path | None = None, progress: bool = True) -> TuneResult:
    """Fit ``levers`` to maximize ``objective`` (a metric, reduced over rounds by ``reduce``)
    subject to CTR >= ``(1 - max_ctr_loss)`` of the greedy baseline (None: no floor).

    ``steps`` Adam steps at ``learning_rate`` (in the levers' unconstrained coordinates),
    each on ``seeds_per_step`` fresh seeds of the relaxed loop at ``relax_temperature``.
    Seeds: tuning uses ``seed + 1000 * (1 + step) + i`` for ``i < seeds_per_step`` (the
    relaxed loop for the gradients, the exact loop for the CTR the penalty reads); the
    CTR floor is measured on the exact greedy baseline at ``seed + 500 + i``; the
    evaluation on the exact loop uses ``seed + j`` for ``j < eval_seeds``. The CTR is
    reduced over rounds as the objective is. The manifest's ``worlds`` counts what was
    simulated: ``steps * seeds_per_step`` relaxed worlds with a backward pass, as many
    exact worlds for the CTR (none without a floor) plus the floor's ``seeds_per_step``,
    and ``3 * eval_seeds`` exact worlds judging the result. With ``out``, writes the
    trajectory, evaluation and manifest there and resumes an interrupted run with the
    same settings.
    """
    from tqdm.auto import tqdm

    from labkit.experiments.results import manifest as make_manifest
    from labkit.experiments.results import write_json, write_table

    check_tune(objective, levers, steps, max_ctr_loss, relax_temperature, seeds_per_step, eval_seeds,
               learning_rate)
    relaxed.check_supported(config.static)
    # the exact loop's worlds, before any compute (the relaxed loop's own memory is not estimated)
    check_memory(config.static, seeds=max(seeds_per_step, eval_seeds))
    objective_ = make_objective(objective, reduce)
    names = tuple(levers)
    limits = tuple(bounds(n) for n in names)
    tau = jnp.float32(relax_temperature)
    settings = {"objective": objective, "reduce": reduce, "levers": list(names), "steps": steps,
                "max_ctr_loss": max_ctr_loss, "penalty": penalty, "learning_rate": learning_rate,
                "relax_temperature": relax_temperature, "seeds_per_step": seeds_per_step,
                "eval_seeds": eval_seeds, "seed": seed, "config_hash": config.hash()}
    start = time.perf_counter()
    base = config.params
    with unrolled_threefry():
        floor = -np.inf
        if max_ctr_loss is not None:  # on the exact loop: the greedy baseline's CTR
            _, greedy = _exact(baseline_config(config), objective_, range(seed + 500, seed + 500 + seeds_per_step))
            floor = (1.0 - max_ctr_loss) * float(greedy.mean())
        optimizer = optax.adam(learning_rate)
        u = jnp.asarray([b.coordinate(float(getattr(config, n))) for n, b in zip(names, limits)], jnp.float32)
        opt_state = optimizer.init(u)
        rows: list[dict[str, Any]] = []
        first = _resume(out, settings)
        if first is not None:
            rows, u, opt_state = first[0], jnp.asarray(first[1], jnp.float32), _restore(opt_state, first[2])
        bar = tqdm(total=steps, initial=len(rows), desc=f"tune {objective}", unit="step", disable=not progress)
        for step in range(len(rows), steps):
            keys = seed_keys(range(seed + 1000 * (1 + step), seed + 1000 * (1 + step) + seeds_per_step))
            values, jacobian = jax.device_get(_step_values(config.static, objective_, names, limits, base, u,
                                                           keys, tau))
            value, ctr = values[:, 0], values[:, 1]
            levels = {n: float(b.value(u[i])) for i, (n, b) in enumerate(zip(names, limits))}
            exact_value, exact_ctr, shortfall = np.nan, np.nan, 0.0
            if max_ctr_loss is not None:  # the same seeds on the exact loop: the CTR the penalty reads
                exact_value, exact_ctr = (float(v.mean()) for v in _exact(
                    config.replace(**levels), objective_, range(seed + 1000 * (1 + step),
                                                                seed + 1000 * (1 + step) + seeds_per_step)))
                shortfall = max(floor - exact_ctr, 0.0)
            # ascend objective - penalty * shortfall**2: the shortfall's slope is -d CTR (relaxed)
            grad = jnp.asarray(jacobian[:, 0].mean(axis=0) + 2.0 * penalty * shortfall * jacobian[:, 1].mean(axis=0))
            if not bool(jnp.isfinite(grad).all()):
                bad = names[int(np.argmax(~np.isfinite(np.asarray(grad))))]
                raise FloatingPointError(f"tune step {step}: the gradient in {bad} is not finite (seeds "
                                         f"{seed + 1000 * (1 + step)}..; labkit.grad.pathwise names the round)")
            rows.append({"step": step, **levels, "objective": float(value.mean()), "ctr_relaxed": float(ctr.mean()),
                         "objective_exact": exact_value, "ctr": exact_ctr, "ctr_floor": floor,
                         "penalized": float(value.mean()) - penalty * shortfall ** 2,
                         "grad_norm": float(jnp.linalg.norm(grad)),
                         "relaxed_worlds": (step + 1) * seeds_per_step,
                         "exact_worlds": ((step + 2) * seeds_per_step if max_ctr_loss is not None else 0)})
            updates, opt_state = optimizer.update(-grad, opt_state, u)  # ascend
            u = optax.apply_updates(u, updates)
            if out is not None:
                _checkpoint(out, settings, rows, u, opt_state)
            bar.update(1)
            bar.set_postfix(objective=f"{rows[-1]['objective']:.3f}", ctr=f"{rows[-1]['ctr']:.3f}")
        bar.close()
        final = _choose(rows, names, {n: float(b.value(u[i])) for i, (n, b) in enumerate(zip(names, limits))},
                        max_ctr_loss is not None)
        evaluation = evaluate(config, final, objective_, range(seed, seed + eval_seeds))
    trajectory = pd.DataFrame(rows)
    summary = evaluation.groupby("setting", sort=False).agg(
        objective=("objective", "mean"), objective_se=("objective", "sem"), ctr=("ctr", "mean"),
        ctr_se=("ctr", "sem")).reset_index()
    worlds = {"relaxed (with gradient)": steps * seeds_per_step,
              "exact (CTR floor)": (steps + 1) * seeds_per_step if max_ctr_loss is not None else 0,
              "exact (evaluation)": len(evaluation)}
    wall = time.perf_counter() - start
    meta = make_manifest(config, list(range(seed, seed + eval_seeds)), wall, tuning=settings, final_levers=final,
                         worlds=worlds, ctr_floor=float(floor))
    if out is not None:
        out = Path(out)
        write_table(trajectory, out / "trajectory.parquet")
        write_table(evaluation, out / "evaluation.parquet")
        write_json(meta, out / "manifest.json")
        (out / "checkpoint.json").unlink(missing_ok=True)
    return TuneResult(final, trajectory, evaluation, summary, worlds, meta)


def _choose(rows: list[dict[str, Any]], names: tuple[str, ...], last: dict[str, float], floored: bool
            ) -> dict[str, float]:
    """The tuning's result. Without a floor: the levers after the last step. With one: the
    iterate with the best exact-loop objective among those whose exact CTR met the floor
    on their step's seeds (the stochastic steps may leave the feasible set, and the
    relaxed loop's CTR slope is a rough guide), or, if none met it, the one closest to it."""
    if not floored:
        return last
    feasible = [r for r in rows if r["ctr"] >= r["ctr_floor"]]
    best = (max(feasible, key=lambda r: r["objective_exact"]) if feasible
            else max(rows, key=lambda r: r["ctr"] - r["ctr_floor"]))
    return {n: best[n] for n in names}


def evaluate(config: Config, levers: dict[str, float], objective_: Objective, seeds: Sequence[int]) -> pd.DataFrame:
    """The exact loop over ``seeds``: the tuned levers, the config's own and the greedy baseline.
    One row per setting and seed: the objective (on the exact loop) and the CTR, reduced as it is."""
    seeds = list(seeds)
    settings = {"tuned": config.replace(**levers), "start": config, "greedy baseline": baseline_config(config)}
    frames = []
    for name, setting in settings.items():
        value, ctr = _exact(setting, objective_, seeds)
        frames.append(pd.DataFrame({"setting": name, "seed": seeds, "objective": value, "ctr": ctr,
                                    **{n: float(getattr(setting, n)) for n in levers}}))
    return pd.concat(frames, ignore_index=True)


# --- resuming an interrupted run

def _checkpoint(out, settings, rows, u, opt_state) -> None:
    from labkit.experiments.results import write_json

    leaves = [np.asarray(leaf).tolist() for leaf in jax.tree.leaves(opt_state)]
    write_json({"settings": settings, "rows": rows, "u": np.asarray(u).tolist(), "opt_state": leaves},
               Path(out) / "checkpoint.json")


def _resume(out, settings):
    if out is None or not (Path(out) / "checkpoint.json").exists():
        return None
    saved = json.loads((Path(out) / "checkpoint.json").read_text())
    if saved["settings"] != json.loads(json.dumps(settings)):
        return None  # another tuning wrote it: start afresh (it is overwritten at the first step)
    return saved["rows"], saved["u"], saved["opt_state"]


def _restore(template, leaves):
    treedef = jax.tree.structure(template)
    return jax.tree.unflatten(treedef, [jnp.asarray(v, jnp.asarray(t).dtype)
                                        for v, t in zip(leaves, jax.tree.leaves(template))])
