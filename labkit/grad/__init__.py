"""Gradients through the feedback loop, and levers tuned by them.

* :mod:`labkit.grad.relaxed`: the relaxed loop, each discrete step given a smooth
  counterpart at a relaxation temperature; differentiable in every continuous lever.
* :mod:`labkit.grad.estimators`: objectives (a metric reduced over rounds) and the
  pathwise gradient on the relaxed loop, per seed, with standard errors.
* :mod:`labkit.grad.score`: the score-function (REINFORCE) gradient on the exact loop.
* :mod:`labkit.grad.tune`: optax tuning of levers for a long-term objective under a CTR
  floor, judged on the exact loop (``labkit tune``).
"""

from labkit.grad.estimators import Gradient, GradientError, Objective, finite_difference, objective, pathwise
from labkit.grad.relaxed import RELAXED_METRICS
from labkit.grad.score import score_function, score_levers
from labkit.grad.tune import TuneResult, tune

__all__ = ["Gradient", "GradientError", "Objective", "RELAXED_METRICS", "TuneResult", "finite_difference",
           "objective", "pathwise", "score_function", "score_levers", "tune"]
