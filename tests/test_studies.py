"""The study files experiments/*.yaml (they load at every scale and share their points),
the arm labels of labkit.experiments.study, and the point reuse of labkit.experiments.studies.
No simulation runs here."""

from pathlib import Path

import pytest

from labkit.experiments import load, read_yaml
from labkit.experiments.studies import reuse_points, sibling_results
from labkit.experiments.study import arm_families, setting_label, varied_levers
from labkit.experiments.sweep import point_path, sweep_points
from labkit.sim.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent
STUDY_FILES = ["exploration", "stochasticity", "data_separation", "capacity", "tradeoffs", "ecosystem"]
MITIGATION_FILES = ["exploration", "stochasticity", "data_separation"]


# --------------------------------------------------------------------------- reusing points

def test_reuse_points_copies_only_the_points_the_study_needs(tmp_path):
    exp = load(ROOT / "experiments" / "tradeoffs.yaml", scale="tiny")
    wanted = [p.config_hash for p in sweep_points(exp)]
    sibling = tmp_path / "02_exploration"
    for config_hash in [wanted[0], wanted[1], "0123456789abcdef"]:
        point_path(sibling, config_hash).parent.mkdir(parents=True, exist_ok=True)
        point_path(sibling, config_hash).write_bytes(config_hash.encode())
    out = tmp_path / "06_tradeoffs"
    assert sibling_results(out) == [sibling]
    assert reuse_points(exp, out, sibling_results(out)) == wanted[:2]
    assert sorted(p.stem for p in (out / "points").iterdir()) == sorted(wanted[:2])
    assert point_path(out, wanted[0]).read_bytes() == wanted[0].encode()
    assert reuse_points(exp, out, [sibling]) == []  # already there: nothing copied


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
    families = arm_families(exp)
    assert families["embedding_dim=64"] == "embedding_dim" and families["train_steps=30"] == "train_steps"
    assert varied_levers(exp) == {"embedding_dim": ["embedding_dim"], "train_steps": ["train_steps"]}
    exp = load(ROOT / "experiments" / "exploration.yaml", scale="tiny")
    assert varied_levers(exp)["epsilon_greedy"] == ["epsilon"]
    assert varied_levers(exp)["none"] == []


def test_setting_label_names_the_lever_values_but_not_the_policy():
    assert setting_label("epsilon_greedy", {"policy": "epsilon_greedy", "epsilon": 0.2}) == \
        "epsilon_greedy (epsilon=0.2)"
    assert setting_label("replace", {"data_strategy": "replace", "window": 5}) == "replace (window=5)"
    assert setting_label("none", {"policy": "greedy"}) == "none"


# --------------------------------------------------------------------------- changing a study as it loads

def test_load_writes_seeds_levers_and_conditions_into_the_study_before_resolving():
    exp = load(ROOT / "experiments" / "collapse.yaml", "tiny", seeds=3, levers={"rounds": 4},
               conditions={"ai_and_drift": {"synthetic_share": 0.5}})
    assert exp.seeds == (0, 1, 2) and exp.config.rounds == 4
    points = {p.arm: p.config for p in sweep_points(exp)}
    assert (points["ai_and_drift"].synthetic_share, points["ai_and_drift"].drift) == (0.5, 0.2)
    assert points["neither"].rounds == 4 and points["neither"].n_users == exp.config.n_users
    assert exp.conditions["ai_and_drift"].synthetic_share == 0.5


def test_load_with_no_changes_is_the_file_as_written():
    path = ROOT / "experiments" / "collapse.yaml"
    plain, same = load(path, "tiny"), load(path, "tiny", seeds=None, levers={}, conditions={})
    assert [p.config_hash for p in sweep_points(plain)] == [p.config_hash for p in sweep_points(same)]
    assert plain.seeds == same.seeds


def test_load_refuses_changes_the_file_could_not_say():
    path = ROOT / "experiments" / "collapse.yaml"
    with pytest.raises(ConfigError, match="'nope' is set but not defined"):
        load(path, "tiny", conditions={"nope": {"drift": 0.1}})
    with pytest.raises(ConfigError, match="synthetic_share"):
        load(path, "tiny", conditions={"neither": {"synthetic_share": 1.5}})
    with pytest.raises(ConfigError, match="seeds"):
        load(path, "tiny", seeds=0)
