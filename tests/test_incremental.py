"""Incremental retraining: a recommender's ``update`` (the round's change) equals its ``fit``
(from scratch on the whole training table), round after round, under every data strategy,
on a catalog whose slots are reused (so clicked items leave the training set)."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from labkit.sim import data as data_mod
from labkit.sim import loop
from labkit.sim.config import Config
from labkit.sim.recommenders import RECOMMENDERS, Observation

# 30 slots, 20 items at start and 4 new a round: slots are reused from round 3 on. The log keeps
# every round: the fit from scratch reads the whole training table.
TINY = dict(n_users=16, n_items=30, initial_items=20, new_items=4, slate_size=4, rounds=12,
            n_topics=5, n_creators=6, n_pairs=8, window=3, log_capacity="full")
STRATEGIES = ["accumulate", "replace", "downweight", "human_only", "reserve"]


def _rounds(config: Config, seed: int = 0):
    """The state after each round of one run, and the from-scratch fit on that round's log."""
    static, params = config.static, config.params
    recommender = RECOMMENDERS[static.recommender]
    step = jax.jit(partial(loop.step, static, params))

    @jax.jit
    def from_scratch(state, key):
        training = data_mod.training_data(state.log, state.catalog, state.round - 1, static, params)
        return recommender.fit(recommender.init(key, static, params), training,
                               Observation(state.catalog, state.users), key, static, params)

    state = loop.init_state(jax.random.key(seed), static, params)
    for key in jax.random.split(jax.random.key(seed + 1), static.rounds):
        state, _ = step(state, key)
        yield state, from_scratch(state, key)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("recommender", ["content", "popularity"])
def test_update_equals_fit_from_scratch_every_round(recommender, strategy):
    config = Config.from_dict(TINY, recommender=recommender, data_strategy=strategy, synthetic_share=0.5,
                              drift=0.2, influence_threshold=0.05, synthetic_weight=0.3, reserve_share=0.3)
    previous, shrank = None, False
    for state, reference in _rounds(config):
        updated = state.recommender
        for name in reference._fields:
            np.testing.assert_allclose(np.asarray(getattr(updated, name)), np.asarray(getattr(reference, name)),
                                       rtol=1e-5, atol=1e-5, err_msg=f"{name} at round {int(state.round) - 1}")
        sums = np.asarray(reference[0])  # popularity: clicks per slot; content: click sums per user
        if previous is not None:
            shrank |= bool((sums < previous - 1e-4).any())
        previous = sums
    # some click left the training set (a reused slot, the window): the comparison covered
    # the rows that go out, not only the rows that come in
    assert shrank

def test_update_continues_a_fit_from_scratch():
    # Chaney et al.'s start-up: the recommender is fit once on the start-up log, then updated.
    config = Config.from_dict(TINY, recommender="content")
    static, params = config.static, config.params
    rounds = list(_rounds(config))
    state, fitted = rounds[5]
    step = jax.jit(partial(loop.step, static, params))
    key = jax.random.key(7)
    continued, _ = step(state._replace(recommender=fitted), key)
    unchanged, _ = step(state, key)
    np.testing.assert_allclose(np.asarray(continued.recommender.total), np.asarray(unchanged.recommender.total),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("recommender", ["content", "popularity"])
def test_update_on_a_ring_of_the_window_is_the_update_on_the_whole_log(recommender):
    """Under replace the loop's log keeps window + 1 rounds (labkit.sim.loop.log_rounds): given
    that ring, wrapped and with slots reused, the recommender's update and the running totals
    are bit for bit what the loop computed on the whole log."""
    config = Config.from_dict(TINY, recommender=recommender, data_strategy="replace", synthetic_share=0.5,
                              drift=0.2, influence_threshold=0.05, synthetic_weight=0.3, reserve_share=0.3)
    static, params = config.static, config.params
    capacity = loop.log_rounds(config.replace(log_capacity="auto").static)
    assert capacity == static.window + 1

    @jax.jit
    def update(before, after, log):
        now, obs = after.round - 1, Observation(after.catalog, after.users)
        return (RECOMMENDERS[recommender].update(before.recommender, log, now, obs, jax.random.key(0), static, params),
                data_mod.update_totals(before.training, log, after.catalog, now, static, params))

    before, compared = None, 0
    for state, _ in _rounds(config):  # the program of test_update_equals_fit_from_scratch_every_round
        now = int(state.round) - 1
        if now >= capacity:  # the ring has wrapped
            kept = np.arange(now - capacity + 1, now + 1)  # the rounds it holds, each at row round % capacity
            ring = jax.tree.map(lambda values: values[kept][np.argsort(kept % capacity)], state.log)
            jax.tree.map(np.testing.assert_array_equal, update(before, state, ring),
                         (state.recommender, state.training))
            compared += 1
        before = state
    assert compared == static.rounds - capacity


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_running_training_totals_give_the_ai_share_of_the_whole_training_table(strategy):
    config = Config.from_dict(TINY, data_strategy=strategy, synthetic_share=0.5, drift=0.2,
                              influence_threshold=0.05, synthetic_weight=0.3, reserve_share=0.3)
    static, params = config.static, config.params
    shares = set()
    for state, _ in _rounds(config):
        table = data_mod.training_data(state.log, state.catalog, state.round - 1, static, params)
        expected = float(data_mod.ai_share_of_training(table))
        np.testing.assert_allclose(float(data_mod.ai_share_of_totals(state.training)), expected, rtol=1e-5,
                                   atol=1e-6, err_msg=f"round {int(state.round) - 1}")
        by_slot = jax.ops.segment_sum(table.weight, table.item, num_segments=static.n_items)
        np.testing.assert_allclose(np.asarray(state.training.weight), np.asarray(by_slot), rtol=1e-5, atol=1e-5)
        shares.add(round(expected, 6))
    if strategy == "human_only":
        assert shares == {0.0}  # it drops every AI-influenced row
    else:
        assert len(shares) > 2  # the share moved: the comparison is not of constants


@pytest.mark.parametrize("strategy", list(data_mod.STRATEGIES))
def test_every_strategy_weighs_a_row_by_that_row_alone(strategy):
    # what incremental retraining relies on: a strategy applied round by round gives the
    # weights it gives on the whole log
    config = Config.from_dict(TINY, data_strategy=strategy, synthetic_share=0.5, drift=0.2,
                              influence_threshold=0.05, synthetic_weight=0.3, reserve_share=0.3)
    static, params = config.static, config.params
    state = list(_rounds(config))[-1][0]
    log, now = state.log, state.round - 1
    valid = (log.round[:, None, None] >= 0) & (state.catalog.uid[log.item] == log.uid)
    whole = data_mod.STRATEGIES[strategy](log, valid, now, static, params)
    by_round = jnp.concatenate([
        data_mod.STRATEGIES[strategy](data_mod.round_of(log, jnp.int32(r)), valid[r:r + 1], now, static, params)
        for r in range(static.rounds)])
    np.testing.assert_array_equal(np.asarray(by_round), np.asarray(whole))
    assert float(whole.sum()) > 0


def test_a_new_strategy_is_one_value_windowed_and_slate_changing(monkeypatch):
    # The README's example: human-first rows of the last 2 rounds, and a reserved stream of
    # exploration slots. One value in data.STRATEGIES; config validation, the loop, the
    # running totals and the incremental retraining all take it from there.
    def rows(log, valid, round_, static, params):
        return (valid & ~data_mod.ai_influenced(log)).astype(jnp.float32)

    recent_human = data_mod.Strategy(rows, window=lambda static: 2, slate=data_mod.STRATEGIES["reserve"].slate)
    monkeypatch.setitem(data_mod.STRATEGIES, "recent_human", recent_human)
    config = Config.from_dict(TINY, recommender="content", data_strategy="recent_human", synthetic_share=0.5,
                              drift=0.2, influence_threshold=0.05, reserve_share=0.3)
    shrank, previous = False, None
    for state, reference in _rounds(config):
        np.testing.assert_allclose(np.asarray(state.recommender.total), np.asarray(reference.total),
                                   rtol=1e-5, atol=1e-5)
        if previous is not None:
            shrank |= bool((np.asarray(reference.total) < previous - 1e-4).any())
        previous = np.asarray(reference.total)
    assert shrank  # rows left the 2-round window
    assert np.asarray(state.log.organic).any()  # the strategy's slate rewrite ran
