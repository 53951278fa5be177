"""Interaction logs as tables, real or simulated, and the collapse metrics measured on them.

A log is a table with one row per interaction: ``user``, ``item``, ``round`` (a period).
:func:`interaction_metrics` measures it with the same array functions the loop uses
(:mod:`labkit.sim.metrics`); :func:`interaction_table` exports a simulated log in the
same form, so a simulated and a real log read side by side. :func:`log_table` exports a
simulated log whole, one row per impression with its provenance, in the form
``labkit audit`` reads (``labkit run --log`` writes it as ``log.parquet``).
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
from jaxtyping import Array, Int

from labkit.sim.data import Log
from labkit.sim.metrics import (coverage, effective_number, entropy, gini, jaccard_homogenization,
                                long_tail_share, novelty, sample_pairs)

_LOG_COLUMNS = ("user", "item", "round")

_METRIC_COLUMNS = [
    "round",
    "interactions",
    "consumption_entropy",
    "effective_items",
    "gini",
    "coverage",
    "long_tail_share",
    "novelty",
    "homogenization",
]


def _padded(values: np.ndarray, length: int) -> np.ndarray:
    """values followed by -1 padding up to length."""
    return np.concatenate([values, np.full(length - len(values), -1, dtype=values.dtype)])


def _padded_item_sets(users: np.ndarray, items: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Row u lists the distinct items of user u, padded with -1 to ``shape``."""
    distinct = pd.DataFrame({"user": users, "item": items}).drop_duplicates()
    column = distinct.groupby("user").cumcount().to_numpy()
    sets = np.full(shape, -1, dtype=np.int64)
    sets[distinct["user"].to_numpy(), column] = distinct["item"].to_numpy()
    return sets


def interaction_metrics(
    table: pd.DataFrame,
    n_items: int | None = None,
    head_fraction: float = 0.2,
    n_pairs: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Collapse metrics per round of a real (or exported simulated) interaction log.

    Args:
      table: DataFrame with columns ``user``, ``item``, ``round``; each row is
        one consumed item.  Users and items may be any hashable ids; rounds
        any sortable values.
      n_items: catalog size, when it is larger than the number of distinct
        items in the table (the others count as never consumed); default that
        number.  It is the item universe of every per-item metric, not only
        ``coverage``.
      head_fraction: head size for ``long_tail_share``.
      n_pairs: if given, homogenization uses that many sampled user pairs
        instead of all pairs (whose memory grows as users**2 * items per user).
      seed: seed for the pair sampling (the same key every round).

    Returns one row per round, sorted, with columns ``round``,
    ``interactions`` (rows in the round), ``consumption_entropy``,
    ``effective_items``, ``gini``, ``coverage``, ``long_tail_share`` (all over
    the round's item counts and the whole catalog), ``novelty`` (of the
    round's items against the counts of all earlier rounds) and
    ``homogenization`` (Jaccard over each user's cumulative item set up to and
    including the round, among users who have consumed something by then:
    a user not yet in the log has not joined, rather than consumed nothing).
    """
    missing = [column for column in _LOG_COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(
            f"`table` is missing column(s) {missing}; expected {list(_LOG_COLUMNS)}, "
            f"received {list(table.columns)}"
        )
    if table[list(_LOG_COLUMNS)].isna().any().any():
        raise ValueError("`table` has missing values in `user`, `item` or `round`")
    log = table.sort_values("round", kind="stable")
    item_index, item_ids = pd.factorize(log["item"])
    # Numbering users by first appearance makes the users who have joined by
    # any round the prefix 0 .. n_joined - 1.
    user_index, user_ids = pd.factorize(log["user"])
    catalog = len(item_ids) if n_items is None else n_items
    if catalog < len(item_ids):
        raise ValueError(
            f"`n_items` ({n_items}) is smaller than the number of distinct items "
            f"in `table` ({len(item_ids)})"
        )
    round_of_row = log["round"].to_numpy()
    rounds = pd.unique(round_of_row)  # already sorted

    # Every round is evaluated at the same array shapes, so each metric
    # compiles once however many rounds the log has: items are padded with -1,
    # and item sets get one extra, always-empty row (index n_users) that pairs
    # not to be counted point at, since a pair with an empty union drops out.
    n_users = len(user_ids)
    no_user = n_users
    distinct = pd.DataFrame({"user": user_index, "item": item_index}).drop_duplicates()
    set_shape = (n_users + 1, int(distinct.groupby("user").size().max()) if n_users else 0)
    round_length = int(pd.Series(round_of_row).value_counts().max()) if len(log) else 0
    all_pairs = np.stack(np.triu_indices(n_users, k=1), axis=1)
    key = jax.random.PRNGKey(seed)

    earlier_counts = np.zeros(catalog)
    records = []
    for current in rounds:
        in_round = round_of_row == current
        items_now = item_index[in_round]
        counts = np.bincount(items_now, minlength=catalog).astype(float)

        so_far = round_of_row <= current
        item_sets = _padded_item_sets(user_index[so_far], item_index[so_far], set_shape)
        n_joined = int(user_index[so_far].max()) + 1
        if n_pairs is None:
            joined = np.all(all_pairs < n_joined, axis=1, keepdims=True)
            pairs = np.where(joined, all_pairs, no_user)
        elif n_joined >= 2:
            pairs = sample_pairs(key, n_joined, n_pairs)
        else:
            pairs = np.full((n_pairs, 2), no_user)

        records.append(
            {
                "round": current,
                "interactions": int(in_round.sum()),
                "consumption_entropy": float(entropy(counts)),
                "effective_items": float(effective_number(counts)),
                "gini": float(gini(counts)),
                "coverage": float(coverage(counts)),
                "long_tail_share": float(long_tail_share(counts, head_fraction=head_fraction)),
                "novelty": float(novelty(_padded(items_now, round_length), earlier_counts)),
                "homogenization": float(jaccard_homogenization(item_sets, pairs)),
            }
        )
        earlier_counts += counts
    return pd.DataFrame.from_records(records, columns=_METRIC_COLUMNS)


def interaction_table(log: Log) -> dict[str, Int[Array, "n"]]:
    """The clicks of a simulated log as a plain (user, item uid, round) table.

    This is the format :func:`interaction_metrics` takes for real logs,
    so simulated and real data go through the same measurement code.
    """
    rounds, users, k = log.item.shape
    click = np.asarray(log.click)
    r, u, _ = np.nonzero(click)
    return {"user": u, "item": np.asarray(log.uid)[click], "round": np.asarray(log.round)[r]}


LOG_TABLE_COLUMNS = ("seed", "round", "user", "position", "item", "clicked", "is_synthetic", "ai_influenced",
                     "organic", "agent_chose", "is_assisted")


def log_table(log: Log, seeds=None) -> pd.DataFrame:
    """Every impression of a simulated log, one row each, with its provenance.

    ``log``: a final state's log, with a leading seed axis when ``seeds`` (their integer
    values, in order) is given. Columns (:data:`LOG_TABLE_COLUMNS`): ``seed``, ``round``,
    ``user``, ``position`` (slot in the slate, 0 first), ``item`` (the item's serial
    number, never reused, unlike its catalog slot), ``clicked``, ``is_synthetic`` (made by
    the GenAI), ``ai_influenced`` (the user's tastes had drifted past the influence
    threshold, or an AI agent chose for the user that round: the user-round flags the data
    strategies read beside ``is_synthetic``; and the item is AI-assisted, under
    ``assisted_share > 0``), ``organic`` (placed by exploration,
    not by the recommender's ranking), and the two kinds of AI influence apart:
    ``agent_chose`` (an AI agent chose for the user that round, ``agent_share > 0``) and
    ``is_assisted`` (the item was made by an AI-assisted creator, ``assisted_share > 0``),
    both False where their lever is off. Rounds the log holds no record of are left out.
    ``labkit audit`` reads it as it is: the clicked rows are the consumption, ``round``
    the period (``--period round``), and the provenance columns are found by name.
    """
    batched = seeds is not None
    agent = np.zeros(np.shape(log.influenced), bool) if log.agent is None else log.agent
    assisted = np.zeros(np.shape(log.uid), bool) if log.assisted is None else log.assisted
    uid, click, synthetic, organic, drifted, agent, rounds, assisted = (np.asarray(x) for x in (
        log.uid, log.click, log.synthetic, log.organic, log.influenced, agent, log.round, assisted))
    if not batched:
        uid, click, synthetic, organic, drifted, agent, rounds, assisted = (x[None] for x in (
            uid, click, synthetic, organic, drifted, agent, rounds, assisted))
        seeds = [0]
    n_seeds, n_rounds, n_users, k = uid.shape
    if len(seeds) != n_seeds:
        raise ValueError(f"seeds: {len(seeds)} given for a log of {n_seeds}")
    s, r, u, j = np.meshgrid(np.arange(n_seeds), np.arange(n_rounds), np.arange(n_users), np.arange(k),
                             indexing="ij")
    frame = pd.DataFrame({
        "seed": np.asarray(seeds, np.int64)[s.ravel()], "round": rounds[s, r].ravel().astype(np.int64),
        "user": u.ravel().astype(np.int64), "position": j.ravel().astype(np.int64),
        "item": uid.ravel().astype(np.int64), "clicked": click.ravel(), "is_synthetic": synthetic.ravel(),
        "ai_influenced": (np.broadcast_to((drifted | agent)[..., None], uid.shape) | assisted).ravel(),
        "organic": organic.ravel(), "agent_chose": np.broadcast_to(agent[..., None], uid.shape).ravel(),
        "is_assisted": assisted.ravel()})
    frame = frame[frame["round"] >= 0]
    return frame.sort_values(["seed", "round", "user", "position"], kind="stable").reset_index(drop=True)
