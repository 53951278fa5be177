"""Metrics of preference collapse in recommender feedback loops.

A feedback loop collapses when what users consume, and what they come to
prefer, concentrates over time.  The metrics here measure that from four
angles:

* concentration of consumption over the catalog: ``entropy``,
  ``effective_number``, ``gini``, ``coverage``, ``long_tail_share``;
* how alike users' consumption becomes: ``jaccard_homogenization`` (the
  homogenization measure of Chaney, Stewart & Engelhardt, RecSys 2018),
  with ``sample_pairs`` for large populations;
* what a single feed offers: ``intra_list_diversity`` and ``novelty``;
* where preferences themselves go: ``preference_drift`` (away from where
  each user started) and ``preference_spread`` (away from each other);

plus the plain rates ``share`` and ``mean_utility``.

They work equally on simulated state and on real interaction logs.  Every
array function is pure, jit-able (static shapes, no Python branching on
values) and accepts numpy or JAX arrays; per-item functions take an optional
boolean ``where`` mask (for instance the catalog's ``alive`` mask) and ignore
masked-out entries entirely, so a catalog that grows or retires items keeps a
fixed array shape.  Functions take one unbatched case; use ``jax.vmap`` for
batches of runs.  :func:`labkit.analysis.logs.interaction_metrics` applies
them round by round to a table of ``(user, item, round)`` rows.

Shape errors are raised eagerly, while tracing; value conditions (negative
counts, out-of-range indices) cannot be checked under jit and are documented
per function instead.
"""

from __future__ import annotations

from fractions import Fraction
from functools import partial
from numbers import Real

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

__all__ = [
    "entropy",
    "effective_number",
    "gini",
    "coverage",
    "long_tail_share",
    "jaccard_homogenization",
    "sample_pairs",
    "intra_list_diversity",
    "novelty",
    "preference_drift",
    "preference_spread",
    "share",
    "mean_utility",
]


# ---------------------------------------------------------------------------
# helpers


def _shape_error(name: str, expected: str, received: tuple) -> ValueError:
    return ValueError(f"`{name}` must have shape {expected}, received shape {received}")


def _array(x, name: str, ndim: int, expected: str, dtype=None) -> Array:
    x = jnp.asarray(x, dtype=dtype)
    if x.ndim != ndim:
        raise _shape_error(name, expected, x.shape)
    return x


def _counts_and_mask(counts, where) -> tuple[Float[Array, "items"], Bool[Array, "items"]]:
    """Counts as floats with masked-out entries zeroed, and the mask itself."""
    counts = _array(counts, "counts", 1, "(items,)", dtype=float)
    if where is None:
        return counts, jnp.ones(counts.shape, dtype=bool)
    where = jnp.asarray(where, dtype=bool)
    if where.shape != counts.shape:
        raise _shape_error("where", f"{counts.shape} (same as `counts`)", where.shape)
    return jnp.where(where, counts, 0.0), where


def _ratio(numerator, denominator) -> Array:
    """numerator / denominator, defined as 0 when the denominator is 0."""
    nonzero = denominator != 0
    # The inner where keeps 0/0 out of the graph so gradients stay finite too.
    return jnp.where(nonzero, numerator / jnp.where(nonzero, denominator, 1), 0.0)


def _ceil_times(fraction: float, n: Int[Array, ""]) -> Int[Array, ""]:
    """ceil(fraction * n) computed exactly for the fraction the caller wrote.

    In float32, 0.3 * 100 rounds to 30.000002 and its ceil to 31; taking
    fraction = a/b as a small rational and splitting n = q*b + r keeps every
    step in integers without overflowing int32.
    """
    ratio = Fraction(fraction).limit_denominator(10_000)
    a, b = ratio.numerator, ratio.denominator
    return (n // b) * a + ((n % b) * a + b - 1) // b


# ---------------------------------------------------------------------------
# concentration of consumption over the catalog


def entropy(
    counts: Float[Array, "items"], where: Bool[Array, "items"] | None = None
) -> Float[Array, ""]:
    """Shannon entropy, in nats, of the distribution counts / sum(counts).

    Args:
      counts: nonnegative count (or weight) per item, shape (items,).
      where: optional mask, shape (items,); False entries are ignored.

    Returns 0 when the (masked) total is 0; empty items contribute 0 (0 log 0 = 0).
    """
    counts, _ = _counts_and_mask(counts, where)
    p = _ratio(counts, jnp.sum(counts))
    # Double where: log(0) must not appear even in the unselected branch, or
    # the gradient becomes NaN.
    positive = p > 0
    return -jnp.sum(jnp.where(positive, p * jnp.log(jnp.where(positive, p, 1.0)), 0.0))


def effective_number(
    counts: Float[Array, "items"], where: Bool[Array, "items"] | None = None
) -> Float[Array, ""]:
    """Effective number of items, exp(entropy) (the Hill number of order 1).

    Args:
      counts: nonnegative count per item, shape (items,).
      where: optional mask, shape (items,); False entries are ignored.

    Equals n for uniform counts over n items and 1 when all mass is on one;
    it is 1 (exp 0) when the total is 0.
    """
    return jnp.exp(entropy(counts, where))


def gini(
    counts: Float[Array, "items"], where: Bool[Array, "items"] | None = None
) -> Float[Array, ""]:
    """Gini coefficient of the counts over the masked items.

    Args:
      counts: nonnegative count per item, shape (items,).
      where: optional mask, shape (items,); False entries are ignored and do
        not count towards n.

    G = sum_i (2i - n - 1) x_(i) / (n * sum x), i = 1..n over the ascending
    sort: 0 when counts are equal, 1 - 1/n when everything is on one of n
    items, 0 when the total is 0.
    """
    counts, mask = _counts_and_mask(counts, where)
    n = jnp.sum(mask)
    # Masked-out entries sort past every real count, so the first n sorted
    # positions are exactly the masked items in ascending order.
    ascending = jnp.sort(jnp.where(mask, counts, jnp.inf))
    rank = jnp.arange(1, counts.shape[0] + 1)
    ascending = jnp.where(rank <= n, ascending, 0.0)
    # Equal counts can round to a hair below 0 in float32; the Gini is never negative.
    return jnp.maximum(_ratio(jnp.sum((2 * rank - n - 1) * ascending), n * jnp.sum(counts)), 0.0)


def coverage(
    counts: Float[Array, "items"], where: Bool[Array, "items"] | None = None
) -> Float[Array, ""]:
    """Fraction of the masked items whose count is positive.

    Args:
      counts: nonnegative count per item, shape (items,).
      where: optional mask, shape (items,); False entries are ignored.

    Returns 0 when no item is masked in.
    """
    counts, mask = _counts_and_mask(counts, where)
    return _ratio(jnp.sum(counts > 0), jnp.sum(mask))


def long_tail_share(
    counts: Float[Array, "items"],
    where: Bool[Array, "items"] | None = None,
    head_fraction: float = 0.2,
    popularity: Float[Array, "items"] | None = None,
) -> Float[Array, ""]:
    """Share of the total count that falls outside the head of the catalog.

    Args:
      counts: nonnegative count per item, shape (items,): what is measured
        (this round's exposure, say).
      where: optional mask, shape (items,); False entries are ignored and do
        not count towards n.
      head_fraction: static Python float in [0, 1]; the head is the
        ceil(head_fraction * n) most popular masked items.  Ties at the head's
        edge are broken by index (lower index in the head).
        The product is computed exactly for the decimal written (0.3 * 100 is
        30, not 31 as in float32).
      popularity: optional, shape (items,): what ranks the items into head and
        tail (for example the exposure each item had *before* this round, the
        usual long-tail definition).  Defaults to ``counts`` itself, which
        makes the share a measure of concentration within ``counts``.

    Uniform counts over 10 items give 0.8; returns 0 when the total is 0.
    Under ``jax.jit`` pass ``head_fraction`` as a static argument.
    """
    if isinstance(head_fraction, bool) or not isinstance(head_fraction, Real):
        raise TypeError(
            "`head_fraction` must be a static Python float (under jax.jit, mark it "
            f"static or close over it), received {type(head_fraction).__name__}"
        )
    if not 0.0 <= head_fraction <= 1.0:
        raise ValueError(f"`head_fraction` must lie in [0, 1], received {head_fraction}")
    counts, mask = _counts_and_mask(counts, where)
    rank_by = counts if popularity is None else jnp.asarray(popularity, counts.dtype)
    if rank_by.shape != counts.shape:
        raise _shape_error("popularity", str(counts.shape), rank_by.shape)
    head_size = _ceil_times(float(head_fraction), jnp.sum(mask))
    # A stable sort on negated popularity puts the most popular first and, among
    # ties, the lowest index first; masked-out entries sink to the end as -inf.
    order = jnp.argsort(-jnp.where(mask, rank_by, -jnp.inf), stable=True)
    in_head = jnp.zeros(counts.shape, bool).at[order].set(jnp.arange(counts.shape[0]) < head_size)
    head_total = jnp.sum(jnp.where(in_head, counts, 0.0))
    total = jnp.sum(counts)
    return _ratio(total - head_total, total)


# ---------------------------------------------------------------------------
# similarity between users


# Pairs are processed this many at a time, bounding the working memory to
# batch * w**2 comparisons instead of p * w**2 (gigabytes for all pairs of a
# thousand users).
_PAIR_BATCH = 1024


def jaccard_homogenization(
    item_sets: Int[Array, "users w"], pairs: Int[Array, "p 2"] | None = None, presorted: bool = False
) -> Float[Array, ""]:
    """Mean Jaccard index |A ∩ B| / |A ∪ B| between users' item sets.

    This is the homogenization measure of Chaney, Stewart & Engelhardt
    (RecSys 2018): 1 when every user consumed the same items, 0 when no two
    overlap.

    Args:
      item_sets: shape (users, w); row u lists the items user u consumed,
        padded with negative values.  Duplicates within a row count once.
      pairs: optional user index pairs, shape (p, 2); default all pairs i < j
        (users * (users - 1) / 2 of them; pass ``sample_pairs(...)`` for
        large populations).  Indices must lie in [0, users): under jit,
        out-of-range indices are clamped rather than reported.
      presorted: static; True when every row is already in ascending order
        (the loop keeps its users' histories sorted), which skips the sort.

    Pairs whose union is empty are excluded from the mean; returns 0 when no
    pair remains.
    """
    item_sets = _array(item_sets, "item_sets", 2, "(users, w)")
    if pairs is None:
        pairs = np.stack(np.triu_indices(item_sets.shape[0], k=1), axis=1)
    pairs = _array(pairs, "pairs", 2, "(p, 2)")
    if pairs.shape[1] != 2:
        raise _shape_error("pairs", "(p, 2)", pairs.shape)
    if item_sets.shape[1] == 0 or pairs.shape[0] == 0:
        return jnp.zeros((), dtype=float)
    return _mean_jaccard(item_sets, pairs, bool(presorted))


@partial(jax.jit, static_argnums=2)
def _mean_jaccard(item_sets: Int[Array, "users w"], pairs: Int[Array, "p 2"], presorted: bool = False
                  ) -> Float[Array, ""]:
    # Compiled as one unit so that eager callers (interaction_metrics) get the
    # batched, fused comparisons too, and compile once per shape.
    n_users = item_sets.shape[0]
    # After sorting a row, a repeated item sits right after its first copy,
    # so "differs from its left neighbour" marks each distinct item once.
    rows = item_sets if presorted else jnp.sort(item_sets, axis=1)
    differs_from_left = jnp.concatenate(
        [jnp.ones((n_users, 1), dtype=bool), rows[:, 1:] != rows[:, :-1]], axis=1
    )
    member = (rows >= 0) & differs_from_left
    set_size = jnp.sum(member, axis=1)

    def intersection_size(pair):
        a, b = rows[pair[0]], rows[pair[1]]
        # b is sorted: each item of a is looked up in it by bisection, so a pair costs
        # O(w log w) and O(w) memory, not a w x w comparison (w grows with the run's
        # length: the loop's histories hold one entry a round). Padding in b cannot
        # match: members of a are nonnegative.
        at = jnp.minimum(jnp.searchsorted(b, a), b.shape[0] - 1)
        return jnp.sum(member[pair[0]] & (b[at] == a))

    intersection = jax.lax.map(intersection_size, pairs, batch_size=_PAIR_BATCH)
    union = set_size[pairs[:, 0]] + set_size[pairs[:, 1]] - intersection
    return _ratio(jnp.sum(_ratio(intersection, union)), jnp.sum(union > 0))


def sample_pairs(key: Array, n_users: int, n_pairs: int) -> Int[Array, "n_pairs 2"]:
    """Random pairs of distinct users, for ``jaccard_homogenization``.

    Args:
      key: a ``jax.random`` key.
      n_users: number of users (at least 2; an int, or a traced integer under ``jax.jit``,
        so one compiled program draws for any number of users).
      n_pairs: number of pairs to draw (static int).

    Pairs are drawn uniformly and independently (with replacement) among
    ordered pairs (i, j) with i != j; order is irrelevant to the Jaccard index.
    """
    if isinstance(n_users, int) and n_users < 2:
        raise ValueError(f"`n_users` must be at least 2 to form a pair, received {n_users}")
    # i from the n users; drawing j from the n - 1 other users and skipping over i
    # keeps j uniform without rejection sampling (which would need dynamic shapes).
    # Both are drawn by one vmapped randint, each from its own key (the same integers
    # as two calls): the compiled program hashes both keys' bits in one pass.
    i, j = jax.vmap(lambda k, high: jax.random.randint(k, (n_pairs,), 0, high))(
        jax.random.split(key), jnp.array([n_users, n_users - 1]))
    j = j + (j >= i)
    return jnp.stack([i, j], axis=1)


# ---------------------------------------------------------------------------
# what a single feed offers


def intra_list_diversity(slate_features: Float[Array, "users k d"]) -> Float[Array, ""]:
    """Mean over users of the mean pairwise cosine distance within each slate.

    Args:
      slate_features: shape (users, k, d); the feature vectors of the k items
        shown to each user.

    Distance is 1 - cosine similarity, averaged over item pairs i < j.  A
    zero vector has no direction and is treated as orthogonal to everything
    (distance 1).  Returns 0 when k < 2 or there are no users.
    """
    slate_features = _array(slate_features, "slate_features", 3, "(users, k, d)", dtype=float)
    n_users, k, _ = slate_features.shape
    if k < 2 or n_users == 0:
        return jnp.zeros((), dtype=float)
    norms = jnp.linalg.norm(slate_features, axis=-1, keepdims=True)
    unit = _ratio(slate_features, norms)
    # sum_{i<j} u_i . u_j = (|sum_i u_i|^2 - sum_i |u_i|^2) / 2: no k x k matrix per user
    # (a batch of tiny matmuls is slow on CPU; this is one pass over the slate).
    total = unit.sum(axis=1)
    pair_similarity = (jnp.sum(total * total, axis=-1) - jnp.sum(unit * unit, axis=(1, 2))) / 2
    per_user = 1.0 - pair_similarity / (k * (k - 1) / 2)
    return jnp.mean(per_user)


def novelty(
    items: Int[Array, "n"],
    popularity: Float[Array, "items"],
    where: Bool[Array, "items"] | None = None,
    weights: Float[Array, "n"] | None = None,
) -> Float[Array, ""]:
    """Mean self-information, in bits, of the exposed items.

    Args:
      items: shape (n,); indices of the items shown or consumed.  Negative
        entries are padding; entries that fall outside [0, items) or on a
        masked-out item are ignored as well.
      popularity: nonnegative prior count per item, shape (items,).
      where: optional mask over the catalog, shape (items,).
      weights: optional count per entry of ``items``, shape (n,): the mean is then
        weighted, so ``items = arange(n_items)`` with the items' counts gives the
        novelty of a consumption count vector without listing its rows.

    Each item's probability is smoothed add-one over the masked catalog,
    p_i = (pop_i + 1) / (sum of masked pop + number of masked items), so
    unseen items stay finite; novelty is the mean of -log2 p_i.  Returns 0
    when no item counts.
    """
    items = _array(items, "items", 1, "(n,)")
    popularity, mask = _counts_and_mask(popularity, where)
    n_catalog = popularity.shape[0]
    in_range = (items >= 0) & (items < n_catalog)
    index = jnp.where(in_range, items, 0)
    counted = in_range & mask[index]
    p = (popularity[index] + 1.0) / (jnp.sum(popularity) + jnp.sum(mask))
    self_information = jnp.where(counted, -jnp.log2(p), 0.0)
    if weights is None:
        return _ratio(jnp.sum(self_information), jnp.sum(counted))
    weights = jnp.asarray(weights, p.dtype)
    if weights.shape != items.shape:
        raise _shape_error("weights", str(items.shape), weights.shape)
    return _ratio(jnp.sum(weights * self_information), jnp.sum(jnp.where(counted, weights, 0.0)))


# ---------------------------------------------------------------------------
# where preferences go


def preference_drift(
    theta: Float[Array, "users topics"], theta0: Float[Array, "#users topics"]
) -> Float[Array, ""]:
    """Mean over users of the total-variation distance between two preference states.

    Args:
      theta: current preferences, shape (users, topics), rows on the simplex.
      theta0: reference preferences (typically the initial ones), same shape;
        a single row of shape (1, topics) is broadcast to every user.

    TV(u) = 0.5 * ||theta_u - theta0_u||_1, in [0, 1] for simplex rows.
    """
    theta = _array(theta, "theta", 2, "(users, topics)", dtype=float)
    theta0 = _array(theta0, "theta0", 2, "(users, topics)", dtype=float)
    if theta0.shape != theta.shape and theta0.shape != (1, theta.shape[1]):
        raise _shape_error("theta0", f"{theta.shape} or (1, {theta.shape[1]})", theta0.shape)
    return jnp.mean(0.5 * jnp.sum(jnp.abs(theta - theta0), axis=1))


def preference_spread(theta: Float[Array, "users topics"]) -> Float[Array, ""]:
    """Mean over users of the total-variation distance to the population mean preference.

    Args:
      theta: preferences, shape (users, topics), rows on the simplex.

    Falls towards 0 as users' preferences converge on one another.
    """
    theta = _array(theta, "theta", 2, "(users, topics)", dtype=float)
    return preference_drift(theta, jnp.mean(theta, axis=0, keepdims=True))


# ---------------------------------------------------------------------------
# plain rates


def share(flags: Bool[Array, "*shape"], where: Bool[Array, "*shape"] | None = None) -> Float[Array, ""]:
    """Fraction of True among the masked entries (e.g. synthetic share of exposure, CTR).

    Args:
      flags: booleans of any shape.
      where: optional mask of the same shape; False entries are ignored.

    Returns 0 when no entry is masked in.
    """
    flags = jnp.asarray(flags, dtype=bool)
    if where is None:
        where = jnp.ones(flags.shape, dtype=bool)
    where = jnp.asarray(where, dtype=bool)
    if where.shape != flags.shape:
        raise _shape_error("where", f"{flags.shape} (same as `flags`)", where.shape)
    return _ratio(jnp.sum(flags & where), jnp.sum(where))


def mean_utility(utility: Float[Array, "users"], clicked: Bool[Array, "users"]) -> Float[Array, ""]:
    """Mean over users of the utility realised by clicking.

    Args:
      utility: utility of the item each user was offered, shape (users,).
      clicked: whether the user clicked it, shape (users,); no click counts 0.
    """
    utility = _array(utility, "utility", 1, "(users,)", dtype=float)
    clicked = jnp.asarray(clicked, dtype=bool)
    if clicked.shape != utility.shape:
        raise _shape_error("clicked", f"{utility.shape} (same as `utility`)", clicked.shape)
    return jnp.mean(jnp.where(clicked, utility, 0.0))
