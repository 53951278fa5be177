"""The relaxed feedback loop: every discrete step of a round given a smooth counterpart.

The exact loop (:mod:`labkit.sim.loop`) draws slates, coins and clicks; its metrics are
piecewise constant in the levers, so ``jax.grad`` of them is zero almost everywhere.
This loop runs the same round (creation, recommendation, choice, drift, logging,
retraining, measurement) with each draw replaced by its Gumbel-softmax counterpart at a
*relaxation temperature* ``tau``, driven by the same kind of noise, so a simulation is a
smooth function of every :class:`~labkit.sim.config.Params` lever and of ``tau``:

* **slates**: a policy's perturbed scores ``z`` (greedy: the scores plus the novelty and
  UCB bonuses; softmax: ``scores / temperature + Gumbel``; Thompson: plus the Gaussian
  draw), standardized per user over the live items (so ``tau`` is in units of the
  scores' spread, whatever the recommender), become ``k`` soft one-hot rows over the
  catalog by the relaxed top-k of Xie & Ermon (IJCAI 2019): ``p_j = softmax(a_j / tau)``,
  ``a_{j+1} = a_j + log(1 - p_j)``.
  MMR picks slot by slot the same way from its relevance-minus-similarity values.
  Exploration (``epsilon_greedy``, the ``reserve`` stream) mixes each slot with a
  relaxed uniform draw outside the slate, by a relaxed coin;
* **coins** (exploration, synthetic or human creation): ``u < p`` becomes
  ``sigmoid((p - u) / (tau * COIN_WIDTH))``, finite in ``p`` at 0 and 1;
* **the creator** of a human item (those of the initial catalog too): a Gumbel-softmax
  mix of the creators' styles;
* **clicks**: Gumbel-softmax over the slate's multinomial-logit choice (no-click
  included), so a user's click, consumed features and utility are soft;
* **drift** moves tastes toward the (soft) consumed features; whether a user counts as
  AI-influenced is ``sigmoid((TV - threshold) / (tau * DISTANCE_WIDTH))``;
* **logging and retraining** keep soft sufficient statistics: per item, weighted clicks
  and impressions; per user and item, weighted clicks (``content``, ``mf``) and
  impressions (``mf``), the data strategy's weight computed from the soft provenance of
  each slot. ``content`` profiles are the click-weighted features, ``popularity`` the
  weighted clicks, ``mf`` is retrained by the same unrolled Adam steps on the
  count-weighted logistic loss, and the GenAI refits its weighted moments;
* **metrics** are computed from the soft counts (:data:`RELAXED_METRICS`).

The world's Dirichlet draws (initial tastes, creators' styles, items around a style) keep
``jax.random.dirichlet``; their gradient is its implicit reparameterization (Figurnov et
al. 2018), unbiased for the derivative of the expectation but not the derivative of one
fixed-noise path. So ``user_concentration``, ``style_concentration``, ``creator_focus``
and ``creator_zipf`` (through the styles mixed) agree with finite differences over seeds,
not seed by seed; every other lever's gradient is the exact derivative of the relaxed
loop at a fixed seed (both tested).

As ``tau -> 0`` every relaxed draw becomes an exact draw of the exact loop's
distribution, so the relaxed metrics' Monte-Carlo means approach the exact loop's
(tested, and shown in ``07_tuning``). At ``tau > 0`` the pathwise gradient is a biased
estimate of the exact loop's gradient (the bias grows with ``tau``) with a variance that
grows as ``tau`` falls: the usual trade of the Gumbel-softmax estimator.

Memory: users are scored block by block (``block_users``), each block rematerialized
in the backward pass (``jax.checkpoint``); rounds are scanned in checkpointed segments
of about ``sqrt(rounds)``, so reverse mode keeps about ``2 sqrt(rounds)`` states, never
every round's ``users x k x items`` soft slates. The
state itself holds ``users x items`` statistics for ``content`` and ``mf``.

Not relaxed: ``consumption = "once"`` and ``bonus_scope = "per_user"`` (refused by
:func:`check_supported`). ``score_units = "standardized"`` standardizes the scores before
the bonuses are added, as the exact loop does. The
metrics ``coverage`` and ``homogenization`` count sets and have no soft counterpart.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from labkit.sim import data as data_mod
from labkit.sim import generator as gen_mod
from labkit.sim import metrics as M
from labkit.sim import recommenders as rec_mod
from labkit.sim import users as users_mod
from labkit.sim import world as world_mod
from labkit.sim.levers import ConfigError
from labkit.grad.smooth import (COIN_WIDTH, DISTANCE_WIDTH, NEG, _top_k_rows, soft_choice, soft_coin,  # noqa: F401
                                soft_explore, soft_influenced, soft_slate, soft_top_k)
from labkit.sim.policies import SCORE_UNITS, SlateContext, novelty_bonus

if TYPE_CHECKING:
    from labkit.sim.config import Params, Static

# The engaged mass below which the relaxed GenAI mostly keeps its previous fit.
KEEP_MASS = 1e-3
# Adam's eps_root in the relaxed MF: keeps the gradient of sqrt(v) finite where an
# embedding received no gradient yet (v = 0), far below any v a trained row reaches.
_EPS_ROOT = 1e-20

RELAXED_METRICS: tuple[str, ...] = (
    "exposure_entropy", "exposure_effective_items", "consumption_entropy", "consumption_effective_items",
    "exposure_topic_entropy", "consumption_topic_entropy", "exposure_gini", "long_tail_share",
    "intra_list_diversity", "novelty", "preference_drift", "preference_spread", "user_taste_entropy",
    "synthetic_exposure_share", "synthetic_catalog_share", "training_ai_share", "ctr", "true_utility",
    "alive_items",
)
"""The metrics the relaxed loop measures, each from soft counts (``coverage`` and
``homogenization`` count sets, and have no smooth counterpart)."""

_USER_ITEM_CLICKS = ("content", "mf")  # recommenders that read per user-item clicks


class Stats(NamedTuple):
    """Soft training statistics, weighted by the data strategy (arrays of one round, or totals).

    ``clicks`` and ``impressions`` are ``[users, items]`` where the recommender reads them
    (``clicks``: content and mf; ``impressions``: mf) and ``[0, items]`` otherwise.
    """

    clicks: Float[Array, "u items"]
    impressions: Float[Array, "u items"]
    item_clicks: Float[Array, "items"]
    weight: Float[Array, "items"]
    ai_weight: Float[Array, "items"]


class RelaxedState(NamedTuple):
    """What the relaxed loop carries from one round to the next."""

    round: Array
    catalog: world_mod.Catalog  # ``synthetic`` there is the hard flag (soft > 1/2), for information
    synthetic: Float[Array, "items"]  # soft: how synthetic the item in each slot is
    creators: world_mod.Creators
    users: users_mod.Users
    generator: gen_mod.Generator
    recommender: Any  # MFState for mf, () otherwise
    exposure: Float[Array, "items"]  # soft impressions so far of the item in each slot
    stats: Stats  # totals in the training set
    window: Stats | None  # per-round stats of the last ``window`` rounds (windowed strategies)
    stats_uid: Array  # the serial numbers of the items the stats were counted for


def check_supported(static: Static) -> None:
    """Refuse a configuration the relaxed loop does not model, naming the lever."""
    if static.consumption != "repeat":
        raise ConfigError(f"consumption = {static.consumption!r}: the relaxed loop models only "
                          f"consumption = 'repeat' (allowed: repeat)")
    dynamic = [name for name in world_mod.CREATOR_DYNAMICS if getattr(static, name) > 0]
    if dynamic:
        raise ConfigError(f"{dynamic[0]} = {getattr(static, dynamic[0])!r}: the relaxed loop models only creators "
                          f"with fixed styles who never leave (allowed: 0)")
    if static.bonus_scope != "global":
        raise ConfigError(f"bonus_scope = {static.bonus_scope!r}: the relaxed loop models only the "
                          f"catalog-wide exposure bonus (allowed: global)")
    if static.generator_family != "diagonal":
        raise ConfigError(f"generator_family = {static.generator_family!r}: the relaxed loop models only the "
                          f"diagonal Gaussian GenAI (allowed: diagonal)")
    if static.retrain_every != 1:
        raise ConfigError(f"retrain_every = {static.retrain_every!r}: the relaxed loop serves the models of "
                          f"every round (allowed: 1)")
    if static.source_parity != "off":
        raise ConfigError(f"source_parity = {static.source_parity!r}: the relaxed loop models no constraint "
                          f"on the source of slates (allowed: off)")
    if static.agent_share > 0:
        raise ConfigError(f"agent_share = {static.agent_share!r}: the relaxed loop models no agents acting for "
                          f"users (allowed: 0)")
    if static.assisted_share > 0:
        raise ConfigError(f"assisted_share = {static.assisted_share!r}: the relaxed loop's creation models no "
                          f"creators blending the GenAI's output into their items (allowed: 0)")


def float_type(params: Params):
    """The float dtype of ``params`` (float32, or float64 under x64): the relaxed loop computes in it."""
    return jnp.result_type(*jax.tree.leaves(params))


def _empty_stats(static: Static, dtype, users_for: tuple[bool, bool]) -> Stats:
    n = static.n_items
    zeros = jnp.zeros(n, dtype)
    return Stats(clicks=jnp.zeros((static.n_users if users_for[0] else 0, n), dtype),
                 impressions=jnp.zeros((static.n_users if users_for[1] else 0, n), dtype),
                 item_clicks=zeros, weight=zeros, ai_weight=zeros)


def _needs(static: Static) -> tuple[bool, bool]:
    """Whether the stats keep per user-item clicks, and per user-item impressions."""
    return static.recommender in _USER_ITEM_CLICKS, static.recommender == "mf"


def init_state(key: Array, static: Static, params: Params, tau) -> RelaxedState:
    """The world before round 0, drawn as the exact loop draws it (:func:`labkit.sim.loop.init_state`),
    the initial items' creators by the relaxed mix of :func:`human_items`."""
    k_creators, k_catalog, k_users, k_rec = jax.random.split(key, 4)
    dtype = float_type(params)
    creators = world_mod.init_creators(k_creators, static, params)
    features, creator = human_items(k_catalog, creators, static.initial_items, params, tau)
    catalog, _ = world_mod.insert(world_mod.empty_catalog(static), features, jnp.zeros(static.initial_items, bool),
                                  creator, jnp.int32(-1))
    window = data_mod.strategy(static).window
    stats = _empty_stats(static, dtype, _needs(static))
    recommender = (rec_mod.mf.init(k_rec, static, params) if static.recommender == "mf" else ())
    return RelaxedState(
        round=jnp.int32(0), catalog=catalog, synthetic=jnp.zeros(static.n_items, dtype), creators=creators,
        users=users_mod.init_users(k_users, static, params),
        generator=gen_mod.fit(catalog.features, catalog.alive.astype(dtype)),
        recommender=recommender, exposure=jnp.zeros(static.n_items, dtype), stats=stats,
        window=(None if window is None else jax.tree.map(lambda a: jnp.zeros((window(static), *a.shape), a.dtype),
                                                         stats)),
        stats_uid=catalog.uid)


def row_weight(strategy: str, synthetic, influenced, organic, params: Params):
    """The data strategy's loss weight of each impression from its soft provenance
    (mirrors :data:`labkit.sim.data.STRATEGIES`; windows are applied to the totals)."""
    ai = 1.0 - (1.0 - synthetic) * (1.0 - influenced)
    if strategy in ("accumulate", "replace"):
        weight = jnp.ones_like(ai)
    elif strategy == "downweight":
        weight = 1.0 - (1.0 - params.synthetic_weight) * ai
    elif strategy == "human_only":
        weight = 1.0 - ai
    elif strategy == "reserve":
        weight = organic
    else:
        raise ConfigError(f"data_strategy = {strategy!r}: the relaxed loop has no counterpart (allowed: "
                          f"accumulate, replace, downweight, human_only, reserve)")
    return weight, ai


# --- one round

def human_items(key: Array, creators: world_mod.Creators, n: int, params: Params, tau
                ) -> tuple[Float[Array, "n topics"], Array]:
    """:func:`labkit.sim.world.human_items` relaxed: each item's creator a Gumbel-softmax mix
    of the creators by activity, the item drawn around the mix of their styles. Returns the
    features and the creator the mix leans on most (for information)."""
    k_creator, k_item = jax.random.split(key)
    gumbel = jax.random.gumbel(k_creator, (n, creators.activity.shape[0]), creators.style.dtype)
    mix = jax.nn.softmax((jnp.log(creators.activity) + gumbel) / tau, axis=-1)
    features = jax.random.dirichlet(k_item, params.creator_focus * (mix @ creators.style) + world_mod._MIN_ALPHA)
    return features, jnp.argmax(mix, axis=-1).astype(jnp.int32)


def create(key: Array, state: RelaxedState, static: Static, params: Params, tau) -> RelaxedState:
    """Creation relaxed: the creator a Gumbel-softmax mix, the synthetic coin a relaxed coin."""
    if static.new_items == 0:
        return state
    k_human, k_synth, k_coin = jax.random.split(key, 3)
    n = static.new_items
    human, creator = human_items(k_human, state.creators, n, params, tau)
    synth = gen_mod.sample(k_synth, state.generator, n, params.generator_temperature)
    coin = soft_coin(k_coin, params.synthetic_share, (n,), tau)
    features = coin[:, None] * synth + (1.0 - coin[:, None]) * human
    catalog, slots = world_mod.insert(state.catalog, features, coin > 0.5, creator, state.round)
    return state._replace(catalog=catalog, synthetic=state.synthetic.at[slots].set(coin),
                          exposure=state.exposure.at[slots].set(0.0))


def _scores(static: Static, state: RelaxedState, key: Array, users: Array) -> Float[Array, "b n"]:
    features = state.catalog.features
    if static.recommender == "random":
        return jax.random.uniform(key, (users.shape[0], static.n_items), features.dtype)
    if static.recommender == "popularity":
        return jnp.broadcast_to(state.stats.item_clicks, (users.shape[0], static.n_items))
    if static.recommender == "ideal":
        return state.users.theta[users] @ features.T
    if static.recommender == "content":
        return rec_mod.profile(state.stats.clicks[users] @ features) @ features.T
    if static.recommender == "mf":
        f = state.recommender.factors
        return f.user[users] @ f.item.T + f.bias
    raise ConfigError(f"recommender = {static.recommender!r}: the relaxed loop has no counterpart "
                      f"(allowed: random, popularity, ideal, content, mf)")


class _Block(NamedTuple):
    """One block of users' round, reduced: per user arrays, and sums over the block's users."""

    slate_features: Array  # [b, k, d]
    slot_synthetic: Array  # [b, k]
    choice: Array  # [b, k + 1]
    utility: Array  # [b, k]
    exposure: Array  # [n]
    consumption: Array  # [n]
    share: Array  # [n] or [0]
    stats: Stats  # the block's rows of this round's stats (sums over its users for per-item fields)


def _round_blocks(key: Array, state: RelaxedState, static: Static, params: Params, tau,
                  influenced: Array) -> _Block:
    n_users, k, n = static.n_users, static.slate_size, static.n_items
    block = min(static.block_users, n_users)
    n_blocks = -(-n_users // block)
    rows = jnp.arange(n_blocks * block).reshape(n_blocks, block)
    catalog = state.catalog
    context = SlateContext(alive=catalog.alive, exposure=state.exposure, features=catalog.features)
    context = context._replace(bonus=novelty_bonus(context, params))
    strategy = static.data_strategy
    want_share = gen_mod.OBJECTIVES[static.generator_objective].needs_share
    per_user = _needs(static)
    item_columns = jnp.concatenate([catalog.features, state.synthetic[:, None]], axis=1)

    @jax.checkpoint
    def one_block(args):
        block_rows, block_key = args
        k_score, k_policy, k_reserve, k_choice = jax.random.split(block_key, 4)
        users = jnp.minimum(block_rows, n_users - 1)
        real = (block_rows < n_users).astype(state.exposure.dtype)
        predicted = SCORE_UNITS[static.score_units](_scores(static, state, k_score, users), catalog.alive)
        slate, organic = soft_slate(k_policy, static.policy, predicted, context, params, k, tau)
        if strategy == "reserve":
            slate, organic = soft_explore(k_reserve, slate, organic, catalog.alive, params.reserve_share, tau)
        # Every read of the b x k x n soft slate is one of two contractions (each a single
        # pass over it, forward and backward): the slots' features and synthetic share, and
        # the per-slot weights of the per-item (and, where read, per-user) statistics.
        projected = jnp.einsum("bkn,nd->bkd", slate, item_columns)
        slate_features, slot_synthetic = projected[..., :-1], projected[..., -1]
        utility = users_mod.utility(state.users.theta[users], slate_features)
        choice = soft_choice(k_choice, utility, params, tau)
        weight, ai = row_weight(strategy, slot_synthetic, influenced[users][:, None], organic, params)
        weight = weight * real[:, None]
        clicks = jnp.einsum("bk,bkn->bn", weight * choice[:, :k], slate)
        shown = jnp.einsum("bk,bkn->bn", weight, slate)
        stats = Stats(clicks=clicks if per_user[0] else jnp.zeros((0, n), clicks.dtype),
                      impressions=shown if per_user[1] else jnp.zeros((0, n), shown.dtype),
                      item_clicks=clicks.sum(axis=0), weight=shown.sum(axis=0),
                      ai_weight=jnp.einsum("bk,bkn->n", weight * ai, slate))
        share = jnp.zeros(0, predicted.dtype)
        if want_share:
            share = (jax.nn.softmax(jnp.where(catalog.alive[None, :], predicted, -jnp.inf), axis=1)
                     * real[:, None]).sum(axis=0)
        return _Block(slate_features, slot_synthetic, choice, utility,
                      exposure=jnp.einsum("b,bkn->n", real, slate),
                      consumption=jnp.einsum("bk,bkn->n", real[:, None] * choice[:, :k], slate),
                      share=share, stats=stats)

    out = jax.lax.map(one_block, (rows, jax.random.split(key, n_blocks)))

    def users_first(a):  # [blocks, b, ...] -> [users, ...]
        return a.reshape(-1, *a.shape[2:])[:n_users]

    summed = (lambda a: a.sum(axis=0))
    stats = out.stats
    return _Block(users_first(out.slate_features), users_first(out.slot_synthetic), users_first(out.choice),
                  users_first(out.utility), summed(out.exposure), summed(out.consumption), summed(out.share),
                  Stats(users_first(stats.clicks) if per_user[0] else stats.clicks[0],
                        users_first(stats.impressions) if per_user[1] else stats.impressions[0],
                        summed(stats.item_clicks), summed(stats.weight), summed(stats.ai_weight)))


def _keep_held(stats: Stats, held: Array) -> Stats:
    """Zero the statistics of slots whose item has left (the slot was reused)."""
    return Stats(stats.clicks * held[None, :], stats.impressions * held[None, :], stats.item_clicks * held,
                 stats.weight * held, stats.ai_weight * held)


def _retrain_mf(mf_state, stats: Stats, catalog, key, static: Static, params: Params):
    """The MF recommender's retraining, as :func:`labkit.sim.recommenders.mf` does it, on
    the count-weighted logistic loss (equal to the weighted loss over the impressions)."""
    mf_state = rec_mod.cold_start(mf_state, catalog, key)
    total = jnp.maximum(stats.impressions.sum(), 1.0)

    def loss(f):
        logit = f.user @ f.item.T + f.bias
        fit = (stats.clicks * jax.nn.softplus(-logit) + (stats.impressions - stats.clicks)
               * jax.nn.softplus(logit)).sum() / total
        return fit + params.l2 * rec_mod.l2_penalty(f)

    return rec_mod.train(mf_state, loss, rec_mod.optimizer(params, eps_root=_EPS_ROOT), static.train_steps)


def step(static: Static, params: Params, tau, state: RelaxedState, key: Array
         ) -> tuple[RelaxedState, dict[str, Array]]:
    """One relaxed round, the steps of :func:`labkit.sim.loop.step` in the same order."""
    k_create, k_recommend, k_fit = jax.random.split(key, 3)
    state = create(k_create, state, static, params, tau)
    catalog, users = state.catalog, state.users
    popularity_before = state.exposure
    influenced = soft_influenced(users, params.influence_threshold, tau)

    out = _round_blocks(k_recommend, state, static, params, tau, influenced)
    k = static.slate_size
    click = out.choice[:, :k]
    clicked = click.sum(axis=1)
    consumed_features = jnp.einsum("uk,ukd->ud", click, out.slate_features)
    consumed_utility = (click * out.utility).sum(axis=1)

    # drift: the convex step of labkit.sim.users.drift, toward the soft consumed features
    theta = users.theta + params.drift * (consumed_features - clicked[:, None] * users.theta)
    users = users._replace(theta=theta)

    # logging: the round's stats into the totals, slots reused since dropped
    held = (catalog.uid == state.stats_uid).astype(click.dtype)
    stats = _keep_held(state.stats, held)
    stats = jax.tree.map(jnp.add, stats, out.stats)
    window = state.window
    if window is not None:
        row = state.round % jax.tree.leaves(window)[0].shape[0]
        window = jax.tree.map(lambda ring: ring * _broadcast_held(held, ring), window)
        stats = jax.tree.map(lambda total, ring: total - ring[row], stats, window)
        window = jax.tree.map(lambda ring, new: ring.at[row].set(new), window, out.stats)

    # retraining
    recommender = state.recommender
    if static.recommender == "mf":
        recommender = _retrain_mf(recommender, stats, catalog, k_fit, static, params)
    if static.generator_objective == "likelihood":  # each user's consumed item, normalised by the click's mass
        samples = consumed_features / jnp.maximum(clicked, KEEP_MASS)[:, None]  # (a user below: weight ~0)
        generator = refit_generator(state.generator, samples, clicked)
    else:  # engagement: the live catalog weighted by the predicted share of clicks
        generator = refit_generator(state.generator, catalog.features, out.share / static.n_users)
    exposure = state.exposure + out.exposure

    new_state = state._replace(round=state.round + 1, users=users, generator=generator, recommender=recommender,
                               exposure=exposure, stats=stats, window=window, stats_uid=catalog.uid)
    alive = catalog.alive
    popularity = (popularity_before + 1.0) / (jnp.sum(jnp.where(alive, popularity_before, 0.0)) + alive.sum())
    self_information = jnp.where(alive, -jnp.log2(popularity), 0.0)
    total_weight = stats.weight.sum()
    metrics = {
        "exposure_entropy": M.entropy(out.exposure, alive),
        "exposure_effective_items": M.effective_number(out.exposure, alive),
        "consumption_entropy": M.entropy(out.consumption, alive),
        "consumption_effective_items": M.effective_number(out.consumption, alive),
        "exposure_topic_entropy": M.entropy(out.slate_features.sum(axis=(0, 1))),
        "consumption_topic_entropy": M.entropy(consumed_features.sum(axis=0)),
        "exposure_gini": M.gini(out.exposure, alive),
        "long_tail_share": M.long_tail_share(out.exposure, alive, popularity=popularity_before),
        "intra_list_diversity": M.intra_list_diversity(out.slate_features),
        "novelty": (out.exposure * self_information).sum() / jnp.maximum(out.exposure.sum(), 1e-12),
        "preference_drift": M.preference_drift(users.theta, users.theta0),
        "preference_spread": M.preference_spread(users.theta),
        "user_taste_entropy": jax.vmap(M.entropy)(users.theta).mean(),
        "synthetic_exposure_share": out.slot_synthetic.mean(),
        "synthetic_catalog_share": (state.synthetic * alive).sum() / jnp.maximum(alive.sum(), 1),
        "training_ai_share": jnp.where(total_weight > 0, stats.ai_weight.sum()
                                       / jnp.where(total_weight > 0, total_weight, 1.0), 0.0),
        "ctr": clicked.mean(),
        "true_utility": consumed_utility.mean(),
        "alive_items": alive.sum().astype(click.dtype),
    }
    return new_state, metrics


def refit_generator(previous: gen_mod.Generator, samples: Float[Array, "n topics"], weights: Float[Array, "n"]
                    ) -> gen_mod.Generator:
    """:func:`labkit.sim.generator.fit` relaxed: the weighted fit, blended with the previous
    generator by ``W / (W + KEEP_MASS)`` for total weight ``W`` (the exact fit keeps the
    previous generator when nothing was engaged, ``W = 0``, and refits when ``W >= 1``)."""
    fitted = gen_mod.fit_gaussian(gen_mod.to_logits(samples), weights)
    total = weights.sum()
    share = total / (total + KEEP_MASS)
    return jax.tree.map(lambda old, new: share * new + (1.0 - share) * old, previous, fitted)


def _broadcast_held(held: Array, ring: Array) -> Array:
    """``held`` shaped to multiply a window ring ``[window, ..., items]``."""
    return held.reshape((1,) * (ring.ndim - 1) + (-1,))


def segment_length(rounds: int) -> int:
    """Rounds per checkpointed segment: the divisor of ``rounds`` nearest ``sqrt(rounds)``."""
    divisors = [d for d in range(1, rounds + 1) if rounds % d == 0]
    return min(divisors, key=lambda d: (abs(d - math.sqrt(rounds)), d))


def run(static: Static, params: Params, key: Array, tau: Float[Array, ""]
        ) -> tuple[RelaxedState, dict[str, Float[Array, "rounds"]]]:
    """The relaxed loop over ``static.rounds`` rounds from PRNG ``key`` at relaxation
    temperature ``tau``: the final state and each metric of :data:`RELAXED_METRICS` per round.

    Pure and differentiable in ``params`` and ``tau`` (``jax.grad``, ``jax.jvp``,
    ``jax.vmap`` over seeds or params); not jitted here (callers jit once around it).
    """
    check_supported(static)
    k_init, k_rounds = jax.random.split(key)
    state = init_state(k_init, static, params, tau)
    keys = jax.random.split(k_rounds, static.rounds)
    length = segment_length(static.rounds)
    # Rounds are not checkpointed one by one: each level of rematerialization recomputes every
    # block's forward once more (labkit bench: 6.3x the forward with it, 5.4x without, and less
    # memory too, since a block's checkpoint already keeps users x k x items out of the residuals).
    def round_step(s, kk):
        return step(static, params, tau, s, kk)

    @jax.checkpoint
    def segment(s, segment_keys):
        return jax.lax.scan(round_step, s, segment_keys)

    state, metrics = jax.lax.scan(segment, state, keys.reshape(static.rounds // length, length, *keys.shape[1:]))
    return state, {name: value.reshape(static.rounds) for name, value in metrics.items()}
