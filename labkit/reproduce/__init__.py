"""Reproductions of published results, run on labkit's own pieces and checked in code.

Each paper is one study file ``experiments/reproduce_<name>.yaml``, one function
that runs it and returns a tidy table, one ``check_<name>(table)`` that says whether the
table agrees with the published finding (and by how much), and one figure that draws
the table beside the published shape. The notebook ``notebooks/00_reproductions`` and
the tests ``tests/test_reproduce_*.py`` call the same functions, so a figure, a test and
the pass/fail table can never disagree.

========== ============ ========================================= ===================================
name       module       paper                                     labkit pieces reproduced
========== ============ ========================================= ===================================
generator  shumailov    Shumailov et al., Nature 2024 (model      ``generator.fit_gaussian``,
                        collapse)                                 ``generator.sample_latent``
accumulate gerstgrasser Gerstgrasser et al., 2024 (accumulate vs  ``data.STRATEGIES``
                        replace)                                  (``accumulate``, ``replace``)
chaney     chaney       Chaney, Stewart & Engelhardt, RecSys 2018 ``loop.step``, the recommenders,
                        (algorithmic confounding, homogenization) ``metrics.jaccard_homogenization``
degenerate jiang        Jiang et al., AIES 2019 (degenerate       ``simulate_grid``, ``epsilon_greedy``,
                        feedback loops)                           ``drift``, ``user_taste_entropy``
mad        alemohammad  Alemohammad et al., ICLR 2024 (self-      ``generator.fit_gaussian``,
                        consuming loops go MAD without fresh      ``sample_latent`` with temperature,
                        real data)                                ``data.STRATEGIES`` (``accumulate``)
golden_    he_xu_cheng  He, Xu & Cheng 2025; Garg, Bhattacharya   ``generator.fit_gaussian``,
ratio                   & Sur 2025 (real-data weight 1/phi)       ``downweight``'s ``synthetic_weight``
strong_    dohmatob     Dohmatob, Feng, Subramonian & Kempe,      ``data.STRATEGIES`` (``accumulate``,
collapse                ICLR 2025 (strong model collapse)         ``downweight``)
source_    zhou         Zhou, Dai, Pang, Wang, Dong, Xu & Wen,    ``simulate_seeds``, the GenAI's items,
bias                    SIGIR 2025 (source bias escalates)        ``source_parity``
========== ============ ========================================= ===================================

Each paper module declares itself once, as a :class:`~labkit.reproduce.common.Paper`
value ``PAPER`` (name, citation, setup defaults, run, check, figure); what the papers
share is :mod:`labkit.reproduce.common`. This package lists the modules once, builds the
registry from them and re-exports their functions. A new reproduction is a new module,
its study file, its test, and its entry in :data:`MODULES`.

A check returns ``{"name", "paper", "passed", "claims": [...]}``; each claim is a dict
``{"claim", "measured", "published", "tolerance", "passed"}`` with numbers, so the
notebook's table is computed, never typed. :func:`summary` turns a list of checks into
that table.

    spec = load("generator", scale="tiny")
    table = run(spec)                       # a tidy pandas DataFrame
    verdict = check_generator(table)        # {"passed": True, "claims": [...]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from labkit.reproduce import alemohammad, chaney, dohmatob, gerstgrasser, he_xu_cheng, jiang, shumailov, zhou
from labkit.reproduce.alemohammad import check_mad, figure_mad, run_mad, variance_law
from labkit.reproduce.chaney import (check_chaney, consumption_history, figure_chaney, run_chaney,
                                     simulate_with_startup, startup_phase)
from labkit.reproduce.common import (EXPERIMENTS, Paper, Reproduction, find_claim, generation_weights,
                                     mixed_weights, read_reproduction, summary)
from labkit.reproduce.dohmatob import check_strong_collapse, figure_strong_collapse, run_strong_collapse
from labkit.reproduce.gerstgrasser import check_accumulate, figure_accumulate, regression_errors, run_accumulate
from labkit.reproduce.he_xu_cheng import (check_golden_ratio, figure_golden_ratio, optimal_weight,
                                          run_golden_ratio)
from labkit.reproduce.jiang import check_degenerate, degeneracy_speed, figure_degenerate, run_degenerate
from labkit.reproduce.shumailov import (Chain, Fit, check_generator, figure_generator, generator_chains,
                                        run_generator)
from labkit.reproduce.zhou import check_source_bias, figure_source_bias, run_source_bias
from labkit.sim import prng

# The paper modules, in the order of the notebook's table.
MODULES = (shumailov, gerstgrasser, chaney, jiang, alemohammad, he_xu_cheng, dohmatob, zhou)

REGISTRY: dict[str, Paper] = {module.PAPER.name: module.PAPER for module in MODULES}
NAMES = tuple(REGISTRY)
PAPERS: dict[str, str] = {name: paper.citation for name, paper in REGISTRY.items()}
# Settings of each reproduction that are not labkit levers (sample sizes, chains...),
# with their defaults; a study file's `setup` may override them, and so may a scale's.
SETUP_DEFAULTS: dict[str, dict[str, Any]] = {name: paper.setup for name, paper in REGISTRY.items()}
RUNNERS: dict[str, Callable[[Reproduction], pd.DataFrame]] = {name: p.run for name, p in REGISTRY.items()}
CHECKS: dict[str, Callable[[pd.DataFrame], dict]] = {name: p.check for name, p in REGISTRY.items()}
FIGURES: dict[str, Callable[[pd.DataFrame], Any]] = {name: p.figure for name, p in REGISTRY.items()}


def load(name: str | Path, scale: str | None = None) -> Reproduction:
    """Read ``experiments/reproduce_<name>.yaml`` (or a path) and resolve it at ``scale``.

    See :func:`labkit.reproduce.common.read_reproduction`; ``scale=None`` means the
    file's ``default`` scale if it has one. Errors name the file and key.
    """
    return read_reproduction(name, scale, REGISTRY)


def run(spec: Reproduction | str, scale: str | None = None) -> pd.DataFrame:
    """Run a reproduction (a :class:`Reproduction` or its name, loaded at ``scale``)."""
    if isinstance(spec, str):
        spec = load(spec, scale)
    with prng.unrolled_threefry():  # labkit's programs only: see labkit.sim.prng
        return RUNNERS[spec.name](spec)


def check(name: str, table: pd.DataFrame) -> dict:
    """The check of reproduction ``name`` on its table."""
    return CHECKS[name](table)


def figure(name: str, table: pd.DataFrame):
    """The figure of reproduction ``name``: labkit's result beside the published shape."""
    return FIGURES[name](table)

