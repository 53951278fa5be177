"""labkit.sim.devices: a grid spread across several local devices gives one device's numbers."""

import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from labkit.sim.devices import over_devices

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from labkit.sim.devices import use_host_devices
    n = use_host_devices(int(sys.argv[1]))
    import jax
    from labkit.sim import loop
    from labkit.sim.config import Config, params_grid
    assert len(jax.local_devices()) == n, (n, jax.local_devices())
    config = Config.from_dict(dict(n_users=30, n_items=60, initial_items=40, new_items=2, rounds=4,
                                   slate_size=4))
    points, _ = params_grid(config, {"drift": [0.0, 0.2, 0.4]})
    _, metrics = loop.simulate_grid(config, points, [0, 1])
    np.savez(sys.argv[2], **{k: np.asarray(v) for k, v in metrics.items()})
""")


def _grid_metrics(tmp_path, devices: int) -> dict[str, np.ndarray]:
    out = tmp_path / f"grid{devices}.npz"
    subprocess.run([sys.executable, "-c", SCRIPT, str(devices), str(out)], check=True, timeout=600)
    with np.load(out) as saved:
        return dict(saved)


def test_a_grid_split_over_two_host_devices_gives_the_one_device_numbers(tmp_path):
    """3 points on 2 CPU devices (padded to 4, the padding cut off): same metrics, to the last bit but
    one. Each device runs the program compiled for its own batch (2 points, not 3), and XLA may
    vectorize a division there as a reciprocal refined by Newton's method, which can differ from the
    correctly rounded quotient by one unit in the last place (seen on cumulative_coverage: 13/14 as
    0.92857140 on two devices, 0.92857146 on one). Nothing else may differ."""
    one, two = _grid_metrics(tmp_path, 1), _grid_metrics(tmp_path, 2)
    assert one.keys() == two.keys() and one["ctr"].shape == (3, 2, 4)
    for name in one:
        np.testing.assert_array_max_ulp(two[name], one[name], maxulp=1)
    assert any(not np.array_equal(one[name][0], one[name][2]) for name in one)  # the points differ


def test_over_devices_with_one_device_is_the_plain_call():
    calls = []

    def run(batched, shared):
        calls.append(batched.shape)
        return batched * shared

    out = over_devices(run, jax.numpy.arange(5.0), 2.0)
    np.testing.assert_array_equal(out, 2.0 * np.arange(5.0))
    assert calls == [(5,)] and len(jax.local_devices()) == 1


def test_use_host_devices_refuses_a_count_below_one():
    from labkit.sim.devices import use_host_devices

    with pytest.raises(ValueError, match="n must be >= 1"):
        use_host_devices(0)


def test_use_host_devices_once_the_backend_is_up_changes_nothing_and_says_so():
    from labkit.sim.devices import use_host_devices

    before = len(jax.local_devices())  # the backend is up (tests/conftest.py)
    assert use_host_devices(before + 1) == before == len(jax.local_devices())
