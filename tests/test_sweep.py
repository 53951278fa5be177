"""`labkit sweep` and labkit.experiments.sweep: grid validation, the tidy table, resuming, corrupt points, Dask.

Every test shares one tiny study with two static combinations (two compiled programs:
the learned MF recommender and popularity) so the whole file compiles twice here
and once per subprocess of the fault test.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import labkit
from labkit.experiments import sweep as sweep_mod
from labkit.cli import main
from labkit.sim.config import ConfigError
from labkit.experiments import load
from labkit.experiments.sweep import PointFileWarning, point_path, run_sweep, sweep_points

SIZES = ("{n_users: 8, n_items: 16, initial_items: 10, new_items: 1, slate_size: 3, rounds: 3, "
         "n_topics: 3, n_creators: 3, n_pairs: 4, embedding_dim: 2, train_steps: 1}")
STUDY = f"""\
study: tinysweep
description: two static combinations, four and two param points
base: {{generator_temperature: 0.3}}
grid:
  - {{label: learned, drift: [0.0, 0.3], synthetic_share: [0.0, 0.5]}}
  - {{recommender: popularity, drift: [0.0, 0.3]}}
seeds: 5
scales:
  tiny: {{seeds: 2, {SIZES[1:]}
"""
N_POINTS, N_SEEDS, N_ROUNDS = 6, 2, 3


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("study") / "tinysweep.yaml"
    path.write_text(STUDY)
    return path


@pytest.fixture(scope="module")
def reference(study, tmp_path_factory) -> Path:
    """An uninterrupted local sweep of the study: the table every other run must reproduce."""
    out = tmp_path_factory.mktemp("reference")
    run_sweep(load(study, "tiny"), out, progress=False)
    return out


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Bit-for-bit equal in every column but ``git_commit``: that one records the checkout at
    compute time, and other people commit to this repository while the tests run."""
    assert_frame_equal(got.drop(columns="git_commit"), want.drop(columns="git_commit"), check_exact=True)


def copy_of(reference: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    return out


def count_computations(monkeypatch) -> list:
    """Record every point computed from now on (the real computation still runs)."""
    calls, real = [], sweep_mod.compute_point
    monkeypatch.setattr(sweep_mod, "compute_point", lambda config, seeds, env=None:
                        calls.append(config.hash()) or real(config, seeds, env))
    return calls


# --- the grid in study files --------------------------------------------------------

@pytest.mark.parametrize("grid, fragment", [
    ("grid: 3", "bad.yaml: grid = 3 has type int; allowed: a mapping of levers"),
    ("grid: []", "bad.yaml: grid = [] is empty; allowed:"),
    ("grid: [{drfit: [0.1]}]", "bad.yaml: grid[0]: unknown key 'drfit'; did you mean drift?"),
    ("grid: [{drift: 0.1}, {label: x, drift: [0.1, 2]}]",
     "bad.yaml: grid[1] (label 'x'): drift = 2 is above the range; allowed: float in [0, 1]"),
    ("grid: {policy: [greedy, greedyy]}", "bad.yaml: grid: policy = 'greedyy' is not a known choice; "
                                          "allowed: one of 'greedy'"),
    ("grid: [{epsilon: []}]", "bad.yaml: grid[0]: epsilon = [] is an empty list; allowed: a value or a "
                              "non-empty list of values, each float in [0, 1]"),
    ("grid: [7]", "bad.yaml: grid[0] = 7 has type int; allowed: a mapping of levers"),
    ("grid: [{label: 3, drift: 0.1}]", "bad.yaml: grid[0]: label = 3; allowed: a non-empty string"),
    ("grid: [{policy: ucb}, {policy: ucb, drift: 0.2}]",
     "bad.yaml: grid[1]: label 'policy=ucb' is already used by"),
    ("grid: [{slate_size: [2, 11]}]", "bad.yaml: grid[0] point {'slate_size': 11}: slate_size = 11 exceeds "
                                      "the items alive at the start"),
])
def test_malformed_grid_is_refused_naming_file_arm_key_value_and_allowed(tmp_path, grid, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(f"study: bad\nbase: {SIZES}\n{grid}\n")
    with pytest.raises(ConfigError) as err:
        load(path)
    assert fragment in str(err.value)


def test_cli_refuses_a_bad_grid_with_exit_2_before_any_compute(tmp_path, capsys, study):
    path = tmp_path / "bad.yaml"
    path.write_text(f"study: bad\nbase: {SIZES}\ngrid: [{{drift: [0.1, 1.5]}}]\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "grid[0]: drift = 1.5 is above the range" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["sweep", str(study), "--scheduler", "tcp://x:1", "--out", str(tmp_path / "out")]) == 2
    assert "--scheduler 'tcp://x:1' needs --executor dask" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_points_cross_static_levers_outside_param_levers_with_arm_labels(study):
    points = sweep_points(load(study, "tiny"))
    assert [p.arm for p in points] == ["learned"] * 4 + ["recommender=popularity"] * 2
    assert [p.levers for p in points[:2]] == [{"drift": 0.0, "synthetic_share": 0.0},
                                              {"drift": 0.0, "synthetic_share": 0.5}]
    assert points[4].levers == {"recommender": "popularity", "drift": 0.0}
    assert all(p.config_hash == p.config.hash() for p in points)
    assert len({p.config_hash for p in points}) == N_POINTS
    assert points[0].config.n_users == 8 and points[5].config.recommender == "popularity"
    assert len(sweep_mod.point_groups(points)) == 2  # one per static combination


def test_study_conditions_are_arms_labelled_by_name():
    points = sweep_points(load("experiments/collapse.yaml", "tiny"))
    assert [p.arm for p in points] == ["ai_and_drift", "neither"]
    assert points[0].levers == {"synthetic_share": 0.8, "drift": 0.2}


# --- the table ---------------------------------------------------------------------

def test_a_study_with_conditions_names_each_points_condition_and_its_manifest_holds_them():
    exp = load("experiments/collapse.yaml", "tiny")
    points = sweep_points(exp)
    frames = {}
    for point in points:  # stand-ins for computed point files: one seed, one round
        frame = pd.DataFrame({"config_hash": [point.config_hash], "seed": [0], "round": [0],
                              **{m: [0.0] for m in labkit.METRIC_NAMES}})
        frame.attrs[sweep_mod.POINT_META] = {"labkit_version": "0", "jax_version": "0", "git_commit": "c"}
        frames[point.config_hash] = frame
    table = sweep_mod.metrics_table(exp, points, frames)
    assert list(table.columns[:4]) == ["study", "arm", "condition", "config_hash"]
    assert table["condition"].tolist() == ["ai_and_drift", "neither"]
    manifest = sweep_mod._manifest(exp, points, frames, "local", None, 0.0, computed=[], invalid={})
    assert manifest["conditions"]["ai_and_drift"]["synthetic_share"] == 0.8
    assert manifest["conditions"]["neither"]["drift"] == 0.0


def test_table_has_the_documented_columns_and_a_row_per_point_seed_and_round(reference):
    table = pd.read_parquet(reference / "metrics.parquet")
    assert list(table.columns) == ["study", "arm", "config_hash", "drift", "synthetic_share", "recommender",
                                   "seed", "round", *labkit.METRIC_NAMES,
                                   "labkit_version", "jax_version", "git_commit"]
    assert len(table) == N_POINTS * N_SEEDS * N_ROUNDS
    assert table.groupby(["config_hash", "seed"]).size().eq(N_ROUNDS).all()
    assert sorted(table.seed.unique()) == [0, 1]
    assert (table.study == "tinysweep").all()
    assert table.recommender.tolist().count("popularity") == 2 * N_SEEDS * N_ROUNDS
    assert len(list((reference / "points").glob("*.parquet"))) == N_POINTS

    manifest = json.loads((reference / "manifest.json").read_text())
    assert set(manifest["points"]) == set(table.config_hash)
    some = manifest["points"][table.config_hash.iloc[-1]]
    assert some["config"]["recommender"] == "popularity" and some["arms"] == ["recommender=popularity"]
    for key in ("study", "scale", "seeds", "grid", "labkit_version", "jax_version", "git_commit",
                "wall_time_s", "executor", "xla_flags"):
        assert key in manifest
    assert manifest["seeds"] == [0, 1] and manifest["executor"] == "local"


def test_rerun_recomputes_nothing_and_gives_the_same_table(reference, tmp_path, monkeypatch, study):
    out = copy_of(reference, tmp_path)
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "points").iterdir()}
    calls = count_computations(monkeypatch)
    table = run_sweep(load(study, "tiny"), out, progress=False)
    assert calls == []
    assert {p: p.stat().st_mtime_ns for p in (out / "points").iterdir()} == mtimes
    assert_frame_equal(table, pd.read_parquet(reference / "metrics.parquet"), check_exact=True)


def test_corrupt_or_partial_point_files_are_reported_and_recomputed(reference, tmp_path, monkeypatch, study):
    out = copy_of(reference, tmp_path)
    points = sweep_points(load(study, "tiny"))
    files = [point_path(out, p.config_hash) for p in points]
    files[0].write_bytes(files[0].read_bytes()[:200])  # truncated
    files[1].write_text("not parquet")  # unreadable
    partial = pd.read_parquet(files[2])
    partial.iloc[:N_ROUNDS].to_parquet(files[2], index=False)  # one seed only
    wrong_seeds = pd.read_parquet(files[3])
    wrong_seeds["seed"] = wrong_seeds["seed"] + 7
    wrong_seeds.to_parquet(files[3], index=False)  # right row count, wrong seeds
    shutil.copy(files[5], files[4])  # another point's numbers under this name

    calls = count_computations(monkeypatch)
    with pytest.warns(PointFileWarning) as caught:
        table = run_sweep(load(study, "tiny"), out, progress=False)
    messages = "\n".join(str(w.message) for w in caught)
    for fragment in ("unreadable", "3 rows, expected 2 seeds x 3 rounds = 6", "seeds [7, 8]",
                     f"holds config '{points[5].config_hash}'"):
        assert fragment in messages
    assert sorted(calls) == sorted(p.config_hash for p in points[:5])
    assert_same_table(table, pd.read_parquet(reference / "metrics.parquet"))
    assert json.loads((out / "manifest.json").read_text())["recomputed_invalid"].keys() == set(calls)


def test_sigkill_mid_sweep_then_resume_gives_the_uninterrupted_table_bit_for_bit(reference, study, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "labkit.cli", "sweep", str(study), "--scale", "tiny", "--out", str(out),
               "--quiet"]
    with open(tmp_path / "log", "w") as log:
        victim = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while not list((out / "points").glob("*.parquet")) and victim.poll() is None:
            assert time.monotonic() < deadline, "no point file after 300 s"
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
    assert victim.returncode == -signal.SIGKILL, (tmp_path / "log").read_text()
    survivors = {p: p.stat().st_mtime_ns for p in (out / "points").glob("*.parquet")}
    assert 1 <= len(survivors) < N_POINTS
    assert not (out / "metrics.parquet").exists()  # killed between the first point and the table

    subprocess.run(command, check=True, capture_output=True)
    assert {p: p.stat().st_mtime_ns for p in survivors} == survivors  # kept, not recomputed
    assert_same_table(pd.read_parquet(out / "metrics.parquet"), pd.read_parquet(reference / "metrics.parquet"))


def test_dask_executor_writes_the_same_table_as_local(reference, study, tmp_path):
    from distributed import LocalCluster

    # Workers as threads of this process: they reuse its compiled programs.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        table = run_sweep(load(study, "tiny"), tmp_path / "out", executor="dask",
                          scheduler=cluster.scheduler_address, progress=False)
    assert_same_table(table, pd.read_parquet(reference / "metrics.parquet"))
    assert_frame_equal(pd.read_parquet(tmp_path / "out" / "metrics.parquet"), table, check_exact=True)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["executor"] == "dask"


def test_cli_sweep_writes_results_study_by_default(reference, study, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", str(study), "--scale", "tiny", "--quiet"]) == 0
    assert f"({N_POINTS * N_SEEDS * N_ROUNDS} rows, {N_POINTS} points)" in capsys.readouterr().out
    assert_same_table(pd.read_parquet(tmp_path / "results" / "tinysweep" / "metrics.parquet"),
                      pd.read_parquet(reference / "metrics.parquet"))
