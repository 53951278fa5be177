"""Reproduction ``strong_collapse``: a constant fraction of synthetic data puts a floor under
the test error that more data does not lower, and larger models raise the floor.

Dohmatob, Feng, Subramonian & Kempe, ICLR 2025 ("Strong model collapse"), their supervised
regression setting. Real data: ``x ~ N(0, I_d)``, ``y = x . w1 + eps`` (``eps ~ N(0, sigma^2)``).
Synthetic data: the same inputs labelled by a mis-specified generator, ``y = x . w2 + eps``
with ``|w2 - w1| = c`` (the paper's quality of the synthetic data). A training set of ``n``
rows holds ``(1 - p) n`` real and ``p n`` synthetic rows, weighted by labkit's data strategy
(:func:`labkit.reproduce.common.mixed_weights`: ``accumulate`` weighs every row 1,
``downweight`` the synthetic rows by ``synthetic_weight``); the model is least squares on
``m`` random projections of the input (``f(x) = x . S v``, ``S`` a ``d x m`` Gaussian matrix;
``m = d`` is ordinary least squares). The test error is the excess error on real data,
``|S v - w1|^2``.

The law, on paper (ordinary least squares, every row weighted 1). With ``D`` the diagonal
that marks the synthetic rows, ``w_hat - w1 = (X'X)^-1 X'(D X Delta + eps)``. Write
``D X Delta = p X Delta + (D - p) X Delta``: the first part gives ``p Delta`` exactly; the
second is uncorrelated with it (rows are exchangeable, so ``E[(X'X)^-1 X'D X] = p I``) and
behaves as label noise of variance ``p (1 - p) c^2``. So

    E|w_hat - w1|^2 = sigma^2 d/(n - d - 1) + c^2 (p^2 + p (1 - p) K(n, d)),

with ``K = d/n + O(1/n^2)``. With real data only (``p = 0``) the error falls as ``d/n`` to 0;
with ``p > 0`` it falls to the floor ``p^2 c^2`` and stays there, however large ``n`` is.
With synthetic rows weighted ``s`` the floor is ``p_s^2 c^2``, ``p_s = s p/(s p + 1 - p)``
(the synthetic share of the weight). With ``m <= d`` random projections the large-``n``
fit is the projection ``P`` of ``w1 + p Delta`` onto the span of ``S``, whose error
``|(I - P) w1|^2 + p^2 |P Delta|^2`` splits exactly into the approximation error and the
collapse, ``E = p^2 c^2 m/d`` (``E[P] = (m/d) I`` for a Gaussian ``S``): the floor the
synthetic data add grows with the model's size.

Each floor is measured as the asymptote ``alpha`` of the least-squares fit
``error(n) = alpha + beta/(n - m - 1)`` over the ladder of training-set sizes, per
Monte-Carlo replicate (so its standard error is over replicates); every fraction and size
sees the same inputs and noise (paired), so the floors' differences have small errors.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jaxtyping import Array, Float

from labkit.reproduce.common import Paper, Reproduction, _claim, _figure, _verdict, mixed_weights
from labkit.sim.config import ConfigError

NAME = "strong_collapse"
CITATION = ("Dohmatob, Feng, Subramonian & Kempe, \"Strong model collapse\", ICLR 2025 (arXiv 2410.04840), "
            "regression on a mix of real and synthetic data")
SETUP = {"n_features": 20, "sizes": [8, 16, 32, 64, 128, 256], "synthetic_fractions": [0.05, 0.1, 0.2, 0.4],
         "quality": 1.0, "noise": 1.0, "synthetic_weights": [1.0, 0.25], "model_sizes": [0.25, 0.5, 1.0],
         "replicates": 1000, "seed": 0, "replicate_batch": 25}


def floor(p: float, quality: float, synthetic_weight: float = 1.0, model_size: float = 1.0) -> float:
    """The large-``n`` collapse term: ``(p_s c)^2 m/d`` with ``p_s = s p / (s p + 1 - p)``."""
    share = synthetic_weight * p / (synthetic_weight * p + 1 - p)
    return share ** 2 * quality ** 2 * model_size


@partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _errors(keys, d: int, m_max: int, breaks: tuple[int, ...], batch: int, runs, quality, noise
            ) -> Float[Array, "batches batch runs"]:
    """Excess test error of every run (``runs``: real-row break, end break, synthetic weight,
    width, as arrays) for every replicate; ``keys``: one per batch of replicates."""
    n_max = breaks[-1]
    start, end, weight, width = runs

    def replicate(key):
        k_x, k_e, k_w, k_u, k_s = jax.random.split(key, 5)
        x = jax.random.normal(k_x, (n_max, d))
        eps = noise * jax.random.normal(k_e, (n_max,))
        w1 = jax.random.normal(k_w, (d,)) / jnp.sqrt(d)
        u = jax.random.normal(k_u, (d,))
        delta = quality * u / jnp.linalg.norm(u)
        # The fit depends on the span of S only; its first m columns orthonormalized span the
        # same space and keep the normal equations as well conditioned as the data's.
        proj = jnp.linalg.qr(jax.random.normal(k_s, (d, m_max)))[0]
        # Sums of x x' and x eps over the rows before each break: every training set is a prefix
        # of the rows, its real rows the first ones, so each is a difference of two of these.
        bounds = list(zip((0,) + breaks[:-1], breaks))
        gram = jnp.cumsum(jnp.stack([x[i:j].T @ x[i:j] for i, j in bounds]), 0)
        cross = jnp.cumsum(jnp.stack([x[i:j].T @ eps[i:j] for i, j in bounds]), 0)

        def one_run(i_real, i_end, s, m):
            synth = s * (gram[i_end] - gram[i_real])
            a = gram[i_real] + synth
            b = a @ w1 + synth @ delta + cross[i_real] + s * (cross[i_end] - cross[i_real])
            keep = (jnp.arange(m_max) < m).astype(x.dtype)
            sm = proj * keep
            v = jnp.linalg.solve(sm.T @ a @ sm + jnp.diag(1 - keep), sm.T @ b)
            return jnp.sum((sm @ v - w1) ** 2)

        return jax.vmap(one_run)(start, end, weight, width)

    def one_batch(key):
        return jax.vmap(replicate)(jax.random.split(key, batch))

    return jax.lax.map(one_batch, keys)


def run_strong_collapse(spec: Reproduction) -> pd.DataFrame:
    """One row per (model size, synthetic weight, synthetic fraction, training-set size).

    Columns: ``error`` (the mean excess test error on real data over replicates) and ``se``;
    ``law_real`` (``sigma^2 m/(n - m - 1)``, the real-data-only variance term); per group
    (model size, weight, fraction) the fitted asymptote ``plateau`` and its ``se_plateau``,
    ``gap`` (the plateau minus the same model's plateau with real data only, paired) and
    ``se_gap``, ``floor``, the law's ``(p_s c)^2 m/d``, and the standard errors of the paired
    steps of the floor from the next smaller fraction (``se_step_p``) and model (``se_step_m``).
    """
    s = spec.setup
    d, c, sigma = s["n_features"], s["quality"], s["noise"]
    ns = [int(k * d) for k in s["sizes"]]
    fractions = [0.0] + [float(p) for p in s["synthetic_fractions"]]
    widths = sorted({max(1, int(round(f * d))) for f in s["model_sizes"]} | {d})  # m = d: least squares
    if d < 1:
        raise ConfigError(f"strong_collapse: setup.n_features = {d} must be at least 1")
    if len(ns) < 3 or sorted(set(ns)) != ns or ns[0] <= d + 1:
        raise ConfigError(f"strong_collapse: setup.sizes = {s['sizes']} must be at least 3 increasing multiples of "
                          f"n_features, the first above 1 + 1/n_features (n > d + 1)")
    for p in fractions:
        if not 0 <= p < 1:
            raise ConfigError(f"strong_collapse: setup.synthetic_fractions has {p}; a fraction lies in (0, 1)")
    if s["replicates"] < 2 or s["replicate_batch"] < 1:
        raise ConfigError(f"strong_collapse: setup.replicates = {s['replicates']} must be at least 2 (standard "
                          f"errors) and setup.replicate_batch = {s['replicate_batch']} at least 1")
    for f in s["model_sizes"]:
        if f > 1:
            raise ConfigError(f"strong_collapse: setup.model_sizes has {f}; a model size m/d lies in (0, 1]")
    # The runs: every fraction at every width with weight 1 (accumulate), and every weight
    # other than 1 (downweight) at the full width.
    groups = [(m, 1.0, p) for m in widths for p in fractions]
    groups += [(d, float(w), p) for w in s["synthetic_weights"] if w != 1.0 for p in fractions if p > 0]
    runs = [(m, w, p, n, n - int(round(p * n))) for m, w, p in groups for n in ns]
    # labkit's data strategy gives the rows their loss weights: a real row 1, a synthetic row s
    row_weight = {}
    for w in {w for _, w, _ in groups}:
        real, synthetic = (float(v) for v in mixed_weights("accumulate" if w == 1.0 else "downweight", 1, 1, w))
        if real != 1.0:
            raise ConfigError(f"strategy weighs a real row {real}, not 1")
        row_weight[w] = synthetic
    breaks = tuple(sorted({b for *_, n, n_real in runs for b in (n, n_real)} - {0}))
    index = {b: i for i, b in enumerate(breaks)}
    if any(n_real == 0 for *_, n_real in runs):
        raise ConfigError("strong_collapse: a training set has no real row; lower setup.synthetic_fractions")
    arrays = (jnp.asarray([index[r[4]] for r in runs]), jnp.asarray([index[r[3]] for r in runs]),
              jnp.asarray([row_weight[r[1]] for r in runs], jnp.float32), jnp.asarray([r[0] for r in runs]))
    batch = int(min(s["replicate_batch"], s["replicates"]))
    keys = jax.random.split(jax.random.key(s["seed"]), -(-s["replicates"] // batch))
    errors = np.asarray(jax.device_get(_errors(keys, d, max(widths), breaks, batch, arrays, jnp.float32(c),
                                               jnp.float32(sigma))), np.float64).reshape(-1, len(runs))
    r = errors.shape[0]
    fitted = {}
    for g, (m, w, p) in enumerate(groups):
        block = errors[:, g * len(ns):(g + 1) * len(ns)]
        design = np.stack([np.ones(len(ns)), 1.0 / (np.asarray(ns) - m - 1)], 1)
        fitted[(m, w, p)] = block @ np.linalg.pinv(design)[0]  # per replicate: the asymptote alpha
    rows = []
    def paired_se(values):
        return values.std(ddof=1) / np.sqrt(r) if values is not None else np.nan

    for g, (m, w, p) in enumerate(groups):
        alpha, gap = fitted[(m, w, p)], fitted[(m, w, p)] - fitted[(m, 1.0, 0.0)]
        # the paired differences from the next smaller fraction (same model and weight) and
        # from the next smaller model (same fraction and weight)
        smaller_p = [q for mm, ww, q in groups if (mm, ww) == (m, w) and q < p]
        smaller_m = [mm for mm, ww, q in groups if (ww, q) == (w, p) and mm < m]
        step_p = alpha - fitted[(m, w, max(smaller_p))] if smaller_p else None
        step_m = gap - (fitted[(max(smaller_m), w, p)] - fitted[(max(smaller_m), 1.0, 0.0)]) if smaller_m else None
        for j, n in enumerate(ns):
            e = errors[:, g * len(ns) + j]
            rows.append({
                "model_size": m / d, "width": m, "synthetic_weight": w, "synthetic_fraction": p, "n": n,
                "n_features": d, "quality": c, "noise": sigma, "replicates": r,
                "error": e.mean(), "se": e.std(ddof=1) / np.sqrt(r), "law_real": sigma ** 2 * m / (n - m - 1),
                "plateau": alpha.mean(), "se_plateau": alpha.std(ddof=1) / np.sqrt(r),
                "gap": gap.mean(), "se_gap": gap.std(ddof=1) / np.sqrt(r), "floor": floor(p, c, w, m / d),
                "se_step_p": paired_se(step_p), "se_step_m": paired_se(step_m),
            })
    return pd.DataFrame(rows)


def _floors(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (model size, synthetic weight, synthetic fraction) with its fitted floor."""
    keys = ["model_size", "synthetic_weight", "synthetic_fraction"]
    return table.groupby(keys, as_index=False).first()[keys + ["plateau", "se_plateau", "gap", "se_gap", "floor", "se_step_p",
                                                                      "se_step_m"]]


def _increasing(values: pd.DataFrame, z: float, step: str) -> tuple[bool, float]:
    """Whether each ``gap`` exceeds the one before by more than ``z`` standard errors of the
    paired difference (column ``step``: ``se_step_p`` along the fractions, ``se_step_m`` along
    the model sizes); and the smallest such step in SE."""
    g, se = values["gap"].to_numpy(), values[step].to_numpy()
    steps = np.diff(g) / se[1:]
    return bool((steps > z).all()), float(steps.min()) if len(steps) else float("nan")


def check_strong_collapse(table: pd.DataFrame, z: float = 4.0, slope_tolerance: float = 0.1) -> dict:
    """Does a constant synthetic fraction put a floor ``p^2 c^2`` under the test error?

    Claims (least squares, ``m = d``, every row weighted 1, unless said otherwise):

    1. with real data only the error is ``sigma^2 d/(n - d - 1)`` (within ``z`` standard errors
       at every ``n``), its log-log slope in ``n`` is within ``slope_tolerance`` of -1, and its
       fitted asymptote is 0 (within ``z`` SE): more data keeps helping;
    2. with a constant synthetic fraction ``p > 0`` the error plateaus: its asymptote lies above
       the real-data one by more than ``z`` paired SE, and at the largest ``n`` the error
       exceeds the real-data error by more than ``z`` SE;
    3. the floor grows with ``p``: each fraction's floor exceeds the next smaller one's by
       more than ``z`` SE of their paired difference;
    4. the floor is ``p^2 c^2`` within ``z`` SE at every ``p`` (a floor linear in ``p``, or none, fails);
    5. labkit's ``downweight`` lever (synthetic rows weighted ``s``) lowers the floor to
       ``(p_s c)^2``, ``p_s = s p/(s p + 1 - p)``, within ``z`` SE;
    6. larger models amplify the collapse: with ``m`` random projections the floor the
       synthetic data add is ``p^2 c^2 m/d`` within ``z`` SE, and grows with ``m`` at every
       ``p`` by more than ``z`` SE of the paired difference.
    """
    claims = []
    floors = _floors(table)
    full = table[np.isclose(table["model_size"], 1.0) & np.isclose(table["synthetic_weight"], 1.0)]
    real = full[full["synthetic_fraction"] == 0].sort_values("n")
    if len(real):
        zr = float(((real["error"] - real["law_real"]).abs() / real["se"]).max())
        slope = float(np.polyfit(np.log(real["n"]), np.log(real["error"]), 1)[0])
        za = float(abs(real["plateau"].iloc[0]) / real["se_plateau"].iloc[0])
        claims.append(_claim(
            "real data only: the error keeps falling as d/n",
            {"max |z| vs sigma^2 d/(n-d-1)": round(zr, 2), "log-log slope": round(slope, 3),
             "asymptote": round(float(real["plateau"].iloc[0]), 5), "asymptote / SE": round(za, 2)},
            {"law": "sigma^2 d/(n - d - 1)", "slope": -1.0, "asymptote": 0.0},
            f"|z| <= {z:g}; |slope + 1| <= {slope_tolerance:g}; |asymptote| <= {z:g} SE",
            zr <= z and abs(slope + 1) <= slope_tolerance and za <= z))
    mixed = floors[np.isclose(floors["model_size"], 1.0) & np.isclose(floors["synthetic_weight"], 1.0)
                   & (floors["synthetic_fraction"] > 0)].sort_values("synthetic_fraction")
    if len(mixed) and len(real):
        last = full[full["n"] == full["n"].max()].set_index("synthetic_fraction")
        above = {p: float((last.loc[p, "error"] - last.loc[0.0, "error"])
                          / np.hypot(last.loc[p, "se"], last.loc[0.0, "se"])) for p in mixed["synthetic_fraction"]}
        above_floor = {p: float(g / se) for p, g, se in zip(mixed["synthetic_fraction"], mixed["gap"], mixed["se_gap"])}
        claims.append(_claim(
            "a constant synthetic fraction: the error plateaus",
            {"floor / SE": {f"p = {p:g}": round(v, 1) for p, v in above_floor.items()},
             "largest n, error above real-only, in SE": {f"p = {p:g}": round(v, 1) for p, v in above.items()}},
            "a floor that more data does not lower", f"> {z:g} SE for every p > 0",
            all(v > z for v in above_floor.values()) and all(v > z for v in above.values())))
        ok, step = _increasing(mixed, z, "se_step_p")
        claims.append(_claim(
            "the floor grows with the synthetic fraction",
            {"floors": {f"p = {p:g}": round(float(g), 5) for p, g in zip(mixed["synthetic_fraction"], mixed["gap"])},
             "smallest step, in SE": round(step, 1)},
            "increasing in p", f"each step > {z:g} SE", ok))
        zf = (mixed["gap"] - mixed["floor"]).abs() / mixed["se_gap"]
        claims.append(_claim(
            "the floor is p^2 c^2",
            {"floor / (p c)^2": {f"p = {p:g}": round(float(g / f), 3)
                                 for p, g, f in zip(mixed["synthetic_fraction"], mixed["gap"], mixed["floor"])},
             "max |z|": round(float(zf.max()), 2)},
            {"floor / (p c)^2": 1.0}, f"|z| <= {z:g} at every p", (zf <= z).all()))
    down = floors[np.isclose(floors["model_size"], 1.0) & ~np.isclose(floors["synthetic_weight"], 1.0)]
    if len(down):
        zd = (down["gap"] - down["floor"]).abs() / down["se_gap"]
        claims.append(_claim(
            "downweight lowers the floor to (p_s c)^2, p_s = s p/(s p + 1 - p)",
            {f"s = {s:g}, p = {p:g}": round(float(g / f), 3)
             for s, p, g, f in zip(down["synthetic_weight"], down["synthetic_fraction"], down["gap"], down["floor"])}
            | {"max |z|": round(float(zd.max()), 2)},
            {"floor / (p_s c)^2": 1.0}, f"|z| <= {z:g} at every s and p", (zd <= z).all()))
    sized = floors[np.isclose(floors["synthetic_weight"], 1.0) & (floors["synthetic_fraction"] > 0)]
    if sized["model_size"].nunique() > 1:
        zm = (sized["gap"] - sized["floor"]).abs() / sized["se_gap"]
        grows = {p: _increasing(g.sort_values("model_size"), z, "se_step_m") for p, g in sized.groupby("synthetic_fraction")}
        claims.append(_claim(
            "larger models amplify the collapse: the floor is p^2 c^2 m/d",
            {"floor / (p^2 c^2 m/d)": {f"m/d = {m:g}": round(float((g["gap"] / g["floor"]).mean()), 3)
                                       for m, g in sized.groupby("model_size")},
             "max |z|": round(float(zm.max()), 2),
             "smallest step in m, in SE": round(min(step for _, step in grows.values()), 1)},
            {"floor": "p^2 c^2 m/d"}, f"|z| <= {z:g}; each step in m > {z:g} SE at every p",
            (zm <= z).all() and all(ok for ok, _ in grows.values())))
    return _verdict(NAME, CITATION, claims)


def figure_strong_collapse(table: pd.DataFrame):
    """(a) the test error against the training-set size, one line per synthetic fraction, with
    the real-data law and each floor; (b) the fitted floors against the fraction, per model
    size and synthetic weight, with the law ``(p_s c)^2 m/d``."""
    from labkit.analysis.style import style

    with style():
        fig, (a, b) = _figure(2, width=3.0, height=2.4)
        full = table[np.isclose(table["model_size"], 1.0) & np.isclose(table["synthetic_weight"], 1.0)]
        for p, g in full.groupby("synthetic_fraction"):
            line, = a.plot(g["n"], g["error"], marker="o", ms=2.5, lw=1, label=f"p = {p:g}")
            if p > 0:
                a.axhline(g["floor"].iloc[0], color=line.get_color(), lw=0.6, ls=":")
        real = full[full["synthetic_fraction"] == 0]
        a.plot(real["n"], real["law_real"], ls="--", color="k", lw=0.8, label="sigma^2 d/(n-d-1)")
        a.set(xscale="log", yscale="log", xlabel="training-set size n", ylabel="test error on real data (excess)",
              title="error against n; dotted: floors (p c)^2")
        ns = sorted(full["n"].unique())
        a.set_xticks(ns[::2], [str(n) for n in ns[::2]])
        a.set_xticks([], minor=True)
        a.legend(frameon=False, fontsize=5.5)
        floors = _floors(table)
        fine = np.linspace(0, floors["synthetic_fraction"].max(), 50)
        for (m, s), g in floors.groupby(["model_size", "synthetic_weight"]):
            line = b.errorbar(g["synthetic_fraction"], g["gap"], yerr=2 * g["se_gap"], marker="o", ms=2.5, lw=0,
                              elinewidth=0.8, label=f"m/d = {m:g}, s = {s:g}")[0]
            b.plot(fine, [floor(p, float(table["quality"].iloc[0]), s, m) for p in fine],
                   color=line.get_color(), lw=0.8, ls="--")
        b.set(xlabel="synthetic fraction p", ylabel="floor (fitted asymptote minus real-only)",
              title="floor = (p_s c)^2 m/d (dashed)")
        b.legend(frameon=False, fontsize=5.5)
    return fig


PAPER = Paper(NAME, CITATION, SETUP, run_strong_collapse, check_strong_collapse, figure_strong_collapse)
