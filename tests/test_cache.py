"""The compilation-cache switch: importing labkit sets nothing, calling the switch sets jax's
cache, ``LABKIT_COMPILATION_CACHE=0`` turns it off, and a second ``labkit run`` loads the
programs the first one compiled (no new cache entries)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from labkit.cache import (JAX_CACHE_VARIABLE, SWITCH_VARIABLE, active_cache_dir, cache_entries, compilation_cache,
                          compilation_cache_at, default_cache_dir, resolve_cache_dir)

ROOT = Path(__file__).resolve().parent.parent

# In a fresh process: jax's cache settings before and after importing labkit, after calling the
# switch, and the folder's entries after compiling one program.
SWITCH = r"""
import json, os, sys
import jax
import jax.numpy as jnp
NAMES = ("jax_enable_compilation_cache", "jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")
def settings():
    return {name: getattr(jax.config, name) for name in NAMES}
before = settings()
import labkit, labkit.cache, labkit.cli, labkit.experiments.notebooks
imported = settings()
folder = labkit.compilation_cache(*sys.argv[1:2])
called = settings()
jax.jit(lambda x: jnp.sin(x) * 2.0 + x.sum())(jnp.arange(7.0)).block_until_ready()
print(json.dumps({"before": before, "imported": imported, "called": called, "folder": folder,
                  "env": os.environ.get("JAX_COMPILATION_CACHE_DIR")}))
"""


def _switch(env_overrides: dict, *args: str) -> dict:
    env = {**os.environ, **env_overrides}
    done = subprocess.run([sys.executable, "-c", SWITCH, *args], capture_output=True, text=True, env=env,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_labkit_sets_no_cache_and_calling_the_switch_does(tmp_path):
    folder = tmp_path / "cache"
    out = _switch({JAX_CACHE_VARIABLE: "", SWITCH_VARIABLE: "",
                   "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}, str(folder))
    assert out["imported"] == out["before"]
    assert out["before"]["jax_compilation_cache_dir"] in (None, "")
    assert out["called"]["jax_compilation_cache_dir"] == str(folder) == out["folder"] == out["env"]
    assert out["called"]["jax_enable_compilation_cache"] is True
    assert out["called"]["jax_persistent_cache_min_compile_time_secs"] == 0.0
    assert cache_entries(folder) >= 1, "the program compiled after the call was not written to the cache"


def test_the_off_switch_beats_jaxs_own_variable(tmp_path):
    folder = tmp_path / "jax_cache"
    out = _switch({SWITCH_VARIABLE: "off", JAX_CACHE_VARIABLE: str(folder),
                   "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"})
    assert out["folder"] is None and out["env"] is None  # child processes inherit no cache either
    assert out["called"]["jax_enable_compilation_cache"] is False
    assert cache_entries(folder) == 0


def test_the_folder_comes_from_the_argument_then_labkits_variable_then_jaxs_then_the_user_cache(tmp_path):
    assert resolve_cache_dir(tmp_path / "given", {SWITCH_VARIABLE: "off"}) == str(tmp_path / "given")
    assert resolve_cache_dir(False, {}) is None and resolve_cache_dir("", {}) is None
    assert resolve_cache_dir(None, {SWITCH_VARIABLE: "0", JAX_CACHE_VARIABLE: "/j"}) is None
    assert resolve_cache_dir(None, {SWITCH_VARIABLE: "/l", JAX_CACHE_VARIABLE: "/j"}) == "/l"
    assert resolve_cache_dir(None, {JAX_CACHE_VARIABLE: "/j"}) == "/j"
    assert resolve_cache_dir(True, {"XDG_CACHE_HOME": str(tmp_path)}) == str(tmp_path / "labkit" / "jax")
    assert default_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/labkit/jax")


def test_a_negative_minimum_compile_time_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match="min_compile_secs"):
        compilation_cache(False, min_compile_secs=-1.0, env={})


def test_a_second_labkit_run_loads_every_program_the_first_compiled(tmp_path):
    folder = tmp_path / "cache"
    env = {**os.environ, SWITCH_VARIABLE: str(folder), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    command = [sys.executable, "-m", "labkit", "run", str(ROOT / "experiments" / "collapse.yaml"),
               "--scale", "tiny", "--seeds", "2", "--quiet"]
    entries = []
    for i in range(2):
        subprocess.run([*command, "--out", str(tmp_path / f"run{i}")], env=env, cwd=ROOT, check=True,
                       capture_output=True, text=True)
        entries.append(cache_entries(folder))
    assert entries[0] >= 1, "the first run wrote nothing to the cache"
    assert entries[1] == entries[0], f"the second run compiled {entries[1] - entries[0]} program(s) again"
    first, second = (pd.read_parquet(tmp_path / f"run{i}" / "metrics.parquet") for i in range(2))
    pd.testing.assert_frame_equal(first, second, check_exact=True)  # a loaded program: the same numbers


def test_the_main_job_records_each_notebooks_wall_time_and_the_programs_it_compiled(tmp_path):
    from test_notebooks import _notebook

    from labkit.experiments.notebooks import JOB_RECORD, main

    _notebook(tmp_path / "01_compiles.ipynb", "import jax, jax.numpy as jnp\n"
              "jax.jit(lambda x: jnp.cos(x).sum() * 3.0)(jnp.ones(5)).block_until_ready()")
    folder, records = tmp_path / "cache", []
    for run in ("cold", "warm"):
        assert main(["--notebooks", str(tmp_path), "--out", str(tmp_path / run), "--scale", "tiny",
                     "--jax-cache", str(folder)]) == 0
        records.append(json.loads((tmp_path / run / JOB_RECORD).read_text()))
    assert [r["compilation_cache"] for r in records] == [str(folder)] * 2
    (cold,), (warm,) = (r["notebooks"] for r in records)
    assert cold["notebook"] == warm["notebook"] == "01_compiles"
    assert cold["wall_time_s"] > 0 and warm["wall_time_s"] > 0
    assert cold["programs_compiled"] >= 1 and warm["programs_compiled"] == 0
    assert records[1]["cache_programs_before"] == records[0]["cache_programs_before"] + cold["programs_compiled"]


def test_the_with_block_switch_puts_back_jaxs_settings_and_the_environment(tmp_path):
    before = (active_cache_dir(), os.environ.get(JAX_CACHE_VARIABLE))
    with compilation_cache_at(tmp_path / "inner") as folder:
        assert folder == active_cache_dir() == os.environ[JAX_CACHE_VARIABLE] == str(tmp_path / "inner")
        with compilation_cache_at(False):
            assert active_cache_dir() is None and JAX_CACHE_VARIABLE not in os.environ
        assert active_cache_dir() == str(tmp_path / "inner")
    assert (active_cache_dir(), os.environ.get(JAX_CACHE_VARIABLE)) == before
