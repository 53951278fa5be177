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
# # 02 — Exploration: showing users what the model is unsure of
#
# **Question.** Under the pressure of study 01 (a share of new items made by a
# mode-seeking GenAI, users drifting toward what they consume), does a greedy MF feed
# keep more of its diversity if it explores, and what does exploring cost in clicks?
# Five mitigations, each swept over its lever (`experiments/exploration.yaml`):
#
# * **epsilon_greedy**: each slot of the greedy slate is replaced, with probability
#   `epsilon`, by a uniformly drawn live item;
# * **ucb**: greedy on the click logit plus an optimism bonus `beta / sqrt(1 + n)` for an
#   item shown `n` times so far;
# * **thompson**: greedy on the logit plus Gaussian noise of that same scale (a diagonal
#   approximation of the posterior), so uncertain items are sometimes ranked high;
# * **novelty**: greedy on the logit plus `novelty_weight x -log popularity`;
# * **reserve_stream**: a share `reserve_share` of slots is given to a random exploration
#   stream, and only those impressions train the model (its data is chosen by no model).
#
# **none** is the greedy feed under the same pressure. Every number below is a
# *late-round mean*: a metric averaged over the last rounds of a run (the window is
# printed), one value per setting and seed; then the mean over seeds with a 95%
# Student-t confidence interval. Run with papermill (`labkit main --only 02`)
# or by hand; `labkit sweep experiments/exploration.yaml` computes the same table.

# %% tags=["parameters"]
scale = "default"  # a scale of the experiment file: tiny, default, paper
out_dir = "results/02_exploration"  # relative paths resolve against the repository root
experiment = "experiments/exploration.yaml"
late_rounds = 10  # rounds averaged at the end of each run (at most half of a run)

# %%
from IPython.display import Image, display

from labkit.analysis.lever_study import lever_study
from labkit.analysis.style import save
from labkit.experiments.parameters import check as check_parameters

check_parameters("02_exploration", scale=scale, out_dir=out_dir, experiment=experiment, late_rounds=late_rounds)
study = lever_study(experiment, scale, out_dir, baseline={"arm": "none"}, late_rounds=late_rounds)
print(study.describe())
print(study.note)

# %% [markdown]
# ## The figure: each lever against its value
#
# One column per mitigation, lever value on x; one row per metric: the top five rows
# diversity (of the items exposed, of the topics exposed, of users' own tastes), the
# bottom two the dashboard. The dashed line and grey band are the greedy feed
# (**none**) and its interval, so a line above the band is diversity kept.

# %%
fig = study.lever_figure(logx=["beta", "novelty_weight"], baseline_label="none: greedy top-k, same pressure")
written = save(fig, study.out / "exploration_levers")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=900)

# %% [markdown]
# ## Over rounds: the settings carried to 06
#
# The setting of each lever that 06_tradeoffs places on the engagement-vs-diversity
# plane, against round, with the greedy baseline.

# %%
written = save(study.rounds_figure(), study.out / "exploration_rounds")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=760)

# %% [markdown]
# ## Summary tables
#
# Late-round means over seeds [95% CI], then each setting's change against **none**,
# paired by seed [95% CI]. Both are also written as CSV beside the table.

# %%
display(*study.ci_tables())

# %% [markdown]
# ## Reading the figure
#
# Read at the default scale; the cell below prints the numbers behind each sentence.
#
# * **epsilon_greedy** is the most predictable lever: exposure entropy and catalog
#   coverage climb with `epsilon` over the whole sweep, and on average the topics
#   exposed spread too. Clicks hold at small `epsilon` and fall clearly at the largest,
#   where half the slate is random.
# * **ucb** is not monotone. A moderate bonus spreads exposure, but a large one sends
#   every user to the same few newest items (an unseen item's bonus dwarfs every logit):
#   the long-tail share jumps while exposure entropy falls *below* the greedy feed, and
#   clicks fall on average. An exposure bonus needs its scale tuned to the model's logits.
# * **thompson** (noise of the same scale instead of a bonus) spreads exposure more
#   gently and more steadily as `beta` grows; the cost in clicks at the largest `beta` is
#   one the seeds do not pin down.
# * **novelty** raises exposure entropy and coverage as its weight grows, at little cost
#   in clicks; its effect on the long tail is small and not monotone.
# * **reserve_stream** raises exposure entropy, and keeps users' own tastes among the
#   most varied of all settings here, but it pays a large, flat price in clicks at
#   every share: a model trained only on the random stream ranks the rest of the slate
#   worse. The price is set by what the model learns from, not by how many slots are
#   reserved.
#
# The cell below checks each part of that reading against the tables: the direction of
# each metric across each sweep, and the change at the strongest setting of each lever
# with its interval (up / down: the interval excludes zero; unclear: it does not).

# %%
print("\n".join(study.reading_checks(["exposure_entropy", "long_tail_share", "exposure_topic_entropy", "ctr"])))

# %% [markdown]
# What this does not say: how exploration compares with sampling, re-ranking or
# separating the training data (06_tradeoffs puts every mitigation on one plane), and
# whether the clicks given up now are repaid later, in runs longer than these.
