"""Where a round's time goes: each phase of one round of ``labkit bench --profile`` jitted and timed alone."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pandas as pd

from labkit.bench.timing import compile_timed, median_time
from labkit.sim import data as data_mod
from labkit.sim import loop, measure
from labkit.sim.config import Config
from labkit.sim.policies import POLICIES, SlateContext, novelty_bonus
from labkit.sim.recommenders import RECOMMENDERS, Observation


def phase_profile(config: Config, repeats: int = 3) -> pd.DataFrame:
    """Seconds per phase of one round at the *last* round of a run (the log full), each phase
    jitted on its own: what a round of ``config`` spends where.

    The log is filled with random impressions (one click in about 10 of 13 user-rounds),
    so log-sized work (retraining, homogenization) costs what it costs at the end of a run.
    """
    static, params = config.static, config.params
    key = jax.random.key(0)
    recommender = RECOMMENDERS[static.recommender]

    @jax.jit
    def last_round_state(key):
        state = loop.init_state(key, static, params)
        rounds, users, k = state.log.item.shape
        k_item, k_click = jax.random.split(key)
        slots = jnp.nonzero(state.catalog.alive, size=static.n_items, fill_value=0)[0]
        item = slots[jax.random.randint(k_item, (rounds, users, k), 0, state.catalog.alive.sum())]
        click = jax.nn.one_hot(jax.random.randint(k_click, (rounds, users), -3, k), k, dtype=bool)
        log = state.log._replace(item=item, uid=state.catalog.uid[item], click=click,
                                 round=jnp.arange(rounds, dtype=jnp.int32))
        clicked = jax.vmap(lambda row: data_mod.clicked_uids(log, row))(jnp.arange(rounds))  # [rounds, users]
        return state._replace(log=log, round=jnp.int32(rounds - 1), history=jnp.sort(clicked.T, axis=1))

    state = last_round_state(key)
    block = min(static.block_users, static.n_users)
    rows = jnp.arange(-(-static.n_users // block) * block).reshape(-1, block)

    def context(s):
        return SlateContext(alive=s.catalog.alive, exposure=s.exposure, features=s.catalog.features)

    def score_blocks(s, k):
        world = Observation(s.catalog, s.users)
        return jax.lax.map(lambda r: recommender.score(s.recommender, world, k,
                                                       jnp.minimum(r, static.n_users - 1)).sum(1), rows)

    def score_and_policy(s, k):
        world, ctx = Observation(s.catalog, s.users), context(s)
        ctx = ctx._replace(bonus=novelty_bonus(ctx, params))  # as the loop does
        def one(r):
            scores = recommender.score(s.recommender, world, k, jnp.minimum(r, static.n_users - 1))
            return POLICIES[static.policy](k, scores, ctx, params, static.slate_size).items
        return jax.lax.map(one, rows)

    def training_data(s):
        return data_mod.training_data(s.log, s.catalog, s.round, static, params)

    def fit(s, k, training):
        if recommender.update is not None:  # what the loop runs: the round's change
            return recommender.update(s.recommender, s.log, s.round, Observation(s.catalog, s.users), k, static, params)
        return recommender.fit(s.recommender, training, Observation(s.catalog, s.users), k, static, params)

    def measurement(s, k, training):
        k_slate, k_click = jax.random.split(k)
        slate = jax.random.randint(k_slate, (static.n_users, static.slate_size), 0, static.n_items)
        features = s.catalog.features[slate]
        clicked = jax.random.bernoulli(k_click, 0.75, (static.n_users,))
        return measure.round_metrics(measure.view(
            s.catalog, s.users, s.training, s.history, slate, features, clicked, jnp.where(clicked, slate[:, 0], -1),
            features[:, 0], features[:, 0, 0], s.exposure, k, static.n_pairs))

    training = jax.jit(training_data)(state)
    phases = {
        "step (whole round)": lambda s, k, t: loop.step(static, params, s, k),
        "creation": lambda s, k, t: loop.create(k, s, static, params),
        "recommend (as in step)": lambda s, k, t: loop.recommend(
            k, s.recommender, Observation(s.catalog, s.users), context(s), static, params),
        "  of which scoring only (matmul)": lambda s, k, t: score_blocks(s, k),
        "  scoring + policy, no share": lambda s, k, t: score_and_policy(s, k),
        "retraining: training data": lambda s, k, t: (
            data_mod.update_totals(s.training, s.log, s.catalog, s.round, static, params)
            if recommender.update is not None else training_data(s)),
        "retraining: recommender": fit,
        "measurement: round_metrics": measurement,
    }
    rows_out = []
    for name, fn in phases.items():
        compiled, compile_s = compile_timed(jax.jit(fn), state, key, training)
        run_s = median_time(lambda: compiled(state, key, training), repeats)
        rows_out.append({"phase": name, "seconds": run_s, "compile_s": compile_s})
    frame = pd.DataFrame(rows_out)
    whole = frame.loc[frame.phase == "step (whole round)", "seconds"].iloc[0]
    frame["share_of_step"] = frame.seconds / whole
    parts = ["creation", "recommend (as in step)", "retraining: training data", "retraining: recommender",
             "measurement: round_metrics"]
    rest = whole - frame.loc[frame.phase.isin(parts), "seconds"].sum()
    frame.loc[len(frame)] = {"phase": "rest (choice, drift, logging, GenAI refit; may be < 0: noise)",
                             "seconds": rest, "compile_s": float("nan"), "share_of_step": rest / whole}
    for column, value in [("n_users", static.n_users), ("n_items", static.n_items),
                          ("rounds_in_log", static.rounds), ("block_users", block)]:
        frame.insert(0, column, value)
    return frame
