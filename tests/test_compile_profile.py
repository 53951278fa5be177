"""scripts/compile_profile.py: its HLO op counter, and its phases trace at a tiny scale."""

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compile_profile.py"


@pytest.fixture(scope="module")
def compile_profile(monkeypatch_module):
    # the script refuses to run with a persistent cache configured (the suite has one)
    monkeypatch_module.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    spec = importlib.util.spec_from_file_location("compile_profile", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    before = jax.config.jax_enable_compilation_cache
    spec.loader.exec_module(module)
    jax.config.update("jax_enable_compilation_cache", before)  # the suite's setting back
    return module


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_op_count_counts_the_instructions_of_hlo_and_stablehlo(compile_profile):
    lowered = jax.jit(lambda x: jnp.sin(x) * 2.0 + 1.0).lower(jnp.ones(3))
    assert compile_profile.op_count(lowered.as_text()) >= 3
    hlo = "ENTRY %main {\n  %p = f32[3]{0} parameter(0)\n  ROOT %s = f32[3]{0} sine(%p)\n}\n"
    assert compile_profile.op_count(hlo) == 2


def test_every_phase_of_a_round_traces_at_tiny_scale(compile_profile):
    from labkit.experiments import load
    from labkit.sim import loop

    experiment = load(Path(__file__).resolve().parents[1] / "experiments" / "stochasticity.yaml", scale="tiny")
    config = experiment.config
    keys = loop.seed_keys(experiment.seeds)
    states = jax.eval_shape(jax.vmap(lambda k: loop.init_state(k, config.static, config.params)), keys)
    for name, fn in compile_profile.phase_programs(config).items():
        assert jax.eval_shape(jax.vmap(fn), states, keys) is not None, name
