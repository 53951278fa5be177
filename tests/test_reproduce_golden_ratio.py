"""Reproduction 6 (He, Xu & Cheng 2025; Garg, Bhattacharya & Sur 2025): each generation fits
labkit's Gaussian generator to fresh real data plus the previous model's samples, the synthetic
rows down-weighted by labkit's `downweight` strategy; the real-data weight that minimizes the
long-run error is 1/phi with as many synthetic as real points, and (sqrt(1+4k)-1)/(2k) with k
times as many. The check rejects an optimum elsewhere."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from labkit import reproduce as R
from labkit.sim.config import ConfigError


@pytest.fixture(scope="module")
def table(tiny_reproduction):
    return tiny_reproduction("golden_ratio")


@pytest.fixture(scope="module")
def verdict(table):
    return R.check_golden_ratio(table)


claim = R.find_claim


def test_the_optimum_of_the_law_is_the_inverse_golden_ratio_at_k_1_and_a_half_at_k_2():
    assert R.optimal_weight(1.0) == pytest.approx((math.sqrt(5) - 1) / 2)
    assert R.optimal_weight(2.0) == pytest.approx(0.5)
    for k in (0.5, 1.0, 2.0, 4.0):  # the root of k w^2 + w - 1
        w = R.optimal_weight(k)
        assert k * w ** 2 + w - 1 == pytest.approx(0, abs=1e-12)


def test_downweight_gives_the_real_rows_the_weight_w_of_the_fit():
    weights = np.asarray(R.mixed_weights("downweight", 3, 2, 0.25))
    np.testing.assert_allclose(weights, [1, 1, 1, 0.25, 0.25])
    # w = n / (n + s m): with n = m, s = (1 - w)/w, so s = 1/phi at w = 1/phi
    golden = (math.sqrt(5) - 1) / 2
    w = 3 / (3 + (1 - golden) / golden * 3)
    assert w == pytest.approx(golden)
    np.testing.assert_array_equal(np.asarray(R.mixed_weights("human_only", 2, 2)), [1, 1, 0, 0])


def test_the_table_has_one_row_per_ratio_and_weight_and_the_lever_stays_in_range(table):
    spec = R.load("golden_ratio", "tiny")
    assert set(table["synthetic_ratio"]) == set(spec.setup["synthetic_ratios"])
    assert not table.duplicated(["synthetic_ratio", "real_weight"]).any()
    assert table["synthetic_weight"].between(0, 1 + 1e-9).all()  # downweight only down-weights
    assert np.isfinite(table[["mse", "se_mse", "slope", "se_slope", "excess"]].to_numpy()).all()


def test_the_long_run_error_follows_the_stationary_law(verdict, table):
    assert claim(verdict, "long-run error")["passed"]
    # with V = sigma0^2 the law is within a few per cent: the finite-sample shrinkage of V
    assert ((table["mse"] / table["law_large"]).between(0.9, 1.02)).all()


def test_the_sweep_and_the_derivative_find_the_inverse_golden_ratio(verdict):
    sweep, root = claim(verdict, "k = 1: the sweep"), claim(verdict, "k = 1: the derivative")
    assert sweep["passed"] and root["passed"], (sweep, root)
    assert abs(root["measured"]["root"] - 0.618) < 0.02 and abs(sweep["measured"]["sweep minimum"] - 0.618) < 0.03


def test_the_optimum_moves_with_the_synthetic_ratio_as_the_unified_expression_says(verdict):
    other = claim(verdict, "other ratios")
    assert other["passed"], other
    assert abs(other["measured"]["k = 2"]["root"] - 0.5) < 0.02


def test_the_whole_check_passes(verdict):
    assert verdict["passed"], R.summary([verdict]).to_string()


def test_the_check_rejects_a_loop_whose_optimum_is_plain_pooling(table):
    # synthetic data drawn from the truth instead of the previous model: error (w^2/n + (1-w)^2/m),
    # minimized at the pooled weight n/(n+m) = 0.5, with its derivative
    wrong = table.copy()
    w, n, m = wrong["real_weight"], wrong["real_samples"], wrong["synthetic_samples"]
    wrong["mse"] = w ** 2 / n + (1 - w) ** 2 / m
    wrong["slope"] = 2 * w / n - 2 * (1 - w) / m
    wrong["law"] = wrong["mse"]
    wrong["excess"] = wrong["mse"] - wrong.groupby("synthetic_ratio")["mse"].transform("min")
    verdict = R.check_golden_ratio(wrong)
    assert not verdict["passed"]
    assert claim(verdict, "k = 1: the sweep")["passed"] is False
    assert claim(verdict, "k = 1: the derivative")["passed"] is not True


def test_bad_setup_is_refused_with_the_field_named(tmp_path):
    path = tmp_path / "reproduce_golden_ratio.yaml"
    path.write_text("study: reproduce_golden_ratio\nsetup: {burn_in: 80, generations: 40}\n")
    with pytest.raises(ConfigError, match="setup.burn_in = 80"):
        R.run(R.load(path))
