"""The program that holds every policy as a runtime branch (``simulate_seeds(...,
policy_branches=True)``, what a sweep runs) gives the plain program's numbers bit for bit, and
configs that differ only in their policy share it."""

import jax
import numpy as np
import pytest

import labkit
from labkit import Config
from labkit.experiments.sweep import Point, point_groups
from labkit.sim import loop

WORLD = dict(n_users=12, n_items=24, initial_items=24, new_items=2, slate_size=4, rounds=5, n_pairs=8,
             recommender="popularity", synthetic_share=0.5, drift=0.2, epsilon=0.3, beta=2.0,
             temperature=0.5, mmr_lambda=0.5)
SEEDS = (0, 1)


def _same(a, b) -> bool:
    leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(leaves_a) == len(leaves_b) and all(
        np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True) for x, y in zip(leaves_a, leaves_b))


@pytest.mark.parametrize("policy", ["epsilon_greedy", "thompson", "mmr"])
def test_the_branched_program_gives_the_plain_programs_state_and_metrics_bit_for_bit(policy):
    """Three policies whose draws and slates differ in kind (exploration coins, Gaussian score
    noise, MMR's inner scan); a branch that ran another policy, or drew from another key, would
    change the slates and with them every metric."""
    config = Config.from_dict({**WORLD, "policy": policy})
    plain = jax.device_get(labkit.simulate_seeds(config, SEEDS))
    branched = jax.device_get(labkit.simulate_seeds(config, SEEDS, policy_branches=True))
    assert _same(plain, branched)
    other = jax.device_get(labkit.simulate_seeds(config.replace(policy="greedy"), SEEDS, policy_branches=True))
    assert not _same(plain, other)  # the index picks the branch: greedy shows other slates


def test_points_that_differ_only_in_their_policy_are_one_program_group():
    configs = [Config.from_dict({**WORLD, "policy": p}) for p in loop.POLICY_BRANCHES]
    configs.append(Config.from_dict({**WORLD, "policy": "ucb", "data_strategy": "replace"}))
    points = [Point(arm=c.policy, config=c, config_hash=c.hash(), levers={}) for c in configs]
    groups = point_groups(points)
    assert [len(g) for g in groups] == [len(loop.POLICY_BRANCHES), 1]  # another data strategy: its own program
    assert len({loop.branched(c)[0] for c in configs[:-1]}) == 1
    assert [int(loop.branched(c)[1]) for c in configs[:-1]] == list(range(len(loop.POLICY_BRANCHES)))


def test_the_score_function_path_refuses_a_branch():
    config = Config.from_dict({**WORLD, "policy": "softmax"})
    with pytest.raises(ValueError, match="branch= is for the exact loop"):
        jax.eval_shape(lambda k: loop._run(config.static, config.params, k, score=True, branch=np.int32(1)),
                       jax.random.key(0))
