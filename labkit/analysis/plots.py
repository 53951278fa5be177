"""Figures: the collapse figure and the ablation figures, each drawn from a tidy table.

Pure plotting: every function here takes a tidy table (one row per condition, seed and
round, one column per metric; see :func:`labkit.experiments.results.metrics_frame`) and draws it.
No model logic lives here, so a figure can always be redrawn from its table. The
ablation figures (:func:`lever_figure`, :func:`tradeoff_figure`, :func:`effects_figure`)
take the per-seed and summary tables of :mod:`labkit.analysis.tables`. Every figure is
drawn in the labkit style and saved with :func:`labkit.analysis.style.save`::

    fig = collapse_figure(table)
    save(fig, "results/01_collapse/collapse")   # collapse.png and collapse.pdf
"""

from __future__ import annotations

import textwrap
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from labkit.analysis.labels import lever_label, metric_label, split_label
from labkit.analysis.stats import bootstrap_ci, ci_errorbar, mean_ci
from labkit.analysis.style import MARKERS, PALETTE, RC, style

# The story of the collapse figure: diversity falls while the dashboard holds.
COLLAPSE_PANELS: dict[str, tuple[str, ...]] = {
    "diversity": ("exposure_entropy", "coverage", "long_tail_share", "homogenization",
                  "exposure_topic_entropy", "user_taste_entropy"),
    "dashboard": ("ctr", "true_utility", "initial_utility"),
}

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
    errorbar=("ci", 95),
    seed: int = 0,
) -> Figure:
    """Small multiples of metric against round, one panel per metric, one line per ``hue``.

    Each line is the mean over seeds; the band is ``errorbar=("ci", 95)`` by default:
    a 95% percentile-bootstrap confidence interval of that mean over seeds (1000
    resamples, fixed bootstrap ``seed``; see :func:`labkit.analysis.stats.bootstrap_ci`, which computes
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
    (together, :data:`labkit.analysis.labels.METRIC_LABELS`). Returns the figure: one axis per metric, in the
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


# --------------------------------------------------------------------------- ablation figures

def _errorbar(errorbar):
    if errorbar is None or (isinstance(errorbar, tuple) and errorbar and errorbar[0] == "t"):
        return ci_errorbar(errorbar[1] if isinstance(errorbar, tuple) and len(errorbar) > 1 else 95)
    return errorbar


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float, np.number)) else str(value)


def lever_figure(
    per_seed: pd.DataFrame,
    metrics: Sequence[str],
    x: str | Mapping[str, str],
    col: str | None = None,
    hue: str | None = None,
    baseline: pd.DataFrame | None = None,
    baseline_label: str = "baseline",
    col_order: Sequence | None = None,
    hue_order: Sequence | None = None,
    logx: Sequence[str] = (),
    errorbar=("t", 95),
    note: str | None = None,
    ncols: int | None = None,
    panel_size: tuple[float, float] = (1.35, 1.05),
) -> Figure:
    """Metric against lever value: one row of panels per metric, one column per ``col`` value.

    Each line is the mean over seeds of a per-seed value (say the late-round mean of
    :func:`labkit.analysis.tables.late_means`), with markers at the lever values swept and a
    band: by default the 95% Student-t confidence interval of the mean over seeds
    (:func:`labkit.analysis.stats.ci_errorbar`; any seaborn errorbar spec is passed through).

    Args:
      per_seed: one row per point and seed, one column per metric and per lever.
      metrics: one row of panels each; the rows share their y axis.
      x: the lever on the x axis, or {``col`` value: lever} when each column sweeps its own.
      col: column whose values get one column of panels each (say ``family``); None: one.
      hue: column whose values get one line each (say ``arm``), named in the legend.
      baseline: per-seed rows of one reference point (say greedy, no mitigation), drawn in
        every panel as a dashed line at its mean with a grey band (its CI), and named
        ``baseline_label`` in the legend.
      logx: levers drawn on a log axis (values spaced geometrically).
      note: a line above the panels (say which rounds were averaged).
      ncols: with ``col=None``, lay the metrics' panels out in rows of ``ncols`` (each
        panel titled by its metric) instead of one column.

    Panels are labelled ``ax.get_label() == f"{metric}|{col value}"``; the x ticks are
    the lever values swept; each row's first panel carries the metric's label with units.
    """
    errorbar = _errorbar(errorbar)
    cols = list(col_order or (pd.unique(per_seed[col]) if col else [None]))
    levers = {c: (x[c] if isinstance(x, Mapping) else x) for c in cols}
    wanted = [*metrics, *set(levers.values()), *([col] if col else []), *([hue] if hue else [])]
    missing = sorted({c for c in wanted if c not in per_seed.columns})
    if missing:
        raise KeyError(f"lever_figure: column(s) {missing} not in the table; it has {list(per_seed.columns)}")
    levels = list(hue_order or (pd.unique(per_seed[hue]) if hue else []))
    with style():
        colours = dict(zip(levels, sns.color_palette(PALETTE, max(len(levels), 1))))
        single = sns.color_palette(PALETTE, 1)[0]
        width, height = panel_size
        wrap = col is None and ncols is not None and ncols < len(metrics)
        shape = (-(-len(metrics) // ncols), ncols) if wrap else (len(metrics), len(cols))
        fig = Figure(figsize=(width * shape[1] + 0.5, height * shape[0] + 0.55 + 0.2 * bool(note)),
                     layout="constrained")
        grid = fig.subplots(*shape, sharey=False if wrap else "row", squeeze=False)
        for ax in grid.flat[len(metrics):] if wrap else ():
            ax.set_axis_off()
        for j, c in enumerate(cols):
            sub = per_seed if col is None else per_seed[per_seed[col] == c]
            lever = levers[c]
            values = sorted(pd.unique(sub[lever]))
            for i, metric in enumerate(metrics):
                ax = grid[divmod(i, ncols)] if wrap else grid[i, j]
                if baseline is not None and metric in baseline:
                    mean, low, high = mean_ci(baseline[metric])
                    if not np.isnan(low):
                        ax.axhspan(low, high, color="0.88", lw=0, zorder=0)
                    ax.axhline(mean, color="0.35", ls="--", lw=0.8, zorder=1)
                kwargs = (dict(hue=hue, hue_order=levels, palette=colours, style=hue, style_order=levels,
                               markers=dict(zip(levels, MARKERS * len(levels))), dashes=False)
                          if hue else dict(color=single, marker="o"))
                sns.lineplot(data=sub, x=lever, y=metric, errorbar=errorbar, markersize=3.5,
                             markeredgewidth=0, err_kws={"linewidth": 0}, legend=False, ax=ax, **kwargs)
                if lever in logx:
                    ax.set_xscale("log")
                    ax.minorticks_off()
                ax.set_xticks(values, [_number(v) for v in values])
                name, units = split_label(metric)
                if wrap:  # every panel its own metric: the name on top, the units on the y axis
                    ax.set_title(name)
                    ax.set_ylabel(textwrap.fill(units, 18))
                    bottom = i + ncols >= len(metrics)
                else:
                    ax.set_ylabel(textwrap.fill(metric_label(metric), 20) if j == 0 else "")
                    if i == 0 and c is not None:
                        ax.set_title(str(c))
                    bottom = i == len(metrics) - 1
                ax.set_xlabel(lever_label(lever, wrap=True) if bottom else "")
                ax.set_label(f"{metric}|{c}")
        handles = [Line2D([], [], color=colours[level], marker=MARKERS[k % len(MARKERS)], markersize=3.5,
                          markeredgewidth=0, label=_number(level)) for k, level in enumerate(levels)]
        if baseline is not None:
            handles.append(Line2D([], [], color="0.35", ls="--", lw=0.8, label=baseline_label))
        if handles:
            fig.legend(handles=handles, title=hue if levels else None, loc="outside lower center",
                       ncols=min(len(handles), 6), frameon=False)
        if note:
            fig.suptitle(note, x=0.0, ha="left", fontweight="normal", fontsize=RC["axes.titlesize"])
    return fig


def setting_colours(labels: Sequence[str], baseline: str | None = None) -> dict[str, tuple]:
    """One colour-blind-safe colour per label, black for the baseline, in the order given."""
    others = [label for label in labels if label != baseline]
    palette = sns.color_palette(PALETTE, max(len(others), 1))
    if len(others) > len(palette):
        palette = sns.color_palette("tab20", len(others))
    colours = dict(zip(others, palette))
    if baseline is not None:
        colours[baseline] = (0.0, 0.0, 0.0)
    return colours


def tradeoff_figure(
    summary: pd.DataFrame,
    x: str = "ctr",
    y: str = "exposure_entropy",
    label: str = "setting",
    front: Sequence[bool] | None = None,
    baseline: str | None = None,
    annotate: Mapping[str, str] | None = None,
    note: str | None = None,
    size: tuple[float, float] = (5.2, 3.2),
) -> Figure:
    """Engagement against diversity: one point per setting, with its CI cross.

    ``summary``: one row per setting with columns ``x``, ``x_low``, ``x_high``, ``y``,
    ``y_low``, ``y_high`` (:func:`labkit.analysis.tables.summarize`) and ``label`` (the legend
    entry, naming the lever values). ``front``: mask of the rows on the Pareto front
    (:func:`labkit.analysis.stats.pareto_front`), joined by a dotted line. ``baseline``: the label
    drawn in black. ``annotate``: {label: short text} written beside each point, so the
    figure reads without colour. The axes carry the metrics' labels with units; the
    legend sits on the right. The main axis has ``ax.get_label() == "plane"``.
    """
    cols = [label, x, f"{x}_low", f"{x}_high", y, f"{y}_low", f"{y}_high"]
    missing = [c for c in cols if c not in summary.columns]
    if missing:
        raise KeyError(f"tradeoff_figure: column(s) {missing} not in the summary; it has {list(summary.columns)}")
    labels = list(summary[label])
    colours = setting_colours(labels, baseline)
    with style():
        fig = Figure(figsize=size, layout="constrained")
        ax = fig.add_subplot(label="plane")
        if front is not None:
            on = summary[np.asarray(front, bool)].sort_values(x)
            ax.plot(on[x], on[y], color="0.45", ls=":", lw=1.0, zorder=0)
        for k, r in enumerate(summary.to_dict("records")):
            xerr = [[r[x] - r[f"{x}_low"]], [r[f"{x}_high"] - r[x]]]
            yerr = [[r[y] - r[f"{y}_low"]], [r[f"{y}_high"] - r[y]]]
            xerr = None if np.isnan(xerr[0][0]) else xerr
            yerr = None if np.isnan(yerr[0][0]) else yerr
            ax.errorbar(r[x], r[y], xerr=xerr, yerr=yerr, fmt=MARKERS[k % len(MARKERS)], color=colours[r[label]],
                        ms=4, mew=0, elinewidth=0.7, capsize=1.5, label=str(r[label]), zorder=2)
        handles, names = ax.get_legend_handles_labels()
        if front is not None:
            handles.append(Line2D([], [], color="0.45", ls=":", lw=1.0))
            names.append("Pareto front")
        ax.legend(handles, names, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
        ax.set_xlabel(metric_label(x))
        ax.set_ylabel(metric_label(y))
        if note:
            ax.set_title(note, loc="left")
        if annotate:
            rows = [r for r in summary.to_dict("records") if r[label] in annotate]
            place_labels(ax, [r[x] for r in rows], [r[y] for r in rows], [annotate[r[label]] for r in rows])
    return fig


# Where a point's label may go, in points from the point: (dx, dy, horizontal alignment).
_LABEL_SPOTS = ((4, 2, "left"), (4, -8, "left"), (-4, 2, "right"), (-4, -8, "right"), (0, 6, "center"),
                (0, -13, "center"), (8, -3, "left"), (-8, -3, "right"), (12, 8, "left"), (-12, 8, "right"),
                (12, -14, "left"), (-12, -14, "right"))


def place_labels(ax, xs: Sequence[float], ys: Sequence[float], texts: Sequence[str], fontsize: float = 6) -> list:
    """Write each text beside its point where it overlaps the fewest other labels and points.

    Deterministic: points are labelled in the order given, each at the first of a fixed
    list of spots (:data:`_LABEL_SPOTS`) that overlaps nothing already placed, else at the
    spot that overlaps least. The figure's layout is settled first (one draw), so the
    overlaps are measured where the labels will be printed. Returns the text artists.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    fig = ax.get_figure(root=True)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = canvas.get_renderer()
    to_points = fig.dpi / 72.0
    centres = ax.transData.transform(np.column_stack([xs, ys]))
    marker = 4 * to_points  # a marker's half-size, in pixels
    taken = [Bbox.from_extents(cx - marker, cy - marker, cx + marker, cy + marker) for cx, cy in centres]

    def overlap(box: Bbox) -> float:
        total = 0.0
        for other in taken:
            w = min(box.x1, other.x1) - max(box.x0, other.x0)
            h = min(box.y1, other.y1) - max(box.y0, other.y0)
            total += max(w, 0) * max(h, 0)
        return total

    artists = []
    for k, ((cx, cy), text) in enumerate(zip(centres, texts)):
        own = taken[k]
        taken.remove(own)  # a label may touch its own point
        best = None
        for dx, dy, ha in _LABEL_SPOTS:
            artist = ax.annotate(text, (xs[k], ys[k]), xytext=(dx, dy), textcoords="offset points", ha=ha,
                                 fontsize=fontsize, color="0.25")
            box = artist.get_window_extent(renderer)
            score = overlap(box)
            if best is None or score < best[0]:
                if best is not None:
                    best[1].remove()
                best = (score, artist, box)
            else:
                artist.remove()
            if score == 0:
                break
        taken.insert(k, own)
        taken.append(best[2])
        artists.append(best[1])
    return artists


def effects_figure(
    effects: pd.DataFrame,
    metrics: Sequence[str] = ("exposure_entropy", "ctr"),
    label: str = "setting",
    colours: Mapping[str, tuple] | None = None,
    note: str | None = None,
    panel_size: tuple[float, float] = (1.45, 2.6),
) -> Figure:
    """Each setting's effect against the baseline, with its CI: one panel per metric.

    ``effects``: one row per setting with, per metric, the mean difference ``m`` and
    ``m_low``, ``m_high`` (:func:`labkit.analysis.tables.effects`). Settings run top to bottom in
    the table's order; a vertical line marks no effect. Panels are labelled by metric.
    """
    labels = list(effects[label])
    colours = dict(colours or setting_colours(labels))
    with style():
        width, height = panel_size
        fig = Figure(figsize=(width * len(metrics) + 1.2, max(height, 0.22 * len(labels) + 0.6)),
                     layout="constrained")
        axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
        ypos = np.arange(len(labels))[::-1]
        for ax, metric in zip(axes, metrics):
            mean = effects[metric].to_numpy()
            err = np.vstack([mean - effects[f"{metric}_low"].to_numpy(), effects[f"{metric}_high"].to_numpy() - mean])
            ax.axvline(0.0, color="0.5", lw=0.6, zorder=0)
            for k, name in enumerate(labels):
                ax.errorbar(mean[k], ypos[k], xerr=err[:, k:k + 1], fmt="o", color=colours.get(name, "0.2"),
                            ms=3.5, mew=0, elinewidth=0.8, capsize=1.5)
            title, units = split_label(metric)
            ax.set_title(textwrap.fill(f"change in {title}", 18))
            ax.set_xlabel(units)
            ax.set_label(metric)
        axes[0].set_yticks(ypos, labels)
        if note:
            fig.suptitle(note, x=0.0, ha="left", fontweight="normal", fontsize=RC["axes.titlesize"])
    return fig


__all__ = ["COLLAPSE_PANELS", "collapse_figure", "lever_figure", "setting_colours", "tradeoff_figure",
           "place_labels", "effects_figure"]
