"""labkit.analysis.stats: Student-t critical values and intervals, the CI errorbar, paired
differences and the Pareto front. Values are checked against standard t tables."""

import math

import numpy as np
import pandas as pd
import pytest

from labkit.analysis import stats

# Two-sided 95% and 99% Student-t critical values (standard tables).
T_TABLE = {1: (12.706, 63.657), 2: (4.303, 9.925), 3: (3.182, 5.841), 4: (2.776, 4.604),
           5: (2.571, 4.032), 10: (2.228, 3.169), 30: (2.042, 2.750)}


@pytest.mark.parametrize("df", sorted(T_TABLE))
def test_t_critical_matches_the_tables(df):
    t95, t99 = T_TABLE[df]
    assert stats.t_critical(95, df) == pytest.approx(t95, abs=1e-3)
    assert stats.t_critical(99, df) == pytest.approx(t99, abs=1e-3)


def test_t_critical_with_one_degree_of_freedom_is_the_cauchy_quantile():
    # df = 1 is the Cauchy distribution: P(|T| <= t) = 2 atan(t) / pi, so t = tan(pi level / 200).
    for level in (50, 90, 95, 99):
        assert stats.t_critical(level, 1) == pytest.approx(math.tan(math.pi * level / 200), rel=1e-12)


def test_t_critical_refuses_a_level_or_df_out_of_range():
    with pytest.raises(ValueError, match="level"):
        stats.t_critical(100, 3)
    with pytest.raises(ValueError, match="df"):
        stats.t_critical(95, 0)
    with pytest.raises(ValueError, match="df"):
        stats.t_critical(95, 2.5)


def test_mean_ci_is_mean_plus_minus_t_times_standard_error():
    values = [1.0, 2.0, 3.0, 4.0]
    mean, low, high = stats.mean_ci(values)
    half = 3.182446 * np.std(values, ddof=1) / 2
    assert (mean, low, high) == pytest.approx((2.5, 2.5 - half, 2.5 + half), abs=1e-5)


def test_mean_ci_of_one_value_has_no_interval_and_the_errorbar_draws_no_band():
    mean, low, high = stats.mean_ci([3.0])
    assert mean == 3.0 and math.isnan(low) and math.isnan(high)
    assert stats.ci_errorbar()([3.0]) == (3.0, 3.0)
    assert stats.ci_errorbar()([1.0, 2.0, 3.0, 4.0]) == pytest.approx(stats.mean_ci([1, 2, 3, 4])[1:])
    with pytest.raises(ValueError, match="no values"):
        stats.mean_ci([])


def test_bootstrap_ci_is_the_same_band_on_every_call_and_none_for_one_value():
    values = np.arange(10.0)
    band = stats.bootstrap_ci(95)(values)
    assert band == stats.bootstrap_ci(95)(values)
    assert band[0] < values.mean() < band[1]
    assert stats.bootstrap_ci()([2.0]) == (2.0, 2.0)


def test_paired_differences_subtract_the_baseline_of_the_same_seed():
    per_seed = pd.DataFrame({"arm": ["none", "none", "eps", "eps"], "seed": [0, 1, 0, 1],
                             "ctr": [1.0, 5.0, 1.5, 5.5]})
    diffs = stats.paired_differences(per_seed, {"arm": "none"}, ["ctr"])
    assert diffs["arm"].tolist() == ["eps", "eps"] and diffs["ctr"].tolist() == [0.5, 0.5]


def test_pareto_front_keeps_the_points_no_other_beats_on_both_axes():
    x = [0.9, 0.8, 0.7, 0.6, 0.8, np.nan]
    y = [3.0, 4.0, 5.0, 4.5, 3.5, 9.0]
    assert stats.pareto_front(x, y).tolist() == [True, True, True, False, False, False]
    assert stats.pareto_front([1.0, 1.0], [2.0, 2.0]).tolist() == [True, True]  # ties dominate neither
    with pytest.raises(ValueError, match="same length"):
        stats.pareto_front([1.0], [1.0, 2.0])
