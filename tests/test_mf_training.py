"""MF retraining under ``mf_training``: the minibatch form samples the rows the data strategy
trains on, weighs them as the full table does, estimates the full loss's gradient, and costs
the same whatever the log's length; the full form stays the reference."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from labkit.sim import data as data_mod
from labkit.sim import loop
from labkit.sim import recommenders as rec
from labkit.sim.config import Config, ConfigError

# 30 slots, 20 items at start and 4 new a round: slots are reused from round 3 on, so the
# log holds impressions of items that have left (weight 0 in the training table).
TINY = dict(n_users=16, n_items=30, initial_items=20, new_items=4, slate_size=4, rounds=12, n_topics=5,
            n_creators=6, n_pairs=8, window=3, embedding_dim=4)
WORLD = dict(synthetic_share=0.5, drift=0.2, influence_threshold=0.05, synthetic_weight=0.3)
LOGGED = 7  # rounds run before the log is read


@pytest.fixture(scope="module")
def logged():
    """The state after ``LOGGED`` rounds (a popularity recommender: the log is what matters, kept whole)."""
    config = Config.from_dict(TINY, recommender="popularity", log_capacity="full", **WORLD)
    step = jax.jit(partial(loop.step, config.static, config.params))
    state = loop.init_state(jax.random.key(0), config.static, config.params)
    for key in jax.random.split(jax.random.key(1), LOGGED):
        state, _ = step(state, key)
    return state


def _config(strategy: str, **overrides) -> Config:
    return Config.from_dict(TINY, data_strategy=strategy, **WORLD, **overrides)


def _gradients(state, config: Config, batch: int, draws: int):
    """The full table's loss gradient, and ``draws`` minibatch gradients (as flat vectors), at
    random factors, for the last logged round."""
    static, params = config.static, config.params
    factors = jax.tree.map(lambda x: 5.0 * x, rec.mf.init(jax.random.key(3), static, params).factors)
    round_ = state.round - 1
    table = data_mod.training_data(state.log, state.catalog, round_, static, params)
    full = ravel_pytree(jax.grad(rec.mf_loss)(factors, table, params.l2))[0]

    @jax.jit
    def sampled(keys):
        def one(key):
            rows, population = data_mod.sample_training_data(state.log, state.catalog, round_, key, (batch,),
                                                             static, params)
            return ravel_pytree(jax.grad(rec.mf_loss)(factors, rows, params.l2, batch / population))[0]
        return jax.vmap(one)(keys)

    return np.asarray(full), np.asarray(sampled(jax.random.split(jax.random.key(5), draws)))


def _error_and_noise(full, draws):
    """How far the mean of the minibatch gradients is from the full gradient, and how far
    sampling noise alone would put it (the standard error's norm), both over the full norm."""
    scale = np.linalg.norm(full)
    noise = np.sqrt(draws.var(axis=0).sum() / draws.shape[0])
    return np.linalg.norm(draws.mean(axis=0) - full) / scale, noise / scale


# larger batches where the ratio estimator is biased: downweight's fractional weights (O(1/batch)),
# human_only's few trained rows (a batch without one steps on the L2 term alone)
@pytest.mark.parametrize("strategy, batch", [("accumulate", 256), ("replace", 256), ("human_only", 1024),
                                             ("downweight", 1024)])
def test_minibatch_gradient_averages_to_the_full_weighted_gradient(logged, strategy, batch, monkeypatch):
    config = _config(strategy)
    full, draws = _gradients(logged, config, batch, 2000)
    error, noise = _error_and_noise(full, draws)
    # an unbiased estimate is off by about the noise (0.6x to 1.4x of it across draws here,
    # the gradient living on few rows under human_only); 3x leaves room for the draw
    assert error <= 3 * noise, (error, noise)
    assert noise < 0.02  # the check has power: a 10% bias would fail it
    # mutation: a sampler that drew from every logged round and ignored the strategy's
    # weights (reused slots, the window, human_only's AI rows) fails the same check
    monkeypatch.setattr(data_mod, "rounds_in_reach", lambda round_, static: jnp.minimum(round_ + 1, static.rounds))
    monkeypatch.setattr(data_mod, "strategy_weight", lambda log, *_: jnp.ones(log.item.shape))
    _, wrong = _gradients(logged, config, batch, 2000)
    wrong_error, wrong_noise = _error_and_noise(full, wrong)
    assert wrong_error > 5 * max(wrong_noise, noise), (wrong_error, wrong_noise)


@pytest.mark.parametrize("strategy", ["accumulate", "replace"])
def test_sampled_rows_are_in_reach_and_weighted_as_in_the_full_table(logged, strategy):
    config = _config(strategy)
    static, params = config.static, config.params
    log, catalog, round_ = logged.log, logged.catalog, logged.round - 1
    key, shape = jax.random.key(9), (50, 40)
    rows, population = data_mod.sample_training_data(log, catalog, round_, key, shape, static, params)
    row, user, slot = (np.asarray(a) for a in data_mod.sample_impressions(key, shape, round_, static,
                                                                                   log.round.shape[0]))
    item, uid, rounds = (np.asarray(log.item)[row, user, slot], np.asarray(log.uid)[row, user, slot],
                         np.asarray(log.round)[row])
    np.testing.assert_array_equal(np.asarray(rows.item), item)
    np.testing.assert_array_equal(np.asarray(rows.user), user)
    # the rounds drawn: every round the strategy trains on, and only those
    reach = 3 if strategy == "replace" else LOGGED
    assert set(rounds.reshape(-1).tolist()) == set(range(LOGGED - reach, LOGGED))
    assert float(population) == reach * static.n_users * static.slate_size
    # each drawn row weighs what the full table gives it; a reused slot's row weighs 0
    table = np.asarray(data_mod.strategy_weight(log, catalog.uid, round_, static, params))
    weight = np.asarray(rows.weight)
    np.testing.assert_array_equal(weight, table[row, user, slot])
    reused = np.asarray(catalog.uid)[item] != uid
    assert (weight[reused] == 0).all()
    if strategy == "accumulate":  # the draw did meet rows of items that have left
        assert reused.any()


def test_a_ring_of_the_window_samples_what_the_whole_log_samples(logged):
    """Under replace the loop's log keeps window + 1 rounds (labkit.sim.loop.log_rounds): the
    same draws find the same impressions, weights and population there as in the whole log."""
    config = _config("replace", mf_training="minibatch")
    static, params = config.static, config.params
    capacity = loop.log_rounds(static)
    assert capacity == static.window + 1 < LOGGED  # the ring has wrapped
    kept = np.arange(LOGGED - capacity, LOGGED)  # the rounds the ring holds, each at row round % capacity
    ring = jax.tree.map(lambda values: values[kept][np.argsort(kept % capacity)], logged.log)
    assert sorted(np.asarray(ring.round) % capacity) == list(range(capacity))
    sample = jax.jit(data_mod.sample_training_data, static_argnums=(4, 5))
    args = (logged.catalog, logged.round - 1, jax.random.key(9), (50, 40), static, params)
    (rows, population), (whole, whole_population) = sample(ring, *args), sample(logged.log, *args)
    jax.tree.map(np.testing.assert_array_equal, rows, whole)
    assert float(population) == float(whole_population) == 3 * static.n_users * static.slate_size
    assert float(np.asarray(rows.weight).sum()) > 0


def test_minibatch_training_lowers_the_full_loss_about_as_much_as_full_training(logged):
    params = _config("accumulate").params
    round_ = logged.round - 1
    table = data_mod.training_data(logged.log, logged.catalog, round_, _config("accumulate").static, params)
    start = rec.mf.init(jax.random.key(3), _config("accumulate").static, params)
    obs = rec.Observation(logged.catalog, logged.users)

    def full_loss(training: str) -> float:
        static = _config("accumulate", train_steps=60, mf_batch=64, mf_training=training).static
        state = jax.jit(rec.mf.update, static_argnums=(5,))(start, logged.log, round_, obs, jax.random.key(4),
                                                             static, params)
        return float(rec.mf_loss(state.factors, table, params.l2))

    before = float(rec.mf_loss(start.factors, table, params.l2))
    full, minibatch = full_loss("full"), full_loss("minibatch")
    assert full < 0.8 * before
    assert before - minibatch > 0.8 * (before - full), (before, full, minibatch)


def _update_flops(training: str, rounds: int) -> float:
    """XLA's flop count of one MF retraining at the last round of a full log of ``rounds`` rounds."""
    config = Config.from_dict(TINY, rounds=rounds, mf_training=training)
    static, params = config.static, config.params
    state = loop.init_state(jax.random.key(0), static, params)
    log = jax.tree.map(lambda values: jnp.zeros_like(values), state.log)._replace(
        round=jnp.arange(rounds, dtype=jnp.int32))
    obs = rec.Observation(state.catalog, state.users)
    compiled = jax.jit(rec.mf.update, static_argnums=(5,)).lower(
        state.recommender, log, jnp.int32(rounds - 1), obs, jax.random.key(1), static, params).compile()
    analysis = compiled.cost_analysis()
    analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
    return float(analysis["flops"])


def test_minibatch_retraining_costs_the_same_whatever_the_logs_length():
    # XLA's own count of the work (no timing): a log 8 times longer
    assert _update_flops("minibatch", 80) == pytest.approx(_update_flops("minibatch", 10), rel=0.01)
    assert _update_flops("full", 80) > 5 * _update_flops("full", 10)


@pytest.mark.parametrize("key, value, fragment", [
    ("mf_training", "stochastic", r"mf_training = 'stochastic' is not a known choice; allowed: one of 'full', "
                                  r"'minibatch'"),
    ("mf_batch", 0, r"mf_batch = 0 is below the range; allowed: int in \[1, "),
    ("mf_batch", 2.5, r"mf_batch = 2.5 is not a whole number"),
])
def test_bad_mf_training_levers_are_refused_by_name(key, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Config.from_dict({key: value})


def test_minibatch_mf_runs_finite_even_with_one_impression_a_step():
    # reserve trains on its exploration stream alone: most batches of one hold no trained row
    # (the hardest case for the ratio estimate's floor; accumulate's batches always hold one)
    config = Config.from_dict(TINY, recommender="mf", mf_training="minibatch", mf_batch=1, data_strategy="reserve",
                              **WORLD)
    _, metrics = loop.simulate_seeds(config, [0, 1])  # raises NumericalError on a NaN or inf
    assert np.isfinite(np.asarray(metrics["ctr"])).all()
