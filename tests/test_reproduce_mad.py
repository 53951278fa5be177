"""Reproduction 5 (Alemohammad et al., ICLR 2024): labkit's Gaussian generator refitted on its own
samples alone loses variance and tail mass generation after generation; a fixed fraction of
fresh real data per generation holds the variance at the level the exact recursion gives, and
too little does not, the more so when the generator samples below temperature 1."""

import numpy as np
import pytest

from labkit import reproduce as R
from labkit.sim.config import ConfigError


@pytest.fixture(scope="module")
def table(tiny_reproduction):
    return tiny_reproduction("mad")


@pytest.fixture(scope="module")
def verdict(table):
    return R.check_mad(table)


claim = R.find_claim


def test_the_law_without_fresh_data_is_shumailovs_scaled_by_the_temperature():
    v, _ = R.variance_law(0.0, 0.5, 10, 5)
    np.testing.assert_allclose(v, 0.9 * (0.25 * 0.9) ** np.arange(6))
    v, _ = R.variance_law(1.0, 0.5, 10, 5)  # only real data: the ML variance's bias, every generation
    np.testing.assert_allclose(v, 0.9)


def test_the_table_has_one_row_per_temperature_fresh_count_and_generation(table):
    s = R.load("mad", "tiny").setup
    assert len(table) == len(s["temperatures"]) * len(s["real_samples"]) * (s["generations"] + 1)
    assert not table.duplicated(["temperature", "real_samples", "generation"]).any()


def test_the_fully_synthetic_loop_loses_variance_and_tails(verdict, table):
    assert claim(verdict, "fully synthetic")["passed"]
    last = table[(table["generation"] == table["generation"].max()) & (table["real_samples"] == 0)]
    assert (last["median_var"] < 0.5).all()  # the typical chain has lost over half its variance


def test_the_mean_variance_follows_the_exact_recursion(verdict):
    law = claim(verdict, "E[var_t]")
    assert law["passed"], law
    assert law["measured"]["cells"] > 200


def test_enough_fresh_data_holds_the_variance_and_too_little_does_not(verdict, table):
    held = claim(verdict, "enough fresh")
    assert held["passed"] is True, held
    last = table[table["generation"] == table["generation"].max()].set_index(["temperature", "real_samples"])
    # biased sampling needs far more fresh data than unbiased sampling to hold the variance
    fewest = {t: v["fewest fresh points held"] for t, v in held["measured"].items()}
    assert fewest["T = 0.5"] > 4 * fewest["T = 1"]
    assert last.loc[(0.5, 10), "mean_var"] < 0.5 < last.loc[(1.0, 10), "mean_var"]


def test_the_tails_go_first(verdict):
    assert claim(verdict, "the tails go first")["passed"]


def test_the_whole_check_passes(verdict):
    assert verdict["passed"], R.summary([verdict]).to_string()


def test_the_check_rejects_a_loop_that_keeps_its_variance_without_fresh_data(table):
    wrong = table.copy()
    none = wrong["real_samples"] == 0
    wrong.loc[none, ["mean_var", "median_var"]] = 0.97
    verdict = R.check_mad(wrong)
    assert not verdict["passed"]
    assert claim(verdict, "fully synthetic")["passed"] is False
    assert claim(verdict, "E[var_t]")["passed"] is False


def test_more_fresh_points_than_points_is_refused(tmp_path):
    path = tmp_path / "reproduce_mad.yaml"
    path.write_text("study: reproduce_mad\nsetup: {samples: 10, real_samples: [0, 20]}\n")
    with pytest.raises(ConfigError, match="real_samples has 20"):
        R.run(R.load(path))
