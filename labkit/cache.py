"""One switch for JAX's persistent compilation cache: a program compiled once on a machine is
loaded, not compiled again, by every later labkit process there.

    import labkit
    labkit.compilation_cache()             # the per-user folder below; returns it
    labkit.compilation_cache("/scratch/x") # another folder
    labkit.compilation_cache(False)        # off

Every labkit command (``labkit run``, ``sweep``, ``tune``, ``main`` and the notebook kernels
``main`` starts) calls :func:`compilation_cache` before it compiles anything; a Python
program or a notebook of one's own calls it once, at the top. Importing labkit changes no
jax setting: only the call does (``tests/test_cache.py``). ``labkit bench`` turns it off,
since a program loaded from the cache would fake its compile times.

Where the cache lives, first match wins:

1. the ``path`` given to :func:`compilation_cache`;
2. ``$LABKIT_COMPILATION_CACHE``: ``0`` / ``off`` / ``false`` / ``no`` turns the cache off for
   every entry point; any other value is the folder;
3. ``$JAX_COMPILATION_CACHE_DIR``, JAX's own variable, if already set (the test suite sets one);
4. ``$XDG_CACHE_HOME/labkit/jax``, by default ``~/.cache/labkit/jax``.

A cached program is the program XLA would compile for the same computation, options,
jax/jaxlib version and machine (JAX keys the cache on all of them), so no number depends on
whether the cache was used. The folder grows with every new program (a default-scale study
program is a few MB); delete it to reclaim the space. Only use a folder no one else writes
to: JAX loads whatever executable it finds there.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, MutableMapping

SWITCH_VARIABLE = "LABKIT_COMPILATION_CACHE"
JAX_CACHE_VARIABLE = "JAX_COMPILATION_CACHE_DIR"
JAX_MIN_COMPILE_VARIABLE = "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"
OFF_VALUES = ("0", "off", "false", "no")

# Programs compiling faster than this are not written (JAX's own default is 1 s). Eager
# one-operation programs compile in milliseconds and would only fill the folder; a
# tiny-scale simulation compiles in about 1-3 s on two cores, a default-scale one in 5-25 s.
MIN_COMPILE_SECS = 0.5


def default_cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CACHE_HOME/labkit/jax`` (``~/.cache/labkit/jax`` when XDG_CACHE_HOME is unset)."""
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "labkit" / "jax"


def resolve_cache_dir(path: str | os.PathLike | bool | None = None,
                      env: Mapping[str, str] = os.environ) -> str | None:
    """The folder :func:`compilation_cache` would use, or None for off (see the module docstring).

    ``path``: a folder; ``False`` or ``""``: off; ``None`` or ``True``: from the environment.
    """
    if path is False or path == "":
        return None
    if path is not None and path is not True:
        return str(path)
    switch = env.get(SWITCH_VARIABLE, "").strip()
    if switch.lower() in OFF_VALUES:
        return None
    return switch or env.get(JAX_CACHE_VARIABLE) or str(default_cache_dir(env))


def compilation_cache(path: str | os.PathLike | bool | None = None, *,
                      min_compile_secs: float | None = None,
                      env: MutableMapping[str, str] = os.environ) -> str | None:
    """Turn JAX's persistent compilation cache on (or off) for this process and the ones it starts.

    ``path``: the cache folder (created if missing); ``None``: from the environment (the
    module docstring says the order); ``False`` or ``""``: off. ``min_compile_secs``: programs
    that compile faster are not written (default ``$JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS``
    if set, else :data:`MIN_COMPILE_SECS`). Sets jax's config and the matching variables in
    ``env`` (``os.environ``), which child processes (papermill kernels, Dask workers started
    here, subprocesses) inherit; off removes ``$JAX_COMPILATION_CACHE_DIR`` there. Call it
    before the first compile: JAX opens its cache once, and this reopens it if it was open.
    Returns the folder in use, or None when off.
    """
    import jax
    from jax._src import compilation_cache as jax_cache  # reset_cache: reopen at the new folder

    folder = resolve_cache_dir(path, env)
    if min_compile_secs is None:
        min_compile_secs = float(env.get(JAX_MIN_COMPILE_VARIABLE, MIN_COMPILE_SECS))
    elif min_compile_secs < 0:
        raise ValueError(f"min_compile_secs {min_compile_secs!r}: allowed: seconds >= 0")
    if folder is None:
        env.pop(JAX_CACHE_VARIABLE, None)
        jax.config.update("jax_enable_compilation_cache", False)
    else:
        Path(folder).mkdir(parents=True, exist_ok=True)
        env[JAX_CACHE_VARIABLE] = folder
        env[JAX_MIN_COMPILE_VARIABLE] = repr(float(min_compile_secs))
        jax.config.update("jax_enable_compilation_cache", True)
        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_secs))
    jax_cache.reset_cache()
    return folder


@contextmanager
def compilation_cache_at(path: str | os.PathLike | bool | None, *,
                         min_compile_secs: float | None = None) -> Iterator[str | None]:
    """:func:`compilation_cache` for the ``with`` block only, then the settings found are restored.

    ``labkit bench`` times compiles inside ``compilation_cache_at(False)`` (a real compile) or
    an empty temporary folder, and programs read back from it.
    """
    import jax

    names = ("jax_enable_compilation_cache", "jax_compilation_cache_dir",
             "jax_persistent_cache_min_compile_time_secs")
    saved_config = {name: getattr(jax.config, name) for name in names}
    saved_env = {name: os.environ.get(name) for name in (JAX_CACHE_VARIABLE, JAX_MIN_COMPILE_VARIABLE)}
    try:
        yield compilation_cache(path, min_compile_secs=min_compile_secs)
    finally:
        from jax._src import compilation_cache as jax_cache

        for name, value in saved_config.items():
            jax.config.update(name, value)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        jax_cache.reset_cache()


def active_cache_dir() -> str | None:
    """The folder jax's persistent compilation cache uses in this process now, or None when off."""
    import jax

    return (jax.config.jax_compilation_cache_dir or None) if jax.config.jax_enable_compilation_cache else None


def cache_entries(folder: str | os.PathLike | None) -> int:
    """Programs stored in a cache folder (0 for None or a missing folder)."""
    if not folder or not Path(folder).is_dir():
        return 0
    return sum(1 for p in Path(folder).iterdir() if p.name.endswith("-cache"))
