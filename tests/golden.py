"""The golden table: labkit's numbers on a fixed set of tiny worlds, kept bit for bit.

A refactor or a speed-up must leave every number here unchanged
(``tests/test_golden.py`` compares them exactly); a change of semantics regenerates the
table in a commit of its own, saying why:

    python tests/golden.py --write      # under the test suite's XLA flags (tests/conftest.py)

The cases cover every policy, recommender, data strategy, generator objective and
consumption mode, with the GenAI and drift on, users scored in several blocks, and a
vmapped grid of param levers; then the four reproductions at their ``tiny`` scale
(their checks' measured numbers, and a digest of each table's numeric columns).
Numbers are stored as ``float.hex`` strings: exact, and diffable.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")  # as tests/conftest.py

import numpy as np  # noqa: E402

PATH = Path(__file__).with_name("golden.json")

# A tiny world with the GenAI and drift on; each case changes the code paths.
WORLD = dict(n_users=24, n_items=48, initial_items=40, new_items=4, n_topics=5, n_creators=6, slate_size=4,
             rounds=6, n_pairs=16, embedding_dim=4, train_steps=3, synthetic_share=0.5, drift=0.2,
             generator_temperature=0.6, influence_threshold=0.05, block_users=10)

# The state digest sums the whole final log; under the default log_capacity = auto the two cases
# marked "full" below would keep a ring of a few rounds (popularity outside a window: 1; random
# under replace: window + 1), with the same metrics (tests/test_log_capacity.py checks that).
CASES: dict[str, dict[str, Any]] = {
    "greedy-mf-accumulate": dict(policy="greedy", recommender="mf", data_strategy="accumulate"),
    "softmax-content-replace-engagement-once": dict(
        policy="softmax", recommender="content", data_strategy="replace", window=2,
        generator_objective="engagement", consumption="once", temperature=0.5),
    "epsilon-popularity-downweight": dict(policy="epsilon_greedy", recommender="popularity",
                                          data_strategy="downweight", epsilon=0.3, synthetic_weight=0.2,
                                          log_capacity="full"),
    "ucb-mf-human_only-novelty-once": dict(policy="ucb", recommender="mf", data_strategy="human_only",
                                           consumption="once", beta=0.5, novelty_weight=0.3),
    "thompson-content-reserve": dict(policy="thompson", recommender="content", data_strategy="reserve",
                                     reserve_share=0.25, beta=0.5),
    "mmr-ideal-accumulate-once": dict(policy="mmr", recommender="ideal", mmr_lambda=0.6, consumption="once"),
    "greedy-random-replace-engagement": dict(policy="greedy", recommender="random", data_strategy="replace",
                                             window=3, generator_objective="engagement", log_capacity="full"),
    "greedy-popularity-replace-once": dict(policy="greedy", recommender="popularity", data_strategy="replace",
                                           window=2, consumption="once", novelty_weight=0.1),
    "softmax-mf-replace-downweight": dict(policy="softmax", recommender="mf", data_strategy="downweight",
                                          temperature=2.0, block_users=24),
}
SEEDS = (0, 1)
# Metrics added to the loop after the table was written: computed, not compared (they change
# no other number: every pinned metric and the state digest still match bit for bit). The
# next ``--write`` pins them; empty this tuple in that commit.
UNPINNED_METRICS: tuple[str, ...] = ()
GRID_CASE = "epsilon_greedy-content grid"
GRID = {"epsilon": [0.0, 0.5], "drift": [0.0, 0.3]}
REPRODUCTIONS = ("generator", "accumulate", "chaney", "degenerate")


def _hex(values) -> list:
    """Nested lists of exact ``float.hex`` strings (float32 values widen exactly to float64)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        return float(array).hex()
    return [_hex(v) for v in array]


def _state_digest(state) -> dict[str, Any]:
    """A few sums over the final state: they move when the metrics might not."""
    return {"users.theta": _hex(np.asarray(state.users.theta, np.float64).sum(axis=(-2, -1))),
            "catalog.features": _hex(np.asarray(state.catalog.features, np.float64).sum(axis=(-2, -1))),
            "log.clicks": _hex(np.asarray(state.log.click).sum(axis=(-3, -2, -1))),
            "log.items": _hex(np.asarray(state.log.item, np.float64).sum(axis=(-3, -2, -1)))}


def _metrics(metrics, unpinned: tuple[str, ...]) -> dict[str, Any]:
    return {m: _hex(metrics[m]) for m in sorted(metrics) if m not in unpinned}


def simulation_case(name: str, unpinned: tuple[str, ...] = UNPINNED_METRICS) -> dict[str, Any]:
    """The metrics (every round, every seed; not those of ``unpinned``) and a final-state digest of one case."""
    import labkit

    config = labkit.Config.from_dict({**WORLD, **CASES[name]})
    state, metrics = labkit.simulate_seeds(config, SEEDS)
    return {"metrics": _metrics(metrics, unpinned), "state": _state_digest(state)}


def grid_case(unpinned: tuple[str, ...] = UNPINNED_METRICS) -> dict[str, Any]:
    """A vmapped 2 x 2 grid of param levers."""
    import labkit

    config = labkit.Config.from_dict({**WORLD, "policy": "epsilon_greedy", "recommender": "content"})
    params, points = labkit.params_grid(config, GRID)
    state, metrics = labkit.simulate_grid(config, params, SEEDS)
    return {"points": points, "metrics": _metrics(metrics, unpinned), "state": _state_digest(state)}


def _table_digest(table) -> dict[str, Any]:
    numeric = table.select_dtypes("number")
    return {"rows": int(len(table)), "columns": sorted(map(str, table.columns)),
            "sums": {str(c): _hex(numeric[c].astype(np.float64).sum()) for c in sorted(numeric.columns)}}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value).hex()
    return str(value)


def reproduction_case(name: str, table) -> dict[str, Any]:
    """A reproduction's verdict (every claim's measured numbers) and its table's digest."""
    from labkit import reproduce as R
    verdict = R.check(name, table)
    claims = [{"claim": c["claim"], "passed": c["passed"], "measured": _plain(c["measured"])}
              for c in verdict["claims"]]
    return {"passed": verdict["passed"], "claims": claims, "table": _table_digest(table)}


def reproduction_table(name: str):
    from labkit import reproduce as R
    return R.run(R.load(name, scale="tiny"))


def host() -> dict[str, Any]:
    """The CPU the numbers were computed on: its model and vector extensions. XLA compiles for
    the host CPU, so the last bits of the table depend on it (the table of 2026-12-01, written on
    another host, differs from this one's in the last bit of the initial Dirichlet draws)."""
    import platform

    model, flags = platform.processor(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {"cpu": model, "vector_extensions": sorted(f for f in flags if f.startswith(("avx", "fma", "sse")))}


def compute() -> dict[str, Any]:
    import jax

    return {
        "about": "tests/golden.py: labkit's numbers on fixed tiny worlds; compared bit for bit",
        "jax": jax.__version__,
        "host": host(),
        "simulations": {name: simulation_case(name, unpinned=()) for name in CASES},
        "grid": grid_case(unpinned=()),
        "reproductions": {name: reproduction_case(name, reproduction_table(name)) for name in REPRODUCTIONS},
    }


def load() -> dict[str, Any]:
    return json.loads(PATH.read_text())


def first_difference(expected: Any, got: Any, where: str = "") -> str | None:
    """The path of the first value that differs, with both values, or None."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(expected) | set(got)):
            if key not in expected or key not in got:
                return f"{where}/{key}: present in only one of the tables"
            found = first_difference(expected[key], got[key], f"{where}/{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return f"{where}: length {len(expected)} in the golden table, {len(got)} now"
        for i, (e, g) in enumerate(zip(expected, got)):
            found = first_difference(e, g, f"{where}[{i}]")
            if found:
                return found
        return None
    if expected != got:
        def show(v):
            try:
                return f"{float.fromhex(v)!r} ({v})"
            except (TypeError, ValueError):
                return repr(v)
        return f"{where}: golden {show(expected)}, now {show(got)}"
    return None


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/golden.py --write   (regenerates tests/golden.json)")
    table = compute()
    PATH.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {PATH}")
