"""Study 09's runs: a study's worlds simulated with their logs kept, then audited as a real log is.

    from labkit.analysis.audit_study import audit_study, audit_movielens
    alarms, reports = audit_study("experiments/collapse.yaml", "default", "results/09_audit")
    movielens = audit_movielens("results/09_audit")

:func:`audit_study` runs every arm of a study (the same sweep points, hence the same
compiled programs, as its own notebook), keeps each run's log (every impression with its
provenance: :func:`labkit.analysis.logs.log_table`) and audits each seed's log with
:func:`labkit.analysis.audit.audit`, rounds as periods, the clicked impressions as the
consumption. It writes ``alarms.parquet`` (one row per arm and seed: whether the alarm
fired, the metrics moving towards collapse, engagement's trend) and, per arm, the audit
report of its first seed (``<out>/<arm>/``: :func:`labkit.analysis.audit_report.write_report`).
:func:`audit_movielens` does the same for MovieLens 100K by month (``<out>/ml-100k/``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from labkit.analysis.audit import Audit, audit, engagement_metric, verdicts
from labkit.analysis.audit_report import write_report
from labkit.analysis.logs import log_table
from labkit.experiments.paths import in_repo
from labkit.experiments.results import write_table
from labkit.experiments.study import load
from labkit.experiments.sweep import simulated_point, sweep_points


def alarm_row(result: Audit) -> dict:
    """What an audit concluded, as one row: alarm, metrics towards collapse, engagement's trend."""
    trends = result.trends[result.trends["group"] == "all"].set_index("metric")
    engaged = engagement_metric(result.trends)
    collapsing = [m for m, v in verdicts(result.trends, result.info["alpha"]).items() if v == "towards collapse"]
    return {"alarm": result.alarm, "towards_collapse": ", ".join(collapsing), "engagement": engaged,
            "engagement_tau": float(trends.loc[engaged, "tau"]), "engagement_p": float(trends.loc[engaged, "p_value"])}


def audit_study(experiment: str | os.PathLike, scale: str, out_dir: str | os.PathLike, catalog: str = "lifetime"
                ) -> tuple[pd.DataFrame, dict[str, Audit]]:
    """Audit every arm and seed of a study's simulated logs (see the module docstring).

    Returns the alarms table and each arm's first-seed audit."""
    exp = load(in_repo(experiment), scale)
    out = in_repo(out_dir)
    rows, first = [], {}
    for point in sweep_points(exp):
        _, state = simulated_point(point.config.replace(log_capacity="full"), exp.seeds)  # every round's log
        log = log_table(state.log, exp.seeds)
        del state
        for seed in exp.seeds:
            result = audit(log[log["seed"] == seed], period=None, catalog=catalog)
            rows.append({"arm": point.arm, "seed": seed, **alarm_row(result)})
            if point.arm not in first:
                first[point.arm] = result
                write_report(result, out / point.arm, log=[f"{exp.name} ({scale}), arm {point.arm}, seed {seed}"])
    alarms = pd.DataFrame(rows)
    write_table(alarms, out / "alarms.parquet")
    return alarms, first


def audit_movielens(out_dir: str | os.PathLike, catalog: str = "lifetime") -> Audit:
    """MovieLens 100K by month, with its movies' genres as item features, audited and
    reported into ``<out_dir>/ml-100k`` (fetched by :func:`labkit.datasets.ml_100k` into
    the data cache on first use)."""
    from labkit.datasets import ml_100k, ml_100k_genres, ml_100k_path

    result = audit(ml_100k(), period="month", columns={"time": "timestamp"}, catalog=catalog,
                   item_features=ml_100k_genres())
    write_report(result, Path(in_repo(out_dir)) / "ml-100k", log=[str(ml_100k_path())])
    return result


__all__ = ["alarm_row", "audit_movielens", "audit_study"]
