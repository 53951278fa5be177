"""The score-function (REINFORCE) gradient on the exact loop.

For a lever ``x`` that acts on a run only through the probability of its draws,
``d/dx E[f] = E[f * d/dx log p(draws)]``. :func:`labkit.sim.loop.step` with
``score=True`` returns, each round, the gradient in every lever of the log-probability
of that round's draws, computed from the same scores and states as the draws
themselves: the synthetic coins (``synthetic_share``), the policy's sampling
(``softmax``: the Plackett-Luce draw, in ``temperature`` and ``novelty_weight``;
``epsilon_greedy``: the exploration coins, in ``epsilon``), the reserve stream's coins
(``reserve_share``) and the clicks (``choice_sharpness``, ``no_click_logit``,
``position_bias``). The estimate per seed ``s`` is ``(f_s - b_s) * sum_rounds score_s``
with the leave-one-out baseline ``b_s``, the mean of ``f`` over the other seeds: a
control variate that leaves the estimate unbiased (``b_s`` does not depend on seed
``s``'s draws) and removes most of its variance when ``f`` varies little between seeds.

The estimate is unbiased for the exact loop; its variance grows with the rounds and the
number of draws scored. It needs at least 2 seeds. Levers that also act
deterministically (the novelty reward under a ranking policy, drift, UCB's beta, MMR's
lambda, loss weights...) have a pathwise part this estimator does not see: they are
refused (:func:`score_levers` says which are allowed); use
:func:`labkit.grad.estimators.pathwise` for them.
"""

from __future__ import annotations

from functools import partial
from typing import Sequence

import jax
import numpy as np

from labkit.grad.estimators import Gradient, Objective, _check_finite, as_params, check_levers
from labkit.sim import loop
from labkit.sim.config import PARAM_LEVERS, Config, Params, Static
from labkit.sim.levers import ConfigError
from labkit.sim.prng import unrolled_threefry

CHOICE_LEVERS = ("choice_sharpness", "no_click_logit", "position_bias")


def score_levers(static: Static) -> tuple[str, ...]:
    """The levers whose whole effect on the exact loop goes through a scored draw's probability."""
    levers = list(CHOICE_LEVERS)
    if static.new_items > 0:
        levers.append("synthetic_share")
    if static.policy == "softmax":
        levers += ["temperature", "novelty_weight"]
    elif static.policy == "epsilon_greedy":
        levers.append("epsilon")
    if static.data_strategy == "reserve":
        levers.append("reserve_share")
    return tuple(levers)


@partial(jax.jit, static_argnums=0)
def _exact_with_scores(static: Static, params: Params, keys):
    """Per seed, the exact loop's metrics per round (the finiteness guards among them) and the
    score of every param lever; the objective is read from them outside, so every objective
    of a world shares this one compiled program."""
    def one(key):
        _, metrics = loop._run(static, params, key, score=True)
        scores = {name: metrics[loop.SCORE_PREFIX + name].sum() for name in PARAM_LEVERS}
        return {name: value for name, value in metrics.items() if not name.startswith(loop.SCORE_PREFIX)}, scores
    return jax.vmap(one)(keys)


def score_function(config: Config, objective_: Objective, seeds: Sequence[int],
                   levers: Sequence[str] | None = None, params: Params | None = None) -> Gradient:
    """The score-function gradient of ``objective_`` on the exact loop, per seed (at least 2).

    ``levers`` default to :func:`score_levers`; a lever outside them is refused.
    """
    if config.static.agent_share > 0:
        raise ConfigError(f"agent_share = {config.static.agent_share!r}: the score-function estimator scores the "
                          f"users' own choices, not agents' (allowed: 0)")
    allowed = score_levers(config.static)
    names = check_levers(levers) if levers is not None else allowed
    for name in names:
        if name not in allowed:
            raise ConfigError(f"levers: {name} acts on the exact loop (policy {config.static.policy}, data "
                              f"strategy {config.static.data_strategy}) outside a scored draw, so the "
                              f"score-function estimator cannot see it; allowed here: {', '.join(allowed)} "
                              f"(the pathwise estimator takes every lever)")
    seeds = tuple(int(s) for s in seeds)
    if len(seeds) < 2:
        raise ConfigError(f"seeds: {len(seeds)} given; the score-function estimator's baseline needs at least 2")
    params = as_params(config.params if params is None else params)
    with unrolled_threefry():
        metrics, scores = jax.device_get(_exact_with_scores(config.static, params, loop.seed_keys(seeds)))
    loop.check_finite({name: value for name, value in metrics.items()
                       if name.startswith(loop.GUARD_PREFIX) or name == objective_.metric}, seeds)
    value = np.asarray(objective_({name: value for name, value in metrics.items()
                                   if not name.startswith(loop.GUARD_PREFIX)}), dtype=np.float64)
    n = len(seeds)
    baseline = (value.sum() - value) / (n - 1)  # leave-one-out: independent of the seed's own draws
    grad = {name: (value - baseline) * np.asarray(scores[name], dtype=np.float64) for name in names}
    result = Gradient(objective_, names, seeds, value, grad)
    _check_finite(result, lambda seed, lever: "in the score of the exact loop's draws")
    return result


__all__ = ["CHOICE_LEVERS", "score_function", "score_levers"]
