"""Why a per-user bonus does not stop the herding under ``mf`` (issue 20): a measurement.

On the world of ``scripts/bonus_units.py`` (120 users, 240 items, 8-item slates, 24 rounds,
GenAI share 0.7, drift 0.15; ``ucb`` in standardized units), for each recommender, bonus
scope and ``beta``, with new items each round (10, the default) or none, the late rounds'
(last 10) mean of: within-round exposure entropy, slate overlap between user pairs, the
share of impressions on items created that round, cumulative coverage, CTR; and, at the
final state of greedy, how alike users' scores are (mean correlation over user pairs of
their standardized score rows over the live items)::

    python scripts/herding_scope.py                     # mf and content, 4 seeds
    python scripts/herding_scope.py --recommenders mf --seeds 6
    python scripts/herding_scope.py --recommenders mf --centre-items   # the intervention below

``--centre-items`` tests one explanation of per-user herding: that users' scores share a
common item effect (every user ranks some items high), so the items each user has not
been shown yet are, for most users, the same next-best ones. It subtracts from each
item's score its mean over the users of the scoring block (all 120 users here) before the
policy runs, which removes that shared effect and keeps each user's deviations from it.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from labkit.analysis.tables import late_window
from labkit.sim.config import Config, params_grid
from labkit.sim.loop import simulate_grid
from labkit.sim.policies import standardized
from labkit.sim.recommenders import RECOMMENDERS, Observation

WORLD = dict(n_users=120, n_items=240, initial_items=240, slate_size=8, rounds=24, synthetic_share=0.7,
             drift=0.15, policy="ucb", score_units="standardized")
BETAS = [0.0, 1.0, 4.0]


def fresh_share(state, late: int) -> np.ndarray:
    """Per point and seed: share of the late rounds' impressions on items created that round."""
    log, catalog = state.log, state.catalog
    item, uid, rnd = np.asarray(log.item), np.asarray(log.uid), np.asarray(log.round)  # [p, s, R, U, k], [p, s, R]
    cat_uid, birth = np.asarray(catalog.uid), np.asarray(catalog.birth)  # [p, s, items]
    p, s = item.shape[:2]
    out = np.zeros((p, s))
    for i in range(p):
        for j in range(s):
            still = cat_uid[i, j][item[i, j]] == uid[i, j]
            fresh = still & (birth[i, j][item[i, j]] == rnd[i, j][:, None, None])
            last = rnd[i, j] >= rnd[i, j].max() - late + 1
            out[i, j] = fresh[last].mean()
    return out


def score_alikeness(config: Config, state) -> float:
    """Mean over user pairs of the correlation of their standardized scores (greedy's final state, seed-mean)."""
    rec = RECOMMENDERS[config.recommender]
    values = []
    for j in range(state.round.shape[1]):
        one = jax.tree.map(lambda x: x[0, j], state)
        scores = rec.score(one.recommender, Observation(one.catalog, one.users), jax.random.key(0),
                           jnp.arange(config.n_users))
        z = np.asarray(standardized(scores, one.catalog.alive))[:, np.asarray(one.catalog.alive)]
        corr = np.corrcoef(z)
        values.append(corr[np.triu_indices(len(corr), 1)].mean())
    return float(np.mean(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recommenders", default="mf,content")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--centre-items", action="store_true",
                        help="subtract each item's mean score over the block's users (the shared item effect)")
    args = parser.parse_args()
    if args.centre_items:
        for name, rec in list(RECOMMENDERS.items()):
            def centred(state, obs, key, users, score=rec.score):
                scores = score(state, obs, key, users)
                return scores - scores.mean(axis=0, keepdims=True)
            RECOMMENDERS[name] = rec._replace(score=centred)
    seeds = list(range(args.seeds))
    late = late_window(WORLD["rounds"])
    print("| recommender | new items | scope | beta | exposure entropy | slate overlap | fresh share | "
          "cumulative coverage | CTR |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for recommender in args.recommenders.split(","):
        for new_items in ((10,) if args.centre_items else (10, 0)):
            for scope in ("global", "per_user", "randomized"):
                config = Config.from_dict(WORLD, recommender=recommender, new_items=new_items, bonus_scope=scope)
                params, _ = params_grid(config, {"beta": BETAS})
                state, metrics = simulate_grid(config, params, seeds)
                m = {k: np.asarray(v)[..., -late:].mean(-1) for k, v in metrics.items()}
                fresh = fresh_share(state, late)
                for i, beta in enumerate(BETAS):
                    if beta == 0 and scope != "global":
                        continue  # no bonus: every scope is greedy
                    cells = [m["exposure_entropy"][i], m["slate_overlap"][i], fresh[i],
                             np.asarray(metrics["cumulative_coverage"])[i, :, -1], m["ctr"][i]]
                    se = lambda v: v.std(ddof=1) / np.sqrt(len(v))  # noqa: E731
                    print(f"| {recommender} | {new_items} | {scope} | {beta:g} | "
                          + " | ".join(f"{v.mean():.3f} ({se(v):.3f})" for v in cells) + " |", flush=True)
                if scope == "global":
                    print(f"<!-- {recommender}, new items {new_items}: users' score alikeness at greedy's "
                          f"final state {score_alikeness(config, state):.3f} -->", flush=True)


if __name__ == "__main__":
    main()
