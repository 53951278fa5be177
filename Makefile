# labkit — set-up and entry points.
#
#   make all    # create the environment and run the main job
#   make test   # create the environment and run the test suite
#
# Environment: if a conda env (other than base) is active, it is updated from
# environment.yml and used; otherwise a local .venv is created with
# python3.11 (or python3) and the package is installed with `pip install -e '.[test]'`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

SCALE ?= default
# Test workers (pytest-xdist): one per core, at most 8. The suite is mostly XLA compiles,
# one core each, so two cores run it in about half the time. TEST_WORKERS=0: one process.
TEST_WORKERS ?= auto

CONDA := $(shell command -v conda 2>/dev/null)

ifneq ($(and $(CONDA_PREFIX),$(CONDA),$(filter-out base,$(CONDA_DEFAULT_ENV))),)
  ENV_KIND := conda
  PY       := $(CONDA_PREFIX)/bin/python
  STAMP    := $(CONDA_PREFIX)/.labkit-installed
else
  ENV_KIND := venv
  VENV     := .venv
  PY       := $(CURDIR)/$(VENV)/bin/python
  STAMP    := $(VENV)/.installed
  PYTHON   ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
endif

.PHONY: all env main test lab clean-results help

all: env main ## create the environment and run the main job (notebooks, figures, write-up under results/)

env: $(STAMP) ## create/update the environment only

ifeq ($(ENV_KIND),conda)
$(STAMP): environment.yml pyproject.toml
	@echo ">> updating active conda env '$(CONDA_DEFAULT_ENV)' from environment.yml"
	conda env update -n $(CONDA_DEFAULT_ENV) -f environment.yml
	touch $@
else
$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: neither python3.11 nor python3 found on PATH" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: $(PYTHON) is older than Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
	@echo ">> creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version 2>&1))"
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e '.[test]'
	touch $@
endif

main: env ## run the main job (labkit main --scale $$SCALE)
	$(PY) -m labkit main --scale $(SCALE)

test: env ## create the environment and run the test suite
	$(PY) -m pytest -n $(TEST_WORKERS) --maxprocesses 8 --dist loadfile --no-loadscope-reorder

lab: env ## start JupyterLab in the environment
	$(PY) -m jupyter lab

clean-results: ## delete generated results under results/ (keeps results/.gitkeep)
	find results -mindepth 1 ! -name .gitkeep -delete 2>/dev/null || true

help: ## list targets
	@echo "labkit make targets (environment: $(ENV_KIND), python: $(PY))"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-zA-Z_-]+):.*## (.*)/  \1\t\2/' | expand -t 18
	@echo "variables: SCALE=$(SCALE)  (e.g. make main SCALE=small)"
