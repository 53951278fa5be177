"""labkit.sim.shard: one world split by users over 2 host devices gives the one-device world."""

import json
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from labkit.sim import shard
from labkit.sim.config import Config

# No new items: the gamma sampler of their Dirichlet draws is the largest part of a round's
# program, and the users are what is split (two compiles here: ~15 CPU s at the tests' O0).
WORLD = dict(n_users=30, n_items=60, initial_items=40, new_items=0, rounds=4, slate_size=4,
             recommender="content", drift=0.2)

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from labkit.sim.devices import use_host_devices
    assert use_host_devices(2) == 2
    import jax
    from labkit.sim import loop, shard
    from labkit.sim.config import Config
    config = Config.from_dict(json.loads(sys.argv[1]))
    key = jax.random.key(3)
    state, metrics = shard.simulate_sharded(config, key)
    one_state, one_metrics = loop.simulate(config, key)
    plan = shard.compile_sharded(config, key=key).memory_analysis()
    users_total, users_mine = shard.users_share(state, config.static)
    outputs = sum(leaf.nbytes for leaf in jax.tree.leaves((state, metrics)))
    arrays = {f"two:{k}": v for k, v in metrics.items()} | {f"one:{k}": v for k, v in one_metrics.items()}
    arrays |= {f"two_log:{k}": v for k, v in state.log._asdict().items() if v is not None}  # agent: None
    arrays |= {f"one_log:{k}": v for k, v in one_state.log._asdict().items() if v is not None}
    arrays |= {"two_log:history": state.history, "one_log:history": one_state.history}
    leaves = len(jax.tree.leaves((state, metrics)))
    arrays["sizes"] = np.array([users_total, users_mine, outputs, plan.output_size_in_bytes, leaves])
    arrays["specs"] = np.array([str(state.users.theta.sharding.spec), str(state.log.item.sharding.spec),
                                str(state.catalog.features.sharding.spec)])
    np.savez(sys.argv[2], **{k: np.asarray(v) for k, v in arrays.items()})
""")


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory):
    out = tmp_path_factory.mktemp("shard") / "shard.npz"
    subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(WORLD), str(out)], check=True, timeout=600)
    with np.load(out) as saved:
        return dict(saved)


def _split(saved, prefix):
    return {k[len(prefix):]: v for k, v in saved.items() if k.startswith(prefix)}


def test_a_world_split_over_two_host_devices_has_the_one_device_slates_and_clicks(two_devices):
    """The draws do not depend on the layout (partitionable threefry), so the log (the rounds it
    keeps) and the click history are the same bit for bit."""
    one, two = _split(two_devices, "one_log:"), _split(two_devices, "two_log:")
    assert one.keys() == two.keys() and one["item"].shape[1:] == (30, 4)
    for name in one:
        np.testing.assert_array_equal(two[name], one[name], err_msg=name)
    assert one["click"].any() and not one["click"].all()


def test_a_world_split_over_two_host_devices_has_the_one_device_metrics(two_devices):
    """Within 1e-5 relative: a sum over users is two partial sums and an all-reduce on 2 devices,
    rounded differently from one sum (seen: a few units in the last place, at most 3e-7
    relative, on entropies, utilities, diversity). Counts (coverage, CTR of 30 users) are exact."""
    one, two = _split(two_devices, "one:"), _split(two_devices, "two:")
    assert one.keys() == two.keys() and one["ctr"].shape == (4,)
    for name in one:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-5, atol=1e-7, err_msg=name)
    for name in ("ctr", "coverage", "cumulative_coverage", "alive_items"):
        np.testing.assert_array_equal(two[name], one[name], err_msg=name)


def test_the_users_axis_arrays_are_split_not_replicated(two_devices):
    """Tastes, the content recommender's per-user totals, the log and the history: each device
    holds half of them (the outputs' shards), and XLA's plan for a device's outputs is the whole
    state less that half: nothing with a users axis comes back replicated."""
    users_total, users_mine, outputs, plan_outputs, leaves = two_devices["sizes"]
    assert users_total > 0 and 2 * users_mine == users_total
    # the plan also holds the output tuple's table, one 8-byte pointer per leaf (seen: exactly that)
    assert outputs - users_total // 2 <= plan_outputs <= outputs - users_total // 2 + 8 * leaves
    theta, log_item, features = two_devices["specs"]
    assert "users" in theta and "users" in log_item and "users" not in features


def test_users_axes_are_read_off_the_state_shapes():
    axes = shard.users_axes(Config.from_dict(WORLD).static)
    assert axes.users.theta == 0 and axes.history == 0 and axes.log.item == 1
    assert axes.catalog.features == shard.NO_AXIS and axes.exposure == shard.NO_AXIS


def test_a_user_count_that_does_not_divide_over_the_devices_is_refused():
    config = Config.from_dict(WORLD, n_users=31)
    mesh = jax.sharding.Mesh(np.asarray(jax.local_devices() * 2), (shard.AXIS,))  # a device twice: never compiled
    with pytest.raises(ValueError, match=r"n_users \(31\) must be a multiple of the device count \(2\)"):
        shard.compile_sharded(config, mesh)


def test_a_device_count_beyond_the_local_devices_is_refused():
    with pytest.raises(ValueError, match="devices must be between 1 and the 1 local devices, got 3"):
        shard.users_mesh(3)
