"""Test-suite settings: tiny worlds, and XLA's quick compile mode (tests compile many small programs)."""

import os

# Must be set before jax is imported anywhere; it trades run speed for compile speed,
# which is the right trade for tiny worlds. Subprocesses (papermill kernels) inherit it.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")
