# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 — Preference collapse: diversity falls while the dashboard holds
#
# **Question.** When generative-AI items (a generator fitted to what was engaged
# with, sampling at low temperature) and AI-nudged tastes (users drifting toward what
# they consumed) flow back into the training data of a greedy matrix-factorization
# feed, does the feed lose its diversity, and do the engagement numbers a product
# team watches (CTR, utility per click) notice?
#
# We compare two conditions of `experiments/collapse.yaml`, identical in every lever
# but two:
#
# * **ai_and_drift**: a share `synthetic_share` of new items comes from the generator
#   and users drift at rate `drift`;
# * **neither**: only human creators, and static users (both levers at 0).
#
# Everything below calls into `labkit`; this notebook holds no model logic. Run it
# with papermill (`labkit main --only 01`) or by hand; the parameters cell
# sets the size.

# %% tags=["parameters"]
scale = "default"  # a scale of the experiment file: tiny, default, paper
seeds = None  # None: the experiment's seeds at this scale; an int n: seeds 0..n-1
rounds = None  # None: the scale's rounds; an int overrides it
synthetic_share = 0.8  # ai_and_drift: share of new items made by the generator
drift = 0.2  # ai_and_drift: rate at which users' tastes move toward what they consumed
out_dir = "results/01_collapse"  # relative paths resolve against the repository root
experiment = "experiments/collapse.yaml"

# %%
import time
from pathlib import Path

import jax
import pandas as pd
from IPython.display import Image
from tqdm import tqdm

import labkit
from labkit.experiments import load
from labkit.analysis.labels import metric_label
from labkit.analysis.plots import COLLAPSE_PANELS, collapse_figure, save
from labkit.experiments.results import manifest, metrics_frame, write_json, write_table
from labkit.experiments.parameters import check as check_parameters
from labkit.experiments.paths import repo_root

check_parameters("01_collapse", scale=scale, seeds=seeds, rounds=rounds, synthetic_share=synthetic_share,
                 drift=drift, out_dir=out_dir, experiment=experiment)
ROOT = repo_root()
out = Path(out_dir) if Path(out_dir).is_absolute() else ROOT / out_dir
experiment_path = Path(experiment) if Path(experiment).is_absolute() else ROOT / experiment
out.mkdir(parents=True, exist_ok=True)
print(f"repository: {ROOT}\nresults:    {out}\njax backend: {jax.default_backend()}")

# %% [markdown]
# ## Run the two conditions
#
# Each condition is one compiled call over all seeds (`labkit.simulate_seeds`); both
# share array shapes, so the second reuses the first's compilation.

# %%
exp = load(experiment_path, scale=scale)
run_seeds = exp.seeds if seeds is None else tuple(range(int(seeds)))
sized = {} if rounds is None else {"rounds": int(rounds)}
base = exp.config.replace(**sized)
# Each condition starts from the experiment's own (its other levers are kept); the
# parameters above set the two levers that tell the conditions apart.
levers = {"ai_and_drift": {"synthetic_share": synthetic_share, "drift": drift},
          "neither": {"synthetic_share": 0.0, "drift": 0.0}}
conditions = {name: exp.conditions.get(name, exp.config).replace(**sized, **changes)
              for name, changes in levers.items()}

print(exp.description)
print(f"scale {scale!r}: {len(run_seeds)} seeds x {base.rounds} rounds, "
      f"{base.n_users} users, {base.n_items} catalog slots")

tables, wall = [], {}
for name in tqdm(conditions, desc="conditions"):
    start = time.perf_counter()
    _, metrics = labkit.simulate_seeds(conditions[name], run_seeds)
    metrics = jax.device_get(metrics)
    wall[name] = time.perf_counter() - start
    tables.append(metrics_frame(metrics, run_seeds, condition=name))
    print(f"{name}: {wall[name]:.1f} s")
table = pd.concat(tables, ignore_index=True)

write_table(table, out / "metrics.parquet")
write_json(manifest(
    base, run_seeds, sum(wall.values()),
    study=exp.name, scale=exp.scale, notebook="01_collapse",
    parameters={"synthetic_share": synthetic_share, "drift": drift, "seeds": seeds, "rounds": rounds},
    conditions={name: config.to_dict() for name, config in conditions.items()},
    condition_hashes={name: config.hash() for name, config in conditions.items()},
    wall_time_s_per_condition={name: round(t, 3) for name, t in wall.items()},
), out / "manifest.json")
print(f"wrote {out / 'metrics.parquet'} ({len(table)} rows) and {out / 'manifest.json'}")

# %% [markdown]
# ## The figure
#
# One panel per metric, metric against round: the line is the mean over seeds, the
# band a 95% bootstrap confidence interval of that mean. The top block is
# **diversity** (what the feed shows and what users come to like), the bottom block is
# the **dashboard** (what a product team sees).

# %%
fig = collapse_figure(table, COLLAPSE_PANELS, hue="condition")
written = save(fig, out / "collapse")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=760)  # show the saved file itself

# %% [markdown]
# ## First round against last round
#
# Means over seeds, computed from the table above.

# %%
key_metrics = [m for names in COLLAPSE_PANELS.values() for m in names]
first_round, last_round = table["round"].min(), table["round"].max()
ends = (table[table["round"].isin([first_round, last_round])]
        .assign(when=lambda d: d["round"].map({first_round: "first", last_round: "last"}))
        .groupby(["condition", "when"])[key_metrics].mean())
summary = ends.stack().unstack("when").swaplevel().sort_index(
    level=0, key=lambda idx: idx.map({m: i for i, m in enumerate(key_metrics)}), sort_remaining=False)
summary.index.names = ["metric", "condition"]
summary["change"] = summary["last"] - summary["first"]
summary["change %"] = 100 * summary["change"] / summary["first"].abs().where(lambda v: v > 0)
summary.round(3)

# %% [markdown]
# ## Reading the figure
#
# Two movements are shared by *both* conditions and are not the effect under study.
# The greedy feed concentrates within its first few rounds, once the recommender has
# been fitted (exposure entropy and coverage drop together), and the item-level panels
# shift again when the catalog is full and new items start replacing the oldest (the
# round is printed below). So read the figure as a comparison between the lines, not
# against round 0.
#
# The effect of AI content plus drift is the gap between the lines. Under
# **ai_and_drift** the topic entropy of what is exposed and the entropy of users' own
# tastes fall while under **neither** they stay put, and homogenization (how alike
# users' histories are) climbs above **neither**. Item-level diversity (entropy,
# coverage, long tail) ends lower on average too, by a smaller margin. Meanwhile the
# dashboard gives no warning: CTR and utility per click end at or above **neither**,
# because users who drifted toward what they were shown like what they are shown. A
# team watching only the dashboard would call this a success.
#
# The cell below checks each part of that reading against the table, so the words
# cannot drift from the numbers: for each metric, the last-round gap between the
# conditions and whether their seeds separate (every ai_and_drift seed on one side of
# every neither seed).

# %%
full = table.groupby("round")["alive_items"].mean()
full_round = full.index[full >= base.n_items].min() if (full >= base.n_items).any() else None
print(f"the catalog ({base.n_items} slots) is full from round {full_round}; new items then replace the oldest"
      if full_round is not None
      else f"the catalog ({base.n_items} slots) never fills in {base.rounds} rounds")

last = table[table["round"] == last_round]
collapse_sign = {m: -1 for m in key_metrics} | {"homogenization": +1}  # direction of a collapse
for group, names in COLLAPSE_PANELS.items():
    print(f"{group}:")
    for m in names:
        ai = last.loc[last["condition"] == "ai_and_drift", m]
        neither = last.loc[last["condition"] == "neither", m]
        gap = ai.mean() - neither.mean()
        rel = 100 * gap / abs(neither.mean()) if neither.mean() else float("nan")
        separated = ai.max() < neither.min() or ai.min() > neither.max()
        if group == "diversity":
            worse = gap * collapse_sign[m] > 0
            verdict = ("collapses relative to neither" if worse and separated
                       else "lower diversity on average, seeds overlap" if worse else "no collapse")
        else:
            verdict = ("rises above neither" if rel > 5 else "holds (within 5% of neither)"
                       if rel >= -5 else "drops more than 5% below neither: the dashboard would warn")
        print(f"  {metric_label(m):40s} ai_and_drift {ai.mean():.3g} vs neither {neither.mean():.3g} "
              f"({rel:+.1f}%, seeds {'separate' if separated else 'overlap'}) -> {verdict}")

# %% [markdown]
# What this does *not* yet say: which lever drives the collapse (generator or drift,
# see the ablation notebooks), and what a mitigation costs in engagement. The table
# `metrics.parquet` holds every metric of `labkit.METRIC_NAMES`, not only the panels
# drawn, for such follow-ups.
