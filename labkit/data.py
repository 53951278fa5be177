"""The interaction log, its provenance bits, and the data strategies that retrain on it.

The log holds every impression (user, slate position) of every round in fixed-size
arrays ``[rounds, users, k]``, so it is a static-shape pytree under ``jit``. Each
impression carries its provenance:

* ``synthetic``: the item was made by the GenAI;
* ``organic``: the exposure came from exploration, not from the recommender's ranking;
* ``influenced``: the user had already drifted beyond ``influence_threshold``.

A row is *AI-influenced* when its item is synthetic or its user is influenced; it is
*human-first* otherwise. A data strategy is one pure function from the log to a loss
weight per impression (0 drops the row), so new strategies are new values of the same
interface, not new branches in the loop.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from labkit.config import Params, Static
from labkit.world import Catalog


class Log(NamedTuple):
    """Impressions of every round so far (ring over rounds; ``round == -1`` is empty)."""

    item: Int[Array, "rounds users k"]  # catalog slot
    uid: Int[Array, "rounds users k"]  # the item's serial number, to detect reused slots
    click: Bool[Array, "rounds users k"]
    synthetic: Bool[Array, "rounds users k"]
    organic: Bool[Array, "rounds users k"]
    influenced: Bool[Array, "rounds users"]
    round: Int[Array, "rounds"]


class TrainingData(NamedTuple):
    """Flattened impressions with a loss weight each; weight 0 means "not in the training set".

    Rows are the log's ``[rounds, users, k]`` impressions in that order (row
    ``(r * users + u) * k + j`` is slot ``j`` of user ``u`` in round ``r``), so a
    recommender may reshape them back; the ``content`` fit relies on it.
    """

    user: Int[Array, "n"]
    item: Int[Array, "n"]
    click: Float[Array, "n"]
    weight: Float[Array, "n"]
    ai_influenced: Bool[Array, "n"]


def empty_log(static: Static) -> Log:
    """A log with room for every round of the run."""
    shape = (static.rounds, static.n_users, static.slate_size)
    return Log(
        item=jnp.zeros(shape, jnp.int32),
        uid=jnp.full(shape, -1, jnp.int32),
        click=jnp.zeros(shape, bool),
        synthetic=jnp.zeros(shape, bool),
        organic=jnp.zeros(shape, bool),
        influenced=jnp.zeros(shape[:2], bool),
        round=jnp.full(static.rounds, -1, jnp.int32),
    )


def record(log: Log, round_: Int[Array, ""], slate: Int[Array, "users k"], click: Bool[Array, "users k"],
           organic: Bool[Array, "users k"], influenced: Bool[Array, "users"], catalog: Catalog) -> Log:
    """Append one round of impressions with their provenance."""
    row = round_ % log.round.shape[0]
    return Log(
        item=log.item.at[row].set(slate),
        uid=log.uid.at[row].set(catalog.uid[slate]),
        click=log.click.at[row].set(click),
        synthetic=log.synthetic.at[row].set(catalog.synthetic[slate]),
        organic=log.organic.at[row].set(organic),
        influenced=log.influenced.at[row].set(influenced),
        round=log.round.at[row].set(round_),
    )


def ai_influenced(log: Log) -> Bool[Array, "rounds users k"]:
    """Impressions whose item is synthetic or whose user had already been nudged."""
    return log.synthetic | log.influenced[:, :, None]


# A data strategy: (log, valid impressions, current round, static, params) -> weight per impression.
Strategy = Callable[[Log, Bool[Array, "rounds users k"], Int[Array, ""], Static, Params],
                    Float[Array, "rounds users k"]]


def _accumulate(log, valid, round_, static, params):
    return valid.astype(jnp.float32)


def _replace(log, valid, round_, static, params):
    recent = log.round > round_ - static.window
    return (valid & recent[:, None, None]).astype(jnp.float32)


def _downweight(log, valid, round_, static, params):
    return valid * jnp.where(ai_influenced(log), params.synthetic_weight, 1.0)


def _human_only(log, valid, round_, static, params):
    return (valid & ~ai_influenced(log)).astype(jnp.float32)


def _reserve(log, valid, round_, static, params):
    # The exploration stream's impressions are not chosen by the model, so they are
    # treated as human-first data and are the only rows trained on.
    return (valid & log.organic).astype(jnp.float32)


STRATEGIES: dict[str, Strategy] = {
    "accumulate": _accumulate,
    "replace": _replace,
    "downweight": _downweight,
    "human_only": _human_only,
    "reserve": _reserve,
}


def training_data(log: Log, catalog: Catalog, round_: Int[Array, ""], static: Static,
                  params: Params) -> TrainingData:
    """The impressions the chosen data strategy retrains on, with their weights.

    Impressions of items whose slot has since been reused are dropped: that item is gone.
    """
    valid = (log.round[:, None, None] >= 0) & (catalog.uid[log.item] == log.uid)
    weight = STRATEGIES[static.data_strategy](log, valid, round_, static, params)
    users = jnp.broadcast_to(jnp.arange(static.n_users)[None, :, None], log.item.shape)
    return TrainingData(
        user=users.reshape(-1),
        item=log.item.reshape(-1),
        click=log.click.reshape(-1).astype(jnp.float32),
        weight=weight.reshape(-1),
        ai_influenced=ai_influenced(log).reshape(-1),
    )


def ai_share_of_training(data: TrainingData) -> Float[Array, ""]:
    """Share of the training weight that sits on AI-influenced rows (provenance tracking)."""
    total = data.weight.sum()
    return jnp.where(total > 0, (data.weight * data.ai_influenced).sum() / jnp.maximum(total, 1e-12), 0.0)


def interaction_table(log: Log) -> dict[str, Int[Array, "n"]]:
    """The clicks of a simulated log as a plain (user, item uid, round) table.

    This is the format :func:`labkit.metrics.interaction_metrics` takes for real logs,
    so simulated and real data go through the same measurement code.
    """
    import numpy as np

    rounds, users, k = log.item.shape
    click = np.asarray(log.click)
    r, u, _ = np.nonzero(click)
    return {"user": u, "item": np.asarray(log.uid)[click], "round": np.asarray(log.round)[r]}
