"""The log keeps what the run reads (``log_capacity = auto``, labkit.sim.loop.log_rounds): a
ring of a few rounds where nothing reads further back, every round where something does, and
the same numbers, bit for bit, as with every round kept (``log_capacity = full``)."""

import numpy as np
import pytest

import golden
import labkit
from labkit.sim import loop

# 16 slots, 12 items at start and 2 new a round: slots are reused from round 2 on.
TINY = dict(n_users=8, n_items=16, initial_items=12, new_items=2, n_topics=3, n_creators=3, slate_size=2,
            rounds=8, n_pairs=4, synthetic_share=0.5, drift=0.2, influence_threshold=0.05)


def _config(**levers) -> labkit.Config:
    return labkit.Config.from_dict({**TINY, **levers})


@pytest.mark.parametrize("levers, rounds", [
    (dict(recommender="content", data_strategy="replace", window=2), 3),  # the window and the round leaving it
    (dict(recommender="content", new_items=0), 1),  # incremental, nothing reused: the round alone
    (dict(recommender="content", n_items=28), 1),  # 12 + 8 x 2 items fit in 28 slots: none reused
    (dict(recommender="content"), 8),  # reused slots outside a window: every round
    (dict(recommender="popularity", data_strategy="downweight"), 1),
    (dict(recommender="random", data_strategy="replace", window=20), 8),  # a window longer than the run
    (dict(recommender="ideal", consumption="once"), 8),  # each user's consumed items
    (dict(recommender="popularity", policy="ucb", bonus_scope="per_user"), 8),  # each user's own impressions
    (dict(recommender="mf"), 8),  # whole-table training: its sums run in the log's order
    (dict(recommender="mf", mf_training="minibatch", data_strategy="replace", window=3), 4),
    (dict(recommender="mf", mf_training="minibatch"), 8),  # samples every round
    (dict(recommender="random", log_capacity="full"), 8),
])
def test_the_log_keeps_the_rounds_its_readers_read(levers, rounds):
    static = _config(**levers).static
    assert loop.log_rounds(static) == rounds
    assert (loop.every_round_reader(static) is None) == (rounds < static.rounds or "window" in levers)
    assert loop.state_shape(static).log.item.shape == (rounds, static.n_users, static.slate_size)
    assert loop.state_shape(static).history.shape == (static.n_users, static.rounds)  # homogenization's: whole


def test_a_ring_of_the_window_gives_the_golden_tables_numbers():
    """A golden case (whose state digest keeps the whole log) under the default log_capacity:
    a ring of window + 1 = 4 of its 6 rounds, wrapped by the run's end (the running totals take
    the round leaving the window out of it), and every metric of the golden table. The
    recommenders' updates on a wrapped ring are checked round by round in tests/test_incremental.py."""
    case = "greedy-random-replace-engagement"
    config = labkit.Config.from_dict({**golden.WORLD, **golden.CASES[case], "log_capacity": "auto"})
    state, metrics = labkit.simulate_seeds(config, golden.SEEDS)
    assert state.log.round.shape[-1] == loop.log_rounds(config.static) == 4 < config.rounds
    np.testing.assert_array_equal(np.asarray(state.log.round), [[4, 5, 2, 3]] * 2)
    assert golden.load()["simulations"][case]["metrics"] == golden._metrics(metrics, golden.UNPINNED_METRICS)


def test_a_long_incremental_world_is_estimated_at_about_the_memory_of_a_short_one():
    """The issue's target, as the memory check judges it: content / accumulate at 1e4 x 1e4,
    catalog never reused (100 initial items + 10 a round), 1000 rounds against 10."""
    world = dict(n_users=10_000, n_items=10_000, initial_items=100, new_items=9, recommender="content")
    short, long = (loop.estimate_memory(labkit.Config.from_dict(world, rounds=r).static) for r in (10, 1000))
    assert long.total < 2 * short.total, (short.parts, long.parts)
    whole = loop.estimate_memory(labkit.Config.from_dict(world, rounds=1000, log_capacity="full").static)
    assert whole.total > 10 * short.total  # what a log of every round would need
