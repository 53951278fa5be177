"""The catalog of items and the human creators who fill it.

Items live on the topic simplex: an item's features ``x_i`` are a distribution over
``d`` latent topics. The catalog is a fixed-size ring buffer (capacity ``n_items``)
with an ``alive`` mask, so every array keeps a static shape under ``jit``; a new item
overwrites the oldest slot. Each slot carries its provenance: synthetic or human,
creator, birth round, and a global serial number ``uid`` that tells a reused slot
from the item that lived there before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from labkit.sim.levers import PARAM, Lever

if TYPE_CHECKING:  # types only: labkit.sim.config builds them from every module's LEVERS
    from labkit.sim.config import Params, Static

# Dirichlet parameters below this underflow the gamma sampler in float32.
_MIN_ALPHA = 1e-2


class Catalog(NamedTuple):
    """Items and their provenance, one row per slot of the ring buffer."""

    features: Float[Array, "items topics"]
    alive: Bool[Array, "items"]
    synthetic: Bool[Array, "items"]
    creator: Int[Array, "items"]  # -1 for synthetic items and empty slots
    birth: Int[Array, "items"]  # round the item was created; -1 before round 0 or empty
    uid: Int[Array, "items"]  # global serial number; -1 for an empty slot
    next_uid: Int[Array, ""]
    cursor: Int[Array, ""]  # slot the next item goes into


class Creators(NamedTuple):
    """Human creators: a topic style each and a heavy-tailed activity."""

    style: Float[Array, "creators topics"]
    activity: Float[Array, "creators"]  # probability that the next human item is theirs


def empty_catalog(static: Static) -> Catalog:
    """A catalog with every slot empty."""
    n, d = static.n_items, static.n_topics
    return Catalog(
        features=jnp.full((n, d), 1.0 / d, float),  # jax's default float: float32, or float64 under x64
        alive=jnp.zeros(n, bool),
        synthetic=jnp.zeros(n, bool),
        creator=jnp.full(n, -1, jnp.int32),
        birth=jnp.full(n, -1, jnp.int32),
        uid=jnp.full(n, -1, jnp.int32),
        next_uid=jnp.int32(0),
        cursor=jnp.int32(0),
    )


def insert(catalog: Catalog, features: Float[Array, "new topics"], synthetic: Bool[Array, "new"],
           creator: Int[Array, "new"], round_: Int[Array, ""]) -> tuple[Catalog, Int[Array, "new"]]:
    """Put new items into the ring buffer, overwriting the oldest slots.

    Returns the updated catalog and the slots written, so that per-slot statistics
    (exposure counts, embeddings) can be reset for the newcomers.
    """
    n_new = features.shape[0]
    capacity = catalog.alive.shape[0]
    slots = (catalog.cursor + jnp.arange(n_new)) % capacity
    uids = catalog.next_uid + jnp.arange(n_new, dtype=jnp.int32)
    updated = Catalog(
        features=catalog.features.at[slots].set(features),
        alive=catalog.alive.at[slots].set(True),
        synthetic=catalog.synthetic.at[slots].set(synthetic),
        creator=catalog.creator.at[slots].set(jnp.where(synthetic, -1, creator)),
        birth=catalog.birth.at[slots].set(round_),
        uid=catalog.uid.at[slots].set(uids),
        next_uid=catalog.next_uid + n_new,
        cursor=(catalog.cursor + n_new) % capacity,
    )
    return updated, slots


def init_creators(key: Array, static: Static, params: Params) -> Creators:
    """Draw creators' styles (sparse Dirichlet) and Zipf-distributed activity."""
    alpha = jnp.full(static.n_topics, params.style_concentration)
    style = jax.random.dirichlet(key, jnp.maximum(alpha, _MIN_ALPHA), (static.n_creators,))
    rank = jnp.arange(1, static.n_creators + 1, dtype=jnp.float32)
    activity = rank ** (-params.creator_zipf)
    return Creators(style=style, activity=activity / activity.sum())


def human_items(key: Array, creators: Creators, n: int, params: Params
                ) -> tuple[Float[Array, "n topics"], Int[Array, "n"]]:
    """Items from human creators: pick a creator by activity, then vary around their style."""
    k_creator, k_item = jax.random.split(key)
    creator = jax.random.choice(k_creator, creators.activity.shape[0], (n,), p=creators.activity)
    alpha = params.creator_focus * creators.style[creator] + _MIN_ALPHA
    return jax.random.dirichlet(k_item, alpha), creator.astype(jnp.int32)


def initial_catalog(key: Array, static: Static, params: Params, creators: Creators) -> Catalog:
    """The catalog before round 0: ``initial_items`` human items born at round -1."""
    features, creator = human_items(key, creators, static.initial_items, params)
    catalog, _ = insert(empty_catalog(static), features, jnp.zeros(static.initial_items, bool),
                        creator, jnp.int32(-1))
    return catalog


LEVERS = (
    Lever("style_concentration", PARAM, float, 0.3, "Dirichlet concentration of creators' topic styles",
          0.0, 1e4, low_open=True),
    Lever("creator_focus", PARAM, float, 5.0, "how closely a creator's items follow the creator's style",
          0.0, 1e4, low_open=True),
    Lever("creator_zipf", PARAM, float, 1.0, "Zipf exponent of creators' activity (heavy tail)", 0.0, 10.0),
)
