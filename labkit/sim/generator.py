"""The GenAI: a generative model of items fitted to what was engaged with.

The generator is a diagonal Gaussian over log topic weights (the logits of an item's
features). It is refitted each round by maximum likelihood to the items users clicked
(``likelihood`` objective), or to the items the recommender predicts will be clicked
(``engagement``), and it samples with a ``temperature`` that scales its spread:
``temperature < 1`` is mode-seeking and lowers the entropy of what it makes.

The maximum-likelihood variance is the biased one (divide by the total weight), so a
generator refitted on its own samples alone shrinks as Shumailov et al. (Nature 2024)
describe: ``E[var_n] = var_0 * ((M - 1) / M) ** n`` for ``M`` samples per generation.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from labkit.sim.levers import PARAM, STATIC, Lever

# Topic weights below this are treated as this when taking logs (Dirichlet items are sparse).
_FLOOR = 1e-6


class Generator(NamedTuple):
    """Diagonal Gaussian over item logits."""

    mean: Float[Array, "topics"]
    std: Float[Array, "topics"]


def to_logits(features: Float[Array, "n topics"]) -> Float[Array, "n topics"]:
    """Centred log topic weights: the space the generator models."""
    z = jnp.log(jnp.maximum(features, _FLOOR))
    return z - z.mean(axis=-1, keepdims=True)


def fit_gaussian(samples: Float[Array, "n dim"], weights: Float[Array, "n"]) -> Generator:
    """Weighted maximum-likelihood mean and (biased) standard deviation per dimension."""
    total = jnp.maximum(weights.sum(), 1e-12)
    mean = (weights[:, None] * samples).sum(axis=0) / total
    var = (weights[:, None] * (samples - mean) ** 2).sum(axis=0) / total
    # the double where keeps sqrt's infinite slope at 0 out of the gradient (same values)
    return Generator(mean=mean, std=jnp.sqrt(jnp.where(var > 0, var, 1.0)) * (var > 0))


def fit(features: Float[Array, "n topics"], weights: Float[Array, "n"],
        previous: Generator | None = None) -> Generator:
    """Refit to weighted items; with no weight at all, keep ``previous`` (nothing was engaged)."""
    fitted = fit_gaussian(to_logits(features), weights)
    if previous is None:
        return fitted
    keep = weights.sum() <= 0
    return jax.tree.map(lambda old, new: jnp.where(keep, old, new), previous, fitted)


def sample_latent(key: Array, generator: Generator, n: int, temperature: Float[Array, ""]
                  ) -> Float[Array, "n dim"]:
    """Draw ``n`` points from the Gaussian with its spread scaled by ``temperature``."""
    noise = jax.random.normal(key, (n, generator.mean.shape[0]))
    return generator.mean + temperature * generator.std * noise


def sample(key: Array, generator: Generator, n: int, temperature: Float[Array, ""]
           ) -> Float[Array, "n topics"]:
    """Draw ``n`` synthetic items (features on the topic simplex)."""
    return jax.nn.softmax(sample_latent(key, generator, n, temperature), axis=-1)


class Objective(NamedTuple):
    """What the GenAI is refitted to each round: one value per objective.

    ``refit(generator, consumed_features, clicked, predicted_share, catalog_features)``
    returns the refitted generator; ``needs_share`` says whether it reads
    ``predicted_share``, the share of clicks the recommender predicts per item, which
    the loop then computes while it scores (otherwise it gets an empty array).
    """

    refit: Callable[..., Generator]
    needs_share: bool = False


def _likelihood(generator, consumed_features, clicked, predicted_share, catalog_features):
    # maximum likelihood on the items clicked this round: one row per user, weighted by the click
    return fit(consumed_features, clicked.astype(consumed_features.dtype), previous=generator)


def _engagement(generator, consumed_features, clicked, predicted_share, catalog_features):
    # reward-weighted maximum likelihood on the live catalog: each item weighted by the share
    # of clicks the recommender predicts for it, so the GenAI makes what the system expects clicked
    return fit(catalog_features, predicted_share, previous=generator)


OBJECTIVES: dict[str, Objective] = {
    "likelihood": Objective(_likelihood),
    "engagement": Objective(_engagement, needs_share=True),
}

LEVERS = (
    Lever("synthetic_share", PARAM, float, 0.0, "share of new items made by the GenAI", 0.0, 1.0,
          label="synthetic share (of new items)"),
    Lever("generator_temperature", PARAM, float, 0.5,
          "GenAI sampling temperature (<1 mode-seeking, lower entropy)", 0.0, 100.0, low_open=True,
          label="GenAI temperature"),
    Lever("generator_objective", STATIC, str, "likelihood",
          "what the GenAI fits: engaged items (likelihood) or predicted clicks (engagement)",
          choices=OBJECTIVES),
)
