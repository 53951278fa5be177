"""Ranking policies: how a recommender's scores become a slate of ``k`` items.

A policy is one pure function ``(key, scores, context, params, k) -> Slate``; it works
with any recommender. The values: ``greedy`` top-k; ``softmax`` (Plackett-Luce sampling
by Gumbel top-k at ``temperature``); ``epsilon_greedy``; ``ucb`` (exposure bonus
``beta / sqrt(1 + n_i)``); ``thompson`` (a draw from a Gaussian approximation of each
score's posterior, with the same exposure-based spread); ``mmr`` (diversity re-ranking). Dead catalog slots are never recommended and a slate holds ``k``
distinct items. ``Slate.organic`` marks the slots filled by exploration rather than by
the recommender's ranking: the data strategies read it as provenance.

Before the policy runs, the novelty reward ``novelty_weight * (-log popularity)`` is
added to the scores (see :func:`with_novelty`), so it composes with every policy.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from labkit.config import Params

# Scores of dead slots: low enough that no live item ever ranks below one.
NEG = -1e9


class SlateContext(NamedTuple):
    """What a policy may use besides the scores."""

    alive: Bool[Array, "items"]
    exposure: Float[Array, "items"]  # impressions so far of the item now in each slot
    features: Float[Array, "items topics"]


class Slate(NamedTuple):
    items: Int[Array, "users k"]
    organic: Bool[Array, "users k"]  # True where exploration, not ranking, chose the item


Policy = Callable[[Array, Float[Array, "users items"], SlateContext, Params, int], Slate]


def mask_dead(scores: Float[Array, "users items"], alive: Bool[Array, "items"]) -> Float[Array, "users items"]:
    """Push dead slots below every live item."""
    return jnp.where(alive[None, :], scores, NEG)


def with_novelty(scores: Float[Array, "users items"], context: SlateContext, params: Params
                 ) -> Float[Array, "users items"]:
    """Add the novelty reward ``novelty_weight * -log p(i)`` (add-one smoothed popularity)."""
    live = context.alive
    popularity = (context.exposure + 1.0) / ((context.exposure + 1.0) * live).sum()
    return scores + params.novelty_weight * -jnp.log(popularity)[None, :]


def _top_k(scores: Float[Array, "users items"], alive: Bool[Array, "items"], k: int) -> Int[Array, "users k"]:
    return jax.lax.top_k(mask_dead(scores, alive), k)[1]


def _ranked(items: Int[Array, "users k"]) -> Slate:
    return Slate(items, jnp.zeros(items.shape, bool))


def greedy(key, scores, context, params, k) -> Slate:
    """The ``k`` highest-scoring live items (ties go to the lower slot)."""
    return _ranked(_top_k(scores, context.alive, k))


def softmax(key, scores, context, params, k) -> Slate:
    """Plackett-Luce sampling without replacement at ``temperature``, by the Gumbel top-k trick.

    Adding Gumbel noise to ``scores / temperature`` and keeping the top ``k`` draws a
    slate from the Plackett-Luce model. ``temperature = 0`` is greedy exactly; a large
    temperature approaches a uniform draw over the live catalog.
    """
    gumbel = jax.random.gumbel(key, scores.shape)
    t = params.temperature
    perturbed = jnp.where(t > 0, scores / jnp.where(t > 0, t, 1.0) + gumbel, scores)
    return _ranked(_top_k(perturbed, context.alive, k))


def explore(key: Array, slate: Slate, alive: Bool[Array, "items"], rate: Float[Array, ""]) -> Slate:
    """Replace each slot, with probability ``rate``, by a uniformly drawn live item not in the slate.

    The replacements are marked ``organic``: exploration, not ranking, exposed them.
    """
    k_coin, k_pick = jax.random.split(key)
    users, k = slate.items.shape
    in_slate = jnp.zeros((users, alive.shape[0]), bool).at[jnp.arange(users)[:, None], slate.items].set(True)
    # k distinct random candidates outside the slate: top-k of uniform keys over the allowed items.
    noise = jax.random.uniform(k_pick, in_slate.shape)
    value, candidates = jax.lax.top_k(jnp.where(alive[None, :] & ~in_slate, noise, -1.0), k)
    # With fewer than k live items outside the slate, the missing candidates stay unswapped.
    swap = (jax.random.uniform(k_coin, (users, k)) < rate) & (value >= 0)
    return Slate(jnp.where(swap, candidates, slate.items), slate.organic | swap)


def epsilon_greedy(key, scores, context, params, k) -> Slate:
    """Greedy, then each slot explored with probability ``epsilon``."""
    return explore(key, greedy(key, scores, context, params, k), context.alive, params.epsilon)


def exposure_bonus(context: SlateContext, beta: Float[Array, ""]) -> Float[Array, "items"]:
    """Optimism under uncertainty: ``beta / sqrt(1 + n_i)`` for an item shown ``n_i`` times."""
    return beta / jnp.sqrt(1.0 + context.exposure)


def ucb(key, scores, context, params, k) -> Slate:
    """Greedy on scores plus the UCB-style exposure bonus."""
    return greedy(key, scores + exposure_bonus(context, params.beta)[None, :], context, params, k)


def thompson(key, scores, context, params, k) -> Slate:
    """Thompson-style sampling from a Gaussian approximation of each item's score posterior.

    Each (user, item) score is drawn from ``N(score, (beta / sqrt(1 + n_i))**2)``: the
    uncertainty of an item shrinks with its exposure ``n_i``, as a diagonal Laplace
    approximation of the model's posterior would. Greedy on the draw.
    """
    noise = jax.random.normal(key, scores.shape)
    return greedy(key, scores + noise * exposure_bonus(context, params.beta)[None, :], context, params, k)


def mmr(key, scores, context, params, k) -> Slate:
    """Maximal marginal relevance re-ranking on item features (cosine similarity).

    Slot by slot, picks the item maximizing ``lambda * relevance - (1 - lambda) * max
    similarity to the items already chosen``; relevance is the score rescaled to [0, 1]
    over the live catalog per user, so ``mmr_lambda`` trades like for like. Scores pushed
    below ``NEG / 4`` (items a user already consumed, see ``labkit.loop.CONSUMED``) are
    left out of the rescaling, so they do not squash the others' relevance.
    """
    live = context.alive[None, :]
    ranked = live & (scores > NEG / 4)
    low = jnp.min(jnp.where(ranked, scores, jnp.inf), axis=1, keepdims=True)
    high = jnp.max(jnp.where(ranked, scores, -jnp.inf), axis=1, keepdims=True)
    low = jnp.where(jnp.isfinite(low), low, 0.0)  # every live item consumed: nothing to rescale
    high = jnp.where(jnp.isfinite(high), high, 1.0)
    relevance = (scores - low) / jnp.maximum(high - low, 1e-12)
    unit = context.features / jnp.linalg.norm(context.features, axis=1, keepdims=True)
    users = scores.shape[0]
    lam = params.mmr_lambda

    def pick(carry, j):
        chosen, max_sim, taken = carry
        value = jnp.where(taken | ~live, NEG, lam * relevance - (1.0 - lam) * max_sim)
        item = jnp.argmax(value, axis=1)
        sim = unit[item] @ unit.T
        max_sim = jnp.maximum(max_sim, sim)  # features are non-negative, so cosine >= 0
        taken = taken.at[jnp.arange(users), item].set(True)
        return (chosen.at[:, j].set(item), max_sim, taken), None

    start = (jnp.zeros((users, k), jnp.int32), jnp.zeros(scores.shape), jnp.zeros(scores.shape, bool))
    (chosen, _, _), _ = jax.lax.scan(pick, start, jnp.arange(k))
    return _ranked(chosen)


POLICIES: dict[str, Policy] = {
    "greedy": greedy,
    "softmax": softmax,
    "epsilon_greedy": epsilon_greedy,
    "ucb": ucb,
    "thompson": thompson,
    "mmr": mmr,
}
