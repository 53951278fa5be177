"""The interaction log, its provenance bits, and the data strategies that retrain on it.

The log holds the impressions (user, slate position) of the latest rounds in fixed-size
arrays ``[rounds, users, k]``, a ring over rounds, so it is a static-shape pytree under
``jit``; how many rounds it keeps is what the run reads of it (every round of the run, a
windowed strategy's window and one more, or the current round alone:
:func:`labkit.sim.capacity.log_rounds`). Each impression carries its provenance:

* ``synthetic``: the item was made by the GenAI;
* ``organic``: the exposure came from exploration, not from the recommender's ranking;
* ``influenced``: the user had already drifted beyond ``influence_threshold``;
* ``agent``: an AI agent made the round's choice for the user (``agent_share > 0`` only:
  :mod:`labkit.sim.agents`; else the field is None);
* ``assisted``: the item is AI-assisted, made by a human creator who blended the GenAI's
  output into it (``assisted_share > 0`` only: :func:`labkit.sim.world.assist`; else None).

A row is *AI-influenced* when its item is synthetic or AI-assisted, its user is influenced
or an agent acted for the user; it is *human-first* otherwise. A data strategy is one :class:`Strategy` value (its loss weight
per impression, 0 dropping the row; its window, if any; its effect on the slate, if
any), so new strategies are new values of the same interface, not new branches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from labkit.sim.levers import PARAM, STATIC, Lever
from labkit.sim.policies import Slate, explore
from labkit.sim.world import Catalog

if TYPE_CHECKING:  # types only: labkit.sim.config builds them from every module's LEVERS
    from labkit.sim.config import Params, Static


class Log(NamedTuple):
    """Impressions of every round so far (ring over rounds; ``round == -1`` is empty)."""

    item: Int[Array, "rounds users k"]  # catalog slot
    uid: Int[Array, "rounds users k"]  # the item's serial number, to detect reused slots
    click: Bool[Array, "rounds users k"]
    synthetic: Bool[Array, "rounds users k"]
    organic: Bool[Array, "rounds users k"]
    influenced: Bool[Array, "rounds users"]
    round: Int[Array, "rounds"]
    agent: Bool[Array, "rounds users"] | None = None  # an agent chose for the user; None: no agents
    assisted: Bool[Array, "rounds users k"] | None = None  # the item is AI-assisted; None: no assisted creators


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


def empty_log(static: Static, rounds: int | None = None) -> Log:
    """An empty log whose ring holds ``rounds`` rounds (None: every round of the run; the
    loop's is :func:`labkit.sim.capacity.log_rounds`, what the run reads of it)."""
    rounds = static.rounds if rounds is None else rounds
    shape = (rounds, static.n_users, static.slate_size)
    return Log(
        item=jnp.zeros(shape, jnp.int32),
        uid=jnp.full(shape, -1, jnp.int32),
        click=jnp.zeros(shape, bool),
        synthetic=jnp.zeros(shape, bool),
        organic=jnp.zeros(shape, bool),
        influenced=jnp.zeros(shape[:2], bool),
        round=jnp.full(rounds, -1, jnp.int32),
        agent=jnp.zeros(shape[:2], bool) if static.agent_share > 0 else None,
        assisted=jnp.zeros(shape, bool) if static.assisted_share > 0 else None,
    )


def record(log: Log, round_: Int[Array, ""], slate: Int[Array, "users k"], click: Bool[Array, "users k"],
           organic: Bool[Array, "users k"], influenced: Bool[Array, "users"], catalog: Catalog,
           agent: Bool[Array, "users"] | None = None) -> Log:
    """Append one round of impressions with their provenance (``agent``: required when the log
    has the field, i.e. under ``agent_share > 0``; ``assisted`` is read off the catalog, which
    keeps it exactly when the log does, under ``assisted_share > 0``)."""
    row = round_ % log.round.shape[0]
    if (log.agent is None) != (agent is None):
        raise ValueError("record: agent= is given exactly when the log keeps agents' rows (agent_share > 0)")
    if (log.assisted is None) != (catalog.assisted is None):
        raise ValueError("record: the log and the catalog keep the assisted flag together (assisted_share > 0)")
    return Log(
        item=log.item.at[row].set(slate),
        uid=log.uid.at[row].set(catalog.uid[slate]),
        click=log.click.at[row].set(click),
        synthetic=log.synthetic.at[row].set(catalog.synthetic[slate]),
        organic=log.organic.at[row].set(organic),
        influenced=log.influenced.at[row].set(influenced),
        round=log.round.at[row].set(round_),
        agent=None if agent is None else log.agent.at[row].set(agent),
        assisted=None if log.assisted is None else log.assisted.at[row].set(catalog.assisted[slate]),
    )


def ai_influenced(log: Log) -> Bool[Array, "rounds users k"]:
    """Impressions whose item is synthetic or AI-assisted, whose user had already been nudged,
    or whose round an agent chose for the user."""
    user = log.influenced if log.agent is None else log.influenced | log.agent
    item = log.synthetic if log.assisted is None else log.synthetic | log.assisted
    return item | user[:, :, None]


class Strategy(NamedTuple):
    """A data strategy: which logged impressions retrain the recommender, and how much each weighs.

    One value of this interface is the whole strategy; the loop, the training table and
    the incremental retraining ask it and never branch on its name.

    * ``rows(log, valid, round, static, params) -> weight[rounds, users, k]``: the loss
      weight of each valid impression (0 drops it). It may depend on that row and the
      current round only, not on other rows: incremental retraining
      (:func:`clicked_rows`, :func:`update_totals`, ``Recommender.update``) applies it to
      one round of the log, or to the clicked impressions alone.
    * ``window(static) -> int`` or None: a windowed strategy keeps only the last
      ``window`` rounds; each round, the round that leaves it (:func:`left_window`) is
      taken out of the running totals. None keeps every round.
    * ``slate(key, slate, catalog, params) -> Slate`` or None: a strategy that changes
      what is shown (a reserved exploration stream) rewrites each round's slates before
      the users choose.

    Calling the strategy gives its weights, window included.
    """

    rows: Callable[[Log, Bool[Array, "rounds users k"], Int[Array, ""], Static, Params],
                   Float[Array, "rounds users k"]]
    window: Callable[[Static], int] | None = None
    slate: Callable[[Array, Slate, Catalog, Params], Slate] | None = None

    def __call__(self, log: Log, valid: Bool[Array, "rounds users k"], round_: Int[Array, ""], static: Static,
                 params: Params) -> Float[Array, "rounds users k"]:
        if self.window is not None:
            valid = valid & (log.round > round_ - self.window(static))[:, None, None]
        return self.rows(log, valid, round_, static, params)


def _every_valid_row(log, valid, round_, static, params):
    return valid.astype(jnp.float32)


def _downweight(log, valid, round_, static, params):
    return valid * jnp.where(ai_influenced(log), params.synthetic_weight, 1.0)


def _human_only(log, valid, round_, static, params):
    return (valid & ~ai_influenced(log)).astype(jnp.float32)


def _reserve(log, valid, round_, static, params):
    # The exploration stream's impressions are not chosen by the model, so they are
    # treated as human-first data and are the only rows trained on.
    return (valid & log.organic).astype(jnp.float32)


def _reserve_slate(key, slate, catalog, params):
    return explore(key, slate, catalog.alive, params.reserve_share)


# How many rounds the log keeps (the ``log_capacity`` lever; :func:`labkit.sim.capacity.log_rounds`).
LOG_CAPACITIES = ("auto", "full")

STRATEGIES: dict[str, Strategy] = {
    "accumulate": Strategy(_every_valid_row),
    "replace": Strategy(_every_valid_row, window=lambda static: static.window),
    "downweight": Strategy(_downweight),
    "human_only": Strategy(_human_only),
    "reserve": Strategy(_reserve, slate=_reserve_slate),
}


def still_held(log: Log, item_uid: Int[Array, "items"]) -> Bool[Array, "rounds users k"]:
    """Whether each impression was logged (``round >= 0``) and its slot still holds the
    item, by the catalog serial numbers ``item_uid`` (the catalog's now, or as they were
    earlier): a reused slot holds another item, and the impression no longer counts."""
    return (log.round[:, None, None] >= 0) & (item_uid[log.item] == log.uid)


def strategy(static: Static) -> Strategy:
    """The data strategy the config chose."""
    return STRATEGIES[static.data_strategy]


def strategy_weight(log: Log, item_uid: Int[Array, "items"], round_: Int[Array, ""], static: Static,
                    params: Params) -> Float[Array, "rounds users k"]:
    """The data strategy's weight at ``round_`` for each logged impression that counts
    (:func:`still_held` by ``item_uid``)."""
    return strategy(static)(log, still_held(log, item_uid), round_, static, params)


def training_data(log: Log, catalog: Catalog, round_: Int[Array, ""], static: Static,
                  params: Params) -> TrainingData:
    """The impressions the chosen data strategy retrains on, with their weights.

    Impressions of items whose slot has since been reused are dropped: that item is gone.
    """
    weight = strategy_weight(log, catalog.uid, round_, static, params)
    users = jnp.broadcast_to(jnp.arange(static.n_users)[None, :, None], log.item.shape)
    return TrainingData(
        user=users.reshape(-1),
        item=log.item.reshape(-1),
        click=log.click.reshape(-1).astype(jnp.float32),
        weight=weight.reshape(-1),
        ai_influenced=ai_influenced(log).reshape(-1),
    )


def rounds_in_reach(round_: Int[Array, ""], static: Static) -> Int[Array, ""]:
    """How many of the latest rounds, ``round_`` included, the data strategy can train on at
    ``round_``: those logged in the last ``rounds`` rounds, and within the strategy's window.
    The loop's log holds all of them (:func:`labkit.sim.capacity.log_rounds`)."""
    reach = jnp.minimum(round_ + 1, static.rounds)
    window = strategy(static).window
    return reach if window is None else jnp.minimum(reach, window(static))


def sample_impressions(key: Array, shape: tuple[int, ...], round_: Int[Array, ""], static: Static,
                       capacity: int) -> tuple[Int[Array, "*shape"], Int[Array, "*shape"], Int[Array, "*shape"]]:
    """Impressions drawn uniformly and independently (with replacement) from the
    :func:`rounds_in_reach` at ``round_``: their log positions (ring row, user, slate slot)
    in a log whose ring holds ``capacity`` rounds (``log.round.shape[0]``).

    Three draws of ``shape`` integers: the cost does not depend on how many rounds are logged.
    """
    k_round, k_user, k_slot = jax.random.split(key, 3)
    back = jax.random.randint(k_round, shape, 0, rounds_in_reach(round_, static))
    user = jax.random.randint(k_user, shape, 0, static.n_users)
    slot = jax.random.randint(k_slot, shape, 0, static.slate_size)
    return (round_ - back) % capacity, user, slot


def sample_training_data(log: Log, catalog: Catalog, round_: Int[Array, ""], key: Array,
                         shape: tuple[int, ...], static: Static, params: Params
                         ) -> tuple[TrainingData, Float[Array, ""]]:
    """A uniform sample of :func:`training_data`'s rows (:func:`sample_impressions`), in O(sample).

    Each sampled impression carries the weight :func:`training_data` gives it (0 where
    its slot was reused or the strategy drops it). Rows outside the sampled rounds (not
    logged yet, or out of the window) all weigh 0 there, so with ``N`` the second value
    returned (the number of impressions sampled from) and ``n`` the sample's size,
    ``(N / n) * sum(weight * f)`` is an unbiased estimate of the whole table's
    ``sum(weight * f)``, for any per-row ``f``.

    Returns the rows, each field of shape ``shape``, and ``N``.
    """
    row, user, slot = sample_impressions(key, shape, round_, static, log.round.shape[0])
    row, user, slot = row.reshape(-1), user.reshape(-1), slot.reshape(-1)
    # the sample as a log of len(row) rounds of one user and one slot each, so the
    # strategy weighs it with the same code as the whole log (its rows see one row at a time)
    def pick(values):
        return values[row, user, slot][:, None, None]
    sample = Log(item=pick(log.item), uid=pick(log.uid), click=pick(log.click), synthetic=pick(log.synthetic),
                 organic=pick(log.organic), influenced=log.influenced[row, user][:, None], round=log.round[row],
                 agent=None if log.agent is None else log.agent[row, user][:, None],
                 assisted=None if log.assisted is None else pick(log.assisted))
    weight = strategy_weight(sample, catalog.uid, round_, static, params)
    rows = TrainingData(user=user, item=sample.item, click=sample.click.astype(jnp.float32), weight=weight,
                        ai_influenced=ai_influenced(sample))
    population = rounds_in_reach(round_, static).astype(jnp.float32) * (static.n_users * static.slate_size)
    return jax.tree.map(lambda values: values.reshape(shape), rows), population


def clicked_log(log: Log) -> Log:
    """The log cut to one impression per user-round: the clicked one (a user clicks at most
    one item a round), or the first slate position, with ``click`` False, where none was."""
    slot = jnp.argmax(log.click, axis=2)[..., None]
    def pick(values):
        return jnp.take_along_axis(values, slot, 2)
    return Log(item=pick(log.item), uid=pick(log.uid), click=pick(log.click), synthetic=pick(log.synthetic),
               organic=pick(log.organic), influenced=log.influenced, round=log.round, agent=log.agent,
               assisted=None if log.assisted is None else pick(log.assisted))


def clicked_uids(log: Log, row: Int[Array, ""]) -> Int[Array, "users"]:
    """The serial number of the item each user clicked in the log's ``row`` (-1: none)."""
    return jnp.max(jnp.where(log.click[row], log.uid[row], -1), axis=1)


def empty_history(static: Static) -> Int[Array, "users rounds"]:
    """Every user's clicked serial numbers, one entry a round (a ring over the last ``rounds``
    rounds, in the order written; -1: no click, or not yet). It keeps every round whatever
    the log keeps: the homogenization metric reads it whole."""
    return jnp.full((static.n_users, static.rounds), -1, jnp.int32)


def record_clicks(history: Int[Array, "users rounds"], round_: Int[Array, ""],
                  clicked: Int[Array, "users"]) -> Int[Array, "users rounds"]:
    """The history with round ``round_``'s clicks (:func:`clicked_uids`) written over the
    entry of the round ``rounds`` before it: one column updated in place, O(users) a round.

    The homogenization metric sorts the rows of the users it samples (2 ``n_pairs`` rows a
    round). Kept sorted for every user instead, each round would rewrite the whole
    ``users x rounds`` array, whose old and new copies XLA holds at once.
    """
    return jax.lax.dynamic_update_slice_in_dim(history, clicked[:, None], round_ % history.shape[1], axis=1)


def clicked_rows(log: Log, item_uid: Int[Array, "items"], round_: Int[Array, ""], static: Static,
                 params: Params) -> tuple[Int[Array, "rounds users"], Float[Array, "rounds users"]]:
    """Per logged round and user, the slot of the item clicked and its training weight.

    A user clicks at most one item a round, so the clicked impressions of a log are one
    row per user-round: this is what click-based retraining (``content``, ``popularity``)
    reads, ``k`` times fewer rows than :func:`training_data`. An impression is valid when
    its slot still holds the item, by the catalog serial numbers ``item_uid`` (the
    catalog's now, or as they were at an earlier round); the weight is the data
    strategy's at ``round_``, and 0 for a user-round without a click.
    """
    clicked = clicked_log(log)
    weight = strategy_weight(clicked, item_uid, round_, static, params) * clicked.click
    return clicked.item[..., 0], weight[..., 0]


def round_of(log: Log, round_: Int[Array, ""]) -> Log:
    """The log's rows of one round, as a log of one round (``round_`` may be traced)."""
    row = round_ % log.round.shape[0]
    return jax.tree.map(lambda values: jax.lax.dynamic_slice_in_dim(values, row, 1, axis=0), log)


def left_window(log: Log, round_: Int[Array, ""], static: Static) -> tuple[Log, Bool[Array, ""]]:
    """The round that leaves a windowed strategy's window at ``round_`` (as a log of one
    round), and whether there is one (the run is older than the window and the round was
    logged). Only for strategies with a ``window``."""
    gone = round_ - strategy(static).window(static)
    old = round_of(log, gone)
    return old, (gone >= 0) & (old.round[0] == gone)


class TrainingTotals(NamedTuple):
    """Per catalog slot, the training weight on its item's impressions and the part of it
    on AI-influenced impressions (and, under ``agent_share > 0``, on agents' impressions),
    with the serial numbers of the items counted.

    Kept up to date round by round (:func:`update_totals`), so the AI-influenced share of
    the training set costs O(items + users k) a round instead of a pass over the log.
    """

    weight: Float[Array, "items"]
    ai_weight: Float[Array, "items"]
    uid: Int[Array, "items"]
    agent_weight: Float[Array, "items"] | None = None  # None: no agents (agent_share = 0)


def empty_totals(static: Static) -> TrainingTotals:
    return TrainingTotals(jnp.zeros(static.n_items), jnp.zeros(static.n_items),
                          jnp.full(static.n_items, -1, jnp.int32),
                          jnp.zeros(static.n_items) if static.agent_share > 0 else None)


def _weighted_round(log: Log, item_uid: Int[Array, "items"], round_: Int[Array, ""], static: Static,
                    params: Params) -> tuple[Int[Array, "n"], Float[Array, "n"], Bool[Array, "n"]]:
    """A one-round log's impressions: slot, the strategy's weight at ``round_`` (valid by
    ``item_uid``), and whether each is AI-influenced."""
    weight = strategy_weight(log, item_uid, round_, static, params)
    return log.item.reshape(-1), weight.reshape(-1), ai_influenced(log).reshape(-1)


def update_totals(totals: TrainingTotals, log: Log, catalog: Catalog, round_: Int[Array, ""],
                  static: Static, params: Params) -> TrainingTotals:
    """The totals after round ``round_`` was logged, equal to summing :func:`training_data`'s
    weights by slot: a reused slot's totals belonged to the item that left; the round's
    impressions come in; under a windowed strategy, the round that left the window goes out."""
    fresh = catalog.uid != totals.uid
    weight = jnp.where(fresh, 0.0, totals.weight)
    ai_weight = jnp.where(fresh, 0.0, totals.ai_weight)
    item, w, ai = _weighted_round(round_of(log, round_), catalog.uid, round_, static, params)
    weight, ai_weight = weight.at[item].add(w), ai_weight.at[item].add(w * ai)
    agent_weight = totals.agent_weight
    if agent_weight is not None:
        agent_weight = jnp.where(fresh, 0.0, agent_weight).at[item].add(w * _agent_rows(round_of(log, round_)))
    if strategy(static).window is not None:
        old, present = left_window(log, round_, static)
        item, w, ai = _weighted_round(old, totals.uid, round_ - 1, static, params)
        w = jnp.where(present & ~fresh[item], w, 0.0)
        weight, ai_weight = weight.at[item].add(-w), ai_weight.at[item].add(-w * ai)
        if agent_weight is not None:
            agent_weight = agent_weight.at[item].add(-w * _agent_rows(old))
    return TrainingTotals(weight, ai_weight, catalog.uid, agent_weight)


def _agent_rows(log: Log) -> Bool[Array, "n"]:
    """Whether an agent made each impression of a log with agents' rows, flattened as
    :func:`_weighted_round` flattens them."""
    return jnp.broadcast_to(log.agent[:, :, None], log.item.shape).reshape(-1)


def agent_share_of_totals(totals: TrainingTotals) -> Float[Array, ""]:
    """Share of the training weight on agents' impressions, from the running totals (0 without agents)."""
    if totals.agent_weight is None:
        return jnp.float32(0.0)
    total = totals.weight.sum()
    return jnp.where(total > 0, totals.agent_weight.sum() / jnp.maximum(total, 1e-12), 0.0)


def ai_share_of_totals(totals: TrainingTotals) -> Float[Array, ""]:
    """:func:`ai_share_of_training` from the running :class:`TrainingTotals`."""
    total = totals.weight.sum()
    return jnp.where(total > 0, totals.ai_weight.sum() / jnp.maximum(total, 1e-12), 0.0)


def ai_share_of_training(data: TrainingData) -> Float[Array, ""]:
    """Share of the training weight that sits on AI-influenced rows (provenance tracking)."""
    total = data.weight.sum()
    return jnp.where(total > 0, (data.weight * data.ai_influenced).sum() / jnp.maximum(total, 1e-12), 0.0)


LEVERS = (
    Lever("data_strategy", STATIC, str, "accumulate", "which logged rows retrain the recommender",
          choices=STRATEGIES),
    Lever("window", STATIC, int, 5, "replace strategy: rounds of log kept for retraining", 1, 100_000),
    Lever("synthetic_weight", PARAM, float, 0.1, "downweight strategy: loss weight of AI-influenced rows",
          0.0, 1.0, label="synthetic weight (loss weight of AI rows)"),
    Lever("reserve_share", PARAM, float, 0.1, "reserve strategy: share of slates given to the exploration stream",
          0.0, 1.0, label="reserve share (of slots)"),
    Lever("log_capacity", STATIC, str, "auto",
          "rounds the interaction log keeps: auto = what the run reads of it (every round where the recommender's "
          "retraining, consumption = once or bonus_scope = per_user reads them all; else a windowed strategy's "
          "window + 1, or the current round: memory that does not grow with the run; the same numbers); "
          "full = every round, for a caller that reads the final log (labkit run --log)",
          choices=LOG_CAPACITIES, hashed_at_default=False),
)
