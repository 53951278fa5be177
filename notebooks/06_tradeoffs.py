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
# # 06 — Trade-offs: every mitigation on one engagement-vs-diversity plane
#
# **Question.** Studies 02-04 each swept one family of mitigations. Which of them keep
# the most diversity for the fewest clicks? One representative setting of each
# mitigation (`experiments/tradeoffs.yaml`; each is also a point of 02-04), all under
# the same pressure (a share of new items made by a mode-seeking GenAI, users drifting
# toward what they consume), against **none**, the greedy feed that trains on
# everything it has logged:
#
# * on the plane of CTR (x) against exposure entropy (y), with 95% confidence intervals
#   on both axes and the **Pareto front**: the settings that no other setting beats on
#   both;
# * the **cost in CTR of each nat of entropy kept**: clicks per slate given up per nat
#   of exposure entropy gained over **none** (ratio of the mean changes, paired by seed).
#
# The points are computed once: this notebook copies the point files that 02-04 wrote
# beside it (same levers, same config hash) and computes only what is missing, so run
# on its own it sweeps every setting itself. Every number is a *late-round mean* (the
# window is printed), one per setting and seed; then the mean over seeds with a 95%
# Student-t confidence interval. Run with papermill (`labkit main --only 06`).

# %% tags=["parameters"]
scale = "default"  # a scale of the experiment file: tiny, default, paper
out_dir = "results/06_tradeoffs"  # relative paths resolve against the repository root
experiment = "experiments/tradeoffs.yaml"
late_rounds = 10  # rounds averaged at the end of each run (at most half of a run)

# %%
from IPython.display import Image, display

from labkit.analysis import tables
from labkit.analysis.plots import effects_figure, setting_colours, tradeoff_figure
from labkit.analysis.style import save
from labkit.analysis.tradeoffs import cost_table, setting_late_means, tradeoff_checks, tradeoff_tables
from labkit.experiments import studies
from labkit.experiments.parameters import check as check_parameters

check_parameters("06_tradeoffs", scale=scale, out_dir=out_dir, experiment=experiment, late_rounds=late_rounds)
run = studies.run_study(experiment, scale, out_dir)
exp, table, out = run.experiment, run.table, run.out
print(" ".join(exp.description.split()))
print(run.describe())

# %% [markdown]
# ## Late-round means, per setting and seed

# %%
per_seed = setting_late_means(table, exp, late_rounds)  # named by the levers each arm sets
first, last = per_seed.attrs["late_rounds"]
n_seeds = per_seed["seed"].nunique()
note = f"late-round mean (rounds {first}-{last}); mean over {n_seeds} seeds, 95% t confidence intervals"
metrics = [*tables.DIVERSITY, *tables.DASHBOARD]
baseline = {"arm": "none"}
order = list(dict.fromkeys(per_seed["setting"]))
print(note)

# %% [markdown]
# ## The plane
#
# Each setting at (CTR, exposure entropy) with its confidence cross; the greedy baseline
# in black; the dotted line joins the Pareto front. Up is more diverse, right is more
# clicks: a mitigation that pays for diversity with clicks sits up and to the left of
# the baseline.

# %%
summary, effects, costs, _ = tradeoff_tables(per_seed, baseline, metrics, out)  # and tradeoffs.csv, all as CSV
baseline_setting = summary.loc[summary["arm"] == "none", "setting"].iloc[0]
colours = setting_colours(order, baseline_setting)
fig = tradeoff_figure(summary, x="ctr", y="exposure_entropy", label="setting", front=summary["pareto_front"],
                      baseline=baseline_setting, annotate=dict(zip(summary["setting"], summary["arm"])), note=note)
written = save(fig, out / "tradeoffs_plane")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=760)

# %% [markdown]
# ## Effects against the baseline, and the cost of a nat
#
# Each mitigation's change against **none**, paired by seed, with its interval; then the
# CTR given up per nat of exposure entropy kept (a paired bootstrap interval over seeds,
# rough with few seeds, and missing when a resample keeps no entropy). A cost is
# meaningful only where the entropy gain is clear (its interval above zero), so, as in
# the write-up, the table prices only those: n/a where the setting keeps no entropy on
# average or its gain is not clear (the number is still in `tradeoffs.csv`).

# %%
fig = effects_figure(effects, ["exposure_entropy", "exposure_topic_entropy", "user_taste_entropy", "ctr"],
                     label="setting", colours=colours, note=f"change against none; {note}")
written = save(fig, out / "tradeoffs_effects")
print("wrote", ", ".join(str(p) for p in written))
display(Image(filename=str(written[0]), width=760))

display(tables.ci_table(summary, ["ctr", "exposure_entropy", "exposure_topic_entropy", "user_taste_entropy"],
                         "setting"))
display(tables.ci_table(effects, ["exposure_entropy", "exposure_topic_entropy", "user_taste_entropy", "ctr"],
                         "setting", signed=True))
display(cost_table(costs))

# %% [markdown]
# ## Reading the figure
#
# Read at the default scale; the cell below prints the numbers behind each sentence.
#
# * **Exploration in the ranking is nearly free here.** Epsilon-greedy, UCB and Thompson,
#   at their representative settings, each keep a clear gain in exposure entropy over the
#   greedy feed (+0.90 [+0.83, +0.98], +0.43 [+0.32, +0.55] and +0.70 [+0.58, +0.81]
#   nats) with no clear change in CTR. Thompson has the highest CTR of all settings (+0.04
#   [-0.00, +0.08] clicks per slate over the greedy feed; its paired cost per nat is below
#   zero, -0.053 [-0.099, -0.009]), though it narrows users' own tastes slightly (-0.11
#   [-0.21, -0.00] nats). Thompson and epsilon-greedy are on the Pareto front; UCB is not
#   (Thompson beats it on both axes), and neither is the greedy feed. Under this pressure
#   the greedy top-k gives up diversity for clicks it does not measurably get.
# * **Sampling** (softmax) keeps nearly as much entropy as the reserve stream (+1.04
#   [+0.95, +1.14] nats) at a CTR change the seeds do not pin down (-0.03 [-0.07, +0.01]); its
#   cost per nat is small but above zero (0.029 [0.001, 0.054] clicks per slate), and it
#   is on the Pareto front. **Re-ranking** (MMR) keeps less exposure entropy (+0.37
#   [+0.23, +0.50]), with no clear change in CTR (-0.03 [-0.08, +0.02]; cost per nat
#   0.074 [-0.043, 0.160]), but spreads the topics exposed the most of any setting (+0.48
#   [+0.28, +0.68] nats). The novelty bonus, at its representative weight, lowers
#   exposure entropy a little (-0.19 [-0.36, -0.01] nats) and catalog coverage (-0.03
#   [-0.06, -0.01]), with no clear change in CTR.
# * **The reserved exploration stream** keeps the most entropy of all (+1.08 [+0.93,
#   +1.23] nats), which puts it at the diverse end of the Pareto front, but it is the most
#   expensive mitigation per nat (0.189 [0.145, 0.247] clicks per slate; CTR -0.20
#   [-0.26, -0.15]): a model trained only on random impressions ranks worse. It also
#   keeps users' own tastes the most varied of all settings (+0.38 [+0.24, +0.52] nats).
# * **The data strategies keep little or no exposure entropy**: downweight keeps a small
#   gain (+0.11 [+0.07, +0.15] nats, CTR -0.01 [-0.04, +0.03]), human_only's gain is not
#   clear (+0.13 [-0.01, +0.26]) and comes at a clear cost in CTR (-0.10 [-0.14, -0.06]),
#   and replace loses entropy (-0.60 [-0.63, -0.56]). What human_only protects is the
#   diversity of users' own tastes (+0.16 [+0.06, +0.26] nats, third panel of the effects
#   figure) and of the topics exposed (+0.28 [+0.10, +0.46], second panel), not the
#   spread of exposure over items.
#
# The cell below reads the same things off the tables.

# %%
print("\n".join(tradeoff_checks(summary, effects, costs, headline=["exposure_entropy", "ctr"])))

# %% [markdown]
# What this does not say: a setting is one point of its family's curve (02-04 draw the
# whole curves), so a mitigation that looks expensive here may be cheap at a milder
# setting, and one that keeps no entropy here may keep some at another (02 finds the
# novelty weight narrowing exposure at 0.1 and 0.3 and widening it only at 1); and the
# plane weighs all users alike. The two bonuses (ucb's `beta`, the
# novelty weight) are not monotone: pushed far enough, a bonus every user shares sends
# everyone to the same least-shown items each round, so exposure entropy falls below the
# greedy feed's while the run still shows more of the catalog. 02's strength figure sweeps
# both over their whole range in standardized units, under `mf` and `content`, and marks
# that herding regime; the settings here are in the raw units of MF's logits.
