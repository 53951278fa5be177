"""Reproduction ``golden_ratio``: the real-data weight that minimizes the long-run error is 1/phi.

He, Xu & Cheng (2025), Gaussian estimation; Garg, Bhattacharya & Sur (2025) show the same
limit for least squares and min-norm interpolation. Each generation, labkit's Gaussian
generator (:func:`labkit.sim.generator.fit_gaussian`) is fitted to ``n`` fresh real points
and ``m = k n`` points drawn from the previous generation's model
(:func:`labkit.sim.generator.sample_latent`), the synthetic rows weighted by labkit's
``downweight`` strategy (the ``synthetic_weight`` lever), so the real data carry the weight
``w = n / (n + synthetic_weight * m)`` of the fit.

The recursion, on paper. The fitted mean is ``mu_t = w rbar_t + (1 - w) sbar_t``, where
``rbar_t`` is the real points' mean (variance ``sigma^2/n``) and ``sbar_t`` the synthetic
points' mean, ``mu_{t-1}`` plus noise of variance ``var_{t-1}/m``. The error ``e_t = mu_t - mu``
is then ``w (rbar_t - mu) + (1 - w) (e_{t-1} + sbar_t - mu_{t-1})``, three independent terms,
so its stationary mean square is

    E[e^2] = (w^2 sigma^2/n + (1 - w)^2 V/m) / (1 - (1 - w)^2),   V = E[var_t],

exactly. With ``V = sigma^2`` (large samples) it is ``sigma^2/n (w^2 + (1-w)^2/k) / (w (2 - w))``,
whose minimum solves ``k w^2 + w - 1 = 0``: ``w* = (sqrt(1 + 4k) - 1) / (2k)``, which is
``1/phi = 0.618`` at ``k = 1`` (as many synthetic as real points) and ``1/2`` at ``k = 2``.
With ``k = 1`` the optimal ``synthetic_weight`` is ``(1 - w*)/w* = 1/phi`` as well.

The optimum is found two ways: by the sweep of ``w`` (paired across weights: every weight
sees the same random draws), and by the root of the derivative of the long-run error,
taken pathwise through the whole recursion (forward mode, ``jax.jvp``: one scalar lever).
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from labkit.reproduce.common import Paper, Reproduction, _claim, _figure, _verdict, mixed_weights
from labkit.sim import generator as gen_mod
from labkit.sim.config import ConfigError

NAME = "golden_ratio"
CITATION = ("He, Xu & Cheng, \"Recursive learning without collapse: a weighting-based stabilization "
            "framework\" (2025, arXiv 2502.18049), Gaussian estimation; Garg, Bhattacharya & Sur, arXiv "
            "2509.22341 (2025)")
SETUP = {"sigma0": 1.0, "real_samples": 50, "synthetic_ratios": [1.0, 2.0], "weight_step": 0.025,
         "generations": 60, "burn_in": 20, "chains": 4000, "seed": 0, "chain_batch": 2000}
GOLDEN = (math.sqrt(5) - 1) / 2  # 1/phi


def optimal_weight(ratio: float) -> float:
    """The large-sample optimum ``w*`` for ``m = ratio * n``: the root in (0, 1] of ``k w^2 + w - 1``."""
    return (math.sqrt(1 + 4 * ratio) - 1) / (2 * ratio)


def weight_grid(ratio: float, step: float) -> np.ndarray:
    """Real-data weights ``step, 2 step, ... <= 1`` that ``downweight`` can give: at least the
    plain pooled weight ``1/(1 + ratio)`` (``synthetic_weight <= 1``)."""
    grid = np.round(np.arange(1, int(round(1 / step)) + 1) * step, 10)
    return grid[grid >= 1 / (1 + ratio) - 1e-9]


@partial(jax.jit, static_argnums=(3, 4, 5, 6, 8))
def _golden_runs(keys, real_weight, synthetic, n: int, m_max: int, generations: int, burn_in: int, sigma0,
                 batch: int):
    """Per chain, the long-run errors of several runs (a real-data weight and a synthetic
    count each) and their derivatives in the weight; ``keys``: one per batch of chains,
    shared by every run (paired draws)."""

    def one_run(args):
        w, m = args
        # the downweight lever that gives the real rows the weight w of the fit
        synthetic_weight = n * (1 - w) / (w * m)
        in_sample = jnp.concatenate([jnp.ones(n), (jnp.arange(m_max) < m).astype(jnp.float32)])

        def chains(key, w_):
            weights = mixed_weights("downweight", n, m_max, n * (1 - w_) / (w_ * m)) * in_sample
            k0, k_gens = jax.random.split(key)
            model = gen_mod.fit_gaussian(sigma0 * jax.random.normal(k0, (n, batch)), jnp.ones(n))

            def one_generation(model, key):
                k_real, k_synth = jax.random.split(key)
                real = sigma0 * jax.random.normal(k_real, (n, batch))
                synth = gen_mod.sample_latent(k_synth, model, m_max, jnp.float32(1.0))
                model = gen_mod.fit_gaussian(jnp.concatenate([real, synth]), weights)
                var = model.std ** 2
                return model, jnp.stack([model.mean ** 2, (var - sigma0 ** 2) ** 2, var])

            out = jax.lax.scan(one_generation, model, jax.random.split(k_gens, generations))[1]
            return out[burn_in:].mean(0)  # [3, batch]: the long-run (stationary) averages

        def batch_of_chains(key):
            return jax.jvp(lambda w_: chains(key, w_), (w,), (jnp.ones_like(w),))

        values, slopes = jax.lax.map(batch_of_chains, keys)
        return values, slopes, synthetic_weight

    return jax.vmap(one_run)((real_weight, synthetic))


def golden_chains(key, n: int, ratios, step: float, generations: int, burn_in: int, chains: int,
                  sigma0: float = 1.0, chain_batch: int = 2000) -> tuple[list, np.ndarray, np.ndarray]:
    """Every (ratio, weight) run of the sweep in one compiled call.

    Returns the runs ``[(ratio, w, m), ...]``, and per run and chain the long-run averages
    (squared error of the fitted mean, squared error of the fitted variance, fitted
    variance), ``[runs, 3, chains]``, and their derivatives in ``w``, same shape. Every run
    sees the same random draws (paired), and ``chains`` is rounded up to whole batches.
    """
    if n < 2:
        raise ConfigError(f"golden_ratio: setup.real_samples = {n} must be at least 2")
    if not 0 < burn_in < generations:
        raise ConfigError(f"golden_ratio: setup.burn_in = {burn_in} must lie in 1..generations-1 "
                          f"({generations - 1})")
    runs = [(k, w, int(round(k * n))) for k in ratios for w in weight_grid(k, step)]
    for k, _, m in runs:
        if m < 1:
            raise ConfigError(f"golden_ratio: setup.synthetic_ratios has {k}, which gives no synthetic point "
                              f"at real_samples = {n}")
    batch = int(min(chain_batch, chains))
    keys = jax.random.split(key, -(-chains // batch))
    values, slopes, _ = jax.device_get(_golden_runs(
        keys, jnp.asarray([w for _, w, _ in runs], jnp.float32), jnp.asarray([m for *_, m in runs], jnp.float32),
        int(n), max(m for *_, m in runs), int(generations), int(burn_in), jnp.float32(sigma0), batch))
    # [runs, batches, 3, batch] -> [runs, 3, chains]
    values, slopes = (np.moveaxis(np.asarray(a, np.float64), 2, 1).reshape(len(runs), 3, -1) for a in (values, slopes))
    return runs, values, slopes


def run_golden_ratio(spec: Reproduction) -> pd.DataFrame:
    """The sweep of the real-data weight: one row per (synthetic ratio, weight).

    Columns: ``mse`` (the long-run mean squared error of the fitted mean, averaged over the
    generations after ``burn_in``) with its standard error over chains; ``slope``, its
    pathwise derivative in ``w``, with its SE; ``mse_var`` (the same for the fitted
    variance); ``mean_var`` (the mean fitted variance V); ``law`` (the exact stationary
    identity with the measured V), ``law_large`` (with V = sigma0^2); ``excess`` and
    ``se_excess``, the paired difference from the sweep's best weight at that ratio; the
    ``synthetic_weight`` that gives ``w`` under ``downweight``; and ``optimum``, the
    large-sample ``w*`` of the ratio.
    """
    s = spec.setup
    n, sigma0 = s["real_samples"], s["sigma0"]
    runs, values, slopes = golden_chains(jax.random.key(s["seed"]), n, list(s["synthetic_ratios"]), s["weight_step"],
                                         s["generations"], s["burn_in"], s["chains"], sigma0, s["chain_batch"])
    c = values.shape[-1]
    rows = []
    for k in dict.fromkeys(k for k, *_ in runs):
        index = [i for i, run in enumerate(runs) if run[0] == k]
        best = index[int(np.argmin([values[i, 0].mean() for i in index]))]
        for i in index:
            _, w, m = runs[i]
            mse, mse_var, var = values[i]
            v = var.mean()
            diff = mse - values[best, 0]
            rows.append({
                "synthetic_ratio": k, "real_weight": w, "real_samples": n, "synthetic_samples": m,
                "synthetic_weight": n * (1 - w) / (w * m), "chains": c, "sigma0": sigma0,
                "mse": mse.mean(), "se_mse": mse.std(ddof=1) / np.sqrt(c),
                "slope": slopes[i, 0].mean(), "se_slope": slopes[i, 0].std(ddof=1) / np.sqrt(c),
                "mse_var": mse_var.mean(), "se_mse_var": mse_var.std(ddof=1) / np.sqrt(c),
                "slope_var": slopes[i, 1].mean(), "mean_var": v,
                "law": (w ** 2 * sigma0 ** 2 / n + (1 - w) ** 2 * v / m) / (w * (2 - w)),
                "law_large": sigma0 ** 2 / n * (w ** 2 + (1 - w) ** 2 / k) / (w * (2 - w)),
                "excess": diff.mean(), "se_excess": diff.std(ddof=1) / np.sqrt(c),
                "optimum": optimal_weight(k),
            })
    return pd.DataFrame(rows)


def derivative_root(group: pd.DataFrame) -> tuple[float, float]:
    """Where the mean pathwise derivative of the long-run error crosses 0 (linear
    interpolation between the sweep's weights), and its standard error (the derivative's
    SE there over the derivative's slope); NaN when it does not cross."""
    g = group.sort_values("real_weight")
    w, d, se = (g[c].to_numpy() for c in ("real_weight", "slope", "se_slope"))
    cross = np.flatnonzero((d[:-1] < 0) & (d[1:] >= 0))
    if not len(cross):
        return float("nan"), float("nan")
    i = cross[0]
    t = -d[i] / (d[i + 1] - d[i])
    root = w[i] + t * (w[i + 1] - w[i])
    curvature = (d[i + 1] - d[i]) / (w[i + 1] - w[i])
    return float(root), float(((1 - t) * se[i] + t * se[i + 1]) / curvature)


def sweep_minimum(group: pd.DataFrame) -> float:
    """The sweep's minimizing weight: the grid's best, refined by the parabola through it and
    its two neighbours (the grid's end when the best is an end)."""
    g = group.sort_values("real_weight").reset_index(drop=True)
    i = int(g["mse"].idxmin())
    if i == 0 or i == len(g) - 1:
        return float(g["real_weight"].iloc[i])
    w, y = g["real_weight"].to_numpy()[i - 1:i + 2], g["mse"].to_numpy()[i - 1:i + 2]
    a, b, _ = np.polyfit(w, y, 2)
    return float(-b / (2 * a)) if a > 0 else float(w[1])


def check_golden_ratio(table: pd.DataFrame, z: float = 4.0, tolerance: float = 0.02,
                       sweep_tolerance: float = 0.05, worse_at: tuple[float, float] = (0.5, 0.75)) -> dict:
    """Is the real-data weight that minimizes the long-run error 1/phi (and ``w*(k)`` elsewhere)?

    Claims:

    1. the long-run mean squared error of the fitted mean is the stationary law
       ``(w^2 sigma^2/n + (1-w)^2 V/m) / (1 - (1-w)^2)`` (with the measured mean fitted
       variance ``V``) within ``z`` standard errors at every ratio and weight;
    2. with as many synthetic as real points (``k = 1``) the sweep's minimum lies within
       ``sweep_tolerance`` of 1/phi, and the weights ``worse_at`` (0.5, 0.75) are worse
       than the sweep's best by more than ``z`` paired standard errors;
    3. at ``k = 1`` the pathwise derivative of the long-run error vanishes within
       ``tolerance`` of 1/phi (``tolerance`` covers the finite-sample shift, V < sigma0^2,
       about 0.002 at n = 50; not testable when ``z`` SE of the root exceed it);
    4. at every other ratio the derivative vanishes within ``tolerance`` of the unified
       expression ``w*(k) = (sqrt(1 + 4k) - 1) / (2k)`` (1/2 at k = 2).
    """
    claims = []
    zs = ((table["mse"] - table["law"]).abs() / table["se_mse"]).max()
    claims.append(_claim(
        "long-run error = (w^2 sigma^2/n + (1-w)^2 V/m) / (1 - (1-w)^2)",
        {"max |z|": round(float(zs), 2), "cells": int(len(table))}, "the stationary law",
        f"|z| <= {z:g} at every ratio and weight", zs <= z))
    one = table[np.isclose(table["synthetic_ratio"], 1.0)]
    if len(one):
        best = sweep_minimum(one)
        worse = {}
        for target in worse_at:
            row = one.iloc[int((one["real_weight"] - target).abs().argmin())]
            worse[round(float(row["real_weight"]), 3)] = round(float(row["excess"] / max(row["se_excess"], 1e-30)), 1)
        claims.append(_claim(
            "k = 1: the sweep's optimal real-data weight is 1/phi",
            {"sweep minimum": round(best, 4), "excess over the best, in paired SE": worse},
            {"w*": round(GOLDEN, 4)},
            f"|w - 1/phi| <= {sweep_tolerance:g}; w = {', '.join(f'{t:g}' for t in worse_at)} worse by > {z:g} SE",
            abs(best - GOLDEN) <= sweep_tolerance and all(v > z for v in worse.values())))
        root, se = derivative_root(one)
        testable = np.isfinite(root) and z * se <= tolerance
        claims.append(_claim(
            "k = 1: the derivative of the long-run error vanishes at 1/phi",
            {"root": round(root, 4), "SE": round(se, 4)}, {"w*": round(GOLDEN, 4)},
            f"|root - 1/phi| <= {tolerance:g} ({z:g} SE of the root must fit in it)",
            (abs(root - GOLDEN) <= tolerance) if testable else None))
    others = {}
    for k, group in table[~np.isclose(table["synthetic_ratio"], 1.0)].groupby("synthetic_ratio"):
        root, se = derivative_root(group)
        others[float(k)] = (root, se, optimal_weight(float(k)))
    if others:
        testable = all(np.isfinite(r) and z * se <= tolerance for r, se, _ in others.values())
        claims.append(_claim(
            "other ratios k = m/n: the optimum is (sqrt(1 + 4k) - 1) / (2k)",
            {f"k = {k:g}": {"root": round(r, 4), "SE": round(se, 4)} for k, (r, se, _) in others.items()},
            {f"k = {k:g}": round(w, 4) for k, (_, _, w) in others.items()},
            f"|root - w*(k)| <= {tolerance:g}",
            all(abs(r - w) <= tolerance for r, _, w in others.values()) if testable else None))
    return _verdict(NAME, CITATION, claims)


def figure_golden_ratio(table: pd.DataFrame):
    """(a) the long-run error against the real-data weight, with the law; (b) its pathwise
    derivative, vanishing at w*(k)."""
    from labkit.analysis.style import style

    with style():
        fig, (a, b) = _figure(2, width=3.2, height=2.4)
        for k, g in table.groupby("synthetic_ratio"):
            scale = g["sigma0"] ** 2 / g["real_samples"]
            line, = a.plot(g["real_weight"], g["mse"] / scale, marker="o", ms=2.5, lw=1, label=f"m = {k:g} n")
            a.plot(g["real_weight"], g["law"] / scale, ls="--", color="k", lw=0.8)
            b.errorbar(g["real_weight"], g["slope"] / scale, yerr=2 * g["se_slope"] / scale, color=line.get_color(),
                       marker="o", ms=2.5, lw=1)
            for ax in (a, b):
                ax.axvline(optimal_weight(float(k)), color=line.get_color(), lw=0.6, ls=":")
        a.plot([], [], ls="--", color="k", lw=0.8, label="stationary law")
        a.set(xlabel="real-data weight w", ylabel="long-run E[(mu_t - mu)^2] / (sigma^2/n)",
              title="error against the real-data weight")
        a.legend(frameon=False, fontsize=6)
        b.axhline(0, color="k", lw=0.6)
        b.set(xlabel="real-data weight w", ylabel="d error / dw (pathwise)", title="derivative: 0 at 1/phi (k = 1)")
    return fig


PAPER = Paper(NAME, CITATION, SETUP, run_golden_ratio, check_golden_ratio, figure_golden_ratio)
