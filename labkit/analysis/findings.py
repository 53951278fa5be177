"""What the write-up finds: every number it states, computed from the studies' tables as a claim.

    f = findings("results")          # Findings: claims, headline rows, key sentences
    numbers_json(f)                  # every claim with its source, for numbers.json

No number of the report is typed in: each is a :class:`Claim` computed here from a study's
result table (``results/NN_name/metrics.parquet``), and the sentences and the headline
table rows are built from the claims. An effect is a paired difference over seeds of
late-round means (:func:`labkit.analysis.tables.late_means`,
:func:`labkit.analysis.stats.paired_differences`) with a 95% Student-t interval; the cost
in clicks of each nat of entropy kept is :func:`labkit.analysis.tables.cost_per_nat`,
priced only where the entropy gain is clear (:func:`labkit.analysis.tables.priced_costs`,
which 06_tradeoffs shows too). How the findings are written out is
:mod:`labkit.analysis.writeup`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from labkit.analysis import stats, tables
from labkit.experiments.study import setting_label

LEVEL = 95
DIGITS = 3  # decimals of every number in the report


# --------------------------------------------------------------------------- claims

@dataclass
class Claim:
    """One number the report states, with everything needed to recompute it.

    ``kind``: ``difference`` (mean over seeds of treatment minus baseline, paired by
    seed, of late-round means of ``metric``; ``low``/``high`` its t interval),
    ``level`` (mean over seeds of the treatment's late-round mean, with its interval) or
    ``cost_per_nat`` (CTR given up per nat of ``metric`` kept, against the baseline;
    bootstrap interval). ``table``: the result table, relative to the results folder;
    ``treatment``/``baseline``: column values selecting their rows; ``late_rounds``:
    the rounds averaged (inclusive); ``text``: how the number is written in the report.
    """

    id: str
    kind: str
    table: str
    metric: str
    treatment: dict[str, Any]
    baseline: dict[str, Any] | None
    late_rounds: list[int]
    seeds: list[int]
    mean: float
    low: float
    high: float
    text: str
    engagement: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _select(frame: pd.DataFrame, where: Mapping[str, Any]) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    rows = frame[mask]
    if rows.empty:
        raise ValueError(f"no rows where {dict(where)}")
    return rows


def _per_seed(table: pd.DataFrame, last: int) -> pd.DataFrame:
    return tables.late_means(table, last)


def difference(table: pd.DataFrame, table_name: str, claim_id: str, metric: str, treatment: Mapping[str, Any],
               baseline: Mapping[str, Any], last: int) -> Claim:
    """A ``difference`` claim: treatment minus baseline, paired by seed, late-round means."""
    per_seed = _per_seed(table, last)
    rows = pd.concat([_select(per_seed, treatment), _select(per_seed, baseline)])
    diffs = stats.paired_differences(rows, baseline, [metric])
    mean, low, high = stats.mean_ci(diffs[metric], LEVEL)
    return Claim(claim_id, "difference", table_name, metric, dict(treatment), dict(baseline),
                 per_seed.attrs["late_rounds"], sorted(int(s) for s in diffs["seed"]), mean, low, high,
                 tables.ci_text(mean, low, high, DIGITS, signed=True))


def level(table: pd.DataFrame, table_name: str, claim_id: str, metric: str, treatment: Mapping[str, Any],
          last: int) -> Claim:
    """A ``level`` claim: the mean over seeds of the treatment's late-round mean."""
    late = _per_seed(table, last)
    per_seed = _select(late, treatment)
    mean, low, high = stats.mean_ci(per_seed[metric], LEVEL)
    return Claim(claim_id, "level", table_name, metric, dict(treatment), None,
                 late.attrs["late_rounds"], sorted(int(s) for s in per_seed["seed"]),
                 mean, low, high, tables.ci_text(mean, low, high, DIGITS))


def cost(table: pd.DataFrame, table_name: str, claim_id: str, treatment: Mapping[str, Any],
         baseline: Mapping[str, Any], last: int, diversity: str = "exposure_entropy",
         engagement: str = "ctr") -> Claim:
    """A ``cost_per_nat`` claim, read as 06_tradeoffs reads it (:func:`labkit.analysis.tables.priced_costs`).

    The cost is NaN when nothing is kept; when the gain in ``diversity`` is not clear
    (its interval not above zero), the price of a gain that may not exist is not written
    (the text says so; the value stays in numbers.json).
    """
    per_seed = _per_seed(table, last)
    rows = pd.concat([_select(per_seed, treatment), _select(per_seed, baseline)])
    row = tables.priced_costs(rows, baseline, list(treatment), diversity, engagement, LEVEL, DIGITS).iloc[0]
    return Claim(claim_id, "cost_per_nat", table_name, diversity, dict(treatment), dict(baseline),
                 per_seed.attrs["late_rounds"], sorted(int(s) for s in per_seed["seed"].unique()),
                 float(row["cost"]), float(row["cost_low"]), float(row["cost_high"]), row["text"],
                 engagement=engagement, extra={"kept": float(row["kept"]), "lost": float(row["lost"])})


# --------------------------------------------------------------------------- reading the results

def read_study(results: Path, folder: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A study's table and manifest; a clear error if the notebook has not run."""
    table_path, manifest_path = results / folder / "metrics.parquet", results / folder / "manifest.json"
    if not table_path.is_file():
        raise FileNotFoundError(f"{table_path} is missing: run the study notebooks first "
                                f"(labkit main, or --only {folder[:2]})")
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    return pd.read_parquet(table_path), manifest


MITIGATION_METRICS = ("exposure_entropy", "exposure_topic_entropy", "user_taste_entropy", "ctr")
COLLAPSE_METRICS = ("exposure_entropy", "exposure_topic_entropy", "user_taste_entropy", "ctr")


@dataclass
class Findings:
    """All claims, grouped the way the report uses them."""

    claims: dict[str, Claim]
    rows: list[dict[str, Any]]  # the headline table: label, study, {metric: claim id}, cost, front
    sentences: list[str]
    context: dict[str, Any]

    def add(self, claim: Claim) -> Claim:
        """Record ``claim`` under its id; returns it."""
        self.claims[claim.id] = claim
        return claim


def _word(claim: Claim, up: str, down: str, unclear: str) -> str:
    return {"up": up, "down": down, "unclear": unclear}[tables.direction(claim.low, claim.high)]


def findings(results: str | os.PathLike, last: int = tables.LATE_ROUNDS) -> Findings:
    """Compute every claim of the report from the tables under ``results``.

    ``results``: the folder holding each study's ``NN_name/metrics.parquet``;
    ``last``: rounds averaged at the end of each run (:func:`labkit.analysis.tables.late_window`).
    The studies are read in the order their claims are listed: 01, 06, 07, 04, 05.
    """
    results = Path(results)
    f = Findings({}, [], [], {"late_rounds_param": last})
    for study in (_collapse, _tradeoffs, _tuning, _data_separation, _capacity):
        study(results, last, f)
    return f


def _collapse(results: Path, last: int, f: Findings) -> None:
    """01: the collapse itself, GenAI + drift against neither."""
    table, manifest = read_study(results, "01_collapse")
    name = "01_collapse/metrics.parquet"
    treat, base = {"condition": "ai_and_drift"}, {"condition": "neither"}
    got = {m: f.add(difference(table, name, f"collapse.{m}", m, treat, base, last)) for m in COLLAPSE_METRICS}
    f.rows.append({"label": "GenAI + drift vs neither (greedy)", "study": "01",
                   "cells": {m: got[m].id for m in COLLAPSE_METRICS}})
    cond = manifest.get("conditions", {}).get("ai_and_drift", {})
    share, drift = cond.get("synthetic_share"), cond.get("drift")
    f.sentences.append(
        f"**Collapse (01).** With a share {share:g} of new items made by the GenAI and users drifting at "
        f"rate {drift:g}, the late-round exposure topic entropy of the greedy MF feed changes by "
        f"{got['exposure_topic_entropy'].text} nats and users' taste entropy by "
        f"{got['user_taste_entropy'].text} nats against a feed with neither "
        f"({_word(got['exposure_topic_entropy'], 'higher', 'lower', 'no clear change')} / "
        f"{_word(got['user_taste_entropy'], 'higher', 'lower', 'no clear change')}), while CTR changes by "
        f"{got['ctr'].text} clicks per slate: "
        + _word(got["ctr"], "the dashboard improves as diversity is lost.",
                "the dashboard would warn.", "the dashboard does not move.")
        if share is not None and drift is not None else
        f"**Collapse (01).** Exposure topic entropy {got['exposure_topic_entropy'].text} nats, CTR "
        f"{got['ctr'].text} clicks per slate against a feed with neither.")
    if "initial_utility" in table.columns:  # results of labkit before 0.1 lack it
        now, then = (f.add(difference(table, name, f"collapse.{m}", m, treat, base, last))
                     for m in ("true_utility", "initial_utility"))
        f.sentences[-1] += (
            f" What the nudge costs: utility per slate of what users clicked, read on the tastes they "
            f"hold at the end, changes by {now.text} against the feed with neither "
            f"({_word(now, 'higher', 'lower', 'no clear change')}); read on the tastes they started with, by "
            f"{then.text} ({_word(then, 'higher', 'lower', 'no clear change')}). The first is what users asked today "
            f"would report; the second judges the same clicks by the tastes they came with, so where the first "
            f"exceeds the second the difference is the nudge, not a better feed.")


def _tradeoffs(results: Path, last: int, f: Findings) -> None:
    """06: every mitigation against the greedy baseline, its cost per nat and the Pareto front."""
    table, manifest = read_study(results, "06_tradeoffs")
    name = "06_tradeoffs/metrics.parquet"
    arms = list(dict.fromkeys(table["arm"]))
    settings = {a["label"]: {k: v[0] for k, v in a.items() if k not in ("label", "where")}
                for a in manifest.get("arms", []) if "label" in a}
    baseline = {"arm": "none"}
    f.add(level(table, name, "tradeoffs.none.exposure_entropy", "exposure_entropy", baseline, last))
    f.add(level(table, name, "tradeoffs.none.ctr", "ctr", baseline, last))
    summary = tables.summarize(_per_seed(table, last), ["ctr", "exposure_entropy"], by=["arm"])
    front = dict(zip(summary["arm"], stats.pareto_front(summary["ctr"], summary["exposure_entropy"])))
    mitigations = []
    for arm in arms:
        if arm == "none":
            continue
        got = {m: f.add(difference(table, name, f"tradeoffs.{arm}.{m}", m, {"arm": arm}, baseline, last))
               for m in MITIGATION_METRICS}
        c = f.add(cost(table, name, f"tradeoffs.{arm}.cost_per_nat", {"arm": arm}, baseline, last))
        label = setting_label(arm, settings.get(arm, {}))
        f.rows.append({"label": label, "study": "06", "cells": {m: got[m].id for m in MITIGATION_METRICS},
                       "cost": c.id, "front": bool(front[arm])})
        mitigations.append((arm, label, got, c))
    on_front = [setting_label(a, settings.get(a, {})) for a in arms if front[a]]
    raised = [m for m in mitigations if tables.direction(m[2]["exposure_entropy"].low,
                                                          m[2]["exposure_entropy"].high) == "up"]
    costly = [m for m in mitigations if tables.direction(m[2]["ctr"].low, m[2]["ctr"].high) == "down"]
    best = max(mitigations, key=lambda m: m[2]["exposure_entropy"].mean)
    priced = [m for m in raised if not pd.isna(m[3].mean)]
    free = [m for m in priced if m[3].mean <= 0]  # entropy kept and, on average, no click lost
    paid = [m for m in priced if m[3].mean > 0]
    cheapest = min(paid, key=lambda m: m[3].mean) if paid else None
    f.sentences.append(
        f"**Mitigations (06).** Against the greedy feed under the same pressure (late-round exposure "
        f"entropy {f.claims['tradeoffs.none.exposure_entropy'].text} nats, CTR "
        f"{f.claims['tradeoffs.none.ctr'].text} clicks per slate), {len(raised)} of {len(mitigations)} "
        f"mitigations raise exposure entropy (CI above zero) and {len(costly)} of {len(mitigations)} lower CTR "
        f"(CI below zero). The largest gain "
        f"is {best[1]}: {best[2]['exposure_entropy'].text} nats, CTR {best[2]['ctr'].text}."
        + (" Entropy kept with no loss of CTR on average (cost per nat at or below zero): "
           + "; ".join(f"{m[1]} ({m[3].text} clicks per slate per nat, CTR {m[2]['ctr'].text})" for m in free)
           + "." if free else "")
        + (f" The cheapest nat of entropy that does cost clicks is kept by {cheapest[1]}, at {cheapest[3].text} "
           f"clicks per slate per nat." if cheapest else "")
        + f" On the Pareto front of CTR against exposure entropy: {', '.join(on_front)}.")


def _tuning(results: Path, last: int, f: Findings) -> None:
    """07: the mix tuned by gradient, on the exact loop, against 06's settings and grid."""
    table, manifest = read_study(results, "07_tuning")
    name = "07_tuning/metrics.parquet"
    entropy = f.add(level(table, name, "tuning.tuned.exposure_entropy", "exposure_entropy", {"arm": "tuned"}, last))
    ctr = f.add(level(table, name, "tuning.tuned.ctr", "ctr", {"arm": "tuned"}, last))
    tradeoffs, _ = read_study(results, "06_tradeoffs")
    summary = tables.summarize(_per_seed(tradeoffs, last), ["ctr", "exposure_entropy"], by=["arm"])
    beaten_by = stats.dominated_by(summary, ctr.mean, entropy.mean)
    levers = manifest.get("tuned_levers", {})
    worlds = manifest.get("worlds", {})
    grid = worlds.get("grid search (02-04, 06)")
    tuned = worlds.get("tuning (relaxed, with gradient)")
    floor = worlds.get("tuning (exact, CTR floor)", 0)
    f.context["tuning"] = {"beaten_by": beaten_by, "levers": levers, "worlds": worlds}
    f.sentences.append(
        f"**Tuned by gradient (07).** A mix tuned by the relaxed loop's gradient for late-round exposure entropy "
        f"under a CTR floor ({', '.join(f'{k} = {v:.3g}' for k, v in levers.items())}) reaches, on the exact "
        f"loop, exposure entropy {entropy.text} nats at CTR {ctr.text} clicks per slate: "
        + ("on the Pareto front of 06's settings (none has both more clicks and more entropy)"
           if not beaten_by else f"below the Pareto front of 06's settings (beaten by {', '.join(beaten_by)})")
        + (f". The tuning simulated {tuned} relaxed worlds (each with a backward pass) and {floor} exact ones for "
           f"its CTR floor, against the {grid} exact worlds of the grid search behind 06's plane "
           f"({(tuned + floor) / grid:.2f} of them in all, {tuned / grid:.2f} counting the relaxed ones alone)."
           if grid and tuned else "."))


def _data_separation(results: Path, last: int, f: Findings) -> None:
    """04: within each data strategy, the highest GenAI share against the lowest."""
    table, _ = read_study(results, "04_data_separation")
    name = "04_data_separation/metrics.parquet"
    shares = sorted(table["synthetic_share"].unique())
    low_share, high_share = float(shares[0]), float(shares[-1])
    sep = {}
    for arm in dict.fromkeys(table["arm"]):
        sep[arm] = {m: f.add(difference(table, name, f"data_separation.{arm}.share.{m}", m,
                                        {"arm": arm, "synthetic_share": high_share},
                                        {"arm": arm, "synthetic_share": low_share}, last))
                    for m in ("exposure_topic_entropy", "user_taste_entropy", "ctr")}
        f.rows.append({"label": f"{arm}: synthetic_share {high_share:g} vs {low_share:g}", "study": "04",
                       "cells": {m: sep[arm][m].id for m in ("exposure_topic_entropy", "user_taste_entropy", "ctr")}})
    f.sentences.append(
        f"**Data separation (04).** Raising the GenAI's share of new items from {low_share:g} to "
        f"{high_share:g} changes the exposure topic entropy of the accumulate-everything feed by "
        f"{sep['accumulate']['exposure_topic_entropy'].text} nats and users' taste entropy by "
        f"{sep['accumulate']['user_taste_entropy'].text}; "
        + "; ".join(f"under {arm}, by {sep[arm]['exposure_topic_entropy'].text} and "
                    f"{sep[arm]['user_taste_entropy'].text}" for arm in sep if arm != "accumulate") + ".")


def _capacity(results: Path, last: int, f: Findings) -> None:
    """05: the largest embedding dimension and step count against the smallest."""
    table, _ = read_study(results, "05_capacity")
    name = "05_capacity/metrics.parquet"
    cap = {}
    for lever in ("embedding_dim", "train_steps"):
        labels = [a for a in dict.fromkeys(table["arm"]) if a.startswith(f"{lever}=")]
        values = sorted(int(a.split("=")[1]) for a in labels)
        small, big = f"{lever}={values[0]}", f"{lever}={values[-1]}"
        cap[lever] = (values[0], values[-1], {
            m: f.add(difference(table, name, f"capacity.{lever}.{m}", m, {"arm": big}, {"arm": small}, last))
            for m in ("exposure_entropy", "exposure_topic_entropy", "user_taste_entropy", "ctr")})
        f.rows.append({"label": f"{big} vs {small}", "study": "05",
                       "cells": {m: cap[lever][2][m].id for m in cap[lever][2]}})
    (d0, d1, dim), (s0, s1, steps) = cap["embedding_dim"], cap["train_steps"]
    f.sentences.append(
        f"**Capacity (05).** Going from embedding dimension {d0} to {d1} changes late-round exposure entropy "
        f"by {dim['exposure_entropy'].text} nats "
        f"({_word(dim['exposure_entropy'], 'more diverse', 'less diverse', 'no clear change')}) and topic "
        f"entropy by {dim['exposure_topic_entropy'].text}; going from {s0} to {s1} optimizer steps per round "
        f"changes exposure entropy by {steps['exposure_entropy'].text} "
        f"({_word(steps['exposure_entropy'], 'more diverse', 'less diverse', 'no clear change')}) and topic "
        f"entropy by {steps['exposure_topic_entropy'].text}.")


# --------------------------------------------------------------------------- numbers.json

def _plain(value: Any) -> Any:
    """JSON-safe: NaN becomes null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def numbers_json(f: Findings) -> dict[str, Any]:
    """The claims as JSON: each with its table (relative to the results folder), the rows
    compared, the rounds and seeds averaged, its value, interval and text. NaN is null."""
    return _plain({"level": LEVEL, "late_rounds": f.context["late_rounds_param"],
                   "claims": [asdict(c) for c in f.claims.values()]})


__all__ = ["LEVEL", "DIGITS", "Claim", "Findings", "MITIGATION_METRICS", "COLLAPSE_METRICS", "difference",
           "level", "cost", "read_study", "findings", "numbers_json"]
