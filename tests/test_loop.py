"""The loop: shapes, invariants, provenance, determinism, and the oracle beating chance."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.sim.config import Config
from labkit.analysis.logs import interaction_metrics, interaction_table
from labkit.sim.users import choose

TINY = dict(n_users=24, n_items=40, initial_items=25, new_items=3, slate_size=4, rounds=8,
            n_topics=5, n_creators=6, n_pairs=16, embedding_dim=4, train_steps=3)
SEEDS = [0, 1, 0]


@pytest.fixture(scope="module")
def tiny():
    return Config.from_dict(TINY, synthetic_share=0.5, drift=0.2)


@pytest.fixture(scope="module")
def run(tiny):
    state, metrics = labkit.simulate_seeds(tiny, SEEDS)
    return jax.device_get(state), jax.device_get(metrics)


def test_metrics_have_one_finite_value_per_seed_and_round(run, tiny):
    _, metrics = run
    assert set(metrics) == set(labkit.METRIC_NAMES)
    for name, values in metrics.items():
        assert values.shape == (len(SEEDS), tiny.rounds), name
        assert np.isfinite(values).all(), name


def test_same_seed_gives_identical_metrics_and_different_seeds_differ(run):
    _, metrics = run
    for name, values in metrics.items():
        np.testing.assert_array_equal(values[0], values[2], err_msg=name)
    assert not np.array_equal(metrics["exposure_entropy"][0], metrics["exposure_entropy"][1])


def test_a_seed_alone_matches_the_same_seed_in_a_batch(run, tiny):
    _, alone = labkit.simulate(tiny, jax.random.key(1))
    for name in ("exposure_entropy", "ctr", "preference_drift"):
        np.testing.assert_allclose(np.asarray(alone[name]), run[1][name][1], rtol=1e-5, atol=1e-6,
                                   err_msg=name)


def test_catalog_never_exceeds_capacity_and_keeps_provenance(run, tiny):
    state, _ = run
    catalog = state.catalog
    created = tiny.initial_items + tiny.rounds * tiny.new_items
    for s in range(len(SEEDS)):
        alive = catalog.alive[s]
        assert alive.shape == (tiny.n_items,)
        assert alive.sum() == min(created, tiny.n_items)
        uids = catalog.uid[s][alive]
        assert len(np.unique(uids)) == len(uids)
        assert catalog.next_uid[s] == created
        synthetic = catalog.synthetic[s] & alive
        assert (catalog.creator[s][synthetic] == -1).all()
        human = ~catalog.synthetic[s] & alive
        assert ((catalog.creator[s][human] >= 0) & (catalog.creator[s][human] < tiny.n_creators)).all()
        # only items born during the rounds can be synthetic
        assert (catalog.birth[s][synthetic] >= 0).all()
        np.testing.assert_allclose(catalog.features[s][alive].sum(axis=1), 1.0, rtol=1e-5)


def test_log_provenance_matches_the_catalog(run):
    state, _ = run
    log, catalog = state.log, state.catalog
    s = 0
    still_there = catalog.uid[s][log.item[s]] == log.uid[s]
    np.testing.assert_array_equal(log.synthetic[s][still_there], catalog.synthetic[s][log.item[s]][still_there])
    assert (log.click[s].sum(axis=2) <= 1).all()  # at most one click per slate


def test_tastes_stay_on_the_simplex_and_drift_moves_them(run):
    state, metrics = run
    theta = state.users.theta
    assert (theta >= 0).all()
    np.testing.assert_allclose(theta.sum(axis=-1), 1.0, rtol=1e-5)
    assert metrics["preference_drift"][:, -1].min() > 0


def test_drift_toward_what_was_consumed_makes_it_worth_more_now_than_under_initial_tastes(run):
    # true_utility reads the consumed items under the tastes the loop nudged; initial_utility
    # under the tastes users started with. Drift moves tastes toward what was consumed, so in
    # every seed the late rounds read higher now than under the initial tastes.
    _, metrics = run
    late = slice(-4, None)
    gap = metrics["true_utility"][:, late].mean(axis=1) - metrics["initial_utility"][:, late].mean(axis=1)
    assert (gap > 0).all(), gap
    np.testing.assert_allclose(metrics["true_utility"][:, 0], metrics["initial_utility"][:, 0], rtol=1e-5)  # no drift yet


def test_no_drift_and_no_synthetic_share_leave_tastes_and_catalog_human(tiny):
    state, metrics = labkit.simulate_seeds(tiny.replace(synthetic_share=0.0, drift=0.0), [3, 4, 5])
    np.testing.assert_array_equal(state.users.theta, state.users.theta0)
    assert not bool(state.catalog.synthetic.any())
    assert float(np.abs(metrics["synthetic_exposure_share"]).max()) == 0.0
    np.testing.assert_allclose(metrics["initial_utility"], metrics["true_utility"], rtol=1e-5, atol=1e-7)


def test_full_synthetic_share_makes_every_new_item_synthetic(tiny):
    state, _ = labkit.simulate_seeds(tiny.replace(synthetic_share=1.0), [4, 5, 6])
    born = np.asarray(state.catalog.birth[0]) >= 0
    assert np.asarray(state.catalog.synthetic[0])[born].all()


def test_choice_probabilities_sum_to_one_and_no_click_is_possible():
    utility = jax.random.uniform(jax.random.key(0), (50, 6))
    params = Config.from_dict(no_click_logit=2.0).params
    choice = choose(jax.random.key(1), utility, params)
    np.testing.assert_allclose(choice.probs.sum(axis=1), 1.0, rtol=1e-6)
    assert bool((choice.position == -1).any()) and bool((choice.position >= 0).any())
    assert bool(jnp.all(choice.clicked == (choice.position >= 0)))


def test_ideal_beats_random_on_true_utility():
    base = Config.from_dict(TINY)
    utility = {}
    for name in ("ideal", "random"):
        _, metrics = labkit.simulate_seeds(base.replace(recommender=name), [0, 1, 2])
        utility[name] = float(np.mean(metrics["true_utility"]))
    assert utility["ideal"] > 1.3 * utility["random"], utility


def test_simulated_log_measured_as_a_plain_table_agrees_with_the_loop(run, tiny):
    state, metrics = run
    log = jax.tree.map(lambda x: x[0], state.log)
    table = pd.DataFrame(interaction_table(log))
    measured = interaction_metrics(table).set_index("round")
    np.testing.assert_allclose(measured["consumption_entropy"].to_numpy(),
                               metrics["consumption_entropy"][0][measured.index], rtol=1e-5)


@pytest.mark.parametrize("recommender", ["popularity", "content"])
def test_learning_recommenders_run_and_stay_finite(recommender):
    _, metrics = labkit.simulate_seeds(Config.from_dict(TINY, recommender=recommender), [0, 1, 2])
    assert all(np.isfinite(np.asarray(v)).all() for v in metrics.values())


def test_scoring_users_in_blocks_changes_nothing_for_a_deterministic_policy():
    # 24 users in blocks of 7: four blocks, the last one padded
    base = Config.from_dict(TINY, generator_objective="engagement", synthetic_share=0.5)
    _, whole = labkit.simulate_seeds(base, [0, 1, 2])
    _, blocked = labkit.simulate_seeds(base.replace(block_users=7), [0, 1, 2])
    for name in ("exposure_entropy", "synthetic_exposure_share", "ctr"):
        np.testing.assert_allclose(np.asarray(blocked[name]), np.asarray(whole[name]), rtol=1e-6, err_msg=name)


def test_a_nan_is_reported_with_its_round_seed_and_quantity():
    from labkit.sim.loop import NumericalError, check_finite

    metrics = {"ctr": np.ones((2, 5)), "finite:users.theta": np.ones((2, 5), bool)}
    metrics["ctr"][1, 3] = np.nan
    metrics["finite:users.theta"][1, 2] = False
    with pytest.raises(NumericalError, match=r"NaN or inf in users.theta: first at round 2, seed 11"):
        check_finite(metrics, [10, 11])
    metrics["finite:users.theta"][:] = True
    with pytest.raises(NumericalError, match=r"metric ctr is not finite: first at round 3, seed 11"):
        check_finite(metrics, [10, 11])
    grid = {"ctr": np.ones((3, 2, 4))}
    grid["ctr"][2, 0, 1] = np.inf
    with pytest.raises(NumericalError, match=r"round 1, seed 10 at grid point drift=1"):
        check_finite(grid, [10, 11], labels=["drift=0", "drift=0.5", "drift=1"])
    assert set(check_finite({"ctr": np.ones((2, 5)), "finite:x": np.ones((2, 5), bool)}, [0, 1])) == {"ctr"}
