"""Reproduction ``degenerate``: degenerate feedback loops and their two remedies.

Jiang, Chiappa, Lattimore, Gyorgy & Kohli, AIES 2019: under a greedy loop with drifting
users (:func:`labkit.simulate_grid` over ``epsilon`` of ``epsilon_greedy``), users'
interest concentrates (``user_taste_entropy`` falls); random exploration and a growing
candidate pool slow that degeneracy.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from labkit.reproduce.common import Paper, Reproduction, _claim, _figure, _finite_metrics, _paired, _verdict
from labkit.sim import loop
from labkit.sim.config import Config, ConfigError, params_grid

NAME = "degenerate"
CITATION = ("Jiang, Chiappa, Lattimore, Gyorgy & Kohli, \"Degenerate feedback loops in "
            "recommender systems\", AIES 2019")
# This reproduction has no settings besides its labkit levers.
SETUP: dict = {}


def run_degenerate(spec: Reproduction, workers: int = 2) -> pd.DataFrame:
    """Run every pool condition over the epsilon grid; one row per (condition, epsilon, seed, round).

    Each condition is one compiled :func:`labkit.simulate_grid` call over the study's
    ``grid`` (``epsilon``) and seeds. Columns: the round metrics of users' interest
    (``user_taste_entropy``, ``preference_drift``), of consumption and the dashboard.
    """
    exp = spec.experiment
    if "epsilon" not in exp.grid:
        raise ConfigError("degenerate: the study's grid must vary `epsilon`")
    keep = ("user_taste_entropy", "preference_drift", "consumption_topic_entropy", "ctr", "true_utility",
            "alive_items")

    def one(config: Config):
        params, points = params_grid(config, {"epsilon": exp.grid["epsilon"]})
        return points, _finite_metrics(loop.simulate_grid(config, params, exp.seeds)[1], exp.seeds)

    # Each pool is its own compiled program; compiling two at a time uses both cores.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(one, exp.conditions.values()))
    frames = []
    for (name, config), (points, metrics) in zip(exp.conditions.items(), runs):
        n_points, n_seeds, n_rounds = metrics[keep[0]].shape
        frame = pd.DataFrame({
            "condition": name,
            "new_items": config.new_items,
            "epsilon": np.repeat([p["epsilon"] for p in points], n_seeds * n_rounds),
            "seed": np.tile(np.repeat(np.asarray(exp.seeds), n_rounds), n_points),
            "round": np.tile(np.arange(n_rounds), n_points * n_seeds),
        })
        for metric in keep:
            frame[metric] = metrics[metric].reshape(-1).astype(np.float64)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# Where the window of :func:`degeneracy_speed` starts.
SPEED_STARTS = ("first", "peak")


def degeneracy_speed(table: pd.DataFrame, metric: str = "user_taste_entropy", start: str = "peak") -> pd.DataFrame:
    """Speed of degeneracy per (condition, epsilon, seed): how fast users' interest
    concentrates, the least-squares slope of ``-metric`` against round (nats per round
    for taste entropy; > 0 means degenerating).

    ``start`` picks the rounds the slope is fitted over:

    * ``"first"``: every round (the form before labkit's fix of Jiang's claim at low drift;
      kept as an option). Users' taste entropy first *rises* (tastes move from their
      Dirichlet draw toward the mix of topics of the items consumed) for about
      ``0.5 / drift`` rounds before the greedy loop concentrates it, so at low drift a run
      of a few tens of rounds is mostly that transient and its slope says nothing of the
      degeneracy (see ``docs/degenerate-drift.md``);
    * ``"peak"`` (the default): from the round where the greedy arm's mean (over seeds) ``metric`` peaks
      (the smallest epsilon; the latest such round over the conditions) to the end: one
      window for every condition and epsilon, so that they stay paired, without the transient.
    """
    if start not in SPEED_STARTS:
        raise ValueError(f"degeneracy_speed: start = {start!r}; allowed: {', '.join(SPEED_STARTS)}")
    if start == "peak":
        table = table[table["round"] >= speed_window_start(table, metric)]

    def slope(group: pd.DataFrame) -> float:
        return -float(np.polyfit(group["round"], group[metric], 1)[0])

    speed = table.groupby(["condition", "epsilon", "seed"]).apply(slope, include_groups=False)
    return speed.rename("speed").reset_index()


def speed_window_start(table: pd.DataFrame, metric: str = "user_taste_entropy") -> int:
    """The first round of :func:`degeneracy_speed`'s ``"peak"`` window: where the greedy arm's
    (smallest epsilon's) mean ``metric`` peaks, the latest over the conditions; at most the
    second-to-last round, so the window holds two rounds at least."""
    greedy = table[table["epsilon"] == table["epsilon"].min()]
    mean = greedy.groupby(["condition", "round"])[metric].mean().unstack("condition")
    return int(min(mean.idxmax().max(), table["round"].max() - 1))


def check_degenerate(table: pd.DataFrame, z: float = 2.0, fixed: str = "fixed_pool",
                     growing: str = "growing_pool", start: str = "peak") -> dict:
    """Does labkit show Jiang et al.'s degenerate feedback loop and its two remedies?

    On the degeneracy speed (:func:`degeneracy_speed`), seeds paired:

    1. the greedy loop (smallest epsilon, ``fixed`` pool) degenerates: speed > ``z`` SE above 0;
    2. random exploration slows it: across the epsilon grid the speed never rises
       significantly (each step's mean change < ``z`` SE) and the largest epsilon is
       slower than the smallest by more than ``z`` SE;
    3. a growing candidate pool slows it: at the smallest epsilon, ``growing`` is slower
       than ``fixed`` by more than ``z`` SE.

    ``start``: the window of the speed (:func:`degeneracy_speed`); ``"peak"`` (the
    default) leaves out the early rise of taste entropy, which at low drift fills a short
    run; ``"first"`` (every round) is the earlier form, kept as an option.
    """
    speed = degeneracy_speed(table, start=start)
    claims = []
    fixed_speed = speed[speed["condition"] == fixed].pivot(index="seed", columns="epsilon", values="speed")
    eps = sorted(fixed_speed.columns)
    if eps:
        mean, se = _paired(fixed_speed[eps[0]])
        claims.append(_claim("greedy loop: users' interest degenerates",
                             {"speed (nats/round)": round(mean, 5), "SE": round(se, 5), "epsilon": eps[0]},
                             "> 0", f"mean - {z:g} SE > 0", mean - z * se > 0))
        steps = []
        for a, b in zip(eps, eps[1:]):
            m, s = _paired(fixed_speed[b] - fixed_speed[a])
            steps.append((a, b, m, s))
        total, total_se = _paired(fixed_speed[eps[-1]] - fixed_speed[eps[0]])
        claims.append(_claim(
            "more random exploration, slower degeneracy",
            {"speed by epsilon": {float(e): round(float(fixed_speed[e].mean()), 5) for e in eps},
             "largest step up (mean, SE)": max(((round(m, 5), round(s, 5)) for *_, m, s in steps),
                                               default=None)},
            "decreasing in epsilon", f"no step up by > {z:g} SE; overall drop > {z:g} SE",
            len(eps) > 1 and all(m < z * s for *_, m, s in steps) and total + z * total_se < 0))
    grow = speed[speed["condition"] == growing].pivot(index="seed", columns="epsilon", values="speed")
    if eps and len(grow) and eps[0] in grow.columns:
        diff = grow[eps[0]] - fixed_speed[eps[0]].reindex(grow.index)
        mean, se = _paired(diff)
        claims.append(_claim("a growing candidate pool slows degeneracy",
                             {"speed fixed": round(float(fixed_speed[eps[0]].mean()), 5),
                              "speed growing": round(float(grow[eps[0]].mean()), 5),
                              "difference (SE)": [round(mean, 5), round(se, 5)]},
                             "growing < fixed", f"mean + {z:g} SE < 0", mean + z * se < 0))
    return _verdict(NAME, CITATION, claims)


def figure_degenerate(table: pd.DataFrame):
    """(a) users' taste entropy over rounds by epsilon; (b) degeneracy speed against epsilon."""
    import seaborn as sns

    from labkit.analysis.style import style

    with style():
        fig, (a, b) = _figure(2, width=3.0, height=2.3)
        conditions = list(pd.unique(table["condition"]))
        first = table[table["condition"] == conditions[0]]
        sns.lineplot(data=first, x="round", y="user_taste_entropy", hue="epsilon", errorbar=None, ax=a,
                     palette="viridis")
        a.set(title=f"interest concentrates ({conditions[0]})", ylabel="users' taste entropy (nats)")
        speed = degeneracy_speed(table)
        sns.pointplot(data=speed, x="epsilon", y="speed", hue="condition", errorbar=("se", 2), ax=b,
                      dodge=0.2, markersize=3, linewidth=1)
        b.axhline(0, color="k", lw=0.6)
        b.set(title="degeneracy speed (published: falls with epsilon)",
              ylabel="entropy lost per round (nats)", xlabel="epsilon")
    return fig


PAPER = Paper(NAME, CITATION, SETUP, run_degenerate, check_degenerate, figure_degenerate)
