"""How ``labkit audit`` scales with the log: time and peak memory against rows.

    python -m labkit.bench.audit                         # MovieLens 100K, then 1e5 .. 1e7 synthetic rows
    python -m labkit.bench.audit --rows 1e6 --no-movielens

Each size runs in a fresh process (its peak resident memory is its own), reads nothing
from the compilation cache, and audits the log twice: the first call compiles its
programs, the second runs them compiled. A synthetic log of ``rows`` rows has
``rows / 10`` users, ``rows / 100`` items (at least 1000) released evenly over 52 weekly
periods, Zipf(1) popularity among the released items, and every provenance column
(``is_synthetic`` for a third of the items, ``ai_influenced`` for a quarter of the rows,
``creator`` for 1% as many creators as items), so every metric is computed. It is
written once to a temporary parquet file and read back, as ``labkit audit`` would.
Printed: rows, users, items, periods, the two calls' seconds, rows per second of the
second and its microseconds per row (constant when time grows linearly with rows), and
the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

WEEK_S = 7 * 24 * 3600


def synthetic_log(rows: int, periods: int = 52, seed: int = 0) -> pd.DataFrame:
    """A log of ``rows`` rows (see the module docstring), one row per consumed item."""
    rng = np.random.default_rng(seed)
    users, items = max(rows // 10, 10), max(rows // 100, 1000)
    week = rng.integers(0, periods, rows)
    released = np.minimum(items, (items * (week + 1)) // periods)  # items 0 .. released-1 are out
    rank = np.floor(released ** rng.random(rows)).astype(np.int64)  # ~ Zipf(1) over what is out
    item = np.minimum(rank, released - 1)
    return pd.DataFrame({
        "user": rng.integers(0, users, rows), "item": item, "time": week * WEEK_S + rng.integers(0, WEEK_S, rows),
        "is_synthetic": item % 3 == 0, "ai_influenced": rng.random(rows) < 0.25,
        "creator": item % max(items // 100, 1)})


def measure(path: str) -> dict:
    """Audit the log at ``path`` twice in this process: seconds of each call, peak memory."""
    from labkit.analysis.audit import audit

    log = pd.read_parquet(path)
    period = "month" if "timestamp" in log.columns else "week"
    columns = {"time": "timestamp"} if "timestamp" in log.columns else None
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        result = audit(log, period=period, columns=columns)
        seconds.append(time.perf_counter() - start)
    info = result.info
    return {"rows": info["rows"], "users": info["users"], "items": info["items"], "periods": info["periods"],
            "first_s": round(seconds[0], 2), "second_s": round(seconds[1], 2),
            "rows_per_s": round(info["rows"] / seconds[1]), "us_per_row": round(1e6 * seconds[1] / info["rows"], 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def _in_fresh_process(path: str) -> dict:
    env = {**os.environ, "LABKIT_COMPILATION_CACHE": "0", "JAX_ENABLE_COMPILATION_CACHE": "false"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-m", "labkit.bench.audit", "--measure", path], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", nargs="*", type=float, default=[1e5, 3e5, 1e6, 3e6, 1e7],
                        help="synthetic log sizes (default 1e5 3e5 1e6 3e6 1e7)")
    parser.add_argument("--no-movielens", action="store_true", help="skip MovieLens 100K")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # a child process: audit this parquet file
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="labkit-audit-bench-") as folder:
        if not args.no_movielens:
            from labkit.datasets import ml_100k_path

            results.append({"log": "MovieLens 100K, monthly", **_in_fresh_process(str(ml_100k_path()))})
        for rows in args.rows:
            path = Path(folder) / f"log-{int(rows)}.parquet"
            synthetic_log(int(rows)).to_parquet(path, index=False)
            results.append({"log": f"synthetic {int(rows):.0e} rows, weekly", **_in_fresh_process(str(path))})
            print(pd.DataFrame(results[-1:]).to_string(index=False, header=len(results) == 1), flush=True)
    print(pd.DataFrame(results).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
