"""Tests for labkit.sim.metrics: hand-worked cases, masks, edge cases, jit parity, properties."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labkit.sim.metrics import (
    coverage,
    effective_number,
    entropy,
    gini,
    intra_list_diversity,
    jaccard_homogenization,
    long_tail_share,
    mean_utility,
    novelty,
    preference_drift,
    preference_spread,
    sample_pairs,
    share,
)

TOL = 1e-5


def close(actual, expected, tol=TOL):
    return math.isclose(float(actual), expected, rel_tol=tol, abs_tol=tol)


# ---------------------------------------------------------------------------
# entropy / effective_number


def test_entropy_matches_hand_computation():
    # p = [.25, .25, .5]: -(2 * .25 ln .25 + .5 ln .5) = 0.693147 + 0.346574 = 1.039721
    assert close(entropy(np.array([1, 1, 2])), 1.0397208)


def test_entropy_of_uniform_counts_is_log_n():
    assert close(entropy(jnp.full(7, 3.0)), math.log(7))


def test_entropy_treats_zero_log_zero_as_zero():
    # [0, 4, 0]: all mass on one item, the zeros contribute 0 * log 0 = 0.
    assert close(entropy(np.array([0.0, 4.0, 0.0])), 0.0)


def test_entropy_is_zero_when_total_is_zero():
    assert float(entropy(np.zeros(5))) == 0.0


def test_entropy_ignores_masked_out_items():
    # The 100 is masked out, leaving [1, 1, 2] -> 1.0397 as above.
    counts = np.array([1.0, 100.0, 1.0, 2.0])
    alive = np.array([True, False, True, True])
    assert close(entropy(counts, where=alive), 1.0397208)


def test_entropy_is_zero_when_everything_is_masked_out():
    assert float(entropy(np.array([1.0, 2.0]), where=np.array([False, False]))) == 0.0


def test_entropy_has_finite_gradient_with_zero_counts():
    grad = jax.grad(entropy)(jnp.array([0.0, 1.0, 3.0]))
    assert bool(jnp.all(jnp.isfinite(grad)))


def test_effective_number_matches_hand_computation():
    # exp(-(0.5 ln .25 + .5 ln .5)) = exp(1.5 ln 2) = 2 ** 1.5 = 2.828427
    assert close(effective_number(np.array([1, 1, 2])), 2**1.5)


def test_effective_number_of_uniform_counts_is_n_masked():
    counts = np.array([2.0, 2.0, 9.0, 2.0, 2.0])
    alive = np.array([True, True, False, True, True])
    assert close(effective_number(counts, where=alive), 4.0)


def test_effective_number_is_one_when_total_is_zero():
    assert close(effective_number(np.zeros(3)), 1.0)


# ---------------------------------------------------------------------------
# gini


def test_gini_matches_hand_computation():
    # ascending [0, 1, 2], n = 3, total 3: (2i - 4) weights -2, 0, 2
    # -> (0 + 0 + 2 * 2) / (3 * 3) = 4 / 9
    assert close(gini(np.array([2.0, 0.0, 1.0])), 4 / 9)


def test_gini_is_one_minus_one_over_n_when_all_on_one_item():
    # [0, 0, 5]: weight of the 5 is 2 * 3 - 3 - 1 = 2 -> 10 / 15 = 1 - 1/3
    assert close(gini(np.array([0.0, 5.0, 0.0])), 2 / 3)


def test_gini_is_zero_for_equal_counts():
    assert close(gini(np.full(6, 4.0)), 0.0)


def test_gini_is_zero_when_total_is_zero():
    assert float(gini(np.zeros(4))) == 0.0


def test_gini_masked_out_items_do_not_count_in_n():
    # Masked-out 0 removed: [0, 5] over n = 2 -> (-1 * 0 + 1 * 5) / (2 * 5) = 0.5,
    # whereas counting it as a third item would give 2/3.
    counts = np.array([0.0, 0.0, 5.0])
    alive = np.array([False, True, True])
    assert close(gini(counts, where=alive), 0.5)


def test_gini_ignores_large_masked_out_count():
    # [50 masked, 0, 1, 2] -> same as [0, 1, 2] = 4/9
    counts = np.array([50.0, 0.0, 1.0, 2.0])
    alive = np.array([False, True, True, True])
    assert close(gini(counts, where=alive), 4 / 9)


# ---------------------------------------------------------------------------
# coverage


def test_coverage_is_fraction_of_items_with_positive_count():
    # two of four items consumed
    assert close(coverage(np.array([0, 3, 1, 0])), 0.5)


def test_coverage_counts_only_masked_in_items():
    # alive items are the 3 and 1, both consumed -> 2 / 2
    counts = np.array([0, 3, 1, 0])
    alive = np.array([False, True, True, False])
    assert close(coverage(counts, where=alive), 1.0)


def test_coverage_is_zero_when_no_item_is_masked_in():
    assert float(coverage(np.array([1, 2]), where=np.array([False, False]))) == 0.0


# ---------------------------------------------------------------------------
# long_tail_share


def test_long_tail_share_of_uniform_ten_items_is_point_eight():
    # head = ceil(0.2 * 10) = 2 items holding 2 of 10 -> tail share 0.8
    assert close(long_tail_share(np.ones(10)), 0.8)


def test_long_tail_share_matches_hand_computation():
    # [1, 5, 1, 3], total 10. head_fraction 0.2: ceil(0.8) = 1 item (5) -> 5 / 10.
    # head_fraction 0.5: ceil(2.0) = 2 items (5, 3) -> 2 / 10.
    counts = np.array([1.0, 5.0, 1.0, 3.0])
    assert close(long_tail_share(counts), 0.5)
    assert close(long_tail_share(counts, head_fraction=0.5), 0.2)


def test_long_tail_share_head_size_is_exact_for_decimal_fractions():
    # ceil(0.3 * 100) = 30 head items of 100 equal ones -> 0.7; float32 would give 31.
    assert close(long_tail_share(np.ones(100), head_fraction=0.3), 0.7)


def test_long_tail_share_with_tied_counts_at_head_edge():
    # [2, 1, 2]: head = ceil(0.6) = 1 item with count 2 (either one) -> 3 / 5
    assert close(long_tail_share(np.array([2.0, 1.0, 2.0])), 0.6)


def test_long_tail_share_masked_out_items_are_not_in_head_or_n():
    # [100 masked, 4, 3, 2, 1]: n = 4, head = ceil(0.8) = 1 -> the 4; tail 6 / 10
    counts = np.array([100.0, 4.0, 3.0, 2.0, 1.0])
    alive = np.array([False, True, True, True, True])
    assert close(long_tail_share(counts, where=alive), 0.6)


def test_long_tail_share_is_zero_when_total_is_zero():
    assert float(long_tail_share(np.zeros(5))) == 0.0


def test_long_tail_share_extreme_head_fractions():
    counts = np.array([3.0, 1.0])
    assert close(long_tail_share(counts, head_fraction=0.0), 1.0)
    assert close(long_tail_share(counts, head_fraction=1.0), 0.0)


def test_long_tail_share_rejects_head_fraction_outside_unit_interval():
    with pytest.raises(ValueError, match="head_fraction"):
        long_tail_share(np.ones(3), head_fraction=1.5)


def test_long_tail_share_rejects_traced_head_fraction():
    with pytest.raises(TypeError, match="static"):
        jax.jit(long_tail_share)(jnp.ones(3), None, 0.2)


# ---------------------------------------------------------------------------
# shape errors


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: entropy(np.ones((2, 3))), "counts"),
        (lambda: gini(np.ones(3), where=np.ones(4, dtype=bool)), "where"),
        (lambda: jaccard_homogenization(np.ones(3, dtype=int)), "item_sets"),
        (lambda: jaccard_homogenization(np.ones((3, 2), dtype=int), np.zeros((4, 3), dtype=int)), "pairs"),
        (lambda: intra_list_diversity(np.ones((3, 2))), "slate_features"),
        (lambda: novelty(np.ones((2, 2), dtype=int), np.ones(3)), "items"),
        (lambda: preference_drift(np.ones((2, 3)), np.ones((3, 3))), "theta0"),
        (lambda: share(np.ones(3, dtype=bool), where=np.ones(2, dtype=bool)), "where"),
        (lambda: mean_utility(np.ones(3), np.ones(2, dtype=bool)), "clicked"),
    ],
)
def test_bad_shapes_raise_value_error_naming_argument_and_shapes(call, name):
    with pytest.raises(ValueError, match=rf"`{name}` must have shape .* received shape \("):
        call()


# ---------------------------------------------------------------------------
# jaccard_homogenization / sample_pairs


def test_jaccard_matches_hand_computation_with_padding_and_duplicates():
    # A = {0,1,2}, B = {1,2,3} (the 3 twice), C = {} :
    # J(A,B) = 2/4, J(A,C) = 0/3, J(B,C) = 0/3 -> mean (0.5 + 0 + 0) / 3
    sets = np.array([[0, 1, 2, -1], [3, 2, 1, 3], [-1, -1, -1, -1]])
    assert close(jaccard_homogenization(sets), 0.5 / 3)


def test_jaccard_excludes_pairs_with_empty_union():
    # (A,B) = 1/3 ({5} vs {5,6,7}); (C,D) both empty, excluded -> mean 1/3, not 1/6
    sets = np.array([[5, -1, -1], [5, 6, 7], [-1, -1, -1], [-2, -1, -1]])
    pairs = np.array([[0, 1], [2, 3]])
    assert close(jaccard_homogenization(sets, pairs), 1 / 3)


def test_jaccard_is_zero_when_no_pair_remains():
    assert float(jaccard_homogenization(np.full((3, 2), -1))) == 0.0
    assert float(jaccard_homogenization(np.array([[1, 2]]))) == 0.0  # one user, no pairs


def test_jaccard_uses_only_given_pairs():
    # {1,2} vs {1,2} = 1, {1,2} vs {3} = 0: pairs [(0,1)] -> 1, [(0,2)] -> 0
    sets = np.array([[1, 2], [2, 1], [3, -1]])
    assert close(jaccard_homogenization(sets, np.array([[0, 1]])), 1.0)
    assert close(jaccard_homogenization(sets, np.array([[0, 2]])), 0.0)


def test_sample_pairs_have_distinct_in_range_users():
    pairs = np.asarray(sample_pairs(jax.random.PRNGKey(3), 5, 400))
    assert pairs.shape == (400, 2)
    assert np.all(pairs[:, 0] != pairs[:, 1])
    assert pairs.min() >= 0 and pairs.max() <= 4
    # every user should turn up in both positions among 400 draws
    assert set(pairs[:, 0]) == set(range(5)) and set(pairs[:, 1]) == set(range(5))


def test_sample_pairs_is_deterministic_per_key():
    a = sample_pairs(jax.random.PRNGKey(1), 10, 8)
    b = sample_pairs(jax.random.PRNGKey(1), 10, 8)
    assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("n_users, n_pairs", [(2, 1), (7, 33), (200, 256)])
def test_sample_pairs_draws_the_integers_of_two_randint_calls(n_users, n_pairs):
    # one vmapped randint over both keys (a smaller program) gives the numbers of two calls
    def two_calls(key):
        first, second = jax.random.split(key)
        i = jax.random.randint(first, (n_pairs,), 0, n_users)
        j = jax.random.randint(second, (n_pairs,), 0, n_users - 1)
        return jnp.stack([i, j + (j >= i)], axis=1)

    keys = jax.random.split(jax.random.key(11), 3)
    got = jax.jit(jax.vmap(lambda k: sample_pairs(k, n_users, n_pairs)))(keys)
    assert np.array_equal(np.asarray(got), np.asarray(jax.jit(jax.vmap(two_calls))(keys)))


def test_sample_pairs_rejects_fewer_than_two_users():
    with pytest.raises(ValueError, match="n_users"):
        sample_pairs(jax.random.PRNGKey(0), 1, 3)


# ---------------------------------------------------------------------------
# intra_list_diversity


def test_intra_list_diversity_matches_hand_computation():
    # user 0: e1, e2, (1,1)/sqrt2 -> distances 1, 1 - 1/sqrt2, 1 - 1/sqrt2
    #   mean = (1 + 2 * 0.292893) / 3 = 0.528595
    # user 1: three parallel vectors -> 0.   Mean over users = 0.264298
    slates = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]])
    assert close(intra_list_diversity(slates), (1 + 2 * (1 - 1 / math.sqrt(2))) / 3 / 2)


def test_intra_list_diversity_of_single_item_slates_is_zero():
    assert float(intra_list_diversity(np.ones((4, 1, 3)))) == 0.0


def test_intra_list_diversity_treats_zero_vector_as_orthogonal():
    # one pair: (1, 0) and (0, 0) -> cosine 0 -> distance 1
    assert close(intra_list_diversity(np.array([[[1.0, 0.0], [0.0, 0.0]]])), 1.0)


# ---------------------------------------------------------------------------
# novelty


def test_novelty_matches_hand_computation_with_mask_and_padding():
    # alive items 0..2 with pop [3, 1, 0]: denominator 4 + 3 = 7, p = 4/7, 2/7, 1/7.
    # exposed [0, 2, -1 (padding), 3 (masked out)] -> mean(-log2 4/7, -log2 1/7)
    #   = (0.807355 + 2.807355) / 2 = 1.807355
    popularity = np.array([3.0, 1.0, 0.0, 0.0])
    alive = np.array([True, True, True, False])
    items = np.array([0, 2, -1, 3])
    assert close(novelty(items, popularity, where=alive), 1.8073549)


def test_novelty_without_history_is_log2_catalog_size():
    # no popularity -> p = 1/8 for every item -> 3 bits
    assert close(novelty(np.array([0, 5, 7]), np.zeros(8)), 3.0)


def test_novelty_ignores_out_of_range_indices():
    # item 9 is outside a 4-item catalog; only item 0 counts: p = 1/4 -> 2 bits
    assert close(novelty(np.array([0, 9]), np.zeros(4)), 2.0)


def test_novelty_is_zero_when_there_are_no_items():
    assert float(novelty(np.array([-1, -1]), np.ones(3))) == 0.0


# ---------------------------------------------------------------------------
# preference_drift / preference_spread


def test_preference_drift_matches_hand_computation():
    # user 0: 0.5 * (|1-0| + |0-1|) = 1; user 1 unchanged: 0 -> mean 0.5
    theta = np.array([[1.0, 0.0], [0.5, 0.5]])
    theta0 = np.array([[0.0, 1.0], [0.5, 0.5]])
    assert close(preference_drift(theta, theta0), 0.5)


def test_preference_drift_broadcasts_single_reference_row():
    # against (0.5, 0.5): user 0 TV 0.5, user 1 TV 0 -> 0.25
    theta = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert close(preference_drift(theta, np.array([[0.5, 0.5]])), 0.25)


def test_preference_spread_matches_hand_computation():
    # mean preference (0.5, 0.5); each user is 0.5 * (0.5 + 0.5) = 0.5 away
    assert close(preference_spread(np.array([[1.0, 0.0], [0.0, 1.0]])), 0.5)


def test_preference_spread_is_zero_for_identical_users():
    assert close(preference_spread(np.tile([0.2, 0.3, 0.5], (4, 1))), 0.0)


# ---------------------------------------------------------------------------
# share / mean_utility


def test_share_is_fraction_true_among_masked_entries():
    flags = np.array([True, False, True, True])
    assert close(share(flags), 0.75)
    # only entries 1 and 2 count: one of two
    assert close(share(flags, where=np.array([False, True, True, False])), 0.5)


def test_share_works_on_two_dimensional_flags():
    assert close(share(np.array([[True, False], [False, False]])), 0.25)


def test_share_is_zero_when_nothing_is_masked_in():
    assert float(share(np.array([True]), where=np.array([False]))) == 0.0


def test_mean_utility_counts_no_click_as_zero():
    # (2 + 0 + -1) / 3
    assert close(mean_utility(np.array([2.0, 3.0, -1.0]), np.array([True, False, True])), 1 / 3)


# ---------------------------------------------------------------------------
# jit parity

_COUNTS = jnp.array([3.0, 0.0, 1.0, 5.0, 2.0])
_ALIVE = jnp.array([True, True, False, True, True])
_JIT_CASES = {
    "entropy": (entropy, (_COUNTS, _ALIVE)),
    "effective_number": (effective_number, (_COUNTS, _ALIVE)),
    "gini": (gini, (_COUNTS, _ALIVE)),
    "coverage": (coverage, (_COUNTS, _ALIVE)),
    "long_tail_share": (functools.partial(long_tail_share, head_fraction=0.4), (_COUNTS, _ALIVE)),
    "jaccard_all_pairs": (jaccard_homogenization, (jnp.array([[0, 1, -1], [1, 2, 2], [4, -1, -1]]),)),
    "jaccard_given_pairs": (
        jaccard_homogenization,
        (jnp.array([[0, 1, -1], [1, 2, 2], [4, -1, -1]]), jnp.array([[0, 1], [2, 1]])),
    ),
    "sample_pairs": (functools.partial(sample_pairs, n_users=6, n_pairs=4), (jax.random.PRNGKey(0),)),
    "intra_list_diversity": (intra_list_diversity, (jnp.arange(24.0).reshape(2, 3, 4) % 5,)),
    "novelty": (novelty, (jnp.array([0, 3, -1, 2]), _COUNTS, _ALIVE)),
    "preference_drift": (preference_drift, (jnp.array([[0.2, 0.8], [1.0, 0.0]]), jnp.array([[0.5, 0.5], [0.5, 0.5]]))),
    "preference_spread": (preference_spread, (jnp.array([[0.2, 0.8], [1.0, 0.0]]),)),
    "share": (share, (_COUNTS > 1, _ALIVE)),
    "mean_utility": (mean_utility, (jnp.array([1.0, 2.0, 3.0]), jnp.array([True, False, True]))),
}


@pytest.mark.parametrize("name", sorted(_JIT_CASES))
def test_jit_compiled_result_equals_eager(name):
    fn, args = _JIT_CASES[name]
    eager = np.asarray(fn(*args))
    compiled = np.asarray(jax.jit(fn)(*args))
    assert compiled.shape == eager.shape
    np.testing.assert_allclose(compiled, eager, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------
# properties

# Shapes are fixed (sizes vary through the mask and the padding) so that the
# eager ops compile once instead of once per drawn shape.
_N = 24


@st.composite
def _counts_with_mask(draw):
    counts = draw(hnp.arrays(np.int64, _N, elements=st.integers(0, 1000)))
    mask = draw(hnp.arrays(np.bool_, _N))
    return counts.astype(np.float32), mask


_property = settings(max_examples=40, deadline=None)


@_property
@given(_counts_with_mask())
def test_entropy_is_between_zero_and_log_n_masked(case):
    counts, mask = case
    h = float(entropy(counts, where=mask))
    assert -1e-6 <= h <= math.log(max(mask.sum(), 1)) + 1e-5


@_property
@given(_counts_with_mask())
def test_effective_number_is_between_one_and_n_for_nonzero_totals(case):
    counts, mask = case
    mask[0], counts[0] = True, counts[0] + 1  # guarantees a nonzero masked total
    d = float(effective_number(counts, where=mask))
    assert 1 - 1e-5 <= d <= mask.sum() * (1 + 1e-5)


@_property
@given(_counts_with_mask())
def test_gini_is_between_zero_and_one_minus_one_over_n(case):
    counts, mask = case
    g = float(gini(counts, where=mask))
    n = max(mask.sum(), 1)
    assert -1e-6 <= g <= 1 - 1 / n + 1e-5


@_property
@given(_counts_with_mask(), st.floats(0.0, 1.0))
def test_long_tail_share_is_between_zero_and_one(case, head_fraction):
    counts, mask = case
    s = float(long_tail_share(counts, where=mask, head_fraction=head_fraction))
    assert -1e-6 <= s <= 1 + 1e-6


_USERS, _WIDTH = 4, 12
_item_set = st.sets(st.integers(0, 40), min_size=1, max_size=5)


@_property
@given(_item_set, st.randoms())
def test_jaccard_of_identical_sets_is_one(items, rnd):
    # Every user holds the same set, each row in its own order, with repeats and padding.
    items = sorted(items)
    sets = []
    for _ in range(_USERS):
        row = items + rnd.choices(items, k=rnd.randint(0, len(items)))
        row += [-1] * (_WIDTH - len(row))
        rnd.shuffle(row)
        sets.append(row)
    assert close(jaccard_homogenization(np.array(sets)), 1.0)


@_property
@given(st.lists(_item_set, min_size=_USERS, max_size=_USERS))
def test_jaccard_of_disjoint_sets_is_zero(item_sets):
    # Shifting each user's items into its own range leaves no item shared.
    sets = np.full((_USERS, _WIDTH), -1)
    for u, items in enumerate(item_sets):
        sets[u, : len(items)] = np.array(sorted(items)) + 100 * u
    assert float(jaccard_homogenization(sets)) == 0.0


def test_long_tail_share_ranks_by_popularity_when_given():
    # popularity puts items 0 and 1 in the head (ceil(0.2 * 10) = 2 items);
    # this round's counts sit on items 0 (3) and 9 (1): 1 of 4 falls in the tail.
    counts = jnp.array([3.0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0])
    popularity = jnp.array([9.0, 8, 1, 1, 1, 1, 1, 1, 1, 0])
    assert float(long_tail_share(counts, popularity=popularity)) == pytest.approx(0.25)
    # ranked by the counts themselves, items 0 and 9 are the head: nothing in the tail
    assert float(long_tail_share(counts)) == pytest.approx(0.0)
