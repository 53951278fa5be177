"""The random-number hash on CPU: jax's threefry, lowered without its loop (same bits, less time).

Every random draw in labkit (``jax.random.key``, its splits, uniforms, normals, gammas)
goes through the threefry2x32 hash. On GPU jax lowers the hash as straight-line code; on
CPU it lowers it, by default, as a five-step ``fori_loop`` to keep compile times short.
Inside labkit's compiled rounds every such loop runs as a loop of small kernels, and at
the default world size (200 users x 500 items) those loops, most of them in the gamma
sampler that draws new items' topic mixtures, took about a quarter of a round.

:func:`use_unrolled_threefry` registers jax's own straight-line lowering for CPU as
well. The hash computes the same 32-bit words either way, so every number labkit
produces is unchanged (``tests/test_prng.py`` checks the published test vector and
compares whole simulations under both lowerings); compile time is about the same.
labkit applies it on import. It touches a private part of jax; if that part moves in
a later jax, nothing is registered and jax's default is kept (same numbers, slower).

    from labkit import prng
    prng.use_unrolled_threefry(False)   # back to jax's default (looped) lowering on CPU
"""

from __future__ import annotations

_state = {"unrolled": False}


def _rules():
    """jax's two lowering rules for the threefry primitive, or None where jax moved them."""
    from jax.extend.random import threefry2x32_p

    try:
        from jax._src.random import threefry2x32 as tf  # private: no public handle on the rules
        return threefry2x32_p, tf._threefry2x32_lowering_rule, tf._threefry2x32_cpu_lowering_rule
    except (ImportError, AttributeError):
        return None


def use_unrolled_threefry(enabled: bool = True) -> bool:
    """Lower threefry on CPU as straight-line code (``enabled``) or as jax's default loop.

    Applies to programs compiled afterwards (already-compiled ones keep their lowering).
    Returns whether the unrolled lowering is now in effect: False if ``enabled`` is False
    or this jax does not expose the rules.
    """
    from jax.interpreters import mlir

    rules = _rules()
    if rules is None:
        _state["unrolled"] = False
        return False
    primitive, unrolled, rolled = rules
    mlir.register_lowering(primitive, unrolled if enabled else rolled, platform="cpu", inline=not enabled)
    _state["unrolled"] = bool(enabled)
    return _state["unrolled"]


def unrolled_threefry() -> bool:
    """Whether the straight-line threefry lowering is in effect on CPU."""
    return _state["unrolled"]


__all__ = ["use_unrolled_threefry", "unrolled_threefry"]
