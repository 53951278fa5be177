"""Running a grid of worlds across every local device: several GPUs, or a CPU split in parts.

:func:`labkit.simulate_grid` vmaps one world over grid points and seeds. With more than
one local jax device, :func:`over_devices` splits the points along their axis with
``shard_map``: each device runs its share as one vmapped program (tests/test_devices.py
checks the numbers against one device). A point's numbers inside a vmapped batch may
differ from the same point alone by float rounding (see :mod:`labkit.experiments.sweep`), so
:func:`labkit.simulate_seeds`, which the cached sweeps use, is left on one device.

On a CPU, jax makes one device of the whole host, and a vmapped batch of small worlds
then keeps about 1.5 of this machine's 2 cores busy: XLA:CPU runs ``lax.top_k``, sorts
and the gamma sampler's loops on one thread. :func:`use_host_devices` splits the host
into ``n`` CPU devices instead (jax's ``jax_num_cpu_devices``; NumPyro's
``set_host_device_count`` does the same for parallel chains), so ``n`` shares of the
grid run side by side. It must run before jax starts its backend: ``labkit bench``
calls it first thing (``--host-devices``); in a notebook, call it right after the
imports. One world alone (``labkit.simulate``) runs on the first device as before.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np


def use_host_devices(n: int | None = None) -> int:
    """Make jax show this host's CPU as ``n`` devices (default: one per core); returns ``n``.

    Only possible before jax initializes its backends (before any array is made). Later,
    or where the backend is a GPU, nothing changes and the count already in use is
    returned; :func:`over_devices` uses whatever devices there are.
    """
    n = int(n if n is not None else (os.cpu_count() or 1))
    if n < 1:
        raise ValueError(f"use_host_devices: n must be >= 1, got {n}")
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError:  # the backend is already up
        return len(jax.local_devices())
    except AttributeError:  # a jax without the option (< 0.4.38): XLA's flag, read at backend start
        flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
                 if not f.startswith("--xla_force_host_platform_device_count")]
        os.environ["XLA_FLAGS"] = " ".join(flags + [f"--xla_force_host_platform_device_count={n}"])
        return len(jax.local_devices())
    return n


def _shard_map(fn: Callable, mesh, in_specs, out_specs) -> Callable:
    if hasattr(jax, "shard_map"):
        return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)
    from jax.experimental.shard_map import shard_map  # jax < 0.6

    return shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_rep=False)


def devices_for(n: int) -> int:
    """How many local devices :func:`over_devices` splits a batch of ``n`` over (1: none)."""
    return max(1, min(len(jax.local_devices()), n))


def over_devices(run: Callable[[Any, Any], Any], batched: Any, shared: Any) -> Any:
    """``run(batched, shared)``, with the leading axis of every leaf of ``batched`` split
    across the local devices (``shared`` goes whole to each).

    ``run`` must treat the entries of that axis independently (a vmap), and its outputs
    must all carry the axis first. The axis is padded to a multiple of the device count
    by repeating its last entry, and the padding is cut off the outputs. With one device,
    or a batch of one, this is ``run(batched, shared)``.
    """
    n = jax.tree.leaves(batched)[0].shape[0]
    n_dev = devices_for(n)
    if n_dev < 2:
        return run(batched, shared)
    from jax.sharding import Mesh, PartitionSpec as P

    padded = -(-n // n_dev) * n_dev
    if padded > n:
        take = jnp.minimum(jnp.arange(padded), n - 1)
        batched = jax.tree.map(lambda leaf: leaf[take], batched)
    mesh = Mesh(np.asarray(jax.local_devices()[:n_dev]), ("worlds",))
    out = _shard_map(run, mesh, (P("worlds"), P()), P("worlds"))(batched, shared)
    return jax.tree.map(lambda leaf: leaf[:n], out)
