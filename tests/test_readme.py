"""The README's "Extending labkit" examples run as written: each new piece is one value in
one module, and a config can then name it."""

import re
from pathlib import Path

import jax
import numpy as np
import pytest

import labkit
from labkit.sim import data, measure, policies
from labkit.sim.config import Config

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SECTION = README[README.index("### Extending labkit"):README.index("### Notebooks")]
BLOCKS = re.findall(r"```python\n(.*?)```", SECTION, flags=re.S)
WORLD = dict(n_users=6, n_items=12, initial_items=10, new_items=2, slate_size=3, rounds=3, n_topics=3,
             n_creators=2, n_pairs=3, recommender="content")


@pytest.fixture
def registries():
    """Put back the registries the examples add to."""
    saved = [(registry, dict(registry)) for registry in (policies.POLICIES, data.STRATEGIES, measure.METRICS)]
    yield
    for registry, content in saved:
        registry.clear()
        registry.update(content)


def run_in(module, block):
    exec(compile(block, f"README ({module.__name__})", "exec"), vars(module))


def test_the_readme_walks_through_a_policy_a_strategy_a_metric_and_a_lever():
    assert len(BLOCKS) == 4


def test_the_readme_policy_strategy_and_metric_run_in_their_modules(registries):
    run_in(policies, BLOCKS[0])
    run_in(data, BLOCKS[1])
    run_in(measure, BLOCKS[2])
    config = Config.from_dict(WORLD, policy="tempered_greedy", data_strategy="recent_human", temperature=0.5)
    _, metrics = labkit.simulate(config, jax.random.key(0))
    assert np.isfinite(np.asarray(metrics["slate_synthetic_max"])).all()
