"""Reading study 08: the ecosystem around the feed: creators who react, a GenAI with a size,
the loop's cadence, agents acting for users and creators who draft with the GenAI.

08_ecosystem sweeps five parts of ``experiments/ecosystem.yaml`` (:func:`labkit.experiments.studies.run_study`):

* **creators' fate**: settings with fixed creators (the world of 02-06) and with creators
  who adapt, leave and enter (``creator_*`` levers of :mod:`labkit.sim.world`), each
  without the GenAI and under it (``synthetic_share``);
* **the GenAI's capacity**: ``generator_family`` (and ``generator_components``) at the
  study's GenAI share; a point of this part is one whose arm sets ``generator_family``;
* **the retraining cadence**: ``retrain_every`` (the recommender and the GenAI served as they
  were after every n-th round) at the same share; a point of this part sets ``retrain_every``;
* **agentic users**: ``agent_share`` (a share of user-rounds whose choice an AI agent makes by
  the recommender's score) against the GenAI's share, and under two mitigations; a point of
  this part sets ``agent_share``, read beside the fixed creators' points (no agents);
* **AI-assisted creators**: ``assisted_share`` (creators who blend the GenAI's samples into
  their items) against the GenAI's share, and under human-only retraining; a point of this
  part sets ``assisted_share``, read beside the fixed creators' points.

The creators' metrics (:data:`labkit.sim.world.CREATOR_METRICS`) are read from a run's
state, not from the per-round metrics of the sweep's table, so :func:`creator_rounds`
replays each point with reacting creators round by round and records them after every
round (:func:`creator_series`: the loop's own step from the same keys as
:func:`labkit.sim.loop.simulate_seeds`, one more compiled program per static combination;
it checks that the replay's loop metrics are the sweep's), and :func:`creators_at_end`
reads the fixed creators' from the final state of their runs. :func:`fate_tables`,
:func:`generator_tables`, :func:`cadence_tables`, :func:`agent_tables` and
:func:`assisted_tables` write the study's tables; :func:`fate_checks`, :func:`generator_checks`,
:func:`cadence_checks` and :func:`beside_checks` the lines that check the notebook's reading of them.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Sequence

import jax
import numpy as np
import pandas as pd

from labkit.analysis.tables import effect_lines, effects, late_means, summarize
from labkit.experiments.results import write_csv, write_table
from labkit.experiments.studies import StudyRun
from labkit.experiments.sweep import simulated_point, sweep_points
from labkit.sim import loop
from labkit.sim import world
from labkit.sim.config import Config, Static
from labkit.sim.prng import unrolled_threefry

CREATOR_METRICS: tuple[str, ...] = world.CREATOR_METRICS
SHARE = "synthetic_share"
GENERATOR = "generator_family"  # the lever whose arms make the capacity part
# What the GenAI's size could change: the topics shown and clicked, users' tastes, the synthetic
# share of what is shown, and the clicks.
GENERATOR_METRICS = ("exposure_topic_entropy", "consumption_topic_entropy", "user_taste_entropy",
                     "synthetic_exposure_share", "ctr")
CADENCE = "retrain_every"  # the lever whose arms make the cadence part
AGENTS = "agent_share"  # the lever whose arms make the agents' part
ASSISTED = "assisted_share"  # the lever whose arms make the AI-assisted creators' part
# What creators who draft with the GenAI could change: how much of what is shown is theirs, the
# topics shown and clicked, how varied a slate is, how alike feeds are, users' tastes and utility.
ASSISTED_METRICS = ("assisted_exposure_share", "exposure_topic_entropy", "consumption_topic_entropy",
                    "intra_list_diversity", "homogenization", "user_taste_entropy", "true_utility", "ctr")
# What agents acting for users could change: how much of the clicks and of the training data is
# theirs (and AI-influenced in all), how alike and how narrow consumption gets, users' tastes and
# utility, and the clicks.
AGENT_METRICS = ("agent_click_share", "agent_training_share", "training_ai_share", "homogenization",
                 "consumption_entropy", "user_taste_entropy", "true_utility", "ctr")
# What a slower cadence could change: what the feed shows (items, topics), how alike users' feeds
# are, users' tastes, and the clicks.
CADENCE_METRICS = ("exposure_entropy", "exposure_topic_entropy", "homogenization", "user_taste_entropy", "ctr")
# What the creators' settings are also read on: what the feed shows, and the clicks.
FATE_LOOP_METRICS = ("exposure_entropy", "exposure_topic_entropy", "user_taste_entropy", "ctr")
# How close the replay's loop metrics must be to the sweep's (the same program but for its outputs).
REPLAY_TOLERANCE = 1e-4


@partial(jax.jit, static_argnums=0)
def _replay(static: Static, params, keys):
    def run(key):
        k_init, k_rounds = jax.random.split(key)  # as labkit.sim.loop._run splits a seed's key

        def body(state, k):
            state, metrics = loop.step(static, params, state, k)
            return state, {**metrics, **world.creator_metrics(state.creators, state.round, static)}

        keys_ = jax.random.split(k_rounds, static.rounds)
        return jax.lax.scan(body, loop.init_state(k_init, static, params), keys_)[1]

    return jax.vmap(run)(keys)


def creator_series(config: Config, seeds: Sequence[int]) -> pd.DataFrame:
    """One point run round by round with the creators' metrics after every round.

    ``config``: the point; ``seeds``: its seeds (as the sweep runs them). Returns one row
    per seed and round: ``seed``, ``round`` and every metric of the loop and of
    :data:`CREATOR_METRICS` (``creator_exits_per_round`` is the running mean up to that round).
    """
    seeds = [int(s) for s in seeds]
    with unrolled_threefry():  # the lowering simulate_seeds uses: the same numbers
        metrics = _replay(config.static, config.params, loop.seed_keys(seeds))
    metrics = loop.check_finite(metrics, seeds)
    rounds = config.rounds
    frame = pd.DataFrame({"seed": np.repeat(seeds, rounds), "round": np.tile(np.arange(rounds), len(seeds))})
    for name, values in metrics.items():
        frame[name] = np.asarray(values, dtype=np.float64).reshape(-1)
    return frame


def _reacting(config: Config) -> bool:
    return any(getattr(config, lever) > 0 for lever in world.CREATOR_DYNAMICS)


def _fate_points(run: StudyRun) -> list:
    """The points of the creators' part: arms that set none of ``generator_family``,
    ``retrain_every``, ``agent_share`` and ``assisted_share`` (each makes a part of its own)."""
    return [p for p in sweep_points(run.experiment) if not {GENERATOR, CADENCE, AGENTS, ASSISTED} & set(p.levers)]


def _shares(run: StudyRun) -> pd.Series:
    """Each row's GenAI share, from its point's config (arms that do not sweep it have no column value)."""
    shares = {p.config_hash: p.config.synthetic_share for p in sweep_points(run.experiment)}
    return run.table["config_hash"].map(shares)


def creator_rounds(run: StudyRun) -> pd.DataFrame:
    """The creators' metrics over rounds for every point with reacting creators (any of
    :data:`labkit.sim.world.CREATOR_DYNAMICS` on) of the creators' part: one row per arm,
    share, seed and round, written as ``creator_rounds.parquet``. Raises if a replay's loop
    metrics differ from the sweep's (:data:`REPLAY_TOLERANCE`)."""
    frames = []
    for point in [p for p in _fate_points(run) if _reacting(p.config)]:
        series = creator_series(point.config, run.experiment.seeds)
        swept = run.table[(run.table["config_hash"] == point.config_hash) & (run.table["arm"] == point.arm)]
        swept = swept.sort_values(["seed", "round"])
        gap = np.abs(series["exposure_entropy"].to_numpy() - swept["exposure_entropy"].to_numpy()).max()
        if not gap <= REPLAY_TOLERANCE:
            raise AssertionError(f"creator_rounds: the replay of {point.arm} ({SHARE} {point.config.synthetic_share})"
                                 f" is not the sweep's run: exposure_entropy differs by {gap:.2g}")
        series.insert(0, SHARE, point.config.synthetic_share)
        series.insert(0, "arm", point.arm)
        frames.append(series[["arm", SHARE, "seed", "round", *CREATOR_METRICS]])
    table = pd.concat(frames, ignore_index=True)
    write_table(table, run.out / "creator_rounds.parquet")
    return table


def creators_at_end(run: StudyRun, rounds: pd.DataFrame) -> pd.DataFrame:
    """The creators' metrics at the end of each run of the creators' part, one row per arm,
    share and seed: the reacting creators' from ``rounds`` (:func:`creator_rounds`), the
    fixed creators' from the final state of their run (the sweep's program, run again)."""
    frames = [rounds[rounds["round"] == rounds["round"].max()].drop(columns=["round"])]
    for point in [p for p in _fate_points(run) if not _reacting(p.config)]:
        _, state = simulated_point(point.config, run.experiment.seeds)
        fared = loop.creator_metrics(state, point.config.static)
        frame = pd.DataFrame({"arm": point.arm, SHARE: point.config.synthetic_share,
                              "seed": list(run.experiment.seeds)})
        for name in CREATOR_METRICS:
            frame[name] = np.asarray(fared[name], dtype=np.float64)
        frames.append(frame)
    order = list(dict.fromkeys(p.arm for p in _fate_points(run)))
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["arm", SHARE, "seed"], key=lambda s: s.map(order.index) if s.name == "arm" else s,
                             kind="stable").reset_index(drop=True)


def fate_tables(run: StudyRun, rounds: pd.DataFrame, late_rounds: int, baseline: str = "greedy"
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The creators' part in four tables, also written as CSV in ``run.out``.

    ``rounds``: :func:`creator_rounds`; ``late_rounds``: the window of the loop metrics'
    late-round means; ``baseline``: the setting each other is compared with at the same share.
    Returns the per-seed table (the creators' metrics at the end of the run,
    :func:`creators_at_end`, and the loop metrics' late-round means; ``attrs["late_rounds"]``
    their window; ``creators_per_seed.csv``); its summary per arm and share over seeds [CI]
    (``creators_summary.csv``); each setting against ``baseline`` at the same share, paired
    by seed (``creators_vs_<baseline>.csv``); and, within each setting run at several
    shares, each share against the lowest (``creators_effects_of_share.csv``).
    """
    arms = list(dict.fromkeys(p.arm for p in _fate_points(run)))
    table = run.table.assign(**{SHARE: _shares(run)})
    late = late_means(table[table["arm"].isin(arms)], late_rounds)
    per_seed = creators_at_end(run, rounds).merge(late[["arm", SHARE, "seed", *FATE_LOOP_METRICS]],
                                                  on=["arm", SHARE, "seed"], validate="one_to_one")
    per_seed.attrs["late_rounds"] = late.attrs["late_rounds"]
    metrics = [*CREATOR_METRICS, *FATE_LOOP_METRICS]
    by = ["arm", SHARE]
    summary = summarize(per_seed, metrics, by=by)
    vs_baseline = effects(per_seed, {"arm": baseline}, metrics, match=[SHARE], by=by)
    swept = per_seed.groupby("arm")[SHARE].transform("nunique") > 1
    low = per_seed[SHARE].min()
    vs_share = effects(per_seed[swept], {SHARE: low}, metrics, match=["arm"], by=by)
    out = Path(run.out)
    write_csv(per_seed, out / "creators_per_seed.csv")
    write_csv(summary, out / "creators_summary.csv")
    write_csv(vs_baseline, out / f"creators_vs_{baseline}.csv")
    write_csv(vs_share, out / "creators_effects_of_share.csv")
    return per_seed, summary, vs_baseline, vs_share


def _part_tables(run: StudyRun, lever: str, metrics: Sequence[str], late_rounds: int, baseline: str, stem: str
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One lever's part of the study (the arms that set ``lever``): late-round means per arm
    and seed, their summary over seeds [CI] (``<stem>_summary.csv``) and each arm against
    ``baseline``, paired by seed (``<stem>_effects.csv``)."""
    arms = [p.arm for p in sweep_points(run.experiment) if lever in p.levers]
    per_seed = late_means(run.table[run.table["arm"].isin(arms)], late_rounds)
    summary = summarize(per_seed, metrics, by=["arm"])
    vs_baseline = effects(per_seed, {"arm": baseline}, metrics, by=["arm"])
    write_csv(summary, Path(run.out) / f"{stem}_summary.csv")
    write_csv(vs_baseline, Path(run.out) / f"{stem}_effects.csv")
    return per_seed, summary, vs_baseline


def generator_tables(run: StudyRun, late_rounds: int, baseline: str = "diagonal"
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The GenAI's capacity part: late-round means per arm and seed (arms that set
    ``generator_family``), their summary over seeds [CI] (``generator_summary.csv``) and each
    family against ``baseline``, paired by seed (``generator_effects.csv``)."""
    return _part_tables(run, GENERATOR, GENERATOR_METRICS, late_rounds, baseline, "generator")


def cadence_tables(run: StudyRun, late_rounds: int, baseline: str = "every_round"
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The retraining cadence part: late-round means per arm and seed (arms that set
    ``retrain_every``), their summary over seeds [CI] (``cadence_summary.csv``) and each
    slower cadence against ``baseline`` (served fresh every round), paired by seed
    (``cadence_effects.csv``). Every arm runs the same rounds, so the same interactions."""
    return _part_tables(run, CADENCE, CADENCE_METRICS, late_rounds, baseline, "cadence")


def _beside(run: StudyRun, lever: str, metrics: Sequence[str], late_rounds: int, baseline: str, reference: str,
            stem: str, versus: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A part whose arms set ``lever``, read beside ``baseline`` (the same world without it):
    late-round means per arm, GenAI share and seed; their summary over seeds [CI]
    (``<stem>_summary.csv``); ``reference`` against ``baseline`` at each GenAI share, paired by
    seed (``<stem>_vs_<versus>.csv``); and, at the highest share, each other arm of the part (a
    mitigation) against ``reference`` (``<stem>_mitigations.csv``)."""
    arms = [p.arm for p in sweep_points(run.experiment) if lever in p.levers]
    table = run.table.assign(**{SHARE: _shares(run)})
    per_seed = late_means(table[table["arm"].isin([baseline, *arms])], late_rounds)
    per_seed = per_seed[["arm", SHARE, "seed", *metrics]]
    per_seed.attrs["late_rounds"] = late_means(table[table["arm"].isin(arms)], late_rounds).attrs["late_rounds"]
    by = ["arm", SHARE]
    summary = summarize(per_seed, metrics, by=by)
    versus_baseline = effects(per_seed[per_seed["arm"].isin([baseline, reference])], {"arm": baseline}, metrics,
                              match=[SHARE], by=by)
    high = per_seed[per_seed[SHARE] == per_seed[SHARE].max()]
    mitigations = effects(high[high["arm"].isin(arms)], {"arm": reference}, metrics, by=by)
    out = Path(run.out)
    write_csv(summary, out / f"{stem}_summary.csv")
    write_csv(versus_baseline, out / f"{stem}_vs_{versus}.csv")
    write_csv(mitigations, out / f"{stem}_mitigations.csv")
    return per_seed, summary, versus_baseline, mitigations


def agent_tables(run: StudyRun, late_rounds: int, humans: str = "fixed_creators", reference: str = "agents"
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The agents' part: the arms that set ``agent_share``, beside ``humans`` (the same world
    with every user choosing for themselves), in four tables, also written as CSV in ``run.out``.

    Returns the late-round means per arm, GenAI share and seed; their summary over seeds [CI]
    (``agents_summary.csv``); ``reference`` (agents, no mitigation) against ``humans`` at each
    GenAI share, paired by seed (``agents_vs_humans.csv``); and, at the highest share, each
    other agents' arm (a mitigation) against ``reference`` (``agents_mitigations.csv``).
    """
    return _beside(run, AGENTS, AGENT_METRICS, late_rounds, humans, reference, "agents", "humans")


def assisted_tables(run: StudyRun, late_rounds: int, human: str = "fixed_creators", reference: str = "assisted"
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The AI-assisted creators' part: the arms that set ``assisted_share``, beside ``human``
    (the same world where no creator uses the GenAI), as :func:`agent_tables` reads agents:
    ``assisted_summary.csv``, ``assisted_vs_human_creators.csv`` (``reference`` against
    ``human`` at each GenAI share) and ``assisted_mitigations.csv``."""
    return _beside(run, ASSISTED, ASSISTED_METRICS, late_rounds, human, reference, "assisted", "human_creators")


def beside_checks(versus_baseline: pd.DataFrame, mitigations: pd.DataFrame, headline: Sequence[str], *,
                  reference: str, versus: str) -> list[str]:
    """Lines that check the reading of a part read beside its baseline (:func:`agent_tables`,
    :func:`assisted_tables`): ``reference`` against ``versus`` (the baseline, in words) at each
    GenAI share, then each mitigation against ``reference`` at the highest share."""
    lines = effect_lines(versus_baseline.assign(setting=versus_baseline["arm"] + f" vs {versus} at " + SHARE + " "
                                                + versus_baseline[SHARE].map("{:g}".format)),
                         headline, "setting", digits=3)
    return lines + effect_lines(mitigations.assign(setting=mitigations["arm"] + f" vs {reference}"), headline,
                                "setting", digits=3)


def cadence_checks(vs_baseline: pd.DataFrame, baseline: str = "every_round") -> list[str]:
    """Lines that check the reading of the cadence figure: each cadence against ``baseline``."""
    return effect_lines(vs_baseline.assign(setting=vs_baseline["arm"] + f" vs {baseline}"),
                        CADENCE_METRICS, "setting", digits=3)


def fate_checks(summary: pd.DataFrame, vs_baseline: pd.DataFrame, vs_share: pd.DataFrame,
                headline: Sequence[str], baseline: str = "greedy") -> list[str]:
    """Lines that check the reading of the creators' figures: each setting's creators at the
    end of the run at each share; the GenAI's effect within each setting; each setting
    against ``baseline`` at the highest share. ``headline``: the metrics of the last two."""
    lines = [f"{r['arm']:15s} {SHARE} {r[SHARE]:g}: active creators {r['active_creators']:.1f}, "
             f"creator Gini {r['creator_exposure_gini']:.2f}, long-tail creators' share "
             f"{r['long_tail_creator_share']:.3f}, exits per round {r['creator_exits_per_round']:.2f}"
             for r in summary.to_dict("records")]
    low, high = summary[SHARE].min(), summary[SHARE].max()
    rise = vs_share.assign(setting=lambda d: d["arm"] + f": {SHARE} {high:g} vs {low:g}")
    top = vs_baseline[vs_baseline[SHARE] == high].assign(
        setting=lambda d: d["arm"] + f" vs {baseline} at {SHARE} {high:g}")
    return lines + effect_lines(rise, headline, "setting", digits=3) + effect_lines(top, headline, "setting", digits=3)


def generator_checks(vs_baseline: pd.DataFrame, baseline: str = "diagonal") -> list[str]:
    """Lines that check the reading of the capacity figure: each family against ``baseline``."""
    return effect_lines(vs_baseline.assign(setting=vs_baseline["arm"] + f" vs {baseline}"),
                        GENERATOR_METRICS, "setting", digits=3)


def rounds_setting(rounds: pd.DataFrame, baseline: str = "greedy") -> pd.DataFrame:
    """The rows of :func:`creator_rounds` the rounds figure draws, with a ``setting`` column:
    every arm at the highest share, and ``baseline`` at the others (``<baseline>, no GenAI``
    when the other share is 0)."""
    high = rounds[SHARE].max()
    rows = rounds[(rounds[SHARE] == high) | (rounds["arm"] == baseline)].copy()
    rows["setting"] = np.where(rows[SHARE] == high, rows["arm"], rows["arm"] + ", no GenAI")
    order = [f"{baseline}, no GenAI", *dict.fromkeys(rows.loc[rows[SHARE] == high, "arm"])]
    return rows.sort_values("setting", key=lambda s: s.map(order.index), kind="stable")


__all__ = ["CREATOR_METRICS", "GENERATOR_METRICS", "CADENCE_METRICS", "AGENT_METRICS", "ASSISTED_METRICS",
           "FATE_LOOP_METRICS", "creator_series", "creator_rounds", "creators_at_end", "fate_tables",
           "generator_tables", "cadence_tables", "agent_tables", "assisted_tables", "fate_checks", "generator_checks",
           "cadence_checks", "beside_checks", "rounds_setting"]
