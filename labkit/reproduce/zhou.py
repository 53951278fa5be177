"""Reproduction ``source_bias``: source bias escalates in the feedback loop, and a constraint holds parity.

Zhou, Dai, Pang, Wang, Dong, Xu & Wen, SIGIR 2025: recommenders rank AI-generated items
above human-made ones; in a loop of recommendation, simulated clicks and retraining, the
AI-generated share of what is recommended grows past its share of the candidates; their
debiasing keeps the two sources in balance. Here labkit's own loop (:func:`labkit.simulate_seeds`)
runs a world whose GenAI adds part of each round's items, without and with the constraint
``source_parity = "slate"`` (:func:`labkit.sim.policies.source_parity`), and the check compares,
round by round, the synthetic share of exposure with the synthetic share of the live catalog.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from labkit.reproduce.common import Paper, Reproduction, _claim, _figure, _finite_metrics, _paired, _verdict
from labkit.sim import loop
from labkit.sim.config import ConfigError

NAME = "source_bias"
CITATION = ("Zhou, Dai, Pang, Wang, Dong, Xu & Wen, \"Exploring the escalation of source bias in user, data, "
            "and recommender system feedback loop\", SIGIR 2025")
# This reproduction has no settings besides its labkit levers.
SETUP: dict = {}
# The round metrics the table keeps.
KEEP = ("synthetic_exposure_share", "synthetic_catalog_share", "ctr", "true_utility")


def run_source_bias(spec: Reproduction, workers: int = 2) -> pd.DataFrame:
    """Run every condition of the study; one row per (condition, seed, round).

    The study needs a condition ``biased`` (no constraint) and one ``parity``
    (``source_parity: slate``); each is one compiled :func:`labkit.simulate_seeds` call.
    Columns: the round's synthetic share of exposure and of the live catalog, their
    difference ``gap``, CTR and true utility, and the world's ``n_users`` and ``slate_size``
    (the check's rounding bound reads them).
    """
    exp = spec.experiment
    for name, parity in (("biased", "off"), ("parity", "slate")):
        if name not in exp.conditions or exp.conditions[name].source_parity != parity:
            raise ConfigError(f"source_bias: the study needs a condition {name!r} with source_parity: {parity}")

    def one(config):
        return _finite_metrics(loop.simulate_seeds(config, exp.seeds)[1], exp.seeds)

    # Each condition is its own compiled program; compiling two at a time uses both cores.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(one, exp.conditions.values()))
    frames = []
    for name, metrics in zip(exp.conditions, runs):
        n_seeds, n_rounds = metrics[KEEP[0]].shape
        frame = pd.DataFrame({"condition": name, "seed": np.repeat(np.asarray(exp.seeds), n_rounds),
                              "round": np.tile(np.arange(n_rounds), n_seeds),
                              "n_users": exp.config.n_users, "slate_size": exp.config.slate_size})
        for metric in KEEP:
            frame[metric] = metrics[metric].reshape(-1).astype(np.float64)
        frame["gap"] = frame["synthetic_exposure_share"] - frame["synthetic_catalog_share"]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _per_seed(frame: pd.DataFrame, column: str, rounds=None) -> pd.Series:
    """Mean of ``column`` per seed over ``rounds`` (a boolean mask of rows; None: every round)."""
    return (frame if rounds is None else frame[rounds]).groupby("seed")[column].mean()


def _slope(frame: pd.DataFrame, column: str) -> pd.Series:
    """Least-squares slope of ``column`` against round, per seed."""
    return frame.groupby("seed").apply(lambda g: float(np.polyfit(g["round"], g[column], 1)[0]),
                                       include_groups=False)


def check_source_bias(table: pd.DataFrame, z: float = 2.0) -> dict:
    """Does labkit's loop show Zhou et al.'s escalating source bias, and does the constraint hold parity?

    Over seeds (each condition runs the same seeds), rounds after the first (round 0 shows
    the human start-up catalog):

    1. the AI-generated items take more exposure than their share of the catalog: the mean
       ``gap`` (exposure share - catalog share) more than ``z`` SE above 0;
    2. their share of exposure grows over the loop: its least-squares slope against round
       more than ``z`` SE above 0;
    3. the over-exposure escalates: the mean gap of the last third of the rounds exceeds
       that of the first third by more than ``z`` SE (seeds paired);
    4. under ``parity`` the exposure share equals the catalog share in every round and seed,
       within the rounding of ``k q`` to whole items per user: ``(1 + log n) / (n k)`` for
       ``n`` users and slates of ``k`` (the golden-ratio sequence's discrepancy);
    5. what parity costs in CTR (parity - biased, mean over rounds, seeds paired): measured,
       not a published number (not testable).
    """
    claims = []
    late = table["round"] >= 1
    biased, parity = (table[table["condition"] == c] for c in ("biased", "parity"))
    if len(biased):
        gap = _per_seed(biased, "gap", late[biased.index])
        mean, se = _paired(gap)
        claims.append(_claim("AI-generated items get more exposure than their catalog share",
                             {"exposure - catalog share": round(mean, 4), "SE": round(se, 4),
                              "exposure share": round(float(_per_seed(biased, "synthetic_exposure_share").mean()), 4),
                              "catalog share": round(float(_per_seed(biased, "synthetic_catalog_share").mean()), 4)},
                             "> 0", f"mean - {z:g} SE > 0", mean - z * se > 0))
        mean, se = _paired(_slope(biased, "synthetic_exposure_share"))
        claims.append(_claim("the AI-generated share of exposure grows over the loop",
                             {"slope (share/round)": round(mean, 5), "SE": round(se, 5)}, "> 0",
                             f"mean - {z:g} SE > 0", mean - z * se > 0))
        rounds = int(biased["round"].max()) + 1
        third = max(rounds // 3, 1)
        first = _per_seed(biased, "gap", (biased["round"] >= 1) & (biased["round"] < 1 + third))
        last = _per_seed(biased, "gap", biased["round"] >= rounds - third)
        mean, se = _paired(last - first)
        claims.append(_claim("the over-exposure escalates (last third's gap above the first third's)",
                             {"gap, first third": round(float(first.mean()), 4),
                              "gap, last third": round(float(last.mean()), 4),
                              "difference (SE)": [round(mean, 4), round(se, 4)]},
                             "> 0", f"mean - {z:g} SE > 0", mean - z * se > 0))
    if len(parity):
        n, k = int(parity["n_users"].iloc[0]), int(parity["slate_size"].iloc[0])
        worst = float(parity["gap"].abs().max())
        bound = (1 + math.log(n)) / (n * k)
        claims.append(_claim("the constraint holds exposure at the catalog share (parity)",
                             {"largest |exposure - catalog share|": round(worst, 5),
                              "mean gap": round(float(parity["gap"].mean()), 5)},
                             "0 (balance)", f"|gap| <= (1 + log n)/(n k) = {bound:.4f}", worst <= bound))
    if len(biased) and len(parity):
        diff = _per_seed(parity, "ctr") - _per_seed(biased, "ctr")
        mean, se = _paired(diff.dropna())
        claims.append(_claim("what parity costs in CTR",
                             {"CTR biased": round(float(_per_seed(biased, "ctr").mean()), 4),
                              "CTR parity": round(float(_per_seed(parity, "ctr").mean()), 4),
                              "parity - biased (SE)": [round(mean, 4), round(se, 4)]},
                             "not reported", "measured only", None))
    return _verdict(NAME, CITATION, claims)


def figure_source_bias(table: pd.DataFrame):
    """(a) synthetic share of exposure and of the catalog over rounds, by condition; (b) CTR."""
    import seaborn as sns

    from labkit.analysis.style import style

    with style():
        fig, (a, b) = _figure(2, width=3.0, height=2.3)
        long = table.melt(id_vars=["condition", "seed", "round"],
                          value_vars=["synthetic_exposure_share", "synthetic_catalog_share"],
                          var_name="share of", value_name="synthetic share")
        long["share of"] = long["share of"].map({"synthetic_exposure_share": "exposure",
                                                 "synthetic_catalog_share": "catalog"})
        sns.lineplot(data=long, x="round", y="synthetic share", hue="condition", style="share of",
                     errorbar=("se", 2), ax=a)
        a.set(title="source bias (published: exposure\ngrows past the catalog share)", xlabel="round")
        a.legend(frameon=False, fontsize=6)
        sns.lineplot(data=table, x="round", y="ctr", hue="condition", errorbar=("se", 2), ax=b)
        b.set(title="CTR: the cost of parity", ylabel="CTR (clicks per slate)", xlabel="round")
        b.legend(frameon=False, fontsize=6)
    return fig


PAPER = Paper(NAME, CITATION, SETUP, run_source_bias, check_source_bias, figure_source_bias)
