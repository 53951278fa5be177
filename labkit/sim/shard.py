"""One world split by users over several local devices: a world larger than one device.

:func:`labkit.simulate_grid` spreads whole worlds (grid points) over the local devices
(:mod:`labkit.sim.devices`); :func:`simulate_sharded` spreads *one* world. Every part of
the loop's state with a users axis (tastes, the recommender's per-user state, the
interaction log, the click history) is cut along that axis into one contiguous share of
users per device; the catalog, the creators, the GenAI and the running totals are
replicated. The loop itself is unchanged: the program is ``labkit.simulate``'s, compiled
with jax's sharding (``NamedSharding`` over a one-axis ``Mesh`` named ``users``, jit's
``out_shardings`` and ``with_sharding_constraint`` on the state each round) and XLA's
partitioner inserts the collectives. Which axis of which leaf is the users axis is read
off the state's shapes (:func:`users_axes`: the axes that change with ``n_users``), so a
new per-user field is split without being listed here.

What crosses devices each round (the compiled program's collectives, on 2 host devices):

* all-reduces of the sums over users: the round's exposure and click counts, the
  GenAI's refit, the running training totals, every metric's sums, the finite guards;
* homogenization's user pairs (``n_pairs`` pairs of click histories, gathered);
* when a world has several scoring blocks (``n_users > block_users``), each block's
  users' rows (tastes, the recommender's user state) are gathered to every device
  (one all-reduce of ``block_users x topics`` a block) and each device scores the whole
  block: the scoring's memory stays one block per device, but its arithmetic is not
  split. The rank (``lax.top_k``, a ``TopK`` custom call on the CPU that XLA's
  partitioner does not split) all-gathers its ``block_users x n_items`` input; with one
  block holding every user (``block_users >= n_users``) that is the whole score matrix
  on every device, so keep several blocks per device;
* at the start, the gamma sampler behind users' Dirichlet tastes all-gathers its
  rejection loop's ``users x topics`` draws (once, not per round).

Numbers. The draws are the same on any number of devices (jax's partitionable threefry,
``jax_threefry_partitionable``, on by default), so the slates, clicks and log are those of
the unsharded world. A sum over users becomes a sum of per-device partial sums, which
rounds differently: metrics that sum floats over users agree with one device to a few
units in the last place (a relative 1e-5 bounds them in tests/test_shard.py); counts are
exact. A float difference can, in principle, tip a later tie (a GenAI refit moving a new
item by one ulp, a slate changing), after which the runs part; the test checks slates
and log bit for bit on its world.

Memory: each device holds ``1/n`` of the users-axis arrays and all of the rest, so a
world whose log dominates needs about ``1/n`` per device (docs/scale-out.md has the
measured curve). On a CPU the host devices share one memory: splitting the host
(:func:`labkit.sim.devices.use_host_devices`) checks the layout, it does not add memory.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from labkit.sim import loop
from labkit.sim import memory
from labkit.sim.config import Config, Params, Static
from labkit.sim.prng import unrolled_threefry

AXIS = "users"  # the mesh axis the users are split along
NO_AXIS = -1  # a leaf without a users axis (replicated)


@lru_cache(maxsize=64)
def users_axes(static: Static) -> loop.State:
    """For each leaf of the loop's state, the axis that holds users (``NO_AXIS``: none).

    Read off the shapes: the axis whose length changes when ``n_users`` does
    (``jax.eval_shape`` at two user counts; nothing is computed).
    """
    here = loop.state_shape(static)
    there = loop.state_shape(dataclasses.replace(static, n_users=2 * static.n_users + 1))

    def axis(a, b) -> int:
        moved = [i for i, (m, n) in enumerate(zip(a.shape, b.shape)) if m != n]
        if len(moved) > 1:
            raise ValueError(f"users_axes: a state leaf of shape {a.shape} has {len(moved)} users axes")
        return moved[0] if moved else NO_AXIS

    return jax.tree.map(axis, here, there)


def users_mesh(devices: int | Sequence[Any] | Mesh | None = None) -> Mesh:
    """A one-axis mesh named ``users``: over every local device (None), the first ``n``,
    the devices given, or ``devices`` itself when it is already a mesh with that axis."""
    if isinstance(devices, Mesh):
        if AXIS not in devices.axis_names:
            raise ValueError(f"users_mesh: the mesh needs an axis named {AXIS!r}; it has {devices.axis_names}")
        return devices
    local = jax.local_devices()
    if devices is None:
        chosen = local
    elif isinstance(devices, int):
        if not 1 <= devices <= len(local):
            raise ValueError(f"simulate_sharded: devices must be between 1 and the {len(local)} local devices, "
                             f"got {devices}")
        chosen = local[:devices]
    else:
        chosen = list(devices)
    return Mesh(np.asarray(chosen), (AXIS,))


def state_shardings(static: Static, mesh: Mesh) -> loop.State:
    """The state's layout on ``mesh``: users axes split along ``users``, the rest replicated."""
    def sharding(axis: int, leaf) -> NamedSharding:
        if axis == NO_AXIS:
            return NamedSharding(mesh, P())
        spec = [None] * len(leaf.shape)
        spec[axis] = AXIS
        return NamedSharding(mesh, P(*spec))

    return jax.tree.map(sharding, users_axes(static), loop.state_shape(static))


def _program(static: Static, mesh: Mesh):
    layout = state_shardings(static, mesh)
    replicated = NamedSharding(mesh, P())

    def constrain(state: loop.State) -> loop.State:
        return jax.lax.with_sharding_constraint(state, layout)

    def run(params: Params, key: jax.Array):  # labkit.sim.loop._run, the state held in its layout
        k_init, k_rounds = jax.random.split(key)
        state = constrain(loop.init_state(k_init, static, params))

        def body(state, round_key):
            state, metrics = loop.step(static, params, state, round_key)
            return constrain(state), metrics

        return jax.lax.scan(body, state, jax.random.split(k_rounds, static.rounds))

    return jax.jit(run, in_shardings=(replicated, replicated), out_shardings=(layout, replicated))


@lru_cache(maxsize=16)
def _compiled(static: Static, mesh: Mesh, params_shape: Any):
    with unrolled_threefry():  # labkit's programs only: see labkit.sim.prng
        return _program(static, mesh).lower(*params_shape).compile()


def compile_sharded(config: Config, devices: int | Sequence[Any] | Mesh | None = None, key: jax.Array | None = None):
    """The compiled program of :func:`simulate_sharded` (cached per static config, mesh and
    key type): call it as ``compiled(params, key)``; its ``memory_analysis()`` is per device."""
    mesh = users_mesh(devices)
    n_dev = mesh.devices.size
    if config.static.n_users % n_dev:
        raise ValueError(f"simulate_sharded: n_users ({config.static.n_users}) must be a multiple of the "
                         f"device count ({n_dev}); allowed: a multiple, or fewer devices")
    shapes = (jax.tree.map(lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)), config.params),
              jax.ShapeDtypeStruct(jnp.shape(key), key.dtype) if key is not None
              else jax.ShapeDtypeStruct((), jax.random.key(0).dtype))
    return _compiled(config.static, mesh, shapes)


def device_bytes(compiled) -> int:
    """What a compiled program asks of each device: arguments + outputs + temporaries, less aliasing."""
    plan = compiled.memory_analysis()
    return int(plan.argument_size_in_bytes + plan.output_size_in_bytes + plan.temp_size_in_bytes
               - plan.alias_size_in_bytes)


def check_device_memory(compiled, mesh: Mesh, where: str) -> None:
    """Refuse (:class:`labkit.sim.memory.WorldTooLarge`) a program whose per-device plan
    exceeds a device's free memory (host devices share one memory: all of them count)."""
    if not memory.enabled():
        return
    device = mesh.devices.flat[0]
    free = memory.free_memory(device)
    per_device = device_bytes(compiled)
    need = per_device * (mesh.devices.size if device.platform == "cpu" else 1)
    if free is None or need <= free.bytes:
        return
    share = "on the host's devices together" if device.platform == "cpu" else "per device"
    raise memory.WorldTooLarge(
        f"{where}: needs about {memory.gib(need)} {share} (XLA's plan over {mesh.devices.size} devices), "
        f"but {memory.gib(free.bytes)} is {free.what}; to fit: more devices, fewer users or rounds; "
        f"--no-memory-check or LABKIT_MEMORY_CHECK=0 runs it anyway")


def simulate_sharded(config: Config, key: jax.Array, devices: int | Sequence[Any] | Mesh | None = None,
                     memory_check: bool = True) -> tuple[loop.State, dict[str, jax.Array]]:
    """Run one world, its users split over ``devices`` (default: every local device).

    The same world as ``labkit.simulate(config, key)``: same draws, same slates and log;
    metrics equal up to the rounding of sums over users split across devices (see the
    module docstring). ``devices``: a count (the first ``n`` local devices), a list of
    devices, or a :class:`jax.sharding.Mesh` with an axis named ``users``. ``n_users``
    must be a multiple of the device count. The final state comes back split the same
    way (``state.log.item.sharding``); the metrics are replicated, one value per round,
    with the ``finite:*`` guards (:func:`labkit.sim.loop.check_finite` reads them).
    The compiled program's per-device plan is checked against free memory before it runs
    (``memory_check=False`` skips it).
    """
    mesh = users_mesh(devices)
    compiled = compile_sharded(config, mesh, key)
    if memory_check:
        s = config.static
        check_device_memory(compiled, mesh, f"{s.n_users} users x {s.n_items} items x {s.rounds} rounds "
                                            f"({s.recommender}) over {mesh.devices.size} devices")
    return compiled(config.params, key)


def users_share(state: loop.State, static: Static) -> tuple[int, int]:
    """Bytes of the users-axis leaves of ``state``: in all, and on its first device (a check that they are split)."""
    total = mine = 0
    for axis, leaf in zip(jax.tree.leaves(users_axes(static)), jax.tree.leaves(state)):
        if axis != NO_AXIS:
            total += leaf.nbytes
            mine += leaf.addressable_shards[0].data.nbytes
    return total, mine
