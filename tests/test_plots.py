"""labkit.plots: the collapse figure draws one labelled panel per metric; save() writes both files."""

import numpy as np
import pandas as pd
import pytest

from labkit import METRIC_NAMES
from labkit.plots import COLLAPSE_PANELS, METRIC_LABELS, collapse_figure, save, split_label


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


def test_save_refuses_a_path_with_a_suffix(tmp_path):
    with pytest.raises(ValueError, match="without a suffix"):
        save(collapse_figure(small_table()), tmp_path / "collapse.png")
