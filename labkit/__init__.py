"""labkit: a lab kit for studying preference collapse in recommender feedback loops.

The one entry point is :func:`simulate` (and its vmapped siblings
:func:`simulate_seeds`, :func:`simulate_grid`); a :class:`Config` says what to run.
"""

from labkit import prng as _prng

_prng.use_unrolled_threefry()  # same random bits, faster on CPU (see labkit.prng)

from labkit.config import Config, ConfigError, LEVERS, Params, Static, params_grid
from labkit.loop import METRIC_NAMES, State, simulate, simulate_grid, simulate_seeds, step

__version__ = "0.1.0"

__all__ = [
    "Config", "ConfigError", "LEVERS", "Params", "Static", "params_grid",
    "METRIC_NAMES", "State", "simulate", "simulate_grid", "simulate_seeds", "step",
    "__version__",
]
