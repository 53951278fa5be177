"""labkit.analysis.findings: the claims find the effects planted in hand-built tables, in the
report's order, and numbers.json holds them JSON-safe (the results folder is tests/test_writeup.py's)."""

import json

import pytest

from labkit.analysis.findings import findings, numbers_json
from test_writeup import make_results  # tests/ is on sys.path (pytest's rootdir-relative import)


@pytest.fixture()
def found(tmp_path):
    return findings(make_results(tmp_path / "results"))


def test_findings_find_the_planted_effects(found):
    claims = {c["id"]: c for c in numbers_json(found)["claims"]}
    assert claims["tradeoffs.epsilon_greedy.exposure_entropy"]["mean"] == pytest.approx(0.8, abs=0.1)
    assert claims["tradeoffs.epsilon_greedy.cost_per_nat"]["mean"] == pytest.approx(0.1, abs=0.03)
    assert claims["collapse.exposure_topic_entropy"]["high"] < 0
    assert claims["capacity.embedding_dim.exposure_entropy"]["mean"] == pytest.approx(-0.6, abs=0.1)
    assert claims["tradeoffs.human_only.cost_per_nat"]["mean"] is None  # keeps no entropy: no price


def test_findings_list_the_studies_in_the_report_order_with_one_sentence_each(found):
    studies = list(dict.fromkeys(claim.id.split(".")[0] for claim in found.claims.values()))
    assert studies == ["collapse", "tradeoffs", "tuning", "data_separation", "capacity"]
    assert [s.split("**")[1] for s in found.sentences] == [
        "Collapse (01).", "Mitigations (06).", "Tuned by gradient (07).", "Data separation (04).", "Capacity (05)."]
    assert [row["study"] for row in found.rows][:2] == ["01", "06"]
    cited = {cell for row in found.rows for cell in (*row["cells"].values(), row.get("cost")) if cell}
    assert cited <= set(found.claims)


def test_numbers_json_is_strict_json(found):
    numbers = numbers_json(found)
    json.dumps(numbers, allow_nan=False)  # NaN is null
    assert numbers["level"] == 95 and numbers["late_rounds"] == found.context["late_rounds_param"]
    assert [c["id"] for c in numbers["claims"]] == list(found.claims)
