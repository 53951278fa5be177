"""Reproduction 1 (Shumailov et al., Nature 2024): labkit's Gaussian generator, refitted on
its own samples (replace), loses variance as sigma0^2 ((M-1)/M)^n and collapses, tails first;
refitted on all data so far (accumulate) it does not; and the check rejects a generator that
does not follow the law (the unbiased-variance one)."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from labkit.sim import generator as gen_mod
from labkit import reproduce as R
from labkit.sim.config import ConfigError


@pytest.fixture(scope="module")
def spec():
    return R.load("generator", scale="tiny")


@pytest.fixture(scope="module")
def table(tiny_reproduction):
    return tiny_reproduction("generator")


@pytest.fixture(scope="module")
def verdict(table):
    return R.check_generator(table)


claim = R.find_claim


def test_the_table_has_one_row_per_strategy_sample_size_and_generation(spec, table):
    s = spec.setup
    assert len(table) == len(s["strategies"]) * len(s["sample_sizes"]) * s["generations"]
    assert not table.duplicated(["strategy", "sample_size", "generation"]).any()
    assert set(table["strategy"]) == {"replace", "accumulate"}
    assert np.isfinite(table[["mean_var", "se_var", "mean_log_var", "median_tail"]].to_numpy()).all()


def test_replace_matches_the_expected_variance_law_within_monte_carlo_error(verdict):
    law = claim(verdict, "replace: E[var_n]")
    assert law["passed"], law
    assert law["measured"]["cells"] >= 6  # the law is tested at several M and n, not one cell


def test_replace_collapses_every_chain_as_the_log_variance_law_says(verdict, table):
    assert claim(verdict, "replace: E[log var_n]")["passed"]
    last = table[(table["strategy"] == "replace") & (table["generation"] == table["generation"].max())]
    assert (last["median_var"] < 0.5).all()  # the typical chain has lost over half its variance


def test_the_tails_vanish_before_the_variance(verdict):
    tails = claim(verdict, "replace: the tails")
    assert tails["passed"] is True, tails
    for end in tails["measured"]["typical chain at the last generation"].values():
        assert end["tail ratio"] < end["variance ratio"]


def test_accumulate_does_not_collapse(verdict, table):
    assert claim(verdict, "accumulate")["passed"]
    last = table[table["generation"] == table["generation"].max()].set_index(["strategy", "sample_size"])
    for m in table["sample_size"].unique():
        assert last.loc[("accumulate", m), "mean_var"] > last.loc[("replace", m), "mean_var"] + 0.2
    smallest = table["sample_size"].min()  # where replace collapses fastest: the typical chain
    assert last.loc[("accumulate", smallest), "median_var"] > 4 * last.loc[("replace", smallest), "median_var"]


def test_the_whole_check_passes(verdict):
    assert verdict["passed"], R.summary([verdict]).to_string()


def unbiased_fit(samples, weights):
    """A generator with the unbiased variance (divide by n - 1): no collapse in expectation."""
    fitted = gen_mod.fit_gaussian(samples, weights)
    n = weights.sum()
    return fitted._replace(std=fitted.std * jnp.sqrt(n / (n - 1)))


def test_the_check_rejects_an_unbiased_variance_generator(spec):
    setup = {**spec.setup, "strategies": ["replace"]}
    table = R.run_generator(dataclasses.replace(spec, setup=setup), fit=unbiased_fit)
    verdict = R.check_generator(table)
    assert not verdict["passed"]
    assert not claim(verdict, "replace: E[var_n]")["passed"]
    assert not claim(verdict, "replace: E[log var_n]")["passed"]


def test_generation_weights_come_from_labkit_data_strategies():
    replace = np.asarray(R.generation_weights("replace", 5, 3, 2))
    accumulate = np.asarray(R.generation_weights("accumulate", 5, 3, 2))
    human_only = np.asarray(R.generation_weights("human_only", 5, 3, 2))
    np.testing.assert_array_equal(replace.sum(1), [0, 0, 3, 0, 0])  # the newest generation only
    np.testing.assert_array_equal(accumulate.sum(1), [3, 3, 3, 0, 0])  # every generation so far
    np.testing.assert_array_equal(human_only.sum(1), [3, 0, 0, 0, 0])  # the real data only
    with pytest.raises(ConfigError, match="not a labkit data strategy"):
        R.generation_weights("keep_some", 5, 3, 2)


def test_a_study_file_with_an_unknown_setup_key_is_refused(tmp_path):
    path = tmp_path / "reproduce_generator.yaml"
    path.write_text("study: reproduce_generator\nsetup: {chain: 10}\n")
    with pytest.raises(ConfigError, match="unknown setup key 'chain'"):
        R.load(path)
