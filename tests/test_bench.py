"""`labkit bench` at a tiny size: it runs, writes its table and manifest, and refuses bad options clearly.

Speeds are reported by the benchmark, never asserted here (timings on shared machines are noise).
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

from labkit import bench
from labkit.bench import gradient, profile, timing, trecs, worlds
from labkit.cache import compilation_cache_at
from labkit.cli import main
from labkit.sim.config import ConfigError


def test_bench_writes_a_table_with_every_column_and_positive_figures(tmp_path, capsys):
    out = tmp_path / "bench"
    argv = ["bench", "--sizes", "30x40x3", "--grid", "2", "2", "--grid-size", "20x30x2", "--no-trecs",
            "--repeats", "1", "--grad-size", "0", "--study", "none", "--no-prng", "--out", str(out)]
    rule_before = bench.prng.registered()
    cache_before = (jax.config.jax_enable_compilation_cache, jax.config.jax_compilation_cache_dir,
                    os.environ.get("JAX_COMPILATION_CACHE_DIR"))
    assert main(argv) == 0
    # the bench ran with the persistent cache off (its manifest says so) and put the settings back
    assert cache_before == (jax.config.jax_enable_compilation_cache, jax.config.jax_compilation_cache_dir,
                            os.environ.get("JAX_COMPILATION_CACHE_DIR"))

    table = pd.read_parquet(out / "bench.parquet")
    assert set(bench.COLUMNS) <= set(table.columns)
    # the prng rows (two more compiles of one world) are tested in tests/test_prng.py
    assert list(zip(table.benchmark, table["mode"])) == [
        ("ladder", "single"), ("grid", "vmapped"), ("grid", "one_by_one")]
    for column in ("compile_s", "run_s", "user_rounds_per_s", "pairs_per_s", "matmul_gflops",
                   "matmul_pairs_bound", "fraction_of_matmul", "peak_rss_mb", "state_mb"):
        assert (table[column] > 0).all(), column
    assert table.simulations.tolist() == [1, 4, 4]
    assert table.devices.tolist() == [1, min(2, len(jax.local_devices())), 1]  # the grid's points split
    assert bench.prng.registered() is rule_before
    ladder = table.iloc[0]
    assert ladder.pairs_per_s == pytest.approx(3 * 30 * 40 / ladder.run_s)
    assert ladder.user_rounds_per_s == pytest.approx(3 * 30 / ladder.run_s)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["machine"]["backend"] == manifest["jax_backend"]
    assert manifest["summary"]["grid_speedup"] > 0
    assert "prng_unrolled_speedup" not in manifest["summary"] and manifest["options"]["prng_ab"] is False
    assert manifest["options"]["grad_size"] is None and "grad_run_ratio" not in manifest["summary"]
    assert manifest["options"]["compilation_cache"].startswith("off")
    printed = capsys.readouterr().out
    assert "pairs/s" in printed and "grid_speedup" in printed


def test_a_trecs_python_that_cannot_import_trecs_is_refused_before_anything_runs(tmp_path, capsys):
    probe = subprocess.run([sys.executable, "-c", "import trecs"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("trecs is importable here")
    code = main(["bench", "--sizes", "10x20x2", "--trecs-python", sys.executable, "--out", str(tmp_path)])
    assert code == 2
    assert "cannot `import trecs`" in capsys.readouterr().err
    assert not (tmp_path / "bench.parquet").exists()


@pytest.mark.parametrize("text", ["10x20", "axbxc", "10x0x3", ""])
def test_a_size_that_is_not_users_x_items_x_rounds_is_refused(text):
    with pytest.raises(ConfigError, match="USERSxITEMSxROUNDS"):
        bench.Size.parse(text)


@pytest.mark.skipif(not os.environ.get("LABKIT_TRECS_PYTHON"),
                    reason="set LABKIT_TRECS_PYTHON to a python with trecs installed")
def test_trecs_content_filtering_runs_in_its_own_interpreter():
    measured = bench.run_trecs(os.environ["LABKIT_TRECS_PYTHON"], users=20, items=30, attributes=4, steps=2)
    assert measured["run_s"] > 0 and measured["setup_s"] >= 0


def test_targets_summary_takes_the_longest_largest_world_and_the_rate_of_its_extra_rounds():
    def row(rounds, run_s, bound):
        pairs = rounds * 100 * 50
        return {"benchmark": "ladder", "mode": "single", "n_users": 100, "n_items": 50, "rounds": rounds,
                "run_s": run_s, "matmul_pairs_bound": bound, "fraction_of_matmul": pairs / run_s / bound,
                "largest_array_elems": 10, "score_block_elems": 5000, "users_x_items": 5000}
    frame = pd.DataFrame([row(3, 4.0, 1e4), row(10, 11.0, 2e4), {**row(1, 1.0, 1e4), "n_users": 10}])
    ratios = bench.targets_summary(frame)
    assert ratios["largest_world"] == "100x50x10"
    assert ratios["largest_world_fraction_of_matmul"] == pytest.approx(10 * 5000 / 11.0 / 2e4)
    # 7 more rounds in 7 more seconds, against the better of the two bounds
    assert ratios["largest_world_extra_rounds_fraction_of_matmul"] == pytest.approx(7 * 5000 / 7.0 / 2e4)
    assert "of which the extra rounds" in bench.format_summary(ratios)


def test_the_gradient_rows_time_value_and_grad_against_the_forward_pass_of_the_relaxed_loop():
    rows = bench.bench_gradient(bench.world_config(bench.Size(20, 30, 4), 1024), repeats=1)
    frame = pd.DataFrame(rows)
    assert list(zip(frame.benchmark, frame["mode"])) == [("relaxed_grad", "forward"),
                                                         ("relaxed_grad", "value_and_grad")]
    assert set(bench.COLUMNS) <= set(frame.columns)
    for column in ("compile_s", "run_s", "compiled_mb", "state_mb"):
        assert (frame[column] > 0).all() and np.isfinite(frame[column]).all(), column
    assert (frame[["n_users", "n_items", "rounds"]].to_numpy() == [20, 30, 4]).all()
    ratios = bench.targets_summary(frame)
    assert ratios["grad_world"] == "20x30x4"
    for key in ("grad_run_ratio", "grad_memory_ratio", "grad_compile_ratio"):
        assert ratios[key] > 0 and np.isfinite(ratios[key]), key
    assert ratios["grad_run_ratio"] == pytest.approx(frame.run_s[1] / frame.run_s[0])
    printed = bench.format_summary(ratios)
    assert "grad_run_ratio" in printed and "target <=    4x" in printed
    assert "grad_memory_ratio" in printed and "target <=    3x" in printed


def test_a_ratio_with_an_upper_target_is_met_at_or_below_it():
    def summary(run, memory):
        return bench.format_summary({"grad_world": "1x1x1", "grad_run_ratio": run, "grad_memory_ratio": memory,
                                     "grad_compile_ratio": 1.0}).splitlines()
    run_line, memory_line = summary(4.0, 3.5)[:2]
    assert run_line.startswith("grad_run_ratio") and run_line.endswith(": met")
    assert memory_line.startswith("grad_memory_ratio") and memory_line.endswith(": MISSED")


def test_grad_size_defaults_to_the_full_or_quick_world_and_0_skips_it():
    assert bench._grad_size(None, quick=False) == bench.Size.parse(bench.GRAD_SIZE)
    assert bench._grad_size(None, quick=True) == bench.Size.parse(bench.GRAD_QUICK_SIZE)
    assert bench._grad_size("0", quick=False) is None
    assert bench._grad_size("30x40x5", quick=True) == bench.Size(30, 40, 5)
    with pytest.raises(ConfigError, match="--grad-size"):
        bench._grad_size("30x40", quick=False)


def test_the_parts_of_bench_never_import_the_package_that_gathers_them():
    # the import-circle test drops package -> part edges, so a part importing the package would pass it
    for module in (timing, worlds, gradient, trecs, profile):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        assert "labkit.bench" not in imported, module.__name__


def test_the_program_rows_time_each_stage_of_a_studys_program_cold_then_warm(tmp_path):
    study = tmp_path / "one.yaml"
    study.write_text("n_users: 12\nn_items: 20\ninitial_items: 20\nnew_items: 2\nslate_size: 3\n"
                     "n_topics: 4\nrounds: 3\nseeds: 2\n")
    frame = pd.DataFrame(bench.bench_programs(study, None, repeats=1))
    assert len(frame) == 1 and frame.benchmark[0] == "program" and frame.simulations[0] == 2
    for column in ("trace_s", "lower_s", "xla_compile_s", "first_run_s", "run_s", "warm_start_s", "cache_read_s"):
        assert frame[column][0] > 0 and np.isfinite(frame[column][0]), column
    assert frame.compile_s[0] == pytest.approx(frame.trace_s[0] + frame.lower_s[0] + frame.xla_compile_s[0])
    ratios = bench.targets_summary(frame)
    assert ratios["program_compile_s"] == frame.xla_compile_s[0]
    assert ratios["program_trace_lower_s"] == pytest.approx(frame.trace_s[0] + frame.lower_s[0])
    printed = bench.format_summary(ratios)
    assert "program_compile_s" in printed and "target <=   5 s" in printed
    assert "warm_start_s" in bench.format_programs(frame)


def test_the_cold_trecs_ratio_counts_labkits_compile_and_first_run():
    frame = pd.DataFrame([
        {"benchmark": "trecs_comparison", "mode": "labkit", "run_s": 0.5, "compile_s": 9.0, "first_run_s": 1.0},
        {"benchmark": "trecs_comparison", "mode": "trecs", "run_s": 100.0, "compile_s": 0.0}])
    ratios = bench.targets_summary(frame)
    assert ratios["trecs_speedup"] == pytest.approx(200.0)
    assert ratios["trecs_speedup_incl_compile"] == pytest.approx(10.0)
    lines = bench.format_summary(ratios).splitlines()
    assert lines[0].startswith("trecs_speedup ") and lines[0].endswith(": met")
    assert lines[1].startswith("trecs_speedup_incl_compile") and lines[1].endswith(": MISSED")


def test_the_notebook_rows_run_a_notebook_cold_then_warm(tmp_path):
    from test_notebooks import _notebook

    _notebook(tmp_path / "01_compiles.ipynb", "import jax, jax.numpy as jnp\n"
              "jax.jit(lambda x: jnp.tanh(x).sum() * 5.0)(jnp.ones(3)).block_until_ready()")
    with compilation_cache_at(False):
        frame = pd.DataFrame(bench.bench_notebooks(["01"], "tiny", log=lambda *a: None, folder=tmp_path))
    assert frame["mode"].tolist() == ["cold", "warm"] and (frame.run_s > 0).all()
    assert frame.programs_compiled[0] >= 1 and frame.programs_compiled[1] == 0
    assert "01_compiles" in bench.format_notebooks(frame)
