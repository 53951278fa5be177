"""Agentic users (labkit.sim.agents): off by default and then the loop as it was; agents'
rows flagged in the log at the share asked; the data strategies drop or count them; agents
choosing by the recommender's score homogenize consumption; bad input refused.

Two compiled programs (a tiny popularity world without agents and with an agent for every
user-round), shared by the module; the share, the strategies and the estimates are checked
on arrays built by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import labkit
from labkit import Config
from labkit.analysis.logs import log_table
from labkit.sim import agents
from labkit.sim import generator as gen_mod
from labkit.sim.config import ConfigError
from labkit.sim.users import Choice
from labkit.sim.world import Catalog

WORLD = dict(n_users=40, n_items=60, initial_items=50, new_items=3, n_topics=5, n_creators=8, slate_size=5,
             rounds=10, n_pairs=32, recommender="popularity", log_capacity="full")
SEEDS = range(6)
ARMS = {"humans": {}, "agents": {"agent_share": 1.0}}


@pytest.fixture(scope="module")
def runs():
    out = {}
    for arm, extra in ARMS.items():
        state, metrics = labkit.simulate_seeds(Config.from_dict({**WORLD, **extra}), SEEDS)
        out[arm] = jax.device_get((state, metrics))
    return out


def late(metrics, name):
    return np.asarray(metrics[name])[:, -5:].mean(axis=1)  # per seed, the last half of the run


def test_without_agents_the_log_and_totals_have_no_agent_field_and_the_agent_metrics_are_zero(runs):
    state, metrics = runs["humans"]
    assert state.log.agent is None and state.training.agent_weight is None
    assert not np.asarray(metrics["agent_click_share"]).any()
    assert not np.asarray(metrics["agent_training_share"]).any()


def test_at_share_one_every_logged_user_round_is_an_agents_and_accumulate_trains_on_them(runs):
    state, metrics = runs["agents"]
    logged = np.asarray(state.log.round) >= 0
    assert logged.all()  # log_capacity full: every round is kept
    assert np.asarray(state.log.agent).all()
    clicked = np.asarray(metrics["ctr"]) > 0
    assert clicked.all() and np.array_equal(np.asarray(metrics["agent_click_share"]), np.ones_like(clicked))
    np.testing.assert_allclose(metrics["agent_training_share"], 1.0, rtol=1e-6)
    np.testing.assert_allclose(metrics["training_ai_share"], 1.0, rtol=1e-6)  # agents' rows are AI-influenced


def test_round_zero_shows_the_same_slates_and_agents_click_exactly_when_their_users_would_have(runs):
    """Round 0 shows the same slates (the same untrained model); at agent_activity = 0 an agent
    clicks in the rounds its user would have clicked in (the agents' draws move none of the
    users'), but not always the same item."""
    humans, agents_ = runs["humans"][0].log, runs["agents"][0].log
    assert np.array_equal(humans.item[:, 0], agents_.item[:, 0])
    human_click, agent_click = np.asarray(humans.click[:, 0]), np.asarray(agents_.click[:, 0])
    assert np.array_equal(human_click.any(axis=-1), agent_click.any(axis=-1))
    assert not np.array_equal(human_click, agent_click)


def test_agents_choosing_by_the_recommenders_score_homogenize_consumption(runs):
    """Every user's agent ranks the slate by the same served model (here the clicks counted
    so far): consumption narrows and users' histories overlap more than when users choose by
    their own tastes. A model whose agents picked at random or by the users' utility would
    widen consumption or leave it as it is."""
    humans, agents_ = runs["humans"][1], runs["agents"][1]
    homogenization = late(agents_, "homogenization") - late(humans, "homogenization")
    entropy = late(agents_, "consumption_entropy") - late(humans, "consumption_entropy")
    utility = late(agents_, "true_utility") - late(humans, "true_utility")
    assert homogenization.mean() > 0.1 and (homogenization > 0).sum() >= 5, homogenization
    assert entropy.mean() < -0.5 and (entropy < 0).all(), entropy
    assert (utility < 0).all(), utility  # agents do not read what users like


N = 2000  # users of the hand-built choices


def _catalog(n=12, d=4, seed=0):
    return jax.random.dirichlet(jax.random.key(seed), jnp.full(d, 0.5), (n,))


def test_the_genai_log_density_is_each_familys_gaussian_density_in_logit_space():
    features = _catalog()
    x = np.asarray(gen_mod.to_logits(features), np.float64)
    mean, std = np.array([0.5, -0.2, 0.1, -0.4]), np.array([1.5, 0.8, 2.0, 1.1])
    diagonal = gen_mod.Generator(mean=jnp.asarray(mean, jnp.float32), std=jnp.asarray(std, jnp.float32))
    expected = stats.multivariate_normal(mean, np.diag(std ** 2)).logpdf(x)
    np.testing.assert_allclose(gen_mod.log_density(diagonal, features), expected, rtol=1e-5)
    chol = np.tril(np.full((4, 4), 0.3)) + np.diag(std)
    full = gen_mod.FullGaussian(mean=jnp.asarray(mean, jnp.float32), chol=jnp.asarray(chol, jnp.float32))
    expected = stats.multivariate_normal(mean, chol @ chol.T).logpdf(x)
    np.testing.assert_allclose(gen_mod.log_density(full, features), expected, rtol=1e-5)
    weight, means, stds = np.array([0.7, 0.3, 0.0]), np.stack([mean, -mean, mean]), np.stack([std, std / 2, std])
    mixture = gen_mod.Mixture(*(jnp.asarray(a, jnp.float32) for a in (weight, means, stds)))
    expected = np.logaddexp(*(np.log(w) + stats.multivariate_normal(m, np.diag(s ** 2)).logpdf(x)
                              for w, m, s in zip(weight[:2], means, stds)))  # the empty component adds nothing
    np.testing.assert_allclose(gen_mod.log_density(mixture, features), expected, rtol=1e-5)


def test_a_sharp_agent_picks_the_slate_item_its_estimate_ranks_first_and_activity_adds_clicks():
    """``act`` with the GenAI's estimate: at high sharpness each agent clicks the slate's most
    typical item by the GenAI; at agent_activity 0 an agent clicks only when its user would
    have, at 1 always; users no agent acts for keep their own choice."""
    features = _catalog(n=30, d=4, seed=1)
    catalog = Catalog(features=features, alive=jnp.ones(30, bool), synthetic=jnp.zeros(30, bool),
                      creator=jnp.zeros(30, jnp.int32), birth=jnp.zeros(30, jnp.int32), uid=jnp.arange(30),
                      next_uid=jnp.int32(30), cursor=jnp.int32(0))
    genai = gen_mod.fit(features[:10], jnp.ones(10))
    slate = jnp.argsort(jax.random.uniform(jax.random.key(2), (N, 30)), axis=1)[:, :5]  # 5 distinct items
    density = np.asarray(gen_mod.log_density(genai, features))[np.asarray(slate)]
    wanted = np.arange(N) % 2 == 0  # the users' own choice: even users click position 4
    own = Choice(position=jnp.where(wanted, 4, -1), clicked=jnp.asarray(wanted), probs=jnp.zeros((N, 6)))
    static = Config.from_dict(agent_share=0.5, agent_estimate="genai", agent_sharpness=1e3).static
    choice, agent = agents.act(jax.random.key(3), own, slate, None, genai, catalog, None, static)
    agent, position = np.asarray(agent), np.asarray(choice.position)
    assert abs(agent.mean() - 0.5) < 4 * np.sqrt(0.25 / N)  # binomial: a coin of agent_share per user
    assert np.array_equal(position[~agent], np.where(wanted, 4, -1)[~agent])
    assert np.array_equal(position[agent] >= 0, wanted[agent])
    top2 = np.sort(np.asarray(agents.standardized(jnp.asarray(density))), axis=1)[:, -2:]
    picked = agent & wanted & (top2[:, 1] - top2[:, 0] > 0.02)  # a logit gap over 20 at this sharpness
    assert picked.sum() > N / 8
    assert np.array_equal(position[picked], density.argmax(axis=1)[picked])
    busy = Config.from_dict(agent_share=1.0, agent_estimate="genai", agent_activity=1.0).static
    choice, agent = agents.act(jax.random.key(3), own, slate, None, genai, catalog, None, busy)
    assert np.asarray(agent).all() and np.asarray(choice.clicked).all()


def test_human_only_drops_agents_rows_downweight_weighs_them_and_accumulate_keeps_them():
    """On a log built by hand (2 rounds x 4 users x 2 slots, no synthetic item, nobody drifted):
    users 1 and 3 were agent-driven in round 0, user 2 in round 1."""
    from labkit.sim import data

    config = Config.from_dict(n_users=4, n_items=4, initial_items=4, new_items=1, slate_size=2, rounds=2,
                              agent_share=0.5, synthetic_weight=0.25)
    catalog = Catalog(features=jnp.full((4, 3), 1 / 3), alive=jnp.ones(4, bool), synthetic=jnp.zeros(4, bool),
                      creator=jnp.zeros(4, jnp.int32), birth=jnp.zeros(4, jnp.int32), uid=jnp.arange(4),
                      next_uid=jnp.int32(4), cursor=jnp.int32(0))
    slate = jnp.array([[0, 1], [1, 2], [2, 3], [3, 0]])
    click = jnp.array([[True, False], [False, True], [False, False], [True, False]])
    flags = jnp.array([[False, True, False, True], [False, False, True, False]])
    log, totals = data.empty_log(config.static), {}
    for r in range(2):
        log = data.record(log, jnp.int32(r), slate, click, jnp.zeros((4, 2), bool), jnp.zeros(4, bool), catalog,
                          flags[r])
    expected = np.broadcast_to(np.where(np.asarray(flags)[:, :, None], 0.25, 1.0), (2, 4, 2))
    for strategy, agent_weight in [("accumulate", 1.0), ("human_only", 0.0), ("downweight", 0.25)]:
        static = Config.from_dict({**config.to_dict(), "data_strategy": strategy}).static
        weight = np.asarray(data.strategy_weight(log, catalog.uid, jnp.int32(1), static, config.params))
        assert np.allclose(weight[np.asarray(flags)], agent_weight) and np.allclose(weight[~np.asarray(flags)], 1.0)
        running = data.empty_totals(static)
        for r in range(2):
            running = data.update_totals(running, log, catalog, jnp.int32(r), static, config.params)
        totals[strategy] = float(data.agent_share_of_totals(running))
        assert np.isclose(float(data.ai_share_of_totals(running)), totals[strategy])  # agents' rows are AI rows
    assert totals["human_only"] == 0.0 and np.isclose(totals["accumulate"], 3 / 8)
    assert np.isclose(totals["downweight"], 3 * 0.25 / (3 * 0.25 + 5))
    assert np.array_equal(np.asarray(data.training_data(log, catalog, jnp.int32(1), config.static,
                                                        config.params).ai_influenced).reshape(2, 4, 2), expected < 1)
    table = log_table(log)  # the exported log: agents' rows apart from the other kinds of influence
    assert np.array_equal(table["agent_chose"].to_numpy(), (expected < 1).reshape(-1))
    assert np.array_equal(table["ai_influenced"].to_numpy(), (expected < 1).reshape(-1))
    assert not table["is_assisted"].any()
    with pytest.raises(ValueError, match="agent= is given exactly when"):
        data.record(log, jnp.int32(0), slate, click, jnp.zeros((4, 2), bool), jnp.zeros(4, bool), catalog)


def test_standardized_estimates_are_centred_with_unit_spread_and_zero_when_all_equal():
    z = np.asarray(agents.standardized(jnp.array([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0]])))
    np.testing.assert_allclose(z[0].mean(), 0.0, atol=1e-6)
    np.testing.assert_allclose(np.sqrt((z[0] ** 2).mean()), 1.0, rtol=1e-6)
    assert (np.diff(z[0]) > 0).all() and not z[1].any()


@pytest.mark.parametrize("values, message", [
    (dict(agent_share=1.5), r"agent_share = 1.5 is above the range; allowed: float in \[0, 1\]"),
    (dict(agent_share=-0.1), r"agent_share = -0.1 is below the range"),
    (dict(agent_share="half"), r"agent_share = 'half' has type str"),
    (dict(agent_estimate="recomender"), r"agent_estimate = 'recomender' is not a known choice; allowed: one of "
                                        r"'recommender', 'genai'; did you mean 'recommender'\?"),
    (dict(agent_sharpness=0.0), r"agent_sharpness = 0.0 is below the range; allowed: float in \(0, 10000\]"),
    (dict(agent_activity=2.0), r"agent_activity = 2.0 is above the range"),
    (dict(agent_share=0.5, recommender="random"), r"agent_estimate = 'recommender' reads the served model's "
                                                  r"scores.*allowed with recommender = 'random': 'genai'"),
])
def test_bad_agent_levers_are_refused_with_the_key_the_value_and_what_is_allowed(values, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(values)


def test_the_relaxed_loop_and_the_score_function_estimator_refuse_agents():
    from labkit.grad import estimators as E
    from labkit.grad import relaxed
    from labkit.grad.score import score_function

    config = Config.from_dict({**WORLD, "agent_share": 0.3})
    with pytest.raises(ConfigError, match=r"agent_share = 0.3: the relaxed loop models no agents.*allowed: 0"):
        relaxed.check_supported(config.static)
    with pytest.raises(ConfigError, match=r"agent_share = 0.3: the score-function estimator.*allowed: 0"):
        score_function(config, E.objective("ctr", relaxed_loop=False), range(4))


def test_agent_settings_without_agents_are_allowed_and_leave_the_hash_of_the_default_world():
    assert Config.from_dict(agent_estimate="genai", agent_activity=0.5).agent_share == 0.0  # a sweep's baseline
    assert Config.from_dict(agent_share=0.0).hash() == Config.from_dict().hash()
    assert Config.from_dict(agent_share=0.2).hash() != Config.from_dict().hash()
    assert Config.from_dict(agent_share=0.5, recommender="random", agent_estimate="genai").agent_share == 0.5
