"""The ``mf_retrain`` rows' summary (labkit.bench.retrain): the figures the issue's target is stated
in, from a hand-made table (the rows themselves are timed by ``labkit bench --retrain-size``)."""

import pandas as pd
import pytest

from labkit.bench.retrain import RETRAIN_RUN_TARGET_S, format_retrain_summary, retrain_summary


def _table(minibatch_run_s: float) -> pd.DataFrame:
    whole = [("mf_retrain", mode, rounds, run_s, run_s / rounds, None)
             for mode, rounds, run_s in [("full", 30, 6.0), ("minibatch", 30, minibatch_run_s),
                                         ("full", 60, 24.0), ("minibatch", 60, 2 * minibatch_run_s)]]
    curve = [("mf_retrain_curve", mode, 30, 5 * s, s, first)
             for mode, per_round in [("full", (0.2, 0.2, 0.3)), ("minibatch", (0.02, 0.02, 0.02))]
             for first, s in zip((0, 10, 20), per_round)]
    frame = pd.DataFrame(whole + curve, columns=["benchmark", "mode", "rounds", "run_s", "round_s", "round_start"])
    return frame.assign(n_users=200, n_items=400, simulations=4)


def test_summary_gives_each_forms_run_time_and_how_its_round_cost_grows():
    ratios = retrain_summary(_table(0.6))
    assert ratios["retrain_world"] == "200x400x30" and ratios["retrain_seeds"] == 4
    assert ratios["retrain_full_run_s"] == 6.0 and ratios["retrain_minibatch_run_s"] == 0.6
    # cost per round at 60 rounds over that at 30: full 0.4 / 0.2, minibatch 0.02 / 0.02
    assert ratios["retrain_full_round_s_growth_at_2x_horizon"] == pytest.approx(2.0)
    assert ratios["retrain_minibatch_round_s_growth_at_2x_horizon"] == pytest.approx(1.0)
    assert ratios["retrain_full_last_over_first_chunk"] == pytest.approx(1.5)
    assert ratios["retrain_minibatch_last_over_first_chunk"] == pytest.approx(1.0)


@pytest.mark.parametrize("run_s, verdict", [(RETRAIN_RUN_TARGET_S - 0.1, "met"), (RETRAIN_RUN_TARGET_S + 0.1, "MISSED")])
def test_summary_line_says_whether_the_minibatch_run_met_its_target(run_s, verdict):
    lines = format_retrain_summary(retrain_summary(_table(run_s)))
    assert f"mf_training minibatch: {verdict}" in lines[0]
    assert len(lines) == 3


def test_no_rows_no_summary():
    frame = pd.DataFrame({"benchmark": ["ladder"], "mode": ["single"]})
    assert retrain_summary(frame) == {} and format_retrain_summary({}) == []
