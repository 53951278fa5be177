"""Config validation: every bad value is refused with a message naming key and allowed values."""

import pytest

from labkit.sim.config import (LEVERS, PARAM_LEVERS, STATIC_LEVERS, Config, ConfigError, Params, Static,
                           describe_levers, field_names, params_grid)
from labkit.experiments import load, resolve


def test_registry_matches_static_and_params_fields():
    assert field_names(Static) == STATIC_LEVERS
    assert field_names(Params) == PARAM_LEVERS


def test_defaults_validate_and_every_lever_has_a_doc():
    config = Config.from_dict()
    assert config.to_dict() == {name: lever.default for name, lever in LEVERS.items()}
    assert all(lever.doc for lever in LEVERS.values())
    assert all(name in describe_levers() for name in LEVERS)


def test_unknown_key_is_named_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"unknown key 'synthetic_shar'.*did you mean synthetic_share"):
        Config.from_dict({"synthetic_shar": 0.5})


@pytest.mark.parametrize("key, value, fragment", [
    ("synthetic_share", 1.5, r"synthetic_share = 1.5 is above the range; allowed: float in \[0, 1\]"),
    ("synthetic_share", "half", r"synthetic_share = 'half' has type str"),
    ("n_users", 0, r"n_users = 0 is below the range"),
    ("n_users", 2.5, r"n_users = 2.5 is not a whole number"),
    ("generator_temperature", 0.0, r"generator_temperature = 0.0 is below the range; allowed: float in \(0"),
    ("temperature", -1.0, r"temperature = -1.0 is below the range"),
    ("recommender", "svd", r"recommender = 'svd' is not a known choice; allowed: one of 'random'"),
    ("drift", True, r"drift = True has type bool"),
    ("drift", float("nan"), r"drift = nan is not finite"),
])
def test_bad_values_are_refused_naming_key_value_and_range(key, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Config.from_dict({key: value})


def test_slate_larger_than_catalog_is_refused():
    with pytest.raises(ConfigError, match=r"slate_size = 50 exceeds the items alive at the start"):
        Config.from_dict(slate_size=50, initial_items=20)
    with pytest.raises(ConfigError, match=r"initial_items = 900 exceeds the catalog capacity"):
        Config.from_dict(initial_items=900, n_items=500)


def test_whole_floats_are_accepted_as_ints_and_ints_as_floats():
    config = Config.from_dict(n_users=100.0, drift=1)
    assert config.n_users == 100 and isinstance(config.n_users, int)
    assert config.drift == 1.0 and isinstance(config.drift, float)


def test_hash_depends_on_values_only():
    a = Config.from_dict(drift=0.1)
    assert a.hash() == Config.from_dict({"drift": 0.1}).hash()
    assert a.hash() != Config.from_dict(drift=0.2).hash()


def test_params_grid_stacks_points_and_refuses_static_levers():
    params, points = params_grid(Config.from_dict(), {"epsilon": [0.0, 0.5], "drift": [0.1, 0.2, 0.3]})
    assert params.epsilon.shape == (6,) and params.drift.shape == (6,)
    assert points[1] == {"epsilon": 0.0, "drift": 0.2}
    with pytest.raises(ConfigError, match="n_users is a static lever"):
        params_grid(Config.from_dict(), {"n_users": [10, 20]})
    with pytest.raises(ConfigError, match="epsilon must be a non-empty list"):
        params_grid(Config.from_dict(), {"epsilon": 0.3})


def test_study_file_resolves_scale_and_conditions():
    exp = load("experiments/collapse.yaml", scale="tiny")
    assert exp.config.n_users == 30 and exp.seeds == (0, 1)
    assert set(exp.conditions) == {"ai_and_drift", "neither"}
    assert exp.conditions["neither"].synthetic_share == 0.0
    assert exp.conditions["ai_and_drift"].n_users == 30  # the scale reaches every condition


def test_study_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"scale = 'huge' is not defined; allowed: 'tiny'"):
        resolve({"base": {}, "scales": {"tiny": {}}}, "huge")
    with pytest.raises(ConfigError, match=r"unknown key 'grdi'"):
        resolve({"base": {}, "grdi": {}})
    with pytest.raises(ConfigError, match=r"conditions.a.*unknown key 'drfit'"):
        resolve({"base": {}, "conditions": {"a": {"drfit": 0.1}}})
    with pytest.raises(ConfigError, match=r"seeds = 0"):
        resolve({"seeds": 0})


def test_yaml_is_read_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("n_users: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(evil)
