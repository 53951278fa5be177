"""Creator dynamics (labkit.sim.world): styles adapt to what was engaged with, creators starved
of impressions leave, newcomers take their places, and the creator metrics read the outcome.

Every lever is off by default (the golden table checks that today's numbers stay); here each
one is switched on in a tiny world, at the ends of its range, in two compiled programs
shared by the module.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import labkit
from labkit import Config
from labkit.grad import relaxed
from labkit.sim import world
from labkit.sim.config import LEVERS, ConfigError
from labkit.sim.loop import creator_metrics

WORLD = dict(n_users=24, n_items=40, initial_items=30, new_items=4, slate_size=4, rounds=10, n_topics=4,
             n_creators=8, n_pairs=8, recommender="random", synthetic_share=0.3, drift=0.2)
SEEDS = [0, 1]
RUNS = {
    # every creator adapts all the way to what everyone clicked; at an exit share of 1 every
    # creator is starved, so all leave once judged (after 3 rounds) but the most exposed
    "adapt_exit": dict(creator_adaptation=1.0, creator_adaptation_target="overall", creator_exit_share=1.0,
                       creator_exit_window=3),
    # judged every round: all but one leave each round, and every place left gets a newcomer at once
    "churn": dict(creator_adaptation=0.5, creator_exit_share=1.0, creator_exit_window=1, creator_entry_rate=1.0),
}


@pytest.fixture(scope="module")
def runs():
    out = {}
    for name, levers in RUNS.items():
        config = Config.from_dict({**WORLD, **levers})
        state, metrics = labkit.simulate_seeds(config, SEEDS)
        out[name] = (config, state, metrics, {k: np.asarray(v) for k, v in creator_metrics(state, config.static).items()})
    return out


def test_every_run_stays_finite_with_styles_on_the_simplex(runs):
    for name, (_, state, metrics, fared) in runs.items():
        assert all(np.isfinite(v).all() for v in metrics.values()), name
        assert set(fared) == set(world.CREATOR_METRICS)
        assert all(np.isfinite(v).all() and v.shape == (len(SEEDS),) for v in fared.values()), name
        style = np.asarray(state.creators.style)
        assert (style >= 0).all() and np.allclose(style.sum(-1), 1.0, atol=1e-5), name


def test_starved_creators_leave_after_the_window_and_the_most_exposed_stays(runs):
    config, _, _, fared = runs["adapt_exit"]
    np.testing.assert_array_equal(fared["active_creators"], 1.0)
    np.testing.assert_allclose(fared["creator_exits_per_round"], (config.n_creators - 1) / config.rounds)


def test_a_higher_exit_threshold_leaves_fewer_active_creators():
    static = Config.from_dict(n_creators=4, n_users=5, slate_size=2, rounds=4, creator_exit_share=0.1,
                              creator_exit_window=2).static
    creators = world.Creators(style=jnp.full((4, 2), 0.5), activity=jnp.ones(4) / 4, active=jnp.ones(4, bool),
                              since=jnp.array([-1, -1, -1, 1]), exposure=jnp.zeros(4),
                              recent=jnp.array([[1.0, 2.0, 5.0, 0.0], [0.0, 0.0, 0.0, 0.0]]), exits=jnp.int32(0),
                              tail_exposure=jnp.zeros(()))
    impressions = jnp.array([0.0, 1.0, 2.0, 0.0])  # round 1: shares over rounds 0-1 are 0.05, 0.15, 0.35, 0
    active = {share: np.asarray(world.leave(creators, impressions, jnp.int32(1),
                                            dataclasses.replace(static, creator_exit_share=share)).active)
              for share in (0.1, 0.2, 0.5)}
    # the newcomer (since round 1) is not judged before it has created for a whole window
    np.testing.assert_array_equal(active[0.1], [False, True, True, True])
    np.testing.assert_array_equal(active[0.2], [False, False, True, True])
    np.testing.assert_array_equal(active[0.5], [False, False, False, True])
    # were every creator judged and starved, the most exposed would stay
    alone = world.leave(creators._replace(active=jnp.array([True, True, True, False])), impressions,
                        jnp.int32(1), dataclasses.replace(static, creator_exit_share=0.5))
    np.testing.assert_array_equal(alone.active, [False, False, True, False])
    assert int(alone.exits) == 2


def test_after_the_window_only_the_creators_left_make_human_items(runs):
    config, state, _, _ = runs["adapt_exit"]
    window = config.creator_exit_window
    catalog, active = jax.device_get(state.catalog), np.asarray(state.creators.active)
    for s in range(len(SEEDS)):
        human = catalog.alive[s] & ~catalog.synthetic[s]
        before = set(catalog.creator[s][human & (catalog.birth[s] >= 0) & (catalog.birth[s] < window)])
        after = set(catalog.creator[s][human & (catalog.birth[s] >= window)])
        assert len(before) > 1  # judged only after a whole window: everyone created until then
        assert after and after <= set(np.flatnonzero(active[s]))


def test_adapting_to_what_everyone_clicked_gives_creators_one_style_and_one_topic(runs):
    config, state, _, _ = runs["adapt_exit"]
    for s in range(len(SEEDS)):
        creators = jax.tree.map(lambda x: x[s], state.creators)
        # the creators who left (at the window's end) kept the style they had then: one shared
        # style, where they started from independent Dirichlet draws
        left = np.asarray(creators.style)[~np.asarray(creators.active)]
        assert len(left) == config.n_creators - 1
        np.testing.assert_allclose(left, np.broadcast_to(left[0], left.shape), atol=1e-6)
        everyone = world.creator_metrics(creators._replace(active=jnp.ones(config.n_creators, bool)), 1,
                                         config.static)
        assert float(everyone["creator_topic_entropy"]) == 0.0


def test_newcomers_take_the_places_left(runs):
    config, state, _, fared = runs["churn"]
    # judged after every round, all but the most exposed leave each round...
    np.testing.assert_allclose(fared["creator_exits_per_round"], config.n_creators - 1)
    # ... and every place left is taken at once, by a creator who starts creating next round
    np.testing.assert_array_equal(fared["active_creators"], config.n_creators)
    since = np.asarray(state.creators.since)
    assert ((since == config.rounds).sum(axis=1) == config.n_creators - 1).all()
    assert ((since < 0).sum(axis=1) <= 1).all()  # at most one initial creator still holds a place


def test_own_target_is_the_mean_of_the_creators_clicked_items_and_overall_the_mean_of_all():
    creators = world.Creators(style=jnp.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]), activity=jnp.ones(3) / 3,
                              active=jnp.array([True, True, False]), since=jnp.full(3, -1), exposure=jnp.zeros(3),
                              recent=jnp.zeros((0, 3)), exits=jnp.int32(0), tail_exposure=jnp.zeros(()))
    owner = jnp.array([0, 0, 1, -1, 2])  # user 3 clicked a synthetic item; creator 2 has left
    clicked = jnp.array([True, True, False, True, True])
    consumed = jnp.array([[0.2, 0.8], [0.4, 0.6], [0.9, 0.1], [0.0, 1.0], [1.0, 0.0]])
    static = Config.from_dict(creator_adaptation=0.5).static
    target, moves = world.adaptation_target(creators, owner, clicked, consumed, static)
    np.testing.assert_allclose(target[0], [0.3, 0.7])
    np.testing.assert_array_equal(moves, [True, False, True])  # creator 1's only item was not clicked
    adapted = world.adapt(creators, target, moves, 0.5).style
    np.testing.assert_allclose(adapted, [[0.65, 0.35], [0.0, 1.0], [0.5, 0.5]])  # the inactive one stays
    overall, moves = world.adaptation_target(creators, owner, clicked, consumed,
                                             Config.from_dict(creator_adaptation_target="overall").static)
    np.testing.assert_allclose(overall, np.broadcast_to([0.4, 0.6], (3, 2)))
    assert moves.all()


def test_the_creator_levers_at_their_defaults_are_todays_config_and_hash():
    defaults = {name: LEVERS[name].default for name in (*world.CREATOR_DYNAMICS, "creator_exit_window",
                                                         "creator_adaptation_target")}
    assert Config.from_dict(WORLD, **defaults).static == Config.from_dict(WORLD).static
    # the address of stored results: the default config's hash before creator dynamics existed
    assert Config.from_dict().hash() == "41665c015e02b2ae", (
        "a lever added after results were stored must be declared hashed_at_default=False")
    assert Config.from_dict(creator_exit_share=0.1).hash() != Config.from_dict().hash()


@pytest.mark.parametrize("levers, message", [
    (dict(creator_exit_share=0.1, creator_exit_window=60, rounds=50),
     r"creator_exit_window = 60 is longer than the run, rounds = 50.*allowed with creator_exit_share > 0: 1\.\.50"),
    (dict(creator_entry_rate=0.2), r"creator_entry_rate = 0.2 needs creators who leave"),
    (dict(creator_adaptation=1.5), r"creator_adaptation = 1.5 is above the range; allowed: float in \[0, 1\]"),
    (dict(creator_adaptation_target="mine"), r"creator_adaptation_target = 'mine' is not a known choice"),
    (dict(creator_exit_window=0), r"creator_exit_window = 0 is below the range"),
])
def test_bad_creator_levers_are_refused_before_any_compute(levers, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(levers)


def test_the_relaxed_loop_refuses_creator_dynamics():
    with pytest.raises(ConfigError, match=r"creator_exit_share = 0.1: the relaxed loop models only"):
        relaxed.check_supported(Config.from_dict(creator_exit_share=0.1).static)
