"""Ranking policies: how a recommender's scores become a slate of ``k`` items.

A policy is one pure function ``(key, scores, context, params, k) -> Slate``; it works
with any recommender. Dead catalog slots are never recommended and a slate holds ``k``
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


def greedy(key, scores, context, params, k) -> Slate:
    """The ``k`` highest-scoring live items (ties go to the lower slot)."""
    _, items = jax.lax.top_k(mask_dead(scores, context.alive), k)
    return Slate(items, jnp.zeros(items.shape, bool))


POLICIES: dict[str, Policy] = {"greedy": greedy}
