"""What ``labkit audit`` writes: the tables, the dashboard figure and one HTML report.

    from labkit.analysis.audit import audit
    from labkit.analysis.audit_report import write_report
    write_report(audit(table), "results/audit", log=["ratings.parquet"])

writes into the folder::

    periods.parquet    one row per (period, group): every metric (:func:`labkit.analysis.audit.audit`)
    trends.parquet     one row per (group, metric): Mann-Kendall tau, p-value, Theil-Sen slope
    manifest.json      what was read, the settings, the alarm and its summary, labkit's version and commit
    audit.png, .pdf    the dashboard: one panel per metric over the periods (house style)
    report.html        self-contained (the figure embedded): the verdict, the log, the trends
    report.md          the same report in Markdown, the figure beside it

The figure draws every metric of the ``all`` group, with the human and AI-influenced
rows as their own lines when the log says which are which, homogenization's sampled
95% interval as a band, and each diversity metric's verdict in its panel's title (a
trend towards collapse, away from it, or none, after Holm's correction): the article's
"dashboards aren't catching this" shown beside the engagement that does not fall.
Everything is written atomically, so an interrupted run leaves no half-written file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from labkit.analysis.audit import COLLAPSE_DIRECTION, Audit, engagement_metric, verdicts
from labkit.analysis.style import MARKERS, save, style
from labkit.analysis.writeup import FigureRef, to_html, to_markdown
from labkit.experiments.results import atomic_write, provenance, write_json, write_table

# Each audit metric's label (name, units); the panels show the name as title, the units on the y axis.
LABELS: dict[str, tuple[str, str]] = {
    "interactions": ("interactions", "rows in the period"),
    "active_users": ("active users", "users with a row"),
    "interactions_per_user": ("interactions per user", "rows / active user"),
    "consumption_entropy": ("consumption entropy", "nats"),
    "effective_items": ("effective items", "exp(entropy)"),
    "gini": ("Gini of consumption", "0 equal, 1 one item"),
    "coverage": ("coverage", "share of items seen so far"),
    "long_tail_share": ("long-tail share", "outside the past head"),
    "novelty": ("novelty", "bits vs. the past"),
    "homogenization": ("homogenization", "Jaccard of user pairs"),
    "synthetic_catalog_share": ("synthetic share of catalog", "items seen so far"),
    "synthetic_share": ("synthetic share of consumption", "rows"),
    "ai_influenced_share": ("AI-influenced share", "rows"),
    "creator_gini": ("Gini over creators", "0 equal, 1 one creator"),
    "creator_effective": ("effective creators", "exp(entropy)"),
    "impressions": ("impressions", "rows shown in the period"),
    "ctr": ("CTR", "clicks / impressions"),
    "exposure_entropy": ("exposure entropy", "nats, of what was shown"),
    "synthetic_exposure_share": ("synthetic share of exposure", "impressions"),
    "source_bias": ("source bias", "synthetic exposure - catalog share"),
    "weight_per_user": ("weight per user", "weight / active user"),
    "mean_rating": ("mean rating", "of the period's rows"),
    "taste_entropy": ("users' taste entropy", "nats over features, per user"),
    "feature_entropy": ("entropy over item features", "nats"),
}
_BANDS = {"homogenization": ("homogenization_low", "homogenization_high")}
_NOT_PANELS = {"period", "period_index", "group", *(c for band in _BANDS.values() for c in band)}
_MARK = {"towards collapse": "towards collapse \u25bc", "away from collapse": "away from collapse \u25b2",
         "falling": "falling \u25bc", "holds": "holds"}


def panel_metrics(periods: pd.DataFrame) -> list[str]:
    """The metrics the figure draws, in its order: engagement, the diversity metrics the alarm
    tests, then the rest (novelty, provenance shares, creators)."""
    present = [c for c in periods.columns if c not in _NOT_PANELS and periods[c].notna().any()]
    first = [engagement_metric(periods), *COLLAPSE_DIRECTION]
    return [m for m in first if m in present] + [m for m in present if m not in first]


def audit_figure(result: Audit, columns: int = 3) -> Figure:
    """The dashboard: one panel per metric over the periods, a line per group."""
    periods = result.periods
    metrics = panel_metrics(periods)
    verdict = verdicts(result.trends, result.info.get("alpha", 0.05))
    groups = list(dict.fromkeys(periods["group"]))
    colours = dict(zip(groups, sns.color_palette(n_colors=len(groups))))
    rows = -(-len(metrics) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(7.0, 1.75 * rows + 0.4), sharex=True,
                             layout="constrained", squeeze=False)
    labels = periods.drop_duplicates("period_index").sort_values("period_index")
    ticks = labels["period_index"].to_numpy()[::max(1, -(-len(labels) // 5))]
    for ax, metric in zip(axes.flat, metrics):
        for i, group in enumerate(groups):
            frame = periods[periods["group"] == group].sort_values("period_index")
            if frame[metric].isna().all():
                continue
            ax.plot(frame["period_index"], frame[metric], color=colours[group], marker=MARKERS[i],
                    markersize=2.5, label=group.replace("_", "-"))
            if metric in _BANDS:
                low, high = _BANDS[metric]
                ax.fill_between(frame["period_index"], frame[low], frame[high], color=colours[group],
                                alpha=0.2, linewidth=0)
        name, units = LABELS.get(metric, (metric.replace("_", " "), ""))
        said = _MARK.get(verdict.get(metric, ""), "")
        ax.set_title(f"{name}\n{said}" if said else name, color="#b2182b" if said.startswith("towards") else "black")
        ax.set_ylabel(units)
        ax.set_xticks(ticks, labels.set_index("period_index").loc[ticks, "period"], rotation=30, ha="right")
    for ax in axes.flat[len(metrics):]:
        ax.set_axis_off()
    for ax in axes.flat[max(0, len(metrics) - columns):len(metrics)]:  # the lowest panel of each column
        ax.xaxis.set_tick_params(labelbottom=True)
    if len(groups) > 1:
        handles, names = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside upper center", ncols=len(groups), frameon=False)
    fig.suptitle("Collapse audit: " + ("ALARM, diversity falls while engagement holds" if result.alarm
                                       else "no alarm"))
    return fig


def _number(value) -> str:
    return "" if pd.isna(value) else f"{value:.3g}"


def report_blocks(result: Audit, log: Sequence[str], figure: str) -> list[tuple]:
    """The report as blocks (:mod:`labkit.analysis.writeup`'s format)."""
    info, verdict = result.info, verdicts(result.trends, result.info.get("alpha", 0.05))
    trends = result.trends[result.trends["group"] == "all"]
    engaged = engagement_metric(result.trends)
    caption = ("Each metric per period over the whole log" + (", with the human and AI-influenced rows as their "
               "own lines" if result.periods["group"].nunique() > 1 else "") + "; a panel's title says its "
               "trend when it is significant after Holm's correction (towards collapse in red). Homogenization's "
               "band is the 95% interval of its sampled user pairs.")
    return [
        ("h1", "Collapse audit"),
        ("p", "**" + ("ALARM" if result.alarm else "No alarm") + ".** " + result.summary.replace("\n", " ")),
        ("list", [f"log: {', '.join(f'`{p}`' for p in log) or 'a table'}",
                  f"{info['rows']} rows, {info['users']} users, {info['items']} items, {info['periods']} periods "
                  f"({info['period']}: {info['first_period']} .. {info['last_period']})",
                  f"{info['duplicate_rows']} duplicate rows ({info['duplicates']}); homogenization on "
                  f"{info['n_pairs'] or 'all'} user pairs a period; head = the top {info['head_fraction']:.0%} of "
                  f"earlier periods' items; alpha {info['alpha']}"
                  + (f"; taste over {info['item_features']} item features" if info.get("item_features") else ""),
                  "columns: " + ", ".join(f"{role} = `{name}`" for role, name in info["columns"].items())]),
        ("figure", 1, FigureRef("", "audit", caption), figure, figure.replace(".png", ".pdf")),
        ("h2", "Trends over the periods (all rows)"),
        ("table", ["metric", "periods", "Kendall tau", "p-value", "Theil-Sen slope per period", "95% interval",
                   "verdict"],
         [[LABELS.get(r.metric, (r.metric,))[0], str(r.n_periods), _number(r.tau), _number(r.p_value),
           _number(r.slope), f"[{_number(r.slope_low)}, {_number(r.slope_high)}]",
           f"engagement: {_MARK[verdict[r.metric]]}" if r.metric == engaged and r.metric in verdict
           else verdict.get(r.metric, "")]
          for r in trends.itertuples()]),
    ]


def write_report(result: Audit, out: str | os.PathLike, log: Sequence[str] = (), wall_time_s: float | None = None
                 ) -> list[Path]:
    """Write the audit's tables, manifest, figure and report into ``out``; returns the paths."""
    out = Path(out)
    written = [write_table(result.periods, out / "periods.parquet"), write_table(result.trends, out / "trends.parquet")]
    manifest = {"log": [str(p) for p in log], **result.info, "alarm": result.alarm, "summary": result.summary,
                **({"wall_time_s": round(wall_time_s, 3)} if wall_time_s is not None else {}), **provenance()}
    written.append(write_json(manifest, out / "manifest.json"))
    with style():
        fig = audit_figure(result)
    written += save(fig, out / "audit")
    plt.close(fig)
    blocks = report_blocks(result, [str(p) for p in log], "audit.png")
    for name, text in (("report.html", to_html(blocks, out)), ("report.md", to_markdown(blocks))):
        atomic_write(out / name, lambda tmp, text=text: Path(tmp).write_text(text, encoding="utf-8"))
        written.append(out / name)
    return [Path(p) for p in written]


__all__ = ["LABELS", "audit_figure", "panel_metrics", "report_blocks", "write_report"]
