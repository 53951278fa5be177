"""labkit.analysis.studies (late-round summaries, t intervals, paired effects, Pareto front, cost per
nat, point reuse), the study files experiments/*.yaml, and the ablation figures of
labkit.analysis.plots that draw them. No simulation runs here: tables are built by hand."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labkit import METRIC_NAMES
from labkit.analysis import studies
from labkit.experiments import load, read_yaml
from labkit.analysis.plots import effects_figure, lever_figure, metric_label, tradeoff_figure
from labkit.experiments.sweep import point_path, sweep_points

ROOT = Path(__file__).resolve().parent.parent
STUDY_FILES = ["exploration", "stochasticity", "data_separation", "capacity", "tradeoffs"]
MITIGATION_FILES = ["exploration", "stochasticity", "data_separation"]

# Two-sided 95% and 99% Student-t critical values (standard tables).
T_TABLE = {1: (12.706, 63.657), 2: (4.303, 9.925), 3: (3.182, 5.841), 4: (2.776, 4.604),
           5: (2.571, 4.032), 10: (2.228, 3.169), 30: (2.042, 2.750)}


def sweep_like(arms, seeds=(0, 1, 2), rounds=6, value=lambda arm, seed, round_: 0.0):
    """A table shaped like a sweep's: arm, config_hash, a lever, seed, round, every metric."""
    rows = []
    for arm, lever in arms:
        for seed in seeds:
            for r in range(rounds):
                row = {"study": "s", "arm": arm, "config_hash": f"h-{arm}", "epsilon": lever, "seed": seed,
                       "round": r}
                row.update({m: value(arm, seed, r) for m in METRIC_NAMES})
                row.update({"labkit_version": "0", "jax_version": "0", "git_commit": "c"})
                rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- statistics

@pytest.mark.parametrize("df", sorted(T_TABLE))
def test_t_critical_matches_the_tables(df):
    t95, t99 = T_TABLE[df]
    assert studies.t_critical(95, df) == pytest.approx(t95, abs=1e-3)
    assert studies.t_critical(99, df) == pytest.approx(t99, abs=1e-3)


def test_t_critical_refuses_a_level_or_df_out_of_range():
    with pytest.raises(ValueError, match="level"):
        studies.t_critical(100, 3)
    with pytest.raises(ValueError, match="df"):
        studies.t_critical(95, 0)


def test_mean_ci_is_mean_plus_minus_t_times_standard_error():
    values = [1.0, 2.0, 3.0, 4.0]
    mean, low, high = studies.mean_ci(values)
    half = 3.182446 * np.std(values, ddof=1) / 2
    assert (mean, low, high) == pytest.approx((2.5, 2.5 - half, 2.5 + half), abs=1e-5)


def test_mean_ci_of_one_value_has_no_interval_and_the_errorbar_draws_no_band():
    mean, low, high = studies.mean_ci([3.0])
    assert mean == 3.0 and math.isnan(low) and math.isnan(high)
    assert studies.ci_errorbar()([3.0]) == (3.0, 3.0)
    assert studies.ci_errorbar()([1.0, 2.0, 3.0, 4.0]) == pytest.approx(studies.mean_ci([1, 2, 3, 4])[1:])


# --------------------------------------------------------------------------- tables

@pytest.mark.parametrize("rounds,last,window", [(30, 10, 10), (60, 10, 10), (6, 10, 3), (1, 10, 1), (30, 5, 5)])
def test_late_window_is_last_rounds_at_most_half_the_run(rounds, last, window):
    assert studies.late_window(rounds, last) == window


def test_late_means_average_exactly_the_last_rounds_per_point_and_seed():
    table = sweep_like([("none", 0.1), ("eps", 0.5)], rounds=20,
                       value=lambda arm, seed, r: r + 100 * seed + (1000 if arm == "eps" else 0))
    per_seed = studies.late_means(table, last=4)
    assert per_seed.attrs["late_rounds"] == [16, 19]
    assert len(per_seed) == 2 * 3
    assert "round" not in per_seed and "labkit_version" not in per_seed
    row = per_seed[(per_seed["arm"] == "eps") & (per_seed["seed"] == 2)].iloc[0]
    assert row["ctr"] == pytest.approx(np.mean([16, 17, 18, 19]) + 200 + 1000)
    assert row["epsilon"] == 0.5


def test_summarize_gives_mean_and_t_interval_over_seeds_per_point():
    table = sweep_like([("a", 0.1)], seeds=(0, 1, 2, 3), rounds=2, value=lambda arm, seed, r: float(seed))
    summary = studies.summarize(studies.late_means(table), ["ctr"], by=["arm"])
    mean, low, high = studies.mean_ci([0, 1, 2, 3])
    assert summary.loc[0, ["ctr", "ctr_low", "ctr_high", "n_seeds"]].tolist() == pytest.approx([mean, low, high, 4])


def test_effects_pair_each_seed_with_the_baseline_of_the_same_seed():
    # The seed moves both arms alike; only the paired difference (exactly 0.5) is left.
    table = sweep_like([("none", 0.1), ("eps", 0.5)], seeds=(0, 1, 2, 3), rounds=2,
                       value=lambda arm, seed, r: 10.0 * seed + (0.5 if arm == "eps" else 0.0))
    effects = studies.effects(studies.late_means(table), {"arm": "none"}, ["ctr"], by=["arm"])
    assert effects["arm"].tolist() == ["eps"]
    assert effects.loc[0, ["ctr", "ctr_low", "ctr_high"]].tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_effects_match_a_baseline_per_value_of_a_column():
    rows = []
    for arm in ("accumulate", "human_only"):
        for share in (0.0, 0.8):
            for seed in (0, 1):
                rows.append({"arm": arm, "synthetic_share": share, "seed": seed,
                             "ctr": share + (1.0 if arm == "human_only" else 0.0) + seed})
    per_seed = pd.DataFrame(rows)
    effects = studies.effects(per_seed, {"arm": "accumulate"}, ["ctr"], match=["synthetic_share"],
                              by=["arm", "synthetic_share"])
    assert effects["ctr"].tolist() == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="several rows"):
        studies.effects(per_seed, {"arm": "accumulate"}, ["ctr"], by=["arm", "synthetic_share"])


def test_effects_say_which_baseline_is_missing():
    per_seed = pd.DataFrame({"arm": ["a", "b"], "seed": [0, 1], "ctr": [1.0, 2.0]})
    with pytest.raises(ValueError, match="no baseline rows"):
        studies.effects(per_seed, {"arm": "none"}, ["ctr"], by=["arm"])
    with pytest.raises(ValueError, match="seed 1"):
        studies.effects(per_seed, {"arm": "a"}, ["ctr"], by=["arm"])


def test_pareto_front_keeps_the_points_no_other_beats_on_both_axes():
    x = [0.9, 0.8, 0.7, 0.6, 0.8, np.nan]
    y = [3.0, 4.0, 5.0, 4.5, 3.5, 9.0]
    assert studies.pareto_front(x, y).tolist() == [True, True, True, False, False, False]
    assert studies.pareto_front([1.0, 1.0], [2.0, 2.0]).tolist() == [True, True]  # ties dominate neither


def test_cost_per_nat_is_ctr_lost_over_entropy_kept():
    def value(arm, seed, r):
        return 0.0

    table = sweep_like([("none", 0.1), ("eps", 0.5), ("worse", 0.9)], seeds=(0, 1, 2, 3), rounds=2, value=value)
    table.loc[table["arm"] == "eps", "exposure_entropy"] = 2.0 + 0.1 * table["seed"]
    table.loc[table["arm"] == "eps", "ctr"] = -0.1
    table.loc[table["arm"] == "worse", "exposure_entropy"] = -1.0
    costs = studies.cost_per_nat(studies.late_means(table), {"arm": "none"}, by=["arm"]).set_index("arm")
    assert costs.loc["eps", "kept"] == pytest.approx(2.15)
    assert costs.loc["eps", "lost"] == pytest.approx(0.1)
    assert costs.loc["eps", "cost"] == pytest.approx(0.1 / 2.15)
    assert costs.loc["eps", "cost_low"] <= costs.loc["eps", "cost"] <= costs.loc["eps", "cost_high"]
    assert math.isnan(costs.loc["worse", "cost"])  # keeps no entropy: no price


def test_ci_text_and_direction_read_an_interval():
    assert studies.ci_text(0.4213, 0.3, 0.55, 2, signed=True) == "+0.42 [+0.30, +0.55]"
    assert studies.ci_text(3.0, math.nan, math.nan, 1) == "3.0"
    assert studies.direction(0.1, 0.2) == "up"
    assert studies.direction(-0.2, -0.1) == "down"
    assert studies.direction(-0.1, 0.2) == "unclear"


def test_trend_says_rises_falls_or_mixed():
    frame = pd.DataFrame({"x": [3, 1, 2], "up": [3, 1, 2], "down": [1, 3, 2], "mixed": [1, 1, 2]})
    assert [studies.trend(frame, "x", c) for c in ("up", "down", "mixed")] == ["rises", "falls", "mixed"]


# --------------------------------------------------------------------------- paths and points

def test_repo_root_is_found_from_a_subfolder_and_resolve_uses_it(monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")
    assert studies.repo_root() == ROOT
    assert studies.resolve("results/x") == ROOT / "results" / "x"
    assert studies.resolve("/abs/x") == Path("/abs/x")


def test_repo_root_outside_a_repository_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="pyproject.toml"):
        studies.repo_root(tmp_path)


def test_reuse_points_copies_only_the_points_the_study_needs(tmp_path):
    exp = load(ROOT / "experiments" / "tradeoffs.yaml", scale="tiny")
    wanted = [p.config_hash for p in sweep_points(exp)]
    sibling = tmp_path / "02_exploration"
    for config_hash in [wanted[0], wanted[1], "0123456789abcdef"]:
        point_path(sibling, config_hash).parent.mkdir(parents=True, exist_ok=True)
        point_path(sibling, config_hash).write_bytes(config_hash.encode())
    out = tmp_path / "06_tradeoffs"
    assert studies.sibling_results(out) == [sibling]
    assert studies.reuse_points(exp, out, studies.sibling_results(out)) == wanted[:2]
    assert sorted(p.stem for p in (out / "points").iterdir()) == sorted(wanted[:2])
    assert point_path(out, wanted[0]).read_bytes() == wanted[0].encode()
    assert studies.reuse_points(exp, out, [sibling]) == []  # already there: nothing copied


# --------------------------------------------------------------------------- the study files

@pytest.mark.parametrize("name", STUDY_FILES)
@pytest.mark.parametrize("scale", ["tiny", "default", "paper"])
def test_every_study_file_loads_at_every_scale(name, scale):
    exp = load(ROOT / "experiments" / f"{name}.yaml", scale=scale)
    assert exp.name == name and exp.scale == scale
    assert len(sweep_points(exp)) >= 2


def test_the_studies_share_base_seeds_and_scales_so_points_are_shared():
    raw = {name: read_yaml(ROOT / "experiments" / f"{name}.yaml") for name in STUDY_FILES}
    first = raw[STUDY_FILES[0]]
    for name, study in raw.items():
        assert (study["base"], study["seeds"], study["scales"]) == (first["base"], first["seeds"], first["scales"]), \
            f"experiments/{name}.yaml: base, seeds or scales differ from {STUDY_FILES[0]}.yaml"


@pytest.mark.parametrize("scale", ["tiny", "default"])
def test_every_tradeoffs_setting_is_a_point_of_the_mitigation_studies(scale):
    studied = {p.config_hash for name in MITIGATION_FILES
               for p in sweep_points(load(ROOT / "experiments" / f"{name}.yaml", scale=scale))}
    for point in sweep_points(load(ROOT / "experiments" / "tradeoffs.yaml", scale=scale)):
        assert point.config_hash in studied, f"tradeoffs arm {point.arm!r} is not a point of 02-04 at {scale}"


@pytest.mark.parametrize("name", ["exploration", "stochasticity", "tradeoffs"])
def test_mitigation_studies_have_a_greedy_accumulate_baseline_named_none(name):
    exp = load(ROOT / "experiments" / f"{name}.yaml", scale="tiny")
    none = [p for p in sweep_points(exp) if p.arm == "none"]
    assert len(none) == 1
    assert (none[0].config.policy, none[0].config.data_strategy) == ("greedy", "accumulate")
    assert none[0].config.synthetic_share > 0 and none[0].config.drift > 0  # under pressure


def test_the_baseline_is_one_point_across_studies():
    hashes = set()
    for name, arm in [("exploration", "none"), ("stochasticity", "none"), ("tradeoffs", "none"),
                      ("data_separation", "accumulate")]:
        exp = load(ROOT / "experiments" / f"{name}.yaml", scale="default")
        hashes |= {p.config_hash for p in sweep_points(exp)
                   if p.arm == arm and p.config.synthetic_share == exp.config.synthetic_share}
    assert len(hashes) == 1


def test_arm_families_and_varied_levers_name_each_sweep():
    exp = load(ROOT / "experiments" / "capacity.yaml", scale="tiny")
    families = studies.arm_families(exp)
    assert families["embedding_dim=64"] == "embedding_dim" and families["train_steps=30"] == "train_steps"
    assert studies.varied_levers(exp) == {"embedding_dim": ["embedding_dim"], "train_steps": ["train_steps"]}
    exp = load(ROOT / "experiments" / "exploration.yaml", scale="tiny")
    assert studies.varied_levers(exp)["epsilon_greedy"] == ["epsilon"]
    assert studies.varied_levers(exp)["none"] == []


def test_setting_label_names_the_lever_values_but_not_the_policy():
    assert studies.setting_label("epsilon_greedy", {"policy": "epsilon_greedy", "epsilon": 0.2}) == \
        "epsilon_greedy (epsilon=0.2)"
    assert studies.setting_label("replace", {"data_strategy": "replace", "window": 5}) == "replace (window=5)"
    assert studies.setting_label("none", {"policy": "greedy"}) == "none"


# --------------------------------------------------------------------------- figures (labkit.analysis.plots)

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
    summary = studies.summarize(per_seed_table(), ["ctr", "exposure_entropy"], by=["arm", "epsilon", "beta"])
    summary["setting"] = [f"{a} {e} {b}" for a, e, b in zip(summary["arm"], summary["epsilon"], summary["beta"])]
    front = studies.pareto_front(summary["ctr"], summary["exposure_entropy"])
    fig = tradeoff_figure(summary, front=front, baseline=summary["setting"].iloc[-1])
    ax = next(a for a in fig.axes if a.get_label() == "plane")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [*summary["setting"], "Pareto front"]
    assert ax.get_xlabel() == metric_label("ctr") and ax.get_ylabel() == metric_label("exposure_entropy")


def test_effects_figure_lists_each_setting_top_to_bottom():
    df = per_seed_table()
    effects = studies.effects(df, {"arm": "none"}, ["ctr", "exposure_entropy"], by=["arm", "epsilon", "beta"])
    effects["setting"] = [f"{a} {e} {b}" for a, e, b in zip(effects["arm"], effects["epsilon"], effects["beta"])]
    fig = effects_figure(effects, ["exposure_entropy", "ctr"])
    assert [ax.get_label() for ax in fig.axes] == ["exposure_entropy", "ctr"]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == list(effects["setting"])[::-1] or labels == list(effects["setting"])
