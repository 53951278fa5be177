"""Retraining cadence (lever ``retrain_every``): the loop serves the recommender and the GenAI
of the last refresh, refreshed after every ``retrain_every``-th round, while both keep
learning every round; at 1 (the default) there is nothing apart to serve."""

import jax
import numpy as np
import pytest

from labkit import Config
from labkit.grad import relaxed
from labkit.sim import loop
from labkit.sim.levers import ConfigError

WORLD = {"n_users": 12, "n_items": 24, "initial_items": 16, "new_items": 2, "slate_size": 3, "rounds": 6,
         "n_pairs": 8, "recommender": "popularity", "synthetic_share": 0.5, "drift": 0.2}


def rounds(retrain_every):
    """The state before round 0 and after each round, and each round's metrics: one jitted step."""
    config = Config.from_dict({**WORLD, "retrain_every": retrain_every})
    step = jax.jit(lambda state, key: loop.step(config.static, config.params, state, key))
    states = [loop.init_state(jax.random.key(1), config.static, config.params)]
    metrics = []
    for key in jax.random.split(jax.random.key(2), WORLD["rounds"]):
        state, m = step(states[-1], key)
        states.append(state)
        metrics.append(jax.device_get(m))
    return states, metrics


@pytest.fixture(scope="module")
def every_round():
    return rounds(1)


@pytest.fixture(scope="module")
def every_third():
    return rounds(3)


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_the_served_models_are_the_last_refreshs(every_third):
    """After rounds 0-1 the loop still serves the initial models; rounds 2 and 5 end with a
    refresh; in between the served models are those of the last refresh, while the learning
    ones move on every round."""
    states, _ = every_third
    initial = (states[0].recommender, states[0].generator)
    assert same(states[0].served, initial)
    for done in range(1, WORLD["rounds"] + 1):  # states[done]: after `done` rounds
        last = 3 * (done // 3)  # rounds done at the last refresh (0: none yet)
        expected = initial if last == 0 else (states[last].recommender, states[last].generator)
        assert same(states[done].served, expected), done
    assert not same(states[2].recommender, states[0].recommender)  # it learned before being served


def test_a_slower_cadence_shows_the_same_first_rounds_then_another_feed(every_round, every_third):
    """Round 0 serves the initial models under both cadences; from round 1 the every-round loop
    serves what it learned and the two feeds part."""
    (states_1, metrics_1), (_, metrics_3) = every_round, every_third
    assert states_1[0].served is None and states_1[-1].served is None
    for name in ("ctr", "exposure_entropy", "coverage"):
        assert metrics_1[0][name] == metrics_3[0][name], name
    # popularity shows every user one slate, so the round's exposure entropy is log k under
    # both; which items it shows (novelty, a function of their impressions) and what is
    # clicked are not
    parted = [r for r in range(1, WORLD["rounds"])
              if any(metrics_1[r][m] != metrics_3[r][m] for m in ("novelty", "ctr", "consumption_entropy"))]
    assert parted, "the cadence changed no round's feed"


def test_cadence_is_refused_where_it_is_not_modelled():
    config = Config.from_dict({**WORLD, "retrain_every": 2})
    with pytest.raises(ConfigError, match="retrain_every = 2.*allowed: 1"):
        relaxed.check_supported(config.static)
    with pytest.raises(ConfigError, match="retrain_every"):
        Config.from_dict({**WORLD, "retrain_every": 0})
