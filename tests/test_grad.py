"""The differentiable loop: pathwise gradients equal finite differences, the relaxed loop
approaches the exact one as its temperature falls, the score-function estimate agrees
with finite differences of the exact loop, gradients stay finite at the range ends, and
bad input is refused before any compute."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from labkit.grad import estimators as E
from labkit.grad import relaxed
from labkit.grad.score import score_function, score_levers
from labkit.sim import users as users_mod
from labkit.sim.config import LEVERS, PARAM_LEVERS, Config, ConfigError
from labkit.sim.loop import simulate_seeds

TINY = dict(n_users=8, n_items=20, initial_items=16, new_items=2, slate_size=3, rounds=4, n_pairs=8,
            train_steps=3, window=2, synthetic_share=0.5, drift=0.2, novelty_weight=0.1, temperature=0.7,
            epsilon=0.3, beta=0.5, reserve_share=0.2, synthetic_weight=0.3, mmr_lambda=0.6)

# Each continuous lever is active in at least one of these worlds (checked below).
WORLDS = {
    "softmax-downweight-mf": dict(policy="softmax", data_strategy="downweight", recommender="mf"),
    "epsilon-reserve-content": dict(policy="epsilon_greedy", data_strategy="reserve", recommender="content"),
    "mmr-replace-mf": dict(policy="mmr", data_strategy="replace", recommender="mf",
                           generator_objective="engagement"),
    "ucb-human_only-popularity": dict(policy="ucb", data_strategy="human_only", recommender="popularity"),
    "thompson-accumulate-ideal": dict(policy="thompson", data_strategy="accumulate", recommender="ideal"),
}

# The world's Dirichlet draws (initial tastes, creators' styles, items around a style) are
# differentiated by implicit reparameterization (jax.random.gamma's gradient): unbiased for
# the derivative of the expectation, not the derivative of one fixed-noise path, so a
# finite difference at a fixed seed does not equal it (see labkit.grad.relaxed).
IMPLICIT = ("user_concentration", "style_concentration", "creator_focus", "creator_zipf")


def _objective(metrics):
    return (metrics["consumption_entropy"][-1] + metrics["ctr"].mean() + metrics["training_ai_share"][-1]
            + metrics["intra_list_diversity"].mean() + metrics["true_utility"][-1])


def _float64_case(world):
    config = Config.from_dict({**TINY, **WORLDS[world]})
    params = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), config.params)

    def f(p):
        return _objective(relaxed.run(config.static, p, jax.random.key(3), jnp.float64(0.5))[1])
    return params, jax.jit(f), jax.jit(jax.grad(f))


_CASES: dict = {}


def _case(world):
    """:func:`_float64_case`, compiled once per world for every test of this module that
    reads it (a monkeypatched case is built afresh instead)."""
    if world not in _CASES:
        _CASES[world] = _float64_case(world)
    return _CASES[world]


def compare(grad, fd, tolerance=1e-3):
    """Levers whose gradient misses the central difference by more than ``tolerance`` (relative)."""
    return {name: (grad[name], fd[name]) for name in grad
            if abs(grad[name] - fd[name]) > tolerance * max(abs(fd[name]), 1e-6)}


_FD: dict = {}


def _gradients(world):
    """Autodiff gradient and central differences (float64) of the world's objective, per lever."""
    if world not in _FD:
        with jax.enable_x64(True):
            params, f, g = _case(world)
            grad = {n: float(v) for n, v in g(params)._asdict().items()}
            fd = {}
            for name in PARAM_LEVERS:
                if name in IMPLICIT:
                    continue
                x = getattr(params, name)
                h = 1e-6 * max(1.0, abs(float(x)))
                fd[name] = float((f(params._replace(**{name: x + h})) - f(params._replace(**{name: x - h})))
                                 / (2 * h))
        _FD[world] = ({n: grad[n] for n in fd}, fd)
    return _FD[world]


@pytest.mark.parametrize("world", list(WORLDS))
def test_pathwise_gradient_equals_central_differences_in_float64(world):
    grad, fd = _gradients(world)
    assert compare(grad, fd) == {}


def test_every_continuous_lever_is_checked_somewhere():
    active = set()
    for world in WORLDS:
        grad, _ = _gradients(world)
        active |= {name for name, value in grad.items() if abs(value) > 1e-8}
    assert active == set(PARAM_LEVERS) - set(IMPLICIT)


def test_the_comparison_catches_a_flipped_sign_and_a_dropped_term(monkeypatch):
    grad, fd = _gradients("softmax-downweight-mf")
    flipped = {**grad, "drift": -grad["drift"]}
    assert set(compare(flipped, fd)) == {"drift"}
    # drop a term: position_bias's effect through the click model, kept in the value only
    original = users_mod.choice_logits

    def logits_without_position_gradient(slate_utility, params):
        frozen = params._replace(position_bias=jax.lax.stop_gradient(params.position_bias))
        return original(slate_utility, frozen)

    monkeypatch.setattr(users_mod, "choice_logits", logits_without_position_gradient)
    with jax.enable_x64(True):
        params, _, g = _float64_case("softmax-downweight-mf")
        dropped = {n: float(v) for n, v in g(params)._asdict().items() if n in fd}
    assert "position_bias" in compare(dropped, fd)


def test_relaxed_top_k_derivative_by_hand_equals_its_recurrence_differentiated():
    """soft_top_k's hand-written derivative (from its rows alone) against autodiff of the
    recurrence it computes, in float64: reverse and forward mode, in the scores and in tau,
    with a masked (NEG) item; a wrong sign or a dropped log(1 - p) term fails it."""
    with jax.enable_x64(True):
        z = jax.random.normal(jax.random.key(0), (3, 7), jnp.float64).at[0, 2].set(relaxed.NEG)
        tau = jnp.float64(0.3)
        w = jax.random.normal(jax.random.key(1), (3, 4, 7), jnp.float64)
        by_hand = lambda z, t: (relaxed.soft_top_k(z, 4, t) * w).sum()  # noqa: E731
        unrolled = lambda z, t: (jnp.moveaxis(relaxed._top_k_rows(z, 4, t), 0, 1) * w).sum()  # noqa: E731
        for a, b in zip(jax.grad(by_hand, (0, 1))(z, tau), jax.grad(unrolled, (0, 1))(z, tau)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        tangents = (jax.random.normal(jax.random.key(2), z.shape, jnp.float64), jnp.float64(0.7))
        np.testing.assert_allclose(jax.jvp(by_hand, (z, tau), tangents)[1],
                                   jax.jvp(unrolled, (z, tau), tangents)[1], rtol=1e-10)
        assert np.abs(jax.grad(unrolled)(z, tau)).max() > 1e-3  # the check is not of zeros


WORLD_DRAWS = [("user_concentration", "user_taste_entropy"), ("style_concentration", "exposure_topic_entropy"),
               ("creator_focus", "exposure_topic_entropy"), ("creator_zipf", "exposure_topic_entropy")]


@pytest.fixture(scope="module")
def world_draw_gradients():
    """The pathwise gradients of both metrics in every world-draw lever: one program, one run."""
    config = Config.from_dict({**TINY, **WORLDS["softmax-downweight-mf"]})
    metrics = list(dict.fromkeys(metric for _, metric in WORLD_DRAWS))
    results = E.pathwise_many(config, [E.objective(m, "mean") for m in metrics], range(384),
                              [lever for lever, _ in WORLD_DRAWS])
    return config, dict(zip(metrics, results))


@pytest.mark.parametrize("lever,metric", WORLD_DRAWS)
def test_world_draw_levers_gradients_agree_with_finite_differences_in_expectation(world_draw_gradients, lever,
                                                                                   metric):
    # implicit reparameterization is unbiased for the derivative of the expectation: the mean
    # gradient over seeds meets the finite difference of the mean (common random numbers)
    config, gradients = world_draw_gradients
    estimate, seeds = gradients[metric], range(384)
    fd = E.finite_difference(config, estimate.objective, seeds, lever, 0.1 * float(getattr(config, lever)),
                             relaxed_loop=True)
    se = np.hypot(estimate.stderr()[lever], fd.std(ddof=1) / np.sqrt(len(fd)))
    assert abs(estimate.mean()[lever] - fd.mean()) < 3 * se
    assert abs(fd.mean()) > 5 * se  # a real effect: a flipped sign or a lost path would show


def _late(metrics, names):
    return {n: np.asarray(metrics[n]).mean(axis=1) for n in names}


@pytest.mark.parametrize("world", [dict(policy="softmax", recommender="content", temperature=0.5),
                                   dict(policy="greedy", recommender="mf")], ids=["softmax-content", "greedy-mf"])
def test_relaxed_loop_approaches_the_exact_loop_as_its_temperature_falls(world):
    config = Config.from_dict({**TINY, "n_users": 16, "n_items": 30, "initial_items": 30, "slate_size": 4,
                               "rounds": 6, "novelty_weight": 0.0, **world})
    names = ["ctr", "consumption_entropy", "exposure_entropy", "true_utility", "preference_drift"]
    n = 512
    exact = _late(simulate_seeds(config, range(n))[1], names)
    gap = {}
    for tau in (1.0, 0.001):
        soft = _late(E.relaxed_metrics(config, range(10_000, 10_000 + n), tau), names)
        gap[tau] = {m: abs(soft[m].mean() - exact[m].mean()) / np.sqrt(soft[m].var() / n + exact[m].var() / n)
                    for m in names}
    for m in names:
        assert gap[0.001][m] < 3.5, (m, gap)  # within noise of the exact loop's Monte-Carlo mean
    assert sum(gap[1.0].values()) > 10 * sum(gap[0.001].values()), gap  # and far from it at tau = 1


@pytest.mark.parametrize("policy,lever,metric", [("softmax", "temperature", "ctr"),
                                                 ("epsilon_greedy", "epsilon", "ctr"),
                                                 ("softmax", "novelty_weight", "exposure_entropy")])
def test_score_function_mean_agrees_with_finite_differences_of_the_exact_loop(policy, lever, metric):
    config = Config.from_dict({**TINY, "n_users": 16, "n_items": 30, "initial_items": 30, "slate_size": 4,
                               "rounds": 6, "recommender": "content", "policy": policy, "temperature": 0.5,
                               "novelty_weight": 0.5})
    objective = E.objective(metric, "mean", relaxed_loop=False)
    seeds = range(1500)
    estimate = score_function(config, objective, seeds, [lever])
    fd = E.finite_difference(config, objective, seeds, lever, 0.1, relaxed_loop=False)
    se = np.hypot(estimate.stderr()[lever], fd.std(ddof=1) / np.sqrt(len(fd)))
    assert abs(estimate.mean()[lever] - fd.mean()) < 3 * se
    assert abs(fd.mean()) > 3 * fd.std(ddof=1) / np.sqrt(len(fd))  # a real effect, so a sign flip would show


def _range_ends():
    """Each continuous lever moved alone to the low (just inside an open range) and the high
    end of its range."""
    ends = {}
    for name in PARAM_LEVERS:
        lever = LEVERS[name]
        ends[f"{name}=low"] = (name, lever.low + (1e-3 if lever.low_open else 0.0))
        ends[f"{name}=high"] = (name, float(lever.high))
    return ends


def test_gradients_are_finite_at_every_levers_range_ends():
    """In float32 through the public :func:`labkit.grad.estimators.pathwise` (which raises
    where a gradient is not finite; the program the per-seed test below compiles) on the
    softmax world, whose low temperature end is the sharpest; in float64 on the epsilon and
    MMR worlds (the programs of the float64 comparison above). Every lever's gradient at
    each point, not only the moved one's."""
    config = Config.from_dict({**TINY, **WORLDS["softmax-downweight-mf"]})
    for label, (name, value) in _range_ends().items():
        result = E.pathwise(config, E.objective("ctr", "mean"), range(3), params=config.params._replace(
            **{name: jnp.float32(value)}))
        assert np.isfinite(result.value).all(), label
    for world in ("epsilon-reserve-content", "mmr-replace-mf"):
        with jax.enable_x64(True):
            params, _, g = _case(world)
            for label, (name, value) in _range_ends().items():
                grads = g(params._replace(**{name: jnp.float64(value)}))
                bad = [lever for lever, v in grads._asdict().items() if not np.isfinite(float(v))]
                assert not bad, (world, label, bad)


def test_score_function_is_finite_at_its_levers_range_ends():
    config = Config.from_dict({**TINY, "policy": "epsilon_greedy", "data_strategy": "reserve",
                               "recommender": "content"})
    objective = E.objective("ctr", "mean", relaxed_loop=False)
    for name in score_levers(config.static):
        for end in (LEVERS[name].low, min(LEVERS[name].high, 100.0)):
            estimate = score_function(config.replace(**{name: end}), objective, range(4))
            assert all(np.isfinite(v).all() for v in estimate.grad.values()), (name, end)


def test_pathwise_result_carries_per_seed_values_and_standard_errors():
    config = Config.from_dict({**TINY, **WORLDS["softmax-downweight-mf"]})
    result = E.pathwise(config, E.objective("ctr", "mean"), range(3), ["temperature", "drift"])
    assert result.value.shape == (3,) and result.grad["temperature"].shape == (3,)
    table = result.table()
    assert list(table["lever"]) == ["temperature", "drift"]
    assert (table["low"] <= table["grad"]).all() and (table["grad"] <= table["high"]).all()
    assert result.grad["temperature"][0] != result.grad["temperature"][1]  # each seed its own world


def test_a_nan_gradient_names_the_seed_the_lever_and_the_round():
    config = Config.from_dict({**TINY, **WORLDS["softmax-downweight-mf"]})
    bad = config.params._replace(drift=jnp.float32(np.nan))
    with pytest.raises(E.GradientError, match=r"seed 0.*round \d+"):
        E.pathwise(config, E.objective("ctr", "mean"), range(3), ["drift"], params=bad)  # the program above


@pytest.mark.parametrize("call,message", [
    (lambda: E.objective("coverage"), r"coverage.*no smooth counterpart"),
    (lambda: E.objective("entropy"), r"unknown metric 'entropy'.*allowed"),
    (lambda: E.objective("ctr", "median"), r"reduce = 'median'; allowed: last, mean, late"),
    (lambda: E.check_levers(["policy"]), r"policy is a static lever"),
    (lambda: E.check_levers(["temprature"]), r"unknown lever 'temprature'; did you mean temperature"),
    (lambda: E.check_temperature(0.0), r"relax_temperature = 0.0: allowed: a finite number > 0"),
    (lambda: score_function(Config.from_dict(TINY), E.objective("ctr", relaxed_loop=False), range(4),
                            ["drift"]), r"drift acts on the exact loop.*allowed here"),
    (lambda: score_function(Config.from_dict(TINY), E.objective("ctr", relaxed_loop=False), [0]),
     r"at least 2"),
    (lambda: relaxed.check_supported(Config.from_dict({**TINY, "consumption": "once"}).static),
     r"consumption = 'once'"),
])
def test_bad_input_is_refused_before_any_compute(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_late_reduction_averages_the_window_the_study_tables_use():
    from labkit.analysis.tables import late_window

    for rounds in (1, 2, 6, 19, 20, 30, 100):
        assert E.late_window(rounds) == late_window(rounds)
    series = {"ctr": np.arange(30.0)[None, :]}
    assert E.Objective("ctr", "late")(series)[0] == np.arange(20.0, 30.0).mean()


def test_tuning_keeps_levers_in_range_and_its_result_meets_the_floor_on_the_exact_loop():
    from labkit.grad.tune import START_INSIDE, _choose, bounds

    for name in PARAM_LEVERS:
        lever, limits = LEVERS[name], bounds(name)
        for u in (-50.0, 0.0, 50.0):
            value = float(limits.value(jnp.float32(u)))
            assert lever.low <= value <= lever.high, (name, u, value)
        start = lever.low + (1e-3 if lever.low_open else 0.0)
        assert float(limits.value(jnp.float32(limits.coordinate(start)))) >= start  # moved inside, never out
        assert abs(float(limits.value(jnp.float32(limits.coordinate(lever.default)))) - lever.default) <= \
            1.001 * max(1e-3, START_INSIDE * (1 if limits.high is None else limits.high - limits.low))
    rows = [{"epsilon": 0.2, "objective_exact": 5.0, "ctr": 0.85, "ctr_floor": 0.8},
            {"epsilon": 0.4, "objective_exact": 5.6, "ctr": 0.75, "ctr_floor": 0.8},
            {"epsilon": 0.3, "objective_exact": 5.3, "ctr": 0.81, "ctr_floor": 0.8}]
    assert _choose(rows, ("epsilon",), {"epsilon": 0.5}, floored=True) == {"epsilon": 0.3}
    assert _choose(rows, ("epsilon",), {"epsilon": 0.5}, floored=False) == {"epsilon": 0.5}


def test_tune_writes_its_trajectory_evaluation_and_manifest_and_resumes(tmp_path):
    import json

    from labkit.grad.tune import tune

    config = Config.from_dict({**TINY, "policy": "softmax", "data_strategy": "downweight", "recommender": "content"})
    out = tmp_path / "tune"
    result = tune(config, "exposure_entropy", ["temperature", "synthetic_weight"], 2, reduce="mean",
                  max_ctr_loss=0.5, seeds_per_step=2, eval_seeds=2, out=out, progress=False)
    trajectory = __import__("pandas").read_parquet(out / "trajectory.parquet")
    assert list(trajectory["step"]) == [0, 1] and (trajectory["temperature"] > 0).all()
    evaluation = __import__("pandas").read_parquet(out / "evaluation.parquet")
    assert set(evaluation["setting"]) == {"tuned", "start", "greedy baseline"} and len(evaluation) == 6
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tuning"]["levers"] == ["temperature", "synthetic_weight"] and "git_commit" in manifest
    assert result.worlds == {"relaxed (with gradient)": 4, "exact (CTR floor)": 6, "exact (evaluation)": 6}
    assert set(result.levers) == {"temperature", "synthetic_weight"}
    assert not (out / "checkpoint.json").exists()
