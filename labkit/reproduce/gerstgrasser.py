"""Reproduction ``accumulate``: accumulating data against replacing it, in linear regression.

Gerstgrasser et al. 2024, the linear-regression model: least-squares models fitted
generation after generation on their predecessors' labels, on the rows that labkit's data
strategies (``replace``, ``accumulate``) keep. Replacing makes the excess test error grow
linearly; accumulating keeps it below ``pi^2/6`` of the first generation's.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jaxtyping import Array, Float

from labkit.reproduce.common import Paper, Reproduction, _claim, _figure, _verdict, generation_weights
from labkit.sim.config import ConfigError

NAME = "accumulate"
CITATION = ("Gerstgrasser, Schaeffer, Dey, Rafailov, Pai et al., \"Is model collapse inevitable? "
            "Breaking the curse of recursion by accumulating real and synthetic data\" (2024), "
            "the linear-regression model")
# The settings that are not labkit levers, with their defaults (a study file's `setup` overrides them).
SETUP = {"n_features": 10, "n_samples": 50, "noise": 1.0, "generations": 30, "repetitions": 4000,
         "strategies": ["replace", "accumulate"], "seed": 0}


@partial(jax.jit, static_argnums=(2, 3, 4, 5))
def _regression_runs(keys, strategy_index, strategies: tuple[str, ...], n_features: int, n_samples: int,
                     generations: int, noise) -> Float[Array, "runs repetitions generations"]:
    """Excess errors of several runs (a strategy each, ``strategy_index`` into ``strategies``) in
    one compiled program; ``keys``: one per run and repetition."""
    rows = generations + 1

    def one_run(args):
        keys, s_index = args

        def chain(key):
            k_x, k_w, k_noise = jax.random.split(key, 3)
            x = jax.random.normal(k_x, (n_samples, n_features))
            w_true = jax.random.normal(k_w, (n_features,))
            eps = noise * jax.random.normal(k_noise, (rows, n_samples))
            labels = jnp.zeros((rows, n_samples)).at[0].set(x @ w_true + eps[0])

            def one_generation(labels, current):
                weights = jnp.stack([generation_weights(s, rows, n_samples, current) for s in strategies])[s_index]
                # Weighted least squares on the stacked generations; they all share the design x.
                gram = x.T @ (weights.sum(0)[:, None] * x)
                w_hat = jnp.linalg.solve(gram, x.T @ (weights * labels).sum(0))
                labels = labels.at[current + 1].set(x @ w_hat + eps[current + 1])
                return labels, jnp.sum((w_hat - w_true) ** 2)

            return jax.lax.scan(one_generation, labels, jnp.arange(generations))[1]

        return jax.vmap(chain)(keys)

    return jax.lax.map(one_run, (keys, strategy_index))


def regression_errors(key: Array, strategy: str | Sequence[str], n_features: int, n_samples: int,
                      generations: int, repetitions: int, noise: float = 1.0) -> Float[Array, "..."]:
    """Excess test error of each generation of least-squares models fitted on their predecessors.

    The linear model of Gerstgrasser et al.: a fixed Gaussian design ``x`` (``n_samples x
    n_features``, N(0, 1) entries), a true weight ``w*``, labels ``y_0 = x w* + eps``.
    Model ``n`` (n = 1..``generations``) is ordinary least squares on the rows the data
    ``strategy`` keeps (:func:`generation_weights`); generation ``n``'s labels are
    ``x w_n + eps_n`` (fresh noise of standard deviation ``noise``). The excess test
    error is ``|w_n - w*|^2`` (the test MSE minus ``noise^2`` for isotropic test inputs).

    Shape ``[repetitions, generations]`` for one strategy; ``[strategies, repetitions,
    generations]`` for a list (one compiled call; the strategies see the same draws).
    """
    if n_samples <= n_features + 1:
        raise ConfigError(f"accumulate: n_samples = {n_samples} must exceed n_features + 1 = "
                          f"{n_features + 1} for the expected error to be finite")
    strategies = (strategy,) if isinstance(strategy, str) else tuple(strategy)
    keys = jnp.stack([jax.random.split(key, repetitions)] * len(strategies))
    out = _regression_runs(keys, jnp.arange(len(strategies)), strategies, int(n_features), int(n_samples),
                           int(generations), jnp.float32(noise))
    return out[0] if isinstance(strategy, str) else out


def run_accumulate(spec: Reproduction) -> pd.DataFrame:
    """Run accumulate versus replace: one row per (strategy, generation).

    Columns: mean and standard error of the excess test error over repetitions, the
    first generation's expected error ``e1 = noise^2 d / (T - d - 1)``, the published law
    (``replace``: ``n e1``; ``accumulate``: ``e1 sum_{i<=n} 1/i^2``) and the bound
    ``pi^2/6 e1``.
    """
    s = spec.setup
    d, t, noise, g = s["n_features"], s["n_samples"], s["noise"], s["generations"]
    e1 = noise ** 2 * d / (t - d - 1)
    n = np.arange(1, g + 1)
    strategies = list(s["strategies"])
    errors = np.asarray(jax.device_get(regression_errors(jax.random.key(s["seed"]), strategies, d, t, g,
                                                         s["repetitions"], noise)), np.float64)
    laws = {"replace": n * e1, "accumulate": e1 * np.cumsum(1.0 / n ** 2)}
    rows = []
    for strategy, err in zip(strategies, errors):
        rows.append(pd.DataFrame({
            "strategy": strategy, "generation": n, "repetitions": err.shape[0], "n_features": d,
            "n_samples": t, "noise": noise, "mean_error": err.mean(0),
            "se_error": err.std(0, ddof=1) / np.sqrt(err.shape[0]), "e1": e1,
            "law": laws.get(strategy, np.full(g, np.nan)), "bound": math.pi ** 2 / 6 * e1,
        }))
    return pd.concat(rows, ignore_index=True)


def check_accumulate(table: pd.DataFrame, z: float = 4.0, slope_tolerance: float = 0.1) -> dict:
    """Does accumulating data keep the error bounded while replacing it grows linearly?

    Claims (Gerstgrasser et al., fixed-design linear regression):

    1. ``replace``: the excess test error of generation ``n`` is ``n e1`` (within ``z``
       standard errors at every generation), so its slope per generation is ``e1``
       (measured slope / e1 within ``slope_tolerance`` of 1, or within ``z`` times the
       last generation's relative standard error if that is larger);
    2. ``accumulate``: the error is ``e1 sum_{i<=n} 1/i^2`` (within ``z`` standard errors)
       and never significantly above the bound ``pi^2/6 e1``;
    3. at the last generation ``accumulate`` is well below ``replace``: their ratio is at
       least half the published ``G / sum_{i<=G} 1/i^2``.
    """
    claims = []
    rep = table[table["strategy"] == "replace"].sort_values("generation")
    acc = table[table["strategy"] == "accumulate"].sort_values("generation")
    e1 = float(table["e1"].iloc[0])
    if len(rep):
        zr = ((rep["mean_error"] - rep["law"]).abs() / rep["se_error"]).max()
        slope = np.polyfit(rep["generation"], rep["mean_error"], 1)[0] / e1
        # The slope is carried by the late generations: allow their relative Monte-Carlo error too.
        allowed = max(slope_tolerance, z * float(rep["se_error"].iloc[-1] / rep["mean_error"].iloc[-1]))
        claims.append(_claim(
            "replace: error grows linearly, n * sigma^2 d/(T-d-1)",
            {"slope / e1": round(float(slope), 3), "max |z| vs law": round(float(zr), 2),
             "last generation error / e1": round(float(rep["mean_error"].iloc[-1] / e1), 2)},
            {"slope / e1": 1.0, "last generation error / e1": int(rep["generation"].iloc[-1])},
            f"|slope/e1 - 1| <= {allowed:.3g} and |z| <= {z:g}",
            abs(slope - 1) <= allowed and zr <= z))
    if len(acc):
        za = ((acc["mean_error"] - acc["law"]).abs() / acc["se_error"]).max()
        above = ((acc["mean_error"] - acc["bound"]) / acc["se_error"]).max()
        claims.append(_claim(
            "accumulate: error stays bounded by pi^2/6 of the first generation's",
            {"max error / e1": round(float(acc["mean_error"].max() / e1), 3),
             "max |z| vs law": round(float(za), 2)},
            {"bound / e1": round(math.pi ** 2 / 6, 3)},
            f"|z| <= {z:g}; not above the bound by more than {z:g} SE", za <= z and above <= z))
    if len(rep) and len(acc):
        g = int(rep["generation"].iloc[-1])
        ratio = float(rep["mean_error"].iloc[-1] / acc["mean_error"].iloc[-1])
        published = g / float(np.sum(1.0 / np.arange(1, g + 1) ** 2))
        claims.append(_claim(
            "last generation: accumulate well below replace",
            {"replace / accumulate": round(ratio, 2)}, {"replace / accumulate": round(published, 2)},
            ">= half the published ratio", ratio >= 0.5 * published))
    return _verdict(NAME, CITATION, claims)



def figure_accumulate(table: pd.DataFrame):
    """Mean excess test error over the first generation's, with the published laws."""
    from labkit.analysis.style import style

    with style():
        fig, (a,) = _figure(1, width=3.4, height=2.4)
        e1 = float(table["e1"].iloc[0])
        for strategy, g in table.groupby("strategy", sort=False):
            line, = a.plot(g["generation"], g["mean_error"] / e1, marker="o", ms=2.5, lw=1, label=strategy)
            a.fill_between(g["generation"], (g["mean_error"] - 2 * g["se_error"]) / e1,
                           (g["mean_error"] + 2 * g["se_error"]) / e1, color=line.get_color(), alpha=0.25, lw=0)
            a.plot(g["generation"], g["law"] / e1, ls="--", color="k", lw=0.8)
        a.axhline(math.pi ** 2 / 6, color="k", lw=0.6, ls=":")
        a.text(table["generation"].max(), math.pi ** 2 / 6, "pi^2/6", va="bottom", ha="right")
        a.plot([], [], ls="--", color="k", lw=0.8, label="published law")
        a.set(xlabel="model-fitting generation n", ylabel="excess test error / first generation's",
              title="linear regression on its own predictions")
        a.legend(frameon=False)
    return fig


PAPER = Paper(NAME, CITATION, SETUP, run_accumulate, check_accumulate, figure_accumulate)
