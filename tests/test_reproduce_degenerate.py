"""Reproduction 4 (Jiang et al., AIES 2019): with a greedy (learned) recommender and users
drifting toward what they consume, users' interest degenerates; epsilon-greedy exploration
slows the degeneracy the more the larger epsilon, and a growing candidate pool slows it too."""

import numpy as np
import pandas as pd
import pytest

from labkit import reproduce as R
@pytest.fixture(scope="module")
def table(tiny_reproduction):
    return tiny_reproduction("degenerate")


@pytest.fixture(scope="module")
def verdict(table):
    return R.check_degenerate(table)


def test_the_table_has_every_condition_epsilon_seed_and_round(table):
    spec = R.load("degenerate", scale="tiny")
    exp = spec.experiment
    n = len(exp.conditions) * len(exp.grid["epsilon"]) * len(exp.seeds) * exp.config.rounds
    assert len(table) == n
    assert not table.duplicated(["condition", "epsilon", "seed", "round"]).any()
    grown = table[(table["condition"] == "growing_pool") & (table["round"] == table["round"].max())]
    assert (grown["alive_items"] > exp.config.initial_items).all()


def test_the_greedy_loop_degenerates(verdict):
    assert verdict["claims"][0]["passed"], verdict["claims"][0]


def test_more_exploration_slows_the_degeneracy(verdict):
    claim = verdict["claims"][1]
    assert claim["passed"], claim
    speeds = list(claim["measured"]["speed by epsilon"].values())
    assert speeds[-1] < speeds[0]


def test_a_growing_candidate_pool_slows_the_degeneracy(verdict):
    assert verdict["claims"][2]["passed"], verdict["claims"][2]


def test_the_whole_check_passes(verdict):
    assert verdict["passed"], R.summary([verdict]).to_string()


def test_degeneracy_speed_is_the_entropy_lost_per_round():
    rounds = np.arange(10)
    table = pd.DataFrame({"condition": "c", "epsilon": 0.0, "seed": 0, "round": rounds,
                          "user_taste_entropy": 2.0 - 0.05 * rounds})
    speed = R.degeneracy_speed(table)
    assert speed["speed"].iloc[0] == pytest.approx(0.05)


def _rise_then_fall(drifts=(0.1,), peak=10, rounds=40, fall=0.05):
    """Taste entropy that rises for ``peak`` rounds, then falls by ``fall`` a round (greedy),
    and keeps rising under random exploration (epsilon 1); seeds differ by a little noise."""
    rng = np.random.default_rng(0)
    rows = []
    for drift in drifts:
        for epsilon in (0.0, 1.0):
            for seed in range(4):
                r = np.arange(rounds)
                h = 1.0 + 0.03 * np.minimum(r, peak) - (fall if epsilon == 0 else -0.01) * np.maximum(r - peak, 0)
                rows.append(pd.DataFrame({"condition": "fixed_pool", "drift": drift, "epsilon": epsilon, "seed": seed,
                                          "round": r, "user_taste_entropy": h + 1e-3 * rng.normal(size=rounds)}))
    return pd.concat(rows, ignore_index=True)


def test_the_peak_window_leaves_out_the_early_rise_of_taste_entropy():
    table = _rise_then_fall()
    assert R.jiang.speed_window_start(table) == 10
    greedy = lambda start: R.degeneracy_speed(table, start=start).query("epsilon == 0")["speed"]  # noqa: E731
    assert greedy("peak").mean() == pytest.approx(0.05, abs=2e-3)
    assert greedy("first").mean() < 0.05 - 0.01  # the rise drags the whole-run slope down
    with pytest.raises(ValueError, match="start = 'last'; allowed: first, peak"):
        R.degeneracy_speed(table, start="last")


def test_the_check_passes_on_the_peak_window_too(table):
    verdict = R.check_degenerate(table, start="peak")
    assert [c["passed"] for c in verdict["claims"]] == [True, True, True], R.summary([verdict]).to_string()


def test_the_drift_script_judges_each_drift_on_both_windows():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "scripts" / "degenerate_drift.py"
    spec = importlib.util.spec_from_file_location("degenerate_drift", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    # a long transient at low drift: the whole-run slope misses the degeneracy, the peak window does not
    table = pd.concat([_rise_then_fall((0.02,), peak=25, fall=0.004), _rise_then_fall((0.5,), peak=1)])
    out = script.verdicts(table).set_index(["drift", "window"])
    assert not out.loc[(0.02, "first"), "degenerates"]
    assert out.loc[(0.02, "peak"), "degenerates"] and out.loc[(0.5, "peak"), "degenerates"]
    assert out.loc[(0.02, "peak"), "from round"] == 25
    assert out["exploration slows it"].all()
