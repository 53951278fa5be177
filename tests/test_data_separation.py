"""labkit.analysis.data_separation: study 04's tables compare each strategy with accumulate at the
same share and each share with the lowest within a strategy, written under the notebook's file names."""

import pandas as pd
import pytest

from labkit import METRIC_NAMES
from labkit.analysis.data_separation import share_checks, share_tables


def per_seed_table():
    """Late-round means of two strategies at two shares: the share lowers ctr, human_only less."""
    rows = []
    for strategy in ("accumulate", "human_only"):
        for share in (0.0, 0.8):
            for seed in range(3):
                row = {"strategy": strategy, "synthetic_share": share, "seed": seed}
                row.update({m: float(seed) for m in METRIC_NAMES})
                row["ctr"] = float(seed) - share * (1.0 if strategy == "accumulate" else 0.25)
                rows.append(row)
    return pd.DataFrame(rows)


def test_share_tables_pair_against_accumulate_at_each_share_and_against_the_lowest_share(tmp_path):
    summary, vs_accumulate, vs_share = share_tables(per_seed_table(), ["ctr"], ["ctr", "coverage"], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["effects_of_share.csv", "effects_vs_accumulate.csv",
                                                          "summary.csv"]
    assert list(summary.columns) == ["strategy", "synthetic_share", "ctr", "ctr_low", "ctr_high", "coverage",
                                     "coverage_low", "coverage_high", "n_seeds"]
    assert vs_accumulate[["strategy", "synthetic_share"]].values.tolist() == [["human_only", 0.0],
                                                                             ["human_only", 0.8]]
    assert vs_accumulate["ctr"].tolist() == pytest.approx([0.0, 0.6])
    assert vs_share[["strategy", "synthetic_share"]].values.tolist() == [["accumulate", 0.8], ["human_only", 0.8]]
    assert vs_share["ctr"].tolist() == pytest.approx([-0.8, -0.2])
    assert pd.read_csv(tmp_path / "effects_of_share.csv")["ctr"].tolist() == pytest.approx([-0.8, -0.2])


def test_share_checks_read_each_strategy_along_the_share_then_the_highest_share(tmp_path):
    lines = share_checks(*share_tables(per_seed_table(), ["ctr"], ["ctr"], tmp_path), moves=["ctr"],
                         headline=["ctr"])
    assert lines[:2] == ["accumulate  as the share grows: ctr falls", "human_only  as the share grows: ctr falls"]
    assert lines[2].startswith("human_only vs accumulate at synthetic_share 0.8: CTR +0.60")
    assert lines[3].startswith("accumulate: synthetic_share 0.8 vs 0: CTR -0.80")
    assert len(lines) == 5
