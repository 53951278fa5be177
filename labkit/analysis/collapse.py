"""Reading study 01: how two conditions of a collapse study move from the first round to the last.

01_collapse compares a treatment (``ai_and_drift``) with a reference (``neither``) round
by round. :func:`round_ends` tabulates each metric's first and last round,
:func:`catalog_full_round` says when new items start replacing the oldest (where the
item-level panels shift in both conditions), and :func:`collapse_checks` writes, per
metric, the last-round gap between the conditions and whether their seeds separate.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from labkit.analysis.labels import metric_label


def round_ends(table: pd.DataFrame, metrics: Sequence[str], by: str = "condition") -> pd.DataFrame:
    """Each metric's mean over seeds in the first and the last round, per condition, and its change.

    ``table``: one row per condition, seed and round; ``metrics``: the rows of the
    result, in this order; ``by``: the column naming a condition. Returns one row per
    (metric, condition) with columns ``first``, ``last``, ``change`` and ``change %``
    (relative to the first round; NaN where that is 0).
    """
    first_round, last_round = table["round"].min(), table["round"].max()
    ends = (table[table["round"].isin([first_round, last_round])]
            .assign(when=lambda d: d["round"].map({first_round: "first", last_round: "last"}))
            .groupby([by, "when"])[list(metrics)].mean())
    order = {m: i for i, m in enumerate(metrics)}
    out = ends.stack().unstack("when").swaplevel().sort_index(
        level=0, key=lambda idx: idx.map(order), sort_remaining=False)
    out.index.names = ["metric", by]
    out["change"] = out["last"] - out["first"]
    out["change %"] = 100 * out["change"] / out["first"].abs().where(lambda v: v > 0)
    return out


def catalog_full_round(table: pd.DataFrame, n_items: int) -> int | None:
    """The first round at which the catalog (``n_items`` slots) is full on average over runs, or None."""
    alive = table.groupby("round")["alive_items"].mean()
    full = alive.index[alive >= n_items]
    return int(full.min()) if len(full) else None


def collapse_checks(table: pd.DataFrame, panels: Mapping[str, Sequence[str]], treatment: str = "ai_and_drift",
                    reference: str = "neither", by: str = "condition") -> list[str]:
    """Lines that check the reading of the collapse figure against the last round.

    ``panels``: {group: metrics}; a group named ``diversity`` is read as diversity (a
    collapse lowers it, except ``homogenization``, which a collapse raises), any other as
    the dashboard (``initial_utility`` is read as what users' first tastes make of their clicks).
    ``treatment``, ``reference``: the values of ``by`` compared. Per metric:
    the two means, the gap relative to the reference, whether the seeds separate (every
    treatment seed on one side of every reference seed) and a verdict.
    """
    last = table[table["round"] == table["round"].max()]
    lines = []
    for group, names in panels.items():
        lines.append(f"{group}:")
        for m in names:
            ai = last.loc[last[by] == treatment, m]
            ref = last.loc[last[by] == reference, m]
            gap = ai.mean() - ref.mean()
            rel = 100 * gap / abs(ref.mean()) if ref.mean() else float("nan")
            separated = ai.max() < ref.min() or ai.min() > ref.max()
            if group == "diversity":
                worse = gap * (1 if m == "homogenization" else -1) > 0  # the direction of a collapse
                verdict = (f"collapses relative to {reference}" if worse and separated
                           else "lower diversity on average, seeds overlap" if worse else "no collapse")
            elif m == "initial_utility":  # not on a dashboard: the clicks judged by the tastes users came with
                verdict = (f"{'higher' if gap > 0 else 'lower'} than {reference} under the tastes users started "
                           f"with")
            else:
                verdict = (f"rises above {reference}" if rel > 5 else f"holds (within 5% of {reference})"
                           if rel >= -5 else f"drops more than 5% below {reference}: the dashboard would warn")
            lines.append(f"  {metric_label(m):40s} {treatment} {ai.mean():.3g} vs {reference} {ref.mean():.3g} "
                         f"({rel:+.1f}%, seeds {'separate' if separated else 'overlap'}) -> {verdict}")
    return lines


__all__ = ["round_ends", "catalog_full_round", "collapse_checks"]
