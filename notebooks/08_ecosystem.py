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
# that world move, under the same pressure as 02-06 (a greedy MF feed retrained every
# round on rows sampled from the whole log, 80% of new items made by a mode-seeking GenAI,
# users drifting toward what they consume; `experiments/ecosystem.yaml`):
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
# setting against greedy under the GenAI. At the default scale (8 seeds, 30 rounds):
#
# * **Long-tail creators lose visibility under the GenAI**, as the article says. With
#   fixed creators, the share of impressions that goes to the creators in the bottom
#   half of activity falls from 0.151 to 0.068 of all impressions when 80% of new items
#   are synthetic (change -0.083 [-0.102, -0.065]), while CTR (+0.028 [-0.002, +0.058])
#   and exposure entropy (+0.046 [-0.021, +0.113] nats) do not move clearly: the
#   dashboard does not see it. What does move is the topics the feed shows (-0.32
#   [-0.49, -0.15] nats of exposure topic entropy).
# * **Creators who react leave, and the GenAI makes more of them leave.** About half of
#   the reacting creators are gone within ten rounds even without the GenAI (22.5 of 50
#   active at the end); under it 15.4 (change -7.1 [-8.3, -5.9]). The GenAI also
#   concentrates their impressions: the Gini of creators' impressions rises by +0.048
#   [+0.025, +0.071] to 0.85 (0.66 with fixed creators at the same share) and the long
#   tail's share falls further (-0.014 [-0.023, -0.004]): the survivors hold more of the
#   exposure. Exposure entropy does not tell reacting creators from fixed ones at either
#   share; CTR does not under the GenAI, while without it reacting creators, who move
#   toward what was clicked, get 0.051 [0.033, 0.068] more clicks per slate.
# * **Both mitigations help the long tail and keep more creators active; only human-only
#   retraining costs clicks.** Under the GenAI, epsilon-greedy raises the long-tail
#   creators' share (+0.034 [+0.022, +0.047]), keeps more creators active (+4.25 [+3.0,
#   +5.5]) and lowers the creators' Gini (-0.075) with a large gain in exposure entropy
#   (+0.87 nats), and CTR does not change clearly (-0.010 [-0.075, +0.054]). Human-only
#   retraining raises the long tail's share as much (+0.033 [+0.018, +0.048]), keeps more
#   creators active (+6.25 [+4.5, +8.0]), lowers the Gini (-0.072) and spreads the topics
#   shown (+0.36 [+0.13, +0.58] nats) and users' tastes (+0.18 [+0.05, +0.31] nats)
#   without clearly widening the items the feed shows (exposure entropy +0.095 [-0.033,
#   +0.224]), for 0.11 [0.06, 0.16] clicks per slate. It drops the rows of users whose
#   tastes drifted past the influence threshold as well as the GenAI's (both count as
#   AI-influenced), so it trains on few rows: under the GenAI, AI-influenced rows are
#   0.93 of the training weight (`fixed_creators` in the agents' table below).

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
# At the default scale (8 seeds, 30 rounds), **a full covariance changes nothing clearly,
# while a mixture of 8 Gaussians narrows users' tastes and the dashboard rewards it**.
# Against one diagonal Gaussian, the full covariance moves none of the topic entropy of
# what is shown or clicked, users' taste entropy, the synthetic share of impressions or
# CTR beyond its interval. The mixture of 8 lowers users' taste entropy by 0.173 [0.110,
# 0.236] nats, its items take a little more of the impressions (synthetic share +0.029
# [+0.008, +0.050]) and CTR rises (+0.055 [+0.026, +0.084] clicks per slate); the topic
# entropy of what is shown (-0.084 [-0.223, +0.056] nats) and clicked (-0.123 [-0.290,
# +0.043] nats) is lower in point estimate only. At temperature 0.3 every family samples
# close to its modes: one Gaussian, full or diagonal, has a single mode however it is
# shaped, while a mixture can put one on each cluster of what users clicked, which fits
# its items being shown and clicked more and pulling tastes onto fewer topics. So "larger
# models reinforce dominant signals more" is seen for the GenAI here in users' tastes,
# for the mixture and not for the full covariance. A higher temperature or the `paper`
# scale are where to look next.

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
# The cell above prints the numbers. At the default scale (8 seeds, 30 rounds), **a
# slower loop spreads impressions over more items but does not clearly collapse less**.
# Served every 2nd round, the feed's late-round exposure entropy is higher (+0.216
# [+0.146, +0.285] nats); served every 5th round the point estimate is about the same
# (+0.171) but its interval reaches 0 ([-0.100, +0.441]). Neither cadence clearly changes
# the topics shown, how alike users' feeds are, users' taste entropy or CTR (every 5th
# round: taste entropy +0.068 [-0.068, +0.204] nats, CTR -0.045 [-0.106, +0.017]).
# Between refreshes the served model does not yet know the latest clicks, so it spreads
# impressions over more items, but not over more topics. The article's "faster loops"
# finds weak support here: at equal interactions, a loop that closes every round spreads
# impressions over fewer items, but the topics users see, how alike their feeds are,
# what they come to like and the dashboard (CTR) do not differ clearly.

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
# The cell above prints the numbers. At the default scale (8 seeds, 30 rounds):
#
# * **Without the GenAI, agents make users' feeds a little more alike and give users
#   less of what they like; under it, neither is clear.** With half of the user-rounds an
#   agent's, the agents make half of the clicks (0.507, and 0.502 under the GenAI) and
#   hold half of the training weight. Without the GenAI, homogenization rises by +0.009
#   [+0.003, +0.014] and true utility falls by 0.183 [0.150, 0.215] per slate: the model
#   retrains on the agents' picks, which follow its own scores rather than what users
#   like, and its slates fit users less well. Here the dashboard does see it: CTR falls by
#   0.144 [0.118, 0.170]. Under the GenAI, homogenization (+0.008 [-0.000, +0.016]), true
#   utility (-0.095 [-0.223, +0.033]) and CTR (-0.031 [-0.123, +0.060]) do not move
#   beyond their intervals, and consumption entropy rises a little (+0.083 [+0.017,
#   +0.148] nats; without the GenAI it does not move clearly).
# * **Users' tastes spread.** Without the GenAI their taste entropy rises (+0.341
#   [+0.282, +0.400] nats): users drift toward what their agents chose, which is not what
#   they would have chosen, so tastes move off their own topics rather than onto one.
#   Under the GenAI the rise is not clear (+0.168 [-0.072, +0.407]).
# * **Neither mitigation helps here.** Epsilon-greedy narrows what users consume
#   (consumption entropy -0.174 [-0.285, -0.062] nats) and changes nothing else by more
#   than 0.002. Human-only retraining drops the agents' rows, but drifted users are
#   flagged as AI-influenced too, so it keeps 3% of the training weight (the
#   AI-influenced share goes from 0.97 to 0). Consumption then narrows further (-0.655
#   [-0.745, -0.564] nats against agents without it), feeds grow more alike (+0.055
#   [+0.042, +0.068]) and users get less of what they like (true utility -0.130 [-0.199,
#   -0.060], CTR -0.123 [-0.198, -0.049]). Dropping every AI-influenced row is no remedy
#   when most rows are.

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
# The cell above prints the numbers. At the default scale (8 seeds, 30 rounds):
#
# * **Without the GenAI's own items, assisted creators' items take 0.424 [0.354, 0.495]
#   of impressions, slates get less varied and users get less of what they like**
#   (intra-list diversity -0.101 [-0.130, -0.073], true utility -0.083 [-0.132, -0.033],
#   CTR -0.068 [-0.119, -0.018]): each assisted item is pulled toward the GenAI's few
#   modes. The topics shown narrow a little (-0.033 [-0.060, -0.005] nats) and users'
#   taste entropy rises (+0.175 [+0.079, +0.271] nats); the topics clicked and how alike
#   feeds are do not change clearly.
# * **Under the GenAI's own items (0.8 of new items), assisted creators only make slates
#   a little less varied** (intra-list diversity -0.055 [-0.081, -0.029]): their items
#   get 0.073 of impressions, and the synthetic items already carry the GenAI's
#   narrowing. Topics, how alike feeds are, utility and CTR do not change clearly.
# * **Human-only retraining trades utility for variety.** It drops the assisted rows
#   with the synthetic and the drifted users' rows: slates get more varied (+0.227
#   [+0.162, +0.291]) and the topics shown and clicked spread (+0.329 [+0.123, +0.535] and
#   +0.201 [+0.046, +0.355] nats), but feeds grow more alike (homogenization +0.034
#   [+0.024, +0.044]) and users get less of what they like (true utility -0.107 [-0.183,
#   -0.031], CTR -0.086 [-0.144, -0.028]). Users' taste entropy is higher in point
#   estimate only (+0.120 [-0.004, +0.244] nats). As with agents, dropping every
#   AI-influenced row leaves the model little to learn from.
