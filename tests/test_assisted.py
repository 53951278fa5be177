"""AI-assisted creators (labkit.sim.world.assist): off by default and then the loop as it was;
at share 1 every human item made in the loop is AI-assisted, in the catalog and in the log;
an assisted item is the blend of the creator's own draw and a GenAI sample; the data
strategies treat assisted rows as AI-influenced; under a mode-seeking GenAI assisted
creators narrow what is shown; bad input refused.

Two compiled programs, shared by the module: tests/test_agents.py's tiny popularity world
without agents (the same static config and seeds, so a session that ran that module loads
it from the compilation cache; the GenAI's temperature is a param) and the same world with
every creator assisted, over a grid of two GenAI shares. The creators' coins, the blend
and the strategies are checked eagerly, without a loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import labkit
from labkit import Config
from labkit.analysis.logs import log_table
from labkit.sim import data, loop, world
from labkit.sim import generator as gen_mod
from labkit.sim.config import ConfigError, params_grid

WORLD = dict(n_users=40, n_items=60, initial_items=50, new_items=3, n_topics=5, n_creators=8, slate_size=5,
             rounds=10, n_pairs=32, recommender="popularity", log_capacity="full")  # tests/test_agents.py's
SEEDS = range(6)
MODE_SEEKING = dict(generator_temperature=0.3)  # a param: the same programs
ASSISTED = dict(assisted_share=1.0, assisted_blend=0.8)
GRID = {"synthetic_share": [0.0, 0.5]}  # point 0: creators and their GenAI only; point 1: half synthetic items


@pytest.fixture(scope="module")
def runs():
    """Final states and metrics: ``humans`` (seeds), ``assisted`` (grid points x seeds)."""
    humans = labkit.simulate_seeds(Config.from_dict({**WORLD, **MODE_SEEKING}), SEEDS)
    config = Config.from_dict({**WORLD, **MODE_SEEKING, **ASSISTED})
    assisted = labkit.simulate_grid(config, params_grid(config, GRID)[0], SEEDS)
    return {"humans": jax.device_get(humans), "assisted": jax.device_get(assisted)}


def late(metrics, name):
    return np.asarray(metrics[name])[..., -5:].mean(axis=-1)  # per seed, the last half of the run


def test_without_assisted_creators_nothing_keeps_the_flag_and_the_metrics_are_zero(runs):
    state, metrics = runs["humans"]
    assert state.catalog.assisted is None and state.creators.assisted is None and state.log.assisted is None
    assert not np.asarray(metrics["assisted_exposure_share"]).any()
    assert not np.asarray(metrics["assisted_catalog_share"]).any()


def test_an_assisted_blend_without_assisted_creators_compiles_the_loop_as_it_was():
    """Nothing of the assisted creators is traced at share 0, whatever the blend: the round's
    program is the default world's, op for op (the golden table checks the numbers)."""
    def program(**levers):
        config = Config.from_dict({**WORLD, **levers})
        return str(jax.make_jaxpr(lambda s, k: loop.step(config.static, config.params, s, k))(
            loop.state_shape(config.static), jax.random.key(1)))

    assert program(assisted_share=0.0, assisted_blend=0.9) == program()
    assert program(assisted_share=0.5) != program()  # (the comparison can fail)


def test_at_share_one_every_human_item_made_in_the_loop_is_assisted_in_the_catalog_and_the_log(runs):
    state, metrics = runs["assisted"]
    catalog = state.catalog
    for point in range(len(GRID["synthetic_share"])):
        made = np.asarray(catalog.alive[point] & ~catalog.synthetic[point] & (catalog.birth[point] >= 0))
        assert np.array_equal(np.asarray(catalog.assisted[point]), made)
        assert (np.asarray(catalog.creator[point])[made] >= 0).all()
    log = state.log  # each impression whose item is still in its slot carries that item's flag
    for point in range(len(GRID["synthetic_share"])):
        for seed in range(len(SEEDS)):
            item, uid = np.asarray(log.item[point, seed]), np.asarray(log.uid[point, seed])
            there = np.asarray(catalog.uid[point, seed])[item] == uid
            assert there.any()
            assert np.array_equal(np.asarray(log.assisted[point, seed])[there],
                                  np.asarray(catalog.assisted[point, seed])[item][there])
    assert np.asarray(state.creators.assisted).all()
    live_share = late(metrics, "assisted_catalog_share")[1]
    assert (live_share > 0).all() and (late(metrics, "synthetic_catalog_share")[1] > 0).all()
    assert (np.asarray(metrics["assisted_exposure_share"]) > 0).any()
    # no synthetic item and no drift at point 0: only assisted rows are AI-influenced there
    assert (late(metrics, "training_ai_share")[0] > 0).all()
    assert not np.asarray(runs["humans"][1]["training_ai_share"]).any()


def test_half_of_the_creator_places_are_assisted_and_the_coins_move_no_other_draw():
    n = 4000
    assisted, plain = (Config.from_dict(n_creators=n, **levers) for levers in ({"assisted_share": 0.5}, {}))
    entry = Config.from_dict(n_creators=n, assisted_share=0.5, creator_exit_share=0.01, creator_entry_rate=1.0)

    @jax.jit
    def draws(key):
        creators = world.init_creators(key, assisted.static, plain.params)
        leaving = creators._replace(active=jnp.arange(n) % 3 != 0)  # a third of the places left empty
        return creators, world.init_creators(key, plain.static, plain.params), world.enter(
            jax.random.key(6), leaving, jnp.int32(4), entry.static, plain.params)

    creators, without, entered = draws(jax.random.key(5))
    share = float(np.asarray(creators.assisted).mean())
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / n)  # binomial
    assert np.array_equal(np.asarray(creators.style), np.asarray(without.style))
    assert np.asarray(entered.active).all()  # every empty place got a newcomer, who keeps the place's flag
    assert np.array_equal(np.asarray(entered.assisted), np.asarray(creators.assisted))


def creation_state(key, config):
    """What creation reads of the loop's state before round 0 (the rest left out: no users,
    models or log are drawn), as :func:`labkit.sim.loop.init_state` draws it."""
    static, params = config.static, config.params
    k_creators, k_catalog, _, _ = jax.random.split(key, 4)
    creators = world.init_creators(k_creators, static, params)
    catalog = world.initial_catalog(k_catalog, static, params, creators)
    generator = gen_mod.fit(catalog.features, catalog.alive.astype(jnp.float32))
    return loop.State(round=jnp.int32(0), catalog=catalog, creators=creators, users=None, generator=generator,
                      recommender=None, log=None, exposure=jnp.zeros(static.n_items), training=None, history=None)


BLENDS = (0.05, 0.95)


@pytest.fixture(scope="module")
def created():
    """One round's creation of 400 items in a world without assisted creators and in worlds
    where every creator is assisted at each of :data:`BLENDS`, and a GenAI sample of 400 from
    ``fold_in(creation key, 3)`` in each (one compiled call)."""
    world_ = dict(WORLD, new_items=400, n_items=450)
    configs = [Config.from_dict(world_)] + [Config.from_dict({**world_, **ASSISTED, "assisted_blend": blend})
                                            for blend in BLENDS]

    @jax.jit
    def create(key, k_create):
        states = [creation_state(key, config) for config in configs]
        samples = [gen_mod.sample(jax.random.fold_in(k_create, 3), state.generator, 400,
                                  config.params.generator_temperature) for state, config in zip(states, configs)]
        return states, [loop.create(k_create, state, config.static, config.params).catalog
                        for state, config in zip(states, configs)], samples

    return configs, jax.device_get(create(jax.random.key(0), jax.random.key(1)))


@pytest.mark.parametrize("which", range(len(BLENDS)))
def test_an_assisted_item_is_the_blend_of_the_creators_own_draw_and_a_genai_sample(created, which):
    """The same round's creation with and without assisted creators draws the same human
    items; an assisted one is ``(1 - blend) * own + blend * sample``, the sample drawn from
    ``fold_in(key, 3)`` at the GenAI's temperature. Near blend 1 the items sit by the GenAI's
    mean, far from their creators' styles; near 0, the other way round."""
    configs, (states, catalogs, samples) = created
    blend, config, state, made = BLENDS[which], configs[which + 1], states[which + 1], catalogs[which + 1]
    first = config.initial_items
    new = slice(first, first + 400)
    sample = samples[which + 1]
    np.testing.assert_allclose(made.features[new], (1 - blend) * catalogs[0].features[new] + blend * sample,
                               atol=1e-6)
    assert np.asarray(made.assisted[new]).all() and not np.asarray(made.assisted[:first]).any()
    features = np.asarray(made.features[new])
    mean = np.asarray(jax.nn.softmax(state.generator.mean))  # the GenAI's mode, on the simplex
    style = np.asarray(state.creators.style)[np.asarray(made.creator[new])]
    to_genai = 0.5 * np.abs(features - mean).sum(axis=1).mean()  # total variation
    to_style = 0.5 * np.abs(features - style).sum(axis=1).mean()
    if blend > 0.5:
        assert to_genai < to_style - 0.1, (to_genai, to_style)
    else:
        assert to_style < to_genai - 0.1, (to_genai, to_style)


def test_human_only_drops_assisted_rows_downweight_weighs_them_and_accumulate_keeps_them(runs):
    """The assisted world's whole log (every impression counted valid, also of items since
    replaced), weighed by each strategy: assisted impressions are AI-influenced, and in a log
    with no synthetic item and no drift, only they are."""
    state, _ = runs["assisted"]
    log = jax.tree.map(lambda x: x[0, 0], state.log)
    assisted = np.asarray(log.assisted)
    assert not np.asarray(log.synthetic).any() and not np.asarray(log.influenced).any()
    assert assisted.any() and (~assisted).any()  # the initial items are human
    valid = jnp.ones(assisted.shape, bool)
    for strategy, weight_of_assisted in [("accumulate", 1.0), ("human_only", 0.0), ("downweight", 0.25)]:
        config = Config.from_dict({**WORLD, "assisted_share": 1.0, "data_strategy": strategy,
                                   "synthetic_weight": 0.25})
        weight = np.asarray(data.strategy(config.static)(log, valid, jnp.int32(WORLD["rounds"] - 1),
                                                         config.static, config.params))
        assert np.allclose(weight[assisted], weight_of_assisted) and np.allclose(weight[~assisted], 1.0)
    assert np.array_equal(np.asarray(data.ai_influenced(log)), assisted)
    table = log_table(log)  # the exported log marks them AI-influenced (every round logged: full capacity)
    assert np.array_equal(table["ai_influenced"].to_numpy(), assisted.reshape(-1))
    assert np.array_equal(table["is_assisted"].to_numpy(), assisted.reshape(-1)) and not table["agent_chose"].any()


def test_assisted_creators_under_a_mode_seeking_genai_narrow_what_is_shown(runs):
    """Every new item pulled most of the way (blend 0.8) to a GenAI sampling near its mean
    (temperature 0.3): the impressions spread over fewer topics and each slate's items are more
    alike than in the same world without assisted creators, seed by seed. Creators who ignored
    the GenAI, or blended in draws spread like their own, would leave both about as they were."""
    humans, assisted = runs["humans"][1], runs["assisted"][1]
    topics = late(assisted, "exposure_topic_entropy")[0] - late(humans, "exposure_topic_entropy")
    diversity = late(assisted, "intra_list_diversity")[0] - late(humans, "intra_list_diversity")
    assert topics.mean() < -0.1 and (topics < 0).all(), topics
    assert diversity.mean() < -0.3 and (diversity < 0).all(), diversity


def test_the_log_costs_one_byte_more_per_impression_in_the_memory_estimate():
    plain = Config.from_dict(WORLD)
    assisted = Config.from_dict({**WORLD, "assisted_share": 0.5})
    log = {c: loop.estimate_memory(c.static).parts["log"] for c in (plain, assisted)}
    assert log[assisted] - log[plain] == WORLD["rounds"] * WORLD["n_users"] * WORLD["slate_size"]


@pytest.mark.parametrize("values, message", [
    (dict(assisted_share=1.5), r"assisted_share = 1.5 is above the range; allowed: float in \[0, 1\]"),
    (dict(assisted_share=-0.1), r"assisted_share = -0.1 is below the range"),
    (dict(assisted_share="half"), r"assisted_share = 'half' has type str"),
    (dict(assisted_blend=0.0), r"assisted_blend = 0.0 is below the range; allowed: float in \(0, 1\]"),
    (dict(assisted_blend=1.01), r"assisted_blend = 1.01 is above the range"),
    (dict(assisted_sahre=0.5), r"unknown key 'assisted_sahre'; did you mean assisted_share"),
    (dict(assisted_share=0.5, new_items=0), r"assisted_share = 0.5 needs items created in the loop.*"
                                            r"allowed with new_items = 0: 0"),
])
def test_bad_assisted_levers_are_refused_with_the_key_the_value_and_what_is_allowed(values, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(values)


def test_the_relaxed_loop_refuses_assisted_creators_and_settings_without_them_keep_the_hash():
    from labkit.grad import relaxed

    with pytest.raises(ConfigError, match=r"assisted_share = 0.3: the relaxed loop's creation models no creators "
                                          r"blending.*allowed: 0"):
        relaxed.check_supported(Config.from_dict(assisted_share=0.3).static)
    assert Config.from_dict(assisted_blend=0.9).assisted_share == 0.0  # a sweep's baseline
    assert Config.from_dict(assisted_share=0.0).hash() == Config.from_dict().hash()
    assert Config.from_dict(assisted_share=0.2).hash() != Config.from_dict().hash()
