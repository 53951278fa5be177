"""labkit.analysis.bonus_strength: the herding table, its bands and the strength figure,
on a small hand-made table of late-round means (no simulation runs here)."""

import numpy as np
import pandas as pd
import pytest

from labkit.analysis.bonus_strength import (CUMULATIVE, STRENGTH_METRICS, WITHIN, bonus_strength, herding_bands,
                                            herding_table, strength_figure, strength_levers, strength_lines)

STRENGTHS = [0.0, 0.25, 1.0, 4.0, 16.0]


def _family(family, lever, recommender, within, cumulative, seeds=3, jitter=0.01):
    """Rows of one family: per strength and seed, within-round and cumulative entropy
    (greedy's value plus the change given, plus a little seed noise), and the other metrics."""
    rows, rng = [], np.random.default_rng(0)
    for s, w, c in zip(STRENGTHS, within, cumulative):
        for seed in range(seeds):
            noise = jitter * rng.standard_normal()
            rows.append({"family": family, "arm": family, "recommender": recommender, "seed": seed,
                         "beta": s if lever == "beta" else 0.0,
                         "novelty_weight": s if lever == "novelty_weight" else 0.0,
                         WITHIN: 3.0 + w + noise, CUMULATIVE: 4.0 + c - noise, "slate_overlap": 0.3 - w / 10,
                         "cumulative_coverage": 0.5 + c / 10, "ctr": 0.8 - s / 100})
    return rows


@pytest.fixture(scope="module")
def per_seed():
    # ucb under mf: widens the round at 0.25 and 1, herds at 4 and 16 (within down, cumulative up).
    # novelty under content: herds only at 1; at 16 both readings fall (not herding: nothing widens).
    return pd.DataFrame(_family("ucb_strength_mf", "beta", "mf", [0, 0.4, 0.3, -1.0, -1.4], [0, 0.2, 0.5, 0.8, 0.8])
                        + _family("novelty_strength_content", "novelty_weight", "content",
                                  [0, 0.5, -0.8, 0.0, -0.5], [0, 0.3, 0.6, 0.6, -0.2]))


def test_strength_levers_finds_the_one_lever_each_family_sweeps(per_seed):
    assert strength_levers(per_seed) == {"ucb_strength_mf": "beta", "novelty_strength_content": "novelty_weight"}
    both = per_seed.assign(novelty_weight=per_seed["beta"])
    with pytest.raises(ValueError, match="ucb_strength_mf.*exactly one"):
        strength_levers(both)


def test_herding_is_within_round_entropy_down_and_cumulative_up_both_clearly(per_seed):
    table = herding_table(per_seed, strength_levers(per_seed))
    flags = {(r["family"], r["strength"]): r["herding"] for r in table.to_dict("records")}
    assert [flags[("ucb_strength_mf", s)] for s in STRENGTHS[1:]] == [False, False, True, True]
    assert [flags[("novelty_strength_content", s)] for s in STRENGTHS[1:]] == [False, True, False, False]
    row = table[(table["family"] == "ucb_strength_mf") & (table["strength"] == 4.0)].iloc[0]
    assert row[WITHIN] == pytest.approx(-1.0, abs=0.05) and row[CUMULATIVE] == pytest.approx(0.8, abs=0.05)
    assert row["lever"] == "beta" and row["n_seeds"] == 3


def test_an_unclear_change_is_not_herding(per_seed):
    noisy = pd.DataFrame(_family("ucb_strength_mf", "beta", "mf", [0, 0, 0, -0.05, -0.05], [0, 0, 0, 0.05, 0.05],
                                 jitter=0.5))
    table = herding_table(noisy, {"ucb_strength_mf": "beta"})
    in_mean = (table[WITHIN] < 0) & (table[CUMULATIVE] > 0)  # the pattern on average, not clearly
    assert in_mean.sum() >= 2 and not table["herding"].any()


def test_herding_bands_join_neighbours_and_reach_half_a_step_past_the_ends(per_seed):
    bands = herding_bands(herding_table(per_seed, strength_levers(per_seed)))
    (low, high), = bands["ucb_strength_mf"]
    assert low == pytest.approx(2.0) and high == pytest.approx(32.0)  # 4 / sqrt(4), 16 * sqrt(4): one run
    (low, high), = bands["novelty_strength_content"]
    assert low == pytest.approx(0.5) and high == pytest.approx(2.0)
    table = pd.DataFrame({"family": "f", "strength": [1.0, 2.0, 4.0, 8.0], "herding": [True, False, False, True]})
    assert herding_bands(table)["f"] == [pytest.approx((1 / np.sqrt(2), np.sqrt(2))),
                                         pytest.approx((4 * np.sqrt(2), 8 * np.sqrt(2)))]


def test_strength_figure_draws_one_panel_per_metric_and_family_with_the_bands(per_seed):
    levers = strength_levers(per_seed)
    bands = herding_bands(herding_table(per_seed, levers))
    fig = strength_figure(per_seed, levers, bands=bands, note="late rounds")
    panels = {ax.get_label(): ax for ax in fig.axes}
    assert set(panels) == {f"{m}|{f}" for m in STRENGTH_METRICS for f in levers}
    ax = panels[f"{WITHIN}|ucb_strength_mf"]
    assert ax.get_xscale() == "log" and ax.get_title() == "beta, mf"
    shaded = [p for p in ax.patches if p.get_x() > 0]  # the herding span (axvspan) in data coordinates
    assert len(shaded) == 1 and shaded[0].get_x() == pytest.approx(2.0)
    assert panels[f"ctr|novelty_strength_content"].get_title() == ""
    assert panels[f"{WITHIN}|novelty_strength_content"].get_title() == "novelty weight, content"
    with pytest.raises(KeyError, match="slate_overlap"):
        strength_figure(per_seed.drop(columns="slate_overlap"), levers)


def test_bonus_strength_writes_the_table_and_its_lines_name_where_each_family_herds(per_seed, tmp_path):
    sweep = bonus_strength(per_seed, tmp_path)
    assert pd.read_csv(tmp_path / "bonus_strength.csv")["herding"].sum() == 3
    lines = strength_lines(sweep)
    assert lines[:4] == ["ucb_strength_mf (beta): herds at 4, 16",
                         "  widest round, beta 0.25: " + lines[1].split(": ", 1)[1],
                         "  herding starts, beta 4: " + lines[2].split(": ", 1)[1],
                         "  strongest, beta 16: " + lines[3].split(": ", 1)[1]]
    assert lines[1].split(": ", 1)[1].startswith("exposure_entropy +0.4")
    assert lines[4] == "novelty_strength_content (novelty_weight): herds at 1"
    assert lines[6].startswith("  herding starts, novelty_weight 1: exposure_entropy -0.8")
