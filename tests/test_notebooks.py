"""Notebooks: the collapse study runs end to end at tiny scale, the main job reports a
failing notebook by name and cell, and each .ipynb matches its jupytext .py pair."""

import json
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import pytest

from labkit import METRIC_NAMES
from labkit.experiments import load
from labkit.main import NotebookFailed, discover, main, run_notebooks, select

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
COLLAPSE = NOTEBOOKS / "01_collapse.ipynb"


@pytest.fixture(scope="module")
def collapse_run(tmp_path_factory):
    """01_collapse executed by papermill at tiny scale, from notebooks/ as working folder
    (so the notebook's relative paths must resolve against the repository root)."""
    import papermill

    out_dir = tmp_path_factory.mktemp("01_collapse")
    executed = out_dir / "executed.ipynb"
    papermill.execute_notebook(str(COLLAPSE), str(executed),
                               parameters={"scale": "tiny", "out_dir": str(out_dir)},
                               kernel_name="python3", cwd=str(NOTEBOOKS), progress_bar=False)
    return out_dir, nbformat.read(str(executed), as_version=4)


def test_collapse_notebook_writes_a_tidy_table_of_conditions_seeds_rounds(collapse_run):
    out_dir, _ = collapse_run
    table = pd.read_parquet(out_dir / "metrics.parquet")
    exp = load(ROOT / "experiments" / "collapse.yaml", scale="tiny")
    assert list(table.columns) == ["condition", "seed", "round", *METRIC_NAMES]
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
    for key in ("config", "seeds", "labkit_version", "git_commit"):
        assert key in manifest, f"manifest lacks {key!r}"
    exp = load(ROOT / "experiments" / "collapse.yaml", scale="tiny")
    assert manifest["seeds"] == list(exp.seeds)
    assert manifest["config"]["rounds"] == exp.config.rounds
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
