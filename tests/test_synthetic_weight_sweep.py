"""The mechanics of scripts/synthetic_weight_sweep.py (issue 17, item 2): the tidy table of a grid
over synthetic_weight, and the best weight per outcome, on made-up numbers (no simulation)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script():
    path = Path(__file__).parents[1] / "scripts" / "synthetic_weight_sweep.py"
    spec = importlib.util.spec_from_file_location("synthetic_weight_sweep", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sweep_finds_each_outcomes_best_weight_against_no_downweighting(script):
    weights, seeds, rounds = [0.0, 0.5, 1.0], [0, 1, 2], 9
    rng = np.random.default_rng(0)
    shape = (len(weights), len(seeds), rounds)
    # utility peaks at 0.5; drift is lowest at 0; only the last third of the rounds counts
    level = np.array([0.2, 0.5, 0.3])[:, None, None] * (np.arange(rounds) >= 6)
    metrics = {"true_utility": level + 0.01 * rng.normal(size=shape),
               "preference_drift": np.array([0.1, 0.2, 0.3])[:, None, None] + np.zeros(shape)}
    table = script.tidy(metrics, weights, seeds)
    assert len(table) == np.prod(shape) and list(table.columns[:3]) == ["synthetic_weight", "seed", "round"]
    assert table.query("synthetic_weight == 0.5 and seed == 1 and round == 8")["preference_drift"].item() == 0.2
    best = script.optima(table, {"true_utility": True, "preference_drift": False}).set_index("outcome")
    assert best.loc["true_utility", "best weight"] == 0.5
    assert best.loc["true_utility", "best - weight 1"] == pytest.approx(0.2, abs=0.02)
    assert best.loc["preference_drift", "best weight"] == 0.0
    assert best.loc["preference_drift", "best - weight 1"] == pytest.approx(-0.2)
