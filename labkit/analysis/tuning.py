"""Reading study 07: the sensitivity map, the tuned mix on 06's plane, the relaxation check.

Tables from what :func:`labkit.experiments.tuning.run_tuning` wrote, and the three
figures of notebook ``07_tuning``:

* :func:`sensitivity_table` / :func:`sensitivity_figure`: per lever, the gradient of the
  late-round exposure entropy and of the CTR with 95% Student-t intervals over seeds,
  and the exchange rate ``-d entropy / d CTR`` (nats of exposure entropy bought per
  click per slate given up), priced only where the CTR cost is clear;
* :func:`plane_summary`: 06's settings and the tuned mix as late-round means on the
  CTR-vs-entropy plane, with the Pareto front recomputed over all of them;
* :func:`relaxation_table` / :func:`relaxation_figure`: the relaxed loop's late-round
  means against its temperature, beside the exact loop's.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from labkit.analysis.labels import lever_label, metric_label
from labkit.analysis.stats import mean_ci, pareto_front
from labkit.analysis.style import style
from labkit.analysis.tables import late_means, summarize


def sensitivity_table(per_seed: pd.DataFrame) -> pd.DataFrame:
    """One row per lever: where it was read, its value there, and per metric the mean
    gradient over seeds with its 95% interval (``d_<metric>``, ``_low``, ``_high``); then
    ``nats_per_click``: ``-d entropy / d CTR`` where the CTR gradient's interval is below 0."""
    rows = []
    for (lever, arm, value), frame in per_seed.groupby(["lever", "arm", "value"], sort=False):
        row = {"lever": lever, "arm": arm, "value": value}
        for metric, values in frame.groupby("metric", sort=False)["grad"]:
            mean, low, high = mean_ci(values)
            row.update({f"d_{metric}": mean, f"d_{metric}_low": low, f"d_{metric}_high": high})
        rows.append(row)
    table = pd.DataFrame(rows)
    clear_cost = table["d_ctr_high"] < 0
    table["nats_per_click"] = np.where(clear_cost, -table["d_exposure_entropy"] / table["d_ctr"], np.nan)
    return table


def _ci_panel(ax, table: pd.DataFrame, column: str, colour) -> None:
    y = np.arange(len(table))[::-1]
    mean = table[column].to_numpy()
    err = np.vstack([mean - table[f"{column}_low"].to_numpy(), table[f"{column}_high"].to_numpy() - mean])
    ax.errorbar(mean, y, xerr=np.where(np.isfinite(err), err, 0.0), fmt="o", color=colour, ms=3, mew=0,
                elinewidth=0.8, capsize=1.5)
    ax.axvline(0.0, color="0.6", lw=0.6, zorder=0)
    ax.set_xscale("symlog", linthresh=1e-3)
    reach = np.nanmax(np.abs(np.concatenate([mean, table[f"{column}_low"], table[f"{column}_high"]])))
    decades = np.arange(-3, max(int(np.ceil(np.log10(max(reach, 1e-3)))), -2) + 1)
    step = max(1, int(np.ceil(len(decades) / 3)))  # at most 3 labelled decades a side
    shown = 10.0 ** decades[::-1][::step]
    ax.set_xticks(np.concatenate([-shown, [0.0], shown[::-1]]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: "0" if v == 0 else f"{v:.0e}".replace("e-0", "e-")
                                               .replace("e+0", "e")))
    ax.tick_params(axis="x", labelrotation=45, labelsize=6)
    ax.set_yticks(y)


def sensitivity_figure(table: pd.DataFrame, note: str | None = None, size: tuple[float, float] = (7.2, 4.2)) -> Figure:
    """Per lever (rows), the gradient of late-round exposure entropy (left) and of CTR
    (right) in that lever's units, mean over seeds with 95% intervals, symlog axes."""
    import seaborn as sns

    table = table.sort_values("d_exposure_entropy", ascending=False, key=np.abs).reset_index(drop=True)
    with style():
        fig = Figure(figsize=size, layout="constrained")
        left, right = fig.subplots(1, 2, sharey=True)
        colours = sns.color_palette()
        _ci_panel(left, table, "d_exposure_entropy", colours[0])
        _ci_panel(right, table, "d_ctr", colours[1])
        left.set_yticklabels([f"{lever_label(l)}  [{a}]" for l, a in zip(table["lever"], table["arm"])])
        left.set_xlabel("d exposure entropy / d lever\n(nats per unit of the lever)")
        right.set_xlabel("d CTR / d lever\n(clicks per slate per unit of the lever)")
        if note:
            fig.suptitle(note, x=0.01, ha="left", fontsize=7)
    return fig


def plane_summary(tradeoffs_table: pd.DataFrame, tuned_table: pd.DataFrame, tuned_label: str,
                  metrics: Sequence[str] = ("ctr", "exposure_entropy"), last: int | None = None) -> pd.DataFrame:
    """06's settings and the tuned mix as late-round means over seeds [95% CI], one row per
    setting (``arm``), with ``pareto_front`` over all of them and ``tuned`` marking the mix."""
    kwargs = {} if last is None else {"last": last}
    per_seed = pd.concat([late_means(tradeoffs_table, **kwargs)[["arm", "seed", *metrics]],
                          late_means(tuned_table, **kwargs)[["arm", "seed", *metrics]].assign(arm=tuned_label)],
                         ignore_index=True)
    summary = summarize(per_seed, metrics, by=["arm"])
    summary["pareto_front"] = pareto_front(summary["ctr"], summary["exposure_entropy"])
    summary["tuned"] = summary["arm"] == tuned_label
    return summary


def relaxation_table(relaxation: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Per loop and temperature, each metric's mean over seeds with its 95% interval."""
    return summarize(relaxation, metrics, by=["loop", "tau"]).sort_values(["loop", "tau"], ascending=[True, False])


def relaxation_figure(table: pd.DataFrame, metrics: Sequence[str], note: str | None = None,
                      size: tuple[float, float] = (7.2, 2.4)) -> Figure:
    """Each metric (one panel) of the relaxed loop against its temperature (log axis), mean
    over seeds with 95% intervals; the exact loop's mean as a dashed line and grey band."""
    import seaborn as sns

    relaxed = table[table["loop"] == "relaxed"].sort_values("tau")
    exact = table[table["loop"] == "exact"].iloc[0]
    with style():
        fig = Figure(figsize=size, layout="constrained")
        axes = fig.subplots(1, len(metrics))
        colour = sns.color_palette()[0]
        for ax, metric in zip(np.atleast_1d(axes), metrics):
            tau = relaxed["tau"].to_numpy()
            ax.fill_between([tau.min(), tau.max()], exact[f"{metric}_low"], exact[f"{metric}_high"], color="0.85",
                            lw=0, zorder=0)
            ax.axhline(exact[metric], color="0.3", ls="--", lw=0.8, label="exact loop")
            ax.errorbar(tau, relaxed[metric], yerr=[relaxed[metric] - relaxed[f"{metric}_low"],
                                                    relaxed[f"{metric}_high"] - relaxed[metric]],
                        fmt="o-", color=colour, ms=3, lw=0.8, elinewidth=0.7, capsize=1.5, label="relaxed loop")
            ax.set_xscale("log")
            ax.set_xlabel("relaxation temperature")
            ax.set_title(metric_label(metric), loc="left")
        np.atleast_1d(axes)[0].legend(frameon=False)
        if note:
            fig.suptitle(note, x=0.01, ha="left", fontsize=7)
    return fig


def worlds_table(worlds: Mapping[str, int]) -> pd.DataFrame:
    """The simulated worlds each method needed, as a table."""
    return pd.DataFrame({"method": list(worlds), "worlds": list(worlds.values())})
