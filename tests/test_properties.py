"""Property-based tests (hypothesis): invariants of the policies and metrics over random inputs.

Shapes are fixed per test so that jax compiles once; hypothesis varies the values.
"""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labkit.sim import metrics as M
from labkit.sim.config import Config
from labkit.sim.policies import POLICIES, SlateContext

USERS, ITEMS, K, TOPICS = 4, 12, 3, 3
finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)
SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def worlds(draw):
    scores = draw(hnp.arrays(np.float32, (USERS, ITEMS), elements=finite))
    alive = draw(hnp.arrays(bool, ITEMS))
    alive[: K] = True  # at least k live items, as the config guarantees
    features = draw(hnp.arrays(np.float32, (ITEMS, TOPICS), elements=st.floats(0.0625, 1.0, width=32)))
    exposure = draw(hnp.arrays(np.float32, ITEMS, elements=st.floats(0, 1e4, width=32)))
    levers = dict(temperature=draw(st.floats(0.0, 100.0)), epsilon=draw(st.floats(0.0, 1.0)),
                  beta=draw(st.floats(0.0, 10.0)), mmr_lambda=draw(st.floats(0.0, 1.0)),
                  novelty_weight=draw(st.floats(0.0, 5.0)))
    features = features / features.sum(axis=1, keepdims=True)
    return scores, SlateContext(jnp.asarray(alive), jnp.asarray(exposure), jnp.asarray(features)), levers


_compiled = {name: jax.jit(policy, static_argnums=4) for name, policy in POLICIES.items()}


@SETTINGS
@given(world=worlds(), seed=st.integers(0, 2 ** 31 - 1), name=st.sampled_from(sorted(POLICIES)))
def test_any_policy_on_any_scores_gives_k_distinct_live_items(world, seed, name):
    scores, context, levers = world
    slate = _compiled[name](jax.random.key(seed), jnp.asarray(scores), context,
                            Config.from_dict(levers).params, K)
    items = np.asarray(slate.items)
    assert all(len(set(row)) == K for row in items)
    assert np.asarray(context.alive)[items].all()


counts_arrays = hnp.arrays(np.float32, 16, elements=st.floats(0, 1e6, width=32))


@SETTINGS
@given(counts=counts_arrays, mask=hnp.arrays(bool, 16))
def test_distribution_metrics_stay_in_their_ranges(counts, mask):
    mask[0] = True
    n = int(mask.sum())
    h = float(M.entropy(counts, mask))
    assert -1e-6 <= h <= np.log(n) + 1e-5
    if counts[mask].sum() > 0:
        assert 1 - 1e-5 <= float(M.effective_number(counts, mask)) <= n + 1e-3
    assert 0.0 <= float(M.gini(counts, mask)) < 1.0
    assert 0.0 <= float(M.coverage(counts, mask)) <= 1.0
    assert 0.0 <= float(M.long_tail_share(counts, mask)) <= 1.0 + 1e-6


@SETTINGS
@given(counts=counts_arrays, perm=st.permutations(list(range(16))))
def test_distribution_metrics_ignore_item_order(counts, perm):
    shuffled = counts[np.asarray(perm)]
    for metric in (M.entropy, M.gini, M.coverage):
        np.testing.assert_allclose(float(metric(shuffled)), float(metric(counts)), rtol=1e-4, atol=1e-6)


@SETTINGS
@given(sets=hnp.arrays(np.int32, (5, 4), elements=st.integers(-1, 6)))
def test_homogenization_is_a_share_and_identical_users_give_one(sets):
    value = float(M.jaccard_homogenization(jnp.asarray(sets)))
    assert 0.0 <= value <= 1.0 + 1e-6
    same = np.repeat(sets[:1], 5, axis=0)
    if (same[0] >= 0).any():
        assert float(M.jaccard_homogenization(jnp.asarray(same))) == 1.0
