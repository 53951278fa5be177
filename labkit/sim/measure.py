"""Measurement, step 7 of a round: every metric of the loop declared once, with its label.

A :class:`Metric` is a name, a figure label (with units) and a pure function of the
:class:`RoundView`, what one round showed: the slates, the clicks, the catalog, the
users and the training totals after the round. :data:`METRICS` lists them in the order
of the tables; ``METRIC_NAMES``, the loop's metric dict and the figures' labels all
derive from it, so a new metric is one entry here (and its test). The functions
themselves are the pure array functions of :mod:`labkit.sim.metrics`, which also measure
real interaction logs.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from labkit.sim import data as data_mod
from labkit.sim import metrics as M
from labkit.sim.users import Users
from labkit.sim.world import Catalog


class RoundView(NamedTuple):
    """What one round showed, as the metrics read it."""

    catalog: Catalog
    users: Users  # tastes after this round's drift
    training: data_mod.TrainingTotals
    slate: Int[Array, "users k"]
    slate_features: Float[Array, "users k topics"]
    clicked: Bool[Array, "users"]
    consumed_item: Int[Array, "users"]  # catalog slot clicked, -1: no click
    consumed_utility: Float[Array, "users"]
    initial_utility: Float[Array, "users"]  # the consumed item's utility under the user's initial tastes
    popularity_before: Float[Array, "items"]  # impressions per slot before this round
    exposure: Float[Array, "items"]  # this round's impressions per slot
    exposure_so_far: Float[Array, "items"]  # impressions per slot since its item was created, this round's included
    consumption: Float[Array, "items"]  # this round's clicks per slot
    exposure_topics: Float[Array, "topics"]
    consumption_topics: Float[Array, "topics"]
    history: Int[Array, "n rounds"]  # the sampled users' clicked serial numbers, one a round (-1: none)
    pairs: Int[Array, "p 2"] | None  # rows of ``history`` (and of ``pair_slates``) paired; None: a single user
    pair_slates: Int[Array, "n k"]  # the sampled users' slates this round, in ``history``'s row order
    agent: Bool[Array, "users"] | None = None  # an agent chose for the user this round; None: no agents


class Metric(NamedTuple):
    """One metric of the loop: its name, its label (with units) and its function of the round."""

    name: str
    label: str
    compute: Callable[[RoundView], Float[Array, ""]]


def _homogenization(r: RoundView) -> Float[Array, ""]:
    if r.pairs is None:
        return jnp.float32(0.0)
    return M.jaccard_homogenization(r.history, r.pairs)  # sorts the sampled rows


def _agent_click_share(r: RoundView) -> Float[Array, ""]:
    if r.agent is None:
        return jnp.float32(0.0)
    clicks = r.clicked.sum()
    return jnp.where(clicks > 0, (r.clicked & r.agent).sum() / jnp.maximum(clicks, 1), 0.0).astype(jnp.float32)


def _assisted_exposure_share(r: RoundView) -> Float[Array, ""]:
    return jnp.float32(0.0) if r.catalog.assisted is None else M.share(r.catalog.assisted[r.slate])


def _assisted_catalog_share(r: RoundView) -> Float[Array, ""]:
    return jnp.float32(0.0) if r.catalog.assisted is None else M.share(r.catalog.assisted, r.catalog.alive)


def _slate_overlap(r: RoundView) -> Float[Array, ""]:
    if r.pairs is None:
        return jnp.float32(0.0)
    return M.jaccard_homogenization(r.pair_slates, r.pairs)


METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("exposure_entropy", "exposure entropy (nats)", lambda r: M.entropy(r.exposure, r.catalog.alive)),
    Metric("exposure_effective_items", "effective items exposed (items, exp entropy)",
           lambda r: M.effective_number(r.exposure, r.catalog.alive)),
    Metric("consumption_entropy", "consumption entropy (nats)",
           lambda r: M.entropy(r.consumption, r.catalog.alive)),
    Metric("consumption_effective_items", "effective items consumed (items, exp entropy)",
           lambda r: M.effective_number(r.consumption, r.catalog.alive)),
    Metric("exposure_topic_entropy", "exposure topic entropy (nats)", lambda r: M.entropy(r.exposure_topics)),
    Metric("consumption_topic_entropy", "consumption topic entropy (nats)",
           lambda r: M.entropy(r.consumption_topics)),
    Metric("exposure_gini", "exposure Gini (0 equal, 1 one item)", lambda r: M.gini(r.exposure, r.catalog.alive)),
    Metric("coverage", "catalog coverage (share of live items)", lambda r: M.coverage(r.exposure, r.catalog.alive)),
    Metric("long_tail_share", "long-tail exposure (share, bottom 80%)",
           lambda r: M.long_tail_share(r.exposure, r.catalog.alive, popularity=r.popularity_before)),
    Metric("homogenization", "homogenization (Jaccard, user pairs)", _homogenization),
    # Diversity has two readings that a mitigation can move in opposite directions: within the
    # round (exposure_entropy, coverage, and how alike two users' slates are: slate_overlap) and
    # over the run (each live item's impressions since it was created). A bonus every user
    # shares can send all users to the same few least-shown items each round: each round
    # narrows while the run's coverage grows (docs/mitigation-units.md).
    Metric("slate_overlap", "slate overlap (Jaccard of this round's slates, user pairs)", _slate_overlap),
    Metric("cumulative_exposure_entropy", "cumulative exposure entropy (nats, impressions so far)",
           lambda r: M.entropy(r.exposure_so_far, r.catalog.alive)),
    Metric("cumulative_coverage", "cumulative coverage (share of live items shown so far)",
           lambda r: M.coverage(r.exposure_so_far, r.catalog.alive)),
    Metric("intra_list_diversity", "intra-list diversity (mean cosine distance)",
           lambda r: M.intra_list_diversity(r.slate_features)),
    Metric("novelty", "novelty (bits per exposure)",
           lambda r: M.novelty(r.slate.reshape(-1), r.popularity_before, r.catalog.alive)),
    Metric("preference_drift", "preference drift (TV distance from start)",
           lambda r: M.preference_drift(r.users.theta, r.users.theta0)),
    Metric("preference_spread", "preference spread (TV distance to mean)",
           lambda r: M.preference_spread(r.users.theta)),
    Metric("user_taste_entropy", "user taste entropy (nats)", lambda r: jax.vmap(M.entropy)(r.users.theta).mean()),
    Metric("synthetic_exposure_share", "synthetic exposure (share of impressions)",
           lambda r: M.share(r.catalog.synthetic[r.slate])),
    Metric("synthetic_catalog_share", "synthetic catalog (share of live items)",
           lambda r: M.share(r.catalog.synthetic, r.catalog.alive)),
    Metric("training_ai_share", "AI-influenced training (share of weight)",
           lambda r: data_mod.ai_share_of_totals(r.training)),
    Metric("ctr", "CTR (clicks per slate)", lambda r: M.share(r.clicked)),
    Metric("true_utility", "true utility (per slate; 0 without a click)",
           lambda r: M.mean_utility(r.consumed_utility, r.clicked)),
    # true_utility reads the tastes users hold now, after the loop has nudged them; this reads
    # the same clicks under the tastes they started with. The gap is what the nudge cost them.
    Metric("initial_utility", "utility under initial tastes (per slate; 0 without a click)",
           lambda r: M.mean_utility(r.initial_utility, r.clicked)),
    Metric("alive_items", "live items (count)", lambda r: r.catalog.alive.sum().astype(jnp.float32)),
    # agents acting for users (labkit.sim.agents): 0 in a world without them
    Metric("agent_click_share", "agents' clicks (share of the round's clicks)", _agent_click_share),
    Metric("agent_training_share", "agents' training rows (share of weight)",
           lambda r: data_mod.agent_share_of_totals(r.training)),
    # AI-assisted creators (labkit.sim.world.assist): 0 in a world without them
    Metric("assisted_exposure_share", "AI-assisted exposure (share of impressions)", _assisted_exposure_share),
    Metric("assisted_catalog_share", "AI-assisted catalog (share of live items)", _assisted_catalog_share),
]}

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)


def view(catalog: Catalog, users: Users, training: data_mod.TrainingTotals, history: Int[Array, "users rounds"],
         slate: Int[Array, "users k"], slate_features: Float[Array, "users k topics"], clicked: Bool[Array, "users"],
         consumed_item: Int[Array, "users"], consumed_features: Float[Array, "users topics"],
         consumed_utility: Float[Array, "users"], popularity_before: Float[Array, "items"], key: Array,
         n_pairs: int, agent: Bool[Array, "users"] | None = None) -> RoundView:
    """The round as the metrics read it: per-slot and per-topic counts, and the user pairs
    homogenization and slate overlap compare (``n_pairs`` drawn with ``key``; only their
    rows of ``history`` and ``slate`` are kept, renumbered 0..2p-1); ``agent``: the users an
    agent chose for (None: no agents).
    The impressions so far are ``popularity_before`` plus this round's, as the loop's
    ``State.exposure`` after the round."""
    n_users, n_items = history.shape[0], catalog.alive.shape[0]
    exposure = jnp.zeros(n_items).at[slate.reshape(-1)].add(1.0)
    pair_slates = slate
    if n_users > 1:
        sampled = M.sample_pairs(key, n_users, n_pairs).reshape(-1)
        history, pair_slates = history[sampled], slate[sampled]
        pairs = jnp.arange(2 * n_pairs).reshape(n_pairs, 2)
    else:
        pairs = None
    return RoundView(
        catalog=catalog, users=users, training=training, slate=slate, slate_features=slate_features,
        clicked=clicked, consumed_item=consumed_item, consumed_utility=consumed_utility,
        initial_utility=jnp.einsum("ud,ud->u", users.theta0, consumed_features),
        popularity_before=popularity_before,
        exposure=exposure, exposure_so_far=popularity_before + exposure,
        consumption=jnp.zeros(n_items).at[jnp.maximum(consumed_item, 0)].add(clicked.astype(jnp.float32)),
        exposure_topics=slate_features.sum(axis=(0, 1)),
        consumption_topics=(clicked[:, None] * consumed_features).sum(axis=0),
        history=history, pairs=pairs, pair_slates=pair_slates, agent=agent)


def round_metrics(round_view: RoundView) -> dict[str, Float[Array, ""]]:
    """Every metric of :data:`METRICS` for one round."""
    return {name: metric.compute(round_view) for name, metric in METRICS.items()}


__all__ = ["METRICS", "METRIC_NAMES", "Metric", "RoundView", "round_metrics", "view"]
