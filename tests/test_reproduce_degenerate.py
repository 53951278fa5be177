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
