"""The feedback loop: one pure ``step`` per round, and ``simulate`` over rounds and seeds.

One round, in the order of DESIGN.md: creation (human creators and the GenAI add items),
recommendation (scores, then a policy builds each user's slate), choice (logit model
with no-click), drift (tastes move toward what was consumed), logging (with provenance
bits), retraining (the recommender and the generator refit on the data strategy's rows)
and measurement (the round's metrics).

``simulate`` scans ``step`` over rounds under ``jax.jit``; ``simulate_seeds`` and
``simulate_grid`` ``jax.vmap`` it over seeds and over a grid of param levers, so a whole
ablation is one compiled call with no Python loop over seeds or rounds.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from functools import lru_cache, partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from labkit.sim import agents
from labkit.sim import data as data_mod
from labkit.sim import generator as gen_mod
from labkit.sim import measure
from labkit.sim import memory
from labkit.sim import recommenders as rec_mod
from labkit.sim import users as users_mod
from labkit.sim import world as world_mod
from labkit.sim.config import Config, Params, Static
from labkit.sim.measure import METRIC_NAMES  # noqa: F401 (re-exported: labkit.METRIC_NAMES)
from labkit.sim.devices import devices_for, over_devices
from labkit.sim.prng import unrolled_threefry
from labkit.sim.policies import (BONUS_JITTER, NEG, POLICIES, SCORE_UNITS, Slate, SlateContext, coin_log_prob,
                                 novelty_bonus, slate_log_prob, source_parity, switched)
from labkit.sim.recommenders import RECOMMENDERS, Observation
from labkit.sim.capacity import every_round_reader, log_rounds  # noqa: F401 (re-exported: loop.log_rounds)

# The policies of the branched program (:func:`branched`), in the registry's order.
POLICY_BRANCHES = tuple(POLICIES)


class State(NamedTuple):
    """Everything the loop carries from one round to the next."""

    round: Int[Array, ""]
    catalog: world_mod.Catalog
    creators: world_mod.Creators
    users: users_mod.Users
    generator: gen_mod.GenAI  # its family: generator_family
    recommender: Any
    log: data_mod.Log
    exposure: Float[Array, "items"]  # impressions so far of the item in each slot
    training: data_mod.TrainingTotals  # training weight per slot, kept round by round
    history: Int[Array, "users rounds"]  # each user's clicked serial numbers, one a round (data.record_clicks)
    # What the loop serves under ``retrain_every > 1``: the (recommender, GenAI) of the last
    # refresh; None (``retrain_every = 1``): it serves ``recommender`` and ``generator`` as they are.
    served: Any = None


def init_state(key: Array, static: Static, params: Params) -> State:
    """The world before round 0: creators, initial catalog, users, untrained recommender."""
    k_creators, k_catalog, k_users, k_rec = jax.random.split(key, 4)
    creators = world_mod.init_creators(k_creators, static, params)
    catalog = world_mod.initial_catalog(k_catalog, static, params, creators)
    live = catalog.alive.astype(jnp.float32)
    generator = gen_mod.fit(catalog.features, live, family=static.generator_family,
                            components=static.generator_components)
    recommender = RECOMMENDERS[static.recommender].init(k_rec, static, params)
    return State(
        round=jnp.int32(0),
        catalog=catalog,
        creators=creators,
        users=users_mod.init_users(k_users, static, params),
        generator=generator,
        recommender=recommender,
        log=data_mod.empty_log(static, log_rounds(static)),
        exposure=jnp.zeros(static.n_items),
        training=data_mod.empty_totals(static),
        history=data_mod.empty_history(static),
        served=(recommender, generator) if static.retrain_every > 1 else None,
    )


def create(key: Array, state: State, static: Static, params: Params, generator: gen_mod.GenAI | None = None
           ) -> State:
    """Creation: ``new_items`` items, each synthetic with probability ``synthetic_share``,
    drawn from ``generator`` (the one the loop serves; default ``state.generator``); under
    ``assisted_share > 0`` an assisted creator's item blends in a GenAI sample of its own
    (:func:`labkit.sim.world.assist`, drawn from ``fold_in(key, 3)``: no other draw moves)."""
    if static.new_items == 0:
        return state
    k_human, k_synth, k_coin = jax.random.split(key, 3)
    human, creator = world_mod.human_items(k_human, world_mod.creating(state.creators, static),
                                           static.new_items, params)
    generator = state.generator if generator is None else generator
    synth = gen_mod.sample(k_synth, generator, static.new_items, params.generator_temperature)
    assisted = None
    if static.assisted_share > 0:
        genai = gen_mod.sample(jax.random.fold_in(key, 3), generator, static.new_items, params.generator_temperature)
        human, assisted = world_mod.assist(human, creator, state.creators, genai, static.assisted_blend)
    is_synthetic = jax.random.uniform(k_coin, (static.new_items,)) < params.synthetic_share
    features = jnp.where(is_synthetic[:, None], synth, human)
    catalog, slots = world_mod.insert(state.catalog, features, is_synthetic, creator, state.round, assisted)
    return state._replace(catalog=catalog, exposure=state.exposure.at[slots].set(0.0))


def step(static: Static, params: Params, state: State, key: Array, score: bool = False,
         branch: Array | None = None) -> tuple[State, dict[str, Array]]:
    """One round of the feedback loop, the seven steps of DESIGN.md in order.

    1. creation: human creators and the GenAI add ``new_items`` to the catalog's ring
       (:func:`create`);
    2. recommendation: the recommender scores every user, block by block, and the policy
       turns scores into a slate of ``slate_size`` items (:func:`recommend`); a data
       strategy with a ``slate`` (reserve) then rewrites it;
    3. choice: each user clicks at most one slate item, by a logit model over true
       utility with position bias and a no-click option (:mod:`labkit.sim.users`); under
       ``agent_share > 0`` an AI agent chooses for some users, by a model's estimate
       (:mod:`labkit.sim.agents`);
    4. drift: tastes move toward what was clicked, at rate ``drift``; whether a user
       counts as AI-influenced is judged on the tastes they arrived with;
    5. logging: the round's impressions enter the log with their provenance bits
       (synthetic item, organic exposure, influenced user) (:mod:`labkit.sim.data`);
    6. retraining: the recommender on the data strategy's rows (incrementally where it
       has an ``update``), the running training totals, and the GenAI by its objective;
       creators react to the impressions and clicks their items got (adapt, leave, enter:
       :func:`labkit.sim.world.react`). Under ``retrain_every = n > 1`` both models keep
       learning every round, but what users are shown (step 2) and what the GenAI makes
       (step 1) come from the models as they were after the last n-th round
       (``State.served``, seen through :func:`labkit.sim.recommenders.stale_view`), so a
       slower loop can be set against a faster one at equal interactions;
    7. measurement: every metric of :data:`labkit.sim.measure.METRICS`.

    Args:
      static: shapes and code-path choices (hashable; fixed per compiled program).
      params: the continuous levers (a pytree of scalars; vmappable).
      state: what the loop carries from the previous round.
      key: this round's PRNG key; split once into the six draws of the round, so a
        round's randomness does not depend on which steps a configuration uses.
      score: also return, under ``score:<lever>``, the gradient with respect to each
        param lever of the log-probability of the round's draws (the synthetic coins,
        the policy's sampling, the reserve stream's coins, the clicks), for the
        score-function estimator (:mod:`labkit.grad.score`). The draws themselves, and
        every other number, are the same as without it.
      branch: None, or a traced int32 index into :data:`POLICY_BRANCHES`: the policy is
        then that branch of one ``lax.switch`` (:func:`labkit.sim.policies.switched`), not
        ``static.policy``, so one compiled program serves every policy (:func:`branched`);
        its draws and slates are the named policy's. Not with ``score``.

    Returns:
      The state after the round, and the round's metrics (a dict of scalars, plus the
      ``finite:*`` guard flags that :func:`check_finite` reads).
    """
    k_create, k_recommend, k_reserve, k_choice, k_fit, k_pairs = jax.random.split(key, 6)
    recommender = RECOMMENDERS[static.recommender]

    # the models the loop serves: the current ones, or under retrain_every > 1 the last refresh's
    served_recommender, served_generator = (state.recommender, state.generator) if state.served is None \
        else state.served

    # 1. creation
    new_slots = (state.catalog.cursor + jnp.arange(static.new_items)) % static.n_items
    state = create(k_create, state, static, params, served_generator)
    catalog, users = state.catalog, state.users
    popularity_before = state.exposure
    if state.served is not None:
        served_recommender = rec_mod.stale_view(served_recommender, catalog, jax.random.fold_in(key, 7), static)

    # 2. recommendation
    context = SlateContext(alive=catalog.alive, exposure=state.exposure, features=catalog.features)
    consumed = consumed_history(state.log, catalog) if static.consumption == "once" else None
    slate, predicted_share, slate_score = recommend(k_recommend, served_recommender, Observation(catalog, users),
                                                    context, static, params, consumed, score, state.log, branch)
    strategy = data_mod.strategy(static)
    ranked_items = slate.items
    if strategy.slate is not None:  # a strategy that changes what is shown (reserve's exploration stream)
        slate = strategy.slate(k_reserve, slate, catalog, params)

    # 3. choice
    slate_features = catalog.features[slate.items]
    slate_utility = users_mod.utility(users.theta, slate_features)
    choice = users_mod.choose(k_choice, slate_utility, params)
    agent = None  # which users an agent chose for (agent_share > 0: a key apart from the six)
    if static.agent_share > 0:
        choice, agent = agents.act(jax.random.fold_in(key, agents.AGENT_KEY), choice, slate.items,
                                   served_recommender, served_generator, catalog, users, static)
    position = jnp.maximum(choice.position, 0)
    consumed_item = jnp.where(choice.clicked, jnp.take_along_axis(slate.items, position[:, None], 1)[:, 0], -1)
    consumed_features = jnp.take_along_axis(slate_features, position[:, None, None], 1)[:, 0]
    consumed_utility = jnp.take_along_axis(slate_utility, position[:, None], 1)[:, 0]
    click = jax.nn.one_hot(choice.position, static.slate_size, dtype=bool)  # -1 gives all False

    # 4. drift (influence is judged on the tastes the user arrived with this round)
    was_influenced = users_mod.influenced(users, params.influence_threshold)
    users = users_mod.drift(users, consumed_features, choice.clicked, params.drift)

    # 5. logging
    log = data_mod.record(state.log, state.round, slate.items, click, slate.organic, was_influenced, catalog, agent)
    row = state.round % log.round.shape[0]  # the log's ring row this round wrote
    history = data_mod.record_clicks(state.history, state.round, data_mod.clicked_uids(log, row))
    exposure = state.exposure + jnp.zeros_like(state.exposure).at[slate.items.reshape(-1)].add(1.0)

    # 6. retraining: the recommender on the strategy's rows, the GenAI on what was engaged
    # (recommenders with an ``update`` retrain from the round's change, O(users) a round;
    # the others read the whole training table)
    if recommender.update is not None:
        rec_state = recommender.update(state.recommender, log, state.round, Observation(catalog, users), k_fit,
                                       static, params)
    else:
        training = data_mod.training_data(log, catalog, state.round, static, params)
        rec_state = recommender.fit(state.recommender, training, Observation(catalog, users), k_fit, static, params)
    totals = data_mod.update_totals(state.training, log, catalog, state.round, static, params)
    generator = refit_generator(state.generator, consumed_features, choice.clicked, predicted_share, catalog, static)
    # ... and the creators, to what their items got (entry's draws: a key apart from the six)
    creators = world_mod.react(jax.random.fold_in(key, 6), state.creators, catalog, slate.items, choice.clicked,
                               consumed_item, consumed_features, state.round, static, params)

    served = state.served
    if served is not None:  # retraining cadence: the served models refresh after every retrain_every-th round
        refresh = (state.round + 1) % static.retrain_every == 0
        served = jax.tree.map(lambda new, old: jnp.where(refresh, new, old), (rec_state, generator), served)

    new_state = State(round=state.round + 1, catalog=catalog, creators=creators, users=users,
                      generator=generator, recommender=rec_state, log=log, exposure=exposure, training=totals,
                      history=history, served=served)

    # 7. measurement
    metrics = measure.round_metrics(measure.view(
        catalog, users, totals, history, slate.items, slate_features, choice.clicked, consumed_item,
        consumed_features, consumed_utility, popularity_before, k_pairs, static.n_pairs, agent))
    if score:
        if agent is not None:
            raise ValueError("step: the score-function estimator does not model agents (allowed with score=True: "
                             "agent_share = 0)")

        def round_log_prob(p: Params) -> Array:  # the draws outside the scoring blocks
            log_prob = users_mod.choice_log_prob(choice.position, slate_utility, p)
            if static.new_items:
                log_prob = log_prob + coin_log_prob(catalog.synthetic[new_slots], p.synthetic_share).sum()
            if strategy.slate is not None:  # the reserve stream's swaps: a swapped slot shows another item
                log_prob = log_prob + coin_log_prob(slate.items != ranked_items, p.reserve_share).sum()
            return log_prob

        total = jax.tree.map(jnp.add, jax.grad(round_log_prob)(params), slate_score)
        metrics.update({SCORE_PREFIX + name: value for name, value in total._asdict().items()})
    return new_state, {**metrics, **finite_guards(new_state)}


SCORE_PREFIX = "score:"


GUARD_PREFIX = "finite:"


def finite_guards(state: State) -> dict[str, Array]:
    """In-graph checks, one flag per part of the state: is every number in it finite?

    They travel with the metrics (under ``finite:<part>``) so that :func:`check_finite`
    can name the round, the seed and the quantity where a NaN or inf first appeared.
    """
    parts = {"users.theta": state.users.theta, "catalog.features": state.catalog.features,
             "generator": state.generator, "recommender": state.recommender}
    def all_finite(tree) -> Array:
        flags = [jnp.isfinite(leaf).all() for leaf in jax.tree.leaves(tree)
                 if jnp.issubdtype(leaf.dtype, jnp.floating)]
        return jnp.all(jnp.stack(flags)) if flags else jnp.bool_(True)  # stateless recommenders

    return {GUARD_PREFIX + name: all_finite(tree) for name, tree in parts.items()}


class NumericalError(FloatingPointError):
    """A NaN or inf appeared in the state or the metrics; the message says where first."""


def check_finite(metrics: dict[str, Array], seeds, labels: list | None = None) -> dict[str, Array]:
    """Raise :class:`NumericalError` naming the first round, seed and quantity that is not finite.

    ``metrics`` holds arrays ``[seeds, rounds]`` or ``[points, seeds, rounds]`` (then
    ``labels`` names the points). Returns the metrics without the guard flags.
    """
    import numpy as np

    host = jax.device_get(metrics)
    seeds = list(seeds)
    worst = None
    for name, values in host.items():
        bad = ~values.astype(bool) if name.startswith(GUARD_PREFIX) else ~np.isfinite(values)
        if bad.any():
            where = np.argwhere(bad)
            first = where[np.argmin(where[:, -1])]  # the earliest round
            if worst is None or first[-1] < worst[1][-1]:
                worst = (name, first)
    if worst is not None:
        name, index = worst
        point = f" at grid point {labels[index[0]] if labels else index[0]}" if len(index) == 3 else ""
        what = (f"a NaN or inf in {name[len(GUARD_PREFIX):]}" if name.startswith(GUARD_PREFIX)
                else f"metric {name} is not finite")
        raise NumericalError(f"{what}: first at round {int(index[-1])}, seed {seeds[int(index[-2])]}{point}")
    return {name: values for name, values in metrics.items() if not name.startswith(GUARD_PREFIX)}


# Score of an item the user already consumed under ``consumption = "once"``: below every
# unconsumed live item, above every dead slot (policies.NEG).
CONSUMED = NEG / 2


def consumed_history(log: data_mod.Log, catalog: world_mod.Catalog
                     ) -> tuple[Int[Array, "users rounds"], Bool[Array, "users rounds"]]:
    """Per user and logged round, the catalog slot of the item clicked and whether it
    counts: a click happened and the slot still holds that item (not reused since)."""
    clicked = data_mod.clicked_log(log)
    valid = clicked.click & data_mod.still_held(clicked, catalog.uid)
    return clicked.item[..., 0].T, valid[..., 0].T


def recommend(key: Array, rec_state: Any, obs: Observation, context: SlateContext, static: Static,
              params: Params, consumed: tuple[Array, Array] | None = None, score: bool = False,
              log: data_mod.Log | None = None, branch: Array | None = None
              ) -> tuple[Slate, Float[Array, "*share"], Params | None]:
    """Score users block by block and turn each block's scores into slates.

    Memory holds one ``block_users x items`` score matrix at a time, never all of
    ``users x items``. Also returns, for the ``engagement`` generator objective, the share
    of clicks the recommender predicts for each item (softmax over live items, summed
    over users; an empty array for the other objectives), computed from the same blocks.
    ``consumed``: :func:`consumed_history`, whose items get the score :data:`CONSUMED` for their user after the novelty bonus
    (``consumption = "once"``), so a ranking shows them only when nothing else is left;
    exploration draws (``epsilon_greedy``, ``reserve``) and MMR at ``mmr_lambda = 0``
    (which ignores scores) may still show them.
    ``score``: also return the gradient in ``params`` of the slates' log-probability under
    the policy (:func:`labkit.sim.policies.slate_log_prob`), summed over blocks; else None.
    The policy ranks the scores in ``score_units`` (standardized: per user, before the
    novelty reward); the predicted share reads the recommender's own scores. Under
    ``bonus_scope = "per_user"`` the exposure bonus and the novelty reward count each
    user's own impressions in ``log`` (:func:`own_exposure`, one ``block x items`` count
    per block), so ``log`` is required then; under ``"randomized"`` they count everyone's, each
    scaled per user and item by a uniform draw of :data:`labkit.sim.policies.BONUS_JITTER`
    (from a key folded off the block's, so no other draw changes). Under ``source_parity = "slate"`` each slate
    holds the catalog's synthetic share (:func:`labkit.sim.policies.source_parity`).
    ``branch``: as in :func:`step`, the policy as a runtime branch (not with ``score``).
    """
    recommender = RECOMMENDERS[static.recommender]
    if branch is not None and score:
        raise ValueError("recommend: the score-function estimator reads the policy from static; "
                         "branch= is for the exact loop's plain runs")
    policy = POLICIES[static.policy] if branch is None else switched(POLICY_BRANCHES, branch)
    n_users, k = static.n_users, static.slate_size
    block = min(static.block_users, n_users)
    n_blocks = -(-n_users // block)
    rows = jnp.arange(n_blocks * block).reshape(n_blocks, block)
    want_share = gen_mod.OBJECTIVES[static.generator_objective].needs_share
    units = SCORE_UNITS[static.score_units]
    per_user = static.bonus_scope == "per_user"
    if per_user and log is None:
        raise ValueError("recommend: bonus_scope = 'per_user' counts each user's impressions in the log; pass log=")
    randomized = static.bonus_scope == "randomized"
    shared_bonus = None if per_user else novelty_bonus(context, params)
    parity = static.source_parity == "slate"
    if parity and score:
        raise ValueError("recommend: the score-function estimator does not model source_parity = 'slate' "
                         "(allowed with score=True: off)")

    def one_block(args):
        block_rows, block_key = args
        k_score, k_policy = jax.random.split(block_key)
        users = jnp.minimum(block_rows, n_users - 1)  # the last block may run past the end: padding
        predicted = recommender.score(rec_state, obs, k_score, users)
        ranking = units(predicted, context.alive)
        user_context = context._replace(exposure=own_exposure(log, obs.catalog, users)) if per_user else context
        if randomized:  # a key of its own: the scores' and the policy's draws stay as in the other scopes
            user_context = context._replace(bonus_scale=jax.random.uniform(
                jax.random.fold_in(block_key, 1), predicted.shape, minval=BONUS_JITTER[0], maxval=BONUS_JITTER[1]))

        def block_bonus(p):  # the novelty reward of this block's users
            if randomized:
                return novelty_bonus(context, p) * user_context.bonus_scale
            return novelty_bonus(user_context, p)

        bonus = block_bonus(params) if per_user or randomized else shared_bonus
        if consumed is not None:
            items = jnp.where(consumed[1][users], consumed[0][users], static.n_items)  # n_items: dropped
            seen = jnp.zeros(predicted.shape, bool).at[jnp.arange(users.shape[0])[:, None], items].set(
                True, mode="drop")

        def ranked(bonus):
            if consumed is None:  # the novelty reward stays a row (global scope): see labkit.sim.policies
                return ranking, user_context._replace(bonus=bonus)
            return jnp.where(seen, CONSUMED, ranking + bonus), user_context

        scores, block_context = ranked(bonus)
        if parity:
            slate = source_parity(policy, k_policy, scores, block_context, params, k, obs.catalog.synthetic, users)
        else:
            slate = policy(k_policy, scores, block_context, params, k)
        block_score = None
        if score:  # padding rows of the last block repeat a user: they do not count
            def log_prob(p):
                s, c = ranked(block_bonus(p))
                return jnp.where(block_rows < n_users, slate_log_prob(static.policy, s, c, p, slate), 0.0).sum()
            block_score = jax.grad(log_prob)(params)
        if not want_share:
            return slate, jnp.zeros(0), block_score
        share = jax.nn.softmax(jnp.where(context.alive[None, :], predicted, -jnp.inf), axis=1)
        return slate, (share * (block_rows < n_users)[:, None]).sum(axis=0), block_score

    slates, shares, scores = jax.lax.map(one_block, (rows, jax.random.split(key, n_blocks)))
    slate = Slate(slates.items.reshape(-1, k)[:n_users], slates.organic.reshape(-1, k)[:n_users])
    if score:
        scores = jax.tree.map(lambda g: g.sum(axis=0), scores)
    return slate, (shares.sum(axis=0) / n_users if want_share else shares), scores


def own_exposure(log: data_mod.Log, catalog: world_mod.Catalog, users: Int[Array, "b"]) -> Float[Array, "b items"]:
    """Each of ``users``' own impressions so far of the item now in each slot (the log's
    impressions whose slot still holds the item, as the catalog-wide ``State.exposure``
    counts them): the exposure ``bonus_scope = "per_user"`` reads."""
    mine = log._replace(item=log.item[:, users], uid=log.uid[:, users])  # [rounds, b, k]
    held = data_mod.still_held(mine, catalog.uid).astype(jnp.float32)
    rows = jnp.broadcast_to(jnp.arange(users.shape[0])[None, :, None], mine.item.shape)
    return jnp.zeros((users.shape[0], catalog.uid.shape[0])).at[rows, mine.item].add(held)


def creator_metrics(state: State, static: Static) -> dict[str, Array]:
    """How creators fared by ``state`` (:func:`labkit.sim.world.creator_metrics`); leading
    axes of a batched state (seeds, grid points) carry over to every value."""
    def one(creators, round_):
        return world_mod.creator_metrics(creators, round_, static)

    for _ in range(state.round.ndim):
        one = jax.vmap(one)
    return one(state.creators, state.round)


def refit_generator(generator: gen_mod.GenAI, consumed_features: Float[Array, "users topics"],
                    clicked: Bool[Array, "users"], predicted_share: Float[Array, "*share"],
                    catalog: world_mod.Catalog, static: Static) -> gen_mod.GenAI:
    """Refit the GenAI by its objective (:data:`labkit.sim.generator.OBJECTIVES` says
    what each fits); ``predicted_share`` comes from :func:`recommend`."""
    objective = gen_mod.OBJECTIVES[static.generator_objective]
    return objective.refit(generator, consumed_features, clicked, predicted_share, catalog.features)


def run_rounds(static: Static, params: Params, state: State, keys: Array, progress: bool = False,
               score: bool = False, branch: Array | None = None) -> tuple[State, dict[str, Float[Array, "rounds"]]]:
    """The one driver: :func:`step` scanned from ``state``, one round per key of ``keys``.

    Returns the final state and each metric's series over those rounds. ``progress``
    ticks :func:`progress_bar` once a round; ``score`` is :func:`step`'s. Every simulation in labkit (``simulate`` and
    its siblings, the reproductions' start-up phases) runs its rounds through here.
    """
    def body(state, key):
        if progress:
            jax.debug.callback(_progress.tick, state.round)
        return step(static, params, state, key, score, branch)

    return jax.lax.scan(body, state, keys)


def _run(static: Static, params: Params, key: Array, progress: bool = False, score: bool = False,
         branch: Array | None = None):
    k_init, k_rounds = jax.random.split(key)
    return run_rounds(static, params, init_state(k_init, static, params),
                      jax.random.split(k_rounds, static.rounds), progress, score, branch)


class _Progress:
    """Host-side progress bar fed from inside the compiled scan (one tick per round)."""

    bar = None

    def tick(self, round_) -> None:
        if self.bar is not None:
            done = int(round_) + 1
            if done > self.bar.n:
                self.bar.update(done - self.bar.n)


_progress = _Progress()


@contextmanager
def progress_bar(rounds: int, desc: str = "rounds"):
    """Show a tqdm bar over rounds while a simulation called with ``progress=True`` runs."""
    from tqdm.auto import tqdm

    with tqdm(total=rounds, desc=desc, unit="round") as bar:
        _progress.bar = bar
        try:
            yield bar
        finally:
            _progress.bar = None


@partial(jax.jit, static_argnums=(0, 3))
def _simulate(static: Static, params: Params, key: Array, progress: bool = False):
    return _run(static, params, key, progress)


@partial(jax.jit, static_argnums=(0, 3))
def _simulate_seeds(static: Static, params: Params, keys: Array, progress: bool = False):
    return jax.vmap(lambda k: _run(static, params, k, progress))(keys)


@partial(jax.jit, static_argnums=(0, 3))
def _simulate_seeds_branched(static: Static, params: Params, keys: Array, progress: bool, branch: Array):
    return jax.vmap(lambda k: _run(static, params, k, progress, branch=branch))(keys)


def branched_static(static: Static) -> Static:
    """The static part of the program with every policy as a runtime branch: ``static`` with
    its policy set to the first of :data:`POLICY_BRANCHES`, so statics that differ only in
    their policy give the same program."""
    return dataclasses.replace(static, policy=POLICY_BRANCHES[0])


def branched(config: Config) -> tuple[Static, Array]:
    """``config``'s program with every policy as a runtime branch
    (:func:`labkit.sim.policies.switched`): its static part (:func:`branched_static`) and the
    traced index of ``config.policy`` among :data:`POLICY_BRANCHES`."""
    return branched_static(config.static), jnp.int32(POLICY_BRANCHES.index(config.policy))


@partial(jax.jit, static_argnums=(0, 3))
def _simulate_grid(static: Static, params: Params, keys: Array, progress: bool = False):
    over_seeds = jax.vmap(lambda p, k: _run(static, p, k, progress), in_axes=(None, 0))
    return over_devices(jax.vmap(over_seeds, in_axes=(0, None)), params, keys)  # points split


def simulate(config: Config, key: Array, memory_check: bool = True
             ) -> tuple[State, dict[str, Float[Array, "rounds"]]]:
    """Run one world for ``config.rounds`` rounds from PRNG ``key``.

    Returns the final state and a dict of metric time series, one value per round
    (plus the ``finite:*`` guard flags; :func:`check_finite` reads them). A world whose
    estimated memory exceeds what the device has free is refused first
    (:func:`check_memory`; ``memory_check=False`` runs it anyway).
    """
    check_memory(config.static, seeds=1, check=memory_check)
    with unrolled_threefry():  # labkit's programs only: see labkit.sim.prng
        return _simulate(config.static, config.params, key)


def seed_keys(seeds) -> Array:
    """One PRNG key per integer seed."""
    return jax.vmap(jax.random.key)(jnp.asarray(list(seeds), dtype=jnp.uint32))


def simulate_seeds(config: Config, seeds, progress: bool = False, memory_check: bool = True,
                   policy_branches: bool = False) -> tuple[State, dict[str, Float[Array, "seeds rounds"]]]:
    """Run the same config for several integer seeds in one vmapped, compiled call.

    Seed ``s`` uses ``jax.random.key(s)``, so its numbers are the same whether it runs
    alone or in a batch. ``progress=True`` ticks :func:`progress_bar` once per round.
    A NaN or inf anywhere raises :class:`NumericalError` naming round, seed and quantity.
    Seeds that would not fit in memory together are refused first (:func:`check_memory`).
    ``policy_branches=True`` runs the program that holds every policy as a runtime branch
    (:func:`branched`): configs that differ only in ``policy`` then share one compile, and
    the numbers are those of the plain program (``tests/test_policy_branches.py`` checks
    it bit for bit); a sweep runs every point this way.
    """
    seeds = list(seeds)
    check_memory(config.static, seeds=len(seeds), check=memory_check, policy_branches=policy_branches)
    with unrolled_threefry():
        if policy_branches:
            static, index = branched(config)
            state, metrics = _simulate_seeds_branched(static, config.params, seed_keys(seeds), progress, index)
        else:
            state, metrics = _simulate_seeds(config.static, config.params, seed_keys(seeds), progress)
    return state, check_finite(metrics, seeds)


def simulate_grid(config: Config, params: Params, seeds, progress: bool = False, memory_check: bool = True
                  ) -> tuple[State, dict[str, Float[Array, "points seeds rounds"]]]:
    """Run a batch of params (leading axis = grid point, see :func:`labkit.sim.config.params_grid`)
    crossed with seeds, in one compiled call. A NaN or inf raises :class:`NumericalError`.
    With several local devices the points are split across them (:mod:`labkit.sim.devices`).
    A grid that would not fit in memory is refused first (:func:`check_memory`)."""
    seeds = list(seeds)
    check_memory(config.static, seeds=len(seeds), points=jax.tree.leaves(params)[0].shape[0], check=memory_check)
    with unrolled_threefry():
        state, metrics = _simulate_grid(config.static, params, seed_keys(seeds), progress)
    return state, check_finite(metrics, seeds)


@lru_cache(maxsize=128)
def state_shape(static: Static) -> State:
    """The loop's state for ``static`` as shapes and dtypes (``jax.eval_shape``: traced, never computed)."""
    scalars = Params(*[jax.ShapeDtypeStruct((), jnp.float32)] * len(Params._fields))
    return jax.eval_shape(lambda p: init_state(jax.random.key(0), static, p), scalars)


def estimate_memory(static: Static, seeds: int = 1, points: int = 1) -> memory.Estimate:
    """The peak memory of ``seeds x points`` worlds of ``static`` in one call, as
    :func:`labkit.sim.memory.estimate` judges it: no compile, no compute.

    Grid points split over several GPUs (:func:`simulate_grid`) count per device; a
    CPU's devices share the host's memory, so there every world counts.
    """
    on_one = points
    if points > 1 and jax.local_devices()[0].platform != "cpu":
        on_one = -(-points // devices_for(points))
    return memory.estimate(static, state_shape(static), seeds * on_one, len(measure.METRICS))


def largest_branch(static: Static) -> Static:
    """``static`` with the policy of :data:`POLICY_BRANCHES` whose world
    :func:`estimate_memory` judges largest: the bound on the program that holds every
    policy as a branch (``policy_branches=True``), since any branch may be the one taken."""
    return max((dataclasses.replace(static, policy=name) for name in POLICY_BRANCHES),
               key=lambda candidate: estimate_memory(candidate).per_world)


def check_memory(static: Static, seeds: int = 1, points: int = 1, check: bool = True,
                 policy_branches: bool = False) -> None:
    """Refuse (:class:`labkit.sim.memory.WorldTooLarge`) ``seeds x points`` worlds of
    ``static`` whose estimated memory exceeds what the first local device has free; with
    ``policy_branches``, worlds of the program that holds every policy as a runtime branch,
    judged by its largest branch (:func:`largest_branch`).

    Skipped when ``check`` is False, inside :func:`labkit.sim.memory.unchecked`
    (``--no-memory-check``) or with ``LABKIT_MEMORY_CHECK=0``. The message names the
    estimate, the memory free, the part that dominates and what would fit: the most
    rounds, the largest ``block_users``, the seeds per call, the devices a grid needs.
    """
    if not (check and memory.enabled()):
        return
    if policy_branches:
        static = largest_branch(static)
    est = estimate_memory(static, seeds, points)
    free = memory.free_memory()
    if free is None or est.total <= free.bytes:
        return
    budget = free.bytes // est.worlds  # per world
    one = estimate_memory(dataclasses.replace(static, rounds=1), seeds, points).per_world
    slope = (est.per_world - one) / max(static.rounds - 1, 1)
    rounds_fit = int((budget - one) // slope) + 1 if slope > 0 and budget >= one else 0
    devices_fit = None
    if points > 1 and jax.local_devices()[0].platform != "cpu" and est.per_world * seeds <= free.bytes:
        devices_fit = -(-points // (free.bytes // (est.per_world * seeds)))
    where = f"{static.n_users} users x {static.n_items} items x {static.rounds} rounds ({static.recommender})"
    memory.check(est, free, where, rounds_fit=rounds_fit, devices_fit=devices_fit)
