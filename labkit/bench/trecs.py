"""T-RECS side by side: its ``ContentFiltering`` model timed in a subprocess of another
interpreter (labkit never imports trecs), and labkit's closest world on the same sizes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from labkit.bench.worlds import COLUMNS, Size, bench_world, world_config
from labkit.sim.config import ConfigError

# T-RECS's ContentFiltering took about 71 s for this work on the 2-core machine
# (not measured here): the fallback when no interpreter with trecs is given.
TRECS_REFERENCE_S = 71.0
TRECS_SIZES = {"n_users": 1000, "n_items": 1000, "n_topics": 32, "rounds": 100}


_TRECS_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
import trecs
from trecs.models import ContentFiltering
users, items, attributes, steps = (int(a) for a in sys.argv[1:5])
start = time.perf_counter()
model = ContentFiltering(num_users=users, num_items=items, num_attributes=attributes, seed=0)
setup = time.perf_counter() - start
start = time.perf_counter()
model.run(timesteps=steps, train_between_steps=True, disable_tqdm=True)
run = time.perf_counter() - start
print(json.dumps({"setup_s": setup, "run_s": run, "trecs_version": getattr(trecs, "__version__", "?"),
                  "numpy_version": np.__version__, "python": sys.version.split()[0]}))
"""


def run_trecs(python: str, users: int, items: int, attributes: int, steps: int,
              timeout_s: float = 3600.0) -> dict[str, Any]:
    """Time T-RECS's ContentFiltering in a subprocess run by ``python`` (which must import trecs)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(_TRECS_SCRIPT)
        script = handle.name
    try:
        done = subprocess.run([python, script, str(users), str(items), str(attributes), str(steps)],
                              capture_output=True, text=True, timeout=timeout_s)
    finally:
        Path(script).unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"T-RECS run with {python} failed (exit {done.returncode}): "
                           f"{done.stderr.strip()[-600:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def trecs_python(given: str | None) -> str | None:
    """The interpreter that imports trecs: ``--trecs-python``, ``$LABKIT_TRECS_PYTHON``, or this one."""
    candidates = [given] if given else [os.environ.get("LABKIT_TRECS_PYTHON"), sys.executable]
    for python in filter(None, candidates):
        try:
            probe = subprocess.run([python, "-c", "import trecs"], capture_output=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            probe = None
        if probe is not None and probe.returncode == 0:
            return python
        if given:
            raise ConfigError(f"--trecs-python {given}: that interpreter cannot `import trecs`; "
                              f"install it there (see docs/benchmarks.md)")
    return None


def bench_trecs(python: str | None, steps: int, repeats: int, log: Callable[[str], None]
                ) -> list[dict[str, Any]]:
    """T-RECS ContentFiltering and labkit's content/greedy world on the same sizes, side by side."""
    size = Size(TRECS_SIZES["n_users"], TRECS_SIZES["n_items"], steps)
    # T-RECS: a fixed catalog, every user interacts with one item of a 10-item slate each step.
    config = world_config(size, block_users=size.n_users, new_items=0, n_topics=TRECS_SIZES["n_topics"],
                          no_click_logit=-100.0)
    labkit_row = bench_world(config, repeats, benchmark="trecs_comparison")
    labkit_row["mode"] = "labkit"
    pairs = size.rounds * size.n_users * size.n_items
    if python is not None:
        log(f"T-RECS: running ContentFiltering {size} with {python} (this takes a while)")
        measured = run_trecs(python, size.n_users, size.n_items, TRECS_SIZES["n_topics"], size.rounds)
        trecs_s, mode, note = measured["run_s"], "trecs", f"measured in-session, trecs {measured['trecs_version']}"
    else:
        trecs_s = TRECS_REFERENCE_S * size.rounds / TRECS_SIZES["rounds"]
        mode, note = "trecs_reference", "NOT measured: the issue's 71 s figure (no --trecs-python)"
        measured = {}
    trecs_row = {column: float("nan") for column in COLUMNS}
    trecs_row.update({
        "benchmark": "trecs_comparison", "mode": mode, "n_users": size.n_users, "n_items": size.n_items,
        "n_topics": TRECS_SIZES["n_topics"], "slate_size": 10, "rounds": size.rounds, "block_users": size.n_users,
        "simulations": 1, "compile_s": 0.0, "run_s": trecs_s, "repeats": 1,
        "user_rounds_per_s": size.rounds * size.n_users / trecs_s, "pairs_per_s": pairs / trecs_s,
        "matmul_gflops": labkit_row["matmul_gflops"], "matmul_pairs_bound": labkit_row["matmul_pairs_bound"],
        "fraction_of_matmul": pairs / trecs_s / labkit_row["matmul_pairs_bound"],
        "largest_array_elems": 0, "score_block_elems": size.n_users * size.n_items,
        "users_x_items": size.n_users * size.n_items,
    })
    trecs_row["note"] = note
    labkit_row["note"] = "content recommender, greedy, 32 topics, accumulate"
    return [labkit_row, trecs_row]
