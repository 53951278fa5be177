"""The ``consumption`` lever: under ``once`` a ranking never shows a user an item it has
already consumed while unconsumed live items remain; under ``repeat`` it does."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import labkit
from labkit.sim.config import Config, ConfigError
from labkit.sim.loop import CONSUMED
from labkit.sim.policies import NEG, SlateContext, mmr

# A fixed catalog (no new items), static users, a click almost every round by utility:
# the ideal greedy feed shows the same top items each round, so repeats are certain. The tests
# read the whole final log (repeat's run alone would keep one round: labkit.sim.loop.log_rounds).
WORLD = dict(n_users=12, n_items=40, initial_items=40, new_items=0, slate_size=3, rounds=10, n_topics=4,
             n_creators=3, n_pairs=8, recommender="ideal", no_click_logit=-100.0, drift=0.0, log_capacity="full")


def consumed_uids(consumption: str, policy: str = "greedy", **levers) -> list[list[int]]:
    config = Config.from_dict({**WORLD, "consumption": consumption, "policy": policy, **levers})
    state, _ = labkit.simulate_seeds(config, [0, 1])
    log = jax.device_get(state.log)
    out = []
    for seed in range(2):
        for user in range(WORLD["n_users"]):
            click = log.click[seed, :, user]
            out.append([int(u) for u in log.uid[seed, :, user][click]])
    return out


@pytest.mark.parametrize("policy", ["greedy", "softmax", "mmr", "ucb"])
def test_once_never_shows_a_consumed_item_again(policy):
    histories = consumed_uids("once", policy, temperature=0.5, mmr_lambda=0.7)
    assert sum(map(len, histories)) >= 0.9 * 2 * WORLD["n_users"] * WORLD["rounds"]  # clicks happen
    for uids in histories:
        assert len(uids) == len(set(uids)), uids


def test_repeat_lets_the_ideal_greedy_feed_serve_the_same_items_again():
    histories = consumed_uids("repeat")
    repeats = sum(len(u) - len(set(u)) for u in histories)
    assert repeats > WORLD["n_users"]  # most users click an item they clicked before


def test_consumption_choices_are_validated():
    with pytest.raises(ConfigError, match=r"consumption = 'never'.*'repeat', 'once'"):
        Config.from_dict({**WORLD, "consumption": "never"})


def test_mmr_relevance_ignores_consumed_scores():
    features = jnp.eye(4)
    context = SlateContext(alive=jnp.ones(4, bool), exposure=jnp.zeros(4), features=features)
    params = Config.from_dict({"mmr_lambda": 1.0}).params
    scores = jnp.array([[3.0, 2.0, 1.0, 0.0]])
    consumed = scores.at[0, 0].set(CONSUMED)
    assert NEG < CONSUMED < -1e6
    plain = mmr(jax.random.key(0), scores, context, params, 2).items
    masked = mmr(jax.random.key(0), consumed, context, params, 2).items
    np.testing.assert_array_equal(plain, [[0, 1]])
    np.testing.assert_array_equal(masked, [[1, 2]])
