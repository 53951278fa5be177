"""Recommenders: one small interface, five values of it.

A :class:`Recommender` is three pure functions over its own state pytree:

* ``init(key, static, params) -> state``
* ``fit(state, data, world, key, static, params) -> state``: retrain on the weighted
  impressions the data strategy chose (:class:`labkit.data.TrainingData`);
* ``score(state, world, key, users) -> scores[block, items]``: higher is more recommended,
  for a block of user indices (the loop scores users block by block, so memory never
  holds more than one ``block x items`` matrix).

The values are the baselines of DESIGN.md: ``random``, ``popularity`` (clicks so far),
``ideal`` (oracle on true utility), ``content`` (a user profile built from the topic
features of clicked items, as in Chaney et al. 2018), and ``mf``, a logistic matrix
factorization trained with optax on logged engagement and warm-started each round.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, Int

from labkit.config import Params, Static
from labkit.data import TrainingData
from labkit.users import Users
from labkit.world import Catalog


class World(NamedTuple):
    """What a recommender may look at: the catalog, and (the oracle only) the users."""

    catalog: Catalog
    users: Users


class Recommender(NamedTuple):
    init: Callable[[Array, Static, Params], Any]
    fit: Callable[[Any, TrainingData, World, Array, Static, Params], Any]
    score: Callable[[Any, World, Array, Int[Array, "block"]], Float[Array, "block items"]]


def _stateless_init(key, static, params):
    return ()


def _no_fit(state, data, world, key, static, params):
    return state


# --- random: uniform scores, a fresh draw every round
random = Recommender(
    init=_stateless_init,
    fit=_no_fit,
    score=lambda state, world, key, users: jax.random.uniform(
        key, (users.shape[0], world.catalog.alive.shape[0])),
)


# --- popularity: weighted clicks per item in the training data
def _popularity_fit(state, data, world, key, static, params):
    return jax.ops.segment_sum(data.click * data.weight, data.item, num_segments=static.n_items)


popularity = Recommender(
    init=lambda key, static, params: jnp.zeros(static.n_items),
    fit=_popularity_fit,
    score=lambda clicks, world, key, users: jnp.broadcast_to(clicks, (users.shape[0], clicks.shape[0])),
)


# --- ideal: the oracle scores by true current utility
ideal = Recommender(
    init=_stateless_init,
    fit=_no_fit,
    score=lambda state, world, key, users: world.users.theta[users] @ world.catalog.features.T,
)


# --- content filtering: profile = weighted sum of clicked items' topic features
def _content_fit(state, data, world, key, static, params):
    # TrainingData rows are the log's [rounds, users, k] in order, and a user clicks at
    # most one item a round: the profile is a sum over each user-round's one weighted
    # click, so only rounds x users feature vectors are gathered (not every impression's)
    # and no scatter over the log is needed.
    per_round = static.n_users * static.slate_size
    if data.item.shape[0] % per_round:
        raise ValueError(f"content fit: {data.item.shape[0]} training rows are not whole rounds of "
                         f"{static.n_users} users x {static.slate_size} slots (the log's layout)")
    shape = (-1, static.n_users, static.slate_size)
    weight = (data.click * data.weight).reshape(shape)
    slot = jnp.argmax(weight, axis=2)[..., None]
    w = jnp.take_along_axis(weight, slot, 2)[..., 0]  # [rounds, users]
    item = jnp.take_along_axis(data.item.reshape(shape), slot, 2)[..., 0]
    profile = jnp.einsum("ru,rud->ud", w, world.catalog.features[item])
    # A small uniform prior keeps users without clicks at a neutral profile.
    profile = profile + 1e-3
    return profile / profile.sum(axis=1, keepdims=True)


content = Recommender(
    init=lambda key, static, params: jnp.full((static.n_users, static.n_topics), 1.0 / static.n_topics),
    fit=_content_fit,
    score=lambda profile, world, key, users: profile[users] @ world.catalog.features.T,
)


# --- matrix factorization
class Factors(NamedTuple):
    """Logistic MF parameters: click logit = user . item + bias."""

    user: Float[Array, "users dim"]
    item: Float[Array, "items dim"]
    bias: Float[Array, "items"]


class MFState(NamedTuple):
    factors: Factors
    opt_state: Any
    uid: Int[Array, "items"]  # which item each item row was trained for


def _optimizer(params: Params) -> optax.GradientTransformation:
    return optax.adam(params.learning_rate)


def _mf_init(key, static, params):
    k_user, k_item = jax.random.split(key)
    scale = 0.1 / jnp.sqrt(static.embedding_dim)
    factors = Factors(
        user=scale * jax.random.normal(k_user, (static.n_users, static.embedding_dim)),
        item=scale * jax.random.normal(k_item, (static.n_items, static.embedding_dim)),
        bias=jnp.zeros(static.n_items),
    )
    return MFState(factors, _optimizer(params).init(factors), jnp.full(static.n_items, -1, jnp.int32))


def mf_loss(factors: Factors, data: TrainingData, l2: Float[Array, ""]) -> Float[Array, ""]:
    """Weighted logistic loss on impressions (click or not) plus L2 on the embeddings."""
    logit = (factors.user[data.user] * factors.item[data.item]).sum(-1) + factors.bias[data.item]
    bce = optax.sigmoid_binary_cross_entropy(logit, data.click)
    fit = (data.weight * bce).sum() / jnp.maximum(data.weight.sum(), 1.0)
    penalty = jnp.mean(factors.user ** 2) + jnp.mean(factors.item ** 2)
    return fit + l2 * penalty


def _cold_start(state: MFState, catalog: Catalog, key: Array) -> MFState:
    """Give items new to their slot fresh embeddings and the catalog's mean bias."""
    fresh = catalog.uid != state.uid
    old = catalog.alive & ~fresh
    mean_bias = jnp.where(old.any(), (state.factors.bias * old).sum() / jnp.maximum(old.sum(), 1), 0.0)
    scale = 0.1 / jnp.sqrt(state.factors.item.shape[1])
    new_item = scale * jax.random.normal(key, state.factors.item.shape)

    def reset(tree: Factors, item_value, bias_value) -> Factors:
        return tree._replace(item=jnp.where(fresh[:, None], item_value, tree.item),
                             bias=jnp.where(fresh, bias_value, tree.bias))

    factors = reset(state.factors, new_item, mean_bias)
    # Adam's moments for a reused row belong to the item that left: zero them.
    opt_state = jax.tree.map(lambda node: reset(node, 0.0, 0.0) if isinstance(node, Factors) else node,
                             state.opt_state, is_leaf=lambda x: isinstance(x, Factors))
    return MFState(factors, opt_state, catalog.uid)


def _mf_fit(state, data, world, key, static, params):
    state = _cold_start(state, world.catalog, key)
    optimizer = _optimizer(params)
    grad = jax.grad(mf_loss)

    def train_step(carry, _):
        factors, opt_state = carry
        updates, opt_state = optimizer.update(grad(factors, data, params.l2), opt_state, factors)
        return (optax.apply_updates(factors, updates), opt_state), None

    (factors, opt_state), _ = jax.lax.scan(train_step, (state.factors, state.opt_state), None,
                                           length=static.train_steps)
    return MFState(factors, opt_state, state.uid)


mf = Recommender(
    init=_mf_init,
    fit=_mf_fit,
    score=lambda state, world, key, users: state.factors.user[users] @ state.factors.item.T + state.factors.bias,
)


RECOMMENDERS: dict[str, Recommender] = {
    "random": random, "popularity": popularity, "ideal": ideal, "content": content, "mf": mf,
}
