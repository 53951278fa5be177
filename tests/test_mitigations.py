"""Each mitigation lever moves a tiny world the way it should, by a margin a broken lever would miss.

One compiled call per policy or data strategy: the lever values of a test run together
under ``jax.vmap`` (``labkit.simulate_grid``), over several seeds.
"""

import jax
import numpy as np
import pytest

import labkit
from labkit import Config, params_grid
WORLD = dict(n_users=60, n_items=120, initial_items=80, new_items=4, slate_size=5, rounds=15,
             n_topics=6, n_creators=12, n_pairs=64, embedding_dim=8, train_steps=5)
SEEDS = [0, 1, 2, 3]
LATE = slice(-5, None)  # the last five rounds


def sweep(grid, seeds=SEEDS, **levers):
    """Metrics of a grid of param levers: dict of arrays [points, seeds, rounds]."""
    config = Config.from_dict({**WORLD, **levers})
    params, _ = params_grid(config, grid)
    _, metrics = labkit.simulate_grid(config, params, seeds)
    return jax.device_get(metrics)


def late(metrics, name):
    """Per-point mean of a metric over seeds and the last rounds."""
    return metrics[name][:, :, LATE].mean(axis=(1, 2))


@pytest.fixture(scope="module")
def greedy_grid():
    # point 0: neither lever; 1: GenAI content and drift; 2, 3: novelty reward
    config = Config.from_dict(WORLD, generator_temperature=0.3)
    points = [dict(), dict(synthetic_share=0.8, drift=0.2), dict(novelty_weight=0.5), dict(novelty_weight=1.0)]
    configs = [config.replace(**p) for p in points]
    params = jax.tree.map(lambda *xs: np.stack(xs), *[c.params for c in configs])
    _, metrics = labkit.simulate_grid(config, params, SEEDS)
    return jax.device_get(metrics)


def test_higher_temperature_raises_exposure_entropy_and_coverage():
    metrics = sweep({"temperature": [0.0, 3.0]}, policy="softmax")
    entropy, coverage = late(metrics, "exposure_entropy"), late(metrics, "coverage")
    assert entropy[1] > entropy[0] + 0.3, entropy
    assert coverage[1] > coverage[0] + 0.15, coverage


def test_zero_temperature_world_equals_the_greedy_world(greedy_grid):
    metrics = sweep({"temperature": [0.0]}, policy="softmax", generator_temperature=0.3)
    for name in ("exposure_entropy", "ctr", "coverage"):
        np.testing.assert_array_equal(metrics[name][0], greedy_grid[name][0], err_msg=name)


def test_higher_epsilon_raises_exposure_entropy_and_coverage():
    metrics = sweep({"epsilon": [0.0, 0.5]}, policy="epsilon_greedy")
    entropy, coverage = late(metrics, "exposure_entropy"), late(metrics, "coverage")
    assert entropy[1] > entropy[0] + 0.3, entropy
    assert coverage[1] > coverage[0] + 0.15, coverage


def test_novelty_reward_raises_long_tail_share(greedy_grid):
    tail = late(greedy_grid, "long_tail_share")
    assert tail[2] > tail[0] + 0.05 and tail[3] > tail[0] + 0.05, tail


def test_genai_content_and_drift_lose_more_topic_entropy_than_neither(greedy_grid):
    entropy = greedy_grid["exposure_topic_entropy"]
    lost = entropy[:, :, :3].mean(axis=(1, 2)) - entropy[:, :, LATE].mean(axis=(1, 2))
    assert lost[1] > lost[0] + 0.1, lost
    # ...while the dashboard metric holds up: CTR does not fall
    ctr = late(greedy_grid, "ctr")
    assert ctr[1] >= ctr[0] - 0.02, ctr


def test_human_only_training_keeps_more_topic_entropy_than_accumulate():
    # the separation pays off as AI-influenced rows pile up: a longer run, more seeds
    heavy = dict(synthetic_share=0.9, drift=0.2, generator_temperature=0.3, rounds=25)
    kept = {strategy: sweep({"synthetic_share": [0.9]}, seeds=range(6), data_strategy=strategy, **heavy)
            for strategy in ("accumulate", "human_only")}
    for name in ("exposure_topic_entropy", "user_taste_entropy"):
        assert late(kept["human_only"], name)[0] > late(kept["accumulate"], name)[0] + 0.08, name
    assert late(kept["human_only"], "training_ai_share")[0] == 0.0
    assert late(kept["accumulate"], "training_ai_share")[0] > 0.5


def test_downweight_to_zero_is_human_only_and_to_one_is_accumulate():
    heavy = dict(synthetic_share=0.9, drift=0.2, rounds=25)
    down = sweep({"synthetic_weight": [0.0, 1.0]}, data_strategy="downweight", **heavy)
    only = sweep({"synthetic_weight": [0.0]}, data_strategy="human_only", **heavy)
    # the same world; two compiled programs may differ in the last float bit only
    np.testing.assert_allclose(down["exposure_topic_entropy"][0], only["exposure_topic_entropy"][0], rtol=1e-5)
    assert late(down, "training_ai_share")[0] == 0.0
    assert late(down, "training_ai_share")[1] > 0.5


def test_extreme_lever_grid_runs_in_one_call_with_finite_metrics():
    grid = {"temperature": [1e-6, 1e3], "epsilon": [0.0, 1.0], "novelty_weight": [0.0, 5.0],
            "synthetic_share": [0.0, 1.0], "drift": [0.0, 1.0], "generator_temperature": [0.01, 10.0]}
    metrics = sweep(grid, seeds=SEEDS[:1], policy="softmax")  # finiteness: one seed of each of the 64 corners
    for name, values in metrics.items():
        assert values.shape == (2 ** 6, 1, WORLD["rounds"]), name
        assert np.isfinite(values).all(), name
