"""labkit.analysis.tradeoffs: study 06's tables put every setting on the CTR-entropy plane with its
Pareto front, its change against the baseline and its cost per nat, under the notebook's file names."""

import pandas as pd
import pytest

from labkit import METRIC_NAMES
from labkit.analysis.tradeoffs import cost_table, setting_late_means, tradeoff_checks, tradeoff_tables
from labkit.experiments import load
from labkit.experiments.paths import in_repo

GAIN = {"none": 0.0, "explore": 1.0, "sample": 0.5, "costly": 0.4}  # nats of entropy kept
LOSS = {"none": 0.0, "explore": 0.0, "sample": 0.05, "costly": 0.2}  # clicks per slate given up


def per_seed_table():
    rows = []
    for arm in GAIN:
        for seed in range(4):
            row = {"arm": arm, "setting": f"{arm} (x=1)" if arm != "none" else arm, "seed": seed}
            row.update({m: 0.1 * seed for m in METRIC_NAMES})
            row["exposure_entropy"] = 2.0 + GAIN[arm] + 0.01 * seed
            row["ctr"] = 0.5 - LOSS[arm] + 0.01 * seed
            rows.append(row)
    return pd.DataFrame(rows)


def test_tradeoff_tables_merge_the_plane_the_changes_and_the_cost_per_setting(tmp_path):
    summary, effects, costs, merged = tradeoff_tables(per_seed_table(), {"arm": "none"}, ["exposure_entropy", "ctr"],
                                                      tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["effects.csv", "summary.csv", "tradeoffs.csv"]
    assert summary.set_index("arm")["pareto_front"].to_dict() == {"none": False, "explore": True, "sample": False,
                                                                  "costly": False}
    assert list(merged.columns) == ["arm", "setting", "ctr", "exposure_entropy", "pareto_front",
                                    "delta_exposure_entropy", "delta_exposure_entropy_low",
                                    "delta_exposure_entropy_high", "delta_ctr", "delta_ctr_low", "delta_ctr_high",
                                    "cost", "cost_low", "cost_high"]
    rows = merged.set_index("arm")
    assert pd.isna(rows.loc["none", "delta_ctr"])  # the baseline has no change against itself
    assert rows.loc["costly", "cost"] == pytest.approx(0.5)
    assert rows.loc["sample", "delta_exposure_entropy"] == pytest.approx(0.5)
    assert cost_table(costs).loc["sample (x=1)", "CTR cost per nat kept [95% bootstrap]"].startswith("0.100")


def test_tradeoff_checks_name_the_front_then_the_cheapest_nat_first(tmp_path):
    tables = tradeoff_tables(per_seed_table(), {"arm": "none"}, ["exposure_entropy", "ctr"], tmp_path)
    lines = tradeoff_checks(tables.summary, tables.effects, tables.costs)
    assert lines[0] == "on the Pareto front (by CTR): explore (x=1)"
    start = lines.index("CTR cost per nat kept, cheapest first (settings whose entropy gain is clear):")
    assert [line.split()[0] for line in lines[start + 1:-1]] == ["explore", "sample", "costly"]
    assert lines[-1] == "no clear entropy gain: none"


def test_setting_late_means_name_each_row_by_the_levers_its_arm_sets():
    exp = load(in_repo("experiments/tradeoffs.yaml"), scale="tiny")
    table = pd.DataFrame([{"arm": arm, "config_hash": arm, "seed": seed, "round": r, **dict.fromkeys(METRIC_NAMES, 0.0)}
                          for arm in ("none", "epsilon_greedy", "human_only") for seed in (0, 1) for r in range(4)])
    per_seed = setting_late_means(table, exp, last=2)
    assert per_seed.attrs["late_rounds"] == [2, 3]
    assert list(dict.fromkeys(per_seed["setting"])) == ["none", "epsilon_greedy (epsilon=0.2)", "human_only"]
