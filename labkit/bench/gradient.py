"""What a gradient through the feedback loop costs: ``jax.value_and_grad`` of an objective of
the *relaxed* loop (:func:`labkit.grad.relaxed.run`) against a forward pass of the same objective.

Both programs take the same params, key and relaxation temperature and compute the same
scalar; the second also returns its gradient with respect to every
:class:`~labkit.sim.config.Params` lever (the pathwise estimator's work for one seed,
:func:`labkit.grad.estimators.pathwise`). The issue's targets are stated as their ratios:
run time at most :data:`GRAD_RUN_TARGET` x, XLA's memory plan at most
:data:`GRAD_MEMORY_TARGET` x the forward pass's.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from labkit.bench.timing import alternating_medians, compile_timed, matmul_gflops, state_mb
from labkit.bench.worlds import _row
from labkit.grad import relaxed
from labkit.grad.estimators import Objective, as_params
from labkit.sim.config import Config

# The objective differentiated, and the relaxation temperature: labkit tune's defaults.
GRAD_OBJECTIVE = Objective("consumption_entropy", "last")
GRAD_TEMPERATURE = 0.5

# The world of the gradient rows (the ladder's first rung), and --quick's.
GRAD_SIZE = "1000x1000x50"
GRAD_QUICK_SIZE = "100x200x9"

# The targets: value-and-grad against the forward pass of the same relaxed loop.
GRAD_RUN_TARGET = 4.0
GRAD_MEMORY_TARGET = 3.0


def bench_gradient(config: Config, repeats: int, objective: Objective = GRAD_OBJECTIVE,
                   relax_temperature: float = GRAD_TEMPERATURE) -> list[dict[str, Any]]:
    """Two rows of the ``relaxed_grad`` benchmark, one seed: ``forward`` (the objective of
    the relaxed loop) and ``value_and_grad`` (the same and its gradient in every param
    lever), each compiled once, then run ``repeats`` times in alternation (the median kept), so
    that both share the machine's state.

    ``compiled_mb`` is XLA's plan (arguments + outputs + temporaries) of each program, the
    memory the ratio is taken of; ``state_mb`` the relaxed loop's state.
    """
    static = config.static
    relaxed.check_supported(static)
    params = as_params(config.params)
    key = jax.random.key(0)
    tau = jnp.asarray(relax_temperature, jnp.result_type(*jax.tree.leaves(params)))

    def forward(p, k, t):
        return objective(relaxed.run(static, p, k, t)[1])

    gflops = matmul_gflops(min(static.block_users, static.n_users), static.n_topics, static.n_items)
    relaxed_state_mb = state_mb(static, params, init=lambda k, s, p: relaxed.init_state(k, s, p, tau))
    note = f"{objective.describe()}, relax_temperature {relax_temperature:g}"
    compiled, compile_s = {}, {}
    for mode, fn in (("forward", forward), ("value_and_grad", jax.value_and_grad(forward))):
        compiled[mode], compile_s[mode] = compile_timed(jax.jit(fn), params, key, tau)
    run_s = alternating_medians({mode: (lambda program=program: program(params, key, tau))
                                 for mode, program in compiled.items()}, repeats)
    return [{**_row("relaxed_grad", mode, config, 1, compiled[mode], compile_s[mode], run_s[mode], repeats, gflops),
             "state_mb": relaxed_state_mb, "note": note} for mode in compiled]
