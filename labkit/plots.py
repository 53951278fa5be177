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
import textwrap
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from labkit.loop import METRIC_NAMES
from labkit.results import _atomic_write

# A human label, with units, for every metric of labkit.loop.METRIC_NAMES.
METRIC_LABELS: dict[str, str] = {
    "exposure_entropy": "exposure entropy (nats)",
    "exposure_effective_items": "effective items exposed (exp entropy, items)",
    "consumption_entropy": "consumption entropy (nats)",
    "consumption_effective_items": "effective items consumed (exp entropy, items)",
    "exposure_topic_entropy": "exposure topic entropy (nats)",
    "consumption_topic_entropy": "consumption topic entropy (nats)",
    "exposure_gini": "exposure Gini (0 equal, 1 one item)",
    "coverage": "catalog coverage (share of live items)",
    "long_tail_share": "long-tail share (of exposure, bottom 80% of items)",
    "homogenization": "homogenization (mean Jaccard of users' items)",
    "intra_list_diversity": "intra-list diversity (mean cosine distance)",
    "novelty": "novelty (bits per exposure)",
    "preference_drift": "preference drift (TV distance from start)",
    "preference_spread": "preference spread (TV distance to mean taste)",
    "user_taste_entropy": "user taste entropy (nats)",
    "synthetic_exposure_share": "synthetic share of exposure",
    "synthetic_catalog_share": "synthetic share of live catalog",
    "training_ai_share": "AI-influenced share of training weight",
    "ctr": "CTR (clicks per slate)",
    "true_utility": "true utility (mean per click)",
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


def _wrap(text: str, width: int = 26) -> str:
    return textwrap.fill(text, width=width, break_long_words=False)


def _panels(metrics) -> dict[str, tuple[str, ...]]:
    """Normalise ``metrics`` to {group label: metric names} (one unlabelled group for a list)."""
    if isinstance(metrics, str):
        return {"": (metrics,)}
    if isinstance(metrics, Mapping):
        return {str(group): tuple(names) for group, names in metrics.items()}
    return {"": tuple(metrics)}


def collapse_figure(
    df: pd.DataFrame,
    metrics: Mapping[str, Sequence[str]] | Sequence[str] = COLLAPSE_PANELS,
    hue: str = "condition",
    x: str = "round",
    ncols: int = 3,
    panel_size: tuple[float, float] = (2.3, 1.55),
    errorbar: tuple[str, float] = ("ci", 95),
    seed: int = 0,
) -> Figure:
    """Small multiples of metric against round, one panel per metric, one line per ``hue``.

    Each line is the mean over seeds; the band is seaborn's ``errorbar=("ci", 95)`` by
    default: a 95% bootstrap confidence interval of that mean (1000 resamples of the
    seeds, with a fixed bootstrap ``seed`` so a redraw is identical). Pass
    ``errorbar=("pi", 95)`` for the spread of single runs instead.

    Args:
      df: tidy table with columns ``x``, ``hue``, a ``seed`` column and one per metric.
      metrics: {group label: metric names}, one block of rows per group with the label
        above it; or a plain list of metric names. The default tells the story "diversity
        falls while the dashboard holds" (:data:`COLLAPSE_PANELS`).
      hue: column whose values are compared (one colour each, one shared legend).
      x: the time column.
      ncols: panels per row.
      panel_size: (width, height) of one panel in inches.
      errorbar: seaborn's errorbar spec for the band.
      seed: bootstrap seed for the band.

    Returns the figure: one axis per metric, in the order given, each with
    ``ax.get_label() == metric``. The shared legend sits in the first free panel slot
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

    levels = list(pd.unique(df[hue]))
    rows = {group: -(-len(names) // ncols) for group, names in panels.items() if names}
    labelled = any(group for group in rows)
    with style():
        colours = dict(zip(levels, sns.color_palette(PALETTE, len(levels))))
        width, height = panel_size
        fig = plt.figure(figsize=(width * ncols, height * sum(rows.values()) + 0.35 * labelled + 0.3),
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
                             errorbar=errorbar, seed=seed, legend=False, ax=ax,
                             err_kws={"linewidth": 0})
                ax.set_xlabel(x)
                ax.set_ylabel(_wrap(metric_label(metric)))
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
    metadata, so saving the same figure twice gives the same bytes.
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
    written = []
    with plt.rc_context(RC):
        for fmt in formats:
            target = path.with_name(f"{path.name}.{fmt}")
            _atomic_write(target, lambda tmp, fmt=fmt: fig.savefig(
                tmp, format=fmt, dpi=dpi, metadata=metadata.get(fmt)))
            written.append(target)
    return written


__all__ = ["METRIC_LABELS", "COLLAPSE_PANELS", "PALETTE", "RC", "style", "metric_label",
           "collapse_figure", "save"]
