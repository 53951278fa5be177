"""labkit.analysis.style: save() writes PNG and PDF, the same bytes for a figure redrawn from the
same table, because the layout is snapped to a grid and frozen."""

import numpy as np
import pytest
from matplotlib.transforms import Bbox

from labkit.analysis.plots import collapse_figure
from labkit.analysis.style import _snap_layout, freeze_layout, save
from test_plots import small_table  # tests/ is on sys.path (pytest's rootdir-relative import)


def test_save_writes_png_and_pdf_and_is_byte_stable(tmp_path):
    df = small_table()
    written = save(collapse_figure(df), tmp_path / "fig" / "collapse")
    assert [p.name for p in written] == ["collapse.png", "collapse.pdf"]
    first = [p.read_bytes() for p in written]
    assert first[0].startswith(b"\x89PNG") and first[1].startswith(b"%PDF")
    save(collapse_figure(df), tmp_path / "fig" / "collapse")  # redrawn from the same table
    assert [p.read_bytes() for p in written] == first
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == ["collapse.pdf", "collapse.png"]


def laid_out_positions(fig) -> np.ndarray:
    return np.concatenate([ax.get_position(original=True).get_points().ravel() for ax in fig.axes]
                          + [sub.bbox_relative.get_points().ravel() for sub in fig.subfigs])


def test_freeze_layout_snaps_to_the_grid_without_moving_anything_visibly():
    engine = collapse_figure(small_table())
    engine.draw_without_rendering()
    frozen = freeze_layout(collapse_figure(small_table()))
    snapped = laid_out_positions(frozen)
    frozen.draw_without_rendering()
    assert np.array_equal(laid_out_positions(frozen), snapped)  # frozen: a draw moves nothing
    assert np.array_equal(snapped * 2**20, np.round(snapped * 2**20))  # exact binary fractions
    assert np.abs(snapped - laid_out_positions(engine)).max() <= 2.0**-21 + 1e-15  # < 1e-6 of the figure
    assert len({tuple(ax.get_position().bounds) for ax in frozen.axes}) == len(frozen.axes)


def test_a_layout_a_last_bit_apart_is_snapped_to_the_same_numbers():
    # The solver's answer can move by an ulp with the process's memory state (seen as a
    # one-byte PDF difference); snapping must map both answers to the same positions.
    figs = [collapse_figure(small_table()) for _ in range(2)]
    for fig in figs:
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
    for ax in figs[1].axes:
        points = ax.get_position(original=True).get_points()
        ax.set_position(Bbox(np.nextafter(points, np.inf)), which="both")
    for sub in figs[1].subfigs:
        sub.bbox_relative.set_points(np.nextafter(sub.bbox_relative.get_points(), -np.inf))
    before = [laid_out_positions(fig) for fig in figs]
    assert not np.array_equal(*before)
    after = [laid_out_positions(_snap_layout(fig)) for fig in figs]
    assert np.array_equal(*after)


def test_save_refuses_a_path_with_a_suffix(tmp_path):
    with pytest.raises(ValueError, match="without a suffix"):
        save(collapse_figure(small_table()), tmp_path / "collapse.png")
