"""Agentic users: AI agents that choose from the slate for their users.

Each round, each user's interaction is made by an AI agent acting for them with
probability ``agent_share`` (a fresh coin per user and round). The agent does not read
the user's true utility: it ranks the slate by a model's estimate (``agent_estimate``),

* ``recommender``: the served recommender's score of each slate item for that user (what
  the model that built the slate predicts; a stale one under ``retrain_every > 1``);
* ``genai``: the served GenAI's log-density of each slate item's features (the same for
  every user: the agent favours what the generator finds typical),

standardizes it across the user's slate, and picks an item by a logit over it with
``agent_sharpness``. Agents read the whole slate: no position bias.

*Whether* there is an interaction stays the user's: an agent clicks in a round where
the user's own logit model (its no-click option included) would have clicked, and, in
a round where the user would not have, with probability ``agent_activity`` (agents act
when their users would not: the speed-up, "months of human feedback in hours"). An
agent-driven user still interacts at most once a round, so the log, the click history
and every metric keep their one-click-per-user-round shape; a higher activity gives the
loop more clicks a round, not more clicks per slate. At ``agent_activity = 0`` the agents
make as many clicks as their users would have, so only *which* items are clicked differs
from a world without agents.

What an agent clicks is consumed by its user: tastes drift toward it (``drift``), the
GenAI is refitted to it, creators count it. Its rows (the whole slate it saw, clicked
or not) are flagged in the log (``Log.agent``) and count as AI-influenced, so
``human_only`` drops them and ``downweight`` weighs them by ``synthetic_weight``.

The agents' draws come from ``jax.random.fold_in(key, 8)`` of the round's key, and the
users' own choices are drawn as without agents, so ``agent_share = 0`` (the default,
compiled without any of this) is the loop as it was. The relaxed loop and the
score-function estimator do not model agents and refuse ``agent_share > 0``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from labkit.sim import generator as gen_mod
from labkit.sim.levers import STATIC, Lever
from labkit.sim.recommenders import RECOMMENDERS, Observation
from labkit.sim.users import Choice

if TYPE_CHECKING:  # types only: labkit.sim.config builds them from every module's LEVERS
    from labkit.sim.config import Static
    from labkit.sim.world import Catalog

# The round key's fold_in index of the agents' draws (6: creators' entry, 7: a stale model's cold start).
AGENT_KEY = 8


def _recommender_estimate(key: Array, slate: Int[Array, "users k"], recommender: Any, generator: gen_mod.GenAI,
                          obs: Observation, static: Static) -> Float[Array, "users k"]:
    """The served recommender's score of each user's slate items, scored block by block as
    the loop scores (one ``block_users x items`` matrix at a time); the ``random`` model's
    scores are a fresh draw."""
    score = RECOMMENDERS[static.recommender].score
    n_users, k = slate.shape
    block = min(static.block_users, n_users)
    n_blocks = -(-n_users // block)
    rows = jnp.arange(n_blocks * block).reshape(n_blocks, block)

    def one_block(args):
        block_rows, block_key = args
        users = jnp.minimum(block_rows, n_users - 1)  # the last block may run past the end: padding
        return jnp.take_along_axis(score(recommender, obs, block_key, users), slate[users], axis=1)

    scores = jax.lax.map(one_block, (rows, jax.random.split(key, n_blocks)))
    return scores.reshape(-1, k)[:n_users]


def _genai_estimate(key: Array, slate: Int[Array, "users k"], recommender: Any, generator: gen_mod.GenAI,
                    obs: Observation, static: Static) -> Float[Array, "users k"]:
    """The served GenAI's log-density of each slate item (one value per catalog slot, gathered)."""
    return gen_mod.log_density(generator, obs.catalog.features)[slate]


# What an agent ranks the slate by: ``estimate(key, slate, recommender, generator, obs, static)``.
ESTIMATES: dict[str, Callable[..., Float[Array, "users k"]]] = {
    "recommender": _recommender_estimate,
    "genai": _genai_estimate,
}


def standardized(estimate: Float[Array, "users k"]) -> Float[Array, "users k"]:
    """Each user's estimates across the slate, centred and scaled to unit spread (all 0 where
    the slate's estimates are equal), so ``agent_sharpness`` means the same for every model."""
    centred = estimate - estimate.mean(axis=1, keepdims=True)
    spread = jnp.sqrt((centred ** 2).mean(axis=1, keepdims=True))
    return jnp.where(spread > 1e-12, centred / jnp.maximum(spread, 1e-12), 0.0)


def act(key: Array, choice: Choice, slate: Int[Array, "users k"], recommender: Any, generator: gen_mod.GenAI,
        catalog: Catalog, users: Any, static: Static) -> tuple[Choice, Bool[Array, "users"]]:
    """The round's choices once agents have acted (see the module docstring).

    Args:
      key: the agents' key (``fold_in(round key, AGENT_KEY)``), split into the agent coins,
        the agents' picks, their activity coins and the estimate's own draws.
      choice: what each user would have done themselves (:func:`labkit.sim.users.choose`).
      slate: the catalog slots each user is shown (after the data strategy's rewrite).
      recommender, generator: the models the loop serves this round.
      catalog, users: the world now (the oracle recommender reads the users).

    Returns:
      The choices made (the user's own where no agent acted; ``probs`` stays the user's
      model, which no agent reads) and which users an agent acted for.
    """
    k_agent, k_pick, k_active, k_estimate = jax.random.split(key, 4)
    n_users = slate.shape[0]
    agent = jax.random.bernoulli(k_agent, static.agent_share, (n_users,))
    estimate = ESTIMATES[static.agent_estimate](k_estimate, slate, recommender, generator,
                                                Observation(catalog, users), static)
    pick = jax.random.categorical(k_pick, static.agent_sharpness * standardized(estimate), axis=1)
    acts = choice.clicked | jax.random.bernoulli(k_active, static.agent_activity, (n_users,))
    position = jnp.where(agent, jnp.where(acts, pick, -1), choice.position)
    return choice._replace(position=position, clicked=position >= 0), agent


LEVERS = (
    Lever("agent_share", STATIC, float, 0.0,
          "chance that a user's interaction this round is made by an AI agent acting for them, choosing by "
          "agent_estimate instead of the user's true utility (0: no agents)", 0.0, 1.0,
          label="agent share (of user-rounds)", hashed_at_default=False),
    Lever("agent_estimate", STATIC, str, "recommender",
          "what agents rank the slate by: recommender (the served model's score of each item for the user) or "
          "genai (the GenAI's log-density of the item); read when agent_share > 0", choices=ESTIMATES,
          hashed_at_default=False),
    Lever("agent_sharpness", STATIC, float, 3.0,
          "inverse noise of the agents' logit choice over their estimate, standardized across the slate; read "
          "when agent_share > 0", 0.0, 1e4, low_open=True, label="agent sharpness (logit per std of estimate)",
          hashed_at_default=False),
    Lever("agent_activity", STATIC, float, 0.0,
          "chance that an agent interacts in a round where its user would have clicked nothing (the speed-up: "
          "still at most one click per user a round); read when agent_share > 0", 0.0, 1.0,
          label="agent activity (clicks per otherwise idle round)", hashed_at_default=False),
)
