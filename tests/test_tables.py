"""labkit.analysis.tables: late-round means, summaries over seeds, paired effects against a
baseline, the cost of a nat of diversity, and the text of an interval. No simulation runs
here: tables are built by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from labkit import METRIC_NAMES
from labkit.analysis import stats, tables


def sweep_like(arms, seeds=(0, 1, 2), rounds=6, value=lambda arm, seed, round_: 0.0):
    """A table shaped like a sweep's: arm, config_hash, a lever, seed, round, every metric."""
    rows = []
    for arm, lever in arms:
        for seed in seeds:
            for r in range(rounds):
                row = {"study": "s", "arm": arm, "config_hash": f"h-{arm}", "epsilon": lever, "seed": seed,
                       "round": r}
                row.update({m: value(arm, seed, r) for m in METRIC_NAMES})
                row.update({"labkit_version": "0", "jax_version": "0", "git_commit": "c"})
                rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("rounds,last,window", [(30, 10, 10), (60, 10, 10), (6, 10, 3), (1, 10, 1), (30, 5, 5)])
def test_late_window_is_last_rounds_at_most_half_the_run(rounds, last, window):
    assert tables.late_window(rounds, last) == window


def test_late_means_average_exactly_the_last_rounds_per_point_and_seed():
    table = sweep_like([("none", 0.1), ("eps", 0.5)], rounds=20,
                       value=lambda arm, seed, r: r + 100 * seed + (1000 if arm == "eps" else 0))
    per_seed = tables.late_means(table, last=4)
    assert per_seed.attrs["late_rounds"] == [16, 19]
    assert len(per_seed) == 2 * 3
    assert "round" not in per_seed and "labkit_version" not in per_seed
    row = per_seed[(per_seed["arm"] == "eps") & (per_seed["seed"] == 2)].iloc[0]
    assert row["ctr"] == pytest.approx(np.mean([16, 17, 18, 19]) + 200 + 1000)
    assert row["epsilon"] == 0.5


def test_summarize_gives_mean_and_t_interval_over_seeds_per_point():
    table = sweep_like([("a", 0.1)], seeds=(0, 1, 2, 3), rounds=2, value=lambda arm, seed, r: float(seed))
    summary = tables.summarize(tables.late_means(table), ["ctr"], by=["arm"])
    mean, low, high = stats.mean_ci([0, 1, 2, 3])
    assert summary.loc[0, ["ctr", "ctr_low", "ctr_high", "n_seeds"]].tolist() == pytest.approx([mean, low, high, 4])


def test_effects_pair_each_seed_with_the_baseline_of_the_same_seed():
    # The seed moves both arms alike; only the paired difference (exactly 0.5) is left.
    table = sweep_like([("none", 0.1), ("eps", 0.5)], seeds=(0, 1, 2, 3), rounds=2,
                       value=lambda arm, seed, r: 10.0 * seed + (0.5 if arm == "eps" else 0.0))
    effects = tables.effects(tables.late_means(table), {"arm": "none"}, ["ctr"], by=["arm"])
    assert effects["arm"].tolist() == ["eps"]
    assert effects.loc[0, ["ctr", "ctr_low", "ctr_high"]].tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_effects_match_a_baseline_per_value_of_a_column():
    rows = []
    for arm in ("accumulate", "human_only"):
        for share in (0.0, 0.8):
            for seed in (0, 1):
                rows.append({"arm": arm, "synthetic_share": share, "seed": seed,
                             "ctr": share + (1.0 if arm == "human_only" else 0.0) + seed})
    per_seed = pd.DataFrame(rows)
    effects = tables.effects(per_seed, {"arm": "accumulate"}, ["ctr"], match=["synthetic_share"],
                              by=["arm", "synthetic_share"])
    assert effects["ctr"].tolist() == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="several rows"):
        tables.effects(per_seed, {"arm": "accumulate"}, ["ctr"], by=["arm", "synthetic_share"])


def test_effects_say_which_baseline_is_missing():
    per_seed = pd.DataFrame({"arm": ["a", "b"], "seed": [0, 1], "ctr": [1.0, 2.0]})
    with pytest.raises(ValueError, match="no baseline rows"):
        tables.effects(per_seed, {"arm": "none"}, ["ctr"], by=["arm"])
    with pytest.raises(ValueError, match="seed 1"):
        tables.effects(per_seed, {"arm": "a"}, ["ctr"], by=["arm"])


def test_cost_per_nat_is_ctr_lost_over_entropy_kept():
    def value(arm, seed, r):
        return 0.0

    table = sweep_like([("none", 0.1), ("eps", 0.5), ("worse", 0.9)], seeds=(0, 1, 2, 3), rounds=2, value=value)
    table.loc[table["arm"] == "eps", "exposure_entropy"] = 2.0 + 0.1 * table["seed"]
    table.loc[table["arm"] == "eps", "ctr"] = -0.1
    table.loc[table["arm"] == "worse", "exposure_entropy"] = -1.0
    costs = tables.cost_per_nat(tables.late_means(table), {"arm": "none"}, by=["arm"]).set_index("arm")
    assert costs.loc["eps", "kept"] == pytest.approx(2.15)
    assert costs.loc["eps", "lost"] == pytest.approx(0.1)
    assert costs.loc["eps", "cost"] == pytest.approx(0.1 / 2.15)
    assert costs.loc["eps", "cost_low"] <= costs.loc["eps", "cost"] <= costs.loc["eps", "cost_high"]
    assert math.isnan(costs.loc["worse", "cost"])  # keeps no entropy: no price


def test_ci_text_and_direction_read_an_interval():
    assert tables.ci_text(0.4213, 0.3, 0.55, 2, signed=True) == "+0.42 [+0.30, +0.55]"
    assert tables.ci_text(3.0, math.nan, math.nan, 1) == "3.0"
    assert tables.direction(0.1, 0.2) == "up"
    assert tables.direction(-0.2, -0.1) == "down"
    assert tables.direction(-0.1, 0.2) == "unclear"


def test_clear_effects_counts_intervals_that_exclude_zero_per_table(tmp_path):
    folder = tmp_path / "02_study"
    folder.mkdir()
    pd.DataFrame({"setting": ["a", "b"], "x": [0.3, -0.1], "x_low": [0.1, -0.2], "x_high": [0.5, 0.1],
                  "y": [-0.4, 0.2], "y_low": [-0.5, math.nan], "y_high": [-0.3, math.nan],
                  "n_seeds": [8, 8]}).to_csv(folder / "effects.csv", index=False)
    counts = tables.clear_effects([folder / "effects.csv", folder / "missing.csv"])
    assert counts.to_dict("records") == [{"table": "02_study/effects.csv", "effects": 4, "clear": 2, "up": 1,
                                          "down": 1}]  # b's x spans 0, b's y has no interval


def test_trend_says_rises_falls_or_mixed():
    frame = pd.DataFrame({"x": [3, 1, 2], "up": [3, 1, 2], "down": [1, 3, 2], "mixed": [1, 1, 2]})
    assert [tables.trend(frame, "x", c) for c in ("up", "down", "mixed")] == ["rises", "falls", "mixed"]


def per_family_table():
    """Late-round means of two families, each sweeping its own lever; the value of a lever sets ctr."""
    rows = []
    for family, lever, values in [("embedding_dim", "embedding_dim", [4, 16, 64]), ("train_steps", "train_steps", [3, 10])]:
        for v in values:
            for seed in range(3):
                row = {"family": family, "arm": f"{lever}={v}", "embedding_dim": 16, "train_steps": 10, "seed": seed}
                row[lever] = v
                row.update({m: float(seed) for m in METRIC_NAMES})
                row["ctr"] = float(seed) + v / 100
                rows.append(row)
    return pd.DataFrame(rows)


def test_lever_tables_without_a_baseline_compare_each_family_with_its_smallest_setting(tmp_path):
    varied = {"embedding_dim": ["embedding_dim"], "train_steps": ["train_steps"]}
    summary, effects = tables.lever_tables(per_family_table(), ["ctr"], varied, None, tmp_path, label="arm")
    assert list(summary.columns[:4]) == ["family", "arm", "embedding_dim", "train_steps"]
    assert effects["arm"].tolist() == ["embedding_dim=16", "embedding_dim=64", "train_steps=10"]
    assert effects["ctr"].tolist() == pytest.approx([0.12, 0.60, 0.07])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["effects_vs_smallest.csv", "summary.csv"]


def test_priced_costs_price_only_a_clear_gain_in_diversity():
    rows = []
    for arm, kept in [("none", 0.0), ("clear", 1.0), ("noisy", 0.1), ("loses", -1.0)]:
        for seed in range(4):
            noise = (0.5 if seed % 2 else -0.5) if arm == "noisy" else 0.01 * seed
            rows.append({"arm": arm, "seed": seed, "exposure_entropy": kept + noise, "ctr": -0.1 * kept})
    costs = tables.priced_costs(pd.DataFrame(rows), {"arm": "none"}, by=["arm"]).set_index("arm")
    assert costs["gain"].to_dict() == {"clear": "up", "noisy": "unclear", "loses": "down"}
    assert costs.loc["clear", "text"] == tables.ci_text(*costs.loc["clear", ["cost", "cost_low", "cost_high"]], 3)
    assert costs.loc["noisy", "text"] == "n/a (no clear entropy gain)"
    assert costs.loc["loses", "text"] == "n/a (keeps no entropy)"
