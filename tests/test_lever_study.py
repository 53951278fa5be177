"""labkit.analysis.lever_study: a lever study's tables, figures and reading checks, on a sweep
table built by hand for experiments/capacity.yaml (no simulation runs here)."""

from pathlib import Path

import pandas as pd

from labkit import METRIC_NAMES
from labkit.analysis.lever_study import LeverStudy
from labkit.analysis.tables import DASHBOARD, DIVERSITY, late_means, lever_tables
from labkit.experiments import load
from labkit.experiments.studies import StudyRun
from labkit.experiments.study import arm_families, varied_levers
from labkit.experiments.sweep import sweep_points

ROOT = Path(__file__).resolve().parent.parent


def capacity_study(out: Path) -> LeverStudy:
    """The capacity study at tiny scale, with made-up metrics: ctr grows with each lever."""
    exp = load(ROOT / "experiments" / "capacity.yaml", scale="tiny")
    rows = []
    for point in sweep_points(exp):
        for seed in exp.seeds:
            for r in range(4):
                row = {"study": exp.name, "arm": point.arm, "config_hash": point.config_hash,
                       "embedding_dim": point.config.embedding_dim, "train_steps": point.config.train_steps,
                       "seed": seed, "round": r, **{m: float(seed + r) for m in METRIC_NAMES}}
                row["ctr"] += point.config.embedding_dim / 100 + point.config.train_steps / 10
                rows.append(row)
    table = pd.DataFrame(rows)
    table["family"] = table["arm"].map(arm_families(exp))
    varied, per_seed, metrics = varied_levers(exp), late_means(table), [*DIVERSITY, *DASHBOARD]
    summary, effects = lever_tables(per_seed, metrics, varied, None, out, label="arm")
    return LeverStudy(StudyRun(exp, table, out, (), (), 0.0), per_seed, varied, metrics, None, "arm",
                      summary, effects)


def test_without_a_baseline_each_family_reads_against_its_smallest_setting(tmp_path):
    study = capacity_study(tmp_path)
    summary, effects = study.ci_tables()
    assert summary.index.name == effects.index.name == "arm"
    lines = study.reading_checks(["ctr"])
    assert "embedding_dim (as embedding_dim grows):" in lines
    assert any(line.startswith(f"  {'ctr':24s} rises") for line in lines)
    largest = [line for line in lines if "vs the smallest" in line]
    assert len(largest) == 2 and all("(up)" in line for line in largest)
    assert (tmp_path / "effects_vs_smallest.csv").is_file()


def test_figures_draw_a_panel_per_metric_and_family_and_name_every_setting(tmp_path):
    study = capacity_study(tmp_path)
    fig = study.lever_figure(logx=["embedding_dim", "train_steps"])
    assert {ax.get_label() for ax in fig.axes} == {f"{m}|{f}" for m in study.metrics for f in study.varied}
    assert not fig.legends  # no baseline: nothing to name
    fig = study.rounds_figure(setting="dim {embedding_dim}, {train_steps} steps")
    names = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    names += [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert len(names) == study.run.table["config_hash"].nunique() and "dim 16, 10 steps" in names
    assert study.note.startswith("late-round mean (rounds 2-3 of each run)")
