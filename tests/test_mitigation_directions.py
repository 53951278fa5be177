"""Mitigations that are not an additive bonus, at moderate strength in standardized units
(docs/mitigation-units.md, "Every other mitigation"): the levers whose strength depends on the
recommender's score scale (``thompson``'s spread, ``softmax``'s temperature) widen the run under
``content``, and every cell of the recommender x mitigation table where a mitigation does *not*
widen it (``mmr`` under ``popularity`` and ``mf``, ``reserve`` under ``mf``) shows its mechanism.

The full table (15 cells, each its own compiled program) is
``python -m labkit.analysis.mitigation_directions``; the suite runs the five programs above
(about 10 CPU s each at O0, compile-bound), and tests/test_mitigations.py covers epsilon and
softmax under ``mf``, tests/test_mitigation_units.py the bonuses under all three. Cumulative
exposure entropy is compared with greedy's by two paired standard errors over six seeds.
"""

import numpy as np

from labkit.analysis import mitigation_directions as D

SEEDS = range(6)
_RUNS: dict = {}


def run(recommender, mitigation):
    """[off point, moderate point] of one program (one compiled call, memoized for the module);
    ``reserve`` has no off point: its first entry is None."""
    if (recommender, mitigation) not in _RUNS:
        _, _, off, moderate = D.MITIGATIONS[mitigation]
        got = D.run(recommender, mitigation, [v for v in (off, moderate) if v is not None], SEEDS)
        _RUNS[recommender, mitigation] = got if off is not None else [None, *got]
    return _RUNS[recommender, mitigation]


def test_greedy_is_one_world_in_every_program():
    """thompson's beta 0 and softmax's temperature 0 run greedy's world (two programs may differ
    in the last float bits); mmr's lambda 1 ranks as greedy does (tests/test_policies.py), so
    its off point serves as reserve's greedy under mf."""
    greedy = run("content", "thompson")[0]
    for column in ("cumulative_exposure_entropy", "exposure_entropy", "ctr", "slate_overlap"):
        np.testing.assert_allclose(run("content", "softmax")[0][column], greedy[column], rtol=1e-4, atol=1e-5,
                                   err_msg=column)


def test_thompson_and_softmax_widen_the_run_under_content():
    """Thompson's spread (beta 1) and softmax's temperature (0.5), in units of each user's score
    spread, raise cumulative exposure entropy over greedy's under ``content``, whose raw scores
    spread by about 1e-3 (in raw units these values would swamp them)."""
    for mitigation in ("thompson", "softmax"):
        off, moderate = run("content", mitigation)
        mean, se = D.gain(moderate, off, "cumulative_exposure_entropy")
        assert mean > 2 * se and mean > 0.3, (mitigation, mean, se)


def test_under_popularity_mmr_shows_every_user_one_slate():
    """``popularity`` scores items alike for every user, and MMR is deterministic: every user
    gets the same diversified slate (slate overlap 1, the round's entropy log k), so the run
    shows no more of the catalog than greedy's one slate, though CTR rises."""
    off, moderate = run("popularity", "mmr")
    np.testing.assert_allclose(moderate["slate_overlap"], 1.0)
    np.testing.assert_allclose(moderate["exposure_entropy"], np.log(D.WORLD["slate_size"]), rtol=1e-5)
    assert D.gain(moderate, off, "cumulative_exposure_entropy")[0] < 0.05
    mean, se = D.gain(moderate, off, "ctr")
    assert mean > 2 * se, (mean, se)


def test_under_mf_mmr_and_reserve_narrow_the_run():
    """Under ``mf`` two mitigations lower cumulative exposure entropy, each for its own reason.
    MMR sends every user to the items least like the others (the dissimilar complement of any
    slate): the share of the run's impressions on that fifth of the catalog rises. The reserve
    stream widens each round, but the model trains on the stream's rows only, never on what its
    own ranking showed (no negatives from shown, unclicked items), so the ranked slots repeat
    from round to round more than greedy's, and CTR falls."""
    greedy, mmr = run("mf", "mmr")
    reserve = run("mf", "reserve")[1]
    for got in (mmr, reserve):
        mean, se = D.gain(got, greedy, "cumulative_exposure_entropy")
        assert mean < -2 * se, (mean, se)
    for got, column, sign in [(mmr, "distinct_share", 1), (reserve, "exposure_entropy", 1),
                              (reserve, "repeat_share", 1), (reserve, "ctr", -1)]:
        mean, se = D.gain(got, greedy, column)
        assert sign * mean > 2 * se, (column, mean, se)


def test_repeat_share_counts_ranked_slots_shown_the_round_before():
    """A log of two users over three rounds (kept in ring order 2, 0, 1): a repeat counts where a
    ranked slot holds an item of the user's ranked slots the round before, not an explored one."""
    from types import SimpleNamespace

    uid = np.array([[[7, 1], [5, 6]], [[7, 2], [6, 4]], [[7, 3], [6, 4]]])[[2, 0, 1]]  # rounds 0, 1, 2 -> ring
    organic = np.zeros_like(uid, bool)
    organic[0, 1, 1] = True  # round 2 (ring row 0): user 1's second slot explored (item 4, shown in round 1)
    log = SimpleNamespace(item=uid, uid=uid, organic=organic, round=np.array([2, 0, 1]))
    # round 1: item 7 (user 0), item 6 (user 1) of 4 ranked slots; round 2: 7 and 6 of 3 ranked slots
    np.testing.assert_allclose(D.repeat_share(log), [0.0, 2 / 4, 2 / 3])
