"""The GenAI: maximum-likelihood fit, temperature as mode-seeking, and the recommender MF fit."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from labkit.sim import generator as G
from labkit.sim.data import TrainingData
from labkit.sim.metrics import entropy, intra_list_diversity
from labkit.sim.recommenders import Factors, mf_loss


def test_fit_gaussian_is_the_weighted_maximum_likelihood_estimate():
    x = jnp.array([[0.0], [2.0], [4.0]])
    fitted = G.fit_gaussian(x, jnp.array([1.0, 1.0, 2.0]))
    # mean (0 + 2 + 8) / 4 = 2.5; biased var (6.25 + 0.25 + 2 * 2.25) / 4 = 2.75
    assert float(fitted.mean[0]) == pytest.approx(2.5)
    assert float(fitted.std[0]) == pytest.approx(np.sqrt(2.75), rel=1e-6)


def test_fit_with_no_engagement_keeps_the_previous_generator():
    previous = G.Generator(mean=jnp.ones(3), std=jnp.full(3, 2.0))
    kept = G.fit(jnp.full((4, 3), 1 / 3), jnp.zeros(4), previous=previous)
    np.testing.assert_array_equal(kept.mean, previous.mean)


def test_lower_temperature_makes_less_diverse_items_and_seeks_the_mode():
    # engaged items: 8 topics, topic 0 twice as likely as each of the others
    k_topic, k_item = jax.random.split(jax.random.key(0))
    topic = jax.random.categorical(k_topic, jnp.log(jnp.array([2.0] + [1.0] * 7)), shape=(800,))
    items = jax.random.dirichlet(k_item, 0.1 + 5.0 * jax.nn.one_hot(topic, 8))
    gen = G.fit(items, jnp.ones(800))

    def made(t):
        return G.sample(jax.random.key(1), gen, 2000, t)

    cold, warm = made(0.2), made(1.0)
    # the items look alike: their mean pairwise distance shrinks
    diversity = lambda x: float(intra_list_diversity(x[None, :200]))  # noqa: E731
    assert diversity(cold) < 0.5 * diversity(warm), (diversity(cold), diversity(warm))
    # and their topics pile onto the engaged mode: aggregate topic entropy falls
    assert float(entropy(cold.sum(axis=0))) < float(entropy(warm.sum(axis=0))) - 0.05
    assert int(jnp.argmax(cold.sum(axis=0))) == 0
    np.testing.assert_allclose(cold.sum(axis=1), 1.0, rtol=1e-5)  # synthetic items lie on the simplex


def test_mf_training_with_optax_learns_who_clicks_what():
    # users 0-9 click items 0-4, users 10-19 click items 5-9
    users = jnp.repeat(jnp.arange(20), 10)
    items = jnp.tile(jnp.arange(10), 20)
    click = ((users < 10) == (items < 5)).astype(jnp.float32)
    data = TrainingData(users, items, click, jnp.ones(200), jnp.zeros(200, bool))
    key = jax.random.key(0)
    factors = Factors(0.1 * jax.random.normal(key, (20, 4)), 0.1 * jax.random.normal(key, (10, 4)) * -1,
                      jnp.zeros(10))
    opt = optax.adam(0.05)
    state = opt.init(factors)
    start = float(mf_loss(factors, data, 1e-3))
    for _ in range(200):
        grads = jax.grad(mf_loss)(factors, data, 1e-3)
        updates, state = opt.update(grads, state, factors)
        factors = optax.apply_updates(factors, updates)
    assert float(mf_loss(factors, data, 1e-3)) < 0.3 * start
    scores = factors.user @ factors.item.T + factors.bias
    assert bool((scores[:10, :5].mean() > scores[:10, 5:].mean()) & (scores[10:, 5:].mean() > scores[10:, :5].mean()))
