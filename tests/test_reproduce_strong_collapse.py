"""Reproduction 7 (Dohmatob, Feng, Subramonian & Kempe, ICLR 2025): least squares on a training set
that mixes real data with a constant fraction p of data labelled by a shifted regressor; with real
data only the test error falls as d/n, with p > 0 it stops at the floor (p c)^2, lowered by labkit's
downweight lever to (p_s c)^2 and raised by a larger model as m/d. The check rejects a floor linear
in p, no floor at all, and real-data error that does not fall."""

import numpy as np
import pytest

from labkit import reproduce as R
from labkit.reproduce.dohmatob import floor
from labkit.sim.config import ConfigError


@pytest.fixture(scope="module")
def table(tiny_reproduction):
    return tiny_reproduction("strong_collapse")


@pytest.fixture(scope="module")
def verdict(table):
    return R.check_strong_collapse(table)


claim = R.find_claim


def with_gaps(table, gap):
    """The table with every run's floor replaced by ``gap(row)`` (same standard errors)."""
    wrong = table.copy()
    wrong["gap"] = wrong.apply(gap, axis=1)
    return wrong


def test_the_floor_is_the_synthetic_share_of_the_weight_squared_times_the_model_size():
    assert floor(0.2, 1.0) == pytest.approx(0.04)
    assert floor(0.2, 2.0) == pytest.approx(0.16)  # c^2
    assert floor(0.5, 1.0, synthetic_weight=1 / 3) == pytest.approx(0.25 ** 2)  # p_s = s p/(s p + 1 - p)
    assert floor(0.4, 1.0, model_size=0.5) == pytest.approx(0.08)
    assert floor(0.0, 1.0) == 0.0


def test_the_table_has_one_row_per_model_weight_fraction_and_size(table):
    s = R.load("strong_collapse", "tiny").setup
    keys = ["model_size", "synthetic_weight", "synthetic_fraction", "n"]
    assert not table.duplicated(keys).any()
    assert set(table["n"]) == {k * s["n_features"] for k in s["sizes"]}
    assert set(table["synthetic_fraction"]) == {0.0, *s["synthetic_fractions"]}
    assert set(table["synthetic_weight"]) == set(s["synthetic_weights"])
    assert np.isfinite(table[["error", "se", "plateau", "se_plateau", "gap", "se_gap"]].to_numpy()).all()


def test_real_data_alone_keeps_improving_as_d_over_n(verdict):
    c = claim(verdict, "real data only")
    assert c["passed"], c
    assert abs(c["measured"]["log-log slope"] + 1) < 0.1


def test_a_constant_synthetic_fraction_stops_the_improvement_at_a_floor_growing_with_p(verdict):
    for start in ("a constant synthetic fraction", "the floor grows", "the floor is p^2 c^2"):
        assert claim(verdict, start)["passed"], claim(verdict, start)


def test_downweight_lowers_the_floor_and_a_larger_model_raises_it(verdict):
    assert claim(verdict, "downweight lowers")["passed"], claim(verdict, "downweight lowers")
    assert claim(verdict, "larger models amplify")["passed"], claim(verdict, "larger models amplify")


def test_the_whole_check_passes(verdict):
    assert verdict["passed"], R.summary([verdict]).to_string()


def test_the_check_rejects_a_floor_linear_in_p(table):
    # a floor of p c^2 (m/d) instead of (p c)^2 (m/d): still positive and increasing in p
    wrong = with_gaps(table, lambda r: r["synthetic_fraction"] * r["quality"] ** 2 * r["model_size"])
    verdict = R.check_strong_collapse(wrong)
    assert claim(verdict, "the floor grows")["passed"]
    assert claim(verdict, "the floor is p^2 c^2")["passed"] is False
    assert not verdict["passed"]


def test_the_check_rejects_synthetic_data_that_add_no_floor(table):
    wrong = with_gaps(table, lambda r: 0.0)
    for p, group in wrong.groupby("synthetic_fraction"):  # and the errors fall like real data's
        wrong.loc[group.index, "error"] = wrong.loc[group.index, "law_real"]
    verdict = R.check_strong_collapse(wrong)
    assert claim(verdict, "a constant synthetic fraction")["passed"] is False
    assert claim(verdict, "the floor grows")["passed"] is False


def test_the_check_rejects_real_data_error_that_stops_falling(table):
    wrong = table.copy()
    real = wrong["synthetic_fraction"] == 0
    wrong.loc[real, "error"] = wrong.loc[real, "law_real"] + 0.05  # a floor without synthetic data
    wrong.loc[real, "plateau"] = 0.05
    assert claim(R.check_strong_collapse(wrong), "real data only")["passed"] is False


def test_bad_setup_is_refused_with_the_field_named(tmp_path):
    path = tmp_path / "reproduce_strong_collapse.yaml"
    for setup, match in (("{sizes: [1, 2, 4]}", "setup.sizes"), ("{synthetic_fractions: [1.5]}", "setup.synthetic_fractions"),
                         ("{model_sizes: [2.0]}", "setup.model_sizes"), ("{replicates: 1}", "setup.replicates")):
        path.write_text(f"study: reproduce_strong_collapse\nsetup: {setup}\n")
        with pytest.raises(ConfigError, match=match):
            R.run(R.load(path))
