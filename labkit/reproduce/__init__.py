"""Reproductions of published results, run on labkit's own pieces and checked in code.

Four papers, each one study file ``experiments/reproduce_<name>.yaml``, one function
that runs it and returns a tidy table, one ``check_<name>(table)`` that says whether the
table agrees with the published finding (and by how much), and one figure that draws
the table beside the published shape. The notebook ``notebooks/00_reproductions`` and
the tests ``tests/test_reproduce_*.py`` call the same functions, so a figure, a test and
the pass/fail table can never disagree.

========== =============================================== ===============================
name       paper                                           labkit pieces reproduced
========== =============================================== ===============================
generator  Shumailov et al., Nature 2024 (model collapse)  ``generator.fit_gaussian``,
                                                           ``generator.sample_latent``
accumulate Gerstgrasser et al., 2024 (accumulate vs        ``data.STRATEGIES``
           replace)                                        (``accumulate``, ``replace``)
chaney     Chaney, Stewart & Engelhardt, RecSys 2018       ``loop.step``, the recommenders,
           (algorithmic confounding, homogenization)       ``metrics.jaccard_homogenization``
degenerate Jiang et al., AIES 2019 (degenerate feedback    ``simulate_grid``, ``epsilon_greedy``,
           loops)                                          ``drift``, ``user_taste_entropy``
========== =============================================== ===============================

A check returns ``{"name", "paper", "passed", "claims": [...]}``; each claim is a dict
``{"claim", "measured", "published", "tolerance", "passed"}`` with numbers, so the
notebook's table is computed, never typed. :func:`summary` turns a list of checks into
that table.

    spec = load("generator", scale="tiny")
    table = run(spec)                       # a tidy pandas DataFrame
    verdict = check_generator(table)        # {"passed": True, "claims": [...]}
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jaxtyping import Array, Float

from labkit.sim import data as data_mod
from labkit.sim import generator as gen_mod
from labkit.sim import loop, prng
from labkit.sim import metrics as M
from labkit.sim.config import DATA_STRATEGIES, Config, ConfigError, params_grid
from labkit.experiments import Experiment, read_yaml, resolve
from labkit.sim.recommenders import RECOMMENDERS, World

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"

NAMES = ("generator", "accumulate", "chaney", "degenerate")

PAPERS = {
    "generator": "Shumailov, Shumaylov, Zhao, Papernot, Anderson & Gal, \"AI models collapse when "
                 "trained on recursively generated data\", Nature 631 (2024), the single-Gaussian example",
    "accumulate": "Gerstgrasser, Schaeffer, Dey, Rafailov, Pai et al., \"Is model collapse inevitable? "
                  "Breaking the curse of recursion by accumulating real and synthetic data\" (2024), "
                  "the linear-regression model",
    "chaney": "Chaney, Stewart & Engelhardt, \"How algorithmic confounding in recommendation systems "
              "increases homogeneity and decreases utility\", RecSys 2018",
    "degenerate": "Jiang, Chiappa, Lattimore, Gyorgy & Kohli, \"Degenerate feedback loops in "
                  "recommender systems\", AIES 2019",
}

# Settings of each reproduction that are not labkit levers (sample sizes, chains...),
# with their defaults; a study file's `setup` may override them, and so may a scale's.
SETUP_DEFAULTS: dict[str, dict[str, Any]] = {
    "generator": {"sigma0": 1.0, "sample_sizes": [10, 30, 100], "generations": 40, "chains": 20000,
                  "tail_threshold": 2.0, "strategies": ["replace", "accumulate"], "seed": 0,
                  "chain_batch": 2000},
    "accumulate": {"n_features": 10, "n_samples": 50, "noise": 1.0, "generations": 30,
                   "repetitions": 4000, "strategies": ["replace", "accumulate"], "seed": 0},
    "chaney": {"startup_rounds": 10, "checkpoints": 10},
    "degenerate": {},
}

_TOP_KEYS = ("study", "paper", "finding", "description", "setup", "base", "conditions", "grid", "seeds",
             "scales")


@dataclass(frozen=True)
class Reproduction:
    """One reproduction resolved at a scale.

    ``setup`` holds the settings that are not labkit levers (sample sizes, number of
    chains, start-up rounds); ``experiment`` the labkit levers, named conditions, grid
    and seeds of the simulation studies (``None`` for the two that need no simulation).
    """

    name: str
    paper: str
    finding: str
    scale: str | None
    setup: Mapping[str, Any]
    experiment: Experiment | None = None


def _coerce(key: str, value: Any, default: Any, where: str) -> Any:
    """``value`` checked against the type of ``default`` (lists element-wise)."""
    def bad(why: str) -> ConfigError:
        return ConfigError(f"{where}: setup.{key} = {value!r} {why}")

    if isinstance(default, list):
        if not isinstance(value, list) or not value:
            raise bad("must be a non-empty list")
        return [_coerce(key, v, default[0], where) for v in value]
    if isinstance(default, bool) or isinstance(value, bool):
        raise bad("has the wrong type")
    if isinstance(default, int):
        if not isinstance(value, int) or value < 0:
            raise bad("must be a whole number >= 0")
        return value
    if isinstance(default, float):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise bad("must be a positive number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("must be a string")
        return value
    return value


def load(name: str | Path, scale: str | None = None) -> Reproduction:
    """Read ``experiments/reproduce_<name>.yaml`` (or a path) and resolve it at ``scale``.

    The file has the study form of :mod:`labkit.experiments` (``base``, ``conditions``,
    ``grid``, ``seeds``, ``scales``) plus ``paper``, ``finding`` and ``setup``; a scale
    may override ``setup`` keys under its own ``setup``, and the ``grid`` under its own
    ``grid``. Errors name the file and key.
    """
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = EXPERIMENTS / f"reproduce_{name}.yaml"
    raw = read_yaml(path)
    unknown = sorted(set(raw) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; allowed: {', '.join(_TOP_KEYS)}")
    short = str(raw.get("study", path.stem)).removeprefix("reproduce_")
    if short not in SETUP_DEFAULTS:
        raise ConfigError(f"{path}: study = {raw.get('study')!r} is not a reproduction; known: "
                          f"{', '.join('reproduce_' + n for n in NAMES)}")
    scales = dict(raw.get("scales") or {})
    scale = scale if scale is not None else ("default" if "default" in scales else None)
    if scale is not None and scale not in scales:
        raise ConfigError(f"{path}: scale = {scale!r} is not defined; allowed: "
                          f"{', '.join(map(repr, scales)) or 'none'}")
    sized = dict(scales.get(scale) or {}) if scale is not None else {}
    setup_given = {**(raw.get("setup") or {}), **(sized.pop("setup", None) or {})}
    grid = sized.pop("grid", None)
    defaults = SETUP_DEFAULTS[short]
    for key in setup_given:
        if key not in defaults:
            raise ConfigError(f"{path}: unknown setup key {key!r}; allowed: {', '.join(defaults) or 'none'}")
    setup = {key: _coerce(key, setup_given[key], default, str(path)) if key in setup_given else default
             for key, default in defaults.items()}
    experiment = None
    if "base" in raw:
        study = {k: raw[k] for k in ("study", "description", "base", "conditions", "grid", "seeds")
                 if k in raw}
        if grid is not None:
            study["grid"] = grid
        study["scales"] = {scale: sized} if scale is not None else {}
        experiment = resolve(study, scale, where=str(path), name=path.stem)
    elif sized or grid is not None:
        raise ConfigError(f"{path}: scale {scale!r} sets levers {sorted(sized)} but the file has no `base`; "
                          f"put this reproduction's sizes under the scale's `setup`")
    return Reproduction(name=short, paper=str(raw.get("paper", PAPERS[short])).strip(),
                        finding=" ".join(str(raw.get("finding", "")).split()), scale=scale,
                        setup=setup, experiment=experiment)


# ---------------------------------------------------------------------------
# generations of data, weighted by labkit's data strategies


@lru_cache(maxsize=None)
def _strategy_config(strategy: str, generations: int, rows: int) -> Config:
    if strategy not in DATA_STRATEGIES:
        raise ConfigError(f"strategy = {strategy!r} is not a labkit data strategy; allowed: "
                          f"{', '.join(DATA_STRATEGIES)}")
    # One "round" of the log per generation, one "user" per row of that generation's data,
    # a slate of one: the log is then exactly a table of generations x rows.
    return Config.from_dict(data_strategy=strategy, window=1, rounds=generations, n_users=rows,
                            slate_size=1, n_items=2, initial_items=2, new_items=0)


def generation_weights(strategy: str, generations: int, rows: int, current: Any
                       ) -> Float[Array, "generations rows"]:
    """Loss weight of each row of each generation of data, when training generation ``current``.

    The weights come from labkit's own data strategy (:data:`labkit.sim.data.STRATEGIES`) run
    on a log in which round ``g`` holds the ``rows`` data points of generation ``g``:
    generation 0 is real (human) data, every later generation is synthetic (made by the
    previous model). So ``accumulate`` trains on every generation so far and ``replace``
    (with a window of one round) on the newest generation only; ``human_only`` keeps the
    real data only and ``downweight`` weights synthetic rows by ``synthetic_weight``.

    Args:
      strategy: a labkit data strategy name.
      generations: rows of the table (static).
      rows: data points per generation (static).
      current: the generation being trained, 0-based; may be traced (inside ``scan``).
    """
    config = _strategy_config(strategy, generations, rows)
    static = config.static
    generation = jnp.arange(generations)
    filled = generation <= current
    log = data_mod.empty_log(static)
    synthetic = ((generation >= 1) & filled)[:, None, None]
    log = log._replace(round=jnp.where(filled, generation, -1).astype(jnp.int32),
                       synthetic=jnp.broadcast_to(synthetic, log.synthetic.shape))
    valid = jnp.broadcast_to(filled[:, None, None], log.item.shape)
    weight = data_mod.STRATEGIES[strategy](log, valid, jnp.asarray(current, jnp.int32), static, config.params)
    return weight[:, :, 0]


# ---------------------------------------------------------------------------
# 1. model collapse of a refitted Gaussian (Shumailov et al. 2024)


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


def _claim(claim: str, measured: Any, published: Any, tolerance: Any, passed: bool | None) -> dict:
    return {"claim": claim, "measured": measured, "published": published, "tolerance": tolerance,
            "passed": None if passed is None else bool(passed)}


def _verdict(name: str, claims: list[dict]) -> dict:
    tested = [c["passed"] for c in claims if c["passed"] is not None]
    return {"name": name, "paper": PAPERS[name], "passed": bool(tested) and all(tested), "claims": claims}


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
    return _verdict("generator", claims)


# ---------------------------------------------------------------------------
# 2. accumulate versus replace in linear regression (Gerstgrasser et al. 2024)


@partial(jax.jit, static_argnums=(2, 3, 4, 5))
def _regression_runs(keys, strategy_index, strategies: tuple[str, ...], n_features: int, n_samples: int,
                     generations: int, noise) -> Float[Array, "runs repetitions generations"]:
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
    return _verdict("accumulate", claims)


# ---------------------------------------------------------------------------
# simulations with a random start-up period (Chaney et al.'s protocol)


def _finite_metrics(metrics: Mapping[str, Any], seeds: Sequence[int]) -> dict[str, np.ndarray]:
    """The round metrics of labkit.METRIC_NAMES as numpy arrays; a NaN or inf raises
    :class:`labkit.sim.loop.NumericalError` naming the round, seed and quantity."""
    checked = loop.check_finite(metrics, seeds)
    return {name: np.asarray(checked[name]) for name in loop.METRIC_NAMES}


@partial(jax.jit, static_argnums=(0, 3))
def _startup(static, params, keys, rounds: int):
    """Every seed's world from init, then ``rounds`` rounds of ``static`` (the random recommender)."""
    def one(key):
        state = loop.init_state(jax.random.fold_in(key, 0), static, params)
        return loop.run_rounds(static, params, state, jax.random.split(jax.random.fold_in(key, 1), rounds))
    return jax.vmap(one)(keys)


@partial(jax.jit, static_argnums=(0, 4))
def _continue(static, params, states, keys, rounds: int):
    """From each seed's start-up state: the recommender of ``static`` is initialised,
    trained on the start-up log, then the loop runs ``rounds`` more rounds."""
    recommender = RECOMMENDERS[static.recommender]

    def one(state, key):
        k_init, k_fit = jax.random.split(jax.random.fold_in(key, 2))
        rec = recommender.init(k_init, static, params)
        training = data_mod.training_data(state.log, state.catalog, state.round - 1, static, params)
        rec = recommender.fit(rec, training, World(state.catalog, state.users), k_fit, static, params)
        return loop.run_rounds(static, params, state._replace(recommender=rec),
                               jax.random.split(jax.random.fold_in(key, 3), rounds))
    return jax.vmap(one)(states, keys)


def _check_startup(config: Config, startup_rounds: int) -> None:
    if not 0 <= startup_rounds < config.rounds:
        raise ConfigError(f"startup_rounds = {startup_rounds} must lie in [0, rounds = {config.rounds})")


def startup_phase(config: Config, seeds: Sequence[int], startup_rounds: int):
    """The start-up of :func:`simulate_with_startup`: ``startup_rounds`` rounds of random
    recommendations in every seed's world. It depends on ``config`` only through the
    levers other than ``recommender``, so one start-up serves every recommender."""
    _check_startup(config, startup_rounds)
    startup = config.replace(recommender="random")
    state, metrics = _startup(startup.static, startup.params, loop.seed_keys(seeds), startup_rounds)
    return state, _finite_metrics(metrics, seeds)


def simulate_with_startup(config: Config, seeds: Sequence[int], startup_rounds: int, startup=None):
    """Run ``config`` for ``config.rounds`` rounds, of which the first ``startup_rounds``
    recommend at random (Chaney et al.'s start-up period) and the rest use
    ``config.recommender``, which is first trained on the start-up interactions.

    With the same seeds every recommender gets the same world and the same start-up
    history, so recommenders are compared on paired runs; pass ``startup`` (the result
    of :func:`startup_phase` for the same levers and seeds) to reuse one start-up.

    Returns ``(final_state, metrics)``; metrics are numpy ``[seeds, rounds]`` arrays.
    """
    _check_startup(config, startup_rounds)
    state, first = startup if startup is not None else startup_phase(config, seeds, startup_rounds)
    state, rest = _continue(config.static, config.params, state, loop.seed_keys(seeds),
                            config.rounds - startup_rounds)
    rest = _finite_metrics(rest, seeds)
    return state, {name: np.concatenate([first[name], rest[name]], axis=1) for name in loop.METRIC_NAMES}


def consumption_history(log: data_mod.Log) -> np.ndarray:
    """Item (uid) each user consumed in each round, -1 for none: ``[rounds, users]``.

    Users click at most one slate item per round, so one column per round holds it all.
    """
    click = np.asarray(log.click)
    uid = np.asarray(log.uid)
    return np.where(click, uid, -1).max(axis=-1)


# ---------------------------------------------------------------------------
# 3. algorithmic confounding and homogenization (Chaney et al. 2018)


def run_chaney(spec: Reproduction, workers: int = 2) -> pd.DataFrame:
    """Run every recommender of the study on paired worlds; one row per (recommender, seed, round).

    Rows are the checkpoints (``setup.checkpoints`` evenly spaced rounds after the
    start-up, the last round always included). Columns: ``homogenization``, the mean
    Jaccard index of the items consumed since the start-up over all pairs of users
    (:func:`labkit.sim.metrics.jaccard_homogenization`, as Chaney et al.); ``utility``, the
    mean true utility of the items consumed since the start-up; and both relative to the
    ``ideal`` recommender in the same seed: ``delta_homogenization`` (a difference, as in
    Chaney et al.'s figures) and ``relative_utility`` (``utility / ideal's - 1``).
    """
    exp = spec.experiment
    startup = spec.setup["startup_rounds"]
    if "ideal" not in exp.conditions:
        raise ConfigError("chaney: the study needs an `ideal` condition to measure against")
    rounds = exp.config.rounds
    after = rounds - startup
    checkpoints = np.unique(np.linspace(0, after - 1, min(spec.setup["checkpoints"], after)).round().astype(int))
    startups = {}  # one start-up per distinct set of non-recommender levers
    for config in exp.conditions.values():
        shared = config.replace(recommender="random").hash()
        if shared not in startups:
            startups[shared] = startup_phase(config, exp.seeds, startup)

    def one(item):
        name, config = item
        state, metrics = simulate_with_startup(config, exp.seeds, startup,
                                               startups[config.replace(recommender="random").hash()])
        return name, jax.device_get(state.log), metrics

    # Each recommender is its own compiled program; compiling two at a time uses both cores.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(one, exp.conditions.items()))
    records = []
    for name, logs, metrics in runs:
        for s, seed in enumerate(exp.seeds):
            history = consumption_history(jax.tree.map(lambda a: a[s], logs))[startup:]  # [after, users]
            utility = metrics["true_utility"][s, startup:]
            clicks = metrics["ctr"][s, startup:]
            for c in checkpoints:
                sets = np.where(np.arange(after)[:, None] <= c, history, -1).T  # users x rounds
                weight = clicks[:c + 1]
                records.append({
                    "recommender": name, "seed": seed, "round": startup + int(c),
                    "homogenization": float(M.jaccard_homogenization(sets)),
                    "utility": float((utility[:c + 1] * weight).sum() / max(weight.sum(), 1e-12)),
                    "ctr": float(weight.mean()),
                })
    table = pd.DataFrame.from_records(records)
    ideal = table[table["recommender"] == "ideal"].set_index(["seed", "round"])
    key = pd.MultiIndex.from_frame(table[["seed", "round"]])
    ideal = {column: ideal[column].reindex(key).to_numpy() for column in ("homogenization", "utility")}
    table["delta_homogenization"] = table["homogenization"].to_numpy() - ideal["homogenization"]
    table["relative_utility"] = table["utility"].to_numpy() / ideal["utility"] - 1.0
    return table


def _paired(values: pd.Series) -> tuple[float, float]:
    """Mean and standard error over seeds."""
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("inf")


def check_chaney(table: pd.DataFrame, z: float = 2.0,
                 confounded: Sequence[str] = ("popularity", "mf", "content")) -> dict:
    """Does labkit show Chaney et al.'s homogenization and utility loss?

    At the last round, over seeds (each seed a paired world, so differences from
    ``ideal`` are taken seed by seed), one claim each:

    1. every recommender trained on its own confounded data (``confounded``) homogenizes
       users more than ``ideal``: mean Jaccard difference more than ``z`` SE above 0;
    2. ``random`` homogenizes less than ``ideal`` (more than ``z`` SE below 0), and the
       least of all recommenders (the lowest mean Jaccard index);
    3. users' utility is lower than under ``ideal`` for every other recommender:
       mean relative utility more than ``z`` SE below 0.
    """
    last = table[table["round"] == table["round"].max()]
    by = {name: group for name, group in last.groupby("recommender")}
    claims = []
    for name in confounded:
        if name in by:
            mean, se = _paired(by[name]["delta_homogenization"])
            claims.append(_claim(f"{name} homogenizes users more than ideal",
                                 {"Jaccard - ideal's": round(mean, 4), "SE": round(se, 4)}, "> 0",
                                 f"mean - {z:g} SE > 0", mean - z * se > 0))
    if "random" in by:
        mean, se = _paired(by["random"]["delta_homogenization"])
        jaccard = last.groupby("recommender")["homogenization"].mean()
        claims.append(_claim("random homogenizes least",
                             {"Jaccard - ideal's": round(mean, 4), "SE": round(se, 4),
                              "lowest": jaccard.idxmin(), "Jaccard by recommender": jaccard.round(4).to_dict()},
                             {"Jaccard - ideal's": "< 0", "lowest": "random"}, f"mean + {z:g} SE < 0",
                             mean + z * se < 0 and jaccard.idxmin() == "random"))
    measured, ok = {}, True
    for name, group in by.items():
        if name == "ideal":
            continue
        mean, se = _paired(group["relative_utility"])
        measured[name] = {"utility / ideal's - 1": round(mean, 4), "SE": round(se, 4)}
        ok &= mean + z * se < 0
    claims.append(_claim("utility is lower than under ideal", measured, {n: "< 0" for n in measured},
                         f"mean + {z:g} SE < 0", ok and bool(measured)))
    return _verdict("chaney", claims)


# ---------------------------------------------------------------------------
# 4. degenerate feedback loops (Jiang et al. 2019)


def run_degenerate(spec: Reproduction, workers: int = 2) -> pd.DataFrame:
    """Run every pool condition over the epsilon grid; one row per (condition, epsilon, seed, round).

    Each condition is one compiled :func:`labkit.simulate_grid` call over the study's
    ``grid`` (``epsilon``) and seeds. Columns: the round metrics of users' interest
    (``user_taste_entropy``, ``preference_drift``), of consumption and the dashboard.
    """
    exp = spec.experiment
    if "epsilon" not in exp.grid:
        raise ConfigError("degenerate: the study's grid must vary `epsilon`")
    keep = ("user_taste_entropy", "preference_drift", "consumption_topic_entropy", "ctr", "true_utility",
            "alive_items")

    def one(config: Config):
        params, points = params_grid(config, {"epsilon": exp.grid["epsilon"]})
        return points, _finite_metrics(loop.simulate_grid(config, params, exp.seeds)[1], exp.seeds)

    # Each pool is its own compiled program; compiling two at a time uses both cores.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(one, exp.conditions.values()))
    frames = []
    for (name, config), (points, metrics) in zip(exp.conditions.items(), runs):
        n_points, n_seeds, n_rounds = metrics[keep[0]].shape
        frame = pd.DataFrame({
            "condition": name,
            "new_items": config.new_items,
            "epsilon": np.repeat([p["epsilon"] for p in points], n_seeds * n_rounds),
            "seed": np.tile(np.repeat(np.asarray(exp.seeds), n_rounds), n_points),
            "round": np.tile(np.arange(n_rounds), n_points * n_seeds),
        })
        for metric in keep:
            frame[metric] = metrics[metric].reshape(-1).astype(np.float64)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def degeneracy_speed(table: pd.DataFrame, metric: str = "user_taste_entropy") -> pd.DataFrame:
    """Speed of degeneracy per (condition, epsilon, seed): how fast users' interest
    concentrates, the least-squares slope of ``-metric`` against round (nats per round
    for taste entropy; > 0 means degenerating)."""
    def slope(group: pd.DataFrame) -> float:
        return -float(np.polyfit(group["round"], group[metric], 1)[0])

    speed = table.groupby(["condition", "epsilon", "seed"]).apply(slope, include_groups=False)
    return speed.rename("speed").reset_index()


def check_degenerate(table: pd.DataFrame, z: float = 2.0, fixed: str = "fixed_pool",
                     growing: str = "growing_pool") -> dict:
    """Does labkit show Jiang et al.'s degenerate feedback loop and its two remedies?

    On the degeneracy speed (:func:`degeneracy_speed`), seeds paired:

    1. the greedy loop (smallest epsilon, ``fixed`` pool) degenerates: speed > ``z`` SE above 0;
    2. random exploration slows it: across the epsilon grid the speed never rises
       significantly (each step's mean change < ``z`` SE) and the largest epsilon is
       slower than the smallest by more than ``z`` SE;
    3. a growing candidate pool slows it: at the smallest epsilon, ``growing`` is slower
       than ``fixed`` by more than ``z`` SE.
    """
    speed = degeneracy_speed(table)
    claims = []
    fixed_speed = speed[speed["condition"] == fixed].pivot(index="seed", columns="epsilon", values="speed")
    eps = sorted(fixed_speed.columns)
    if eps:
        mean, se = _paired(fixed_speed[eps[0]])
        claims.append(_claim("greedy loop: users' interest degenerates",
                             {"speed (nats/round)": round(mean, 5), "SE": round(se, 5), "epsilon": eps[0]},
                             "> 0", f"mean - {z:g} SE > 0", mean - z * se > 0))
        steps = []
        for a, b in zip(eps, eps[1:]):
            m, s = _paired(fixed_speed[b] - fixed_speed[a])
            steps.append((a, b, m, s))
        total, total_se = _paired(fixed_speed[eps[-1]] - fixed_speed[eps[0]])
        claims.append(_claim(
            "more random exploration, slower degeneracy",
            {"speed by epsilon": {float(e): round(float(fixed_speed[e].mean()), 5) for e in eps},
             "largest step up (mean, SE)": max(((round(m, 5), round(s, 5)) for *_, m, s in steps),
                                               default=None)},
            "decreasing in epsilon", f"no step up by > {z:g} SE; overall drop > {z:g} SE",
            len(eps) > 1 and all(m < z * s for *_, m, s in steps) and total + z * total_se < 0))
    grow = speed[speed["condition"] == growing].pivot(index="seed", columns="epsilon", values="speed")
    if eps and len(grow) and eps[0] in grow.columns:
        diff = grow[eps[0]] - fixed_speed[eps[0]].reindex(grow.index)
        mean, se = _paired(diff)
        claims.append(_claim("a growing candidate pool slows degeneracy",
                             {"speed fixed": round(float(fixed_speed[eps[0]].mean()), 5),
                              "speed growing": round(float(grow[eps[0]].mean()), 5),
                              "difference (SE)": [round(mean, 5), round(se, 5)]},
                             "growing < fixed", f"mean + {z:g} SE < 0", mean + z * se < 0))
    return _verdict("degenerate", claims)


# ---------------------------------------------------------------------------
# the registry, figures, and the pass/fail table

RUNNERS: dict[str, Callable[[Reproduction], pd.DataFrame]] = {
    "generator": run_generator, "accumulate": run_accumulate, "chaney": run_chaney,
    "degenerate": run_degenerate,
}
CHECKS: dict[str, Callable[[pd.DataFrame], dict]] = {
    "generator": check_generator, "accumulate": check_accumulate, "chaney": check_chaney,
    "degenerate": check_degenerate,
}


def run(spec: Reproduction | str, scale: str | None = None) -> pd.DataFrame:
    """Run a reproduction (a :class:`Reproduction` or its name, loaded at ``scale``)."""
    if isinstance(spec, str):
        spec = load(spec, scale)
    with prng.unrolled_threefry():  # labkit's programs only: see labkit.sim.prng
        return RUNNERS[spec.name](spec)


def check(name: str, table: pd.DataFrame) -> dict:
    """The check of reproduction ``name`` on its table."""
    return CHECKS[name](table)


def summary(verdicts: Sequence[dict]) -> pd.DataFrame:
    """The pass/fail table: one row per claim of each reproduction's check."""
    rows = []
    for verdict in verdicts:
        for c in verdict["claims"]:
            rows.append({"reproduction": verdict["name"], "claim": c["claim"],
                         "result": {True: "pass", False: "FAIL", None: "not testable"}[c["passed"]],
                         "measured": _text(c["measured"]), "published": _text(c["published"]),
                         "tolerance": c["tolerance"]})
    return pd.DataFrame(rows, columns=["reproduction", "claim", "result", "measured", "published",
                                       "tolerance"])


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def figure(name: str, table: pd.DataFrame):
    """The figure of reproduction ``name``: labkit's result beside the published shape."""
    return FIGURES[name](table)


def _figure(ncols: int, width: float = 2.4, height: float = 2.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def figure_generator(table: pd.DataFrame):
    """(a) mean variance with the law ((M-1)/M)^n; (b) the typical chain: tail mass and
    variance relative to the truth; (c) accumulate against replace."""
    from labkit.analysis.plots import style

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


def figure_accumulate(table: pd.DataFrame):
    """Mean excess test error over the first generation's, with the published laws."""
    from labkit.analysis.plots import style

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


def figure_chaney(table: pd.DataFrame):
    """(a) homogenization relative to ideal over rounds; (b) utility relative to ideal."""
    import seaborn as sns

    from labkit.analysis.plots import style

    with style():
        fig, (a, b) = _figure(2, width=3.0, height=2.3)
        order = list(pd.unique(table["recommender"]))
        sns.lineplot(data=table, x="round", y="delta_homogenization", hue="recommender", hue_order=order,
                     errorbar=("se", 2), ax=a)
        a.axhline(0, color="k", lw=0.6)
        a.set(title="homogenization vs ideal\n(published: popularity, mf, content > 0 > random)",
              ylabel="Jaccard index - ideal's", xlabel="round")
        a.legend(frameon=False, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        last = table[table["round"] == table["round"].max()]
        sns.barplot(data=last, x="recommender", y="relative_utility", order=order, hue="recommender",
                    hue_order=order, errorbar=("se", 2), ax=b, legend=False)
        b.axhline(0, color="k", lw=0.6)
        b.set(title="utility vs ideal (published: all < 0)", ylabel="utility / ideal's - 1", xlabel="")
        b.tick_params(axis="x", rotation=30)
    return fig


def figure_degenerate(table: pd.DataFrame):
    """(a) users' taste entropy over rounds by epsilon; (b) degeneracy speed against epsilon."""
    import seaborn as sns

    from labkit.analysis.plots import style

    with style():
        fig, (a, b) = _figure(2, width=3.0, height=2.3)
        conditions = list(pd.unique(table["condition"]))
        first = table[table["condition"] == conditions[0]]
        sns.lineplot(data=first, x="round", y="user_taste_entropy", hue="epsilon", errorbar=None, ax=a,
                     palette="viridis")
        a.set(title=f"interest concentrates ({conditions[0]})", ylabel="users' taste entropy (nats)")
        speed = degeneracy_speed(table)
        sns.pointplot(data=speed, x="epsilon", y="speed", hue="condition", errorbar=("se", 2), ax=b,
                      dodge=0.2, markersize=3, linewidth=1)
        b.axhline(0, color="k", lw=0.6)
        b.set(title="degeneracy speed (published: falls with epsilon)",
              ylabel="entropy lost per round (nats)", xlabel="epsilon")
    return fig


FIGURES = {"generator": figure_generator, "accumulate": figure_accumulate, "chaney": figure_chaney,
           "degenerate": figure_degenerate}
