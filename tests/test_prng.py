"""labkit.sim.prng: threefry lowered without its loop on CPU gives the same bits as jax's default."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from jax.extend.random import threefry_2x32

import labkit
from labkit.bench import targets_summary
from labkit.bench.worlds import bench_prng
from labkit.sim import loop, prng
from labkit.sim.config import Config


@pytest.fixture
def rolled_then_restored():
    """jax's default (looped) lowering for one test, and whatever was registered before put back."""
    before = prng.registered()
    prng.use_unrolled_threefry(False)
    jax.clear_caches()
    yield
    prng._put_back(before)
    jax.clear_caches()


def test_the_context_applies_the_unrolled_lowering_and_puts_back_the_rule_it_found():
    before = prng.registered()
    assert not prng.unrolled_threefry_active()  # importing labkit registered nothing
    with prng.unrolled_threefry() as applied:
        assert applied and prng.unrolled_threefry_active()
        with prng.unrolled_threefry():  # nested: still on after the inner block
            pass
        assert prng.unrolled_threefry_active()
    assert prng.registered() is before


def test_a_simulation_leaves_jax_lowering_rules_as_it_found_them():
    before = prng.registered()
    labkit.simulate(Config.from_dict({"n_users": 5, "n_items": 8, "initial_items": 8, "new_items": 2, "rounds": 2,
                                      "slate_size": 2}), jax.random.key(0))
    assert prng.registered() is before and not prng.unrolled_threefry_active()


def test_switching_off_puts_back_jax_own_rule_not_a_copy():
    jax_own = prng.registered()
    try:
        assert prng.use_unrolled_threefry(True) and prng.registered() is not jax_own
        assert prng.use_unrolled_threefry(False) is False
        assert prng.registered() is jax_own
    finally:
        prng._put_back(jax_own)


# Published known-answer vectors of threefry2x32 with 20 rounds (Random123): key, counter, output.
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("key, count, expected", KNOWN_ANSWERS)
def test_the_compiled_hash_gives_the_published_answers(key, count, expected):
    out = jax.jit(threefry_2x32)(np.uint32(key), np.uint32(count))
    assert [int(x) for x in out] == list(expected)


def compiled_uniform_text() -> str:
    return jax.jit(lambda k: jax.random.uniform(k, (64,))).lower(jax.random.key(0)).compile().as_text()


def test_the_unrolled_lowering_has_no_loop_and_the_default_has_one(rolled_then_restored):
    assert " while(" in compiled_uniform_text()  # jax's default on CPU: a five-step loop
    with prng.unrolled_threefry():
        jax.clear_caches()
        assert " while(" not in compiled_uniform_text()


TINY = {"n_users": 20, "n_items": 40, "initial_items": 30, "new_items": 3, "rounds": 4, "slate_size": 4,
        "synthetic_share": 0.3}


def tiny_run():
    config = Config.from_dict(TINY)
    # the jitted program itself: labkit.simulate would compile it under the unrolled lowering
    state, metrics = loop._simulate(config.static, config.params, jax.random.key(7))
    return jax.tree.map(np.asarray, (state.users.theta, state.catalog.features, metrics))


def test_a_simulation_is_bit_identical_under_both_lowerings(rolled_then_restored):
    rolled = tiny_run()
    jax.clear_caches()
    with prng.unrolled_threefry():
        unrolled = tiny_run()
    for a, b in zip(jax.tree.leaves(rolled), jax.tree.leaves(unrolled)):
        np.testing.assert_array_equal(a, b)
    # and the run really draws: new items' topic mixtures differ from the first ones
    assert not np.allclose(unrolled[1][-3:], unrolled[1][:3])


def test_the_bench_rows_compare_both_lowerings_and_put_back_the_rule(rolled_then_restored):
    """``labkit bench``'s prng rows (labkit.bench.worlds.bench_prng) on the world above: one
    row per lowering, both runs' numbers equal, and jax's rule left as it was found. Its two
    programs are the ones the test above compiled (read from the session's compilation cache)."""
    before = prng.registered()
    rows = bench_prng(Config.from_dict(TINY), repeats=1)
    assert [row["mode"] for row in rows] == ["threefry_loop", "threefry_unrolled"]
    assert all(row["same_numbers"] for row in rows)
    assert all(row["compile_s"] > 0 and row["run_s"] > 0 and row["simulations"] == 1 for row in rows)
    assert prng.registered() is before
    summary = targets_summary(pd.DataFrame(rows))
    assert summary["prng_same_numbers"] and summary["prng_unrolled_speedup"] > 0
    assert summary["prng_world"] == "20x40x4"
