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
# # 99 — The write-up
#
# Gathers the figures and the key numbers of studies 01-06 into `results/writeup/`:
#
# * `writeup.md`: Markdown, with the figures beside it (`figures/*.png` shown, the PDF
#   of each linked, for papers);
# * `writeup.html`: the same report, self-contained (figures embedded as PNG);
# * `numbers.json`: every number the report states, with the table, rows, rounds and
#   statistic it was computed from.
#
# Every number is read from the result tables (`results/NN_*/metrics.parquet`), never
# typed in; the logic is `labkit.analysis.writeup`. The main job runs this notebook last
# (`labkit main`); it fails, naming what is missing, if a study has not run.

# %% tags=["parameters"]
scale = "default"  # unused here: the write-up reads whatever the studies wrote
out_dir = "results/99_writeup"  # this notebook's folder; the studies' results are beside it
writeup_dir = None  # None: <results>/writeup
late_rounds = 10  # rounds averaged at the end of each run (as in the study notebooks)

# %%
from IPython.display import Markdown, display

from labkit.experiments import paths
from labkit.experiments.parameters import check as check_parameters
from labkit.analysis.writeup import build_writeup

check_parameters("99_writeup", scale=scale, out_dir=out_dir, writeup_dir=writeup_dir, late_rounds=late_rounds)
out = paths.in_repo(out_dir)
results = out.parent
target = results / "writeup" if writeup_dir is None else paths.in_repo(writeup_dir)
writeup = build_writeup(results, target, last=late_rounds)
for path in (writeup.markdown, writeup.html, writeup.numbers, *writeup.figures):
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")

# %% [markdown]
# ## Key findings and headline effects
#
# As they appear in the report (the figures are in the report files).

# %%
text = writeup.markdown.read_text()
start = text.index("## Key findings")
display(Markdown(text[start:text.index("\n## ", text.index("## Headline effects")) ]))
print(f"{len(writeup.findings.claims)} numbers claimed; each is in {writeup.numbers.name} with its source")
