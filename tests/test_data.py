"""Data strategies: which logged impressions each one retrains on, on a log built by hand."""

import jax.numpy as jnp
import numpy as np
import pytest

from labkit.sim.config import Config
from labkit.sim.data import STRATEGIES, ai_share_of_training, empty_log, record, training_data
from labkit.sim.world import Catalog

# 3 rounds x 2 users x 2 slots; catalog of 4 slots
LEVERS = dict(n_users=2, n_items=4, initial_items=4, new_items=1, slate_size=2, rounds=3, window=2, synthetic_weight=0.25)


def catalog(uid):
    return Catalog(features=jnp.full((4, 3), 1 / 3), alive=jnp.ones(4, bool),
                   synthetic=jnp.array([False, False, True, False]), creator=jnp.zeros(4, jnp.int32),
                   birth=jnp.zeros(4, jnp.int32), uid=jnp.asarray(uid, jnp.int32),
                   next_uid=jnp.int32(4), cursor=jnp.int32(0))


@pytest.fixture
def logged():
    config = Config.from_dict(LEVERS)
    static = config.static
    log = empty_log(static)
    cat = catalog([0, 1, 2, 3])
    slate = jnp.array([[0, 2], [1, 3]])  # user 0 sees a synthetic item in slot 1
    click = jnp.array([[True, False], [False, True]])
    organic = jnp.array([[False, True], [False, False]])
    for r in range(3):
        influenced = jnp.array([False, r >= 1])  # user 1 is nudged from round 1 on
        log = record(log, jnp.int32(r), slate, click, organic, influenced, cat)
    return log, cat, static, config.params


def weights(logged, strategy, cat=None):
    log, cat0, static, params = logged
    static = static.__class__(**{**static.__dict__, "data_strategy": strategy})
    data = training_data(log, cat if cat is not None else cat0, jnp.int32(2), static, params)
    return np.asarray(data.weight).reshape(3, 2, 2), data


def test_accumulate_keeps_every_row(logged):
    w, _ = weights(logged, "accumulate")
    assert (w == 1).all()


def test_replace_keeps_only_the_last_window_rounds(logged):
    w, _ = weights(logged, "replace")
    np.testing.assert_array_equal(w.sum(axis=(1, 2)), [0, 4, 4])  # window 2 at round 2: rounds 1, 2


def test_human_only_drops_synthetic_items_and_nudged_users(logged):
    w, _ = weights(logged, "human_only")
    # round 0: only user 0's synthetic impression is AI; rounds 1-2: also all of user 1
    np.testing.assert_array_equal(w[0], [[1, 0], [1, 1]])
    np.testing.assert_array_equal(w[2], [[1, 0], [0, 0]])


def test_downweight_scales_ai_rows_by_synthetic_weight(logged):
    w, data = weights(logged, "downweight")
    np.testing.assert_allclose(w[2], [[1, 0.25], [0.25, 0.25]])
    # AI rows: 1 in round 0, 3 in rounds 1 and 2 -> 7 rows at 0.25; human rows: 3 + 1 + 1 = 5 at 1
    assert float(ai_share_of_training(data)) == pytest.approx(0.25 * 7 / (0.25 * 7 + 5))


def test_reserve_trains_on_the_exploration_stream_only(logged):
    w, _ = weights(logged, "reserve")
    np.testing.assert_array_equal(w[:, 0], [[0, 1]] * 3)
    assert w[:, 1].sum() == 0


def test_rows_of_items_whose_slot_was_reused_are_dropped(logged):
    w, _ = weights(logged, "accumulate", cat=catalog([0, 1, 9, 3]))  # slot 2 now holds item 9
    assert w[:, 0, 1].sum() == 0 and w[:, 0, 0].sum() == 3


def test_every_strategy_is_registered_in_the_config_choices():
    from labkit.sim.config import DATA_STRATEGIES
    assert set(STRATEGIES) == set(DATA_STRATEGIES)


def test_the_history_holds_the_last_rounds_clicks_round_after_round():
    """``record_clicks`` keeps, per user, the clicked serial numbers of the last ``rounds``
    rounds (a ring over rounds, -1 for a round without a click): checked over more rounds than
    the ring has (so it wraps), with repeated items and rounds without a click."""
    from labkit.sim.data import record_clicks

    rng = np.random.default_rng(0)
    users, ring, rounds = 6, 5, 17
    window = np.full((users, ring), -1)
    history = jnp.full((users, ring), -1, jnp.int32)
    for t in range(rounds):
        new = np.where(rng.random(users) < 0.3, -1, rng.integers(0, 4, users))  # few items: repeats
        history = record_clicks(history, jnp.int32(t), jnp.asarray(new, jnp.int32))
        window[:, t % ring] = new
        np.testing.assert_array_equal(np.asarray(history), window, err_msg=f"round {t}")
