"""One world split by users over host devices: time and per-device memory against users (issue 19).

    python -m labkit.bench.shard_scaling                    # 1 and 2 devices, 1e4..1e5 users x 1000 items x 10
    python -m labkit.bench.shard_scaling --devices 1,2,4 --users 10000,100000 --items 2000 --rounds 5

Each device count runs in a process of its own (the host is split before jax starts its
backend: :func:`labkit.sim.devices.use_host_devices`). Every world is the benchmark world
(:func:`labkit.bench.worlds.world_config`, content / greedy / accumulate, 32 topics, slate
10) run by :func:`labkit.sim.shard.simulate_sharded`, one seed. Per row: the compile's
seconds, the best of ``--repeats`` runs after the first, XLA's plan per device
(``memory_analysis()``: arguments + outputs + temporaries), the users-axis state's share
per device, and the collectives in the compiled program (all-gathers and the largest one,
all-reduces). Host devices share the host's memory and cores: the per-device plan is what
one GPU of a multi-GPU host would hold; the times say what splitting a CPU adds.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import time
from typing import Any, Sequence

MIB = 2 ** 20


def _collectives(hlo: str) -> dict[str, Any]:
    gathers = re.findall(r"= (\w+)\[([\d,]*)\][^\n]* all-gather\(", hlo)
    sizes = [math.prod(int(d) for d in dims.split(",") if d) for _, dims in gathers]
    return {"all_gathers": len(gathers), "largest_gather_elems": max(sizes, default=0),
            "all_reduces": len(re.findall(r" all-reduce\(", hlo))}


def child(devices: int, users: Sequence[int], items: int, rounds: int, block_users: int, repeats: int) -> None:
    """Print one JSON row per user count, on ``devices`` host devices (this process's jax)."""
    from labkit.sim.devices import use_host_devices

    if use_host_devices(devices) != devices:
        raise SystemExit(f"shard_scaling: could not split the host into {devices} devices")
    import jax

    from labkit.bench.worlds import Size, world_config
    from labkit.sim import shard

    for n in users:
        config = world_config(Size(n, items, rounds), block_users)
        key = jax.random.key(0)
        start = time.perf_counter()
        compiled = shard.compile_sharded(config, devices, key)
        compile_s = time.perf_counter() - start
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            state, metrics = shard.simulate_sharded(config, key, devices, memory_check=False)
            jax.block_until_ready((state, metrics))
            times.append(time.perf_counter() - start)
        users_total, users_mine = shard.users_share(state, config.static)
        row = {"devices": devices, "n_users": n, "n_items": items, "rounds": rounds,
               "block_users": config.static.block_users, "compile_s": compile_s, "first_run_s": times[0],
               "run_s": min(times[1:]), "device_plan_mb": shard.device_bytes(compiled) / MIB,
               "users_state_mb": users_total / MIB, "users_state_per_device_mb": users_mine / MIB,
               "ctr_last": float(metrics["ctr"][-1]), **_collectives(compiled.as_text())}
        print(json.dumps(row), flush=True)


def measure(devices: Sequence[int], users: Sequence[int], items: int, rounds: int, block_users: int,
            repeats: int) -> list[dict[str, Any]]:
    rows = []
    for n in devices:
        args = [sys.executable, "-m", "labkit.bench.shard_scaling", "--child", "--devices", str(n),
                "--users", ",".join(map(str, users)), "--items", str(items), "--rounds", str(rounds),
                "--block-users", str(block_users), "--repeats", str(repeats)]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        rows += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.bench.shard_scaling",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--devices", default="1,2", help="host device counts, comma-separated (default 1,2)")
    parser.add_argument("--users", default="10000,30000,100000", help="user counts, comma-separated")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--block-users", type=int, default=1024, help="users scored per block (default 1024)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs after the first (default 2)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    users = [int(float(u)) for u in args.users.split(",")]
    if args.child:
        child(int(args.devices), users, args.items, args.rounds, args.block_users, args.repeats)
        return 0
    import pandas as pd

    table = pd.DataFrame(measure([int(d) for d in args.devices.split(",")], users, args.items, args.rounds,
                                 args.block_users, args.repeats))
    one = table[table.devices == table.devices.min()].set_index("n_users")
    table["plan_vs_fewest"] = [row.device_plan_mb / one.device_plan_mb[row.n_users] for row in table.itertuples()]
    table["time_vs_fewest"] = [row.run_s / one.run_s[row.n_users] for row in table.itertuples()]
    print(f"content / greedy / accumulate, {args.items} items, {args.rounds} rounds, block_users "
          f"{args.block_users}, one seed, host devices")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
