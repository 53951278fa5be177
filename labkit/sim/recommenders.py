"""Recommenders: one small interface, five values of it.

A :class:`Recommender` is three pure functions over its own state pytree:

* ``init(key, static, params) -> state``
* ``fit(state, data, obs, key, static, params) -> state``: retrain on the weighted
  impressions the data strategy chose (:class:`labkit.sim.data.TrainingData`);
* ``score(state, obs, key, users) -> scores[block, items]``: higher is more recommended,
  for a block of user indices (the loop scores users block by block, so memory never
  holds more than one ``block x items`` matrix);
* optionally ``update(state, log, round, obs, key, static, params) -> state``: the same
  retraining as ``fit`` on :func:`labkit.sim.data.training_data` after round ``round`` was
  logged, computed from what changed since the previous round (the round's clicks in;
  out, the clicks on items whose slot was reused and, under ``replace``, the round that
  left the window), so a round costs O(users) instead of O(log). The loop calls it,
  once a round, when it is there; ``fit`` stays the reference (and trains from scratch,
  as after a start-up period). Equal to ``fit`` up to float rounding (tested), except
  ``mf`` under ``mf_training = "minibatch"``, whose ``update`` is a sampled estimate of
  the same retraining (see :data:`MF_TRAINING`);
* optionally ``reads_log(static) -> str | None``: why its retraining reads logged rounds
  other than the current one and, under a windowed strategy, those in the window (the
  loop's log then keeps every round of the run: :func:`labkit.sim.capacity.log_rounds`), or
  None where it reads no others. Without it, none.

The values are the baselines of DESIGN.md: ``random``, ``popularity`` (clicks so far),
``ideal`` (oracle on true utility), ``content`` (a user profile built from the topic
features of clicked items, as in Chaney et al. 2018), and ``mf``, a logistic matrix
factorization trained with optax on logged engagement and warm-started each round.

How ``mf`` retrains each round is the lever ``mf_training`` (:data:`MF_TRAINING`):

* ``full`` (the default): ``train_steps`` Adam steps on the weighted loss over the
  whole training table (:func:`labkit.sim.data.training_data`), so a round costs
  O(log capacity x train_steps): the log array holds every round of the run;
* ``minibatch``: each of the ``train_steps`` steps draws ``mf_batch`` impressions
  uniformly, with replacement, from the rounds the data strategy can train on
  (:func:`labkit.sim.data.sample_training_data`; a round, a user, a slate slot), each with
  the strategy's weight, and steps on the self-normalised (ratio) estimate of the same
  loss, ``sum_b w_b l_b / max(sum_b w_b, mf_batch / N)`` (``N``: impressions sampled
  from), the plug-in form of the full loss ``sum w l / max(sum w, 1)``. A round costs
  O(mf_batch x train_steps) whatever the log's length. With 0/1 weights (every strategy
  but ``downweight``) the estimate's gradient is unbiased given one trained row in the
  batch (those rows are a uniform sample of the trained ones); with fractional weights
  a ratio estimator's bias is O(1 / mf_batch). Rows the strategy drops (reused slots,
  ``human_only``'s AI rows, ...) weigh 0; rounds out of the window are never drawn. The
  default ``mf_batch``, 2048, is about one round's impressions of the default world
  (200 users x 10 slots). It changes the numbers against ``full``, on purpose.

Under either form ``mf.fit`` (training from a given table, as after a start-up period)
is the full form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, Int

from labkit.sim import data as data_mod
from labkit.sim.data import Log, TrainingData
from labkit.sim.levers import PARAM, STATIC, Lever
from labkit.sim.users import Users
from labkit.sim.world import Catalog, slots_reused

if TYPE_CHECKING:  # types only: labkit.sim.config builds them from every module's LEVERS
    from labkit.sim.config import Params, Static


class Observation(NamedTuple):
    """What a recommender may look at: the catalog, and (the oracle only) the users."""

    catalog: Catalog
    users: Users


class Recommender(NamedTuple):
    init: Callable[[Array, Static, Params], Any]
    fit: Callable[[Any, TrainingData, Observation, Array, Static, Params], Any]
    score: Callable[[Any, Observation, Array, Int[Array, "block"]], Float[Array, "block items"]]
    update: Callable[[Any, Log, Int[Array, ""], Observation, Array, Static, Params], Any] | None = None
    reads_log: Callable[[Static], str | None] | None = None


def _stateless_init(key, static, params):
    return ()


def _no_fit(state, data, obs, key, static, params):
    return state


def _no_update(state, log, round_, obs, key, static, params):
    return state


# --- random: uniform scores, a fresh draw every round
random = Recommender(
    init=_stateless_init,
    fit=_no_fit,
    score=lambda state, obs, key, users: jax.random.uniform(
        key, (users.shape[0], obs.catalog.alive.shape[0])),
    update=_no_update,
)


# --- popularity: weighted clicks per item in the training data
class Counts(NamedTuple):
    """Weighted clicks per catalog slot, and the serial numbers of the items counted."""

    clicks: Float[Array, "items"]
    uid: Int[Array, "items"]


def _popularity_init(key, static, params):
    return Counts(jnp.zeros(static.n_items), jnp.full(static.n_items, -1, jnp.int32))


def _popularity_fit(state, data, obs, key, static, params):
    clicks = jax.ops.segment_sum(data.click * data.weight, data.item, num_segments=static.n_items)
    return Counts(clicks, obs.catalog.uid)


def _popularity_update(state, log, round_, obs, key, static, params):
    catalog = obs.catalog
    # out: a reused slot's count belonged to the item that left
    fresh = catalog.uid != state.uid
    clicks = jnp.where(fresh, 0.0, state.clicks)
    # in: this round's clicks
    item, weight = data_mod.clicked_rows(data_mod.round_of(log, round_), catalog.uid, round_, static, params)
    clicks = clicks.at[item[0]].add(weight[0])
    if data_mod.strategy(static).window is not None:
        # out: the round that left the window (counted last round, slot not reused since)
        item, weight = _left_window(state.uid, log, round_, static, params)
        clicks = clicks.at[item].add(-jnp.where(fresh[item], 0.0, weight))
    return Counts(clicks, catalog.uid)


def _left_window(uid, log, round_, static, params):
    """The clicks of the round that leaves a windowed strategy's window at ``round_``, weighted as
    they were counted last round (their slots checked against ``uid``, the catalog then)."""
    old, present = data_mod.left_window(log, round_, static)
    item, weight = data_mod.clicked_rows(old, uid, round_ - 1, static, params)
    return item[0], jnp.where(present, weight[0], 0.0)


popularity = Recommender(
    init=_popularity_init,
    fit=_popularity_fit,
    score=lambda state, obs, key, users: jnp.broadcast_to(state.clicks, (users.shape[0], state.clicks.shape[0])),
    update=_popularity_update,
)


# --- ideal: the oracle scores by true current utility
ideal = Recommender(
    init=_stateless_init,
    fit=_no_fit,
    score=lambda state, obs, key, users: obs.users.theta[users] @ obs.catalog.features.T,
    update=_no_update,
)


# --- content filtering: profile = weighted sum of clicked items' topic features
class Profiles(NamedTuple):
    """Each user's weighted sum of the topic features of the items they clicked (in the
    training set), and the catalog those sums were taken against (serial numbers and
    features per slot), which :func:`_content_update` needs to take a reused slot's clicks out."""

    total: Float[Array, "users topics"]
    uid: Int[Array, "items"]
    features: Float[Array, "items topics"]


def profile(total: Float[Array, "users topics"]) -> Float[Array, "users topics"]:
    """Content profiles from click sums (``Profiles.total``, or some users' rows of it): a
    small uniform prior (which keeps users without clicks neutral), normalised onto the simplex."""
    smoothed = total + 1e-3
    return smoothed / smoothed.sum(axis=-1, keepdims=True)


def _content_init(key, static, params):
    return Profiles(jnp.zeros((static.n_users, static.n_topics)), jnp.full(static.n_items, -1, jnp.int32),
                    jnp.zeros((static.n_items, static.n_topics)))


def _content_fit(state, data, obs, key, static, params):
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
    features = obs.catalog.features
    return Profiles(jnp.einsum("ru,rud->ud", w, features[item]), obs.catalog.uid, features)


def _content_update(state, log, round_, obs, key, static, params):
    catalog = obs.catalog
    # in: this round's clicks
    item, weight = data_mod.clicked_rows(data_mod.round_of(log, round_), catalog.uid, round_, static, params)
    total = state.total + weight[0][:, None] * catalog.features[item[0]]
    if static.new_items > 0:
        total = total - _reused_clicks(state, log, round_, catalog, static, params)
    if data_mod.strategy(static).window is not None:
        # out: the round that left the window, with the features its items had
        item, weight = _left_window(state.uid, log, round_, static, params)
        total = total - weight[:, None] * state.features[item]
    return Profiles(total, catalog.uid, catalog.features)


def _reused_clicks(state: Profiles, log: Log, round_, catalog: Catalog, static: Static, params: Params
                   ) -> Float[Array, "users topics"]:
    """Per user, the weighted features of the clicks (still counted last round, and in the
    window now) on items whose slot has been reused since: a ``users x new_items`` click
    matrix (one scatter over the log's user-rounds, no feature gather per row) times the
    features those items had."""
    n_new = min(static.new_items, static.n_items)  # one round's creation between updates
    slots = jnp.nonzero(catalog.uid != state.uid, size=n_new, fill_value=static.n_items)[0]
    column = jnp.full(static.n_items, n_new, jnp.int32).at[slots].set(jnp.arange(n_new), mode="drop")
    item, weight = data_mod.clicked_rows(log, state.uid, round_, static, params)
    users = jnp.broadcast_to(jnp.arange(static.n_users)[None, :], item.shape)
    clicks = jnp.zeros((static.n_users, n_new)).at[users, column[item]].add(weight, mode="drop")
    return clicks @ state.features[jnp.minimum(slots, static.n_items - 1)]


def _content_reads_log(static: Static) -> str | None:
    # _reused_clicks reads every logged round once a slot is reused, which happens only once the
    # catalog's ring wraps; before that its sum is exactly 0. Under a windowed strategy it reads
    # the window's rounds only, with weights 0 or 1 (replace), whose sums do not depend on order.
    if data_mod.strategy(static).window is None and slots_reused(static):
        return "content with a catalog whose slots are reused (its profiles take the reused items' clicks out)"
    return None


content = Recommender(
    init=_content_init,
    fit=_content_fit,
    score=lambda state, obs, key, users: profile(state.total[users]) @ obs.catalog.features.T,
    update=_content_update,
    reads_log=_content_reads_log,
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


def optimizer(params: Params, eps_root: float = 0.0) -> optax.GradientTransformation:
    """The MF recommender's optimizer: Adam at ``learning_rate`` (``eps_root``: optax's, 0 here;
    the relaxed loop's MF sets it to keep the gradient of the square root finite)."""
    return optax.adam(params.learning_rate, eps_root=eps_root)


def _mf_init(key, static, params):
    k_user, k_item = jax.random.split(key)
    scale = 0.1 / jnp.sqrt(static.embedding_dim)
    factors = Factors(
        user=scale * jax.random.normal(k_user, (static.n_users, static.embedding_dim)),
        item=scale * jax.random.normal(k_item, (static.n_items, static.embedding_dim)),
        bias=jnp.zeros(static.n_items),
    )
    return MFState(factors, optimizer(params).init(factors), jnp.full(static.n_items, -1, jnp.int32))


def mf_loss(factors: Factors, data: TrainingData, l2: Float[Array, ""],
            floor: float | Float[Array, ""] = 1.0) -> Float[Array, ""]:
    """Weighted logistic loss on impressions (click or not) plus L2 on the embeddings.

    The weighted mean divides by the total weight, or by ``floor`` when that is larger
    (1: a table with less than one row's worth of weight is not blown up; a sample of
    ``n`` rows out of ``N`` passes ``n / N``, the same floor on its scale).
    """
    logit = (factors.user[data.user] * factors.item[data.item]).sum(-1) + factors.bias[data.item]
    bce = optax.sigmoid_binary_cross_entropy(logit, data.click)
    fit = (data.weight * bce).sum() / jnp.maximum(data.weight.sum(), floor)
    return fit + l2 * l2_penalty(factors)


def l2_penalty(factors: Factors) -> Float[Array, ""]:
    """The L2 term of the MF loss (before its weight ``l2``): mean squared embeddings."""
    return jnp.mean(factors.user ** 2) + jnp.mean(factors.item ** 2)


def train(state: MFState, loss: Callable[..., Float[Array, ""]], adam: optax.GradientTransformation,
          steps: int, batches: Any = None) -> MFState:
    """``steps`` optimizer steps on ``loss`` from the state's factors and optimizer moments.

    ``batches``: None, and every step minimizes ``loss(factors)``; or a pytree whose leaves
    have a leading axis of ``steps``, and step ``t`` minimizes ``loss(factors, batch_t)``.
    """
    def train_step(carry, batch):
        factors, opt_state = carry
        grads = jax.grad(loss)(factors) if batches is None else jax.grad(loss)(factors, batch)
        updates, opt_state = adam.update(grads, opt_state, factors)
        return (optax.apply_updates(factors, updates), opt_state), None

    (factors, opt_state), _ = jax.lax.scan(train_step, (state.factors, state.opt_state), batches, length=steps)
    return MFState(factors, opt_state, state.uid)


def cold_start(state: MFState, catalog: Catalog, key: Array) -> MFState:
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


def _mf_fit(state, data, obs, key, static, params):
    state = cold_start(state, obs.catalog, key)
    return train(state, lambda factors: mf_loss(factors, data, params.l2), optimizer(params), static.train_steps)


def stale_view(rec_state: Any, catalog: Catalog, key: Array, static: Static) -> Any:
    """A served recommender (``retrain_every > 1``) against today's catalog: an item created
    since its refresh is unknown to it, so ``popularity`` counts no click for it and ``mf``
    gives it cold-start factors (:func:`cold_start`); ``content``
    scores every item by its features, so its stale profiles need nothing."""
    if static.recommender == "popularity":
        return rec_state._replace(clicks=jnp.where(catalog.uid == rec_state.uid, rec_state.clicks, 0.0))
    if static.recommender == "mf":
        return cold_start(rec_state, catalog, key)
    return rec_state


def _mf_full_update(state, log, round_, obs, key, static, params):
    return _mf_fit(state, data_mod.training_data(log, obs.catalog, round_, static, params), obs, key, static,
                   params)


def _mf_minibatch_update(state, log, round_, obs, key, static, params):
    k_cold, k_sample = jax.random.split(key)
    batches, population = data_mod.sample_training_data(log, obs.catalog, round_, k_sample,
                                                         (static.train_steps, static.mf_batch), static, params)
    floor = static.mf_batch / population

    def loss(factors, batch):
        return mf_loss(factors, batch, params.l2, floor)

    return train(cold_start(state, obs.catalog, k_cold), loss, optimizer(params), static.train_steps, batches)


# How MF retrains each round (the ``mf_training`` lever; the module docstring says what each costs).
# ``full`` draws nothing beyond the cold start's key, so its numbers are those of ``fit``.
MF_TRAINING: dict[str, Callable[..., MFState]] = {
    "full": _mf_full_update,
    "minibatch": _mf_minibatch_update,
}


def _mf_update(state, log, round_, obs, key, static, params):
    return MF_TRAINING[static.mf_training](state, log, round_, obs, key, static, params)


def _mf_reads_log(static: Static) -> str | None:
    if static.mf_training == "full":  # the table in the log's layout: its sums' order is the log's
        return "mf_training = full (it trains on the whole training table)"
    if data_mod.strategy(static).window is None:
        return "mf_training = minibatch under a strategy without a window (it samples every round)"
    return None


mf = Recommender(
    init=_mf_init,
    fit=_mf_fit,
    score=lambda state, obs, key, users: state.factors.user[users] @ state.factors.item.T + state.factors.bias,
    update=_mf_update,
    reads_log=_mf_reads_log,
)


RECOMMENDERS: dict[str, Recommender] = {
    "random": random, "popularity": popularity, "ideal": ideal, "content": content, "mf": mf,
}


LEVERS = (
    Lever("recommender", STATIC, str, "mf", "scoring model", choices=RECOMMENDERS),
    Lever("embedding_dim", STATIC, int, 16, "MF capacity: embedding dimension", 1, 4096,
          label="embedding dimension"),
    Lever("train_steps", STATIC, int, 10, "MF capacity: optimizer steps per round", 0, 100_000,
          label="optimizer steps per round"),
    Lever("mf_training", STATIC, str, "full",
          "MF retraining each round: full (Adam steps on the whole training table; cost grows with the "
          "log) or minibatch (each step on mf_batch impressions sampled from the strategy's rounds, "
          "weighted by it; cost independent of the log's length)", choices=MF_TRAINING),
    Lever("mf_batch", STATIC, int, 2048, "MF minibatch retraining: impressions sampled per optimizer step",
          1, 10_000_000, label="impressions per optimizer step"),
    Lever("learning_rate", PARAM, float, 0.05, "MF optimizer (Adam) learning rate", 0.0, 10.0, low_open=True),
    Lever("l2", PARAM, float, 1e-3, "MF L2 regularization", 0.0, 100.0),
)
