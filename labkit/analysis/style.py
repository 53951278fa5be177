"""The figure style and how figures are saved: one labkit look, the same bytes on every save.

Every figure of :mod:`labkit.analysis.plots` (and of :mod:`labkit.reproduce`) is drawn
inside :func:`style` and written by :func:`save`::

    with style():
        fig = collapse_figure(table)
    save(fig, "results/01_collapse/collapse")   # collapse.png and collapse.pdf

:func:`save` lays the figure out once, snaps the layout to a fine grid and freezes it
(:func:`freeze_layout`), and leaves dates and versions out of the files, so a figure
redrawn from the same table is the same bytes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from labkit.experiments.results import atomic_write

PALETTE = "colorblind"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*")  # one per line or point, in order

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


# The grid a frozen layout is snapped to, in figure (or subfigure) fractions: 2**-20 is
# about a millionth of the figure, far below a printed pixel and far above rounding noise.
_LAYOUT_GRID = 2.0 ** -20


def _snap(points) -> np.ndarray:
    return np.round(np.asarray(points, dtype=float) / _LAYOUT_GRID) * _LAYOUT_GRID


def freeze_layout(fig: Figure) -> Figure:
    """Lay ``fig`` out once with its layout engine, snap the result to a fine grid, and freeze it.

    Constrained layout moves panels a little on every draw, and the same figure laid
    out in the same process can come out a last bit apart (measured: panel positions
    4e-16 apart after unrelated allocations between two layouts). A last-bit change
    is enough to flip the tenth decimal the PDF backend writes, so a figure redrawn from
    the same table could differ by a byte. Snapping every laid-out position (panels,
    subfigures, their titles) to a grid of 2**-20 of the figure, an exact binary
    fraction, removes that noise; with the engine then switched off, every later draw
    starts from the same numbers. Returns ``fig``.
    """
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    return _snap_layout(fig)


def _snap_layout(fig: Figure) -> Figure:
    """Snap every laid-out position of ``fig`` (panels, subfigures, their titles) to the grid."""
    from matplotlib.transforms import Bbox

    figures = [fig]
    while figures:
        current = figures.pop()
        figures.extend(current.subfigs)
        if current is not fig:
            current.bbox_relative.set_points(_snap(current.bbox_relative.get_points()))
        for name in ("_suptitle", "_supxlabel", "_supylabel"):  # no public getter for these texts
            text = getattr(current, name, None)
            if text is not None:
                text.set_position(tuple(_snap(text.get_position())))
    for ax in fig.get_axes():
        ax.set_position(Bbox(_snap(ax.get_position(original=True).get_points())), which="both")
    return fig


def save(fig: Figure, path: str | os.PathLike, formats: Sequence[str] = ("png", "pdf"),
         dpi: int = 200) -> list[Path]:
    """Write ``fig`` as ``path.png`` and ``path.pdf`` (by default), atomically and reproducibly.

    ``path`` has no suffix. Each file is written to a temporary name in the same folder
    and renamed into place. Timestamps and version strings are left out of the
    metadata, and the figure's layout is computed once, snapped to a fine grid and frozen
    (:func:`freeze_layout`), so saving the same figure twice, or a figure redrawn from the
    same table in any state of the process, gives the same bytes.
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
        freeze_layout(fig)
    written = []
    with plt.rc_context(RC):
        for fmt in formats:
            target = path.with_name(f"{path.name}.{fmt}")
            atomic_write(target, lambda tmp, fmt=fmt: fig.savefig(
                tmp, format=fmt, dpi=dpi, metadata=metadata.get(fmt)))
            written.append(target)
    return written


__all__ = ["PALETTE", "MARKERS", "RC", "style", "freeze_layout", "save"]
