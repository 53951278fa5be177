"""The catalog of items and the human creators who fill it.

Items live on the topic simplex: an item's features ``x_i`` are a distribution over
``d`` latent topics. The catalog is a fixed-size ring buffer (capacity ``n_items``)
with an ``alive`` mask, so every array keeps a static shape under ``jit``; a new item
overwrites the oldest slot. Each slot carries its provenance: synthetic or human,
creator, birth round, and a global serial number ``uid`` that tells a reused slot
from the item that lived there before. Under ``assisted_share > 0`` a human item can be
AI-assisted: made by a creator who blends the GenAI's output into their own
(:func:`assist`; ``Catalog.assisted``), so provenance has three kinds, human,
AI-assisted and synthetic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from labkit.sim import metrics as M
from labkit.sim.levers import PARAM, STATIC, Lever

if TYPE_CHECKING:  # types only: labkit.sim.config builds them from every module's LEVERS
    from labkit.sim.config import Params, Static

ADAPTATION_TARGETS = ("own", "overall")
# The levers of creator dynamics that switch a mechanism on when above 0.
CREATOR_DYNAMICS = ("creator_adaptation", "creator_exit_share", "creator_entry_rate")

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
    # made by a creator with the GenAI's help (never synthetic); None: no assisted creators (assisted_share = 0)
    assisted: Bool[Array, "items"] | None = None


class Creators(NamedTuple):
    """Human creators: a topic style each, a heavy-tailed activity, and how they fare.

    A row is a creator's place: when a creator leaves and another enters
    (``creator_entry_rate``), the newcomer takes the place, its activity and a fresh style.
    """

    style: Float[Array, "creators topics"]
    activity: Float[Array, "creators"]  # probability that the next human item is theirs (among the active)
    active: Bool[Array, "creators"]  # still creating (False once left: creator_exit_share)
    since: Int[Array, "creators"]  # first round the place's current creator creates in (-1: the initial ones)
    exposure: Float[Array, "creators"]  # impressions of the current creator's items so far
    recent: Float[Array, "window creators"]  # impressions per round of the last rounds (exit on; else 0 rows)
    exits: Int[Array, ""]  # creators who have left so far
    tail_exposure: Float[Array, ""]  # impressions so far of the initial bottom half's items (by activity)
    # the place's creator blends the GenAI's output into their items (a newcomer keeps the
    # place's flag); None: no assisted creators (assisted_share = 0)
    assisted: Bool[Array, "creators"] | None = None


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
        assisted=jnp.zeros(n, bool) if static.assisted_share > 0 else None,
    )


def insert(catalog: Catalog, features: Float[Array, "new topics"], synthetic: Bool[Array, "new"],
           creator: Int[Array, "new"], round_: Int[Array, ""], assisted: Bool[Array, "new"] | None = None
           ) -> tuple[Catalog, Int[Array, "new"]]:
    """Put new items into the ring buffer, overwriting the oldest slots.

    ``assisted``: which new items an assisted creator made (read where the catalog keeps the
    flag; None: none; a synthetic item is never assisted). Returns the updated catalog and
    the slots written, so that per-slot statistics (exposure counts, embeddings) can be
    reset for the newcomers.
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
        assisted=None if catalog.assisted is None else catalog.assisted.at[slots].set(
            ~synthetic & (False if assisted is None else assisted)),
    )
    return updated, slots


def init_creators(key: Array, static: Static, params: Params) -> Creators:
    """Draw creators' styles (sparse Dirichlet) and Zipf-distributed activity; under
    ``assisted_share > 0``, which places use the GenAI (a coin each, from ``fold_in(key, 1)``,
    so the styles are drawn as without them)."""
    alpha = jnp.full(static.n_topics, params.style_concentration)
    style = jax.random.dirichlet(key, jnp.maximum(alpha, _MIN_ALPHA), (static.n_creators,))
    rank = jnp.arange(1, static.n_creators + 1, dtype=jnp.float32)
    activity = rank ** (-params.creator_zipf)
    n, window = static.n_creators, static.creator_exit_window if static.creator_exit_share > 0 else 0
    return Creators(style=style, activity=activity / activity.sum(), active=jnp.ones(n, bool),
                    since=jnp.full(n, -1, jnp.int32), exposure=jnp.zeros(n), recent=jnp.zeros((window, n)),
                    exits=jnp.int32(0), tail_exposure=jnp.zeros(()),
                    assisted=jax.random.bernoulli(jax.random.fold_in(key, 1), static.assisted_share, (n,))
                    if static.assisted_share > 0 else None)


def assist(human: Float[Array, "n topics"], creator: Int[Array, "n"], creators: Creators,
           genai: Float[Array, "n topics"], blend: float) -> tuple[Float[Array, "n topics"], Bool[Array, "n"]]:
    """Human items as published once the assisted creators among their makers blended in the
    GenAI's output: ``(1 - blend) * own + blend * genai`` for an assisted creator's item (two
    points of the simplex, so the blend stays on it), the creator's own item otherwise.

    ``genai``: one GenAI sample per item (at ``generator_temperature``); ``creator``: the
    place of each item's creator. Returns the features and which items are assisted.
    """
    assisted = creators.assisted[creator]
    return jnp.where(assisted[:, None], (1.0 - blend) * human + blend * genai, human), assisted


def human_items(key: Array, creators: Creators, n: int, params: Params
                ) -> tuple[Float[Array, "n topics"], Int[Array, "n"]]:
    """Items from human creators: pick a creator by activity, then vary around their style."""
    k_creator, k_item = jax.random.split(key)
    creator = jax.random.choice(k_creator, creators.activity.shape[0], (n,), p=creators.activity)
    alpha = params.creator_focus * creators.style[creator] + _MIN_ALPHA
    return jax.random.dirichlet(k_item, alpha), creator.astype(jnp.int32)


def slots_reused(static: Static) -> bool:
    """Whether a catalog slot gets a new item during the run: the items created (the initial
    ones, then ``new_items`` a round for ``rounds`` rounds) outnumber the slots."""
    return static.initial_items + static.rounds * static.new_items > static.n_items


def initial_catalog(key: Array, static: Static, params: Params, creators: Creators) -> Catalog:
    """The catalog before round 0: ``initial_items`` human items born at round -1."""
    features, creator = human_items(key, creators, static.initial_items, params)
    catalog, _ = insert(empty_catalog(static), features, jnp.zeros(static.initial_items, bool),
                        creator, jnp.int32(-1))
    return catalog


# ---------------------------------------------------------------------------
# creator dynamics: creators who adapt to what is engaged with, leave and enter


def creating(creators: Creators, static: Static) -> Creators:
    """The creators who make the round's human items: the active ones (all, when none can leave)."""
    if static.creator_exit_share == 0:  # nobody ever leaves: today's draw, bit for bit
        return creators
    return creators._replace(activity=creators.activity * creators.active)


def owners(catalog: Catalog, items: Int[Array, "*shape"], creators: Creators, static: Static
           ) -> Int[Array, "*shape"]:
    """The creator place whose current creator made each item; -1 for a synthetic item, an
    empty slot, or an item of the creator who held the place before a newcomer."""
    creator = catalog.creator[items]
    if static.creator_entry_rate > 0:
        creator = jnp.where(catalog.birth[items] >= creators.since[jnp.maximum(creator, 0)], creator, -1)
    return creator


def initial_bottom_half(n_creators: int) -> Bool[Array, "creators"]:
    """The places of the ``n // 2`` least active creators at the start (activity falls with the index)."""
    return jnp.arange(n_creators) >= n_creators - n_creators // 2


def adaptation_target(creators: Creators, owner: Int[Array, "users"], clicked: Bool[Array, "users"],
                      consumed: Float[Array, "users topics"], static: Static
                      ) -> tuple[Float[Array, "creators topics"], Bool[Array, "creators"]]:
    """Where each creator's style moves this round, and which creators move.

    ``own``: the mean features of the creator's items clicked this round (creators with
    no click stay); ``overall``: the mean features of every item clicked this round,
    synthetic ones included. ``owner``: the creator place of each user's clicked item
    (:func:`owners`; -1 for none).
    """
    n = creators.style.shape[0]
    if static.creator_adaptation_target == "overall":
        count = clicked.sum()
        mean = (clicked[:, None] * consumed).sum(axis=0) / jnp.maximum(count, 1)
        return jnp.broadcast_to(mean, creators.style.shape), jnp.broadcast_to(count > 0, (n,))
    place = jnp.where(clicked & (owner >= 0), owner, n)  # n: dropped
    total = jnp.zeros_like(creators.style).at[place].add(consumed, mode="drop")
    count = jnp.zeros(n).at[place].add(1.0, mode="drop")
    return total / jnp.maximum(count, 1.0)[:, None], count > 0


def adapt(creators: Creators, target: Float[Array, "creators topics"], moves: Bool[Array, "creators"],
          rate: float) -> Creators:
    """Active creators who ``moves`` shift their style a share ``rate`` of the way to ``target``.

    The model of T-RECS's content creators (Lucherini et al. 2021, "T-RECS: A Simulation
    Tool to Study the Societal Impact of Recommender Systems"): a creator's profile moves
    toward the items that got interactions, at a learning rate. A convex combination of
    points of the simplex, so styles stay on it.
    """
    step = moves & creators.active
    style = jnp.where(step[:, None], creators.style + rate * (target - creators.style), creators.style)
    return creators._replace(style=style)


def leave(creators: Creators, impressions: Float[Array, "creators"], round_: Int[Array, ""], static: Static
          ) -> Creators:
    """Creators whose items got less than ``creator_exit_share`` of all impressions over the
    last ``creator_exit_window`` rounds stop creating.

    RecSim NG's ecosystem (Mladenov et al. 2020, "Optimizing long-term social welfare in
    recommender systems: a constrained matching approach") lets a provider leave when its
    engagement over a period falls below a viability threshold. A creator is judged once it
    has created for a whole window; were every active creator to leave, the one with the
    largest share stays, so the catalog keeps a human source.
    """
    n, window = static.n_creators, static.creator_exit_window
    recent = creators.recent.at[round_ % window].set(impressions)
    share = recent.sum(axis=0) / (static.n_users * static.slate_size * window)
    judged = creators.active & (round_ + 1 - jnp.maximum(creators.since, 0) >= window)
    below = judged & (share < static.creator_exit_share)
    best = jnp.arange(n) == jnp.argmax(jnp.where(creators.active, share, -1.0))
    leaves = below & ~(best & (below.sum() == creators.active.sum()))
    return creators._replace(active=creators.active & ~leaves, recent=recent,
                             exits=creators.exits + leaves.sum().astype(jnp.int32))


def enter(key: Array, creators: Creators, round_: Int[Array, ""], static: Static, params: Params) -> Creators:
    """Each place left empty gets a new creator with probability ``creator_entry_rate``: a
    fresh style (the Dirichlet of :func:`init_creators`), the place's activity, nothing
    exposed yet; it creates from the next round on."""
    k_coin, k_style = jax.random.split(key)
    n = static.n_creators
    enters = ~creators.active & (jax.random.uniform(k_coin, (n,)) < static.creator_entry_rate)
    alpha = jnp.maximum(jnp.full(static.n_topics, params.style_concentration), _MIN_ALPHA)
    fresh = jax.random.dirichlet(k_style, alpha, (n,)).astype(creators.style.dtype)
    return creators._replace(
        style=jnp.where(enters[:, None], fresh, creators.style), active=creators.active | enters,
        since=jnp.where(enters, round_ + 1, creators.since), exposure=jnp.where(enters, 0.0, creators.exposure),
        recent=jnp.where(enters[None, :], 0.0, creators.recent))


def react(key: Array, creators: Creators, catalog: Catalog, slate: Int[Array, "users k"],
          clicked: Bool[Array, "users"], consumed_item: Int[Array, "users"],
          consumed: Float[Array, "users topics"], round_: Int[Array, ""], static: Static, params: Params
          ) -> Creators:
    """The creators after a round: their items' impressions counted, then (each only when
    its lever is on, so the default world computes what it did before) styles adapted,
    leavers out and newcomers in.

    Args:
      key: the draws of entry (used only when ``creator_entry_rate > 0``).
      slate: the catalog slots shown to each user this round.
      clicked, consumed_item, consumed: per user, whether they clicked, the slot clicked
        (-1: none) and its features.
    """
    n = static.n_creators
    owner = owners(catalog, slate, creators, static)
    impressions = jnp.zeros(n, creators.exposure.dtype).at[jnp.where(owner >= 0, owner, n).reshape(-1)].add(
        1.0, mode="drop")
    tail = (impressions * (initial_bottom_half(n) & (creators.since < 0))).sum()
    creators = creators._replace(exposure=creators.exposure + impressions,
                                 tail_exposure=creators.tail_exposure + tail)
    if static.creator_adaptation > 0:
        owner_of_click = owners(catalog, jnp.maximum(consumed_item, 0), creators, static)
        target, moves = adaptation_target(creators, owner_of_click, clicked, consumed, static)
        creators = adapt(creators, target, moves, static.creator_adaptation)
    if static.creator_exit_share > 0:
        creators = leave(creators, impressions, round_, static)
    if static.creator_entry_rate > 0:
        creators = enter(key, creators, round_, static, params)
    return creators


def creator_metrics(creators: Creators, rounds_done: Int[Array, ""], static: Static) -> dict[str, Array]:
    """How creators fared, read from the state after ``rounds_done`` rounds (one world; ``jax.vmap`` batches).

    * ``active_creators``: creators still creating (count);
    * ``creator_exposure_gini``: Gini of the impressions of each place's current creator's items;
    * ``long_tail_creator_share``: share of all impressions so far that went to the items of
      the creators in the bottom half of activity at the start, while they created;
    * ``creator_exits_per_round``: creators who left, per round;
    * ``creator_topic_entropy``: entropy (nats) of the active creators' dominant topics
      (the argmax of each style): 0 when every creator leans on the same topic.
    """
    rounds = jnp.maximum(rounds_done, 1).astype(jnp.float32)
    dominant = jnp.zeros(static.n_topics).at[jnp.argmax(creators.style, axis=-1)].add(
        creators.active.astype(jnp.float32))
    return {
        "active_creators": creators.active.sum().astype(jnp.float32),
        "creator_exposure_gini": M.gini(creators.exposure),
        "long_tail_creator_share": creators.tail_exposure / (static.n_users * static.slate_size * rounds),
        "creator_exits_per_round": creators.exits / rounds,
        "creator_topic_entropy": M.entropy(dominant) + 0.0,  # + 0: one topic gives 0, not -0
    }


CREATOR_METRICS = ("active_creators", "creator_exposure_gini", "long_tail_creator_share",
                   "creator_exits_per_round", "creator_topic_entropy")


LEVERS = (
    Lever("style_concentration", PARAM, float, 0.3, "Dirichlet concentration of creators' topic styles",
          0.0, 1e4, low_open=True),
    Lever("creator_focus", PARAM, float, 5.0, "how closely a creator's items follow the creator's style",
          0.0, 1e4, low_open=True),
    Lever("creator_zipf", PARAM, float, 1.0, "Zipf exponent of creators' activity (heavy tail)", 0.0, 10.0),
    # creator dynamics: static (each compiled only when on), so the default world is today's
    Lever("creator_adaptation", STATIC, float, 0.0,
          "rate at which each creator's style moves toward what was engaged with, per round (0: fixed styles; "
          "T-RECS's creators)", 0.0, 1.0, label="creator adaptation (share of the way per round)",
          hashed_at_default=False),
    Lever("creator_adaptation_target", STATIC, str, "own",
          "what creators adapt toward: own (their own items clicked this round) or overall (every item clicked)",
          choices=ADAPTATION_TARGETS, hashed_at_default=False),
    Lever("creator_exit_share", STATIC, float, 0.0,
          "a creator whose items got less than this share of all impressions over creator_exit_window rounds "
          "stops creating (0: nobody leaves; RecSim NG's viable providers)", 0.0, 1.0,
          label="creator exit threshold (share of impressions)", hashed_at_default=False),
    Lever("creator_exit_window", STATIC, int, 10,
          "rounds over which a creator's exposure share is judged (read when creator_exit_share > 0)",
          1, 100_000, hashed_at_default=False),
    Lever("creator_entry_rate", STATIC, float, 0.0,
          "probability per round that a place left by a creator gets a new creator with a fresh style "
          "(needs creator_exit_share > 0)", 0.0, 1.0, label="creator entry (probability per empty place per round)",
          hashed_at_default=False),
    Lever("assisted_share", STATIC, float, 0.0,
          "share of human creators who blend the GenAI's output into their items (a coin per creator place at the "
          "start; a newcomer keeps the place's; their items are AI-assisted in provenance; 0: none)", 0.0, 1.0,
          label="AI-assisted creators (share of creators)", hashed_at_default=False),
    Lever("assisted_blend", STATIC, float, 0.5,
          "weight of the GenAI's sample in an assisted creator's item: (1 - blend) * own + blend * GenAI "
          "(read when assisted_share > 0)", 0.0, 1.0, low_open=True,
          label="assisted blend (GenAI's weight in the item)", hashed_at_default=False),
)
