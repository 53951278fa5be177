"""The additive mitigations in scale-free units and per-user scope (levers ``score_units``,
``bonus_scope``) on a tiny world: they widen what is shown over the run under two
recommenders, and at high strength a global bonus herds every user onto the same few
items each round while a per-user one does not.

One compiled call per (recommender, scope): the strengths of a test run together under
``jax.vmap`` (``labkit.simulate_grid``), over several seeds. ``coverage`` here is
cumulative: the ``cumulative_coverage`` metric of the last round (the share of live items
shown at least once in the run), not the ``coverage`` metric, which reads one round's slates.
"""

import jax
import numpy as np
import pytest

import labkit
from labkit import Config
from labkit.sim.loop import own_exposure

WORLD = dict(n_users=60, n_items=120, initial_items=80, new_items=4, slate_size=5, rounds=15,
             n_topics=6, n_creators=12, n_pairs=64, policy="ucb", score_units="standardized")
SEEDS = [0, 1, 2, 3]
LATE = slice(-5, None)
# point 0 is greedy (no bonus): ucb's beta and the novelty reward, at moderate and high strength
POINTS = {"greedy": {}, "ucb 1": dict(beta=1.0), "ucb 4": dict(beta=4.0), "ucb 16": dict(beta=16.0),
          "novelty 0.5": dict(novelty_weight=0.5), "novelty 2": dict(novelty_weight=2.0),
          "novelty 8": dict(novelty_weight=8.0)}


def run(points, **levers):
    """Per point: late within-round exposure entropy and cumulative coverage, [seeds] each;
    and the final state."""
    config = Config.from_dict({**WORLD, **levers})
    grid = [config.replace(beta=0.0).replace(**points[name]) for name in points]
    params = jax.tree.map(lambda *xs: np.stack(xs), *[c.params for c in grid])
    state, metrics = labkit.simulate_grid(config, params, SEEDS)
    entropy = np.asarray(metrics["exposure_entropy"])[:, :, LATE].mean(axis=2)
    coverage = np.asarray(metrics["cumulative_coverage"])[:, :, -1]
    return {name: (entropy[i], coverage[i]) for i, name in enumerate(points)}, (state, metrics)


@pytest.fixture(scope="module")
def content_global():
    return run(POINTS, recommender="content")[0]


@pytest.fixture(scope="module")
def content_per_user():
    return run({name: POINTS[name] for name in ("greedy", "ucb 16", "novelty 8")}, recommender="content",
               bonus_scope="per_user")


def test_ucb_and_novelty_raise_cumulative_coverage_over_greedy_under_two_recommenders(content_global):
    popularity = run({name: POINTS[name] for name in ("greedy", "ucb 4", "novelty 2")}, recommender="popularity")[0]
    for recommender, got in (("content", content_global), ("popularity", popularity)):
        greedy = got["greedy"][1]
        for name in ("ucb 4", "novelty 2"):
            gain = got[name][1] - greedy
            assert gain.mean() > 0.08 and gain.min() > 0.0, (recommender, name, gain)
    for name in ("ucb 1", "novelty 0.5"):  # moderate strength already, where the scores are not counts
        assert (content_global[name][1] - content_global["greedy"][1]).min() > 0.3, name


def test_a_global_bonus_narrows_each_round_at_high_strength_and_a_per_user_one_does_not(content_global,
                                                                                           content_per_user):
    """Synchronized herding: at moderate strength the global bonus widens the round's
    exposure; at high strength it sends every user to the same least-shown items, and the
    round's exposure entropy falls below greedy's. Counting each user's own impressions
    instead, the same strength widens it."""
    per_user = content_per_user[0]
    greedy = content_global["greedy"][0]
    for moderate, high in (("ucb 1", "ucb 16"), ("novelty 0.5", "novelty 8")):
        assert (content_global[moderate][0] - greedy).mean() > 0.1, moderate
        assert (content_global[high][0] - greedy).max() < -0.3, high
        assert (per_user[high][0] - per_user["greedy"][0]).min() > 0.3, high
    np.testing.assert_array_equal(per_user["greedy"][0], greedy)  # no bonus: the scope changes nothing


def test_cumulative_metrics_read_the_final_states_impressions(content_per_user):
    state, metrics = content_per_user[1]
    alive, exposure = np.asarray(state.catalog.alive), np.asarray(state.exposure)
    np.testing.assert_allclose(np.asarray(metrics["cumulative_coverage"])[..., -1],
                               ((exposure > 0) & alive).sum(-1) / alive.sum(-1), rtol=1e-6)
    p = np.where(alive, exposure, 0) / np.where(alive, exposure, 0).sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(metrics["cumulative_exposure_entropy"])[..., -1],
                               -(p * np.log(np.where(p > 0, p, 1))).sum(-1), rtol=1e-5)
    overlap = np.asarray(metrics["slate_overlap"])
    assert (overlap >= 0).all() and (overlap <= 1).all()


def test_own_exposure_counts_the_impressions_the_catalog_wide_exposure_counts(content_per_user):
    state = jax.tree.map(lambda x: x[1, 2], content_per_user[1][0])  # one point, one seed
    users = np.arange(WORLD["n_users"])
    np.testing.assert_array_equal(np.asarray(jax.jit(own_exposure)(state.log, state.catalog, users)).sum(axis=0),
                                  np.asarray(state.exposure))
