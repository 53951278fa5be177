"""Every param lever at both ends of its allowed range runs and gives finite metrics.

One lever at a time is pushed to the lowest and the highest value its registry entry
allows (a tiny positive value where the low end is open), under each policy or data
strategy that reads it, on a world where GenAI content and drift are on (so the
generator, the influence threshold and the users' choice all act). Each static config is
one compiled call over all its points and seeds; ``simulate_grid`` raises
``NumericalError`` on any NaN or inf in state or metrics, and the metrics are checked
again here. The compound case pushes the levers the issue names together: temperature
near 0 and very large, epsilon 0 and 1, share 0 and 1, drift 1.
"""

import jax
import numpy as np
import pytest

import labkit
from labkit import Config
from labkit.sim.config import LEVERS, PARAM_LEVERS

WORLD = dict(n_users=24, n_items=40, initial_items=30, new_items=4, slate_size=4, rounds=8, n_topics=4,
             n_creators=6, n_pairs=16, embedding_dim=4, train_steps=3, synthetic_share=0.5, drift=0.2)
SEEDS = [0, 1]

# The static configs under which a lever is read; every other lever acts in all of them.
READ_BY = {
    "temperature": [dict(policy="softmax")],
    "epsilon": [dict(policy="epsilon_greedy")],
    "beta": [dict(policy="ucb"), dict(policy="thompson")],
    "mmr_lambda": [dict(policy="mmr")],
    "synthetic_weight": [dict(data_strategy="downweight")],
    "reserve_share": [dict(data_strategy="reserve")],
    "generator_temperature": [dict(), dict(generator_objective="engagement")],
}
GROUPS = {}
for _lever in PARAM_LEVERS:
    for _static in READ_BY.get(_lever, [dict()]):
        GROUPS.setdefault(tuple(sorted(_static.items())), []).append(_lever)


def ends(lever: str) -> list[float]:
    """The lowest and highest values ``lever`` allows (1e-6 above an open low end)."""
    spec = LEVERS[lever]
    low = spec.low + (1e-6 if spec.low_open else 0.0)
    return [low, float(spec.high)]


def run_points(static: dict, points: list[dict]) -> dict[str, np.ndarray]:
    base = Config.from_dict({**WORLD, **static})
    params = jax.tree.map(lambda *xs: np.stack(xs), *[base.replace(**p).params for p in points])
    _, metrics = labkit.simulate_grid(base, params, SEEDS)  # raises NumericalError on NaN/inf
    return jax.device_get(metrics)


def test_every_param_lever_is_pushed_to_its_ends_somewhere():
    assert sorted(lever for levers in GROUPS.values() for lever in levers) == sorted(
        lever for lever in PARAM_LEVERS for _ in READ_BY.get(lever, [dict()]))
    assert set(PARAM_LEVERS) <= {lever for levers in GROUPS.values() for lever in levers}


@pytest.mark.parametrize("static", list(GROUPS), ids=lambda s: "+".join(f"{k}={v}" for k, v in s) or "greedy")
def test_each_lever_at_both_ends_gives_finite_metrics(static):
    levers = GROUPS[static]
    points = [{lever: value} for lever in levers for value in ends(lever)]
    metrics = run_points(dict(static), points)
    for name, values in metrics.items():
        assert values.shape == (len(points), len(SEEDS), WORLD["rounds"]), name
        bad = ~np.isfinite(values).all(axis=(1, 2))
        assert not bad.any(), f"{name} not finite at {[p for p, b in zip(points, bad) if b]}"
    # the ends differ: a lever that is read changes something somewhere in the run
    for i, lever in enumerate(levers):
        low, high = 2 * i, 2 * i + 1
        assert any(not np.array_equal(values[low], values[high]) for values in metrics.values()), lever


@pytest.mark.parametrize("policy, lever, values", [
    ("softmax", "temperature", [0.0, 1e-6, 1e6]),
    ("epsilon_greedy", "epsilon", [0.0, 1.0]),
])
def test_named_extremes_together_with_share_and_drift_at_their_ends(policy, lever, values):
    points = [{lever: v, "synthetic_share": share, "drift": 1.0} for v in values for share in (0.0, 1.0)]
    metrics = run_points(dict(policy=policy), points)
    for name, arr in metrics.items():
        assert np.isfinite(arr).all(), name
    ctr = metrics["ctr"]
    assert ((ctr >= 0) & (ctr <= 1)).all()
