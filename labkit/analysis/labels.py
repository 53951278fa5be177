"""Human labels, with units or meaning, of metrics and levers: one place for figures and tables."""

from __future__ import annotations

from labkit.sim.config import LEVERS
from labkit.sim.loop import METRIC_NAMES

# A human label, with units, for every metric of labkit.sim.loop.METRIC_NAMES.
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

# Each lever's axis label, from its declaration (labkit.sim.levers.Lever.label).
LEVER_LABELS: dict[str, str] = {name: lever.label for name, lever in LEVERS.items() if lever.label}


def metric_label(metric: str) -> str:
    """The human label (with units) of a metric; the column name itself if unknown."""
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


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
