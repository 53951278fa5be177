"""Notebooks: every study notebook and the write-up run end to end at tiny scale (as the
main job runs them), their tables have the documented columns, the write-up holds every
figure and number it claims, the main job reports a failing notebook by name and cell,
and each .ipynb matches its jupytext .py pair."""

import json
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import pytest

from labkit import METRIC_NAMES
from labkit.experiments import load
from labkit.cache import compilation_cache_at
from labkit.experiments.notebooks import NotebookFailed, discover, main, run_notebook, run_notebooks, select
from labkit.analysis.writeup import SECTIONS
from labkit.experiments.sweep import PROVENANCE_COLUMNS, sweep_points

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
COLLAPSE = NOTEBOOKS / "01_collapse.ipynb"
STUDIES = {"02_exploration": "exploration", "03_stochasticity": "stochasticity",
           "04_data_separation": "data_separation", "05_capacity": "capacity", "06_tradeoffs": "tradeoffs",
           "08_ecosystem": "ecosystem"}


@pytest.fixture(scope="module")
def main_run(tmp_path_factory, request):
    """Every notebooks/NN_*.ipynb executed by papermill at tiny scale, in the main job's
    order and layout (out_root/<stem>/), from notebooks/ as working folder (so relative
    paths must resolve against the repository root). A failing notebook is recorded, not
    raised, so each notebook's test reports its own failure. Returns (out_root,
    {stem: NotebookFailed}).

    The kernels share a JAX compilation cache, as in the main job, kept in pytest's cache
    folder (.pytest_cache/d/labkit_jax) so that later test sessions skip compiling: most
    of this fixture's time is compiling one program per policy, strategy and model size.
    A cached program is the one XLA would compile, so results do not depend on it."""
    out_root = tmp_path_factory.mktemp("results")
    failures = {}
    with compilation_cache_at(request.config.cache.mkdir("labkit_jax")):
        for notebook in discover(NOTEBOOKS):
            try:
                run_notebook(notebook, out_root, {"scale": "tiny"}, cwd=NOTEBOOKS)
            except NotebookFailed as err:
                failures[notebook.stem] = err
    return out_root, failures


@pytest.fixture(scope="module")
def collapse_run(main_run):
    """01_collapse as the main job ran it: its results folder and executed notebook."""
    out_root, failures = main_run
    assert "01_collapse" not in failures, str(failures.get("01_collapse"))
    out_dir = out_root / "01_collapse"
    return out_dir, nbformat.read(str(out_dir / "01_collapse.ipynb"), as_version=4)


def test_collapse_notebook_writes_a_tidy_table_of_conditions_seeds_rounds(collapse_run):
    # the sweep's table (as `labkit sweep experiments/collapse.yaml` writes it), with each point's condition
    out_dir, _ = collapse_run
    table = pd.read_parquet(out_dir / "metrics.parquet")
    exp = load(ROOT / "experiments" / "collapse.yaml", scale="tiny")
    assert list(table.columns) == ["study", "arm", "condition", "config_hash", "synthetic_share", "drift", "seed",
                                   "round", *METRIC_NAMES, *PROVENANCE_COLUMNS]
    assert (table["arm"] == table["condition"]).all()
    assert sorted(table["condition"].unique()) == ["ai_and_drift", "neither"]
    assert len(table) == 2 * len(exp.seeds) * exp.config.rounds
    assert not table.duplicated(["condition", "seed", "round"]).any()


def test_collapse_notebook_saves_the_figure_as_png_and_pdf(collapse_run):
    out_dir, _ = collapse_run
    for name in ("collapse.png", "collapse.pdf"):
        assert (out_dir / name).stat().st_size > 0


def test_collapse_notebook_runs_without_error_outputs(collapse_run):
    _, executed = collapse_run
    errors = [(i, out.get("ename"), out.get("evalue")) for i, cell in enumerate(executed.cells)
              for out in cell.get("outputs", []) if out.output_type == "error"]
    assert errors == []


def test_collapse_manifest_says_what_produced_the_results(collapse_run):
    out_dir, _ = collapse_run
    manifest = json.loads((out_dir / "manifest.json").read_text())
    for key in ("points", "seeds", "labkit_version", "git_commit"):
        assert key in manifest, f"manifest lacks {key!r}"
    exp = load(ROOT / "experiments" / "collapse.yaml", scale="tiny")
    assert manifest["seeds"] == list(exp.seeds)
    assert {p["config"]["rounds"] for p in manifest["points"].values()} == {exp.config.rounds}
    assert manifest["conditions"]["ai_and_drift"]["synthetic_share"] == 0.8
    assert manifest["conditions"]["neither"]["drift"] == 0.0


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"),
                nbformat.v4.new_code_cell("scale = 'default'\nout_dir = '.'",
                                          metadata={"tags": ["parameters"]}),
                *(nbformat.v4.new_code_cell(source) for source in sources)]
    nbformat.write(nb, str(path))
    return path


def test_studies_run_side_by_side_the_write_up_last_and_a_failure_starts_no_other(tmp_path):
    # 01 waits until 02 has started (its folder exists), so the two must run at once; 99
    # reads what every study wrote, so it must run after all of them
    def wait(seen: str, linger: float = 2) -> str:  # a cell that waits (2 min at most) until ``seen``, then writes it
        return ("import time\nfrom pathlib import Path\nstart = time.time()\nseen = lambda: " + seen + "\n"
                "while not seen() and time.time() - start < 120:\n    time.sleep(0.1)\n"
                f"time.sleep({linger})\nPath(out_dir, 'done.txt').write_text(str(seen()))")

    started = "Path(out_dir, '..', '02_second').is_dir()"
    output = "Path(out_dir, '..', '02_second', '02_second.ipynb')"
    failed = f"{output}.is_file() and 'boom' in {output}.read_text()"
    write = "from pathlib import Path\nPath(out_dir, 'done.txt').write_text('True')"
    folder = tmp_path / "ok"
    folder.mkdir()
    studies = [_notebook(folder / "01_first.ipynb", wait(started)), _notebook(folder / "02_second.ipynb", write)]
    _notebook(folder / "99_writeup.ipynb", "from pathlib import Path\n"
              "assert all(Path(out_dir, '..', s, 'done.txt').read_text() == 'True' for s in ('01_first', '02_second'))")
    out = tmp_path / "results"
    done = run_notebooks(discover(folder), out, {"scale": "tiny"}, workers=2)
    assert [d.notebook.stem for d in done][-1] == "99_writeup"
    assert sorted(d.notebook.stem for d in done[:-1]) == [p.stem for p in studies]

    # 02 fails while 01 waits for it, two at a time: 03 never starts, 01 finishes and is kept
    broken = tmp_path / "broken"
    broken.mkdir()
    # papermill saves 02's error before its kernel has shut down and the failure reaches the
    # scheduler (seconds on a loaded machine): 01 lingers long enough for the failure to be known
    _notebook(broken / "01_first.ipynb", wait(failed, linger=12))
    _notebook(broken / "02_second.ipynb", "raise ValueError('boom')")
    _notebook(broken / "03_third.ipynb", write)
    with pytest.raises(NotebookFailed) as caught:
        run_notebooks(discover(broken), tmp_path / "failed", {"scale": "tiny"}, workers=2)
    assert caught.value.notebook.stem == "02_second" and caught.value.ename == "ValueError"
    assert (tmp_path / "failed" / "01_first" / "done.txt").read_text() == "True"
    assert not (tmp_path / "failed" / "03_third").exists()


def test_main_names_the_failing_notebook_and_cell_and_keeps_earlier_studies(tmp_path, capsys):
    ok = _notebook(tmp_path / "01_fine.ipynb",
                   "from pathlib import Path\nPath(out_dir, 'done.txt').write_text(scale)")
    broken = _notebook(tmp_path / "02_broken.ipynb", "x = 1", "raise ValueError('boom at cell three')")
    out = tmp_path / "results"
    with pytest.raises(NotebookFailed) as caught:
        run_notebooks([ok, broken], out, {"scale": "tiny"})
    err = caught.value
    assert err.notebook == broken and err.source_cell == 3 and err.ename == "ValueError"
    assert err.cell_index == 4  # papermill counts the injected parameters cell
    assert "02_broken.ipynb" in str(err) and "cell 3" in str(err) and "boom at cell three" in str(err)
    assert (out / "02_broken" / "02_broken.ipynb").is_file()  # executed up to the failure
    assert (out / "01_fine" / "done.txt").read_text() == "tiny"  # the earlier study is kept

    assert main(["--notebooks", str(tmp_path), "--out", str(out), "--scale", "tiny", "--only", "02"]) == 1
    message = capsys.readouterr().err
    assert "02_broken.ipynb" in message and "cell 3" in message and "ValueError" in message


def test_notebooks_run_in_number_order_with_the_write_up_last(tmp_path):
    for name in ("99_write_up", "02_b", "01_a", "notes", "1_bad"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    assert [p.stem for p in discover(tmp_path)] == ["01_a", "02_b", "99_write_up"]
    assert [p.stem for p in select(discover(tmp_path), "02")] == ["02_b"]
    assert [p.stem for p in select(discover(tmp_path), "a")] == ["01_a"]
    with pytest.raises(SystemExit, match="no such notebook"):
        select(discover(tmp_path), "nope")


@pytest.mark.parametrize("ipynb", sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_ipynb_and_py_percent_pair_are_in_sync(ipynb):
    py = ipynb.with_suffix(".py")
    assert py.is_file(), f"{ipynb.name} has no py:percent pair; run jupytext --set-formats ipynb,py:percent"
    from_ipynb, from_py = jupytext.read(ipynb), jupytext.read(py)

    def cells(nb):
        return [(c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in nb.cells]

    assert cells(from_ipynb) == cells(from_py), f"{ipynb.name} and {py.name} differ: run jupytext --sync {py}"
    assert from_ipynb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert all(not c.get("outputs") for c in from_ipynb.cells if c.cell_type == "code"), \
        f"{ipynb.name} is committed with outputs; executed copies belong under results/"


# --------------------------------------------------------------------------- studies 02-06 and the write-up

@pytest.mark.parametrize("stem", [p.stem for p in discover(NOTEBOOKS)])
def test_every_notebook_executes_at_tiny_scale_without_error_outputs(main_run, stem):
    out_root, failures = main_run
    assert stem not in failures, str(failures.get(stem))
    executed = nbformat.read(str(out_root / stem / f"{stem}.ipynb"), as_version=4)
    errors = [(i, out.get("ename"), out.get("evalue")) for i, cell in enumerate(executed.cells)
              for out in cell.get("outputs", []) if out.output_type == "error"]
    assert errors == []


@pytest.mark.parametrize("stem", sorted(STUDIES))
def test_study_table_has_the_documented_columns_and_one_row_per_point_seed_round(main_run, stem):
    out_root, failures = main_run
    assert stem not in failures, str(failures.get(stem))
    exp = load(ROOT / "experiments" / f"{STUDIES[stem]}.yaml", scale="tiny")
    points = sweep_points(exp)
    varied = list(dict.fromkeys(name for point in points for name in point.levers))
    table = pd.read_parquet(out_root / stem / "metrics.parquet")
    assert list(table.columns) == ["study", "arm", "config_hash", *varied, "seed", "round", *METRIC_NAMES,
                                   *PROVENANCE_COLUMNS]
    assert set(table["study"]) == {exp.name}
    assert list(dict.fromkeys(table["arm"])) == list(dict.fromkeys(p.arm for p in points))
    assert len(table) == len(points) * len(exp.seeds) * exp.config.rounds
    assert not table.duplicated(["arm", "config_hash", "seed", "round"]).any()
    manifest = json.loads((out_root / stem / "manifest.json").read_text())
    assert (manifest["study"], manifest["scale"], manifest["seeds"]) == (exp.name, "tiny", list(exp.seeds))


def test_study_notebooks_save_every_figure_the_write_up_shows(main_run):
    out_root, _ = main_run
    for section in SECTIONS:
        for fig in section.figures:
            for ext in ("png", "pdf"):
                path = out_root / fig.folder / f"{fig.stem}.{ext}"
                assert path.is_file() and path.stat().st_size > 0, path


def test_tradeoffs_reuses_the_points_the_mitigation_studies_computed(main_run):
    out_root, failures = main_run
    assert "06_tradeoffs" not in failures, str(failures.get("06_tradeoffs"))
    assert json.loads((out_root / "06_tradeoffs" / "manifest.json").read_text())["computed_now"] == []


def test_ecosystem_tables_hold_every_part_creators_generators_cadences_agents_assisted(main_run):
    from labkit.sim.world import CREATOR_METRICS

    out_root, failures = main_run
    assert "08_ecosystem" not in failures, str(failures.get("08_ecosystem"))
    out = out_root / "08_ecosystem"
    exp = load(ROOT / "experiments" / "ecosystem.yaml", scale="tiny")
    n_creators, seeds = exp.config.n_creators, list(exp.seeds)
    # the reacting creators' rounds: every round of every reacting point's seeds, as replayed
    rounds = pd.read_parquet(out / "creator_rounds.parquet")
    assert list(rounds.columns) == ["arm", "synthetic_share", "seed", "round", *CREATOR_METRICS]
    assert list(dict.fromkeys(rounds["arm"])) == ["greedy", "epsilon_greedy", "human_only"]
    assert len(rounds) == 4 * len(seeds) * exp.config.rounds  # greedy at two shares, the mitigations at one
    assert rounds["active_creators"].between(0, n_creators).all()
    assert (rounds[rounds["round"] < 4]["active_creators"] == n_creators).all()  # first judged after 5 rounds
    # the creators at the end of each run, fixed creators included, beside the feed's late-round means
    per_seed = pd.read_csv(out / "creators_per_seed.csv")
    assert list(per_seed.columns) == ["arm", "synthetic_share", "seed", *CREATOR_METRICS, "exposure_entropy",
                                      "exposure_topic_entropy", "user_taste_entropy", "ctr"]
    assert len(per_seed) == 6 * len(seeds)
    fixed = per_seed[per_seed["arm"] == "fixed_creators"]
    assert (fixed["active_creators"] == n_creators).all() and (fixed["creator_exits_per_round"] == 0).all()
    assert per_seed["creator_exposure_gini"].between(0, 1).all()
    assert per_seed["long_tail_creator_share"].between(0, 1).all()
    summary = pd.read_csv(out / "creators_summary.csv")
    assert list(summary[["arm", "synthetic_share"]].itertuples(index=False, name=None)) == [
        ("fixed_creators", 0.0), ("fixed_creators", 0.8), ("greedy", 0.0), ("greedy", 0.8),
        ("epsilon_greedy", 0.8), ("human_only", 0.8)]
    # each generator family against the diagonal Gaussian, paired by seed
    effects = pd.read_csv(out / "generator_effects.csv")
    assert list(effects["arm"]) == ["full", "mixture_8"]
    assert (effects["n_seeds"] == len(seeds)).all()
    assert effects[["consumption_topic_entropy", "user_taste_entropy"]].notna().all().all()
    # each slower retraining cadence against models served fresh every round, paired by seed
    cadence = pd.read_csv(out / "cadence_effects.csv")
    assert list(cadence["arm"]) == ["every_2_rounds", "every_5_rounds"]
    assert (cadence["n_seeds"] == len(seeds)).all()
    assert cadence[["exposure_entropy", "homogenization", "ctr"]].notna().all().all()
    # agents against humans at each GenAI share; the mitigations against agents under the GenAI
    vs_humans = pd.read_csv(out / "agents_vs_humans.csv")
    assert list(vs_humans[["arm", "synthetic_share"]].itertuples(index=False, name=None)) == [
        ("agents", 0.0), ("agents", 0.8)]
    assert (vs_humans["agent_click_share"] > 0).all()  # humans click for themselves: every agent click is new
    mitigated = pd.read_csv(out / "agents_mitigations.csv")
    assert list(mitigated["arm"]) == ["agents_epsilon_greedy", "agents_human_only"]
    assert (mitigated.set_index("arm").loc["agents_human_only", "agent_training_share"] < 0)  # its rows dropped
    # assisted creators against none at each GenAI share; human-only retraining against them under it
    vs_human = pd.read_csv(out / "assisted_vs_human_creators.csv")
    assert list(vs_human[["arm", "synthetic_share"]].itertuples(index=False, name=None)) == [
        ("assisted", 0.0), ("assisted", 0.8)]
    assert (vs_human["assisted_exposure_share"] >= 0).all() and (vs_human["assisted_exposure_share"] > 0).any()
    assert list(pd.read_csv(out / "assisted_mitigations.csv")["arm"]) == ["assisted_human_only"]


def test_writeup_from_the_notebooks_holds_every_figure_and_every_number_matches_its_table(main_run):
    from test_writeup import check_writeup  # tests/ is on sys.path (pytest's rootdir-relative import)

    out_root, failures = main_run
    assert "99_writeup" not in failures, str(failures.get("99_writeup"))
    numbers = check_writeup(out_root, out_root / "writeup")
    assert len(numbers["claims"]) > 20


@pytest.mark.parametrize("ipynb", sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_notebook_parameters_cell_sets_scale_and_its_results_folder(ipynb):
    cells = [c for c in nbformat.read(str(ipynb), as_version=4).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{ipynb.name}: expected one cell tagged 'parameters'"
    values = {}
    exec(cells[0].source, {}, values)  # noqa: S102 - our own notebook's literal assignments
    assert values["scale"] == "default"
    assert values["out_dir"] == f"results/{ipynb.stem}"
