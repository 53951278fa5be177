"""Users: tastes on the topic simplex, a logit choice over the slate, and drift.

A user's taste ``theta_u`` is a distribution over the ``d`` topics; the true utility of
item ``i`` is ``theta_u . x_i`` (in [0, 1]). Users choose at most one item per round
with a multinomial logit over the slate plus a no-click option, with a position bias.
Engagement (the click) is what the system observes; true utility is kept for
evaluation only. Consuming an item pulls the taste toward it at rate ``drift``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from labkit.sim.levers import PARAM, Lever

if TYPE_CHECKING:  # types only: labkit.sim.config builds them from every module's LEVERS
    from labkit.sim.config import Params, Static


class Users(NamedTuple):
    """Current and initial tastes; the initial ones are kept to measure drift."""

    theta: Float[Array, "users topics"]
    theta0: Float[Array, "users topics"]


class Choice(NamedTuple):
    """What each user did with their slate."""

    position: Int[Array, "users"]  # slate position clicked, -1 for no click
    clicked: Bool[Array, "users"]
    probs: Float[Array, "users k_plus_1"]  # choice probabilities; last column is no-click


def init_users(key: Array, static: Static, params: Params) -> Users:
    """Initial tastes drawn from a symmetric Dirichlet with ``user_concentration``."""
    alpha = jnp.full(static.n_topics, params.user_concentration)
    theta = jax.random.dirichlet(key, jnp.maximum(alpha, 1e-2), (static.n_users,))
    return Users(theta=theta, theta0=theta)


def utility(theta: Float[Array, "users topics"], features: Float[Array, "users k topics"]
            ) -> Float[Array, "users k"]:
    """True utility ``theta_u . x_i`` of each user's slate items."""
    return jnp.einsum("ud,ukd->uk", theta, features)


def choice_logits(slate_utility: Float[Array, "users k"], params: Params) -> Float[Array, "users k_plus_1"]:
    """Logits of the multinomial-logit choice: items by utility and position, then no-click."""
    k = slate_utility.shape[1]
    position_penalty = params.position_bias * jnp.log2(1.0 + jnp.arange(k, dtype=jnp.float32))
    item_logits = params.choice_sharpness * slate_utility - position_penalty
    no_click = jnp.full((slate_utility.shape[0], 1), params.no_click_logit)
    return jnp.concatenate([item_logits, no_click], axis=1)


def choose(key: Array, slate_utility: Float[Array, "users k"], params: Params) -> Choice:
    """Each user clicks one slate item or nothing, sampled from the logit model."""
    logits = choice_logits(slate_utility, params)
    k = slate_utility.shape[1]
    pick = jax.random.categorical(key, logits, axis=1)
    clicked = pick < k
    return Choice(position=jnp.where(clicked, pick, -1), clicked=clicked,
                  probs=jax.nn.softmax(logits, axis=1))


def choice_log_prob(position: Int[Array, "users"], slate_utility: Float[Array, "users k"], params: Params
                    ) -> Float[Array, ""]:
    """Log-probability, summed over users, of the choices made (``position``; -1: no
    click) under the logit model; differentiable in the choice levers."""
    logits = choice_logits(slate_utility, params)
    pick = jnp.where(position < 0, slate_utility.shape[1], position)
    return jnp.take_along_axis(jax.nn.log_softmax(logits, axis=1), pick[:, None], 1).sum()


def drift(users: Users, consumed: Float[Array, "users topics"], clicked: Bool[Array, "users"],
          rate: Float[Array, ""]) -> Users:
    """Move the tastes of users who clicked toward the item they consumed.

    A convex step keeps ``theta`` on the simplex; ``rate = 0`` is the classic static user.
    """
    step = jnp.where(clicked[:, None], rate, 0.0)
    return users._replace(theta=(1.0 - step) * users.theta + step * consumed)


def influenced(users: Users, threshold: Float[Array, ""]) -> Bool[Array, "users"]:
    """Users whose taste has moved more than ``threshold`` (total variation) from where it began."""
    return 0.5 * jnp.abs(users.theta - users.theta0).sum(axis=1) > threshold


LEVERS = (
    Lever("drift", PARAM, float, 0.0, "rate at which users' preferences move toward what they consume",
          0.0, 1.0, label="drift (rate per click)"),
    Lever("influence_threshold", PARAM, float, 0.1,
          "total-variation distance from initial tastes beyond which a user counts as AI-influenced",
          0.0, 1.0),
    Lever("choice_sharpness", PARAM, float, 10.0, "inverse noise of the users' logit choice over true utility",
          0.0, 1e4),
    Lever("no_click_logit", PARAM, float, 3.0, "logit of the no-click option in the choice model", -100.0, 100.0),
    Lever("position_bias", PARAM, float, 0.5, "logit penalty per log2(1 + slate position)", 0.0, 100.0),
    Lever("user_concentration", PARAM, float, 0.3, "Dirichlet concentration of users' initial tastes",
          0.0, 1e4, low_open=True),
)
