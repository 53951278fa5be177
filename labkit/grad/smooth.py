"""The smooth counterparts of the exact loop's discrete draws, for the relaxed loop
(:mod:`labkit.grad.relaxed`, whose docstring says what each replaces and why): the relaxed
top-k with its hand-written derivative, relaxed coins, exploration, the policies' soft
slates (MMR's included), the Gumbel-softmax click and the relaxed influence flag. Each is
a pure function of a PRNG key, its inputs and the relaxation temperature ``tau``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero
from jaxtyping import Array, Float

from labkit.sim import users as users_mod
from labkit.sim.levers import ConfigError
from labkit.sim.policies import NEG, SlateContext, exposure_bonus, standardized

if TYPE_CHECKING:
    from labkit.sim.config import Params

__all__ = ["COIN_WIDTH", "DISTANCE_WIDTH", "NEG", "soft_choice", "soft_coin", "soft_explore", "soft_influenced",
           "soft_slate", "soft_top_k"]

# A relaxed coin's width, in probability units, per unit of relaxation temperature.
COIN_WIDTH = 0.1
# The influence threshold's width, in total-variation units, per unit of relaxation temperature.
DISTANCE_WIDTH = 0.1


def _top_k_rows(z, k: int, tau):
    tiny = jnp.finfo(z.dtype).tiny

    def pick(a, _):
        p = jax.nn.softmax(a / tau, axis=-1)
        return a + jnp.log(jnp.maximum(1.0 - p, tiny)), p

    _, rows = jax.lax.scan(pick, z, None, length=k)
    return rows  # [k, b, n]


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def _soft_top_k(z, k: int, tau):
    return _top_k_rows(z, k, tau)


@partial(_soft_top_k.defjvp, symbolic_zeros=True)
def _soft_top_k_jvp(k, primals, tangents):
    """The derivative from the rows alone: ``softmax`` and ``log(1 - p)`` have derivatives
    in ``p``, so reverse mode (this rule transposed) keeps the ``k`` rows and neither keeps
    nor recomputes each step's scores. For ``tau``, ``a_j / tau`` is ``log p_j`` up to a
    per-row constant, which the softmax's derivative (zero along a row's constant) cancels."""
    z, tau = primals
    z_dot, tau_dot = tangents
    rows = _top_k_rows(z, k, tau)
    tiny = jnp.finfo(rows.dtype).tiny
    z_dot = jnp.zeros_like(z) if type(z_dot) is SymbolicZero else z_dot

    def forward(a_dot, p):
        x_dot = a_dot / tau
        if type(tau_dot) is not SymbolicZero:
            x_dot = x_dot - jnp.log(jnp.where(p > 0, p, 1.0)) * (tau_dot / tau)
        p_dot = p * (x_dot - (x_dot * p).sum(axis=-1, keepdims=True))
        room = 1.0 - p
        return a_dot - jnp.where(room > tiny, p_dot / jnp.where(room > tiny, room, 1.0), 0.0), p_dot

    _, rows_dot = jax.lax.scan(forward, z_dot, rows)
    return rows, rows_dot


def soft_top_k(z: Float[Array, "b n"], k: int, tau: Float[Array, ""]) -> Float[Array, "b k n"]:
    """Relaxed top-k (Xie & Ermon 2019): ``k`` soft one-hot rows, the ``j``-th close to the
    ``j``-th largest of ``z`` at small ``tau``, each later row taking mass off the earlier ones.

    Its derivative is written by hand (:func:`jax.custom_jvp`) from the ``k`` rows alone,
    so reverse mode neither keeps nor recomputes the scores of each step."""
    return jnp.moveaxis(_soft_top_k(z, k, tau), 0, 1)


def soft_coin(key: Array, p: Float[Array, ""], shape: tuple, tau: Float[Array, ""]) -> Float[Array, "..."]:
    """A relaxed Bernoulli(``p``): ``sigmoid((p - u) / (tau * COIN_WIDTH))`` for uniform ``u``
    (the exact coin is ``u < p``)."""
    u = jax.random.uniform(key, shape, dtype=jnp.result_type(p))
    return jax.nn.sigmoid((p - u) / (tau * COIN_WIDTH))


def soft_explore(key: Array, slate: Float[Array, "b k n"], organic: Float[Array, "b k"],
                 alive: Array, rate: Float[Array, ""], tau: Float[Array, ""]
                 ) -> tuple[Float[Array, "b k n"], Float[Array, "b k"]]:
    """:func:`labkit.sim.policies.explore` relaxed: each slot mixed, by a relaxed coin at
    ``rate``, with a relaxed uniform draw among the live items outside the slate."""
    k_coin, k_pick = jax.random.split(key)
    b, k, n = slate.shape
    in_slate = jnp.clip(slate.sum(axis=1), 0.0, 1.0)
    tiny = jnp.finfo(slate.dtype).tiny
    noise = jax.random.gumbel(k_pick, (b, n), slate.dtype)
    candidates = soft_top_k(jnp.where(alive, jnp.log(jnp.maximum(1.0 - in_slate, tiny)) + noise, NEG), k, tau)
    swap = soft_coin(k_coin, rate, (b, k), tau)
    return ((1.0 - swap)[..., None] * slate + swap[..., None] * candidates, swap + (1.0 - swap) * organic)


def _mmr(scores, context: SlateContext, params: Params, k: int, tau) -> Float[Array, "b k n"]:
    """:func:`labkit.sim.policies.mmr` relaxed: slot by slot, a softmax at ``tau`` of
    ``lambda * relevance - (1 - lambda) * max similarity`` (to the soft items chosen)."""
    live = context.alive[None, :]
    # min and max by the gathered arg-extremes: jnp.min's gradient finds its element by
    # equality with the result, which a rematerialized (jax.checkpoint) recomputation
    # rounded differently can miss; an index computed with the values cannot
    low = jnp.take_along_axis(scores, jnp.argmin(jnp.where(live, scores, jnp.inf), axis=1)[:, None], 1)
    high = jnp.take_along_axis(scores, jnp.argmax(jnp.where(live, scores, -jnp.inf), axis=1)[:, None], 1)
    relevance = (scores - low) / jnp.maximum(high - low, 1e-12)
    unit = context.features / jnp.linalg.norm(context.features, axis=1, keepdims=True)
    lam, tiny = params.mmr_lambda, jnp.finfo(scores.dtype).tiny

    def pick(carry, _):
        max_sim, taken = carry
        value = lam * relevance - (1.0 - lam) * max_sim + jnp.log(jnp.maximum(1.0 - taken, tiny))
        p = jax.nn.softmax(jnp.where(live, value, NEG) / tau, axis=-1)
        sim = (p @ unit) @ unit.T
        return (jnp.maximum(max_sim, sim), taken + p), p

    zeros = jnp.zeros(scores.shape, scores.dtype)
    _, rows = jax.lax.scan(pick, (zeros, zeros), None, length=k)
    return jnp.moveaxis(rows, 0, 1)


def soft_slate(key: Array, policy: str, scores: Float[Array, "b n"], context: SlateContext, params: Params,
               k: int, tau: Float[Array, ""]) -> tuple[Float[Array, "b k n"], Float[Array, "b k"]]:
    """The policy's slate relaxed: ``k`` soft one-hot rows per user, and how organic each
    slot is (exploration's share). Mirrors :data:`labkit.sim.policies.POLICIES`."""
    scores = scores + context.bonus[None, :]
    alive = context.alive[None, :]
    organic = jnp.zeros(scores.shape[:1] + (k,), scores.dtype)
    if policy in ("greedy", "epsilon_greedy"):
        z = scores
    elif policy == "softmax":
        t = params.temperature
        gumbel = jax.random.gumbel(key, scores.shape, scores.dtype)
        z = jnp.where(t > 0, scores / jnp.where(t > 0, t, 1.0) + gumbel, scores)
    elif policy == "ucb":
        z = scores + exposure_bonus(context, params.beta)
    elif policy == "thompson":
        noise = jax.random.normal(key, scores.shape, scores.dtype)
        z = scores + noise * exposure_bonus(context, params.beta)
    elif policy == "mmr":
        return _mmr(scores, context, params, k, tau), organic
    else:
        raise ConfigError(f"policy = {policy!r}: the relaxed loop has no counterpart (allowed: greedy, "
                          f"softmax, epsilon_greedy, ucb, thompson, mmr)")
    slate = soft_top_k(jnp.where(alive, standardized(z, context.alive), NEG), k, tau)
    if policy == "epsilon_greedy":
        slate, organic = soft_explore(jax.random.fold_in(key, 1), slate, organic, context.alive,
                                      params.epsilon, tau)
    return slate, organic


def soft_choice(key: Array, slate_utility: Float[Array, "b k"], params: Params, tau: Float[Array, ""]
                ) -> Float[Array, "b k1"]:
    """The multinomial-logit click relaxed by Gumbel-softmax: soft one-hot over the slate's
    positions and the no-click option (last column)."""
    logits = users_mod.choice_logits(slate_utility, params)
    gumbel = jax.random.gumbel(key, logits.shape, logits.dtype)
    return jax.nn.softmax((logits + gumbel) / tau, axis=-1)


def soft_influenced(users: users_mod.Users, threshold, tau) -> Float[Array, "users"]:
    """:func:`labkit.sim.users.influenced` relaxed: a sigmoid of the distance past the threshold."""
    distance = 0.5 * jnp.abs(users.theta - users.theta0).sum(axis=1)
    return jax.nn.sigmoid((distance - threshold) / (tau * DISTANCE_WIDTH))
