"""labkit.sim.measure: every metric declared once (name, label, function), and the loop reads them."""

import jax
import numpy as np

import labkit
from labkit.analysis.labels import METRIC_LABELS, split_label
from labkit.sim import measure
from labkit.sim.config import Config


def test_names_labels_and_the_public_list_come_from_one_declaration():
    assert labkit.METRIC_NAMES == tuple(measure.METRICS) == measure.METRIC_NAMES
    assert METRIC_LABELS == {name: m.label for name, m in measure.METRICS.items()}
    for name in measure.METRIC_NAMES:
        title, units = split_label(name)
        assert title and units, f"{name}: the label needs a name and (units)"


def test_a_new_metric_is_one_entry_and_reaches_the_loop_output(monkeypatch):
    extra = measure.Metric("slate_items_alive", "slate items alive (share)",
                           lambda r: r.catalog.alive[r.slate].mean())
    monkeypatch.setitem(measure.METRICS, extra.name, extra)
    # a world no other test compiles, so this trace sees the new entry
    config = Config.from_dict(n_users=7, n_items=13, initial_items=11, new_items=2, slate_size=3, rounds=2,
                              n_topics=3, n_creators=2, n_pairs=3)
    _, metrics = labkit.simulate(config, jax.random.key(0))
    assert set(metrics) >= set(measure.METRICS)
    np.testing.assert_array_equal(np.asarray(metrics["slate_items_alive"]), 1.0)  # slates hold live items
