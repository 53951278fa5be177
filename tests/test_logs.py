"""labkit.analysis.logs: the collapse metrics of a table of interactions, round by round."""

import math

import numpy as np
import pandas as pd
import pytest

from labkit.analysis.logs import interaction_metrics


def close(actual, expected, tol=1e-5):
    return math.isclose(float(actual), expected, rel_tol=tol, abs_tol=tol)



def _toy_log():
    # round 3: a -> x, y ; b -> x          round 7: a -> z ; b -> y ; c -> x
    # Rows shuffled and rounds non-contiguous to check sorting.
    return pd.DataFrame(
        {
            "user": ["c", "a", "b", "a", "b", "a"],
            "item": ["x", "x", "x", "z", "y", "y"],
            "round": [7, 3, 3, 7, 7, 3],
        }
    )


def test_interaction_metrics_matches_hand_computation_per_round():
    # catalog = {x, y, z}, n = 3
    # round 3: counts x2 y1 z0, 3 interactions
    #   entropy -(2/3 ln 2/3 + 1/3 ln 1/3) = 0.636514, effective exp(.) = 1.889882
    #   gini ascending [0,1,2]: 4/9;  coverage 2/3;  head ceil(0.6) = 1 (x) -> tail 1/3
    #   novelty: no history -> p = 1/3 -> log2 3 = 1.584963
    #   homogenization: a {x,y}, b {x} -> 1/2 (c has not joined yet; counting it
    #     with an empty set would give (1/2 + 0 + 0) / 3)
    # round 7: counts x1 y1 z1
    #   entropy ln 3 = 1.098612, effective 3, gini 0, coverage 1, tail 2/3
    #   novelty: history x2 y1 z0 -> p = 3/6, 2/6, 1/6 for x, y, z;
    #     items z, y, x -> (log2 6 + log2 3 + 1) / 3 = 1.723308
    #   homogenization: a {x,y,z}, b {x,y}, c {x}: (2/3 + 1/3 + 1/2) / 3 = 0.5
    out = interaction_metrics(_toy_log())
    assert list(out.columns) == [
        "round", "interactions", "consumption_entropy", "effective_items", "gini",
        "coverage", "long_tail_share", "novelty", "homogenization",
    ]
    assert list(out["round"]) == [3, 7]
    assert list(out["interactions"]) == [3, 3]
    expected = {
        "consumption_entropy": [0.6365142, math.log(3)],
        "effective_items": [1.8898816, 3.0],
        "gini": [4 / 9, 0.0],
        "coverage": [2 / 3, 1.0],
        "long_tail_share": [1 / 3, 2 / 3],
        "novelty": [math.log2(3), (math.log2(6) + math.log2(3) + 1) / 3],
        "homogenization": [0.5, 0.5],
    }
    for column, values in expected.items():
        np.testing.assert_allclose(out[column].to_numpy(), values, rtol=1e-5, atol=1e-6, err_msg=column)


def test_interaction_metrics_uses_n_items_as_catalog():
    # n_items = 5 adds two never-consumed items. Round 3, counts [2, 1, 0, 0, 0]:
    #   coverage 2/5; gini ascending [0,0,0,1,2], weights 2i - 6 -> (2*1 + 4*2) / (5*3) = 2/3
    #   head ceil(1.0) = 1 -> tail 1/3; novelty log2 5; entropy unchanged
    out = interaction_metrics(_toy_log(), n_items=5)
    first = out.iloc[0]
    assert close(first["coverage"], 0.4)
    assert close(first["gini"], 2 / 3)
    assert close(first["long_tail_share"], 1 / 3)
    assert close(first["novelty"], math.log2(5))
    assert close(first["consumption_entropy"], 0.6365142)


def test_interaction_metrics_counts_repeats_but_sets_once():
    # round 0: u consumes i twice, v consumes i once -> counts [3], sets {i}, {i}
    log = pd.DataFrame({"user": [1, 1, 2], "item": ["i", "i", "i"], "round": [0, 0, 0]})
    out = interaction_metrics(log)
    assert int(out["interactions"].iloc[0]) == 3
    assert close(out["homogenization"].iloc[0], 1.0)
    assert close(out["consumption_entropy"].iloc[0], 0.0)


def test_interaction_metrics_sampled_pairs_of_identical_users_give_one():
    # Every user consumes {p, q}; any sample of pairs has Jaccard 1.
    log = pd.DataFrame(
        {"user": np.repeat(np.arange(6), 2), "item": ["p", "q"] * 6, "round": 0}
    )
    out = interaction_metrics(log, n_pairs=7, seed=4)
    assert close(out["homogenization"].iloc[0], 1.0)


def test_interaction_metrics_names_missing_columns():
    with pytest.raises(ValueError, match=r"\['item', 'round'\]"):
        interaction_metrics(pd.DataFrame({"user": [1], "time": [0]}))


def test_interaction_metrics_rejects_catalog_smaller_than_log():
    with pytest.raises(ValueError, match="n_items"):
        interaction_metrics(_toy_log(), n_items=2)


def test_interaction_metrics_of_empty_log_has_no_rows():
    out = interaction_metrics(pd.DataFrame({"user": [], "item": [], "round": []}))
    assert len(out) == 0 and "homogenization" in out.columns
