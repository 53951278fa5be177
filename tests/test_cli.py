"""`labkit run` and `labkit levers`: documented tables on a hand-written config, clear errors on bad ones."""

import json
import subprocess
import sys

import pandas as pd
import pytest

import labkit
from labkit.cli import main

HAND_WRITTEN = """\
# a config written by hand: a flat mapping of levers
n_users: 24
n_items: 40
initial_items: 25
new_items: 3
slate_size: 4
rounds: 8
n_topics: 5
n_creators: 6
n_pairs: 16
embedding_dim: 4
train_steps: 3
synthetic_share: 0.5
drift: 0.2
"""


def test_run_writes_one_row_per_seed_and_round_and_a_manifest(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text(HAND_WRITTEN)
    out = tmp_path / "out"
    assert main(["run", str(config), "--seeds", "3", "--out", str(out), "--quiet"]) == 0

    table = pd.read_parquet(out / "metrics.parquet")
    assert len(table) == 3 * 8
    assert sorted(table.seed.unique()) == [0, 1, 2]
    assert set(labkit.METRIC_NAMES) <= set(table.columns)
    assert table.groupby("seed")["round"].apply(list).map(lambda r: r == list(range(8))).all()

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["synthetic_share"] == 0.5
    assert manifest["config"]["recommender"] == "mf"  # defaults are resolved into the manifest
    assert manifest["seeds"] == [0, 1, 2]
    for key in ("labkit_version", "git_commit", "jax_version", "wall_time_s", "config_hash"):
        assert key in manifest
    assert table.config_hash.unique().tolist() == [manifest["config_hash"]]
    # the same numbers as a sweep's point of that config: one table maker for both
    from labkit.experiments import load
    from labkit.experiments.sweep import compute_point

    point = compute_point(load(config).config, [0, 1, 2])
    pd.testing.assert_frame_equal(table, point, check_exact=True)


@pytest.mark.parametrize("text, fragment", [
    ("n_users: 10\nsynthetic_share: 2\n", "synthetic_share = 2 is above the range; allowed: float in [0, 1]"),
    ("n_usres: 10\n", "unknown key 'n_usres'; did you mean n_users"),
    ("policy: greedyy\n", "policy = 'greedyy' is not a known choice"),
    ("- 1\n- 2\n", "expected a mapping"),
])
def test_bad_config_exits_2_with_the_key_named(tmp_path, capsys, text, fragment):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before any compute or output


def test_set_override_is_validated(tmp_path, capsys):
    config = tmp_path / "mine.yaml"
    config.write_text(HAND_WRITTEN)
    assert main(["run", str(config), "--set", "drift=-1", "--out", str(tmp_path / "o")]) == 2
    assert "drift = -1 is below the range" in capsys.readouterr().err


def test_console_script_lists_levers():
    done = subprocess.run([sys.executable, "-m", "labkit.cli", "levers"], capture_output=True, text=True,
                          check=True)
    for name in ("synthetic_share", "generator_temperature", "drift", "recommender"):
        assert name in done.stdout


def test_labkit_main_passes_its_options_to_the_notebook_runner(capsys):
    assert main(["main", "--list"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed[0] == "00_reproductions" and listed[-1] == "99_writeup"
    result = subprocess.run([sys.executable, "-m", "labkit", "main", "--scale", "huge", "--list"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "huge" in result.stderr  # refused by the runner, by name


def test_tune_refuses_bad_settings_before_any_compute(tmp_path, capsys):
    from labkit.cli import main

    config = tmp_path / "c.yaml"
    config.write_text("n_users: 8\nn_items: 20\ninitial_items: 16\nslate_size: 3\nrounds: 4\npolicy: softmax\n")
    cases = [(["--objective", "coverage", "--levers", "temperature", "--steps", "2"], "no smooth counterpart"),
             (["--objective", "ctr", "--levers", "policy", "--steps", "2"], "policy is a static lever"),
             (["--objective", "ctr", "--levers", "temperature", "--steps", "0"], "steps = 0"),
             (["--objective", "ctr", "--levers", "temperature", "--steps", "2", "--max-ctr-loss", "1.5"],
              "max_ctr_loss = 1.5"),
             (["--objective", "ctr", "--levers", "temperature", "--steps", "2", "--relax-temperature", "0"],
              "relax_temperature = 0.0")]
    for args, message in cases:
        assert main(["tune", str(config), "--out", str(tmp_path / "out"), *args]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
