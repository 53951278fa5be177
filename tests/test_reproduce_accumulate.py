"""Reproduction 2 (Gerstgrasser et al., 2024): least squares refitted on its own predictions;
with labkit's `replace` data strategy the error grows linearly in the generations, with
`accumulate` it stays below pi^2/6 of the first generation's; the check rejects curves that
do not."""

import math

import numpy as np
import pytest

from labkit import reproduce as R
@pytest.fixture(scope="module")
def table(tiny_reproduction):
    return tiny_reproduction("accumulate")


@pytest.fixture(scope="module")
def verdict(table):
    return R.check_accumulate(table)


def test_the_table_has_one_row_per_strategy_and_generation(table):
    spec = R.load("accumulate", scale="tiny")
    assert len(table) == 2 * spec.setup["generations"]
    assert np.isfinite(table["mean_error"]).all() and (table["se_error"] > 0).all()


def test_replace_error_grows_linearly_at_the_published_rate(verdict, table):
    claim = verdict["claims"][0]
    assert claim["claim"].startswith("replace") and claim["passed"], claim
    assert abs(claim["measured"]["slope / e1"] - 1) < 0.1


def test_accumulate_error_stays_below_pi_squared_over_six(verdict, table):
    claim = verdict["claims"][1]
    assert claim["claim"].startswith("accumulate") and claim["passed"], claim
    acc = table[table["strategy"] == "accumulate"]
    assert (acc["mean_error"] < math.pi ** 2 / 6 * acc["e1"] * 1.1).all()


def test_the_whole_check_passes(verdict):
    assert verdict["passed"], R.summary([verdict]).to_string()


def test_the_check_rejects_an_accumulate_curve_that_keeps_growing(table):
    wrong = table.copy()
    rep, acc = wrong["strategy"] == "replace", wrong["strategy"] == "accumulate"
    wrong.loc[acc, ["mean_error", "se_error"]] = wrong.loc[rep, ["mean_error", "se_error"]].to_numpy()
    verdict = R.check_accumulate(wrong)
    assert not verdict["passed"]
    assert not verdict["claims"][1]["passed"]


def test_the_check_rejects_a_replace_curve_at_the_wrong_slope(table):
    wrong = table.copy()
    rep = wrong["strategy"] == "replace"
    wrong.loc[rep, "mean_error"] *= 1.5
    assert not R.check_accumulate(wrong)["claims"][0]["passed"]
