"""Ranking policies: how a recommender's scores become a slate of ``k`` items.

A policy is one pure function ``(key, scores, context, params, k) -> Slate``; it works
with any recommender. The values: ``greedy`` top-k; ``softmax`` (Plackett-Luce sampling
by Gumbel top-k at ``temperature``); ``epsilon_greedy``; ``ucb`` (exposure bonus
``beta / sqrt(1 + n_i)``); ``thompson`` (a draw from a Gaussian approximation of each
score's posterior, with the same exposure-based spread); ``mmr`` (diversity re-ranking). Dead catalog slots are never recommended and a slate holds ``k``
distinct items. ``Slate.organic`` marks the slots filled by exploration rather than by
the recommender's ranking: the data strategies read it as provenance.

The novelty reward ``novelty_weight * (-log popularity)`` (see :func:`novelty_bonus`)
composes with every policy: the loop hands it over as ``SlateContext.bonus``, one value
per item added to every user's score. It stays a row until a policy needs the sum
dense (:func:`scored`): a policy that only ranks (``greedy``, ``ucb``,
``epsilon_greedy``) folds it into :func:`top_k`'s passes and never writes a
``users x items`` sum, which at 1e5 users x 1e4 items was a third of each scoring
block's time.

**Units** (lever ``score_units``). ``beta``, thompson's spread, ``novelty_weight`` and
``temperature`` are added to, or divide, the scores, so in ``raw`` units (the default)
their strength depends on the recommender's scale: MF logits spread by units, the
``content`` recommender's scores by about 1e-3, ``popularity``'s counts by tens. In
``standardized`` units each user's scores are centred and divided by their standard
deviation over the live catalog (:func:`standardized`) before the novelty reward is added
and the policy runs, so every one of those levers is measured in that user's score spread,
and a slate does not change when a recommender's scores are multiplied by a positive
constant (or shifted per user). MMR's relevance is already rescaled to [0, 1] per user;
under ``standardized`` the novelty reward it adds is in spread units too. The cost is two
reductions over the scores block the loop already holds (mean, then spread and mean
magnitude); the centring and division fuse into the policy's own pass over the block, so
no other ``users x items`` array is written. The spread rather than ranks: a rank needs a
sort of every user's row, the cost :func:`top_k` exists to avoid.

**Scope** (lever ``bonus_scope``). With ``global`` (the default) the exposure bonus of
``ucb`` and ``thompson`` and the novelty reward read the catalog-wide impression counts
``n_i``: every user gets the same bonus, and once it dominates the scores all users are
pushed toward the same few least-shown items in the same round (synchronized exploration:
within-round exposure narrows while each slate looks diverse). With ``per_user`` they read
each user's own impressions ``n_ui`` (from the log, counted per scoring block, so the only
new array is one ``block x items`` count beside the block's scores; the state keeps no
``users x items`` table): an item the user has not been shown gets the full bonus, and
among those the user's own scores decide, so exploration is not synchronized. The novelty
reward then reads ``-log`` of the user's own add-one smoothed exposure share. Where users'
histories do not differ (``popularity`` shows every user the same slate, so their own
counts stay equal), ``randomized`` breaks the tie by chance instead: the catalog-wide
bonus and reward, each multiplied for every (user, item) by a fresh ``Uniform(0, 2)``
draw each round (:data:`BONUS_JITTER`, mean 1; :attr:`SlateContext.bonus_scale`), so
users disagree on which of the least-shown items to try.
``docs/mitigation-units.md`` measures both levers, and the herding regime, on one world.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from labkit.sim.levers import PARAM, STATIC, Lever

if TYPE_CHECKING:  # types only: labkit.sim.config builds them from every module's LEVERS
    from labkit.sim.config import Params

# Scores of dead slots: low enough that no live item ever ranks below one.
NEG = -1e9


class SlateContext(NamedTuple):
    """What a policy may use besides the scores."""

    alive: Bool[Array, "items"]
    # impressions so far of the item now in each slot: one row for every user (bonus_scope
    # global) or one row per user of the block (per_user, that user's own impressions)
    exposure: Float[Array, "*users items"]
    features: Float[Array, "items topics"]
    bonus: Float[Array, "*users items"] | None = None  # added to the scores (a row: every user's); None: 0
    # multiplies the exposure bonus per user and item (bonus_scope randomized); None: 1
    bonus_scale: Float[Array, "users items"] | None = None


class Slate(NamedTuple):
    items: Int[Array, "users k"]
    organic: Bool[Array, "users k"]  # True where exploration, not ranking, chose the item


Policy = Callable[[Array, Float[Array, "users items"], SlateContext, "Params", int], Slate]


def novelty_bonus(context: SlateContext, params: Params) -> Float[Array, "*users items"]:
    """The novelty reward ``novelty_weight * -log p(i)`` (add-one smoothed popularity over
    the live catalog, of each row of ``context.exposure``)."""
    popularity = (context.exposure + 1.0) / ((context.exposure + 1.0) * context.alive).sum(axis=-1, keepdims=True)
    return params.novelty_weight * -jnp.log(popularity)


def with_novelty(scores: Float[Array, "users items"], context: SlateContext, params: Params
                 ) -> Float[Array, "users items"]:
    """``scores`` plus the novelty reward, dense."""
    return scores + novelty_bonus(context, params)


def scored(scores: Float[Array, "users items"], context: SlateContext) -> Float[Array, "users items"]:
    """What a policy ranks, dense: ``scores`` plus ``context.bonus`` where there is one."""
    return scores if context.bonus is None else scores + context.bonus


def _plus(bonus: Float[Array, "*users items"] | None, extra: Float[Array, "*users items"]
          ) -> Float[Array, "*users items"]:
    return extra if bonus is None else bonus + extra


# The floor of a user's score spread, relative to the scores' mean magnitude.
SPREAD_FLOOR = 1e-4


def standardized(z: Float[Array, "b n"], alive: Bool[Array, "n"]) -> Float[Array, "b n"]:
    """Each row of ``z`` over the live items centred and divided by its standard deviation
    (dead items: 0): the same ranking, on a scale that does not depend on the recommender's
    (content and untrained MF scores differ by 1e-3 where a softmax policy's differ by
    units). The spread has a floor of :data:`SPREAD_FLOOR` times the scores' mean
    magnitude, so that a row of ties (up to float rounding) stays a row of ties instead of
    ranking by its rounding errors (a row of zeros, popularity's before any click, stays zeros)."""
    live = alive[None, :]
    count = jnp.maximum(alive.sum(), 1)
    mean = jnp.where(live, z, 0.0).sum(axis=1, keepdims=True) / count
    centred = jnp.where(live, z - mean, 0.0)
    var = (centred ** 2).sum(axis=1, keepdims=True) / count
    magnitude = jnp.where(live, jnp.abs(z), 0.0).sum(axis=1, keepdims=True) / count
    floor = SPREAD_FLOOR * magnitude + jnp.finfo(z.dtype).tiny
    spread = jnp.sqrt(var + floor ** 2)  # 0 only for a row of zeros (tiny ** 2 underflows)
    return centred / jnp.where(spread > 0, spread, 1.0)


# ``score_units``: the scores a policy ranks, from the recommender's (see the module docstring).
SCORE_UNITS: dict[str, Callable[[Float[Array, "b n"], Bool[Array, "n"]], Float[Array, "b n"]]] = {
    "raw": lambda scores, alive: scores,
    "standardized": standardized,
}

# ``bonus_scope``: whose impressions the exposure bonus and the novelty reward count
# (labkit.sim.loop.recommend reads it).
BONUS_SCOPES = ("global", "per_user", "randomized")
# ``bonus_scope = "randomized"``: the bounds of the uniform draw that scales each user's bonus (mean 1).
BONUS_JITTER = (0.0, 2.0)


def _chunk_size(n: int, k: int) -> int | None:
    """The chunk width :func:`top_k` splits ``n`` items into, or None for a plain top-k:
    a divisor of ``n`` near 16 (a reshape, not a copy), used when the catalog is large
    enough (``n >= 4096``) for the candidates (``k`` chunks) to be a small part of it."""
    if n < 4096:
        return None
    divisors = [d for d in range(8, 65) if n % d == 0 and 4 * k * d <= n]
    return min(divisors, key=lambda d: abs(d - 16)) if divisors else None


def top_k(scores: Float[Array, "users items"], k: int, alive: Bool[Array, "items"] | None = None,
          bonus: Float[Array, "items"] | None = None) -> Int[Array, "users k"]:
    """Indices of the ``k`` largest scores of each row, as ``jax.lax.top_k`` (same order,
    ties to the lower index), in two stages on a large catalog.

    With ``alive`` and ``bonus`` (a row), ranks ``where(alive, scores + bonus, NEG)`` without
    writing it out: the per-item terms are applied inside the chunk-maximum pass and to
    the gathered candidates, so the only ``users x items`` array read is ``scores``.

    ``lax.top_k`` over a row of ``n`` items costs XLA:CPU about as much as the scoring
    matmul (it dominated a round at 1e5 users x 1e4 items). Split the row into chunks and
    keep the ``k`` chunks with the highest maxima, in index order: every item of the
    top ``k`` lies in one of them (a chunk ranked below ``k`` others has ``k`` items
    above its maximum), ties included (tied chunks go to the lower index, as tied items
    do). A top-k over those ``k x chunk`` candidates is then exact. One max-reduction
    pass replaces most of the selection work: about 3x faster at 1024 x 10000, k = 10.
    """
    users, n = scores.shape
    if bonus is not None and bonus.ndim == 2:  # a per-user bonus is dense already
        scores, bonus = scores + bonus, None

    def ranked(values, alive_, bonus_):  # the per-item terms broadcast against values
        values = values if bonus_ is None else values + bonus_
        return values if alive_ is None else jnp.where(alive_, values, NEG)

    chunk = _chunk_size(n, k)
    if chunk is None:
        return jax.lax.top_k(ranked(scores, alive, bonus), k)[1]
    per_chunk = (lambda v: None if v is None else v.reshape(n // chunk, chunk))
    alive_c, bonus_c = per_chunk(alive), per_chunk(bonus)
    blocks = scores.reshape(users, n // chunk, chunk)
    # A dead item counts -inf here rather than NEG: the same chunks win (a chunk's maximum
    # is its best live item's either way, and all-dead chunks tie below every live one),
    # and an addition, unlike a select, fuses into XLA:CPU's reduction.
    shift = bonus_c if alive_c is None else jnp.where(alive_c, 0.0 if bonus_c is None else bonus_c, -jnp.inf)
    maxima = (blocks if shift is None else blocks + shift).max(axis=2)
    best = jnp.sort(jax.lax.top_k(maxima, k)[1], axis=1)  # [users, k] chunk ids, ascending
    pick = (lambda v: None if v is None else v[best])  # [users, k, chunk]
    gathered = jnp.take_along_axis(blocks, best[:, :, None], axis=1, mode="promise_in_bounds")
    candidates = ranked(gathered, pick(alive_c), pick(bonus_c)).reshape(users, k * chunk)
    position = jax.lax.top_k(candidates, k)[1]
    return jnp.take_along_axis(best, position // chunk, axis=1) * chunk + position % chunk


def _top_k(scores: Float[Array, "users items"], context: SlateContext, k: int) -> Int[Array, "users k"]:
    return top_k(scores, k, context.alive, context.bonus)


def _ranked(items: Int[Array, "users k"]) -> Slate:
    return Slate(items, jnp.zeros(items.shape, bool))


def greedy(key, scores, context, params, k) -> Slate:
    """The ``k`` highest-scoring live items (ties go to the lower slot)."""
    return _ranked(_top_k(scores, context, k))


def softmax(key, scores, context, params, k) -> Slate:
    """Plackett-Luce sampling without replacement at ``temperature``, by the Gumbel top-k trick.

    Adding Gumbel noise to ``scores / temperature`` and keeping the top ``k`` draws a
    slate from the Plackett-Luce model. ``temperature = 0`` is greedy exactly; a large
    temperature approaches a uniform draw over the live catalog.
    """
    scores = scored(scores, context)
    gumbel = jax.random.gumbel(key, scores.shape)
    t = params.temperature
    perturbed = jnp.where(t > 0, scores / jnp.where(t > 0, t, 1.0) + gumbel, scores)
    return _ranked(_top_k(perturbed, context._replace(bonus=None), k))


def explore(key: Array, slate: Slate, alive: Bool[Array, "items"], rate: Float[Array, ""]) -> Slate:
    """Replace each slot, with probability ``rate``, by a uniformly drawn live item not in the slate.

    The replacements are marked ``organic``: exploration, not ranking, exposed them.
    """
    k_coin, k_pick = jax.random.split(key)
    users, k = slate.items.shape
    in_slate = jnp.zeros((users, alive.shape[0]), bool).at[jnp.arange(users)[:, None], slate.items].set(True)
    # k distinct random candidates outside the slate: top-k of uniform keys over the allowed items.
    noise = jax.random.uniform(k_pick, in_slate.shape)
    allowed = jnp.where(alive[None, :] & ~in_slate, noise, -1.0)
    candidates = top_k(allowed, k)
    value = jnp.take_along_axis(allowed, candidates, axis=1)
    # With fewer than k live items outside the slate, the missing candidates stay unswapped.
    swap = (jax.random.uniform(k_coin, (users, k)) < rate) & (value >= 0)
    return Slate(jnp.where(swap, candidates, slate.items), slate.organic | swap)


def epsilon_greedy(key, scores, context, params, k) -> Slate:
    """Greedy, then each slot explored with probability ``epsilon``."""
    return explore(key, greedy(key, scores, context, params, k), context.alive, params.epsilon)


def exposure_bonus(context: SlateContext, beta: Float[Array, ""]) -> Float[Array, "*users items"]:
    """Optimism under uncertainty: ``beta / sqrt(1 + n_i)`` for an item shown ``n_i`` times
    (to anyone, or to the row's user: ``context.exposure``'s shape says which), times
    ``context.bonus_scale`` where there is one."""
    bonus = beta / jnp.sqrt(1.0 + context.exposure)
    return bonus if context.bonus_scale is None else bonus * context.bonus_scale


def ucb(key, scores, context, params, k) -> Slate:
    """Greedy on scores plus the UCB-style exposure bonus."""
    bonus = _plus(context.bonus, exposure_bonus(context, params.beta))
    return greedy(key, scores, context._replace(bonus=bonus), params, k)


def thompson(key, scores, context, params, k) -> Slate:
    """Thompson-style sampling from a Gaussian approximation of each item's score posterior.

    Each (user, item) score is drawn from ``N(score, (beta / sqrt(1 + n_i))**2)``: the
    uncertainty of an item shrinks with its exposure ``n_i``, as a diagonal Laplace
    approximation of the model's posterior would. Greedy on the draw.
    """
    noise = jax.random.normal(key, scores.shape)
    drawn = scored(scores, context) + noise * exposure_bonus(context, params.beta)
    return greedy(key, drawn, context._replace(bonus=None), params, k)


def mmr(key, scores, context, params, k) -> Slate:
    """Maximal marginal relevance re-ranking on item features (cosine similarity).

    Slot by slot, picks the item maximizing ``lambda * relevance - (1 - lambda) * max
    similarity to the items already chosen``; relevance is the score rescaled to [0, 1]
    over the live catalog per user, so ``mmr_lambda`` trades like for like. Scores pushed
    below ``NEG / 4`` (items a user already consumed, see ``labkit.sim.loop.CONSUMED``) are
    left out of the rescaling, so they do not squash the others' relevance.
    """
    scores = scored(scores, context)
    live = context.alive[None, :]
    ranked = live & (scores > NEG / 4)
    low = jnp.min(jnp.where(ranked, scores, jnp.inf), axis=1, keepdims=True)
    high = jnp.max(jnp.where(ranked, scores, -jnp.inf), axis=1, keepdims=True)
    low = jnp.where(jnp.isfinite(low), low, 0.0)  # every live item consumed: nothing to rescale
    high = jnp.where(jnp.isfinite(high), high, 1.0)
    relevance = (scores - low) / jnp.maximum(high - low, 1e-12)
    unit = context.features / jnp.linalg.norm(context.features, axis=1, keepdims=True)
    users = scores.shape[0]
    lam = params.mmr_lambda

    def pick(carry, j):
        chosen, max_sim, taken = carry
        value = jnp.where(taken | ~live, NEG, lam * relevance - (1.0 - lam) * max_sim)
        item = jnp.argmax(value, axis=1)
        sim = unit[item] @ unit.T
        max_sim = jnp.maximum(max_sim, sim)  # features are non-negative, so cosine >= 0
        taken = taken.at[jnp.arange(users), item].set(True)
        return (chosen.at[:, j].set(item), max_sim, taken), None

    start = (jnp.zeros((users, k), jnp.int32), jnp.zeros(scores.shape), jnp.zeros(scores.shape, bool))
    (chosen, _, _), _ = jax.lax.scan(pick, start, jnp.arange(k))
    return _ranked(chosen)


def coin_log_prob(flags: Bool[Array, "*rows k"], rate: Float[Array, ""]) -> Float[Array, "*rows"]:
    """Log-probability of independent Bernoulli(``rate``) coins that came out ``flags``,
    summed over the last axis; finite in ``rate`` at 0 and 1 for outcomes that can happen there."""
    safe_yes = jnp.where(flags, rate, 0.5)
    safe_no = jnp.where(flags, 0.5, rate)
    return jnp.sum(jnp.where(flags, jnp.log(safe_yes), jnp.log1p(-safe_no)), axis=-1)


def plackett_luce_log_prob(logits: Float[Array, "users items"], alive: Bool[Array, "items"],
                           items: Int[Array, "users k"]) -> Float[Array, "users"]:
    """Log-probability, per user, of drawing the ordered slates ``items`` without
    replacement from the Plackett-Luce model with ``logits`` over the live items."""
    rows = jnp.arange(items.shape[0])
    available = jnp.broadcast_to(alive[None, :], logits.shape)

    def slot(available, item):
        normaliser = jax.nn.logsumexp(jnp.where(available, logits, -jnp.inf), axis=1)
        chosen = logits[rows, item]
        return available.at[rows, item].set(False), chosen - normaliser

    _, per_slot = jax.lax.scan(slot, available, items.T)
    return per_slot.sum(axis=0)


def slate_log_prob(policy: str, scores: Float[Array, "users items"], context: SlateContext, params: Params,
                   slate: Slate) -> Float[Array, "users"]:
    """The log-probability, per user, of ``slate`` under the policy's own sampling, given the scores:
    the Plackett-Luce draw of ``softmax`` (``temperature > 0``), the exploration coins of
    ``epsilon_greedy`` (the candidates drawn do not depend on any lever); 0 for the
    deterministic policies (``greedy``, ``ucb``, ``mmr``) and for ``thompson`` (whose
    Gaussian draw is not scored here). Differentiable in ``params``: the score-function
    estimator (:mod:`labkit.grad.score`) reads its gradient."""
    if policy == "softmax":
        t = params.temperature
        logits = scored(scores, context) / jnp.where(t > 0, t, 1.0)
        return jnp.where(t > 0, plackett_luce_log_prob(logits, context.alive, slate.items), 0.0)
    if policy == "epsilon_greedy":
        return coin_log_prob(slate.organic, params.epsilon)
    return jnp.zeros(scores.shape[:1], scores.dtype)


# ``source_parity``: whether slates are held to the catalog's synthetic share (see :func:`source_parity`).
SOURCE_PARITY = ("off", "slate")


def parity_counts(users: Int[Array, "b"], synthetic: Bool[Array, "items"], alive: Bool[Array, "items"], k: int
                  ) -> Int[Array, "b"]:
    """Synthetic items each user's slate holds under ``source_parity = "slate"``: ``k q``
    for the catalog's live synthetic share ``q``, rounded down or up per user so that the
    mean over users is ``k q`` (a user gets the extra item when its point of the
    golden-ratio sequence ``frac(u / phi + 1/2)``, exact in 32-bit integers, falls below
    ``frac(k q)``). Never more than the live synthetic items, nor fewer than ``k`` minus
    the live human ones."""
    n_synthetic = (synthetic & alive).sum()
    target = k * n_synthetic / jnp.maximum(alive.sum(), 1)
    base = jnp.floor(target)
    weyl = (users.astype(jnp.uint32) * jnp.uint32(2654435769) + jnp.uint32(2 ** 31)).astype(jnp.float32) / 2.0 ** 32
    count = (base + (weyl < target - base)).astype(jnp.int32)
    return jnp.clip(count, k - (alive & ~synthetic).sum(), n_synthetic)


def source_parity(policy: Policy, key: Array, scores: Float[Array, "users items"], context: SlateContext,
                  params: Params, k: int, synthetic: Bool[Array, "items"], users: Int[Array, "users"]) -> Slate:
    """A debiasing constraint on the source of what is shown: each user's slate holds
    :func:`parity_counts` synthetic items, so the round's synthetic share of exposure
    equals the catalog's synthetic share, whatever the recommender prefers.

    The policy runs twice, once over the live synthetic items and once over the live
    human ones (its own draws for each, from ``key``); the user's slate takes the first
    ``n_u`` items of the synthetic slate and the first ``k - n_u`` of the human one, and
    orders them by ``scores`` (plus the context's bonus), so under ``greedy`` it is the
    top-``k`` list under the constraint. A re-ranking in the spirit of a fairness
    constraint on exposure; it reads the provenance bit, which a real system may not have.
    """
    k_synthetic, k_human = jax.random.split(key)
    count = parity_counts(users, synthetic, context.alive, k)
    made = policy(k_synthetic, scores, context._replace(alive=context.alive & synthetic), params, k)
    human = policy(k_human, scores, context._replace(alive=context.alive & ~synthetic), params, k)
    slot = jnp.arange(k)[None, :]
    take_made = slot < count[:, None]
    # the human slate's first k - n_u items, placed after the synthetic ones
    from_human = jnp.clip(slot - count[:, None], 0, k - 1)
    items = jnp.where(take_made, made.items, jnp.take_along_axis(human.items, from_human, 1))
    organic = jnp.where(take_made, made.organic, jnp.take_along_axis(human.organic, from_human, 1))
    ranked = scored(scores, context)
    order = jnp.argsort(-jnp.take_along_axis(ranked, items, 1), axis=1, stable=True)
    return Slate(jnp.take_along_axis(items, order, 1), jnp.take_along_axis(organic, order, 1))


POLICIES: dict[str, Policy] = {
    "greedy": greedy,
    "softmax": softmax,
    "epsilon_greedy": epsilon_greedy,
    "ucb": ucb,
    "thompson": thompson,
    "mmr": mmr,
}


def switched(names: tuple[str, ...], index: Int[Array, ""]) -> Policy:
    """The policy ``names[index]``, chosen at run time: the policies of ``names`` are the
    branches of one ``lax.switch`` on a traced ``index``, so one compiled program serves
    them all (:func:`labkit.sim.loop.simulate_seeds` with ``policy_branches=True``). Only the
    branch taken runs; its draws and its slate are those of the policy called alone."""
    def run(key, scores, context, params, k) -> Slate:
        branches = [(lambda f: lambda a, b, c, d: f(a, b, c, d, k))(POLICIES[name]) for name in names]
        return jax.lax.switch(index, branches, key, scores, context, params)

    return run


LEVERS = (
    Lever("policy", STATIC, str, "greedy", "how scores become a slate", choices=POLICIES),
    Lever("temperature", PARAM, float, 1.0, "softmax policy: Plackett-Luce sampling temperature",
          0.0, 1e6, label="temperature (logits)"),
    Lever("epsilon", PARAM, float, 0.1, "epsilon_greedy policy: chance a slot is explored", 0.0, 1.0,
          label="epsilon (share of slots explored)"),
    Lever("beta", PARAM, float, 1.0, "ucb policy: weight of the exposure bonus beta/sqrt(1+n)", 0.0, 1e6,
          label="beta (bonus scale, logits)"),
    Lever("novelty_weight", PARAM, float, 0.0, "weight of the novelty bonus -log popularity added to scores",
          0.0, 1e6, label="novelty weight (logits per nat)"),
    Lever("mmr_lambda", PARAM, float, 0.5, "mmr policy: relevance weight (1 = pure relevance)", 0.0, 1.0,
          label="MMR lambda (weight of relevance)"),
    Lever("score_units", STATIC, str, "raw",
          "units of beta, thompson's spread, novelty_weight and temperature: raw = the recommender's scores; "
          "standardized = each user's scores centred and divided by their std over live items, so one value "
          "means the same strength under every recommender", choices=SCORE_UNITS,
          hashed_at_default=False),
    Lever("bonus_scope", STATIC, str, "global",
          "whose impressions the ucb/thompson exposure bonus and the novelty reward count: global = every "
          "user's (the same bonus for all, exploration synchronized); per_user = the user's own; "
          "randomized = every user's, scaled per user and item by a fresh Uniform(0, 2) draw each round",
          choices=BONUS_SCOPES, hashed_at_default=False),
    Lever("source_parity", STATIC, str, "off",
          "a debiasing constraint on the source of slates: slate = each slate holds synthetic items in the live "
          "catalog's synthetic share (rounded per user, so the round's exposure share equals the catalog's); "
          "off = no constraint", choices=SOURCE_PARITY, hashed_at_default=False),
)
