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
# # 08 — The ecosystem: creators who react or draft with the GenAI, its size, the loop's cadence, agents
#
# **Question.** Studies 02-06 hold the world around the feed still: human creators keep
# their style and never leave, the GenAI is one diagonal Gaussian, and the models are
# served fresh every round, users choose for themselves and creators write alone. Here five parts of
# that world move, under the same pressure as 02-06 (a greedy MF feed retrained on
# everything, 80% of new items made by a mode-seeking GenAI, users drifting toward what
# they consume; `experiments/ecosystem.yaml`):
#
# * **Creators' fate.** Creators *react*: each moves its style a tenth of the way per
#   round toward its own items that were clicked (`creator_adaptation`, as T-RECS's
#   creators do), leaves when its items got less than 0.005 of all impressions over 5
#   rounds (a quarter of the fair share 1/50; `creator_exit_share`, RecSim NG's viable
#   providers), and each place left gets a newcomer with a fresh style with probability
#   0.05 a round (`creator_entry_rate`). Compared: fixed creators (the world of 02-06)
#   and reacting creators, each without the GenAI and under it; and, under it, two
#   mitigations of 02-04: **epsilon_greedy** (a fifth of slots explored) and
#   **human_only** (retrain on human-first rows only).
# * **The GenAI's capacity.** `generator_family`: one diagonal Gaussian (the default),
#   one full-covariance Gaussian, and a mixture of 8 diagonal Gaussians fitted by
#   EM, all at the same temperature, creators fixed.
# * **The retraining cadence.** `retrain_every`: the recommender and the GenAI served
#   as they were after every round (the loop of 02-06), every 2nd or every 5th round,
#   creators fixed, at equal interactions.
# * **Agentic users.** Half of the user-rounds are an AI agent's, which picks from the
#   slate by the recommender's score: without the GenAI and under it, and under
#   epsilon-greedy or human-only retraining.
# * **AI-assisted creators.** Half of the creator places draft with the GenAI: without
#   the GenAI's own items and under them, and under human-only retraining.
#
# The creators' metrics (active creators, the Gini of creators' impressions, the share
# of impressions that went to the creators in the bottom half of activity at the start,
# exits per round, the topic entropy of the active creators' styles) are read from the
# run's state, so the runs with reacting creators are replayed round by round to record
# them (the replay is checked to be the sweep's run). Every other number is a late-round
# mean, as in 02-06. Run with papermill (`labkit main --only 08`) or by hand; `labkit
# sweep experiments/ecosystem.yaml` computes the same table.

# %% tags=["parameters"]
scale = "default"  # a scale of the experiment file: tiny, default, paper
out_dir = "results/08_ecosystem"  # relative paths resolve against the repository root
experiment = "experiments/ecosystem.yaml"
late_rounds = 10  # rounds averaged at the end of each run (at most half of a run)

# %%
from IPython.display import Image, display

from labkit.analysis import ecosystem, stats, tables
from labkit.analysis.plots import collapse_figure, effects_figure, lever_figure
from labkit.analysis.style import save
from labkit.experiments import studies
from labkit.experiments.parameters import check as check_parameters

check_parameters("08_ecosystem", scale=scale, out_dir=out_dir, experiment=experiment, late_rounds=late_rounds)
run = studies.run_study(experiment, scale, out_dir)
print(" ".join(run.experiment.description.split()))
print(run.describe())

# %% [markdown]
# ## Creators' fate
#
# The creators' metrics at the end of each run (for reacting creators, after every round
# of the replay), beside the feed's late-round means.

# %%
rounds = ecosystem.creator_rounds(run)
per_seed, summary, vs_greedy, vs_share = ecosystem.fate_tables(run, rounds, late_rounds)
first, last = per_seed.attrs["late_rounds"]
note = (f"creators: end of the run; feed: late-round mean (rounds {first}-{last}); line: mean over "
        f"{per_seed['seed'].nunique()} seeds, band: 95% t confidence interval")
print(note)

# %% [markdown]
# ### The figure: each setting against the GenAI's share
#
# One panel per metric, the GenAI's share of new items on x (0 and 0.8), one line per
# setting; the two mitigations are run under the GenAI only (one point each). The
# first five panels are the creators, the last the feed's exposure entropy and CTR.

# %%
fate_metrics = [*ecosystem.CREATOR_METRICS, "exposure_entropy", "ctr"]
fig = lever_figure(per_seed, fate_metrics, x="synthetic_share", hue="arm", ncols=4, note=note,
                   panel_size=(1.75, 1.35))
written = save(fig, run.out / "ecosystem_creators")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=800)

# %% [markdown]
# ### Over rounds, reacting creators
#
# The reacting creators' metrics after every round: each setting under the GenAI, and
# the greedy feed without it. Nobody leaves before the first exit window has passed.

# %%
fig = collapse_figure(ecosystem.rounds_setting(rounds), {"creators": ecosystem.CREATOR_METRICS}, hue="setting",
                      errorbar=stats.ci_errorbar(95))
written = save(fig, run.out / "ecosystem_creator_rounds")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=800)

# %% [markdown]
# ### Summary tables
#
# Means over seeds [95% CI]; then each setting against **greedy** (reacting creators,
# no mitigation) at the same share, paired by seed; then, within fixed and greedy, the
# GenAI against none. All are written as CSV too.

# %%
metrics = [*ecosystem.CREATOR_METRICS, *ecosystem.FATE_LOOP_METRICS]
display(tables.ci_table(summary, metrics, ["arm", "synthetic_share"]))
display(tables.ci_table(vs_greedy, metrics, ["arm", "synthetic_share"], digits=3, signed=True))
display(tables.ci_table(vs_share, metrics, ["arm", "synthetic_share"], digits=3, signed=True))

# %% [markdown]
# ### Reading the figures
#
# The cell below prints the numbers the reading rests on: each setting's creators at
# the end of the run; the GenAI's effect within fixed and reacting creators; each
# setting against greedy under the GenAI. At the default scale (4 seeds, 30 rounds):
#
# * **Long-tail creators lose visibility under the GenAI**, as the article says. With
#   fixed creators, the share of impressions that goes to the creators in the bottom
#   half of activity falls from 0.139 to 0.055 of all impressions when 80% of new items
#   are synthetic (change -0.084 [-0.131, -0.037]), while CTR and exposure entropy do not
#   move clearly: the dashboard does not see it.
# * **Creators who react leave, and the GenAI makes more of them leave.** About half of
#   the reacting creators are gone within ten rounds even without the GenAI (22.5 of 50
#   active at the end); under it 16.2 (change -6.2 [-9.5, -3.0]), and the Gini of
#   creators' impressions rises to 0.84 (0.67 with fixed creators at the same share):
#   the survivors hold more of the exposure. The feed's own diversity (exposure entropy,
#   CTR) does not tell reacting creators from fixed ones at this scale.
# * **Both mitigations help the long tail, at a price in clicks.** Under the GenAI,
#   epsilon-greedy raises the long-tail creators' share (+0.031 [+0.013, +0.048]) and
#   lowers the creators' Gini (-0.067) with a large gain in exposure entropy (+1.0 nats)
#   for 0.05 clicks per slate; human-only retraining raises the long tail's share most
#   (+0.040 [+0.012, +0.067]) and lowers the Gini (-0.076) without widening what the
#   feed shows, for 0.16 clicks per slate. Neither keeps clearly more creators active
#   (+3.5 and +5.0, intervals reaching 0 with 4 seeds).

# %%
print("\n".join(ecosystem.fate_checks(summary, vs_greedy, vs_share,
                                      headline=["active_creators", "long_tail_creator_share",
                                                "creator_exposure_gini", "exposure_entropy", "ctr"])))

# %% [markdown]
# ## The GenAI's capacity
#
# Each generator family against the one diagonal Gaussian, paired by seed: the change
# in the late-round topic entropy of what the feed shows and of what users click, of
# users' taste entropy, of the synthetic share of impressions and of CTR.

# %%
generated, generator_summary, vs_diagonal = ecosystem.generator_tables(run, late_rounds)
paired = (f"change in the late-round mean (rounds {first}-{last}) against diagonal, paired by seed: mean over "
          f"{generated['seed'].nunique()} seeds, bar: 95% t confidence interval")
fig = effects_figure(vs_diagonal, ecosystem.GENERATOR_METRICS, label="arm", note=paired)
written = save(fig, run.out / "ecosystem_generator")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=800)

# %%
capacity = run.table[run.table["arm"].isin(generated["arm"].unique())]
fig = collapse_figure(capacity, {"diversity": ecosystem.GENERATOR_METRICS[:3],
                                 "the GenAI's share and the dashboard": ecosystem.GENERATOR_METRICS[3:]},
                      hue="arm", errorbar=stats.ci_errorbar(95))
written = save(fig, run.out / "ecosystem_generator_rounds")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=800)

# %%
display(tables.ci_table(generator_summary, ecosystem.GENERATOR_METRICS, "arm"))
print("\n".join(ecosystem.generator_checks(vs_diagonal)))

# %% [markdown]
# ### Reading the figures
#
# At the default scale, **the GenAI's size does not change the feed clearly**: against
# one diagonal Gaussian, neither the full covariance nor a mixture of 8 Gaussians
# moves the topic entropy of what is shown or clicked, users' taste entropy, the
# synthetic share of impressions or CTR beyond its interval (4 seeds; the mixture of 8
# has the largest point estimate, +0.18 nats of exposure topic entropy, interval
# [-0.35, +0.70]). At temperature 0.3 every family samples close to its modes, and the
# modes of what users clicked are few, so a richer model of the clicked items' spread
# has little room to matter; "larger models reinforce dominant signals more" is not
# seen for the GenAI here. More seeds, a higher temperature or the `paper` scale are
# where to look next.

# %% [markdown]
# ## The retraining cadence
#
# The recommender and the GenAI keep learning every round; what users are shown and
# what the GenAI makes come from the models as they were after every n-th round
# (`retrain_every`). Each slower cadence against models served fresh every round
# (`every_round`), creators fixed, same GenAI share and the same rounds, so the same
# number of interactions.

# %%
cadenced, cadence_summary, vs_every_round = ecosystem.cadence_tables(run, late_rounds)
paired = (f"change in the late-round mean (rounds {first}-{last}) against every_round, paired by seed: mean over "
          f"{cadenced['seed'].nunique()} seeds, bar: 95% t confidence interval")
fig = effects_figure(vs_every_round, ecosystem.CADENCE_METRICS, label="arm", note=paired)
written = save(fig, run.out / "ecosystem_cadence")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=800)

# %%
display(tables.ci_table(cadence_summary, ecosystem.CADENCE_METRICS, "arm"))
print("\n".join(ecosystem.cadence_checks(vs_every_round)))

# %% [markdown]
# ### Reading the figure
#
# The cell above prints the numbers. At the default scale (4 seeds, 30 rounds), **a
# slower loop collapses less and clicks less**. Served every 5th round, the feed's
# late-round exposure entropy is higher (+0.198 [+0.072, +0.324] nats), users' feeds are
# less alike (homogenization -0.005 [-0.007, -0.004]) and their tastes keep more
# topics (+0.091 [+0.009, +0.174] nats), for 0.055 [0.014, 0.097] fewer clicks per
# slate. Every 2nd round moves the same way in tastes and clicks, but no change is clear
# with 4 seeds. The mechanism: between refreshes the served model does not yet know
# the latest clicks, so it cannot narrow onto them round by round. This is the
# article's "faster loops": at equal interactions, a loop that closes every round
# narrows the feed faster, and the dashboard (CTR) rewards it.

# %% [markdown]
# ## Agentic users
#
# Half of the user-rounds are made by an AI agent acting for the user: the user's own
# choice model still decides whether there is a click, and the agent decides which item,
# by the recommender's score of the slate (`agent_share` 0.5, `agent_estimate`
# recommender, `agent_sharpness` 3; docs/agents.md). Its rows are flagged in the log's
# provenance and count as AI-influenced, so **human_only** drops them as well as the
# GenAI's. Compared: agents against the same world where every user chooses
# (`fixed_creators`), without the GenAI and under it, and, under it, agents with
# epsilon-greedy exploration or human-only retraining.

# %%
acted, agents_summary, vs_humans, agents_mitigated = ecosystem.agent_tables(run, late_rounds)
first, last = acted.attrs["late_rounds"]
note = (f"late-round mean (rounds {first}-{last}); line: mean over {acted['seed'].nunique()} seeds, band: 95% t "
        "confidence interval; fixed_creators: no agents")
fig = lever_figure(acted, list(ecosystem.AGENT_METRICS), x="synthetic_share", hue="arm", ncols=4, note=note,
                   panel_size=(1.75, 1.35))
written = save(fig, run.out / "ecosystem_agents")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=800)

# %%
display(tables.ci_table(agents_summary, ecosystem.AGENT_METRICS, ["arm", "synthetic_share"]))
display(tables.ci_table(vs_humans, ecosystem.AGENT_METRICS, ["arm", "synthetic_share"], digits=3, signed=True))
display(tables.ci_table(agents_mitigated, ecosystem.AGENT_METRICS, ["arm", "synthetic_share"], digits=3,
                        signed=True))
print("\n".join(ecosystem.beside_checks(vs_humans, agents_mitigated, reference="agents", versus="humans",
                                         headline=["agent_click_share", "training_ai_share", "homogenization",
                                                   "consumption_entropy", "true_utility", "ctr"])))

# %% [markdown]
# ### Reading the figure
#
# The cell above prints the numbers. At the default scale (4 seeds, 30 rounds):
#
# * **Agents make users' feeds more alike and give users less of what they like.** With
#   half of the user-rounds an agent's, the agents make half of the clicks (0.504) and
#   hold half of the training weight. Homogenization rises by +0.025 [+0.009, +0.040]
#   without the GenAI and +0.020 [+0.002, +0.038] under it, and consumption entropy
#   falls under it (-0.128 [-0.242, -0.015] nats). True utility falls by 0.169
#   [0.104, 0.233] per slate without the GenAI and 0.223 [0.136, 0.310] under it: the
#   model retrains on the agents' picks, which follow its own scores rather than what
#   users like, and its slates fit users less well. Here the dashboard does see it: CTR
#   falls by 0.10-0.14.
# * **Users' tastes spread.** Their taste entropy rises (+0.31 [+0.18, +0.44] nats
#   without the GenAI): users drift toward what their agents chose, which is not what
#   they would have chosen, so tastes move off their own topics rather than onto one.
# * **Neither mitigation helps here.** Epsilon-greedy changes nothing clearly.
#   Human-only retraining drops the agents' rows, but drifted users are flagged as
#   AI-influenced too, so it keeps 3% of the training weight (the AI-influenced share
#   goes from 0.97 to 0). Consumption then narrows further (-0.602 [-0.928, -0.277] nats
#   against agents without it) and feeds grow more alike (+0.044 [+0.011, +0.076]).
#   Dropping every AI-influenced row is no remedy when most rows are.

# %% [markdown]
# ## AI-assisted creators
#
# Half of the creator places draft with the GenAI: each of their items is half their own
# draw and half a sample of the GenAI the loop serves, at its temperature
# (`assisted_share` 0.5, `assisted_blend` 0.5; docs/assisted.md). Their items are a
# third kind in the provenance (human, AI-assisted, synthetic) and count as
# AI-influenced, so **human_only** drops them. Compared: assisted creators against the
# same world where no creator uses the GenAI (`fixed_creators`), without the GenAI's own
# items and under them, and, under them, with human-only retraining.

# %%
drafted, assisted_summary, vs_human, assisted_mitigated = ecosystem.assisted_tables(run, late_rounds)
first, last = drafted.attrs["late_rounds"]
note = (f"late-round mean (rounds {first}-{last}); line: mean over {drafted['seed'].nunique()} seeds, band: 95% t "
        "confidence interval; fixed_creators: no assisted creators")
fig = lever_figure(drafted, list(ecosystem.ASSISTED_METRICS), x="synthetic_share", hue="arm", ncols=4, note=note,
                   panel_size=(1.75, 1.35))
written = save(fig, run.out / "ecosystem_assisted")
print("wrote", ", ".join(str(p) for p in written))
Image(filename=str(written[0]), width=800)

# %%
display(tables.ci_table(assisted_summary, ecosystem.ASSISTED_METRICS, ["arm", "synthetic_share"]))
print("\n".join(ecosystem.beside_checks(vs_human, assisted_mitigated, reference="assisted", versus="human creators",
                                         headline=["assisted_exposure_share", "exposure_topic_entropy",
                                                   "intra_list_diversity", "homogenization", "true_utility", "ctr"])))

# %% [markdown]
# ### Reading the figure
#
# The cell above prints the numbers. At the default scale (4 seeds, 30 rounds):
#
# * **Without the GenAI's own items, assisted creators' items take 0.391 [0.242, 0.540]
#   of impressions and slates get less varied** (intra-list diversity -0.067 [-0.103,
#   -0.030]): each assisted item is pulled toward the GenAI's few modes. The topics shown
#   and clicked, how alike feeds are and users' utility do not change clearly.
# * **Under the GenAI's own items (0.8 of new items), assisted creators change nothing
#   clearly**: their items get 0.074 of impressions, and the synthetic items already
#   carry the GenAI's narrowing.
# * **Human-only retraining trades utility for variety.** It drops the assisted rows
#   with the synthetic and the drifted users' rows: slates get more varied (+0.206
#   [+0.025, +0.387]) and users' tastes keep more topics (+0.228 [+0.099, +0.357] nats),
#   but feeds grow more alike (homogenization +0.030 [+0.005, +0.055]) and users get
#   less of what they like (true utility -0.158 [-0.221, -0.096], CTR -0.118). As with
#   agents, dropping every AI-influenced row leaves the model little to learn from.
