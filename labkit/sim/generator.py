"""The GenAI: a generative model of items fitted to what was engaged with.

The generator models log topic weights (the centred logits of an item's features). Its
size is a lever, ``generator_family``:

* ``diagonal`` (the default): one Gaussian with a diagonal covariance;
* ``mixture``: a mixture of ``generator_components`` diagonal Gaussians, fitted by
  weighted EM (a fixed number of iterations a round, warm-started from the last round's
  fit, responsibilities in log space, a floor under each variance; a component that gets
  no weight keeps its place and is not sampled);
* ``full``: one Gaussian with a full covariance (the weighted covariance plus a small
  ridge), sampled through its Cholesky factor.

Each is refitted every round by weighted maximum likelihood to the items users clicked
(``likelihood`` objective), or to the items the recommender predicts will be clicked
(``engagement``): the objective only sets the weights of the fit. Each samples with a
``temperature`` that scales its spread (every component's, for the mixture):
``temperature < 1`` is mode-seeking and lowers the entropy of what it makes.

The maximum-likelihood variance is the biased one (divide by the total weight), so a
generator refitted on its own samples alone shrinks as Shumailov et al. (Nature 2024)
describe: ``E[var_n] = var_0 * ((M - 1) / M) ** n`` for ``M`` samples per generation.

Cost (``python -m labkit.bench.generator``, CPU, default scale): docs/benchmarks.md.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Union

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from labkit.sim.levers import PARAM, STATIC, Lever

# Topic weights below this are treated as this when taking logs (Dirichlet items are sparse).
_FLOOR = 1e-6
# The mixture: EM iterations of a first fit and of each warm-started refit; the floor under a
# component's variance (it keeps a component that holds one point from collapsing onto it);
# the share of the total weight below which a component counts as empty and keeps its place.
EM_FIRST, EM_REFIT = 30, 10
VAR_FLOOR = 1e-4
_EMPTY = 1e-6
# The full covariance: a ridge of this share of the mean variance (plus an absolute one) on the
# diagonal; centred logits sum to 0, so their covariance is singular along the all-ones direction,
# which the softmax ignores.
RIDGE, RIDGE_ABS = 1e-5, 1e-8


class Generator(NamedTuple):
    """Diagonal Gaussian over item logits (``generator_family = 'diagonal'``)."""

    mean: Float[Array, "topics"]
    std: Float[Array, "topics"]


class Mixture(NamedTuple):
    """Mixture of diagonal Gaussians over item logits (``generator_family = 'mixture'``)."""

    weight: Float[Array, "components"]  # mixing weights, summing to 1 (0 for an empty component)
    mean: Float[Array, "components topics"]
    std: Float[Array, "components topics"]


class FullGaussian(NamedTuple):
    """Full-covariance Gaussian over item logits (``generator_family = 'full'``)."""

    mean: Float[Array, "topics"]
    chol: Float[Array, "topics topics"]  # lower Cholesky factor of the covariance (with its ridge)


GenAI = Union[Generator, Mixture, FullGaussian]


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


def fit_full(samples: Float[Array, "n dim"], weights: Float[Array, "n"]) -> FullGaussian:
    """Weighted maximum-likelihood mean and (biased) covariance, held as its Cholesky factor."""
    total = jnp.maximum(weights.sum(), 1e-12)
    mean = (weights[:, None] * samples).sum(axis=0) / total
    centred = samples - mean
    cov = (weights[:, None] * centred).T @ centred / total
    dim = samples.shape[1]
    ridge = RIDGE * jnp.trace(cov) / dim + RIDGE_ABS
    return FullGaussian(mean=mean, chol=jnp.linalg.cholesky(cov + ridge * jnp.eye(dim, dtype=cov.dtype)))


def _component_log_density(samples: Float[Array, "n dim"], mixture: Mixture) -> Float[Array, "n components"]:
    """``log pi_k + log N(x_i | mean_k, std_k^2)`` for every point and component."""
    z = (samples[:, None, :] - mixture.mean[None]) / mixture.std[None]
    log_norm = jnp.log(mixture.std).sum(axis=-1) + 0.5 * samples.shape[1] * math.log(2 * math.pi)
    log_weight = jnp.where(mixture.weight > 0, jnp.log(jnp.where(mixture.weight > 0, mixture.weight, 1.0)),
                           -jnp.inf)
    return log_weight[None] - log_norm[None] - 0.5 * (z * z).sum(axis=-1)


def mixture_log_likelihood(samples: Float[Array, "n dim"], weights: Float[Array, "n"], mixture: Mixture
                           ) -> Float[Array, ""]:
    """The weighted log-likelihood ``sum_i w_i log p(x_i)`` that EM climbs."""
    return (weights * jax.nn.logsumexp(_component_log_density(samples, mixture), axis=1)).sum()


def _m_step(samples: Float[Array, "n dim"], resp: Float[Array, "n components"], previous: Mixture) -> Mixture:
    """Weighted M-step from weighted responsibilities ``resp`` (``w_i r_ik``); an empty component
    keeps ``previous``'s mean and spread with weight 0."""
    mass = resp.sum(axis=0)
    total = mass.sum()
    full = mass > _EMPTY * total
    safe = jnp.where(full, mass, 1.0)
    mean = resp.T @ samples / safe[:, None]
    var = jnp.einsum("nk,nkd->kd", resp, (samples[:, None, :] - mean[None]) ** 2) / safe[:, None]
    std = jnp.sqrt(jnp.maximum(var, VAR_FLOOR))
    weight = jnp.where(total > 0, jnp.where(full, mass, 0.0) / jnp.where(total > 0, total, 1.0),
                       previous.weight)
    return Mixture(weight=weight, mean=jnp.where(full[:, None], mean, previous.mean),
                   std=jnp.where(full[:, None], std, previous.std))


def em_step(samples: Float[Array, "n dim"], weights: Float[Array, "n"], mixture: Mixture) -> Mixture:
    """One EM iteration of the weighted mixture fit (it never lowers :func:`mixture_log_likelihood`)."""
    log_joint = _component_log_density(samples, mixture)
    log_resp = log_joint - jax.nn.logsumexp(log_joint, axis=1, keepdims=True)
    return _m_step(samples, weights[:, None] * jnp.exp(log_resp), mixture)


def _first_mixture(samples: Float[Array, "n dim"], weights: Float[Array, "n"], components: int) -> Mixture:
    """A start for EM with no previous fit: the points split into ``components`` groups of equal
    weight along their direction of largest spread (power iteration), each group's fit."""
    single = fit_gaussian(samples, weights)
    centred = samples - single.mean
    cov = (weights[:, None] * centred).T @ centred
    direction = jax.nn.one_hot(jnp.argmax(single.std), samples.shape[1], dtype=samples.dtype)

    def power(_, v):
        v = cov @ v
        return v / jnp.maximum(jnp.linalg.norm(v), 1e-30)

    direction = jax.lax.fori_loop(0, 16, power, direction)
    order = jnp.argsort(centred @ direction)
    sorted_weight = weights[order]
    total = jnp.maximum(weights.sum(), 1e-12)
    rank = (jnp.cumsum(sorted_weight) - 0.5 * sorted_weight) / total  # weighted quantile in (0, 1)
    group = jnp.zeros_like(order).at[order].set(jnp.clip((rank * components).astype(order.dtype), 0,
                                                         components - 1))
    resp = weights[:, None] * jax.nn.one_hot(group, components, dtype=samples.dtype)
    start = Mixture(weight=jnp.full(components, 1.0 / components, samples.dtype),
                    mean=jnp.broadcast_to(single.mean, (components, samples.shape[1])),
                    std=jnp.broadcast_to(jnp.sqrt(jnp.maximum(single.std ** 2, VAR_FLOOR)),
                                         (components, samples.shape[1])))
    return _m_step(samples, resp, start)


def fit_mixture(samples: Float[Array, "n dim"], weights: Float[Array, "n"], previous: Mixture | None = None,
                components: int = 1, iterations: int | None = None) -> Mixture:
    """Weighted EM for a mixture of diagonal Gaussians: ``iterations`` steps (:data:`EM_REFIT`
    from ``previous``, else :data:`EM_FIRST` from :func:`_first_mixture` with ``components``)."""
    if previous is None:
        start, steps = _first_mixture(samples, weights, components), EM_FIRST
    else:
        start, steps = previous, EM_REFIT
    steps = steps if iterations is None else iterations
    return jax.lax.fori_loop(0, steps, lambda _, m: em_step(samples, weights, m), start)


def _sample_diagonal(key: Array, generator: Generator, n: int, temperature: Float[Array, ""]
                     ) -> Float[Array, "n dim"]:
    noise = jax.random.normal(key, (n, generator.mean.shape[0]))
    return generator.mean + temperature * generator.std * noise


def _sample_mixture(key: Array, mixture: Mixture, n: int, temperature: Float[Array, ""]) -> Float[Array, "n dim"]:
    k_component, k_noise = jax.random.split(key)
    log_weight = jnp.where(mixture.weight > 0, jnp.log(jnp.where(mixture.weight > 0, mixture.weight, 1.0)),
                           -jnp.inf)
    component = jax.random.categorical(k_component, log_weight, shape=(n,))
    noise = jax.random.normal(k_noise, (n, mixture.mean.shape[1]))
    return mixture.mean[component] + temperature * mixture.std[component] * noise


def _sample_full(key: Array, generator: FullGaussian, n: int, temperature: Float[Array, ""]
                 ) -> Float[Array, "n dim"]:
    noise = jax.random.normal(key, (n, generator.mean.shape[0]))
    return generator.mean + temperature * noise @ generator.chol.T


def _diagonal_log_density(generator: Generator, x: Float[Array, "n dim"]) -> Float[Array, "n"]:
    std = jnp.sqrt(jnp.maximum(generator.std ** 2, VAR_FLOOR))  # a fit to one point has std 0
    z = (x - generator.mean) / std
    return -jnp.log(std).sum() - 0.5 * (z * z).sum(axis=-1) - 0.5 * x.shape[-1] * math.log(2 * math.pi)


def _mixture_log_density(mixture: Mixture, x: Float[Array, "n dim"]) -> Float[Array, "n"]:
    return jax.nn.logsumexp(_component_log_density(x, mixture), axis=1)


def _full_log_density(generator: FullGaussian, x: Float[Array, "n dim"]) -> Float[Array, "n"]:
    z = jax.scipy.linalg.solve_triangular(generator.chol, (x - generator.mean).T, lower=True).T
    log_det = jnp.log(jnp.abs(jnp.diagonal(generator.chol))).sum()
    return -log_det - 0.5 * (z * z).sum(axis=-1) - 0.5 * x.shape[-1] * math.log(2 * math.pi)


class Family(NamedTuple):
    """One value of ``generator_family``: the state it carries, how it fits, samples and scores.

    ``fit(samples, weights, previous, components)`` fits in logit space (``previous`` is the
    last fit or None); ``sample(key, generator, n, temperature)`` draws ``n`` logit vectors;
    ``log_density(generator, x)`` is the log-density of ``n`` logit vectors (what an agent
    choosing by the GenAI's estimate reads: :mod:`labkit.sim.agents`).
    """

    state: type
    fit: Callable[..., GenAI]
    sample: Callable[..., Array]
    log_density: Callable[..., Array]


FAMILIES: dict[str, Family] = {
    "diagonal": Family(Generator, lambda x, w, previous, components: fit_gaussian(x, w), _sample_diagonal,
                       _diagonal_log_density),
    "mixture": Family(Mixture, fit_mixture, _sample_mixture, _mixture_log_density),
    "full": Family(FullGaussian, lambda x, w, previous, components: fit_full(x, w), _sample_full,
                   _full_log_density),
}
_BY_STATE = {family.state: family for family in FAMILIES.values()}


def fit(features: Float[Array, "n topics"], weights: Float[Array, "n"], previous: GenAI | None = None,
        family: str = "diagonal", components: int = 1) -> GenAI:
    """Refit to weighted items; with no weight at all, keep ``previous`` (nothing was engaged).

    ``previous`` (last round's fit) fixes the family and the mixture's size, and warm-starts
    the mixture's EM; without it, the first fit of ``family`` (``components`` for the mixture).
    """
    kind = FAMILIES[family] if previous is None else _BY_STATE[type(previous)]
    size = components if previous is None or not isinstance(previous, Mixture) else previous.weight.shape[0]
    fitted = kind.fit(to_logits(features), weights, previous, size)
    if previous is None:
        return fitted
    keep = weights.sum() <= 0
    return jax.tree.map(lambda old, new: jnp.where(keep, old, new), previous, fitted)


def sample_latent(key: Array, generator: GenAI, n: int, temperature: Float[Array, ""]) -> Float[Array, "n dim"]:
    """Draw ``n`` points from the generator with its spread scaled by ``temperature``."""
    return _BY_STATE[type(generator)].sample(key, generator, n, temperature)


def sample(key: Array, generator: GenAI, n: int, temperature: Float[Array, ""]) -> Float[Array, "n topics"]:
    """Draw ``n`` synthetic items (features on the topic simplex)."""
    return jax.nn.softmax(sample_latent(key, generator, n, temperature), axis=-1)


def log_density(generator: GenAI, features: Float[Array, "n topics"]) -> Float[Array, "n"]:
    """The GenAI's log-density of items (features on the simplex), in the logit space it models;
    a diagonal spread is floored at ``sqrt(VAR_FLOOR)`` (a fit to one point has none)."""
    return _BY_STATE[type(generator)].log_density(generator, to_logits(features))


class Objective(NamedTuple):
    """What the GenAI is refitted to each round: one value per objective.

    ``refit(generator, consumed_features, clicked, predicted_share, catalog_features)``
    returns the refitted generator; ``needs_share`` says whether it reads
    ``predicted_share``, the share of clicks the recommender predicts per item, which
    the loop then computes while it scores (otherwise it gets an empty array).
    """

    refit: Callable[..., GenAI]
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
    Lever("generator_family", STATIC, str, "diagonal",
          "the GenAI's size: one diagonal Gaussian, a mixture of generator_components diagonal Gaussians "
          "(weighted EM), or one full-covariance Gaussian", choices=FAMILIES, hashed_at_default=False),
    Lever("generator_components", STATIC, int, 4,
          "K: the Gaussians of the GenAI's mixture (read only by generator_family = 'mixture')", 1, 16,
          hashed_at_default=False, label="GenAI mixture components"),
)
