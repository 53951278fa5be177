"""Reproduction 8 (Zhou et al., SIGIR 2025): in labkit's loop the GenAI's items get more of the
exposure than their share of the catalog, a share that grows round by round; the constraint
``source_parity: slate`` holds exposure at the catalog's share, and its cost in CTR is measured."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from labkit import reproduce as R
from labkit.sim.config import Config, ConfigError
from labkit.sim.policies import parity_counts


@pytest.fixture(scope="module")
def table(tiny_reproduction):
    return tiny_reproduction("source_bias")


@pytest.fixture(scope="module")
def verdict(table):
    return R.check_source_bias(table)


def test_the_table_has_every_condition_seed_and_round(table):
    exp = R.load("source_bias", scale="tiny").experiment
    assert len(table) == len(exp.conditions) * len(exp.seeds) * exp.config.rounds
    assert not table.duplicated(["condition", "seed", "round"]).any()
    np.testing.assert_allclose(table["gap"], table["synthetic_exposure_share"] - table["synthetic_catalog_share"])
    # the catalog turns over: its synthetic share grows from (nearly) none
    catalog = table.groupby("round")["synthetic_catalog_share"].mean()
    assert catalog.iloc[0] < 0.1 < catalog.iloc[-1]


def test_ai_generated_items_are_over_exposed_and_their_share_grows(verdict):
    for start in ("AI-generated items get more exposure", "the AI-generated share of exposure grows"):
        claim = R.find_claim(verdict, start)
        assert claim["passed"], claim


@pytest.mark.xfail(strict=True, reason="labkit's loop over-exposes the GenAI's items from the first rounds on; "
                                       "the gap does not widen as the catalog fills with them (see notebook 00)")
def test_the_over_exposure_escalates(verdict):
    claim = R.find_claim(verdict, "the over-exposure escalates")
    assert claim["passed"], claim


def test_the_parity_constraint_holds_exposure_at_the_catalog_share(verdict, table):
    claim = R.find_claim(verdict, "the constraint holds exposure")
    assert claim["passed"], claim
    biased = table[table["condition"] == "biased"]
    assert biased["gap"].abs().max() > 10 * claim["measured"]["largest |exposure - catalog share|"]


def test_the_cost_of_parity_in_ctr_is_measured_not_judged(verdict):
    claim = R.find_claim(verdict, "what parity costs in CTR")
    assert claim["passed"] is None
    assert set(claim["measured"]) == {"CTR biased", "CTR parity", "parity - biased (SE)"}


def test_parity_counts_average_k_times_the_catalog_share_within_the_live_items():
    alive = jnp.arange(10) < 9  # 9 live items, 3 of them synthetic: q = 1/3
    synthetic = jnp.arange(10) % 3 == 0
    counts_of = jax.jit(parity_counts, static_argnums=3)  # one compiled call, not one per operation
    counts = np.asarray(counts_of(jnp.arange(3000), synthetic, alive, 4))
    assert set(np.unique(counts)) == {1, 2}  # k q = 4/3: rounded down or up per user
    assert counts.mean() == pytest.approx(4 / 3, abs=1e-3)
    few = jnp.arange(10) == 0  # one live synthetic item: never more than one per slate
    assert np.asarray(counts_of(jnp.arange(3000), few, alive, 4)).max() == 1


def test_source_parity_is_a_lever_with_clear_errors_and_no_new_address():
    with pytest.raises(ConfigError, match=r"source_parity = 'on' is not a known choice; allowed: one of 'off', 'slate'"):
        Config.from_dict(source_parity="on")
    assert Config.from_dict(source_parity="off").hash() == Config.from_dict().hash()
    assert Config.from_dict(source_parity="slate").hash() != Config.from_dict().hash()
    from labkit.grad.relaxed import check_supported
    with pytest.raises(ConfigError, match="source_parity = 'slate'"):
        check_supported(Config.from_dict(source_parity="slate").static)


def test_a_study_without_both_conditions_is_refused():
    spec = R.load("source_bias", scale="tiny")
    exp = dataclasses.replace(spec.experiment, conditions={"biased": spec.experiment.conditions["biased"]})
    with pytest.raises(ConfigError, match="condition 'parity' with source_parity: slate"):
        R.run(dataclasses.replace(spec, experiment=exp))
