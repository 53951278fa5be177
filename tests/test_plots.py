"""labkit.analysis.plots: the collapse figure draws one labelled panel per metric; the ablation figures
label their panels, ticks and legends (saving is tests/test_style.py)."""

import numpy as np
import pandas as pd
import pytest

from labkit import METRIC_NAMES
from labkit.analysis import stats, tables
from labkit.analysis.labels import METRIC_LABELS, metric_label, split_label
from labkit.sim.world import CREATOR_METRICS
from labkit.analysis.plots import COLLAPSE_PANELS, collapse_figure, effects_figure, lever_figure, tradeoff_figure


def small_table(conditions=("ai_and_drift", "neither"), seeds=3, rounds=5) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"condition": c, "seed": s, "round": r, **{m: rng.normal() for m in METRIC_NAMES}}
            for c in conditions for s in range(seeds) for r in range(rounds)]
    return pd.DataFrame(rows)


def metric_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() != "legend"]


def test_every_metric_has_a_label_with_units():
    assert set(METRIC_LABELS) == set(METRIC_NAMES)
    for metric in (*METRIC_NAMES, *CREATOR_METRICS):  # the creators' metrics are read from a run's state
        name, units = split_label(metric)
        assert name and units, f"{metric}: label {metric_label(metric)!r} lacks units"


def test_collapse_figure_has_one_labelled_axis_per_default_metric():
    fig = collapse_figure(small_table())
    wanted = [m for names in COLLAPSE_PANELS.values() for m in names]
    axes = metric_axes(fig)
    assert [ax.get_label() for ax in axes] == wanted
    for ax, metric in zip(axes, wanted):
        assert ax.get_xlabel() == "round"
        assert f"{ax.get_title()} ({ax.get_ylabel()})" == METRIC_LABELS[metric]
    titles = [sub.get_suptitle() for sub in fig.subfigs]
    assert titles == ["diversity", "dashboard"]


def test_collapse_figure_has_one_shared_legend_naming_the_conditions():
    fig = collapse_figure(small_table(conditions=("a", "b", "c")))
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + fig.legends
    assert len(legends) == 1
    assert [t.get_text() for t in legends[0].get_texts()] == ["a", "b", "c"]
    assert legends[0].get_title().get_text() == "condition"


def test_collapse_figure_takes_a_plain_list_and_another_hue():
    df = small_table().rename(columns={"condition": "policy"})
    fig = collapse_figure(df, metrics=["ctr", "coverage", "novelty"], hue="policy")
    assert [ax.get_label() for ax in metric_axes(fig)] == ["ctr", "coverage", "novelty"]
    assert len(fig.legends) == 1  # no free slot in a full row: the legend goes below


def test_collapse_figure_names_missing_columns():
    with pytest.raises(KeyError, match="no_such_metric"):
        collapse_figure(small_table(), metrics=["no_such_metric"])


# --------------------------------------------------------------------------- ablation figures

def per_seed_table():
    rows = []
    rng = np.random.default_rng(0)
    for family, lever, values in [("epsilon_greedy", "epsilon", [0.05, 0.2, 0.5]), ("ucb", "beta", [1.0, 4.0]),
                                  ("none", "epsilon", [0.1])]:
        for v in values:
            for seed in range(3):
                row = {"arm": family, "family": family, "epsilon": 0.1, "beta": 1.0, "seed": seed}
                row[lever] = v
                row.update({m: rng.normal() for m in METRIC_NAMES})
                rows.append(row)
    return pd.DataFrame(rows)


def test_lever_figure_has_a_panel_per_metric_and_arm_with_the_lever_values_as_ticks():
    df = per_seed_table()
    metrics = ["exposure_entropy", "ctr"]
    fig = lever_figure(df[df["arm"] != "none"], metrics, x={"epsilon_greedy": "epsilon", "ucb": "beta"},
                       col="family", baseline=df[df["arm"] == "none"], baseline_label="none (greedy)",
                       logx=["beta"])
    panels = {ax.get_label(): ax for ax in fig.axes}
    assert set(panels) == {f"{m}|{c}" for m in metrics for c in ("epsilon_greedy", "ucb")}
    ticks = [float(t.get_text()) for t in panels["ctr|epsilon_greedy"].get_xticklabels()]
    assert ticks == [0.05, 0.2, 0.5]
    assert panels["ctr|ucb"].get_xscale() == "log"
    assert "epsilon" in panels["ctr|epsilon_greedy"].get_xlabel()
    assert panels["exposure_entropy|epsilon_greedy"].get_ylabel().replace("\n", " ") == \
        metric_label("exposure_entropy")
    legend_texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert legend_texts == ["none (greedy)"]


def test_lever_figure_with_hue_names_each_line_and_wraps_panels():
    df = per_seed_table()
    df = df[df["family"] == "epsilon_greedy"].assign(strategy=lambda d: np.where(d["seed"] % 2, "a", "b"))
    fig = lever_figure(df, ["exposure_entropy", "coverage", "ctr"], x="epsilon", hue="strategy", ncols=2)
    assert [ax.get_label() for ax in fig.axes if ax.get_label()][:3] == \
        ["exposure_entropy|None", "coverage|None", "ctr|None"]
    assert sorted(t.get_text() for t in fig.legends[0].get_texts()) == ["a", "b"]
    assert fig.legends[0].get_title().get_text() == "strategy"


def test_lever_figure_names_missing_columns():
    with pytest.raises(KeyError, match="nope"):
        lever_figure(per_seed_table(), ["nope"], x="epsilon")


def test_tradeoff_figure_draws_every_setting_and_the_pareto_front_in_its_legend():
    summary = tables.summarize(per_seed_table(), ["ctr", "exposure_entropy"], by=["arm", "epsilon", "beta"])
    summary["setting"] = [f"{a} {e} {b}" for a, e, b in zip(summary["arm"], summary["epsilon"], summary["beta"])]
    front = stats.pareto_front(summary["ctr"], summary["exposure_entropy"])
    fig = tradeoff_figure(summary, front=front, baseline=summary["setting"].iloc[-1])
    ax = next(a for a in fig.axes if a.get_label() == "plane")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [*summary["setting"], "Pareto front"]
    assert ax.get_xlabel() == metric_label("ctr") and ax.get_ylabel() == metric_label("exposure_entropy")


def test_effects_figure_lists_each_setting_top_to_bottom():
    df = per_seed_table()
    effects = tables.effects(df, {"arm": "none"}, ["ctr", "exposure_entropy"], by=["arm", "epsilon", "beta"])
    effects["setting"] = [f"{a} {e} {b}" for a, e, b in zip(effects["arm"], effects["epsilon"], effects["beta"])]
    fig = effects_figure(effects, ["exposure_entropy", "ctr"])
    assert [ax.get_label() for ax in fig.axes] == ["exposure_entropy", "ctr"]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == list(effects["setting"])[::-1] or labels == list(effects["setting"])
