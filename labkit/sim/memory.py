"""How much memory a world needs, judged before it runs: refuse what cannot fit.

:func:`estimate` adds up a world's peak memory from its shapes alone, with no compile
and no compute:

* ``state``: what the loop carries (catalog, users, recommender, generator, totals),
  sized exactly from the abstract state (``jax.eval_shape`` of the loop's ``init_state``),
  plus the metric series the run returns;
* ``log``: the interaction log (its ring's rounds x ``users x slate_size`` impressions,
  11 bytes each with their provenance bits, 12 with the AI-assisted flag under
  ``assisted_share > 0``, and a byte or two per user-round: the influence flag, and the
  agent flag under ``agent_share > 0``; the ring holds what the run reads,
  :func:`labkit.sim.capacity.log_rounds`) and the click history (``users x rounds``), from
  the same abstract state: the part that may grow with the run's length;
* ``scoring blocks``: one ``block_users x n_items`` score matrix and the policy's work on
  it (the recommender scores users block by block), plus what ``consumption = once``
  reads of the log while scoring;
* ``retraining``: what the recommender reads of the log each round (``mf`` with
  ``mf_training = full``: every logged impression with its user and item embeddings and
  their gradients; ``content``: the clicked impressions when catalog slots are reused);
* ``logging``: the log's fields XLA copies while a round is written into it (its slot
  and click fields, 9 bytes an impression);
* ``round``: the round's own arrays (slates, clicks, tastes, per ``users x slate_size``).

Scoring, retraining and logging are phases of a round, one after the other, so the peak
holds the largest of the three, not all. The whole is multiplied by the worlds held at once
(seeds vmapped, grid points on one device). The constants below were fitted to
``memory_analysis()`` of compiled programs at small sizes (XLA's own buffer assignment:
temporaries + arguments + outputs; docs/scale-out.md lists the figures, and
tests/test_memory.py holds two worlds to 30%).

:func:`check` compares the estimate with what the device has free (a GPU's
``memory_stats()``; for the CPU, the host's ``MemAvailable`` and the container's memory
limit) and raises :class:`WorldTooLarge` (a :class:`ConfigError`, so the ``labkit``
commands print it as one line and exit 2) naming the estimate, the memory free, the
part that dominates and what would make it fit. The check is skipped with
``memory_check=False`` (the Python API), ``--no-memory-check`` (the commands), or the
environment variable ``LABKIT_MEMORY_CHECK=0``.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
from typing import Any, Iterator, NamedTuple

import jax

from labkit.sim.levers import ConfigError

SWITCH_VARIABLE = "LABKIT_MEMORY_CHECK"  # 0 / off / false / no: skip the check

# Fitted to memory_analysis() at small sizes (see the module docstring).
# block x items 4-byte matrices alive while a block is scored and ranked, by policy (greedy:
# the scores and top-k's sort indices; sampling policies add their noise; unmeasured ones: 4)
SCORE_COPIES = {"greedy": 2.0, "softmax": 4.0, "mmr": 4.3}
ONCE_BYTES = 12  # per user and logged round: consumption = once's consumed items and masks
MF_ROW_BYTES = 18  # per training row of mf full: user, item, click, weight, provenance
MF_ROW_DIMS = 3.25  # per training row of mf full: embedding-sized float32 vectors (gathers, gradients)
LOGGING_BYTES = 9  # per logged impression: the log's slot and click fields, copied as a round is written
CLICKED_BYTES = 24  # per user and logged round: content's clicked impressions (slot, weight, masks)
ROUND_BYTES = 40  # per user and slate position: the round's slates, utilities, clicks, log row
GUARDS = 4  # the finite:* flags returned beside the metrics

_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("labkit_memory_check", default=True)


class WorldTooLarge(ConfigError):
    """A world's estimated peak memory exceeds what its device has free (see :func:`check`)."""


class Estimate(NamedTuple):
    """A world's estimated peak memory, by part, and how many worlds are held at once."""

    parts: dict[str, int]  # bytes of one world, by part (both phases listed)
    worlds: int  # worlds held at once on the device (seeds x grid points there)
    block_users: int = 1  # users scored per block
    block_bytes: int = 0  # bytes of scoring per user of a block
    phases: tuple[str, ...] = ("scoring blocks", "retraining", "logging")  # only the largest is held

    @property
    def per_world(self) -> int:
        held = {name: value for name, value in self.parts.items() if name not in self.phases}
        return sum(held.values()) + max(self.parts[name] for name in self.phases)

    @property
    def total(self) -> int:
        return self.per_world * self.worlds

    @property
    def dominant(self) -> str:
        return max(self.parts, key=self.parts.get)


def _bytes(tree: Any) -> int:
    return sum(math.prod(leaf.shape) * leaf.dtype.itemsize for leaf in jax.tree.leaves(tree))


def estimate(static: Any, state: Any, worlds: int = 1, n_metrics: int = 0) -> Estimate:
    """Estimate the peak memory of ``worlds`` worlds of ``static`` held at once.

    ``state``: the loop's abstract state (``jax.eval_shape`` of ``init_state``: shapes
    and dtypes, no values), with its ``log`` and ``history`` fields; ``n_metrics``: the
    metric series each world returns (one float32 a round each).
    """
    users, items, k, rounds = static.n_users, static.n_items, static.slate_size, static.rounds
    logged = state.log.round.shape[0]  # the rounds the log's ring holds
    log = _bytes(state.log) + _bytes(state.history)
    carried = _bytes(state) - log + 4 * rounds * (n_metrics + GUARDS)
    block = min(static.block_users, users)
    copies = SCORE_COPIES.get(static.policy, 4.0)
    if static.policy == "greedy" and users <= static.block_users:  # one block: XLA ranks the scores in place
        copies = 1.0
    block_bytes = copies * 4 * items
    scoring = block_bytes * block
    if static.consumption == "once":
        scoring += ONCE_BYTES * users * logged
    retraining = 0.0
    if static.recommender == "mf":
        rows = users * k * logged if static.mf_training == "full" else static.train_steps * static.mf_batch
        retraining = rows * (MF_ROW_BYTES + MF_ROW_DIMS * 4 * static.embedding_dim)
    elif static.recommender == "content" and static.new_items > 0:
        retraining = CLICKED_BYTES * users * logged + 4 * users * static.new_items
    parts = {"state": carried, "log": log, "scoring blocks": scoring, "retraining": retraining,
             "logging": LOGGING_BYTES * logged * users * k, "round": ROUND_BYTES * users * k}
    return Estimate({name: int(value) for name, value in parts.items()}, int(worlds), block, int(block_bytes))


class Free(NamedTuple):
    """Memory free on a device, and what it is (for the message)."""

    bytes: int
    what: str


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:  # not Linux: the physical memory, the best a portable call says
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_free() -> int | None:
    """A container's memory limit less its use (cgroup v2), or None without a limit."""
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else int(limit) - used


def free_memory(device: Any = None) -> Free | None:
    """What ``device`` (default: the first local device) has free now; None where unknown.

    A GPU or TPU: ``bytes_limit - bytes_in_use`` of its ``memory_stats()``. The CPU: the
    host's ``MemAvailable`` (``/proc/meminfo``), or the container's limit less its use
    where that is smaller.
    """
    device = device if device is not None else jax.local_devices()[0]
    if device.platform != "cpu":
        stats = device.memory_stats() if hasattr(device, "memory_stats") else None
        if not stats or "bytes_limit" not in stats:
            return None
        return Free(int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)),
                    f"free on {device.device_kind}")
    known = [value for value in (_meminfo_available(), _cgroup_free()) if value is not None]
    return Free(min(known), "available on this host") if known else None


def enabled() -> bool:
    """Whether :func:`check` runs: not inside :func:`unchecked`, and ``LABKIT_MEMORY_CHECK`` not 0/off."""
    return _enabled.get() and os.environ.get(SWITCH_VARIABLE, "1").strip().lower() not in ("0", "off", "false", "no")


@contextlib.contextmanager
def unchecked(skip: bool = True) -> Iterator[None]:
    """Inside the block, :func:`check` does nothing (``--no-memory-check``); ``skip=False``: no change."""
    token = _enabled.set(False) if skip else None
    try:
        yield
    finally:
        if token is not None:
            _enabled.reset(token)


def gib(n: float) -> str:
    return f"{n / 2 ** 30:.3g} GiB"


def check(est: Estimate, free: Free | None, where: str, *, rounds_fit: int | None = None,
          devices_fit: int | None = None) -> None:
    """Raise :class:`WorldTooLarge` when ``est.total`` exceeds ``free``; else nothing.

    ``rounds_fit``: the most rounds that would fit (given by the caller, who can size
    other worlds); ``devices_fit``: the devices a grid would need. Both go into the
    message's suggestions.
    """
    if free is None or est.total <= free.bytes:
        return
    per_world, dominant = est.per_world, est.dominant
    parts = ", ".join(f"{name} {gib(value)}" for name, value in sorted(est.parts.items(), key=lambda kv: -kv[1])
                      if value >= 0.01 * per_world)
    worlds = f" x {est.worlds} worlds (seeds x grid points)" if est.worlds > 1 else ""
    hints = []
    if est.worlds > 1:
        fit = free.bytes // max(per_world, 1)
        hints.append(f"fewer seeds per call (at most {fit} worlds fit)" if fit else "fewer seeds per call")
    if dominant in ("log", "logging", "retraining") and rounds_fit is not None:
        hints.append(f"a shorter log: rounds <= {rounds_fit} (or fewer users)" if rounds_fit >= 1
                     else "fewer rounds or users (not even one round fits)")
    if dominant == "retraining":
        hints.append("mf_training: minibatch (its cost does not grow with the log)")
    if dominant == "scoring blocks":
        held = per_world - max(est.parts[name] for name in est.phases)
        room = free.bytes // max(est.worlds, 1) - held - est.parts["scoring blocks"] + est.block_users * est.block_bytes
        block_fit = int(room // est.block_bytes) if est.block_bytes else 0
        hints.append(f"a smaller block_users: <= {block_fit} (each block holds block_users x n_items scores)"
                     if block_fit >= 1 else "fewer items (not even a block of one user fits)")
    if dominant in ("state", "round"):
        hints.append("fewer users or items")
    if devices_fit is not None:
        hints.append(f"more devices (about {devices_fit} would hold the grid's points)")
    hints.append("--no-memory-check or LABKIT_MEMORY_CHECK=0 runs it anyway")
    raise WorldTooLarge(
        f"{where}: needs about {gib(est.total)} ({gib(per_world)} a world{worlds}: {parts}; "
        f"{dominant} dominates), but {gib(free.bytes)} is {free.what}; to fit: {'; '.join(hints)}")
