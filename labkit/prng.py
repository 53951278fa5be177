"""The random-number hash on CPU: jax's threefry, lowered without its loop (same bits, less time).

Every random draw in labkit (``jax.random.key``, its splits, uniforms, normals, gammas)
goes through the threefry2x32 hash. On GPU jax lowers the hash as straight-line code; on
CPU it lowers it, by default, as a five-step ``fori_loop`` to keep compile times short.
Inside labkit's compiled programs every such loop runs as a loop of small kernels:
most of them sit in the gamma sampler behind ``jax.random.dirichlet`` (users' tastes at
the start, new items' topic mixtures every round), whose rejection loop draws again on
every pass. ``labkit bench`` compiles one world under both lowerings and times them in
alternation (its ``prng`` rows, at ``--grid-size``); on 2 CPU cores: the default world,
200 users x 500 items x 20 rounds, 75 -> 54 ms; 1000 x 1000 x 20, 183 -> 166 ms; a
1e5 x 1e4 world's start and first round (1e5 x 32 Dirichlet tastes), 6.8 -> 3.4 s.

:func:`use_unrolled_threefry` registers jax's own straight-line lowering for CPU as
well. The hash computes the same 32-bit words either way, so every number labkit
produces is unchanged (``tests/test_prng.py`` checks the published test vector and
compares whole simulations under both lowerings); compiles take somewhat longer.
labkit applies it on import. It touches a private part of jax; if that part moves in
a later jax, nothing is registered and jax's default is kept (same numbers, slower).

    from labkit import prng
    prng.use_unrolled_threefry(False)   # back to jax's default (looped) lowering on CPU
"""

from __future__ import annotations

_state = {"unrolled": False}


def _rules():
    """jax's two lowering rules for the threefry primitive, or None where jax moved them."""
    import importlib

    # Private: jax has no public handle on the rules. They moved from jax._src.prng to
    # jax._src.random.threefry2x32 (jax 0.10); look in both.
    for name in ("jax._src.random.threefry2x32", "jax._src.prng"):
        try:
            module = importlib.import_module(name)
            return (module.threefry2x32_p, module._threefry2x32_lowering_rule,
                    module._threefry2x32_cpu_lowering_rule)
        except (ImportError, AttributeError):
            continue
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
    rule = unrolled if enabled else rolled
    try:
        # as jax registers them: the unrolled rule out of line (it is large), the loop inline
        mlir.register_lowering(primitive, rule, platform="cpu", inline=not enabled)
    except TypeError:  # older jax (0.4.30) has no ``inline`` option
        mlir.register_lowering(primitive, rule, platform="cpu")
    _state["unrolled"] = bool(enabled)
    return _state["unrolled"]


def unrolled_threefry() -> bool:
    """Whether the straight-line threefry lowering is in effect on CPU."""
    return _state["unrolled"]


__all__ = ["use_unrolled_threefry", "unrolled_threefry"]
