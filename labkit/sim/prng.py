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

labkit's own programs are compiled with jax's straight-line lowering for CPU: the
simulation drivers (``labkit.simulate`` and its siblings, the reproductions) compile
inside :func:`unrolled_threefry`, a context that registers it and then puts back
exactly the rule that was there before. The hash computes the same 32-bit words either
way, so every number labkit produces is unchanged (``tests/test_prng.py`` checks the
published test vector and compares whole simulations under both lowerings); compiles
take somewhat longer. Importing labkit registers nothing, and a user's own jax code
compiled outside labkit's calls keeps jax's default. It touches a private part of jax;
if that part moves in a later jax, nothing is registered (same numbers, slower).

    from labkit.sim import prng
    with prng.unrolled_threefry():         # programs compiled in here: straight-line
        ...
    prng.use_unrolled_threefry()           # or for the whole process (labkit bench does)
    prng.use_unrolled_threefry(False)      # jax's own rule back, exactly as it was
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

_MISSING = object()
_jax_default: list[Any] = []  # jax's own CPU rule entry, kept the first time labkit replaces it


@lru_cache(maxsize=None)
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


def _cpu_rules() -> dict:
    from jax._src.interpreters import mlir

    return mlir._platform_specific_lowerings["cpu"]


def registered() -> Any:
    """The lowering rule entry registered now for threefry on CPU (None: no rules found)."""
    rules = _rules()
    return None if rules is None else _cpu_rules().get(rules[0], _MISSING)


def _put_back(entry: Any) -> None:
    primitive = _rules()[0]
    if entry is _MISSING:
        _cpu_rules().pop(primitive, None)
    else:
        _cpu_rules()[primitive] = entry


def use_unrolled_threefry(enabled: bool = True) -> bool:
    """Lower threefry on CPU as straight-line code (``enabled``) or with jax's own rule.

    A process-wide switch for programs compiled afterwards (compiled ones keep their
    lowering); prefer the scoped :func:`unrolled_threefry`. ``False`` puts back the very
    rule jax had registered. Returns whether the straight-line lowering is now in effect:
    False if ``enabled`` is False or this jax does not expose the rules.
    """
    from jax.interpreters import mlir

    rules = _rules()
    if rules is None:
        return False
    primitive, unrolled, _ = rules
    if not _jax_default:
        _jax_default.append(registered())
    if not enabled:
        _put_back(_jax_default[0])
        return False
    if unrolled_threefry_active():
        return True
    try:
        # out of line, as jax registers it for GPU (the straight-line hash is large)
        mlir.register_lowering(primitive, unrolled, platform="cpu", inline=False)
    except TypeError:  # older jax (0.4.30) has no ``inline`` option
        mlir.register_lowering(primitive, unrolled, platform="cpu")
    return True


def unrolled_threefry_active() -> bool:
    """Whether the straight-line threefry lowering is in effect on CPU now."""
    rules = _rules()
    entry = registered()
    return rules is not None and entry is not _MISSING and getattr(entry, "rule", entry) is rules[1]


@contextmanager
def unrolled_threefry() -> Iterator[bool]:
    """Within the block, programs compiled for CPU lower threefry as straight-line code;
    on leaving it, exactly the rule registered before is back. Yields whether it applies."""
    rules = _rules()
    if rules is None:
        yield False
        return
    before = registered()
    try:
        yield use_unrolled_threefry(True)
    finally:
        _put_back(before)


__all__ = ["registered", "unrolled_threefry", "unrolled_threefry_active", "use_unrolled_threefry"]
