"""Reading study 06: every mitigation on one plane of engagement against diversity.

06_tradeoffs runs one representative setting of each mitigation and the greedy feed
(``none``) under the same pressure. From its late-round means, one row per setting and
seed (:func:`setting_late_means`), :func:`tradeoff_tables` writes the study's tables: the
summary over seeds with the Pareto front of CTR against exposure entropy, each setting's
effect against the baseline, and the merged trade-offs table with the CTR cost of each
nat of entropy kept (:func:`labkit.analysis.tables.priced_costs`, as the write-up prices
it). :func:`cost_table` and :func:`tradeoff_checks` are what the notebook shows and reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, NamedTuple, Sequence

import pandas as pd

from labkit.analysis.stats import pareto_front
from labkit.analysis.tables import LATE_ROUNDS, effect_lines, effects, late_means, priced_costs, summarize
from labkit.experiments.results import write_csv
from labkit.experiments.study import Experiment, arm_settings, setting_label

BY = ["arm", "setting"]  # the columns that name a setting of the study


class TradeoffTables(NamedTuple):
    """The study's tables (see :func:`tradeoff_tables`)."""

    summary: pd.DataFrame
    effects: pd.DataFrame
    costs: pd.DataFrame
    tradeoffs: pd.DataFrame


def setting_late_means(table: pd.DataFrame, experiment: Experiment, last: int = LATE_ROUNDS) -> pd.DataFrame:
    """Late-round means (:func:`labkit.analysis.tables.late_means`), each row named by its setting.

    ``table``: the study's sweep table; ``experiment``: the study, whose arms say which
    levers each setting sets; ``last``: rounds averaged at the end of each run. Adds a
    ``setting`` column: the arm and its lever values (``epsilon_greedy (epsilon=0.2)``).
    """
    settings = arm_settings(experiment)
    per_seed = late_means(table, last)
    per_seed["setting"] = [setting_label(arm, settings[arm]) for arm in per_seed["arm"]]
    return per_seed


def tradeoff_tables(per_seed: pd.DataFrame, baseline: Mapping[str, Any], metrics: Sequence[str],
                    out: str | os.PathLike) -> TradeoffTables:
    """The study's tables, written as CSV in ``out``.

    ``per_seed``: :func:`setting_late_means`; ``baseline``: column values of the reference
    setting (``{"arm": "none"}``); ``metrics``: the metrics summarized and compared (they
    include ``ctr`` and ``exposure_entropy``). Returns ``summary`` (late-round means per
    setting over seeds [CI], with ``pareto_front``: no other setting has both higher CTR
    and higher exposure entropy; ``summary.csv``), ``effects`` (each setting's change
    against the baseline, paired by seed [CI]; ``effects.csv``), ``costs`` (the CTR cost per
    nat of exposure entropy kept, priced only where the gain is clear) and ``tradeoffs``
    (per setting: CTR, exposure entropy, the front, their changes and the cost;
    ``tradeoffs.csv``).
    """
    summary = summarize(per_seed, metrics, by=BY)
    summary["pareto_front"] = pareto_front(summary["ctr"], summary["exposure_entropy"])
    change = effects(per_seed, baseline, metrics, by=BY)
    costs = priced_costs(per_seed, baseline, by=BY)
    merged = summary[["arm", "setting", "ctr", "exposure_entropy", "pareto_front"]].merge(
        change[["arm", "exposure_entropy", "exposure_entropy_low", "exposure_entropy_high",
                "ctr", "ctr_low", "ctr_high"]].rename(columns=lambda c: f"delta_{c}" if c != "arm" else c),
        on="arm", how="left").merge(costs[["arm", "cost", "cost_low", "cost_high"]], on="arm", how="left")
    write_csv(merged, Path(out) / "tradeoffs.csv")
    write_csv(summary, Path(out) / "summary.csv")
    write_csv(change, Path(out) / "effects.csv")
    return TradeoffTables(summary, change, costs, merged)


def cost_table(costs: pd.DataFrame) -> pd.DataFrame:
    """A display table of :func:`labkit.analysis.tables.priced_costs`: per setting, the entropy
    kept, the CTR given up and the cost per nat with its interval (or why there is none)."""
    return pd.DataFrame({
        "setting": costs["setting"],
        "entropy kept (nats)": costs["kept"].round(3),
        "CTR given up (clicks per slate)": costs["lost"].round(3),
        "CTR cost per nat kept [95% bootstrap]": costs["text"],
    }).set_index("setting")


def tradeoff_checks(summary: pd.DataFrame, effect_table: pd.DataFrame, costs: pd.DataFrame,
                    headline: Sequence[str] = ("exposure_entropy", "ctr")) -> list[str]:
    """Lines that check the reading of the study's figures: the Pareto front by CTR, each
    setting's change in the ``headline`` metrics, the settings whose entropy gain is clear
    by their cost per nat (cheapest first), and those with no clear gain."""
    front = summary[summary["pareto_front"]].sort_values("ctr")
    lines = ["on the Pareto front (by CTR): " + ", ".join(front["setting"])]
    lines += effect_lines(effect_table, list(headline), "setting")
    priced = costs[costs["gain"] == "up"].sort_values("cost")
    lines.append("CTR cost per nat kept, cheapest first (settings whose entropy gain is clear):")
    lines += [f"  {r['setting']:42s} {r['text']}" for r in priced.to_dict("records")]
    lines.append("no clear entropy gain: " + (", ".join(costs.loc[costs["gain"] != "up", "setting"]) or "none"))
    return lines


__all__ = ["BY", "TradeoffTables", "setting_late_means", "tradeoff_tables", "cost_table", "tradeoff_checks"]
