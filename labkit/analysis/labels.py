"""Human labels, with units or meaning, of metrics and levers: one place for figures and tables."""

from __future__ import annotations

from labkit.sim.config import LEVERS
from labkit.sim.measure import METRICS

# Each metric's label, with units, from its declaration (labkit.sim.measure.METRICS).
METRIC_LABELS: dict[str, str] = {name: metric.label for name, metric in METRICS.items()}
# The creators' metrics, read from a run's state (labkit.sim.world.creator_metrics), not per
# round: labelled apart, so METRIC_LABELS stays the loop's metrics exactly.
CREATOR_METRIC_LABELS: dict[str, str] = {
    "active_creators": "active creators (count)",
    "creator_exposure_gini": "creator exposure Gini (0 equal, 1 one creator)",
    "long_tail_creator_share": "long-tail creators' exposure (share of impressions)",
    "creator_exits_per_round": "creator exits (per round, running mean)",
    "creator_topic_entropy": "creator topic entropy (nats, over dominant topics)",
}

# Each lever's axis label, from its declaration (labkit.sim.levers.Lever.label).
LEVER_LABELS: dict[str, str] = {name: lever.label for name, lever in LEVERS.items() if lever.label}


def metric_label(metric: str) -> str:
    """The human label (with units) of a metric; the column name itself if unknown."""
    return METRIC_LABELS.get(metric) or CREATOR_METRIC_LABELS.get(metric, metric.replace("_", " "))


def split_label(metric: str) -> tuple[str, str]:
    """A metric's label as (name, units): ``"CTR (clicks per slate)"`` gives
    ``("CTR", "clicks per slate")``. Panels show the name as title, the units on the y axis."""
    label = metric_label(metric)
    name, sep, units = label.partition(" (")
    return (name, units[:-1]) if sep and units.endswith(")") else (label, "")


def lever_label(lever: str, wrap: bool = False) -> str:
    """The axis label of a lever (:data:`LEVER_LABELS`), or its name if unknown; with
    ``wrap``, the meaning in parentheses goes on a second line (narrow panels)."""
    label = LEVER_LABELS.get(lever, lever.replace("_", " "))
    return label.replace(" (", "\n(", 1) if wrap else label
