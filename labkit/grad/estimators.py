"""Gradients of a long-term objective with respect to the levers, by two estimators.

An :class:`Objective` is a scalar function of a run's metric series: one metric,
reduced over rounds (its last round, its mean, or the mean of its late rounds). Its
gradient with respect to the :class:`~labkit.sim.config.Params` levers comes from

* :func:`pathwise`: ``jax.value_and_grad`` of the *relaxed* loop
  (:mod:`labkit.grad.relaxed`), per seed, at a relaxation temperature ``tau``. Every
  continuous lever gets a gradient, at the cost of about one backward pass. Biased for
  the exact loop's gradient (the relaxation; the bias shrinks with ``tau``), with a
  variance over seeds that grows as ``tau`` falls. Exact for the relaxed loop itself
  (equal to its finite differences, tested).
* :func:`score_function`: REINFORCE on the *exact* loop (:mod:`labkit.grad.score`):
  unbiased, for the levers that act only through a sampled decision's probability
  (policy sampling, exploration coins, the click model, the synthetic coin), with a
  leave-one-out baseline over seeds as control variate. Its variance grows with the
  number of rounds and decisions; it gives nothing for levers that act
  deterministically (drift, UCB's beta, MMR's lambda, the loss weights).

Both return a :class:`Gradient`: the objective and the gradient per seed, so that
their means come with standard errors. A NaN gradient raises :class:`GradientError`
naming the seed, the lever and the first round where the lever's tangent stopped
being finite.
"""

from __future__ import annotations

import difflib
from functools import partial
from typing import Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from labkit.grad import relaxed
from labkit.sim.config import PARAM_LEVERS, STATIC_LEVERS, Config, Params, Static
from labkit.sim.levers import ConfigError
from labkit.sim.loop import seed_keys
from labkit.sim.measure import METRIC_NAMES
from labkit.sim.prng import unrolled_threefry

REDUCTIONS = ("last", "mean", "late")
LATE_ROUNDS = 10  # rounds averaged by the ``late`` reduction, at most half a run (as the studies' late means)


def late_window(n_rounds: int) -> int:
    """How many final rounds ``late`` averages: :data:`LATE_ROUNDS`, at most half the run, at
    least 1 (the window of :func:`labkit.analysis.tables.late_window`, tested equal)."""
    return max(1, min(LATE_ROUNDS, n_rounds // 2))


class Objective(NamedTuple):
    """A scalar of a run: ``metric`` reduced over rounds by ``reduce`` (``last``: the last
    round; ``mean``: every round; ``late``: the last :func:`late_window` rounds)."""

    metric: str
    reduce: str = "last"

    def __call__(self, metrics: Mapping[str, jax.Array]) -> jax.Array:
        series = metrics[self.metric]
        if self.reduce == "last":
            return series[..., -1]
        if self.reduce == "mean":
            return series.mean(axis=-1)
        return series[..., -late_window(series.shape[-1]):].mean(axis=-1)

    def describe(self) -> str:
        return f"{self.metric} ({self.reduce})"


def objective(metric: str, reduce: str = "last", relaxed_loop: bool = True) -> Objective:
    """A validated :class:`Objective`; ``relaxed_loop``: the metric must be one the relaxed
    loop measures (:data:`labkit.grad.relaxed.RELAXED_METRICS`)."""
    allowed = relaxed.RELAXED_METRICS if relaxed_loop else METRIC_NAMES
    if metric not in allowed:
        near = difflib.get_close_matches(str(metric), allowed, n=2)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        extra = (" (coverage and homogenization count sets: the relaxed loop has no smooth counterpart)"
                 if metric in METRIC_NAMES else "")
        raise ConfigError(f"objective: unknown metric {metric!r}{hint}{extra}; allowed: {', '.join(allowed)}")
    if reduce not in REDUCTIONS:
        raise ConfigError(f"objective: reduce = {reduce!r}; allowed: {', '.join(REDUCTIONS)}")
    return Objective(metric, reduce)


def check_levers(levers: Sequence[str] | None, where: str = "levers") -> tuple[str, ...]:
    """The lever names, each a continuous (param) lever; all of them when None."""
    if levers is None:
        return PARAM_LEVERS
    if isinstance(levers, str) or not levers:
        raise ConfigError(f"{where}: expected a non-empty list of lever names, got {levers!r}")
    for name in levers:
        if name in STATIC_LEVERS:
            raise ConfigError(f"{where}: {name} is a static lever (it fixes shapes or picks code); "
                              f"only continuous levers have a gradient: {', '.join(PARAM_LEVERS)}")
        if name not in PARAM_LEVERS:
            near = difflib.get_close_matches(str(name), PARAM_LEVERS, n=2)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise ConfigError(f"{where}: unknown lever {name!r}{hint}; allowed: {', '.join(PARAM_LEVERS)}")
    if len(set(levers)) != len(levers):
        raise ConfigError(f"{where}: a lever is named twice in {list(levers)!r}")
    return tuple(levers)


def check_temperature(tau: float, where: str = "relax_temperature") -> float:
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not np.isfinite(tau) or tau <= 0:
        raise ConfigError(f"{where} = {tau!r}: allowed: a finite number > 0 (the relaxation's temperature)")
    return float(tau)


class Gradient(NamedTuple):
    """An estimator's output: the objective and its gradient per seed."""

    objective: Objective
    levers: tuple[str, ...]
    seeds: tuple[int, ...]
    value: np.ndarray  # [seeds]
    grad: dict[str, np.ndarray]  # lever -> [seeds]

    def mean(self) -> dict[str, float]:
        """The gradient's mean over seeds, per lever."""
        return {name: float(values.mean()) for name, values in self.grad.items()}

    def stderr(self) -> dict[str, float]:
        """The standard error of that mean, per lever (0 with a single seed)."""
        n = len(self.seeds)
        return {name: float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
                for name, values in self.grad.items()}

    def table(self):
        """One row per lever: the mean gradient, its standard error and a 95% interval."""
        import pandas as pd

        mean, se = self.mean(), self.stderr()
        return pd.DataFrame({"lever": list(self.levers), "grad": [mean[n] for n in self.levers],
                             "se": [se[n] for n in self.levers],
                             "low": [mean[n] - 1.96 * se[n] for n in self.levers],
                             "high": [mean[n] + 1.96 * se[n] for n in self.levers]})


class GradientError(FloatingPointError):
    """A gradient is not finite; the message names the seed, the lever and the round."""


def as_params(params: Params, dtype=None) -> Params:
    """``params`` as arrays of ``dtype`` (default: jax's default float)."""
    return jax.tree.map(lambda x: jnp.asarray(x, dtype or jnp.result_type(float)), params)


@partial(jax.jit, static_argnums=(0,))
def _relaxed_metrics(static: Static, params: Params, keys, tau):
    return jax.vmap(lambda k: relaxed.run(static, params, k, tau)[1])(keys)


def relaxed_metrics(config: Config, seeds: Sequence[int], relax_temperature: float = 0.5,
                    params: Params | None = None) -> dict[str, np.ndarray]:
    """The relaxed loop's metrics per seed and round (``[seeds, rounds]`` each)."""
    relaxed.check_supported(config.static)
    tau = check_temperature(relax_temperature)
    params = as_params(config.params if params is None else params)
    with unrolled_threefry():
        out = _relaxed_metrics(config.static, params, seed_keys(seeds), jnp.asarray(tau, relaxed.float_type(params)))
    return jax.device_get(out)


def pathwise(config: Config, objective_: Objective, seeds: Sequence[int], levers: Sequence[str] | None = None,
             relax_temperature: float = 0.5, params: Params | None = None) -> Gradient:
    """The pathwise gradient of ``objective_`` on the relaxed loop, per seed.

    ``params`` overrides ``config.params`` (the tuner passes its current values; pass
    float64 params under ``jax.enable_x64(True)`` for a float64 gradient). Raises
    :class:`GradientError` where a gradient of a requested lever is not finite.
    """
    return pathwise_many(config, [objective_], seeds, levers, relax_temperature, params)[0]


@partial(jax.jit, static_argnums=(0, 1))
def _relaxed_value_and_jacobian(static: Static, objectives: tuple[Objective, ...], params: Params, keys, tau):
    def many(p, key):
        metrics = relaxed.run(static, p, key, tau)[1]
        return jnp.stack([o(metrics) for o in objectives])

    def one(p, key):  # the values ride along as jacrev's aux: one forward pass, not two
        jac, values = jax.jacrev(lambda q: (many(q, key),) * 2, has_aux=True)(p)
        return values, jac
    return jax.vmap(one, in_axes=(None, 0))(params, keys)


def pathwise_many(config: Config, objectives: Sequence[Objective], seeds: Sequence[int],
                  levers: Sequence[str] | None = None, relax_temperature: float = 0.5,
                  params: Params | None = None) -> list[Gradient]:
    """:func:`pathwise` for several objectives of the same runs, in one compiled program
    (one backward pass per objective, ``jax.jacrev``); one :class:`Gradient` per objective."""
    relaxed.check_supported(config.static)
    names = check_levers(levers)
    tau = check_temperature(relax_temperature)
    params = as_params(config.params if params is None else params)
    seeds = tuple(int(s) for s in seeds)
    objectives = tuple(objectives)
    with unrolled_threefry():
        values, jac = _relaxed_value_and_jacobian(config.static, objectives, params, seed_keys(seeds),
                                                  jnp.asarray(tau, relaxed.float_type(params)))
    values, jac = jax.device_get((values, jac))
    results = []
    for i, objective_ in enumerate(objectives):
        result = Gradient(objective_, names, seeds, np.asarray(values[:, i]),
                          {name: np.asarray(getattr(jac, name)[:, i]) for name in names})
        _check_finite(result, lambda seed, lever, o=objective_: _first_bad_round(config.static, o, params, seed,
                                                                                 lever, tau))
        results.append(result)
    return results


def _check_finite(result: Gradient, locate) -> None:
    for name in result.levers:
        bad = ~np.isfinite(result.grad[name])
        if bad.any():
            seed = result.seeds[int(np.argmax(bad))]
            raise GradientError(f"the gradient of {result.objective.describe()} with respect to {name} is not "
                                f"finite: seed {seed}, {locate(seed, name)}")
    if not np.isfinite(result.value).all():
        seed = result.seeds[int(np.argmax(~np.isfinite(result.value)))]
        raise GradientError(f"the objective {result.objective.describe()} is not finite at seed {seed}")


def _first_bad_round(static: Static, objective_: Objective, params: Params, seed: int, lever: str,
                     tau: float) -> str:
    """Where a lever's effect first stops being finite: forward-mode tangents of every
    metric, round by round (``jax.jvp`` in the lever's direction)."""
    tangent = jax.tree.map(jnp.zeros_like, params)._replace(**{lever: jnp.ones_like(getattr(params, lever))})
    key = seed_keys([seed])[0]
    with unrolled_threefry():
        _, dmetrics = jax.jit(lambda p, t: jax.jvp(lambda q: relaxed.run(static, q, key, tau)[1], (p,), (t,)),
                              static_argnums=())(params, tangent)
    rounds = np.asarray(dmetrics[objective_.metric])
    bad = np.flatnonzero(~np.isfinite(rounds))
    if bad.size:
        return f"first at round {int(bad[0])} (d {objective_.metric} / d {lever})"
    return "in the backward pass only (every forward tangent is finite)"


def finite_difference(config: Config, objective_: Objective, seeds: Sequence[int], lever: str, step: float,
                      relaxed_loop: bool, relax_temperature: float = 0.5, params: Params | None = None
                      ) -> np.ndarray:
    """Central differences of ``objective_`` in ``lever`` with common random numbers, per seed:
    ``(f(x + step) - f(x - step)) / (2 step)``, on the relaxed or the exact loop."""
    from labkit.sim.loop import check_finite, _simulate_seeds

    params = as_params(config.params if params is None else params)
    x = getattr(params, lever)
    values = []
    for sign in (+1, -1):
        shifted = params._replace(**{lever: x + sign * step})
        if relaxed_loop:
            metrics = relaxed_metrics(config, seeds, relax_temperature, shifted)
        else:
            with unrolled_threefry():
                metrics = check_finite(_simulate_seeds(config.static, shifted, seed_keys(seeds))[1], seeds)
        values.append(np.asarray(objective_(jax.device_get(metrics))))
    return (values[0] - values[1]) / (2 * step)
