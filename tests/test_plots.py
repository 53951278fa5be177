"""labkit.analysis.plots: the collapse figure draws one labelled panel per metric; save() writes both files."""

import numpy as np
import pandas as pd
import pytest

from labkit import METRIC_NAMES
from matplotlib.transforms import Bbox

from labkit.analysis.plots import (COLLAPSE_PANELS, METRIC_LABELS, _snap_layout, collapse_figure, freeze_layout,
                          save, split_label)


def small_table(conditions=("ai_and_drift", "neither"), seeds=3, rounds=5) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"condition": c, "seed": s, "round": r, **{m: rng.normal() for m in METRIC_NAMES}}
            for c in conditions for s in range(seeds) for r in range(rounds)]
    return pd.DataFrame(rows)


def metric_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() != "legend"]


def test_every_metric_has_a_label_with_units():
    assert set(METRIC_LABELS) == set(METRIC_NAMES)
    for metric in METRIC_NAMES:
        name, units = split_label(metric)
        assert name and units, f"{metric}: label {METRIC_LABELS[metric]!r} lacks units"


def test_collapse_figure_has_one_labelled_axis_per_default_metric():
    fig = collapse_figure(small_table())
    wanted = [m for names in COLLAPSE_PANELS.values() for m in names]
    axes = metric_axes(fig)
    assert [ax.get_label() for ax in axes] == wanted
    for ax, metric in zip(axes, wanted):
        assert ax.get_xlabel() == "round"
        assert f"{ax.get_title()} ({ax.get_ylabel()})" == METRIC_LABELS[metric]
    titles = [sub.get_suptitle() for sub in fig.subfigs]
    assert titles == ["diversity", "dashboard"]


def test_collapse_figure_has_one_shared_legend_naming_the_conditions():
    fig = collapse_figure(small_table(conditions=("a", "b", "c")))
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + fig.legends
    assert len(legends) == 1
    assert [t.get_text() for t in legends[0].get_texts()] == ["a", "b", "c"]
    assert legends[0].get_title().get_text() == "condition"


def test_collapse_figure_takes_a_plain_list_and_another_hue():
    df = small_table().rename(columns={"condition": "policy"})
    fig = collapse_figure(df, metrics=["ctr", "coverage", "novelty"], hue="policy")
    assert [ax.get_label() for ax in metric_axes(fig)] == ["ctr", "coverage", "novelty"]
    assert len(fig.legends) == 1  # no free slot in a full row: the legend goes below


def test_collapse_figure_names_missing_columns():
    with pytest.raises(KeyError, match="no_such_metric"):
        collapse_figure(small_table(), metrics=["no_such_metric"])


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
