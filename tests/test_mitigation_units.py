"""The additive mitigations in scale-free units and three scopes (levers ``score_units``,
``bonus_scope``) on a tiny world: at moderate strength each bonus widens what is shown over
the run under every learned or counted recommender; at high strength a global bonus herds
every user onto the same few items each round, and a per-user or randomized one does not.

Diversity is read two ways (``labkit.sim.measure``): within the round (``exposure_entropy``,
``slate_overlap`` of two users' slates) and over the run (``cumulative_exposure_entropy``,
``cumulative_coverage``: each live item's impressions so far, read at the last round).

One compiled call per (recommender, scope): every strength runs together under ``jax.vmap``
(``labkit.simulate_grid``), over several seeds, and every test of a program reads the same
module-scoped run. Margins are two paired standard errors over the seeds.
"""

import jax
import numpy as np
import pytest

import labkit
from labkit import Config
from labkit.sim.loop import own_exposure

WORLD = dict(n_users=60, n_items=120, initial_items=80, new_items=4, slate_size=5, rounds=15,
             n_topics=6, n_creators=12, n_pairs=64, embedding_dim=8, train_steps=5, policy="ucb",
             score_units="standardized")
SEEDS = [0, 1, 2, 3]
LATE = slice(-5, None)
# point 0 is greedy (no bonus): ucb's beta and the novelty reward, at moderate and high strength
POINTS = {"greedy": {}, "ucb 1": dict(beta=1.0), "ucb 4": dict(beta=4.0), "ucb 16": dict(beta=16.0),
          "novelty 0.5": dict(novelty_weight=0.5), "novelty 2": dict(novelty_weight=2.0),
          "novelty 8": dict(novelty_weight=8.0)}
MODERATE, HIGH = ("ucb 1", "novelty 0.5"), ("ucb 16", "novelty 8")


def run(points, **levers):
    """Per point, per metric: the late rounds' mean (``late``, [seeds]) and the last round's
    value (``last``, [seeds]); and the final state and the raw metrics."""
    config = Config.from_dict({**WORLD, **levers})
    grid = [config.replace(beta=0.0).replace(**points[name]) for name in points]
    params = jax.tree.map(lambda *xs: np.stack(xs), *[c.params for c in grid])
    state, metrics = labkit.simulate_grid(config, params, SEEDS)
    host = {name: np.asarray(values) for name, values in metrics.items()}
    got = {name: {"late": {m: v[i, :, LATE].mean(axis=1) for m, v in host.items()},
                  "last": {m: v[i, :, -1] for m, v in host.items()}} for i, name in enumerate(points)}
    return got, (state, metrics)


def gain(got, point, metric, when="last", base="greedy"):
    """The paired change over ``base`` across seeds: (mean, standard error)."""
    diff = got[point][when][metric] - got[base][when][metric]
    return diff.mean(), diff.std(ddof=1) / np.sqrt(len(diff))


@pytest.fixture(scope="module")
def worlds():
    """The global bonus under three recommenders, all strengths."""
    return {recommender: run(POINTS, recommender=recommender)[0] for recommender in ("content", "popularity", "mf")}


@pytest.fixture(scope="module")
def content_per_user():
    return run({name: POINTS[name] for name in ("greedy", "ucb 16", "novelty 8")}, recommender="content",
               bonus_scope="per_user")


@pytest.fixture(scope="module")
def popularity_randomized():
    return run({name: POINTS[name] for name in ("greedy", "ucb 4", *MODERATE, *HIGH)}, recommender="popularity",
               bonus_scope="randomized")[0]


def test_every_bonus_at_moderate_strength_raises_cumulative_diversity_under_every_recommender(
        worlds, popularity_randomized):
    """ucb's beta 4 and novelty 0.5 (standardized: in units of each user's score spread)
    widen the run's exposure over greedy's under content, popularity and mf alike, and
    under popularity in the randomized scope too: cumulative exposure entropy up by more
    than two SE. beta 1 does so too except under popularity, whose heavy-tailed counts
    make the spread a blunt unit (+0.08, SE 0.05, here; docs/mitigation-units.md)."""
    for label, got in [*worlds.items(), ("popularity randomized", popularity_randomized)]:
        for point in ("ucb 4", "novelty 0.5", *(("ucb 1",) if label != "popularity" else ())):
            if point not in got:
                continue
            mean, se = gain(got, point, "cumulative_exposure_entropy")
            assert mean > 2 * se and mean > 0.05, (label, point, mean, se)


def test_a_global_bonus_narrows_each_round_at_high_strength_and_a_per_user_one_does_not(worlds,
                                                                                           content_per_user):
    """Synchronized herding: at moderate strength the global bonus widens the round's
    exposure; at high strength it sends every user to the same least-shown items: the
    round's exposure entropy falls below greedy's and two users' slates overlap more, while
    over the run more of the catalog is shown. Counting each user's own impressions
    instead, the same strength widens the round."""
    content, per_user = worlds["content"], content_per_user[0]
    for moderate, high in zip(MODERATE, HIGH):
        assert gain(content, moderate, "exposure_entropy", "late")[0] > 0.1, moderate
        assert (content[high]["late"]["exposure_entropy"] - content["greedy"]["late"]["exposure_entropy"]).max() < -0.3
        mean, se = gain(content, high, "slate_overlap", "late")
        assert mean > 2 * se and mean > 0.05, (high, mean, se)
        mean, se = gain(content, high, "cumulative_exposure_entropy")
        assert mean > 2 * se, (high, mean, se)
        assert (per_user[high]["late"]["exposure_entropy"] - per_user["greedy"]["late"]["exposure_entropy"]).min() > 0.3
    np.testing.assert_array_equal(per_user["greedy"]["late"]["exposure_entropy"],
                                  content["greedy"]["late"]["exposure_entropy"])  # no bonus: the scope changes nothing


def test_under_popularity_only_a_randomized_bonus_breaks_the_herd(worlds, popularity_randomized):
    """``popularity`` gives every user the same scores, so greedy and every global bonus show
    one slate to all (overlap 1, the round's entropy log k); a per-user randomization of the
    bonus gives users different slates at the same strength."""
    everyone, randomized = worlds["popularity"], popularity_randomized
    for point in POINTS:
        np.testing.assert_allclose(everyone[point]["late"]["slate_overlap"], 1.0, err_msg=point)
        np.testing.assert_allclose(everyone[point]["late"]["exposure_entropy"], np.log(WORLD["slate_size"]),
                                   rtol=1e-5, err_msg=point)
    for point in (*MODERATE, *HIGH):
        assert randomized[point]["late"]["slate_overlap"].max() < 0.9, point
        assert (randomized[point]["late"]["exposure_entropy"] - np.log(WORLD["slate_size"])).min() > 0.2, point


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
