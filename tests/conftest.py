"""Test-suite settings: tiny worlds, and XLA's quick compile mode (tests compile many small programs)."""

import os

# Must be set before jax is imported anywhere; it trades run speed for compile speed,
# which is the right trade for tiny worlds. Subprocesses (papermill kernels) inherit it.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

# One persistent compilation cache for the session and the processes it starts (papermill
# kernels, subprocess tests): a program compiled once is loaded, not compiled again, after
# _release_compiled_programs drops it between modules, in a subprocess, or in a later
# session (pytest's cache folder). A cached program is the one XLA would compile, so no
# number depends on it. Every program is cached, however quickly it compiled.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                   ".pytest_cache", "d", "labkit_jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")


import gc  # noqa: E402

import jax  # noqa: E402
import pytest  # noqa: E402

# Start jax's backend now, with its one CPU device: `labkit bench` run in-process by a
# test then cannot split the host into several devices for the rest of the session
# (labkit.sim.devices.use_host_devices is a no-op once the backend is up). The split itself
# is tested in subprocesses (tests/test_devices.py).
jax.devices()


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop jax's compiled programs after each test module.

    The suite compiles hundreds of programs in one process; XLA:CPU keeps each one's
    code mapped until the executable is freed, and a long session crashed in the
    compiler (segfault) once enough had piled up. Later modules recompile what they need.
    """
    yield
    jax.clear_caches()
    gc.collect()


_TINY_REPRODUCTIONS: dict = {}


@pytest.fixture(scope="session")
def tiny_reproduction():
    """``tiny_reproduction(name)``: the table of reproduction ``name`` at its tiny scale,
    computed once per session (the reproduction tests and the golden table share it)."""
    from labkit import reproduce as R
    def table(name: str):
        if name not in _TINY_REPRODUCTIONS:
            _TINY_REPRODUCTIONS[name] = R.run(R.load(name, scale="tiny"))
        return _TINY_REPRODUCTIONS[name].copy()

    return table


# The modules that take longest (measured with --durations=0, summed per module), run
# first. Under `make test` pytest-xdist hands out whole modules (--dist loadfile,
# --no-loadscope-reorder) in collection order to whichever worker is free, so starting
# with the longest ones keeps one long module from running alone at the end.
LONGEST_FIRST = ("test_notebooks.py", "test_grad.py")
# ... and last, the modules that compute the reproductions at their tiny scale, as notebook
# 00 does in test_notebooks' fixture: by the time a worker reaches them, that fixture has
# usually put their programs in the shared compilation cache, so they load, not compile.
AFTER_THE_NOTEBOOKS = ("test_golden.py", "test_reproduce_degenerate.py", "test_reproduce_chaney.py",
                       "test_reproduce_source_bias.py", "test_reproduce_golden_ratio.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    rank.update({name: len(rank) + 1 + i for i, name in enumerate(AFTER_THE_NOTEBOOKS)})
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))
