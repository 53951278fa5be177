"""How many rounds the loop's interaction log holds: what the run reads of it.

The log (:class:`labkit.sim.data.Log`) is a ring of ``log_rounds(static)`` rounds. It keeps
every round where something reads them all, the window of a windowed data strategy otherwise,
and the current round when nothing reads back (the ``log_capacity`` lever; docs/scale-out.md,
"Memory that does not grow with the run"). ``labkit.sim.loop`` re-exports both functions.
"""

from __future__ import annotations

from labkit.sim import data as data_mod
from labkit.sim.config import Static
from labkit.sim.recommenders import RECOMMENDERS


def every_round_reader(static: Static) -> str | None:
    """Why ``static``'s run reads every logged round (so its log keeps them all), or None:
    ``log_capacity = full``, ``consumption = once`` (:func:`labkit.sim.loop.consumed_history`), ``bonus_scope
    = per_user`` (:func:`labkit.sim.loop.own_exposure`), or the recommender's retraining (no ``update``, or its
    ``reads_log`` says so: ``mf`` under ``full`` training; ``content`` once slots are reused)."""
    recommender = RECOMMENDERS[static.recommender]
    if static.log_capacity == "full":
        return "log_capacity = full"
    if static.consumption == "once":
        return "consumption = once (each user's consumed items)"
    if static.bonus_scope == "per_user":
        return "bonus_scope = per_user (each user's own impressions)"
    if recommender.update is None:
        return f"{static.recommender} (fitted on the whole training table each round)"
    return recommender.reads_log(static) if recommender.reads_log is not None else None


def log_rounds(static: Static) -> int:
    """How many rounds the interaction log's ring holds in ``static``'s run: what the run reads.

    Every round where something reads them all (:func:`every_round_reader`); else a windowed
    strategy's window and the round leaving it (``window + 1``: the running totals take that
    round out); else the current round (1). Never more than ``rounds``. The numbers are those
    of a whole log: the readers sum the same impressions, and where a smaller log would change
    a float sum's order (MF's whole-table training) it keeps every round. The homogenization
    metric's click history (``users x rounds``, 4 bytes a user-round, against the log's
    ``11 slate_size + 1``) keeps every round regardless. A run past ``rounds`` rounds
    (:func:`run_rounds` with more keys) may read further back: give it ``log_capacity = full``.
    """
    if every_round_reader(static) is not None:
        return static.rounds
    window = data_mod.strategy(static).window
    return min(static.rounds, 1 if window is None else window(static) + 1)
