"""Reproduction ``mad``: self-consuming loops lose diversity unless enough fresh real data enter.

Alemohammad et al., ICLR 2024 ("Self-consuming generative models go MAD"), the fully
synthetic and the fresh-data loops, on labkit's Gaussian generator. Each generation,
:func:`labkit.sim.generator.fit_gaussian` is fitted to ``N`` points: ``n_r`` fresh points
from the real ``N(0, sigma0^2)`` and ``N - n_r`` drawn from the previous generation's model by
:func:`labkit.sim.generator.sample_latent` at the generator's temperature ``T`` (labkit's
``generator_temperature``; ``T < 1`` is mode-seeking, the paper's sampling bias toward
quality). The rows are weighted by labkit's ``accumulate`` strategy on a log that holds the
current generation only (every row 1).

The recursion, on paper. With ``p = n_r/N``, the fitted mean is ``p rbar + (1-p) sbar`` and
the fitted (maximum-likelihood) variance ``p S_r + (1-p) S_s + p(1-p)(rbar - sbar)^2``. Taking
expectations, with ``V_t = E[var_t]``, ``E_t = E[(mu_t - mu)^2]`` and
``A_t = p sigma0^2 + (1-p) T^2 V_{t-1}``:

    V_t = A_t (1 - 1/N) + p (1-p) E_{t-1},     E_t = A_t / N + (1-p)^2 E_{t-1},

exactly, from ``V_0 = sigma0^2 (1 - 1/N)``, ``E_0 = sigma0^2/N`` (generation 0 is fitted to real
data). With no fresh data (``p = 0``) ``V_t = sigma0^2 (T^2 (N-1)/N)^t``: the fully synthetic
loop collapses. With fresh data it settles at ``V* = c p sigma0^2 / (1 - c (1-p) T^2)``,
``c = 1 - 1/(N (2-p))``: at ``T = 1`` close to ``sigma0^2`` for any ``p > 0``; at ``T < 1`` only a
large enough fraction ``p`` holds it (``V* = hold sigma0^2`` needs ``p ~ hold (1 - T^2) / (1 - hold T^2)``).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from labkit.reproduce.common import Paper, Reproduction, _claim, _figure, _verdict, mixed_weights
from labkit.sim import generator as gen_mod
from labkit.sim.config import ConfigError

NAME = "mad"
CITATION = ("Alemohammad, Casco-Rodriguez, Luzi, Humayun, Babaei, LeJeune, Siahkoohi & Baraniuk, "
            "\"Self-consuming generative models go MAD\", ICLR 2024, the fully synthetic and fresh-data loops")
SETUP = {"sigma0": 1.0, "samples": 100, "real_samples": [0, 10, 25, 50, 75, 100], "temperatures": [1.0, 0.5],
         "generations": 40, "chains": 4000, "tail_threshold": 2.0, "hold": 0.75, "seed": 0, "chain_batch": 2000}


def variance_law(p: float, temperature: float, n: int, generations: int, sigma0: float = 1.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Expected fitted variance ``V_t`` and mean squared error of the mean ``E_t``, t = 0..G."""
    v, e = [sigma0 ** 2 * (1 - 1 / n)], [sigma0 ** 2 / n]
    for _ in range(generations):
        a = p * sigma0 ** 2 + (1 - p) * temperature ** 2 * v[-1]
        v.append(a * (1 - 1 / n) + p * (1 - p) * e[-1])
        e.append(a / n + (1 - p) ** 2 * e[-1])
    return np.asarray(v), np.asarray(e)


@partial(jax.jit, static_argnums=(3, 4, 7))
def _mad_runs(keys, real, temperature, n: int, generations: int, sigma0, threshold, batch: int):
    """Mean, variance and tail mass of every chain and generation 0..G of several runs (a
    fresh-data count and a temperature each) in one compiled call; every run sees the same
    random draws (``keys``: one per batch of chains)."""

    def one_run(args):
        n_real, temp = args
        rows = jnp.arange(n)
        in_sample = jnp.concatenate([rows < n_real, rows < n - n_real]).astype(jnp.float32)
        weights = mixed_weights("accumulate", n, n) * in_sample

        def summary(model):
            mu, sd = model.mean, jnp.maximum(model.std, 1e-30)
            t = threshold * sigma0
            tail = jax.scipy.stats.norm.cdf((-t - mu) / sd) + jax.scipy.stats.norm.cdf((mu - t) / sd)
            return jnp.stack([mu, model.std ** 2, tail])

        def chains(key):
            k0, k_gens = jax.random.split(key)
            model = gen_mod.fit_gaussian(sigma0 * jax.random.normal(k0, (n, batch)), jnp.ones(n))

            def one_generation(model, key):
                k_real, k_synth = jax.random.split(key)
                real = sigma0 * jax.random.normal(k_real, (n, batch))
                synth = gen_mod.sample_latent(k_synth, model, n, temp)
                model = gen_mod.fit_gaussian(jnp.concatenate([real, synth]), weights)
                return model, summary(model)

            out = jax.lax.scan(one_generation, model, jax.random.split(k_gens, generations))[1]
            return jnp.concatenate([summary(model)[None], out])  # [generations + 1, 3, batch]

        return jax.lax.map(chains, keys)

    return jax.vmap(one_run)((real, temperature))


def run_mad(spec: Reproduction) -> pd.DataFrame:
    """Run the loops: one row per (temperature, fresh real points per generation, generation 0..G).

    Columns: the chains' mean and standard error of the fitted variance and of the model's
    mass beyond ``+-tail_threshold sigma0`` (``mean_tail``), the median variance, the law
    ``law_var`` (``V_t`` above), the long-run law ``fixed_point`` (``V*``), the real tail mass
    ``tail0``, and ``underflow``, the share of chains whose variance fell below 1e-10 sigma0^2
    (past what float32 resolves around the chain's mean). ``median_tail``: the typical chain's tail mass.
    """
    from scipy.stats import norm

    s = spec.setup
    n, sigma0, g = s["samples"], s["sigma0"], s["generations"]
    real, temps = [int(r) for r in s["real_samples"]], [float(t) for t in s["temperatures"]]
    for r in real:
        if r > n:
            raise ConfigError(f"mad: setup.real_samples has {r}, more than setup.samples = {n} points a generation")
    if n < 2:
        raise ConfigError(f"mad: setup.samples = {n} must be at least 2")
    if not 0 < s["hold"] <= 1:
        raise ConfigError(f"mad: setup.hold = {s['hold']} must lie in (0, 1] (a share of the real variance)")
    runs = [(t, r) for t in temps for r in real]
    batch = int(min(s["chain_batch"], s["chains"]))
    keys = jax.random.split(jax.random.key(s["seed"]), -(-s["chains"] // batch))
    out = np.asarray(jax.device_get(_mad_runs(keys, jnp.asarray([r for _, r in runs], jnp.int32),
                                              jnp.asarray([t for t, _ in runs], jnp.float32), int(n), int(g),
                                              jnp.float32(sigma0), jnp.float32(s["tail_threshold"]), batch)),
                     np.float64)
    out = np.moveaxis(out, 4, 2).reshape(len(runs), -1, g + 1, 3)  # [runs, chains, generations + 1, 3]
    c = out.shape[1]
    rows = []
    for i, (t, r) in enumerate(runs):
        var, tail = out[i, :, :, 1], out[i, :, :, 2]
        p = r / n
        law, _ = variance_law(p, t, n, g, sigma0)
        cc = 1 - 1 / (n * (2 - p))
        rows.append(pd.DataFrame({
            "temperature": t, "real_samples": r, "samples": n, "real_fraction": p, "generation": np.arange(g + 1),
            "chains": c, "sigma0": sigma0, "hold": s["hold"],
            "mean_var": var.mean(0), "se_var": var.std(0, ddof=1) / np.sqrt(c), "median_var": np.median(var, 0),
            "mean_tail": tail.mean(0), "se_tail": tail.std(0, ddof=1) / np.sqrt(c),
            "median_tail": np.median(tail, 0),
            "tail0": 2 * norm.sf(s["tail_threshold"]), "law_var": law,
            "fixed_point": cc * p * sigma0 ** 2 / (1 - cc * (1 - p) * t ** 2),
            # chains whose spread fell past float32's resolution of their mean (x - mu rounds to 0)
            "underflow": (var < 1e-10 * sigma0 ** 2).mean(0),
        }))
    return pd.concat(rows, ignore_index=True)


def check_mad(table: pd.DataFrame, z: float = 4.0) -> dict:
    """Does the loop go MAD without enough fresh real data, and stay sane with it?

    Claims:

    1. fully synthetic loop (no fresh data): at every temperature the mean fitted variance
       and the typical (median) chain's tail mass at the last generation are below
       generation 0's by more than ``z`` standard errors: diversity is lost;
    2. the mean fitted variance follows the recursion ``V_t`` of the module docstring
       (``sigma0^2 (T^2 (N-1)/N)^t`` without fresh data) within ``z`` standard errors, at
       every temperature, fresh-data count and generation where no chain's variance fell
       past float32's resolution;
    3. enough fresh data holds the diversity and too little does not: at every temperature
       the fewest fresh points per generation (on the grid) whose last-generation mean
       variance is at least ``hold`` sigma0^2 is the number the law gives, every grid point
       on its side of ``hold`` by more than ``z`` SE (not testable otherwise);
    4. the tails go first: where the fresh data do not hold the variance, the typical
       chain keeps a smaller share of the real tail mass than of the real variance, and at
       every temperature the most fresh data keep more tail mass than the least.
    """
    claims = []
    first = table[table["generation"] == 0].set_index(["temperature", "real_samples"])
    last = table[table["generation"] == table["generation"].max()].set_index(["temperature", "real_samples"])
    synthetic = last.xs(0, level="real_samples") if 0 in last.index.get_level_values(1) else None
    if synthetic is not None:
        start = first.xs(0, level="real_samples")
        lost = {float(t): {"variance": [round(float(start.loc[t, "mean_var"]), 4), round(float(row["mean_var"]), 4)],
                           "typical tail": [round(float(start.loc[t, "median_tail"]), 5),
                                            round(float(row["median_tail"]), 5)]}
                for t, row in synthetic.iterrows()}
        fell = all(start.loc[t, "mean_var"] - row["mean_var"] > z * (start.loc[t, "se_var"] + row["se_var"])
                   and row["median_tail"] < start.loc[t, "median_tail"] for t, row in synthetic.iterrows())
        claims.append(_claim(
            "fully synthetic loop: variance and tail mass fall generation after generation",
            {f"T = {t:g}, generation 0 -> last": v for t, v in lost.items()}, "diversity lost (MAD)",
            f"last below generation 0 by > {z:g} SE (variance); typical chain's tail mass lower", fell))
    followed = table[table["underflow"] == 0]
    zs = (followed["mean_var"] - followed["law_var"]).abs() / followed["se_var"].clip(lower=1e-12)
    claims.append(_claim(
        "E[var_t] follows the fresh-data recursion (sigma0^2 (T^2 (N-1)/N)^t without fresh data)",
        {"max |z|": round(float(zs.max()), 2), "cells": int(len(followed))}, "V_t (module docstring)",
        f"|z| <= {z:g}, cells where no chain's variance fell past float32", bool(len(followed)) and zs.max() <= z))
    hold = float(table["hold"].iloc[0])
    needed, testable, agree = {}, True, True
    for t, group in last.groupby(level="temperature"):
        group = group.droplevel(0).sort_index()
        sigma2 = group["sigma0"] ** 2
        held = group["mean_var"] >= hold * sigma2
        testable &= bool(((group["mean_var"] - hold * sigma2).abs() > z * group["se_var"]).all())
        measured = int(held.idxmax()) if held.any() else None
        law = group.index[group["law_var"] >= hold * sigma2]
        law = int(law[0]) if len(law) else None
        agree &= measured == law
        needed[f"T = {t:g}"] = {"fewest fresh points held": measured, "law": law,
                                "long-run variance by fresh points": {int(r): round(float(v), 3)
                                                                     for r, v in group["mean_var"].items()}}
    claims.append(_claim(
        f"enough fresh real data holds the variance (>= {hold:g} sigma0^2), too little does not",
        needed, "the fewest fresh points per generation by the law", f"each grid point beyond {z:g} SE of the "
        f"threshold", agree if testable else None))
    tails, ok = {}, True
    for t, group in last.groupby(level="temperature"):
        group = group.droplevel(0).sort_index()
        lost = group[group["law_var"] < hold * group["sigma0"] ** 2]
        tail_share = lost["median_tail"] / lost["tail0"]
        var_share = lost["median_var"] / lost["sigma0"] ** 2
        ok &= bool((tail_share < var_share).all()) and group["median_tail"].iloc[-1] > group["median_tail"].iloc[0]
        tails[f"T = {t:g}"] = {int(r): {"tail share": round(float(a), 4), "variance share": round(float(b), 4)}
                               for r, a, b in zip(lost.index, tail_share, var_share)}
    claims.append(_claim(
        "the tails go first: too little fresh data loses more tail mass than variance",
        {"typical chain, last generation, runs that lose the variance": tails}, "tail share < variance share",
        "every run that does not hold the variance; most fresh data keep more tail than least", ok))
    return _verdict(NAME, CITATION, claims)


def figure_mad(table: pd.DataFrame):
    """(a) mean fitted variance by generation for each fresh-data count, with the law; (b) the
    long-run variance and typical tail mass against the fresh-data fraction."""
    from labkit.analysis.style import style

    with style():
        temps = sorted(table["temperature"].unique(), reverse=True)
        fig, axes = _figure(len(temps) + 1, width=2.6, height=2.3)
        for a, t in zip(axes, temps):
            for r, g in table[table["temperature"] == t].groupby("real_samples"):
                line, = a.plot(g["generation"], g["mean_var"] / g["sigma0"] ** 2, lw=1,
                               label=f"{r / g['samples'].iloc[0]:.0%} fresh")
                a.plot(g["generation"], g["law_var"] / g["sigma0"] ** 2, ls="--", color="k", lw=0.6)
            a.axhline(table["hold"].iloc[0], color="grey", lw=0.6, ls=":")
            a.set(title=f"temperature {t:g}", xlabel="generation", ylabel="E[var_t] / sigma0^2", ylim=(0, 1.1))
        axes[0].legend(frameon=False, fontsize=5.5, loc="lower left")
        b = axes[-1]
        last = table[table["generation"] == table["generation"].max()]
        for t, g in last.groupby("temperature"):
            line, = b.plot(g["real_fraction"], g["mean_var"] / g["sigma0"] ** 2, marker="o", ms=2.5,
                           label=f"variance, T = {t:g}")
            b.plot(g["real_fraction"], g["median_tail"] / g["tail0"], marker="s", ms=2.5, ls=":",
                   color=line.get_color(), label=f"tail mass, T = {t:g}")
        b.axhline(table["hold"].iloc[0], color="grey", lw=0.6, ls=":")
        b.set(title="long run", xlabel="fresh real fraction per generation", ylabel="share of the real one")
        b.legend(frameon=False, fontsize=5.5)
    return fig


PAPER = Paper(NAME, CITATION, SETUP, run_mad, check_mad, figure_mad)
