"""Reproduction ``generator``: model collapse of a Gaussian refitted on its own samples.

Shumailov et al., Nature 2024, the single-Gaussian example: labkit's maximum-likelihood
generator (:func:`labkit.sim.generator.fit_gaussian`, :func:`labkit.sim.generator.sample_latent`)
refitted generation after generation on the data that a labkit data strategy keeps.
Under ``replace`` the expected variance falls as ``sigma0^2 ((M-1)/M)^n`` and the typical
chain collapses, tails first; under ``accumulate`` it does not.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jaxtyping import Array, Float

from labkit.reproduce.common import Paper, Reproduction, _claim, _figure, _verdict, generation_weights
from labkit.sim import generator as gen_mod
from labkit.sim.config import ConfigError

NAME = "generator"
CITATION = ("Shumailov, Shumaylov, Zhao, Papernot, Anderson & Gal, \"AI models collapse when "
            "trained on recursively generated data\", Nature 631 (2024), the single-Gaussian example")
# The settings that are not labkit levers, with their defaults (a study file's `setup` overrides them).
SETUP = {"sigma0": 1.0, "sample_sizes": [10, 30, 100], "generations": 40, "chains": 20000,
         "tail_threshold": 2.0, "strategies": ["replace", "accumulate"], "seed": 0, "chain_batch": 2000}


class Chain(NamedTuple):
    """One chain of refitted generators: the fitted model of each generation 1..G."""

    mean: Float[Array, "generations"]
    var: Float[Array, "generations"]
    tail: Float[Array, "generations"]  # model mass beyond +-tail_threshold*sigma0 of the true centre


Fit = Callable[[Float[Array, "n dim"], Float[Array, "n"]], gen_mod.Generator]


@partial(jax.jit, static_argnums=(3, 4, 5, 8, 9))
def _generator_runs(keys, strategy_index, sizes, strategies: tuple[str, ...], max_size: int, generations: int,
                    sigma0, threshold, fit: Fit, batch: int) -> Chain:
    """Chains of several runs (a strategy and a sample size each) in one compiled program.

    The generator is diagonal, so ``batch`` independent chains are one generator with
    ``batch`` dimensions: one fit and one draw serve them all (and vectorize well). A
    run's sample size ``M`` is a mask over ``max_size`` rows (rows past ``M`` get weight
    0 and are never fitted), and its strategy an index into ``strategies``, so every
    sample size and strategy shares one compilation. ``keys``: one per run and batch.
    """
    rows = generations + 1  # data generations 0..G (the last one is drawn but never fitted)

    def one_run(args):
        keys, s_index, size = args
        in_sample = (jnp.arange(max_size) < size).astype(jnp.float32)

        def chains(key) -> Chain:
            k_real, k_gens = jax.random.split(key)
            data = jnp.zeros((rows, max_size, batch)).at[0].set(
                sigma0 * jax.random.normal(k_real, (max_size, batch)))

            def one_generation(data, inputs):
                current, key = inputs
                weights = jnp.stack([generation_weights(s, rows, max_size, current) for s in strategies])[s_index]
                model = fit(data.reshape(-1, batch), (weights * in_sample[None, :]).reshape(-1))
                data = data.at[current + 1].set(gen_mod.sample_latent(key, model, max_size, jnp.float32(1.0)))
                mu, sd = model.mean, jnp.maximum(model.std, 1e-30)
                t = threshold * sigma0
                tail = jax.scipy.stats.norm.cdf((-t - mu) / sd) + jax.scipy.stats.norm.cdf((mu - t) / sd)
                return data, Chain(mu, model.std ** 2, tail)

            inputs = (jnp.arange(generations), jax.random.split(k_gens, generations))
            return jax.lax.scan(one_generation, data, inputs)[1]  # [generations, batch] each

        out = jax.lax.map(chains, keys)  # [batches, generations, batch]
        return jax.tree.map(lambda a: jnp.moveaxis(a, 1, 2).reshape(-1, generations), out)

    return jax.lax.map(one_run, (keys, strategy_index, sizes))


def generator_chains(key: Array, strategy: str | Sequence[str], sample_size: int | Sequence[int],
                     generations: int, chains: int, sigma0: float = 1.0, tail_threshold: float = 2.0,
                     fit: Fit = gen_mod.fit_gaussian, chain_batch: int = 2000) -> Chain:
    """Independent chains of a Gaussian generator refitted on its own samples.

    Generation 0 is ``sample_size`` (``M``) real points from ``N(0, sigma0^2)``. Model
    ``n`` (n = 1..``generations``) is ``fit`` (labkit's maximum-likelihood
    :func:`labkit.sim.generator.fit_gaussian` by default) on the rows the data ``strategy``
    keeps (:func:`generation_weights`); it then draws the ``M`` points of generation
    ``n`` with :func:`labkit.sim.generator.sample_latent` at temperature 1. Chains are the
    dimensions of labkit's diagonal generator, ``chain_batch`` of them at a time.

    Given one strategy and one sample size, returns per chain and generation the fitted
    mean and variance and the mass the model puts beyond ``+-tail_threshold * sigma0``
    (the true distribution's tails), arrays ``[chains, generations]``. Given lists, it
    runs every (sample size, strategy) pair in one compiled call and the arrays are
    ``[sample sizes, strategies, chains, generations]``; chains of the same sample size
    share their real data across strategies. ``chains`` is rounded up to a whole number
    of batches.
    """
    one = isinstance(strategy, str) and isinstance(sample_size, int)
    strategies = (strategy,) if isinstance(strategy, str) else tuple(strategy)
    sizes = [sample_size] if isinstance(sample_size, int) else [int(m) for m in sample_size]
    for m in sizes:
        if m < 2:
            raise ConfigError(f"generator: sample size {m} < 2 has no variance to fit")
    batch = int(min(chain_batch, chains))
    n_batches = -(-chains // batch)
    keys = jnp.stack([jnp.stack([jax.random.split(jax.random.fold_in(key, i), n_batches)] * len(strategies))
                      for i in range(len(sizes))]).reshape(len(sizes) * len(strategies), n_batches)
    strategy_index = jnp.tile(jnp.arange(len(strategies)), len(sizes))
    run_sizes = jnp.repeat(jnp.asarray(sizes), len(strategies))
    out = _generator_runs(keys, strategy_index, run_sizes, strategies, max(sizes), int(generations),
                          jnp.float32(sigma0), jnp.float32(tail_threshold), fit, batch)
    if one:
        return jax.tree.map(lambda a: a[0], out)
    return jax.tree.map(lambda a: a.reshape(len(sizes), len(strategies), *a.shape[1:]), out)


def run_generator(spec: Reproduction, fit: Fit = gen_mod.fit_gaussian) -> pd.DataFrame:
    """Run the model-collapse reproduction: one row per (strategy, sample size, generation).

    Columns: the chains' mean and standard error of the fitted variance (``mean_var``,
    ``se_var``), of its log (``mean_log_var``, ``se_log_var``), the median variance and
    the median tail mass (the typical chain), the true tail mass ``tail0``, and the laws:
    ``law_var = sigma0^2 ((M-1)/M)^n`` and ``law_log_var = log sigma0^2 + n (psi((M-1)/2)
    - log(M/2))`` (both for ``replace`` with maximum likelihood), and ``log_spread =
    n psi'((M-1)/2)``, the variance of one chain's log variance under that law, and
    ``underflow``, the share of chains whose variance fell below 1e-30 sigma0^2, past
    what float32 can follow.
    """
    from scipy.special import digamma, polygamma
    from scipy.stats import norm

    s = spec.setup
    sigma0, threshold = s["sigma0"], s["tail_threshold"]
    sizes, strategies = [int(m) for m in s["sample_sizes"]], list(s["strategies"])
    out = jax.device_get(generator_chains(jax.random.key(s["seed"]), strategies, sizes, s["generations"],
                                          s["chains"], sigma0, threshold, fit, s["chain_batch"]))
    n = np.arange(1, s["generations"] + 1)
    rows = []
    for i, m in enumerate(sizes):
        for j, strategy in enumerate(strategies):
            var = np.asarray(out.var[i, j], np.float64)
            tail = np.asarray(out.tail[i, j], np.float64)
            log_var = np.log(np.maximum(var, 1e-300))
            c = var.shape[0]
            rows.append(pd.DataFrame({
                "strategy": strategy, "sample_size": m, "generation": n, "chains": c, "sigma0": sigma0,
                "mean_var": var.mean(0), "se_var": var.std(0, ddof=1) / np.sqrt(c),
                "median_var": np.median(var, 0),
                "mean_log_var": log_var.mean(0), "se_log_var": log_var.std(0, ddof=1) / np.sqrt(c),
                "mean_mean": np.asarray(out.mean[i, j], np.float64).mean(0),
                "median_tail": np.median(tail, 0), "mean_tail": tail.mean(0),
                "tail0": 2 * norm.sf(threshold),
                "law_var": sigma0 ** 2 * ((m - 1) / m) ** n,
                "law_log_var": np.log(sigma0 ** 2) + n * (digamma((m - 1) / 2) - np.log(m / 2)),
                "log_spread": n * polygamma(1, (m - 1) / 2),
                # chains whose variance fell below what float32 can follow
                "underflow": (var < 1e-30 * sigma0 ** 2).mean(0),
            }))
    return pd.concat(rows, ignore_index=True)


def check_generator(table: pd.DataFrame, z: float = 4.0, max_log_spread: float = 1.0,
                    collapsed: float = 0.7, kept: float = 0.5) -> dict:
    """Does the refitted generator follow Shumailov et al.'s law?

    Claims (``replace`` = refit on the newest generation only):

    1. the mean fitted variance is ``sigma0^2 ((M-1)/M)^n``, within ``z`` Monte-Carlo
       standard errors, at every sample size ``M`` and generation ``n`` where a sample
       mean can estimate it: the law makes one chain's variance a product of ``n``
       scaled chi-squares, whose log has variance ``n psi'((M-1)/2)`` (``log_spread``);
       beyond ``max_log_spread`` the mean is carried by rare chains and no feasible
       number of chains estimates it, so those cells are checked by claim 2 only;
    2. the mean log variance is ``log sigma0^2 + n (psi((M-1)/2) - log(M/2))`` within
       ``z`` standard errors at every cell (but those where a chain's variance fell past
       float32's range): the typical chain collapses to 0;
    3. the tails vanish first: in the typical (median) chain, by the last generation
       (the last at which its variance is representable in float32), the tail mass
       beyond ``tail_threshold`` sigma0 has fallen by a larger factor than the variance,
       at every sample size whose variance fell below ``collapsed`` x sigma0^2 (not
       testable if none did);
    4. ``accumulate`` does not collapse: at the last generation its mean variance keeps
       at least ``kept`` of its first generation's, at every sample size, and is not
       below ``replace``'s.

    An unbiased (divide by M - 1) generator fails 1 and 2.
    """
    replace = table[table["strategy"] == "replace"]
    claims = []
    if len(replace):
        cells = replace[replace["log_spread"] <= max_log_spread]
        zs = (cells["mean_var"] - cells["law_var"]).abs() / cells["se_var"].clip(lower=1e-12)
        worst = cells.loc[zs.idxmax()] if len(cells) else None
        claims.append(_claim(
            "replace: E[var_n] = sigma0^2 ((M-1)/M)^n",
            {"max |z|": round(float(zs.max()), 2) if len(cells) else None, "cells": int(len(cells)),
             "worst cell": None if worst is None else
             {"M": int(worst["sample_size"]), "n": int(worst["generation"]),
              "mean_var": round(float(worst["mean_var"]), 4), "law": round(float(worst["law_var"]), 4)},
             "ratio mean/law, range": [round(float((cells["mean_var"] / cells["law_var"]).min()), 3),
                                       round(float((cells["mean_var"] / cells["law_var"]).max()), 3)]
             if len(cells) else None},
            "sigma0^2 ((M-1)/M)^n", f"|z| <= {z:g} (Monte-Carlo SE), cells with n psi'((M-1)/2) <= "
                                    f"{max_log_spread:g}", bool(len(cells)) and float(zs.max()) <= z))
        followed = replace[replace["underflow"] == 0]
        zl = (followed["mean_log_var"] - followed["law_log_var"]).abs() / followed["se_log_var"].clip(lower=1e-12)
        claims.append(_claim(
            "replace: E[log var_n] = log sigma0^2 + n (psi((M-1)/2) - log(M/2)) (collapse to 0)",
            {"max |z|": round(float(zl.max()), 2) if len(followed) else None, "cells": int(len(followed))},
            "n (psi((M-1)/2) - log(M/2))", f"|z| <= {z:g}, cells where no chain underflows float32",
            bool(len(followed)) and float(zl.max()) <= z))
        # Per sample size, the last generation at which the typical chain's variance is
        # still representable: by then, has the tail mass fallen further than the variance?
        ends, faster = {}, []
        for m, group in replace.groupby("sample_size"):
            group = group[group["median_var"] > 1e-30 * group["sigma0"] ** 2].sort_values("generation")
            if not len(group):
                continue
            end = group.iloc[-1]
            var_ratio, tail_ratio = end["median_var"] / end["sigma0"] ** 2, end["median_tail"] / end["tail0"]
            ends[int(m)] = {"n": int(end["generation"]), "tail ratio": round(float(tail_ratio), 4),
                            "variance ratio": round(float(var_ratio), 4)}
            if var_ratio < collapsed:
                faster.append(bool(tail_ratio < var_ratio))
        claims.append(_claim(
            "replace: the tails vanish first (typical chain)",
            {"typical chain at the last generation": ends},
            "tail mass falls further than variance",
            f"at sample sizes whose median variance fell below {collapsed:g} sigma0^2",
            all(faster) if faster else None))
    acc = table[table["strategy"] == "accumulate"]
    if len(acc):
        kept_ratio, above = {}, True
        last_replace = replace[replace["generation"] == replace["generation"].max()].set_index("sample_size")
        for m, group in acc.groupby("sample_size"):
            group = group.sort_values("generation")
            kept_ratio[int(m)] = round(float(group["mean_var"].iloc[-1] / group["mean_var"].iloc[0]), 4)
            if m in last_replace.index:
                above &= bool(group["mean_var"].iloc[-1] + z * group["se_var"].iloc[-1]
                              >= last_replace.loc[m, "mean_var"])
        claims.append(_claim(
            "accumulate: the variance does not collapse",
            {"last/first generation mean variance": kept_ratio},
            "bounded away from 0", f">= {kept:g}, and not below replace's", min(kept_ratio.values()) >= kept
            and above))
    return _verdict(NAME, CITATION, claims)



def figure_generator(table: pd.DataFrame):
    """(a) mean variance with the law ((M-1)/M)^n; (b) the typical chain: tail mass and
    variance relative to the truth; (c) accumulate against replace."""
    from labkit.analysis.style import style

    with style():
        fig, (a, b, c) = _figure(3)
        rep = table[table["strategy"] == "replace"]
        colours = {}
        for m, g in rep.groupby("sample_size"):
            line, = a.plot(g["generation"], g["mean_var"] / g["sigma0"] ** 2, label=f"M = {m}")
            colours[m] = line.get_color()
            a.plot(g["generation"], g["law_var"] / g["sigma0"] ** 2, ls="--", color="k", lw=0.8)
            b.plot(g["generation"], g["median_tail"] / g["tail0"], color=colours[m])
            b.plot(g["generation"], g["median_var"] / g["sigma0"] ** 2, color=colours[m], ls=":")
        a.set_yscale("log")
        a.set(title="replace: mean variance", xlabel="generation n", ylabel="E[var_n] / sigma0^2")
        a.plot([], [], ls="--", color="k", lw=0.8, label="published: ((M-1)/M)^n")
        a.legend(frameon=False, loc="lower left", fontsize=6)
        b.set(title="typical chain: tails go first", xlabel="generation n", ylabel="median, relative to truth")
        b.plot([], [], color="grey", label="tail mass beyond 2 sigma0")
        b.plot([], [], color="grey", ls=":", label="variance")
        b.legend(frameon=False, loc="upper right", fontsize=6)
        for strategy, ls in (("replace", "-"), ("accumulate", "-.")):
            for m, g in table[table["strategy"] == strategy].groupby("sample_size"):
                c.plot(g["generation"], g["mean_var"] / g["sigma0"] ** 2, ls=ls, color=colours.get(m))
        c.plot([], [], color="grey", label="replace")
        c.plot([], [], color="grey", ls="-.", label="accumulate")
        c.set(title="accumulate does not collapse", xlabel="generation n", ylabel="E[var_n] / sigma0^2",
              ylim=(0, 1.1))
        c.legend(frameon=False, loc="lower left", fontsize=6)
    return fig


PAPER = Paper(NAME, CITATION, SETUP, run_generator, check_generator, figure_generator)
