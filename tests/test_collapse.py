"""labkit.analysis.collapse: the first and last round of each condition, when the catalog
fills, and the checks that read the collapse figure. Tables are built by hand."""

import pandas as pd
import pytest

from labkit import METRIC_NAMES
from labkit.analysis.collapse import catalog_full_round, collapse_checks, round_ends
from labkit.analysis.labels import metric_label


def two_conditions(rounds=4, seeds=3):
    """ai_and_drift loses exposure entropy round by round, neither keeps it; ctr rises alike in both."""
    rows = []
    for condition in ("ai_and_drift", "neither"):
        for seed in range(seeds):
            for r in range(rounds):
                row = {"condition": condition, "seed": seed, "round": r, **{m: 1.0 for m in METRIC_NAMES}}
                row["exposure_entropy"] = 3.0 - (r if condition == "ai_and_drift" else 0) + 0.01 * seed
                row["ctr"] = 0.1 * (r + 1)
                row["alive_items"] = min(10.0, 4.0 + 2 * r)
                rows.append(row)
    return pd.DataFrame(rows)


def test_round_ends_tabulates_first_and_last_round_per_metric_and_condition():
    ends = round_ends(two_conditions(), ["exposure_entropy", "ctr"])
    assert list(ends.index) == [("exposure_entropy", "ai_and_drift"), ("exposure_entropy", "neither"),
                                ("ctr", "ai_and_drift"), ("ctr", "neither")]
    row = ends.loc[("exposure_entropy", "ai_and_drift")]
    assert (row["first"], row["last"], row["change"]) == pytest.approx((3.01, 0.01, -3.0))
    assert row["change %"] == pytest.approx(-300 / 3.01)


def test_catalog_full_round_is_the_first_round_at_capacity():
    assert catalog_full_round(two_conditions(), 10) == 3
    assert catalog_full_round(two_conditions(), 11) is None


def test_collapse_checks_say_which_metric_collapses_and_whether_the_dashboard_warns():
    lines = collapse_checks(two_conditions(), {"diversity": ["exposure_entropy"], "dashboard": ["ctr"]})
    assert lines[0] == "diversity:" and lines[2] == "dashboard:"
    assert lines[1].startswith(f"  {metric_label('exposure_entropy'):40s} ai_and_drift 0.01 vs neither 3.01")
    assert lines[1].endswith("seeds separate) -> collapses relative to neither")
    assert lines[3].endswith("(+0.0%, seeds overlap) -> holds (within 5% of neither)")
