"""Ranking policies: each returns k distinct live items; limits recover greedy or uniform."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from labkit.sim.config import Config
from labkit.sim.policies import NEG, POLICIES, SlateContext, greedy, with_novelty

USERS, ITEMS, K, TOPICS = 16, 30, 5, 4


@pytest.fixture(scope="module")
def world():
    k_scores, k_feat, k_alive = jax.random.split(jax.random.key(7), 3)
    scores = jax.random.normal(k_scores, (USERS, ITEMS))
    features = jax.random.dirichlet(k_feat, jnp.full(TOPICS, 0.5), (ITEMS,))
    alive = jnp.arange(ITEMS) % 4 != 3  # a quarter of the slots are dead
    exposure = jnp.arange(ITEMS, dtype=jnp.float32)
    return scores, SlateContext(alive=alive, exposure=exposure, features=features)


def params(**levers):
    return Config.from_dict(levers).params


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_returns_k_distinct_live_items(world, name):
    scores, context = world
    slate = jax.jit(POLICIES[name], static_argnums=4)(jax.random.key(0), scores, context,
                                                      params(epsilon=0.5, temperature=2.0), K)
    items = np.asarray(slate.items)
    assert items.shape == (USERS, K) and slate.organic.shape == (USERS, K)
    assert all(len(set(row)) == K for row in items), "a slate repeats an item"
    assert np.asarray(context.alive)[items].all(), "a dead slot was recommended"


def test_zero_temperature_is_greedy_exactly_and_tiny_temperature_too(world):
    scores, context = world
    expected = greedy(None, scores, context, params(), K).items
    for t in (0.0, 1e-8):
        got = POLICIES["softmax"](jax.random.key(1), scores, context, params(temperature=t), K).items
        np.testing.assert_array_equal(got, expected)


def test_huge_temperature_samples_the_live_catalog_uniformly(world):
    scores, context = world
    keys = jax.random.split(jax.random.key(2), 400)
    draw = jax.vmap(lambda k: POLICIES["softmax"](k, scores, context, params(temperature=1e6), K).items)
    counts = np.bincount(np.asarray(draw(keys)).ravel(), minlength=ITEMS)
    live = np.asarray(context.alive)
    assert counts[~live].sum() == 0
    expected = 400 * USERS * K / live.sum()
    assert np.abs(counts[live] / expected - 1).max() < 0.15  # 5 sigma of a Poisson count here is ~0.1


def test_epsilon_limits(world):
    scores, context = world
    greedy_items = greedy(None, scores, context, params(), K).items
    none = POLICIES["epsilon_greedy"](jax.random.key(3), scores, context, params(epsilon=0.0), K)
    np.testing.assert_array_equal(none.items, greedy_items)
    assert not bool(none.organic.any())
    every = POLICIES["epsilon_greedy"](jax.random.key(3), scores, context, params(epsilon=1.0), K)
    assert bool(every.organic.all())
    overlap = (np.asarray(every.items)[:, :, None] == np.asarray(greedy_items)[:, None, :]).any()
    assert not overlap, "an explored slot repeated a greedy item"


def test_bonus_policies_with_no_bonus_are_greedy(world):
    scores, context = world
    expected = greedy(None, scores, context, params(), K).items
    for name, levers in [("ucb", {"beta": 0.0}), ("thompson", {"beta": 0.0}), ("mmr", {"mmr_lambda": 1.0})]:
        got = POLICIES[name](jax.random.key(4), scores, context, params(**levers), K).items
        np.testing.assert_array_equal(got, expected, err_msg=name)


def test_ucb_bonus_favours_rarely_shown_items(world):
    scores, context = world
    bold = POLICIES["ucb"](None, scores, context, params(beta=100.0), K).items
    # exposure grows with the slot index, so the bonus alone picks the lowest live slots
    np.testing.assert_array_equal(np.sort(np.asarray(bold), axis=1)[0], [0, 1, 2, 4, 5])


def test_mmr_lowers_similarity_within_the_slate(world):
    scores, context = world
    unit = context.features / jnp.linalg.norm(context.features, axis=1, keepdims=True)

    def mean_similarity(items):
        f = unit[items]
        sim = jnp.einsum("ukd,ujd->ukj", f, f)
        return float((sim.sum() - K * USERS) / (USERS * K * (K - 1)))

    relevant = POLICIES["mmr"](None, scores, context, params(mmr_lambda=1.0), K).items
    diverse = POLICIES["mmr"](None, scores, context, params(mmr_lambda=0.1), K).items
    assert mean_similarity(diverse) < mean_similarity(relevant) - 0.1


def test_novelty_bonus_adds_minus_log_popularity(world):
    scores, context = world
    boosted = with_novelty(scores, context, params(novelty_weight=2.0))
    live = np.asarray(context.alive)
    pop = (np.asarray(context.exposure) + 1) / ((np.asarray(context.exposure) + 1) * live).sum()
    np.testing.assert_allclose(np.asarray(boosted - scores)[0], -2.0 * np.log(pop), rtol=1e-5)


@pytest.mark.parametrize("n, k", [(4096, 10), (10000, 10), (10000, 64), (5000, 1), (4099, 10)])
def test_two_stage_top_k_equals_lax_top_k_ties_included(n, k):
    from labkit.sim.policies import _chunk_size, top_k

    x = jax.random.normal(jax.random.key(n + k), (16, n))
    for scores in (x, jnp.round(x * 2) / 2, jnp.zeros_like(x), jnp.where(x > 0, NEG, x)):
        np.testing.assert_array_equal(top_k(scores, k), jax.lax.top_k(scores, k)[1])
    assert _chunk_size(10000, 10) == 16 and _chunk_size(4099, 10) is None and _chunk_size(1000, 10) is None


@pytest.mark.parametrize("n, k", [(10000, 10), (4096, 64), (1000, 10)])
def test_top_k_with_row_terms_equals_lax_top_k_of_the_dense_sum(n, k):
    """``top_k(scores, k, alive, bonus)`` ranks ``where(alive, scores + bonus, NEG)`` without
    writing it out: same indices as the dense form, with dead items, ties, a bonus that
    reorders, and fewer live items than ``k`` (the dead then fill in, lowest slot first)."""
    from labkit.sim.policies import top_k

    kx, kb, ka = jax.random.split(jax.random.key(n + k), 3)
    x = jax.random.normal(kx, (16, n))
    bonus = 3.0 * jax.random.normal(kb, (n,))
    for alive in (jax.random.uniform(ka, (n,)) < 0.3, jnp.arange(n) < k // 2, jnp.ones(n, bool)):
        for scores in (x, jnp.round(x * 2) / 2):
            for b in (bonus, jnp.round(bonus), None):
                dense = jnp.where(alive, scores if b is None else scores + b, NEG)
                np.testing.assert_array_equal(top_k(scores, k, alive, b), jax.lax.top_k(dense, k)[1])


def test_novelty_as_a_row_gives_the_slates_of_the_dense_sum(world):
    """Every policy given the novelty reward as ``SlateContext.bonus`` builds the slates it
    builds from the dense ``with_novelty`` scores (the loop passes the row)."""
    from labkit.sim.policies import novelty_bonus

    scores, context = world
    p = params(novelty_weight=1.5, epsilon=0.3, beta=0.5, temperature=0.7, mmr_lambda=0.5)
    row = context._replace(bonus=novelty_bonus(context, p))
    for name, policy in POLICIES.items():
        key = jax.random.key(7)
        dense = policy(key, with_novelty(scores, context, p), context, p, K)
        lazy = policy(key, scores, row, p, K)
        np.testing.assert_array_equal(lazy.items, dense.items, err_msg=name)
        np.testing.assert_array_equal(lazy.organic, dense.organic, err_msg=name)


@pytest.mark.parametrize("name", ["greedy", "softmax", "ucb", "thompson", "mmr"])
def test_standardized_units_give_the_same_slates_whatever_the_score_scale(world, name):
    """``score_units: standardized`` is scale-free: scores multiplied by a positive constant
    (content's ~1e-3 spread, popularity's tens) or shifted give the same slates at the same
    ``beta``, ``novelty_weight`` and ``temperature``; in raw units they do not."""
    from labkit.sim.policies import SCORE_UNITS, novelty_bonus

    scores, context = world
    p = params(beta=1.0, novelty_weight=0.5, temperature=0.5, mmr_lambda=0.5)
    row = context._replace(bonus=novelty_bonus(context, p))

    @partial(jax.jit, static_argnums=1)
    def slates_of(s, units):
        return POLICIES[name](jax.random.key(5), SCORE_UNITS[units](s, context.alive), row, p, K).items

    def slates(s, units):
        return np.asarray(slates_of(s, units))

    base = slates(scores, "standardized")
    for scale, shift in ((1e-3, 0.0), (40.0, 3.0)):
        np.testing.assert_array_equal(slates(scale * scores + shift, "standardized"), base, err_msg=f"x{scale}")
    raw = slates(scores, "raw")
    assert any((slates(scale * scores, "raw") != raw).any() for scale in (1e-3, 40.0)), "raw units scale-free?"


@pytest.mark.parametrize("name", ["greedy", "ucb", "mmr"])
def test_a_per_user_exposure_gives_each_user_the_slate_of_their_own_row(world, name):
    """``SlateContext.exposure`` with one row per user (``bonus_scope: per_user``): each
    user's slate is the one the policy builds for that user alone with their row as the
    catalog-wide exposure, exposure bonus and novelty reward included."""
    from labkit.sim.policies import novelty_bonus

    scores, context = world
    p = params(beta=2.0, novelty_weight=1.0)
    own = jax.random.poisson(jax.random.key(9), 3.0, (USERS, ITEMS)).astype(jnp.float32)

    def slates(s, exposure):
        c = context._replace(exposure=exposure)
        return POLICIES[name](None, s, c._replace(bonus=novelty_bonus(c, p)), p, K).items

    together = np.asarray(jax.jit(slates)(scores, own))
    alone = jax.jit(jax.vmap(lambda s, e: slates(s[None], e)[0]))(scores, own)  # one user at a time
    np.testing.assert_array_equal(together, alone)
    assert (together != np.asarray(jax.jit(slates)(scores, own[0]))).any(), "the rows made no difference"


def test_standardized_scores_rank_as_the_raw_ones_ties_and_a_row_of_zeros_included(world):
    """Standardizing keeps each user's ranking, exact ties too (popularity's counts), and a
    row of zeros (popularity before any click) stays zeros rather than 0 / 0."""
    from labkit.sim.policies import standardized, top_k

    scores, context = world
    for s in (scores, jnp.round(scores * 2), jnp.zeros_like(scores)):
        z = standardized(s, context.alive)
        assert bool(jnp.isfinite(z).all())
        np.testing.assert_array_equal(top_k(z, K, context.alive), top_k(s, K, context.alive))


def test_a_bonus_scale_multiplies_each_users_exposure_bonus(world):
    """``SlateContext.bonus_scale`` (``bonus_scope: randomized``): ucb ranks the scores plus
    ``beta * scale_ui / sqrt(1 + n_i)``, the greedy slates of that dense sum; a scale of ones
    is plain ucb."""
    scores, context = world
    p = params(beta=2.0)
    scale = jax.random.uniform(jax.random.key(4), (USERS, ITEMS), minval=0.0, maxval=2.0)
    run = jax.jit(lambda s, c: POLICIES["ucb"](None, s, c, p, K).items)
    scaled = np.asarray(run(scores, context._replace(bonus_scale=scale)))
    dense = scores + 2.0 * scale / jnp.sqrt(1.0 + context.exposure)
    greedy = jax.jit(lambda s: POLICIES["greedy"](None, s, context, p, K).items)
    np.testing.assert_array_equal(scaled, np.asarray(greedy(dense)))
    np.testing.assert_array_equal(np.asarray(run(scores, context._replace(bonus_scale=jnp.ones((USERS, ITEMS))))),
                                  np.asarray(run(scores, context)))
    assert (scaled != np.asarray(run(scores, context))).any(), "the scale made no difference"
