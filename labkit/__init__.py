"""labkit: a lab kit for studying preference collapse in recommender feedback loops.

The one entry point is :func:`simulate` (and its vmapped siblings
:func:`simulate_seeds`, :func:`simulate_grid`; :func:`simulate_sharded` splits one world's
users over the local devices); a :class:`Config` says what to run.
The package's parts (``docs/architecture.md``): :mod:`labkit.sim`, the simulator;
:mod:`labkit.experiments`, running studies; :mod:`labkit.analysis`, tables, figures and
the write-up; :mod:`labkit.reproduce`, published results; :mod:`labkit.bench`.

Importing labkit changes nothing outside it: no jax setting, no lowering rule, no
global state (``tests/test_imports.py``). :func:`compilation_cache` turns on JAX's
persistent compilation cache when called (every ``labkit`` command calls it).
"""

from labkit.cache import compilation_cache
from labkit.sim import metrics
from labkit.sim.config import LEVERS, Config, ConfigError, Params, Static, params_grid
from labkit.sim.loop import METRIC_NAMES, State, simulate, simulate_grid, simulate_seeds, step
from labkit.sim.shard import simulate_sharded

__version__ = "0.1.0"

__all__ = [
    "Config", "ConfigError", "LEVERS", "Params", "Static", "params_grid",
    "METRIC_NAMES", "State", "simulate", "simulate_grid", "simulate_seeds", "simulate_sharded", "step",
    "metrics",
    "compilation_cache", "__version__",
]
