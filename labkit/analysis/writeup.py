"""The write-up: every study's figures and key numbers gathered into one report.

    build_writeup("results", "results/writeup")

reads each study's result table (``results/NN_name/metrics.parquet``) and figure files,
and writes::

    writeup.md      Markdown; figures beside it (figures/<name>.png shown, .pdf linked)
    writeup.html    the same report, self-contained: figures embedded as base64 PNG
    numbers.json    every number the text states, with the table, rows, rounds and
                    statistic it was computed from, so a test can recompute each one
    figures/        PNG and PDF of every figure

What the report finds, every number it states and the sentences built from them, is
:mod:`labkit.analysis.findings`; this module lays it out. The text is built as a list of
blocks (heading, paragraph, list, table, figure) that two small renderers turn into
Markdown and HTML, so both files say the same thing.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from labkit.analysis import tables
from labkit.analysis.findings import MITIGATION_METRICS, Findings, findings, numbers_json
from labkit.analysis.labels import split_label
from labkit.experiments.results import atomic_write, write_json


# --------------------------------------------------------------------------- what the report shows

@dataclass(frozen=True)
class FigureRef:
    """A figure a study notebook saved: ``<results>/<folder>/<stem>.png`` and ``.pdf``."""

    folder: str
    stem: str
    caption: str


@dataclass(frozen=True)
class Section:
    """One study of the report: its results folder, title and figures, and optionally a
    paragraph computed from the folder's tables (``summary(<results>/<folder>)``)."""

    folder: str
    title: str
    figures: tuple[FigureRef, ...]
    summary: Callable[[Path], str] | None = None


def _figs(folder: str, *pairs: tuple[str, str]) -> tuple[FigureRef, ...]:
    return tuple(FigureRef(folder, stem, caption) for stem, caption in pairs)


def _study_file(folder: Path, name: str) -> Path:
    """``folder/name``, a table a study notebook writes; raises naming the notebook to run when it is missing."""
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing (run notebook {folder.name} first)")
    return path


def _reproductions_summary(folder: Path) -> str:
    """Study 00 in numbers: per reproduction, its paper and how many of its claims labkit's
    modules reproduce within the stated tolerance, naming the ones that do not (from
    ``00_reproductions/manifest.json``, the checks the tests run)."""
    verdicts = json.loads(_study_file(folder, "manifest.json").read_text())["reproductions"]
    parts = []
    for name, verdict in verdicts.items():
        claims = verdict["claims"]
        agree = sum(c["passed"] is True for c in claims)
        untestable = sum(c["passed"] is None for c in claims)
        failing = [c["claim"].rstrip(".") for c in claims if c["passed"] is False]
        part = f"{verdict['paper']} (`{name}`): {agree} of {len(claims) - untestable} claims reproduced"
        if failing:
            part += " (not: " + "; ".join(failing) + ")"
        parts.append(part)
    total = sum(c["passed"] is True for v in verdicts.values() for c in v["claims"])
    tested = sum(c["passed"] is not None for v in verdicts.values() for c in v["claims"])
    return (f"{len(verdicts)} published results rerun with labkit's own modules and checked in code, {total} of "
            f"{tested} claims within their stated tolerance (Monte-Carlo standard errors; the pass/fail table is in "
            f"the notebook): " + "; ".join(parts) + ".")


def _strength_summary(folder: Path) -> str:
    """Study 02's strength sweeps in numbers (from ``bonus_strength.csv``, written by
    :func:`labkit.analysis.bonus_strength.bonus_strength`): per bonus and recommender, the
    largest gain of within-round exposure entropy over the greedy feed and where it herds."""
    import pandas as pd

    table = pd.read_csv(_study_file(folder, "bonus_strength.csv"))
    parts = []
    for family, rows in table.groupby("family", sort=False):
        lever = rows["lever"].iloc[0]
        best = rows.loc[rows["exposure_entropy"].idxmax()]
        herding = rows.loc[rows["herding"].astype(bool), "strength"].tolist()
        part = (f"`{family}`: within-round exposure entropy at most {best['exposure_entropy']:+.2f} nats "
                f"against greedy ({lever} {best['strength']:g})")
        part += (f", herding at {lever} " + ", ".join(f"{v:g}" for v in herding) if herding
                 else ", no herding in the range swept")
        parts.append(part)
    return ("Each bonus swept from 0.05 to 16 in units of each user's score spread (standardized), its late-round "
            "changes paired by seed against the same recommender's greedy feed; herding: each round's exposure "
            "entropy clearly below greedy's while the run's cumulative exposure entropy is clearly above it (95% "
            "intervals). " + "; ".join(parts) + ".")


def _ecosystem_summary(folder: Path) -> str:
    """Study 08 in numbers (from ``creators_summary.csv``, ``generator_effects.csv``,
    ``cadence_effects.csv``, ``agents_vs_humans.csv`` and ``assisted_vs_human_creators.csv``, written by
    :mod:`labkit.analysis.ecosystem`): per creators' setting and GenAI share, the active creators and
    the long-tail creators' share of impressions at the end of the run; per generator family, its
    change against the diagonal Gaussian in consumption topic entropy and users' taste entropy;
    per cadence, its change against every round in exposure entropy, homogenization and CTR;
    agents against humans at each GenAI share in homogenization, consumption entropy and utility;
    assisted creators against none in their share of impressions and intra-list diversity."""
    import pandas as pd

    def ci(row, metric: str, signed: bool = False, digits: int = 2) -> str:
        return tables.ci_text(row[metric], row[f"{metric}_low"], row[f"{metric}_high"], digits, signed)

    def each(name: str, describe) -> str:  # one of the study's tables, a phrase per row
        return "; ".join(describe(r) for r in pd.read_csv(_study_file(folder, name)).to_dict("records"))

    fate = each("creators_summary.csv", lambda r: (
        f"`{r['arm']}` at synthetic share {r['synthetic_share']:g}: {ci(r, 'active_creators', digits=1)} "
        f"active creators, long-tail creators' share {ci(r, 'long_tail_creator_share', digits=3)}"))
    size = each("generator_effects.csv", lambda r: (
        f"`{r['arm']}`: consumption topic entropy {ci(r, 'consumption_topic_entropy', True, 3)} nats, "
        f"users' taste entropy {ci(r, 'user_taste_entropy', True, 3)} nats"))
    pace = each("cadence_effects.csv", lambda r: (
        f"`{r['arm']}`: exposure entropy {ci(r, 'exposure_entropy', True, 3)} nats, homogenization "
        f"{ci(r, 'homogenization', True, 3)}, CTR {ci(r, 'ctr', True, 3)}"))
    acting = each("agents_vs_humans.csv", lambda r: (
        f"at synthetic share {r['synthetic_share']:g}: homogenization {ci(r, 'homogenization', True, 3)}, "
        f"consumption entropy {ci(r, 'consumption_entropy', True, 3)} nats, true utility "
        f"{ci(r, 'true_utility', True, 3)}"))
    drafting = each("assisted_vs_human_creators.csv", lambda r: (
        f"at synthetic share {r['synthetic_share']:g}: assisted items' share of impressions "
        f"{ci(r, 'assisted_exposure_share', False, 3)}, intra-list diversity {ci(r, 'intra_list_diversity', True, 3)}"))
    return ("Creators at the end of the run (mean over seeds [95% interval]; fixed_creators neither adapt nor "
            "leave, the other settings' creators adapt, leave when starved of impressions and are replaced "
            "at random): " + fate + ". The GenAI's size against one diagonal Gaussian, late-round changes "
            "paired by seed: " + size + ". The models served every n-th round against every round, late-round "
            "changes paired by seed: " + pace + ". Agents choosing for half of the user-rounds by the "
            "recommender's score against every user choosing, late-round changes paired by seed: " + acting
            + ". Half of the creator places drafting with the GenAI against none, late-round changes paired by "
            "seed: " + drafting + ".")


def _audit_summary(folder: Path) -> str:
    """Study 09 in numbers: in how many seeds of each arm the audit's alarm fired, the
    metrics it named most often, and MovieLens 100K's verdict (from ``alarms.parquet`` and
    ``ml-100k/manifest.json``)."""
    import pandas as pd

    alarms = pd.read_parquet(_study_file(folder, "alarms.parquet"))
    parts = []
    for arm, rows in alarms.groupby("arm", sort=False):
        named = pd.Series([m for text in rows["towards_collapse"] for m in text.split(", ") if m]).value_counts()
        metrics = ", ".join(f"{m.replace('_', ' ')} in {n}" for m, n in named.items()) or "none"
        parts.append(f"`{arm}`: the alarm fired in {int(rows['alarm'].sum())} of {len(rows)} seeds (metrics "
                     f"towards collapse: {metrics})")
    text = ("Each simulated log of 01's world audited as a real log is (rounds as periods, clicked impressions as "
            "consumption, catalog over each item's lifetime): " + "; ".join(parts) + ".")
    movielens = folder / "ml-100k" / "manifest.json"
    if movielens.is_file():
        manifest = json.loads(movielens.read_text())
        text += (f" MovieLens 100K by month ({manifest['periods']} months): "
                 f"{'the alarm fires' if manifest['alarm'] else 'no alarm'}. " + " ".join(manifest['summary'].split()))
    return text


_BAND = "Lines: mean over seeds; bands: 95% Student-t confidence interval of that mean."
_LATE = ("Each value is a late-round mean (the mean over the last rounds of a run, printed on "
         "the figure), then the mean over seeds with its 95% Student-t confidence interval. ")

SECTIONS: tuple[Section, ...] = (
    Section("00_reproductions", "00 Reproductions: published results rerun in labkit", (),
            summary=_reproductions_summary),
    Section("01_collapse", "01 Collapse: diversity falls while the dashboard holds", _figs(
        "01_collapse",
        ("collapse", "Each metric against round for a greedy MF feed with GenAI items and drifting users "
                     "(ai_and_drift) and with neither. Top: diversity of what is exposed and of users' "
                     "tastes; bottom: the dashboard (CTR, utility per click). Lines: mean over seeds; "
                     "bands: 95% bootstrap confidence interval of that mean."))),
    Section("02_exploration", "02 Exploration", _figs(
        "02_exploration",
        ("exploration_levers", "Each exploration lever against its value (one column per mitigation), "
                               "under GenAI + drift pressure. " + _LATE + "Dashed line and grey band: the "
                               "greedy feed with no mitigation (none) and its interval."),
        ("exploration_rounds", "The representative setting of each exploration mitigation (the one carried "
                               "to 06) against round, with the greedy baseline. " + _BAND),
        ("exploration_bonus_strength", "The exposure bonus (ucb beta) and the novelty reward over their whole "
                                       "strength range in standardized units (log axis), under the mf and the "
                                       "content recommender (one column each). " + _LATE + "Dashed line and grey "
                                       "band: that recommender's greedy feed (strength 0). Shaded: the herding "
                                       "regime, where within-round exposure entropy is clearly below greedy's "
                                       "while cumulative exposure entropy is clearly above it (paired 95% "
                                       "intervals): every user is sent to the same least-shown items each "
                                       "round.")),
        summary=_strength_summary),
    Section("03_stochasticity", "03 Controlled stochasticity", _figs(
        "03_stochasticity",
        ("stochasticity_levers", "Softmax (Plackett-Luce) sampling temperature and the MMR relevance weight "
                                 "lambda against their values, under GenAI + drift pressure. " + _LATE
                                 + "Dashed line and grey band: the greedy feed (none)."),
        ("stochasticity_rounds", "The representative settings against round, with the greedy baseline. "
                                 + _BAND))),
    Section("04_data_separation", "04 Separating human from AI-influenced data", _figs(
        "04_data_separation",
        ("data_separation_shares", "Each data strategy (one line each) against the GenAI's share of new "
                                   "items, users drifting. " + _LATE + "accumulate is the baseline."),
        ("data_separation_rounds", "Each data strategy against round at the highest GenAI share swept. "
                                   + _BAND))),
    Section("05_capacity", "05 Capacity: do bigger models make it worse?", _figs(
        "05_capacity",
        ("capacity_levers", "Embedding dimension (left) and optimizer steps per round (right) of the MF "
                            "recommender, log axes, under GenAI + drift pressure. " + _LATE),
        ("capacity_rounds", "Each capacity setting against round. " + _BAND))),
    Section("06_tradeoffs", "06 Trade-offs: every mitigation on one plane", _figs(
        "06_tradeoffs",
        ("tradeoffs_plane", "Engagement (CTR, x) against diversity (exposure entropy, y) for one "
                            "representative setting of every mitigation and the greedy baseline (black), "
                            "all late-round means under the same GenAI + drift pressure. Crosses: 95% "
                            "Student-t confidence intervals over seeds on both axes. Dotted line: the Pareto "
                            "front (no other setting has both higher CTR and higher entropy)."),
        ("tradeoffs_effects", "Each mitigation's effect against the greedy baseline, paired by seed: change "
                              "in late-round exposure entropy, exposure topic entropy, users' taste entropy "
                              "and CTR, with 95% Student-t confidence intervals; the vertical line is no "
                              "change."))),
    Section("07_tuning", "07 Tuning by gradient: what each lever buys, and a mix tuned for diversity", _figs(
        "07_tuning",
        ("sensitivity", "Pathwise gradients of late-round exposure entropy (left) and CTR (right) in every "
                        "continuous lever, on the relaxed loop, each lever read in a world where it acts "
                        "(in brackets); mean over seeds with 95% Student-t intervals, symlog "
                        "axes, per unit of the lever."),
        ("tuned_plane", "06's plane with the mix tuned by gradient (epsilon-greedy exploration, novelty reward, "
                        "downweighted AI rows) simulated on the exact loop over 06's seeds. " + _LATE
                        + "Dotted line: the Pareto front recomputed with the tuned mix."),
        ("relaxation", "The relaxed loop's late-round means (points, 95% intervals) against its relaxation "
                       "temperature, and the exact loop's on the same seeds (dashed line, grey band), for the "
                       "greedy feed under the same pressure."))),
    Section("08_ecosystem", "08 The ecosystem: creators who react or draft with the GenAI, its size, the loop's "
                            "cadence and agents", _figs(
        "08_ecosystem",
        ("ecosystem_creators", "Creators' fate against the GenAI's share of new items (0 and 0.8), one line per "
                               "setting: fixed creators (the world of 02-06); creators who adapt toward their own "
                               "clicked items, leave when their items get under 0.005 of impressions over 5 "
                               "rounds and are replaced at random (greedy); and, under the GenAI, the same "
                               "creators with epsilon-greedy exploration or human-only retraining. Panels: active "
                               "creators, the Gini of creators' impressions, the share of impressions on the "
                               "creators in the bottom half of activity at the start, exits per round and the topic "
                               "entropy of active creators' styles, all at the end of the run; then the feed's "
                               "late-round exposure entropy and CTR. Lines: mean over seeds; bands: 95% "
                               "Student-t confidence interval."),
        ("ecosystem_creator_rounds", "The reacting creators' metrics after every round: each setting under the "
                                     "GenAI, and the greedy feed without it; nobody leaves before the first "
                                     "exit window (5 rounds) has passed; exits per round is the running mean. "
                                     + _BAND),
        ("ecosystem_generator", "The GenAI's size: a full-covariance Gaussian and a mixture of 8 diagonal "
                                "Gaussians against one diagonal Gaussian (the default), creators fixed, same "
                                "pressure: the change in the late-round topic entropy of what the feed shows and "
                                "of what users click, users' taste entropy, the synthetic share of impressions "
                                "and CTR, paired by seed, with 95% Student-t confidence intervals; the vertical "
                                "line is no change."),
        ("ecosystem_generator_rounds", "Each generator family's feed against round. " + _BAND),
        ("ecosystem_cadence", "The retraining cadence: the recommender and the GenAI served as they were after "
                              "every 2nd or every 5th round (both keep learning every round) against models "
                              "served fresh every round, creators fixed, same pressure and rounds (so the same "
                              "interactions): the change in the late-round exposure entropy, exposure topic "
                              "entropy, homogenization, users' taste entropy and CTR, paired by seed, with 95% "
                              "Student-t confidence intervals; the vertical line is no change."),
        ("ecosystem_agents", "Agentic users against the GenAI's share of new items (0 and 0.8): half of the "
                             "user-rounds made by an AI agent that picks from the slate by the recommender's "
                             "score (agents), the same world where every user chooses (fixed_creators), and, "
                             "under the GenAI, agents with epsilon-greedy exploration or human-only retraining "
                             "(which drops agents' rows too), creators fixed. Panels: the agents' share of "
                             "clicks and of the training weight, the AI-influenced share of the training "
                             "weight, homogenization, consumption entropy, users' taste entropy, true utility "
                             "and CTR, late-round means. Lines: mean over seeds; bands: 95% Student-t "
                             "confidence interval."),
        ("ecosystem_assisted", "AI-assisted creators against the GenAI's share of new items (0 and 0.8): half of "
                               "the creator places draft with the GenAI, each of their items half their own draw "
                               "and half a GenAI sample (assisted), the same world where no creator uses the GenAI "
                               "(fixed_creators), and, under the GenAI, assisted creators with human-only "
                               "retraining (which drops assisted rows). Panels: the assisted items' share of "
                               "impressions, the topic entropy of what is shown and clicked, intra-list diversity, "
                               "homogenization, users' taste entropy, true utility and CTR, late-round means. "
                               "Lines: mean over seeds; bands: 95% Student-t confidence interval.")),
        summary=_ecosystem_summary),
    Section("09_audit", "09 Auditing the logs: the collapse alarm on a simulated platform and on MovieLens", _figs(
        "09_audit",
        ("ai_and_drift/audit", "labkit audit's dashboard of one seed of 01's ai_and_drift world, its log of "
                               "impressions read as a platform's log: each metric per round for all rows "
                               "(blue), the human rows and the AI-influenced rows; each diversity metric's "
                               "trend verdict (Mann-Kendall, Holm-corrected) in its title; engagement is CTR."),
        ("ml-100k/audit", "The same dashboard for MovieLens 100K by month (Sept 1997 - April 1998), with the "
                          "movies' genres as item features; engagement is interactions per active user.")),
        summary=_audit_summary),
)


# --------------------------------------------------------------------------- the document

def _headline_table(f: Findings) -> tuple[list[str], list[list[str]]]:
    metrics = MITIGATION_METRICS
    header = ["comparison", "study", *[f"Δ {split_label(m)[0]} ({split_label(m)[1]})" for m in metrics],
              "CTR cost per nat kept", "Pareto front"]
    body = []
    for row in f.rows:
        cells = [f.claims[row["cells"][m]].text if m in row["cells"] else "" for m in metrics]
        body.append([row["label"], row["study"], *cells,
                     f.claims[row["cost"]].text if "cost" in row else "",
                     ("yes" if row["front"] else "no") if "front" in row else ""])
    return header, body


def _manifest_line(results: Path) -> str:
    parts = []
    for folder in ("01_collapse", "06_tradeoffs"):
        path = results / folder / "manifest.json"
        if path.is_file():
            m = json.loads(path.read_text())
            c = m.get("config") or next(iter(m.get("points", {}).values()), {}).get("config", {})
            if c:
                parts.append(f"{folder}: scale `{m.get('scale')}`, {c['n_users']} users, {c['n_items']} catalog "
                             f"slots, {c['rounds']} rounds, {len(m.get('seeds', []))} seeds")
    return "; ".join(parts)


# The lever studies' own effect tables (06's are 02-05's points again, so they are not counted twice).
EFFECT_TABLES = ("02_exploration/effects.csv", "03_stochasticity/effects.csv",
                 "04_data_separation/effects_of_share.csv", "04_data_separation/effects_vs_accumulate.csv",
                 "05_capacity/effects_vs_smallest.csv", "08_ecosystem/creators_vs_greedy.csv",
                 "08_ecosystem/creators_effects_of_share.csv", "08_ecosystem/generator_effects.csv",
                 "08_ecosystem/cadence_effects.csv", "08_ecosystem/agents_vs_humans.csv",
                 "08_ecosystem/assisted_vs_human_creators.csv")


def _clear_line(results: Path) -> str:
    """How many of the studies' paired changes are clear (:func:`labkit.analysis.tables.clear_effects`)."""
    counts = tables.clear_effects(results / name for name in EFFECT_TABLES)
    if counts.empty:
        return "Effects clear at 95%: no effect table was found."
    seeds = sorted({len(json.loads(path.read_text()).get("seeds", [])) for path in
                    (results / folder / "manifest.json" for folder in {n.split("/")[0] for n in EFFECT_TABLES})
                    if path.is_file()})
    per_study = {}
    for row in counts.to_dict("records"):
        study = row["table"][:2]
        per_study[study] = [a + b for a, b in zip(per_study.get(study, [0, 0]), (row["clear"], row["effects"]))]
    return (f"Effects clear at 95%: {counts['clear'].sum()} of the {counts['effects'].sum()} paired changes "
            f"(setting x metric) in the effect tables of studies {', '.join(per_study)} have an interval that "
            f"excludes zero ({'; '.join(f'{k}: {c} of {n}' for k, (c, n) in per_study.items())}), with "
            f"{' or '.join(map(str, seeds))} seeds per setting.")


def _provenance(results: Path) -> str:
    seen = {}
    for section in SECTIONS:
        path = results / section.folder / "manifest.json"
        if path.is_file():
            m = json.loads(path.read_text())
            seen.setdefault((m.get("labkit_version"), m.get("jax_version"), m.get("git_commit")), []).append(
                section.folder[:2])
    return "; ".join(f"studies {', '.join(v)}: labkit {k[0]}, jax {k[1]}, commit `{k[2]}`" for k, v in seen.items())


def document(results: Path, f: Findings, figures: Mapping[str, str]) -> list[tuple]:
    """The report as blocks: ("h1"|"h2"|"p", text), ("list", items), ("table", header, rows),
    ("figure", number, FigureRef, png path, pdf path)."""
    windows: dict[tuple[int, int], list[str]] = {}
    for claim in f.claims.values():
        folder = claim.table.split("/")[0][:2]
        studies_at = windows.setdefault(tuple(claim.late_rounds), [])
        if folder not in studies_at:
            studies_at.append(folder)
    late = "; ".join(f"rounds {a}-{b} in {', '.join(sorted(v))}" for (a, b), v in windows.items())
    blocks: list[tuple] = [
        ("h1", "Preference collapse in recommender feedback loops, and what mitigating it costs"),
        ("p", "Under which mitigations (exploration, controlled stochasticity, novelty reward, separation "
              "of human-generated from AI-influenced data) does a recommender feedback loop keep its "
              "diversity when generative-AI content and AI-nudged behaviour flow back into its training "
              "data, and what does each cost in engagement? Every number below is computed from the result "
              "tables under `results/` (listed with its source in `numbers.json`); every figure is redrawn "
              "from those tables by the study notebooks."),
        ("p", f"Runs: {_manifest_line(results)}. Studies 02-06 share one world and one pressure: a share of "
              "new items made by a mode-seeking GenAI and drifting users (see `experiments/*.yaml`)."),
        ("h2", "Key findings"),
        ("list", f.sentences),
        ("h2", "Headline effects"),
        ("p", "Each cell: the change in the late-round mean of a metric (treatment minus comparison, paired by "
              "seed), mean over seeds [95% Student-t confidence interval]. Mitigations (06) are compared with "
              "the greedy, accumulate-everything feed under the same pressure. CTR cost per nat kept: clicks "
              "per slate given up per nat of exposure entropy gained (ratio of mean changes; 95% paired "
              "bootstrap interval over seeds, rough with few seeds). Pareto front: no other setting of 06 has "
              "both higher CTR and higher exposure entropy."),
        ("table", *_headline_table(f)),
    ]
    number = 0
    for section in SECTIONS:
        blocks.append(("h2", section.title))
        manifest_path = results / section.folder / "manifest.json"
        if manifest_path.is_file():
            description = json.loads(manifest_path.read_text()).get("description")
            if description:
                blocks.append(("p", "Question: " + " ".join(str(description).split())))
        for fig in section.figures:
            number += 1
            blocks.append(("figure", number, fig, figures[fig.stem], figures[fig.stem][:-4] + ".pdf"))
        if section.summary is not None:
            blocks.append(("p", section.summary(results / section.folder)))
        blocks.append(("p", f"Executed notebook, with its summary tables and a reading of the figures: "
                            f"[{section.folder}.ipynb](../{section.folder}/{section.folder}.ipynb)."))
    blocks += [
        ("h2", "Method"),
        ("list", [
            f"Late-round mean: each metric averaged over the last rounds of a run (at most half a run; here "
            f"{late}), one value per setting and seed.",
            "Confidence intervals: mean over seeds +- t(n-1) s / sqrt(n) (95%, Student t), for levels and "
            "for paired differences. Seeds pair: a seed fixes the initial world of every setting.",
            "Figures 02-06 draw the same Student-t bands; figure 01 draws percentile-bootstrap bands.",
            _clear_line(results),
            f"Provenance: {_provenance(results)}.",
        ]),
    ]
    return blocks


_INLINE = [
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)"), r'<a href="\2">\1</a>'),
]


def _inline_html(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, replacement in _INLINE:
        out = pattern.sub(replacement, out)
    return out


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(blocks: Sequence[tuple]) -> str:
    """Render the blocks as Markdown (figures as relative PNG images, PDF linked)."""
    out = []
    for block in blocks:
        kind = block[0]
        if kind == "h1":
            out.append(f"# {block[1]}")
        elif kind == "h2":
            out.append(f"## {block[1]}")
        elif kind == "p":
            out.append(block[1])
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            header, rows = block[1], block[2]
            out.append("\n".join([
                "| " + " | ".join(_md_cell(h) for h in header) + " |",
                "|" + "|".join("---" for _ in header) + "|",
                *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows)]))
        elif kind == "figure":
            _, number, fig, png, pdf = block
            out.append(f"![Figure {number}: {fig.stem}]({png})\n\n"
                       f"*Figure {number}.* {fig.caption} ([PDF]({pdf}))")
    return "\n\n".join(out) + "\n"


_CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.45;color:#222}table{border-collapse:collapse;font-size:.85rem;margin:1rem 0}
th,td{border:1px solid #ccc;padding:.25rem .45rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
figure{margin:1.5rem 0}img{max-width:100%;height:auto}figcaption{font-size:.9rem;color:#333}
code{background:#f3f3f3;padding:0 .2rem}"""


def to_html(blocks: Sequence[tuple], root: Path) -> str:
    """Render the blocks as one self-contained HTML page: figures embedded as base64 PNG
    (``root``: the folder the figure paths are relative to)."""
    title = next((b[1] for b in blocks if b[0] == "h1"), "labkit write-up")
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{html.escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>"]
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2"):
            out.append(f"<{kind}>{_inline_html(block[1])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{_inline_html(block[1])}</p>")
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{_inline_html(item)}</li>" for item in block[1]) + "</ul>")
        elif kind == "table":
            header, rows = block[1], block[2]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline_html(h)}</th>" for h in header)
                       + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>"
                                 for row in rows) + "</tbody></table>")
        elif kind == "figure":
            _, number, fig, png, pdf = block
            data = base64.b64encode((root / png).read_bytes()).decode("ascii")
            out.append(f'<figure id="{html.escape(fig.stem)}"><img alt="Figure {number}: {html.escape(fig.stem)}" '
                       f'src="data:image/png;base64,{data}"><figcaption><strong>Figure {number}.</strong> '
                       f'{_inline_html(fig.caption)} (<a href="{html.escape(pdf)}">PDF</a>)</figcaption></figure>')
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Writeup:
    """What :func:`build_writeup` wrote."""

    markdown: Path
    html: Path
    numbers: Path
    figures: tuple[Path, ...]
    findings: Findings


def copy_figures(results: Path, out: Path) -> dict[str, str]:
    """Copy every figure of :data:`SECTIONS` (PNG and PDF) into ``out/figures``; returns
    {stem: PNG path relative to ``out``}. Raises naming the missing files."""
    missing = [str(results / f.folder / f"{f.stem}.{ext}") for s in SECTIONS for f in s.figures
               for ext in ("png", "pdf") if not (results / f.folder / f"{f.stem}.{ext}").is_file()]
    if missing:
        raise FileNotFoundError("figures missing (run the study notebooks first): " + ", ".join(missing))
    paths = {}
    for section in SECTIONS:
        for fig in section.figures:
            for ext in ("png", "pdf"):
                source = results / fig.folder / f"{fig.stem}.{ext}"
                atomic_write(out / "figures" / f"{fig.stem}.{ext}", lambda tmp, s=source: shutil.copyfile(s, tmp))
            paths[fig.stem] = f"figures/{fig.stem}.png"
    return paths


def build_writeup(results: str | os.PathLike, out: str | os.PathLike | None = None,
                  last: int = tables.LATE_ROUNDS) -> Writeup:
    """Read the study results under ``results`` and write the report into ``out``
    (default ``results/writeup``): writeup.md, writeup.html, numbers.json, figures/."""
    results = Path(results)
    out = Path(out) if out is not None else results / "writeup"
    out.mkdir(parents=True, exist_ok=True)
    f = findings(results, last)
    figures = copy_figures(results, out)
    blocks = document(results, f, figures)
    md, page = to_markdown(blocks), to_html(blocks, out)

    def text(content: str):
        def write(tmp: str) -> None:
            Path(tmp).write_text(content, encoding="utf-8")
        return write

    atomic_write(out / "writeup.md", text(md))
    atomic_write(out / "writeup.html", text(page))
    write_json(numbers_json(f), out / "numbers.json")
    return Writeup(out / "writeup.md", out / "writeup.html", out / "numbers.json",
                   tuple(out / p for p in figures.values()), f)


__all__ = ["SECTIONS", "Section", "FigureRef", "Writeup", "document", "to_markdown", "to_html", "copy_figures",
           "build_writeup"]
