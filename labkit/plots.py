"""Figures: one labkit style, deterministic saving, and the collapse figure.

Pure plotting: every function here takes a tidy table (one row per condition, seed and
round, one column per metric; see :func:`labkit.results.metrics_frame`) and draws it.
No model logic lives here, so a figure can always be redrawn from its table.

    with style():
        fig = collapse_figure(table)
    save(fig, "results/01_collapse/collapse")   # collapse.png and collapse.pdf
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from labkit.loop import METRIC_NAMES
from labkit.results import atomic_write

# A human label, with units, for every metric of labkit.loop.METRIC_NAMES.
METRIC_LABELS: dict[str, str] = {
    "exposure_entropy": "exposure entropy (nats)",
    "exposure_effective_items": "effective items exposed (items, exp entropy)",
    "consumption_entropy": "consumption entropy (nats)",
    "consumption_effective_items": "effective items consumed (items, exp entropy)",
    "exposure_topic_entropy": "exposure topic entropy (nats)",
    "consumption_topic_entropy": "consumption topic entropy (nats)",
    "exposure_gini": "exposure Gini (0 equal, 1 one item)",
    "coverage": "catalog coverage (share of live items)",
    "long_tail_share": "long-tail exposure (share, bottom 80%)",
    "homogenization": "homogenization (Jaccard, user pairs)",
    "intra_list_diversity": "intra-list diversity (mean cosine distance)",
    "novelty": "novelty (bits per exposure)",
    "preference_drift": "preference drift (TV distance from start)",
    "preference_spread": "preference spread (TV distance to mean)",
    "user_taste_entropy": "user taste entropy (nats)",
    "synthetic_exposure_share": "synthetic exposure (share of impressions)",
    "synthetic_catalog_share": "synthetic catalog (share of live items)",
    "training_ai_share": "AI-influenced training (share of weight)",
    "ctr": "CTR (clicks per slate)",
    "true_utility": "true utility (per slate; 0 without a click)",
    "alive_items": "live items (count)",
}
assert set(METRIC_LABELS) == set(METRIC_NAMES), "every metric needs a label"

# The story of the collapse figure: diversity falls while the dashboard holds.
COLLAPSE_PANELS: dict[str, tuple[str, ...]] = {
    "diversity": ("exposure_entropy", "coverage", "long_tail_share", "homogenization",
                  "exposure_topic_entropy", "user_taste_entropy"),
    "dashboard": ("ctr", "true_utility"),
}

PALETTE = "colorblind"

# Sizes are for print: the full text width of a two-column paper is about 7 in
# (one column about 3.5 in), and 7-9 pt text reads at that size.
RC: dict[str, object] = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "figure.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    "pdf.fonttype": 42,  # embed TrueType, so text stays text in the PDF
    "ps.fonttype": 42,
    "svg.hashsalt": "labkit",  # stable ids in SVG output
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The labkit figure style, for the duration of a ``with`` block.

    Seaborn's ``ticks`` style with the colour-blind-safe ``colorblind`` palette, 7-8 pt
    text, no top or right spines. Figures made inside the block keep the style.
    """
    with sns.axes_style("ticks"), plt.rc_context(RC), sns.color_palette(PALETTE):
        yield


def metric_label(metric: str) -> str:
    """The human label (with units) of a metric; the column name itself if unknown."""
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def split_label(metric: str) -> tuple[str, str]:
    """A metric's label as (name, units): ``"CTR (clicks per slate)"`` gives
    ``("CTR", "clicks per slate")``. Panels show the name as title, the units on the y axis."""
    label = metric_label(metric)
    name, sep, units = label.partition(" (")
    return (name, units[:-1]) if sep and units.endswith(")") else (label, "")


def _panels(metrics) -> dict[str, tuple[str, ...]]:
    """Normalise ``metrics`` to {group label: metric names} (one unlabelled group for a list)."""
    if isinstance(metrics, str):
        return {"": (metrics,)}
    if isinstance(metrics, Mapping):
        return {str(group): tuple(names) for group, names in metrics.items()}
    return {"": tuple(metrics)}


def bootstrap_ci(level: float = 95, n_boot: int = 1000, seed: int = 0):
    """A seaborn ``errorbar`` callable: percentile bootstrap CI of the mean, vectorised.

    The same interval as seaborn's ``("ci", level)`` (resample the values with
    replacement ``n_boot`` times, take the central ``level``% of the resampled means),
    but drawn in one numpy call per group instead of ``n_boot`` Python calls, and with
    a fixed ``seed`` per group, so a redraw gives the same band.
    """
    def interval(values) -> tuple[float, float]:
        values = np.asarray(values, dtype=np.float64)
        if values.size < 2:
            return float(values.mean()), float(values.mean())
        rng = np.random.default_rng(seed)
        means = values[rng.integers(0, values.size, (n_boot, values.size))].mean(axis=1)
        tail = (100 - level) / 2
        low, high = np.percentile(means, [tail, 100 - tail])
        return float(low), float(high)

    return interval


def collapse_figure(
    df: pd.DataFrame,
    metrics: Mapping[str, Sequence[str]] | Sequence[str] = COLLAPSE_PANELS,
    hue: str = "condition",
    x: str = "round",
    ncols: int = 3,
    panel_size: tuple[float, float] = (2.3, 1.55),
    errorbar=("ci", 95),
    seed: int = 0,
) -> Figure:
    """Small multiples of metric against round, one panel per metric, one line per ``hue``.

    Each line is the mean over seeds; the band is ``errorbar=("ci", 95)`` by default:
    a 95% percentile-bootstrap confidence interval of that mean over seeds (1000
    resamples, fixed bootstrap ``seed``; see :func:`bootstrap_ci`, which computes
    seaborn's ``("ci", 95)`` fast). Pass ``errorbar=("pi", 95)`` for the spread of
    single runs instead (any seaborn errorbar spec is passed through).

    Args:
      df: tidy table with columns ``x``, ``hue`` and one per metric, one row per seed
        (mean and band are taken over the rows sharing ``x`` and ``hue``).
      metrics: {group label: metric names}, one block of rows per group with the label
        above it; or a plain list of metric names. The default tells the story "diversity
        falls while the dashboard holds" (:data:`COLLAPSE_PANELS`).
      hue: column whose values are compared (one colour each, one shared legend).
      x: the time column.
      ncols: panels per row.
      panel_size: (width, height) of one panel in inches.
      errorbar: the band: ``("ci", level)`` (bootstrap CI of the mean) or any seaborn
        errorbar spec (``("pi", 95)``, ``("se", 2)``, ``None``, a callable).
      seed: bootstrap seed for the band.

    Each panel is titled with the metric's name and its y axis labelled with the units
    (together, :data:`METRIC_LABELS`). Returns the figure: one axis per metric, in the
    order given, each with ``ax.get_label() == metric``. The shared legend sits in the first free panel slot
    (an axis-off axes labelled ``"legend"``), or below the grid when no slot is free.
    """
    panels = _panels(metrics)
    wanted = [m for names in panels.values() for m in names]
    missing = [c for c in (x, hue, *wanted) if c not in df.columns]
    if missing:
        raise KeyError(f"collapse_figure: column(s) {missing} not in the table; "
                       f"it has {list(df.columns)}")
    if not wanted:
        raise ValueError("collapse_figure: no metrics to draw")
    if ncols < 1:
        raise ValueError(f"collapse_figure: ncols must be >= 1, got {ncols}")

    if isinstance(errorbar, tuple) and errorbar and errorbar[0] == "ci":
        errorbar = bootstrap_ci(errorbar[1] if len(errorbar) > 1 else 95, seed=seed)
    levels = list(pd.unique(df[hue]))
    rows = {group: -(-len(names) // ncols) for group, names in panels.items() if names}
    labelled = any(group for group in rows)
    with style():
        colours = dict(zip(levels, sns.color_palette(PALETTE, len(levels))))
        width, height = panel_size
        # A bare Figure, not pyplot's: nothing global to close, and a notebook shows it once.
        fig = Figure(figsize=(width * ncols, height * sum(rows.values()) + 0.35 * labelled + 0.3),
                     layout="constrained")
        subfigs = fig.subfigures(len(rows), 1, height_ratios=list(rows.values()), squeeze=False)[:, 0]
        last_free = None
        for subfig, (group, n_rows) in zip(subfigs, rows.items()):
            names = panels[group]
            if group:
                subfig.suptitle(group, x=0.0, ha="left", fontweight="bold")
            for i, metric in enumerate(names):
                ax = subfig.add_subplot(n_rows, ncols, i + 1)
                sns.lineplot(data=df, x=x, y=metric, hue=hue, hue_order=levels, palette=colours,
                             errorbar=errorbar, legend=False, ax=ax,
                             err_kws={"linewidth": 0})
                ax.set_xlabel(x)
                title, units = split_label(metric)
                ax.set_title(title)
                ax.set_ylabel(units)
                ax.set_label(metric)  # find a panel by metric: ax.get_label()
            if len(names) % ncols:
                last_free = (subfig, n_rows, len(names) + 1)
        handles = [Line2D([], [], color=colours[level], label=str(level)) for level in levels]
        if last_free is not None:  # the legend sits in the first empty panel slot
            subfig, n_rows, slot = last_free
            holder = subfig.add_subplot(n_rows, ncols, slot, label="legend")
            holder.set_axis_off()
            holder.legend(handles=handles, title=hue, loc="center left", frameon=False)
        else:
            fig.legend(handles=handles, title=hue, loc="outside lower center", ncols=len(levels),
                       frameon=False)
    return fig


def save(fig: Figure, path: str | os.PathLike, formats: Sequence[str] = ("png", "pdf"),
         dpi: int = 200) -> list[Path]:
    """Write ``fig`` as ``path.png`` and ``path.pdf`` (by default), atomically and reproducibly.

    ``path`` has no suffix. Each file is written to a temporary name in the same folder
    and renamed into place. Timestamps and version strings are left out of the
    metadata, and the figure's layout is computed once and then frozen, so saving the
    same figure twice, or a figure redrawn from the same table, gives the same bytes.
    Returns the paths written.
    """
    path = Path(path)
    if path.suffix in {f".{f}" for f in formats}:
        raise ValueError(f"save: give the path without a suffix (got {path}); "
                         f"{', '.join(formats)} are added")
    metadata = {
        "png": {"Software": None},
        "pdf": {"CreationDate": None, "Producer": None, "Creator": None},
        "svg": {"Date": None, "Creator": None},
    }
    if fig.get_layout_engine() is not None:
        # Constrained layout moves panels a little on every draw; lay out once, then
        # freeze, so every file (and every later save) shows the same layout.
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
    written = []
    with plt.rc_context(RC):
        for fmt in formats:
            target = path.with_name(f"{path.name}.{fmt}")
            atomic_write(target, lambda tmp, fmt=fmt: fig.savefig(
                tmp, format=fmt, dpi=dpi, metadata=metadata.get(fmt)))
            written.append(target)
    return written


__all__ = ["METRIC_LABELS", "COLLAPSE_PANELS", "PALETTE", "RC", "style", "metric_label", "split_label",
           "bootstrap_ci", "collapse_figure", "save"]
