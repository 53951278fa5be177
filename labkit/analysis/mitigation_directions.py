"""Does each mitigation widen what is shown over the run, under each recommender? (issue 20)

On the tiny world of ``tests/test_mitigation_units.py`` (60 users, 120 items, 5-item slates,
15 rounds, 4 new items a round; policy levers in ``standardized`` units), for each of the
mitigations that are not an additive bonus (``thompson``'s spread ``beta``, ``softmax``'s
``temperature``, ``mmr``'s ``mmr_lambda``, ``epsilon_greedy``'s ``epsilon`` and the ``reserve``
data strategy's ``reserve_share``) under ``content``, ``popularity`` and ``mf``: the paired
change over greedy (same seeds) of cumulative exposure entropy and coverage at the last
round, and of the late rounds' (last 5) within-round exposure entropy, slate overlap of two
users, CTR and the repeat share (the share of a user's ranked slots holding an item of the same
user's ranked slots the round before); and at the end the distinct share (the share of the run's
impressions on the fifth of live items least like the others)::

    python -m labkit.analysis.mitigation_directions            # moderate strength, 6 seeds
    python -m labkit.analysis.mitigation_directions --sweep    # every strength of SWEEP

One compiled program per (recommender, mitigation); its strengths run together under
``jax.vmap``. Greedy is the ``epsilon`` program's point ``epsilon = 0`` (the same world as
``thompson``'s ``beta = 0``, ``softmax``'s ``temperature = 0`` and ``mmr``'s ``mmr_lambda = 1``;
``tests/test_mitigation_directions.py`` checks it); ``reserve`` at share 0 is not greedy (it trains on no row), so its baseline is that one.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

import labkit
from labkit import Config

WORLD = dict(n_users=60, n_items=120, initial_items=80, new_items=4, slate_size=5, rounds=15,
             n_topics=6, n_creators=12, n_pairs=64, embedding_dim=8, train_steps=5, score_units="standardized")
RECOMMENDERS = ("content", "popularity", "mf")
LATE = slice(-5, None)
# mitigation: (static levers, its lever, the value where it is off (greedy; None: no such value), moderate strength)
MITIGATIONS = {
    "thompson": (dict(policy="thompson"), "beta", 0.0, 1.0),
    "softmax": (dict(policy="softmax"), "temperature", 0.0, 0.5),
    "mmr": (dict(policy="mmr"), "mmr_lambda", 1.0, 0.5),
    "epsilon_greedy": (dict(policy="epsilon_greedy"), "epsilon", 0.0, 0.2),
    "reserve": (dict(data_strategy="reserve"), "reserve_share", None, 0.2),
}
SWEEP = {"thompson": [0.25, 0.5, 1.0, 2.0, 4.0], "softmax": [0.1, 0.25, 0.5, 1.0, 2.0],
         "mmr": [0.9, 0.75, 0.5, 0.25], "epsilon_greedy": [0.05, 0.1, 0.2, 0.3, 0.5],
         "reserve": [0.05, 0.1, 0.2, 0.3, 0.5]}
GREEDY = "epsilon_greedy"  # the program whose 'off' point is every table's greedy
COLUMNS = {"cumulative_exposure_entropy": "last", "cumulative_coverage": "last", "exposure_entropy": "late",
           "slate_overlap": "late", "ctr": "late", "repeat_share": "late",
           "distinct_share": "last"}


def repeat_share(log) -> np.ndarray:
    """Per round (``[..., rounds]``, in round order, the first 0): the share of a user's ranked
    slots (not exploration's) holding an item of the same user's ranked slots the round before,
    averaged over users; NaN where the log keeps fewer than two rounds (``popularity``'s)."""
    item, uid, rnd, organic = (np.asarray(a) for a in (log.item, log.uid, log.round, log.organic))
    if rnd.shape[-1] < 2:
        return np.full(rnd.shape, np.nan)
    order = np.argsort(rnd, axis=-1)
    take = lambda a: np.take_along_axis(a, order.reshape(order.shape + (1,) * (a.ndim - order.ndim)), axis=-3)  # noqa: E731
    ranked = np.where(take(organic), -2, take(uid))  # -2 matches no uid (empty slots hold -1)
    now, before = ranked[..., 1:, :, :, None], ranked[..., :-1, :, None, :]
    hit = (now == before).any(-1) & (now[..., 0] >= 0)
    shared = hit.sum(axis=(-1, -2)) / np.maximum((now[..., 0] >= 0).sum(axis=(-1, -2)), 1)
    return np.concatenate([np.zeros(shared.shape[:-1] + (1,)), shared], axis=-1)


def distinct_share(state) -> np.ndarray:
    """Per point and seed: the share of the run's impressions (of items live at the end) on the
    fifth of live items least like the others (lowest mean cosine similarity of topic features)."""
    alive, exposure, features = (np.asarray(a) for a in (state.catalog.alive, state.exposure, state.catalog.features))
    unit = features / np.linalg.norm(features, axis=-1, keepdims=True)
    out = np.zeros(alive.shape[:2])
    for index in np.ndindex(*alive.shape[:2]):
        live = alive[index]
        u = unit[index][live]
        likeness = (u @ u.T).mean(axis=1)
        odd = likeness <= np.quantile(likeness, 0.2)
        out[index] = exposure[index][live][odd].sum() / exposure[index][live].sum()
    return out


def run(recommender: str, mitigation: str, values: list[float], seeds) -> list[dict[str, np.ndarray]]:
    """One compiled call: per value of the mitigation's lever, per column of :data:`COLUMNS`,
    the value per seed (``[seeds]``: the last round's, or the late rounds' mean)."""
    static, lever, _, _ = MITIGATIONS[mitigation]
    config = Config.from_dict({**WORLD, **static, "recommender": recommender})
    points = [config.replace(**{lever: value}).params for value in values]
    state, metrics = labkit.simulate_grid(config, jax.tree.map(lambda *xs: np.stack(xs), *points), seeds)
    host = {name: np.asarray(metrics[name]) for name in COLUMNS if name in metrics}
    host["repeat_share"] = repeat_share(state.log)
    host["distinct_share"] = distinct_share(state)[..., None]  # read as its 'last' round
    return [{name: v[i, :, -1] if when == "last" else v[i, :, LATE].mean(-1) for name, when in COLUMNS.items()
             for v in [host[name]]} for i in range(len(values))]


def gain(got: dict[str, np.ndarray], greedy: dict[str, np.ndarray], column: str) -> tuple[float, float]:
    """The paired change over greedy across seeds: (mean, standard error)."""
    diff = got[column] - greedy[column]
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


def table(recommenders, strengths, seeds) -> list[str]:
    """Markdown rows: per recommender, mitigation and strength, every column's gain (SE)."""
    rows = ["| recommender | mitigation | strength | " + " | ".join(c.replace("_", " ") for c in COLUMNS) + " |",
            "| --- | --- | ---: |" + " ---: |" * len(COLUMNS)]
    print("\n".join(rows), flush=True)
    for recommender in recommenders:
        off = MITIGATIONS[GREEDY][2]
        greedy = None
        for mitigation in (GREEDY, *[m for m in MITIGATIONS if m != GREEDY]):
            values = strengths(mitigation)
            lead = [MITIGATIONS[mitigation][2]] if MITIGATIONS[mitigation][2] is not None else []
            got = run(recommender, mitigation, lead + values, seeds)
            greedy = got[0] if mitigation == GREEDY and off == lead[0] else greedy
            for value, point in zip(values, got[len(lead):]):
                cells = [gain(point, greedy, column) for column in COLUMNS]
                rows.append(f"| {recommender} | {mitigation} | {value:g} | "
                            + " | ".join(f"{m:+.2f} ({s:.2f})" for m, s in cells) + " |")
                print(rows[-1], flush=True)
        print(f"<!-- {recommender} greedy: " + ", ".join(f"{c} {np.nanmean(greedy[c]):.3f}" for c in COLUMNS) + " -->",
              flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recommenders", default=",".join(RECOMMENDERS))
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--sweep", action="store_true", help="every strength of SWEEP, not only the moderate one")
    args = parser.parse_args()
    strengths = (lambda m: SWEEP[m]) if args.sweep else (lambda m: [MITIGATIONS[m][3]])
    table(args.recommenders.split(","), strengths, range(args.seeds))


if __name__ == "__main__":
    main()
