"""Audit a real interaction log for preference collapse: per-period metrics, trends and an alarm.

A log is a table with one row per consumed item: a user, an item and a time (epoch
seconds or timestamps, bucketed into calendar days, weeks or months) or an existing
``round`` column. Optional provenance columns are used when present:

* ``is_synthetic``: the item was made by a generative model (one value per item);
* ``ai_influenced`` (or ``agent``): the interaction was made or nudged by AI;
* ``creator``: who made the item;
* ``clicked`` (or ``click``): the rows are impressions (what was shown) and this says
  which were consumed. The consumption metrics then read the clicked rows, the catalog
  is every item shown so far, and each period also gets ``impressions``, ``ctr``,
  ``exposure_entropy`` (of what was shown) and, with ``is_synthetic``,
  ``synthetic_exposure_share`` and ``source_bias``: the synthetic share of exposure
  minus the synthetic share of the catalog, the "source bias" of Zhou et al. (SIGIR
  2025) when positive;
* ``weight`` (watch time, say): item, creator and feature counts become sums of the
  rows' weights, and ``weight_per_user`` is the engagement (``interactions`` stay rows);
* ``rating``: ``mean_rating`` of the period's rows, reported and trend-tested, never
  part of the alarm.

With ``item_features`` (item -> genre, topic or cluster; ``labkit.datasets.ml_100k_genres``
for MovieLens) each period also gets ``taste_entropy``, the mean over its users of the
entropy of their consumption over features (how narrow each user's taste is), and
``feature_entropy``, the entropy of all consumption over features; both are diversity
metrics of the alarm.

:func:`audit` measures every period with the array functions of
:mod:`labkit.sim.metrics`, so a number here means what it means in the simulation:

* ``consumption_entropy``, ``effective_items``, ``gini``, ``coverage`` over the
  period's item counts, the catalog being every item seen in the log up to and
  including the period (the simulation's ``alive`` mask; an item not released yet
  cannot be consumed), or with ``catalog="lifetime"`` the items not yet retired;
* ``long_tail_share``: share of the period's consumption outside the head, the head
  being the 20% most consumed items of the *earlier* periods (never the future); NaN
  in the first period, which has no past;
* ``novelty``: mean self-information (bits) of the period's items against the counts
  of earlier periods; NaN in the first period;
* ``homogenization``: mean Jaccard overlap between the item sets that two users
  active in the period consumed in it, on ``n_pairs`` sampled pairs (all pairs when
  there are no more than that), with a 95% confidence interval;
* ``interactions_per_user``: rows per active user, the engagement a dashboard shows;
* with provenance: ``synthetic_catalog_share`` (of the items seen so far),
  ``synthetic_share`` (of the period's consumption), ``ai_influenced_share`` (of the
  period's rows: what would go into training), ``creator_gini`` and
  ``creator_effective`` (concentration of consumption over the creators seen so far).

Every metric is also measured on the human rows and on the AI-influenced rows alone
(``group`` column) when the log says which are which.

:func:`trends` tests each metric for a monotone trend over periods (Mann-Kendall:
Kendall's tau of the metric against the period index, with the Theil-Sen slope and
its 95% interval) and :func:`alarm` turns them into a plain-language verdict: the
diversity metrics that move significantly towards collapse (Holm-corrected over the
diversity metrics) while engagement does not fall.

Nothing here is O(users^2) or O(users x items): counts are bincounts over integer
codes, per-period arrays are periods x items, and pairs are sampled.

Duplicate rows (the same user, item and time) are kept as repeat interactions by
default (``duplicates="keep"``); ``"drop"`` keeps the first, ``"error"`` refuses them.
Their number is reported either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from labkit.analysis.audit_log import (
    DUPLICATE_POLICIES,
    AuditError,
    duplicated,
    feature_codes,
    flags,
    ids,
    numbers,
    period_of_rows,
    resolve_columns,
)
from labkit.sim.metrics import (
    coverage,
    effective_number,
    entropy,
    gini,
    long_tail_share,
    novelty,
    sample_pairs,
)

CATALOGS = ("so_far", "lifetime")

# Direction of collapse for each diversity metric the alarm tests: -1 when it falls, +1
# when it rises. Novelty is measured but not tested: against the cumulative counts of the
# earlier periods (the simulation's definition) it falls even in a stationary log, as the
# add-one smoothing fades and the counts settle.
COLLAPSE_DIRECTION = {
    "consumption_entropy": -1,
    "effective_items": -1,
    "gini": +1,
    "coverage": -1,
    "long_tail_share": -1,
    "homogenization": +1,
    "exposure_entropy": -1,  # of what was shown: only with impression rows
    "taste_entropy": -1,  # users' consumption over item features: only with item_features
    "feature_entropy": -1,
}
ENGAGEMENT = "interactions_per_user"
# With impression rows the dashboard's engagement is the click-through rate: interactions per
# active user can stay flat by construction (one click per slate at most).
IMPRESSION_ENGAGEMENT = "ctr"
# With a weight column (watch time, say) the dashboard's engagement is weight per active user.
WEIGHT_ENGAGEMENT = "weight_per_user"


def engagement_metric(table: pd.DataFrame) -> str:
    """The engagement metric of an audit: ``ctr`` when the log has impressions (a ``metric``
    or column of that name in ``table``), else ``weight_per_user`` when it has weights, else
    ``interactions_per_user``."""
    names = set(table["metric"]) if "metric" in table.columns else set(table.columns)
    for metric in (IMPRESSION_ENGAGEMENT, WEIGHT_ENGAGEMENT):
        if metric in names:
            return metric
    return ENGAGEMENT


_CONCENTRATION = ("consumption_entropy", "effective_items", "gini", "coverage")


@dataclass(frozen=True)
class Audit:
    """What :func:`audit` returns.

    periods: one row per (period, group): the metrics.
    trends: one row per (group, metric): Kendall's tau, p-value, Theil-Sen slope and interval.
    summary: the alarm's plain-language verdict.
    alarm: True when diversity falls significantly while engagement holds.
    info: counts of what was read (rows, users, items, periods, duplicates, columns used).
    """

    periods: pd.DataFrame
    trends: pd.DataFrame
    summary: str
    alarm: bool
    info: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# metrics


def _counts(period: np.ndarray, codes: np.ndarray, n_periods: int, n: int, weights: np.ndarray | None = None
            ) -> np.ndarray:
    """periods x n matrix of row counts per code (sums of ``weights`` when given)."""
    return np.bincount(period * n + codes, weights=weights, minlength=n_periods * n).reshape(n_periods, n).astype(
        np.float32)


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct values of ``keys``, sorted (``np.unique``'s answer, from one plain sort:
    numpy's vectorized sort of int64 keys is an order of magnitude faster than a hash table
    on tens of millions of rows, and its cost grows as n log n with a small constant)."""
    ordered = np.sort(keys)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])] if len(ordered) else ordered


def _seen_mask(period: np.ndarray, codes: np.ndarray, n_periods: int, n: int, catalog: str = "so_far"
               ) -> np.ndarray:
    """periods x n: the catalog of each period. ``so_far``: the code has appeared in the
    period or before; ``lifetime``: the period lies between the code's first and last row."""
    first = np.full(n, n_periods, dtype=np.int64)
    np.minimum.at(first, codes, period)
    live = np.arange(n_periods)[:, None] >= first[None, :]
    if catalog == "lifetime":
        last = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last, codes, period)
        live &= np.arange(n_periods)[:, None] <= last[None, :]
    return live


def _concentration(counts: np.ndarray, seen: np.ndarray) -> dict[str, jax.Array]:
    """Entropy, effective number, Gini and coverage of each period's counts, over the seen codes."""
    return {name: jax.vmap(metric)(counts, seen) for name, metric in
            zip(_CONCENTRATION, (entropy, effective_number, gini, coverage))}


_jit_concentration = jax.jit(_concentration)


@partial(jax.jit, static_argnames="head_fraction")
def _item_metrics(counts, seen, past, head_fraction: float) -> dict[str, jax.Array]:
    """Every per-item metric of each period, in one compiled program (one compile per log shape).

    ``long_tail_share``: the head is ranked over the items seen before the period by the
    earlier periods' counts; long_tail_share ranks and measures over that earlier catalog,
    and its head's total is then set against everything consumed, new items included
    (they are tail). ``novelty``: the period's item counts (as weights of every item)
    against the earlier counts.
    """
    before = jnp.concatenate([jnp.zeros_like(seen[:1]), seen[:-1]])
    masked = jnp.where(before, counts, 0.0)
    earlier_tail = jax.vmap(lambda c, p, w: long_tail_share(c, w, head_fraction=head_fraction, popularity=p))(
        masked, past, before)
    head = masked.sum(axis=1) * (1.0 - earlier_tail)
    return {**_concentration(counts, seen), "long_tail_share": (counts.sum(axis=1) - head) / counts.sum(axis=1),
            "novelty": jax.vmap(lambda c, p, s: novelty(jnp.arange(c.shape[0]), p, s, weights=c))(counts, past, seen)}


# One compiled sampler for every period's number of active users (the same integers as an
# eager call of sample_pairs: a traced bound draws what a constant one does).
_sample_pairs = jax.jit(sample_pairs, static_argnums=2)


def _user_sets(period: np.ndarray, users: np.ndarray, items: np.ndarray, n_items: int
               ) -> tuple[np.ndarray, int]:
    """The distinct (period, user, item) keys ``(period * n_users + user) * n_items + item``,
    sorted, and ``n_users``: each (period, user)'s item set is a contiguous run."""
    n_users = int(users.max()) + 1 if len(users) else 1
    return _distinct((period.astype(np.int64) * n_users + users) * n_items + items), n_users


def _homogenization(distinct: np.ndarray, n_users: int, n_periods: int, n_items: int,
                    n_pairs: int | None, key: jax.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean Jaccard of the period's item sets over pairs of users active in it, and its 95% CI.

    ``distinct`` and ``n_users`` come from :func:`_user_sets`. All pairs when there are at
    most ``n_pairs`` (or ``n_pairs`` is None); otherwise ``n_pairs`` pairs drawn with
    :func:`labkit.sim.metrics.sample_pairs`. Work is one pass over the sets and the pairs'
    set sizes, never users x users.
    """
    mean, low, high = (np.full(n_periods, np.nan) for _ in range(3))
    if len(distinct) == 0:
        return mean, low, high
    key_user = distinct // n_items  # period * n_users + user: one set per (period, user)
    first = np.concatenate([[True], key_user[1:] != key_user[:-1]])
    all_starts = np.flatnonzero(first)
    all_keys = key_user[first]
    all_sizes = np.diff(np.append(all_starts, len(distinct)))
    bounds = np.searchsorted(all_keys // n_users, np.arange(n_periods + 1))
    for t in range(n_periods):
        pair_keys, set_start, set_size = (x[bounds[t]:bounds[t + 1]] for x in (all_keys, all_starts, all_sizes))
        n_active = len(pair_keys)
        if n_active < 2:
            continue
        if n_pairs is None or n_active * (n_active - 1) // 2 <= n_pairs:
            pairs = np.stack(np.triu_indices(n_active, k=1), axis=1)
            exact = True
        else:
            pairs = np.asarray(_sample_pairs(jax.random.fold_in(key, t), np.int32(n_active), n_pairs))
            exact = False
        a, b = pairs[:, 0], pairs[:, 1]
        # Every item of a looked up in b's set (sorted keys): intersection sizes.
        length = set_size[a]
        offset = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
        probe = distinct[np.repeat(set_start[a], length) + offset] % n_items + np.repeat(pair_keys[b], length) * n_items
        found = np.searchsorted(distinct, probe)
        hit = distinct[np.minimum(found, len(distinct) - 1)] == probe
        intersection = np.bincount(np.repeat(np.arange(len(pairs)), length), weights=hit, minlength=len(pairs))
        jaccard = intersection / (set_size[a] + set_size[b] - intersection)
        mean[t] = jaccard.mean()
        half = 0.0 if exact else 1.96 * jaccard.std(ddof=1) / np.sqrt(len(jaccard))
        low[t], high[t] = mean[t] - half, mean[t] + half
    return mean, low, high


_jit_entropy = jax.jit(jax.vmap(entropy))


def _taste(period, users, items, weights, offsets, features, n_features, n_periods) -> dict[str, np.ndarray]:
    """Taste concentration over item features (an item with k features gives each 1/k of
    its row's weight): ``taste_entropy``, the mean over the period's users of the entropy
    (nats) of their consumption over features; ``feature_entropy``, the entropy of the
    whole period's consumption over features. Rows of items without a feature are left out.
    One sort of (period, user, feature) keys; never users x features."""
    out = {"taste_entropy": np.full(n_periods, np.nan), "feature_entropy": np.full(n_periods, np.nan)}
    k = np.diff(offsets)[items]
    if k.sum() == 0:
        return out
    rows = np.repeat(np.arange(len(items)), k)  # one entry per (row, feature of its item)
    position = np.arange(len(rows)) - np.repeat(np.cumsum(k) - k, k)
    feature = features[offsets[items][rows] + position]
    share = (np.ones(len(items)) if weights is None else weights)[rows] / k[rows]
    by_feature = np.bincount(period[rows] * n_features + feature, weights=share,
                             minlength=n_periods * n_features).reshape(n_periods, n_features).astype(np.float32)
    out["feature_entropy"] = np.where(by_feature.sum(axis=1) > 0, np.asarray(_jit_entropy(by_feature), dtype=float),
                                      np.nan)
    n_users = int(users.max()) + 1
    keys = (period[rows].astype(np.int64) * n_users + users[rows]) * n_features + feature
    order = np.argsort(keys, kind="stable")
    keys, share = keys[order], share[order]
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    mass, user_key = np.add.reduceat(share, starts), keys[starts] // n_features  # per (period, user, feature)
    user_starts = np.flatnonzero(np.concatenate([[True], user_key[1:] != user_key[:-1]]))
    denominator = np.repeat(np.add.reduceat(mass, user_starts), np.diff(np.append(user_starts, len(mass))))
    p = np.divide(mass, denominator, out=np.zeros_like(mass), where=denominator > 0)
    user_entropy = np.add.reduceat(np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0), user_starts)
    user_period = user_key[user_starts] // n_users
    n_active = np.bincount(user_period, minlength=n_periods)
    out["taste_entropy"] = np.divide(np.bincount(user_period, weights=user_entropy, minlength=n_periods), n_active,
                                     out=out["taste_entropy"], where=n_active > 0)
    return out


def _measure(period, users, items, n_periods, n_items, seen, past, head_fraction, n_pairs, key,
             synthetic=None, ai=None, creator=None, n_creators=0, creator_seen=None, weights=None, rating=None,
             taste=None) -> dict[str, np.ndarray]:
    """Every metric of one group's rows, one value per period. With ``weights`` the item,
    creator and feature counts are sums of the rows' weights; ``interactions`` stays rows."""
    counts = _counts(period, items, n_periods, n_items, weights)
    rows = np.bincount(period, minlength=n_periods).astype(np.float32)
    total = counts.sum(axis=1)
    distinct, n_users = _user_sets(period, users, items, n_items)
    key_user = distinct // n_items
    new_user = np.concatenate([[True], key_user[1:] != key_user[:-1]]) if len(distinct) else np.zeros(0, bool)
    active_users = np.bincount(key_user[new_user] // n_users, minlength=n_periods).astype(float)
    out = {"interactions": rows, "active_users": active_users,
           ENGAGEMENT: np.divide(rows, active_users, out=np.full(n_periods, np.nan), where=active_users > 0)}
    if weights is not None:
        out[WEIGHT_ENGAGEMENT] = np.divide(total, active_users, out=np.full(n_periods, np.nan), where=active_users > 0)
    if rating is not None:
        out["mean_rating"] = np.divide(np.bincount(period, weights=rating, minlength=n_periods), rows,
                                       out=np.full(n_periods, np.nan), where=rows > 0)
    metrics = _item_metrics(counts, seen, past, head_fraction=head_fraction)
    out.update({name: np.asarray(metrics[name], dtype=float) for name in (*_CONCENTRATION, "long_tail_share",
                                                                           "novelty")})
    out["long_tail_share"][0] = out["novelty"][0] = np.nan  # no past
    h, low, high = _homogenization(distinct, n_users, n_periods, n_items, n_pairs, key)
    out.update(homogenization=h, homogenization_low=low, homogenization_high=high)
    empty = total == 0
    for name in _CONCENTRATION + ("long_tail_share", "novelty"):
        out[name] = np.where(empty, np.nan, out[name])
    if synthetic is not None:
        synthetic_mass = synthetic if weights is None else synthetic * weights
        out["synthetic_share"] = np.divide(np.bincount(period, weights=synthetic_mass, minlength=n_periods), total,
                                           out=np.full(n_periods, np.nan), where=total > 0)
    if ai is not None:
        out["ai_influenced_share"] = np.divide(np.bincount(period, weights=ai, minlength=n_periods), rows,
                                               out=np.full(n_periods, np.nan), where=rows > 0)
    if creator is not None:
        by_creator = _jit_concentration(_counts(period, creator, n_periods, n_creators, weights), creator_seen)
        out["creator_gini"] = np.where(empty, np.nan, np.asarray(by_creator["gini"], dtype=float))
        out["creator_effective"] = np.where(empty, np.nan, np.asarray(by_creator["effective_items"], dtype=float))
    if taste is not None:
        out.update(_taste(period, users, items, weights, *taste, n_periods))
    return out


def _exposure(period, items, synthetic, frame, n_periods, n_items, seen) -> dict[str, np.ndarray]:
    """Impression metrics of one group's shown rows, one value per period."""
    counts = _counts(period, items, n_periods, n_items)
    shown = counts.sum(axis=1)
    out = {"impressions": shown,
           "ctr": np.divide(frame["interactions"].to_numpy(float), shown, out=np.full(n_periods, np.nan),
                            where=shown > 0),
           "exposure_entropy": np.where(shown > 0, np.asarray(_jit_concentration(counts, seen)["consumption_entropy"],
                                                              dtype=float), np.nan)}
    if synthetic is not None:
        out["synthetic_exposure_share"] = np.divide(np.bincount(period, weights=synthetic, minlength=n_periods), shown,
                                                    out=np.full(n_periods, np.nan), where=shown > 0)
        out["source_bias"] = out["synthetic_exposure_share"] - frame["synthetic_catalog_share"].to_numpy(float)
    return out


def audit(
    table: pd.DataFrame,
    *,
    period: str | None = "month",
    columns: Mapping[str, str] | None = None,
    n_pairs: int | None = 2000,
    head_fraction: float = 0.2,
    catalog: str = "so_far",
    duplicates: str = "keep",
    alpha: float = 0.05,
    seed: int = 0,
    item_features: pd.DataFrame | None = None,
) -> Audit:
    """Collapse metrics per period of an interaction log, their trends and the alarm.

    Args:
      table: one row per consumed item; see the module docstring for the columns.
      period: ``"day"``, ``"week"`` or ``"month"`` buckets the time column (epoch
        seconds or timestamps); None uses a ``round`` column as the periods.
      columns: role -> column name, for logs whose names differ: roles ``user``,
        ``item``, ``time``, ``round``, ``is_synthetic``, ``ai_influenced``, ``creator``,
        ``clicked``.
      n_pairs: user pairs sampled per period for homogenization (None: all pairs of
        the period's active users, which grows as their square).
      head_fraction: the head of the long tail, as a fraction of the earlier catalog.
      catalog: the items a period's coverage, Gini and long-tail head are measured over.
        ``so_far``: every item seen up to the period. ``lifetime``: the items whose
        first row is at or before the period and whose last row is at or after it (the
        items still live; it reads the log's end, as availability, never popularity).
        Where items retire (a catalog that turns over), ``so_far`` keeps the retired
        ones, and coverage, Gini and the long-tail share drift towards collapse in any
        log whose consumption does not grow with the catalog: use ``lifetime`` there.
      duplicates: rows with the same user, item and time: ``keep`` (repeat
        interactions), ``drop`` (keep the first) or ``error``.
      alpha: significance level of the trend tests.
      seed: seed of the pair sampling.
      item_features: a table with columns ``item`` and ``feature`` (genres, topics or
        clusters; one row per item and feature): adds ``taste_entropy`` and
        ``feature_entropy``, the concentration of consumption over features (see
        :func:`_taste`).
    """
    if not isinstance(table, pd.DataFrame):
        raise AuditError(f"expected a pandas DataFrame, received {type(table).__name__}")
    if len(table) == 0:
        raise AuditError("the log is empty; expected at least one row per period over two or more periods")
    if duplicates not in DUPLICATE_POLICIES:
        raise AuditError(f"duplicates={duplicates!r}: expected one of {list(DUPLICATE_POLICIES)}")
    if n_pairs is not None and n_pairs < 2:
        raise AuditError(f"n_pairs={n_pairs}: expected at least 2 (or None for all pairs)")
    names = resolve_columns(table, columns, period)
    time_column = names["round"] if period is None else names["time"]
    key_columns = [names["user"], names["item"], time_column]
    users, user_ids = ids(table[names["user"]], names["user"])
    items, item_ids = ids(table[names["item"]], names["item"])
    n_users, n_items = len(user_ids), len(item_ids)
    duplicate = duplicated(users, items, n_items, table[time_column])
    n_duplicates = int(duplicate.sum())
    if n_duplicates and duplicates == "error":
        raise AuditError(f"{n_duplicates} duplicate row(s) (same {key_columns}); expected none "
                         f"(or duplicates='keep' / 'drop')")
    if n_duplicates and duplicates == "drop":  # a dropped row never holds an id's first row: codes stand
        table, users, items = table[~duplicate], users[~duplicate], items[~duplicate]
    table = table.reset_index(drop=True)

    period_of_row, labels = period_of_rows(table, time_column, period)
    n_periods = len(labels)
    if n_periods < 2:
        raise AuditError(f"column {time_column!r} gives a single period ({labels[0]}); expected two or more "
                         f"for a trend (try a shorter period)")
    synthetic = flags(table[names["is_synthetic"]], names["is_synthetic"]) if "is_synthetic" in names else None
    ai = flags(table[names["ai_influenced"]], names["ai_influenced"]) if "ai_influenced" in names else None
    creator, creator_ids = ids(table[names["creator"]], names["creator"]) if "creator" in names else (None, [])
    n_creators = len(creator_ids)
    weights = numbers(table[names["weight"]], names["weight"], nonnegative=True) if "weight" in names else None
    rating = numbers(table[names["rating"]], names["rating"]) if "rating" in names else None
    taste = None
    if item_features is not None:
        offsets, features, feature_labels = feature_codes(item_features, item_ids)
        taste = (offsets, features, len(feature_labels))
    consumed = flags(table[names["clicked"]], names["clicked"]) if "clicked" in names else np.ones(len(table), bool)
    if synthetic is not None:
        rows_of_item = np.bincount(items, minlength=n_items)
        synthetic_rows = np.bincount(items, weights=synthetic, minlength=n_items)
        mixed = (synthetic_rows > 0) & (synthetic_rows < rows_of_item)
        if mixed.any():
            raise AuditError(f"column {names['is_synthetic']!r} is both true and false for {int(mixed.sum())} "
                             f"item(s); expected one value per item")

    if catalog not in CATALOGS:
        raise AuditError(f"catalog={catalog!r}: expected one of {list(CATALOGS)}")
    seen = _seen_mask(period_of_row, items, n_periods, n_items, catalog)  # items shown (or consumed)
    all_counts = _counts(period_of_row[consumed], items[consumed], n_periods, n_items,
                         None if weights is None else weights[consumed])
    past = np.vstack([np.zeros((1, n_items), np.float32), np.cumsum(all_counts, axis=0)[:-1]])
    creator_seen = _seen_mask(period_of_row, creator, n_periods, n_creators, catalog) if creator is not None else None
    key = jax.random.PRNGKey(seed)

    groups = {"all": np.ones(len(table), dtype=bool)}
    if ai is not None:
        groups.update(human=~ai, ai_influenced=ai)
    frames = []
    for group, shown in groups.items():
        rows = shown & consumed

        def pick(x, rows=rows):
            return None if x is None else x[rows]
        values = _measure(period_of_row[rows], users[rows], items[rows], n_periods, n_items,
                          seen, past, head_fraction, n_pairs, key, synthetic=pick(synthetic), ai=pick(ai),
                          creator=pick(creator), n_creators=n_creators, creator_seen=creator_seen,
                          weights=pick(weights), rating=pick(rating), taste=taste)
        frame = pd.DataFrame({"period": labels, "period_index": np.arange(n_periods), "group": group, **values})
        if synthetic is not None:
            item_synthetic = np.zeros(n_items)
            item_synthetic[items] = synthetic
            frame.insert(3, "synthetic_catalog_share", (seen * item_synthetic).sum(axis=1) / seen.sum(axis=1))
        if "clicked" in names:
            frame = frame.assign(**_exposure(period_of_row[shown], items[shown],
                                             None if synthetic is None else synthetic[shown], frame, n_periods,
                                             n_items, seen))
        frames.append(frame)
    periods = pd.concat(frames, ignore_index=True)
    trend_table = trends(periods, alpha=alpha)
    fired, summary = alarm(trend_table, alpha=alpha)
    info = {"rows": len(table), "users": n_users, "items": n_items, "periods": n_periods,
            "first_period": labels[0], "last_period": labels[-1], "duplicate_rows": n_duplicates,
            "duplicates": duplicates, "columns": names, "period": period or "round", "n_pairs": n_pairs,
            "catalog": catalog, "item_features": None if taste is None else len(feature_labels),
            "head_fraction": head_fraction, "alpha": alpha, "seed": seed}
    return Audit(periods=periods, trends=trend_table, summary=summary, alarm=fired, info=info)


# ---------------------------------------------------------------------------
# trends and the alarm

_NOT_METRICS = {"period", "period_index", "group", "homogenization_low", "homogenization_high"}


def trends(periods: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mann-Kendall trend test of every metric over periods, per group.

    One row per (group, metric): ``n_periods`` (periods with a value), ``tau`` and
    ``p_value`` (Kendall's tau of the metric against the period index, two-sided),
    ``slope`` with ``slope_low``/``slope_high`` (Theil-Sen, per period, 1 - alpha interval).
    """
    from scipy import stats

    records = []
    for group, frame in periods.groupby("group", sort=False):
        for metric in [c for c in frame.columns if c not in _NOT_METRICS]:
            valid = frame[metric].notna().to_numpy()
            x, y = frame["period_index"].to_numpy()[valid], frame[metric].to_numpy(dtype=float)[valid]
            record = {"group": group, "metric": metric, "n_periods": int(valid.sum()), "tau": np.nan,
                      "p_value": np.nan, "slope": np.nan, "slope_low": np.nan, "slope_high": np.nan}
            if len(x) >= 3 and np.ptp(y) > 0:
                tau = stats.kendalltau(x, y)
                slope = stats.theilslopes(y, x, alpha=1 - alpha)
                record.update(tau=float(tau.statistic), p_value=float(tau.pvalue), slope=float(slope.slope),
                              slope_low=float(slope.low_slope), slope_high=float(slope.high_slope))
            elif len(x) >= 3:  # constant: no trend at all
                record.update(tau=0.0, p_value=1.0, slope=0.0, slope_low=0.0, slope_high=0.0)
            records.append(record)
    return pd.DataFrame.from_records(records)


def _holm(p_values: np.ndarray, alpha: float) -> np.ndarray:
    """Which of the p-values are significant under Holm's step-down correction."""
    order = np.argsort(p_values)
    significant = np.zeros(len(p_values), dtype=bool)
    for rank, index in enumerate(order):
        if not p_values[index] <= alpha / (len(p_values) - rank):
            break
        significant[index] = True
    return significant


def verdicts(trend_table: pd.DataFrame, alpha: float = 0.05) -> dict[str, str]:
    """Each diversity metric of group ``all`` (:data:`COLLAPSE_DIRECTION`) with a trend test:
    ``"towards collapse"`` or ``"away from collapse"`` where its trend is significant after
    Holm's correction over those metrics, else ``"no significant trend"``; and the engagement
    metric (:func:`engagement_metric`), where tested: ``"falling"`` when its trend is
    significantly down (alpha, uncorrected), else ``"holds"``."""
    rows = trend_table[trend_table["group"] == "all"].set_index("metric")
    tested = rows.loc[[m for m in COLLAPSE_DIRECTION if m in rows.index]].dropna(subset=["p_value"])
    significant = _holm(tested["p_value"].to_numpy(), alpha)
    toward = np.sign(tested["tau"].to_numpy()) == np.array([COLLAPSE_DIRECTION[m] for m in tested.index])
    out = {metric: ("no significant trend" if not sig else "towards collapse" if tow else "away from collapse")
           for metric, sig, tow in zip(tested.index, significant, toward)}
    engaged = engagement_metric(trend_table)
    if engaged in rows.index and not np.isnan(rows.loc[engaged, "p_value"]):
        falls = rows.loc[engaged, "p_value"] <= alpha and rows.loc[engaged, "tau"] < 0
        out[engaged] = "falling" if falls else "holds"
    return out


def alarm(trend_table: pd.DataFrame, alpha: float = 0.05) -> tuple[bool, str]:
    """The collapse alarm: diversity metrics moving towards collapse while engagement holds.

    A diversity metric (:data:`COLLAPSE_DIRECTION`) counts when its trend over the
    whole log (group ``all``) points towards collapse and is significant after Holm's
    correction over the diversity metrics tested; engagement holds when its metric
    (:func:`engagement_metric`: CTR with impression rows, else interactions per active
    user) does not fall significantly. Returns (fired, summary).
    """
    rows = trend_table[trend_table["group"] == "all"].set_index("metric")
    verdict = verdicts(trend_table, alpha)
    collapsing = [m for m, said in verdict.items() if said == "towards collapse"]
    recovering = [m for m, said in verdict.items() if said == "away from collapse"]
    engaged = engagement_metric(trend_table)
    engagement = rows.loc[engaged] if engaged in rows.index else None
    falls = verdict.get(engaged) == "falling"
    lines = []
    if collapsing and not falls:
        lines.append(f"ALARM: diversity is falling while engagement holds. Moving towards collapse "
                     f"(Mann-Kendall, Holm-corrected, alpha {alpha}): "
                     + ", ".join(f"{m} (tau {rows.loc[m, 'tau']:+.2f}, p {rows.loc[m, 'p_value']:.3g})"
                                 for m in collapsing) + ".")
    elif collapsing:
        lines.append("Diversity is falling, but so is engagement: a shrinking log, not the silent failure. "
                     "Falling: " + ", ".join(collapsing) + ".")
    else:
        lines.append(f"No alarm: no diversity metric moves significantly towards collapse "
                     f"(Mann-Kendall, Holm-corrected, alpha {alpha}).")
    if recovering:
        lines.append("Moving away from collapse: " + ", ".join(recovering) + ".")
    if engagement is not None and not np.isnan(engagement["tau"]):
        lines.append(f"Engagement ({engaged}): tau {engagement['tau']:+.2f}, p {engagement['p_value']:.3g}"
                     f"{' (falling)' if falls else ' (holds)'}.")
    return bool(collapsing and not falls), "\n".join(lines)
