"""labkit.analysis.writeup: the write-up holds every figure it references and every number it
claims, and each number matches a recomputation from its table (what it finds is tests/test_findings.py).

The recomputation here is written independently of labkit.analysis.stats and
labkit.analysis.tables (plain pandas and a table of Student-t critical values), on a
results folder built by hand: tables with planted effects, and small stand-in figure files. ``check_writeup`` is also run by
tests/test_notebooks.py on the write-up the notebooks build from real tables.
"""

import base64
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labkit import METRIC_NAMES
from labkit.analysis.writeup import SECTIONS, build_writeup

# Two-sided 95% Student-t critical values by degrees of freedom (standard tables).
T975 = {1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582, 6: 2.446912, 7: 2.364624,
        8: 2.306004, 9: 2.262157, 10: 2.228139, 11: 2.200985, 12: 2.178813, 13: 2.160369, 14: 2.144787,
        15: 2.131450, 19: 2.093024, 29: 2.045230}


# --------------------------------------------------------------------------- independent recomputation

def _rows(table: pd.DataFrame, where: dict) -> pd.DataFrame:
    mask = np.ones(len(table), bool)
    for column, value in where.items():
        mask &= (table[column] == value).to_numpy()
    return table[mask]


def _late_per_seed(table: pd.DataFrame, where: dict, metric: str, rounds: list[int]) -> pd.Series:
    rows = _rows(table, where)
    rows = rows[(rows["round"] >= rounds[0]) & (rows["round"] <= rounds[1])]
    return rows.groupby("seed")[metric].mean()


def _t_interval(values: np.ndarray) -> tuple[float, float, float]:
    mean = float(values.mean())
    if values.size < 2:
        return mean, math.nan, math.nan
    half = T975[values.size - 1] * values.std(ddof=1) / math.sqrt(values.size)
    return mean, mean - half, mean + half


def recompute(claim: dict, results: Path) -> tuple[float, float, float]:
    """A claim's value and interval, from its table alone."""
    table = pd.read_parquet(results / claim["table"])
    n_rounds = int(table["round"].max()) + 1
    window = max(1, min(10, n_rounds // 2))
    assert claim["late_rounds"] == [n_rounds - window, n_rounds - 1], claim["id"]
    treat = _late_per_seed(table, claim["treatment"], claim["metric"], claim["late_rounds"])
    if claim["kind"] == "level":
        return _t_interval(treat.to_numpy())
    base = _late_per_seed(table, claim["baseline"], claim["metric"], claim["late_rounds"])
    assert list(treat.index) == list(base.index) == claim["seeds"], claim["id"]
    diff = (treat - base).to_numpy()
    if claim["kind"] == "difference":
        return _t_interval(diff)
    assert claim["kind"] == "cost_per_nat", claim["kind"]
    ctr = (_late_per_seed(table, claim["treatment"], claim["engagement"], claim["late_rounds"])
           - _late_per_seed(table, claim["baseline"], claim["engagement"], claim["late_rounds"])).to_numpy()
    kept, lost = diff.mean(), -ctr.mean()
    return (lost / kept if kept > 0 else math.nan), math.nan, math.nan


def _close(a, b, tol: float = 1e-9) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or math.isnan(b)
    return b is not None and not math.isnan(b) and abs(a - b) <= tol + 1e-6 * abs(b)


def check_writeup(results: Path, writeup: Path) -> dict:
    """Every figure the write-up references is there (beside the Markdown, embedded in the
    HTML), every claimed number is written in both files, and each recomputes from its table."""
    md = (writeup / "writeup.md").read_text()
    page = (writeup / "writeup.html").read_text()
    numbers = json.loads((writeup / "numbers.json").read_text())

    referenced = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", md)
    expected = [f"figures/{fig.stem}.png" for section in SECTIONS for fig in section.figures]
    assert referenced == expected
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == len(expected)
    for path, data in zip(expected, embedded):
        png = writeup / path
        assert png.is_file() and png.with_suffix(".pdf").is_file(), path
        assert f"({path[:-4]}.pdf)" in md
        assert base64.b64decode(data) == png.read_bytes(), f"{path}: the HTML embeds another image"
        stem = path[len("figures/"):-len(".png")]
        source = next(results / f.folder / f"{f.stem}.png"
                      for section in SECTIONS for f in section.figures if f.stem == stem)
        assert png.read_bytes() == source.read_bytes(), f"{path} is not the study's figure"

    claims = numbers["claims"]
    assert claims, "the write-up claims no numbers"
    for claim in claims:
        assert claim["text"] in md, f"{claim['id']}: {claim['text']!r} is not in writeup.md"
        assert claim["text"] in page, f"{claim['id']}: {claim['text']!r} is not in writeup.html"
        mean, low, high = recompute(claim, results)
        assert _close(claim["mean"], mean), (claim["id"], claim["mean"], mean)
        if claim["kind"] != "cost_per_nat":  # the t table above has 7 digits
            assert _close(claim["low"], low, 1e-5) and _close(claim["high"], high, 1e-5), (claim["id"], low, high)
            m, lo, hi = claim["mean"], claim["low"], claim["high"]
            if lo is not None:
                sign = "+" if claim["kind"] == "difference" else ""
                assert claim["text"] == f"{m:{sign}.3f} [{lo:{sign}.3f}, {hi:{sign}.3f}]", claim["id"]
        elif not claim["text"].startswith("n/a"):
            assert claim["text"].startswith(f"{claim['mean']:.3f}"), claim["id"]
    return numbers


# --------------------------------------------------------------------------- a results folder by hand

SEEDS, ROUNDS = (0, 1, 2, 3), 8
PROVENANCE = {"labkit_version": "0.1.0", "jax_version": "0", "git_commit": "abc"}
# A 1x1 PNG and a minimal PDF: the report copies and embeds figure files, it never reads them.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _table(points: list[dict], effect, rng) -> pd.DataFrame:
    rows = []
    for point in points:
        for seed in SEEDS:
            for r in range(ROUNDS):
                row = {**point, "seed": seed, "round": r}
                row.update({m: float(rng.normal(1.0 + 0.1 * seed, 0.05) + effect(point, m)) for m in METRIC_NAMES})
                rows.append(row)
    return pd.DataFrame(rows)


def _write(folder: Path, table: pd.DataFrame, manifest: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    table.to_parquet(folder / "metrics.parquet", index=False)
    (folder / "manifest.json").write_text(json.dumps({**manifest, **PROVENANCE}))


def make_results(root: Path) -> Path:
    rng = np.random.default_rng(0)
    gain = {"none": 0.0, "epsilon_greedy": 0.8, "softmax": 0.5, "human_only": -0.2}
    _write(root / "01_collapse",
           _table([{"condition": "ai_and_drift"}, {"condition": "neither"}],
                  lambda p, m: -0.3 if p["condition"] == "ai_and_drift" and m != "ctr" else 0.0, rng),
           {"description": "collapse", "conditions": {"ai_and_drift": {"synthetic_share": 0.8, "drift": 0.2}},
            "config": {"n_users": 10, "n_items": 20, "rounds": ROUNDS}, "seeds": list(SEEDS), "scale": "tiny"})
    arms = [{"label": "none", "policy": ["greedy"]}, {"label": "epsilon_greedy", "epsilon": [0.2]},
            {"label": "softmax", "temperature": [1.0]}, {"label": "human_only", "data_strategy": ["human_only"]}]
    _write(root / "06_tradeoffs",
           _table([{"study": "tradeoffs", "arm": a, "config_hash": a, **PROVENANCE} for a in gain],
                  lambda p, m: gain[p["arm"]] * (-0.1 if m == "ctr" else 1.0), rng),
           {"description": "tradeoffs", "arms": arms, "points": {"x": {"config": {
               "n_users": 10, "n_items": 20, "rounds": ROUNDS}}}, "seeds": list(SEEDS), "scale": "tiny"})
    _write(root / "04_data_separation",
           _table([{"study": "data_separation", "arm": a, "config_hash": f"{a}{s}", "synthetic_share": s}
                   for a in ("accumulate", "human_only") for s in (0.0, 0.8)],
                  lambda p, m: -p["synthetic_share"] * (0.5 if p["arm"] == "accumulate" else 0.1), rng),
           {"description": "separation"})
    _write(root / "05_capacity",
           _table([{"study": "capacity", "arm": f"{lever}={v}", "config_hash": f"{lever}{v}",
                    "embedding_dim": v if lever == "embedding_dim" else 16,
                    "train_steps": v if lever == "train_steps" else 10}
                   for lever, values in (("embedding_dim", (4, 16, 64)), ("train_steps", (3, 10, 30)))
                   for v in values],
                  lambda p, m: -0.01 * p["embedding_dim"], rng),
           {"description": "capacity"})
    _write(root / "07_tuning",
           _table([{"arm": "tuned"}], lambda p, m: 0.9 * (-0.1 if m == "ctr" else 1.0), rng),
           {"description": "tuning", "tuned_levers": {"epsilon": 0.4}, "seeds": list(SEEDS), "scale": "tiny",
            "worlds": {"grid search (02-04, 06)": 144, "tuning (relaxed, with gradient)": 14}})
    (root / "02_exploration").mkdir(parents=True)
    pd.DataFrame({"family": ["ucb_strength_mf"] * 3 + ["novelty_strength_content"] * 2,
                  "lever": ["beta"] * 3 + ["novelty_weight"] * 2, "strength": [0.5, 4.0, 16.0, 0.25, 16.0],
                  "exposure_entropy": [0.61, -0.9, -1.2, 0.2, 0.1],
                  "herding": [False, True, True, False, False]}).to_csv(root / "02_exploration" / "bonus_strength.csv")
    (root / "00_reproductions").mkdir(parents=True)
    (root / "00_reproductions" / "manifest.json").write_text(json.dumps({"reproductions": {
        "generator": {"paper": "Shumailov et al., Nature 2024", "passed": True, "claims": [
            {"claim": "variance shrinks", "passed": True}, {"claim": "tails vanish first", "passed": True}]},
        "source_bias": {"paper": "Zhou et al., SIGIR 2025", "passed": False, "claims": [
            {"claim": "exposure share above catalog share", "passed": True},
            {"claim": "the gap escalates.", "passed": False}, {"claim": "not at this scale", "passed": None}]}}}))
    pd.DataFrame({"arm": ["ai_and_drift"] * 3 + ["neither"] * 3, "seed": [0, 1, 2] * 2,
                  "alarm": [True, True, False, False, False, False],
                  "towards_collapse": ["gini, coverage", "gini", "", "", "", ""]}).to_parquet(
        (root / "09_audit").mkdir(parents=True) or root / "09_audit" / "alarms.parquet")
    (root / "08_ecosystem").mkdir(parents=True)
    pd.DataFrame({"arm": ["greedy", "greedy"], "synthetic_share": [0.0, 0.8],
                  "active_creators": [22.5, 16.25], "active_creators_low": [20.0, 14.0],
                  "active_creators_high": [25.0, 18.5], "long_tail_creator_share": [0.063, 0.042],
                  "long_tail_creator_share_low": [0.05, 0.03], "long_tail_creator_share_high": [0.076, 0.054]}
                 ).to_csv(root / "08_ecosystem" / "creators_summary.csv", index=False)
    pd.DataFrame({"arm": ["full"], "consumption_topic_entropy": [0.12], "consumption_topic_entropy_low": [-0.07],
                  "consumption_topic_entropy_high": [0.31], "user_taste_entropy": [-0.2],
                  "user_taste_entropy_low": [-0.3], "user_taste_entropy_high": [-0.1]}
                 ).to_csv(root / "08_ecosystem" / "generator_effects.csv", index=False)
    pd.DataFrame({"arm": ["every_5_rounds"], **{f"{m}{end}": [v + d] for m, v in
                                                (("exposure_entropy", 0.3), ("homogenization", -0.02), ("ctr", -0.01))
                                                for end, d in (("", 0.0), ("_low", -0.1), ("_high", 0.1))}}
                 ).to_csv(root / "08_ecosystem" / "cadence_effects.csv", index=False)
    pd.DataFrame({"arm": ["agents"], "synthetic_share": [0.8], **{f"{m}{end}": [v + d] for m, v in
                  (("homogenization", 0.2), ("consumption_entropy", -1.0), ("true_utility", -0.15))
                  for end, d in (("", 0.0), ("_low", -0.1), ("_high", 0.1))}}
                 ).to_csv(root / "08_ecosystem" / "agents_vs_humans.csv", index=False)
    pd.DataFrame({"arm": ["assisted"], "synthetic_share": [0.0], **{f"{m}{end}": [v + d] for m, v in
                  (("assisted_exposure_share", 0.4), ("intra_list_diversity", -0.07))
                  for end, d in (("", 0.0), ("_low", -0.1), ("_high", 0.1))}}
                 ).to_csv(root / "08_ecosystem" / "assisted_vs_human_creators.csv", index=False)
    for section in SECTIONS:
        for fig in section.figures:
            folder = root / fig.folder
            (folder / fig.stem).parent.mkdir(parents=True, exist_ok=True)
            (folder / f"{fig.stem}.png").write_bytes(PNG + fig.stem.encode())  # distinct bytes per figure
            (folder / f"{fig.stem}.pdf").write_bytes(PDF)
    return root


@pytest.fixture()
def results(tmp_path) -> Path:
    return make_results(tmp_path / "results")


def test_writeup_holds_every_figure_and_every_number_matches_its_table(results):
    built = build_writeup(results)
    assert built.markdown == results / "writeup" / "writeup.md"
    numbers = check_writeup(results, results / "writeup")
    ids = {c["id"] for c in numbers["claims"]}
    assert {"collapse.exposure_topic_entropy", "tradeoffs.epsilon_greedy.exposure_entropy",
            "tradeoffs.epsilon_greedy.cost_per_nat", "data_separation.human_only.share.exposure_topic_entropy",
            "capacity.embedding_dim.exposure_entropy"} <= ids
    # study 02's paragraph reads the strength sweeps' herding table
    assert ("`ucb_strength_mf`: within-round exposure entropy at most +0.61 nats against greedy (beta 0.5), herding "
            "at beta 4, 16; `novelty_strength_content`: within-round exposure entropy at most +0.20 nats against "
            "greedy (novelty_weight 0.25), no herding in the range swept.") in built.markdown.read_text()
    # study 00's paragraph counts its checks' claims: 3 of 4 testable agree, the failing one named
    assert ("2 published results rerun with labkit's own modules and checked in code, 3 of 4 claims"
            in built.markdown.read_text())
    assert "Zhou et al., SIGIR 2025 (`source_bias`): 1 of 2 claims reproduced (not: the gap escalates)" \
        in built.markdown.read_text()
    # study 08's paragraph reads the creators' summary and the generator, cadence, agents' and assisted effects
    assert ("`greedy` at synthetic share 0.8: 16.2 [14.0, 18.5] active creators, long-tail creators' share "
            "0.042 [0.030, 0.054]") in built.markdown.read_text()
    assert ("`full`: consumption topic entropy +0.120 [-0.070, +0.310] nats, users' taste entropy -0.200 "
            "[-0.300, -0.100] nats.") in built.markdown.read_text()
    assert ("`every_5_rounds`: exposure entropy +0.300 [+0.200, +0.400] nats, homogenization -0.020 "
            "[-0.120, +0.080], CTR -0.010 [-0.110, +0.090].") in built.markdown.read_text()
    assert ("at synthetic share 0.8: homogenization +0.200 [+0.100, +0.300], consumption entropy -1.000 "
            "[-1.100, -0.900] nats, true utility -0.150 [-0.250, -0.050]") in built.markdown.read_text()
    assert ("at synthetic share 0: assisted items' share of impressions 0.400 [0.300, 0.500], intra-list "
            "diversity -0.070 [-0.170, +0.030].") in built.markdown.read_text()
    # the method counts the studies' clear effects from their effect tables
    from labkit.analysis import tables
    from labkit.analysis.writeup import EFFECT_TABLES
    counts = tables.clear_effects(results / name for name in EFFECT_TABLES)
    assert not counts.empty and 0 < counts["clear"].sum() < counts["effects"].sum()
    assert (f"Effects clear at 95%: {counts['clear'].sum()} of the {counts['effects'].sum()} paired changes"
            in built.markdown.read_text())
    # study 09's paragraph counts its alarms table: fired in 2 of 3 seeds, gini named twice
    assert "`ai_and_drift`: the alarm fired in 2 of 3 seeds (metrics towards collapse: gini in 2, coverage in 1)" \
        in built.markdown.read_text()
    assert "`neither`: the alarm fired in 0 of 3 seeds (metrics towards collapse: none)" in built.markdown.read_text()


def test_writeup_headline_table_has_a_row_per_comparison(results):
    md = build_writeup(results).markdown.read_text()
    table = md[md.index("## Headline effects"):].split("\n\n")[2].splitlines()
    assert table[0].startswith("| comparison | study | Δ exposure entropy (nats)")
    rows = [line.split(" | ")[0].lstrip("| ") for line in table[2:]]
    assert rows[0] == "GenAI + drift vs neither (greedy)"
    assert {"epsilon_greedy (epsilon=0.2)", "softmax (temperature=1)", "human_only"} <= set(rows)
    assert "embedding_dim=64 vs embedding_dim=4" in rows


def test_writeup_html_is_self_contained(results):
    page = build_writeup(results).html.read_text()
    assert "<img" in page and not re.search(r'<img[^>]+src="(?!data:)', page)
    assert "<link" not in page and "<script" not in page


def test_writeup_is_the_same_bytes_when_built_twice(results, tmp_path):
    first = build_writeup(results, tmp_path / "a")
    second = build_writeup(results, tmp_path / "b")
    for name in ("writeup.md", "writeup.html", "numbers.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert first.findings.sentences == second.findings.sentences


def test_writeup_names_a_study_that_has_not_run(results):
    (results / "05_capacity" / "metrics.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="05_capacity"):
        build_writeup(results)


def test_writeup_names_a_missing_figure(results):
    (results / "03_stochasticity" / "stochasticity_levers.pdf").unlink()
    with pytest.raises(FileNotFoundError, match="stochasticity_levers.pdf"):
        build_writeup(results)
