"""Notebook parameters: each notebook checks every parameter it declares before any
compute, a bad value is refused with the notebook, parameter, value and allowed values
named, and the main job refuses an undeclared parameter or an unknown scale up front."""

import re
from pathlib import Path

import pytest
import yaml

from labkit import reproduce
from labkit.sim.config import ConfigError
from labkit.experiments.notebooks import SCALES, NotebookFailed, discover, main, run_notebook
from labkit.experiments.parameters import check, check_names, declared

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = discover(ROOT / "notebooks")
EXTRA = {"00_reproductions": {"only_choices": reproduce.NAMES}}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_declared_parameter_is_checked_in_the_first_code_cell(notebook):
    names = declared(notebook)
    source = notebook.with_suffix(".py").read_text()
    call = re.search(r'check_parameters\("' + notebook.stem + r'",(.*?)\)\n', source, re.S)
    assert call, f"{notebook.name}: no check_parameters({notebook.stem!r}, ...) call"
    keywords = set(re.findall(r"(\w+)=\1\b", call.group(1)))
    assert keywords == set(names), f"{notebook.name}: checked {sorted(keywords)}, declared {sorted(names)}"
    check(notebook.stem, root=ROOT, **EXTRA.get(notebook.stem, {}), **names)  # the defaults pass


@pytest.mark.parametrize("name, value, allowed", [
    ("late_rounds", "ten", "an integer >= 1"),
    ("late_rounds", 0, "an integer >= 1"),
    ("late_rounds", True, "an integer >= 1"),
    ("seeds", -2, "an integer >= 1 or None"),
    ("rounds", 2.5, "int in [1, 100000]"),
    ("out_dir", "", "a non-empty string"),
    ("writeup_dir", 3, "a non-empty string (a path) or None"),
    ("synthetic_share", 1.5, "[0, 1]"),
    ("drift", "a lot", "[0, 1]"),
])
def test_a_bad_value_names_notebook_parameter_value_and_what_is_allowed(name, value, allowed):
    with pytest.raises(ConfigError) as err:
        check("01_collapse", root=ROOT, **{name: value})
    text = str(err.value)
    assert "01_collapse" in text and name in text and repr(value) in text and allowed in text


def test_scale_must_be_one_of_the_experiment_files_scales_and_the_file_must_exist():
    with pytest.raises(ConfigError, match=r"scale = 'huge'.*tiny, default, paper"):
        check("02_exploration", root=ROOT, scale="huge", experiment="experiments/exploration.yaml")
    with pytest.raises(ConfigError, match=r"experiment = 'experiments/nope.yaml'.*exists"):
        check("02_exploration", root=ROOT, scale="tiny", experiment="experiments/nope.yaml")
    assert check("02_exploration", root=ROOT, scale="tiny", experiment="experiments/exploration.yaml")


@pytest.mark.parametrize("only", ["chaney", ["chaneyy"], [], 3])
def test_only_must_be_a_list_of_reproduction_names(only):
    with pytest.raises(ConfigError, match=r"parameter only = .*generator"):
        check("00_reproductions", root=ROOT, only=only, only_choices=reproduce.NAMES)
    assert check("00_reproductions", root=ROOT, only=["chaney"], only_choices=reproduce.NAMES)


def test_a_parameter_with_no_rule_is_refused_not_passed_through():
    with pytest.raises(ConfigError, match="late_round has no validation rule"):
        check("02_exploration", root=ROOT, late_round=5)


def test_an_undeclared_parameter_is_refused_before_the_notebook_runs(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) 'scael'; allowed: scale, out_dir"):
        check_names(ROOT / "notebooks" / "02_exploration.ipynb", ["scael"])
    with pytest.raises(ConfigError, match="'late_round'"):
        run_notebook(ROOT / "notebooks" / "02_exploration.ipynb", tmp_path, {"late_round": 3})
    assert not (tmp_path / "02_exploration" / "02_exploration.ipynb").exists()


def test_a_bad_value_stops_the_notebook_in_its_first_code_cell_before_compute(tmp_path):
    with pytest.raises(NotebookFailed) as err:
        run_notebook(ROOT / "notebooks" / "02_exploration.ipynb", tmp_path, {"scale": "tiny", "late_rounds": "ten"})
    failed = err.value
    assert failed.ename == "ConfigError" and "late_rounds = 'ten'" in failed.evalue
    assert "check_parameters(" in failed.source
    assert not (tmp_path / "02_exploration" / "metrics.parquet").exists()


def test_main_refuses_an_unknown_scale_before_running_anything(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--scale", "huge", "--out", "/nonexistent/never-created"])
    assert exit_.value.code == 2 and "invalid choice: 'huge'" in capsys.readouterr().err


def test_every_experiment_file_defines_the_scales_the_main_job_offers():
    for path in sorted((ROOT / "experiments").glob("*.yaml")):
        assert tuple(yaml.safe_load(path.read_text()).get("scales", {})) == SCALES, path.name
