"""Results addressed by config hash are reproducible: same config + seed, same numbers, bit for bit.

labkit.experiments.sweep computes each point in its own compiled call with its seeds vmapped,
because XLA on CPU does not give bit-identical numbers for a point inside a vmapped
batch of points (see the labkit.experiments.sweep docstring). These tests hold the sweep to that:
across processes, and whatever other points share the sweep.
"""

import subprocess
import sys

import jax
import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

import labkit
from labkit.experiments import load
from labkit.experiments.sweep import run_sweep

# The same world and seeds as tests/test_sweep.py, so both files share one compiled program.
SIZES = ("{n_users: 8, n_items: 16, initial_items: 10, new_items: 1, slate_size: 3, rounds: 3, "
         "n_topics: 3, n_creators: 3, n_pairs: 4, embedding_dim: 2, train_steps: 1}")


def study(tmp_path, grid: str, name: str = "det"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"study: {name}\nbase: {{generator_temperature: 0.3, {SIZES[1:]}\nseeds: 2\n{grid}\n")
    return path


def test_same_config_and_seed_give_bit_identical_tables_in_two_processes(tmp_path):
    path = study(tmp_path, "grid: {drift: [0.0, 0.3], synthetic_share: 0.5}")
    here = run_sweep(load(path), tmp_path / "here", progress=False)
    # A fresh interpreter compiles the program again and recomputes every point.
    subprocess.run([sys.executable, "-m", "labkit.cli", "sweep", str(path), "--out", str(tmp_path / "there"),
                    "--quiet"], check=True, capture_output=True)
    there = pd.read_parquet(tmp_path / "there" / "metrics.parquet")
    # Every column bit for bit but git_commit, the checkout at compute time (people commit
    # to this repository while the tests run).
    assert_frame_equal(there.drop(columns="git_commit"), here.drop(columns="git_commit"), check_exact=True)
    assert np.isfinite(here[list(labkit.METRIC_NAMES)].to_numpy()).any()


def test_a_point_has_the_same_numbers_alone_or_among_other_points(tmp_path):
    crowd = run_sweep(load(study(tmp_path, "grid: {drift: [0.0, 0.3], synthetic_share: [0.0, 0.5]}", "crowd")),
                      tmp_path / "crowd", progress=False)
    alone = run_sweep(load(study(tmp_path, "grid: {drift: 0.3, synthetic_share: 0.5}", "alone")),
                      tmp_path / "alone", progress=False)
    metrics = ["config_hash", "seed", "round", *labkit.METRIC_NAMES]
    same = crowd[crowd.config_hash == alone.config_hash.iloc[0]][metrics].reset_index(drop=True)
    assert len(same) == len(alone) == 2 * 3
    assert_frame_equal(same, alone[metrics], check_exact=True)

    # ... and the same as calling labkit.simulate_seeds on that point directly.
    config = load(study(tmp_path, "grid: {drift: 0.3, synthetic_share: 0.5}", "alone")).points()[0][2]
    _, direct = jax.device_get(labkit.simulate_seeds(config, [0, 1]))
    for name in labkit.METRIC_NAMES:
        np.testing.assert_array_equal(alone[name].to_numpy(), np.asarray(direct[name], np.float64).reshape(-1))
