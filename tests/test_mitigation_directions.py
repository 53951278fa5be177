"""Every mitigation that is not an additive bonus, at moderate strength in standardized units,
under ``content``, ``popularity`` and ``mf``: which of them widen what is shown over the run
(cumulative exposure entropy above greedy's by two paired SE over six seeds), and, where one
does not, the mechanism (docs/mitigation-units.md, "Every other mitigation"). The bonuses
(ucb's ``beta``, the novelty reward) are tested in tests/test_mitigation_units.py.

The world, strengths and measurements are those of ``scripts/mitigation_directions.py`` (which
prints the table of the docs): one compiled program per (recommender, mitigation), its
lever's 'off' value (greedy) and moderate strength vmapped in one call. Fifteen programs:
compile-bound (about 10 CPU seconds each at O0 on the 2-core machine, the run < 1 s).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "mitigation_directions.py"
_SPEC = importlib.util.spec_from_file_location("mitigation_directions", _PATH)
D = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(D)

SEEDS = range(6)
# where the moderate strength raises cumulative exposure entropy over greedy's
RAISES = {"content": set(D.MITIGATIONS), "popularity": set(D.MITIGATIONS) - {"mmr"},
          "mf": {"thompson", "softmax", "epsilon_greedy"}}


@pytest.fixture(scope="module", params=D.RECOMMENDERS)
def world(request):
    """(recommender, {mitigation: [off point, moderate point]}); reserve has no off point: greedy's
    (the epsilon_greedy program's epsilon 0) stands in."""
    got = {}
    for mitigation, (_, _, off, moderate) in D.MITIGATIONS.items():
        got[mitigation] = D.run(request.param, mitigation, [v for v in (off, moderate) if v is not None], SEEDS)
    got["reserve"].insert(0, got[D.GREEDY][0])
    return request.param, got


def test_greedy_is_one_world_in_every_program(world):
    """thompson's beta 0, softmax's temperature 0 and mmr's lambda 1 run greedy's world, so one
    greedy serves every comparison (two programs may differ in the last float bits)."""
    _, got = world
    for mitigation in ("thompson", "softmax", "mmr"):
        for column in ("cumulative_exposure_entropy", "exposure_entropy", "ctr"):
            np.testing.assert_allclose(got[mitigation][0][column], got[D.GREEDY][0][column], rtol=1e-4, atol=1e-5,
                                       err_msg=f"{mitigation} {column}")


def test_which_mitigations_widen_the_run_at_moderate_strength(world):
    """thompson (beta 1), softmax (temperature 0.5) and epsilon (0.2) raise cumulative exposure
    entropy under every recommender; reserve (0.2) under content and popularity; mmr (0.5) under
    content only. Every other pair does not raise it (checked here; why: the tests below)."""
    recommender, got = world
    for mitigation, (off, moderate) in got.items():
        mean, se = D.gain(moderate, off, "cumulative_exposure_entropy")
        if mitigation in RAISES[recommender]:
            assert mean > 2 * se and mean > 0.03, (recommender, mitigation, mean, se)
        else:
            assert mean < 2 * se, (recommender, mitigation, mean, se)


def test_under_popularity_mmr_shows_every_user_one_slate(world):
    """``popularity`` scores items alike for every user, and MMR is deterministic: every user
    gets the same diversified slate (slate overlap 1, the round's entropy log k), so the run
    shows no more of the catalog than greedy's one slate, though CTR rises."""
    recommender, got = world
    if recommender != "popularity":
        pytest.skip("popularity only")
    off, moderate = got["mmr"]
    np.testing.assert_allclose(moderate["slate_overlap"], 1.0)
    np.testing.assert_allclose(moderate["exposure_entropy"], np.log(D.WORLD["slate_size"]), rtol=1e-5)
    mean, se = D.gain(moderate, off, "ctr")
    assert mean > 2 * se, (mean, se)


def test_under_mf_mmr_and_reserve_narrow_the_run(world):
    """Under ``mf`` two mitigations lower cumulative exposure entropy, each for its own reason.
    MMR sends every user to the items least like the others (the dissimilar complement of any
    slate): the share of the run's impressions on that fifth of the catalog rises. The reserve
    stream widens each round, but the model trains on the stream's rows only, never on what its
    own ranking showed (no negatives from shown, unclicked items), so the ranked slots repeat
    from round to round more than greedy's, and CTR falls."""
    recommender, got = world
    if recommender != "mf":
        pytest.skip("mf only")
    for mitigation in ("mmr", "reserve"):
        mean, se = D.gain(got[mitigation][1], got[mitigation][0], "cumulative_exposure_entropy")
        assert mean < -2 * se, (mitigation, mean, se)
    mmr, reserve = got["mmr"], got["reserve"]
    for point, column, sign in [(mmr, "distinct_share", 1), (reserve, "exposure_entropy", 1),
                                (reserve, "repeat_share", 1), (reserve, "ctr", -1)]:
        mean, se = D.gain(point[1], point[0], column)
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
