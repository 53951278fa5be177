"""The GenAI's size (labkit.sim.generator, ``generator_family``): weighted EM recovers a planted
mixture and never lowers its likelihood, the full covariance recovers a planted correlation, a
one-component mixture is the diagonal fit, temperature narrows every family, and the loop runs
each family to finite metrics (the diagonal default is the golden table's)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from labkit import Config
from labkit.grad import relaxed
from labkit.sim import generator as G
from labkit.sim import loop
from labkit.sim.config import ConfigError

MEANS = np.array([[-2.0, 1.0, 0.0], [2.0, -1.0, 0.5]], np.float32)
FIT_MIXTURE = jax.jit(G.fit_mixture, static_argnames=("components", "iterations"))


def planted_mixture(n: int = 600, seed: int = 0):
    """Points from 0.7 N(MEANS[0], 0.5^2) + 0.3 N(MEANS[1], 0.5^2), and unit weights (numpy: no compile)."""
    rng = np.random.default_rng(seed)
    component = (rng.random(n) < 0.3).astype(int)
    x = MEANS[component] + 0.5 * rng.standard_normal((n, 3))
    return x.astype(np.float32), np.ones(n, np.float32)


def test_em_recovers_a_planted_two_component_mixture():
    x, w = planted_mixture()
    fitted = FIT_MIXTURE(x, w, components=2)
    order = np.argsort(np.asarray(fitted.mean)[:, 0])  # components come in no particular order
    np.testing.assert_allclose(np.asarray(fitted.mean)[order], MEANS, atol=0.15)
    np.testing.assert_allclose(np.asarray(fitted.weight)[order], [0.7, 0.3], atol=0.05)
    np.testing.assert_allclose(fitted.std, 0.5, atol=0.06)
    # one Gaussian puts its mean between the two: a fit that is not a mixture misses both means
    assert float(np.abs(x.mean(axis=0) - MEANS).max(axis=1).min()) > 0.5


def test_each_em_step_does_not_lower_the_weighted_log_likelihood():
    x, w = planted_mixture(seed=1)
    w[::3] = 2.5  # unequal weights: the fit is a weighted one

    @jax.jit
    def climb(x, w):
        def step(mixture, _):
            return G.em_step(x, w, mixture), G.mixture_log_likelihood(x, w, mixture)

        return jax.lax.scan(step, G.fit_mixture(x, w, components=3, iterations=0), length=12)[1]

    trace = np.asarray(climb(x, w)).tolist()
    steps = np.diff(trace)
    assert (steps >= -1e-5 * abs(trace[0])).all(), trace
    assert trace[-1] > trace[0] + 1.0  # it climbs from the start it was given


def test_an_empty_component_stays_finite_and_is_never_sampled():
    x, w = planted_mixture()
    centre = x.mean(axis=0)
    far = G.Mixture(weight=jnp.array([0.5, 0.5]), mean=jnp.stack([centre, centre + 1e3]), std=jnp.ones((2, 3)))
    fitted = FIT_MIXTURE(x, w, previous=far)
    assert all(bool(jnp.isfinite(leaf).all()) for leaf in fitted)
    np.testing.assert_array_equal(fitted.weight, [1.0, 0.0])
    np.testing.assert_array_equal(fitted.mean[1], far.mean[1])  # it keeps its place
    drawn = jax.jit(G.sample_latent, static_argnums=2)(jax.random.key(0), fitted, 500, jnp.float32(1.0))
    assert float(jnp.abs(drawn).max()) < 100.0


def test_the_full_covariance_fit_recovers_a_planted_correlated_covariance():
    cov = np.array([[1.0, 0.8, -0.3], [0.8, 1.0, 0.0], [-0.3, 0.0, 0.5]])
    x = np.random.default_rng(2).multivariate_normal([1.0, -1.0, 0.0], cov, 4000).astype(np.float32)
    # and on centred logits, whose covariance is singular: the ridge keeps the factor finite
    items = np.random.default_rng(3).dirichlet(np.full(4, 0.3), 200).astype(np.float32)

    @jax.jit
    def fits(x, items):
        return G.fit_full(x, jnp.ones(x.shape[0])), G.fit(items, jnp.ones(items.shape[0]), family="full")

    fitted, on_logits = fits(x, items)
    np.testing.assert_allclose(fitted.chol @ fitted.chol.T, cov, atol=0.08)
    assert np.abs(np.asarray(fitted.chol @ fitted.chol.T)[0, 1]) > 0.7  # the correlation a diagonal fit drops
    assert bool(jnp.isfinite(on_logits.chol).all())


def test_a_one_component_mixture_is_the_diagonal_fit():
    x, _ = planted_mixture(seed=4)
    w = np.random.default_rng(5).random(x.shape[0]).astype(np.float32)
    single, diagonal = jax.jit(lambda x, w: (G.fit_mixture(x, w, components=1), G.fit_gaussian(x, w)))(x, w)
    np.testing.assert_allclose(single.weight, [1.0])
    np.testing.assert_allclose(single.mean[0], diagonal.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(single.std[0], diagonal.std, rtol=1e-5)


def test_a_lower_temperature_narrows_every_family():
    items = np.random.default_rng(6).dirichlet(np.full(5, 0.5), 400).astype(np.float32)

    @jax.jit
    def spread(items, temperature):
        out = {}
        for family in G.FAMILIES:
            generator = G.fit(items, jnp.ones(400), family=family, components=3)
            out[family] = G.sample_latent(jax.random.key(7), generator, 2000, temperature).std(0).mean()
        return out

    cold, warm = spread(items, jnp.float32(0.3)), spread(items, jnp.float32(1.0))
    for family in G.FAMILIES:
        assert float(cold[family]) < 0.6 * float(warm[family]), (family, cold, warm)


WORLD = dict(n_users=12, n_items=30, initial_items=24, new_items=4, slate_size=3, rounds=4, n_topics=4,
             n_creators=4, n_pairs=8, recommender="random", synthetic_share=0.5, drift=0.1)
LARGER = {"mixture": dict(generator_family="mixture", generator_components=3), "full": dict(generator_family="full")}


@pytest.fixture(scope="module")
def runs():
    """A short loop per larger family, both in one compiled program (one compile is ~40% cheaper
    than two at the tests' O0)."""
    configs = {family: Config.from_dict(WORLD, **levers) for family, levers in LARGER.items()}
    both = jax.jit(lambda key: {family: loop._run(c.static, c.params, key) for family, c in configs.items()})
    return both(jax.random.key(0))


@pytest.mark.parametrize("family", list(LARGER))
def test_the_loop_runs_each_family_to_finite_metrics(runs, family):
    state, metrics = runs[family]
    values = {name: np.asarray(value) for name, value in metrics.items()}
    assert all(np.isfinite(v).all() for v in values.values())
    assert all(v.all() for name, v in values.items() if name.startswith(loop.GUARD_PREFIX))  # state finite
    assert isinstance(state.generator, G.FAMILIES[family].state)
    assert values["synthetic_catalog_share"][-1] > 0  # the GenAI made items


def test_the_family_levers_at_their_defaults_are_todays_config_and_hash():
    assert Config.from_dict(generator_family="diagonal", generator_components=4).hash() == Config.from_dict().hash()
    assert Config.from_dict(generator_family="full").hash() != Config.from_dict().hash()


@pytest.mark.parametrize("levers, message", [
    (dict(generator_family="gmm"), r"generator_family = 'gmm' is not a known choice; allowed: one of 'diagonal', "
                                   r"'mixture', 'full'"),
    (dict(generator_family="mixture", generator_components=17), r"generator_components = 17 is above the range"),
    (dict(generator_family="mixture", generator_components=0), r"generator_components = 0 is below the range"),
    (dict(generator_components=8), r"generator_components = 8 is read only by generator_family = 'mixture'"),
    (dict(generator_family="mixture", generator_components=8, n_users=5, slate_size=2),
     r"generator_components = 8 exceeds the items the mixture is fitted to, n_users = 5; allowed: 1\.\.5"),
    (dict(generator_family="mixture", generator_components=8, initial_items=6, slate_size=2),
     r"generator_components = 8 exceeds the items the mixture is fitted to, initial_items = 6"),
])
def test_bad_family_levers_are_refused_before_any_compute(levers, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(levers)


def test_the_relaxed_loop_refuses_the_larger_families():
    with pytest.raises(ConfigError, match=r"generator_family = 'mixture': the relaxed loop models only the "
                                          r"diagonal Gaussian GenAI \(allowed: diagonal\)"):
        relaxed.check_supported(Config.from_dict(generator_family="mixture").static)
