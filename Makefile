# The README's two commands: `make demo` (the lifecycle on the embedded local
# SageMaker registry) and `make test` (ruff, mypy, pytest). Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# aws-sam-cli and checkov each get a virtualenv of their own: their pins clash
# with each other's and with ours.
SAM := .venv-sam/bin/sam
CHECKOV := .venv-checkov/bin/checkov
# sam build needs the Lambda's python3.13 on PATH (pyenv has it here).
PY313_DIR := $(shell dirname "$$(PYENV_VERSION=3.13.0 pyenv which python3.13 2>/dev/null || command -v python3.13)")
SAM_RUN := PATH="$(PY313_DIR):$$PATH" PYENV_VERSION=3.13.0 SAM_CLI_TELEMETRY=0

.PHONY: setup demo test lint typecheck templates build stackset bench reliability fuzz clean

setup: $(STAMP)

$(STAMP): requirements-dev.txt handler/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m devkit demo
	$(BIN)/python -m devkit scenario devkit/demo/central-registry-scenario.yaml

lint: $(STAMP)
	$(BIN)/ruff check handler devkit tests lint bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

.venv-sam/.installed: tools/sam.txt
	$(PYTHON) -m venv .venv-sam
	.venv-sam/bin/python -m pip install --quiet --disable-pip-version-check -r tools/sam.txt
	touch $@

.venv-checkov/.installed: tools/checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r tools/checkov.txt
	touch $@

# The deployable package, built as `sam build` builds it for python3.13/arm64.
build: .venv-sam/.installed
	@test -x "$(PY313_DIR)/python3.13" || (echo "sam build needs python3.13 (pyenv install 3.13.0)"; exit 1)
	$(SAM_RUN) $(SAM) build --cached --parallel

# For service-managed StackSets (which refuse a Transform): dist/stackset/template.json,
# the SAM transform applied by the pinned aws-sam-translator, its code from S3
# (parameters CodeBucketPrefix, CodeKey), and the deterministic zip of the build.
stackset: build
	.venv-sam/bin/python tools/stackset.py

# sam validate --lint and checkov on template.yaml (cfn-lint runs in pytest).
templates: .venv-sam/.installed .venv-checkov/.installed
	$(SAM_RUN) $(SAM) validate --lint
	$(CHECKOV) --file template.yaml --framework cloudformation --quiet --compact --skip-download

test: lint typecheck templates build
	$(BIN)/python -m pytest

# Cold start, calls per scenario, warm overhead, Delete, package size (bench/bench.py).
bench: $(STAMP) build
	$(BIN)/python bench/bench.py

# The long profiles (10,000 fuzzed events, 1,000 lifecycle sequences, the fault
# matrix), then the table of what was tried and what held. `make test` runs the
# same suite on a short profile.
reliability: $(STAMP)
	rm -f .reliability/report.json
	HYPOTHESIS_PROFILE=long RELIABILITY_REPORT=1 POWERTOOLS_LOG_LEVEL=WARNING $(BIN)/python -m pytest tests/reliability
	$(BIN)/python tests/reliability/report.py

fuzz: reliability

clean:
	rm -rf $(VENV) .venv-sam .venv-checkov .aws-sam .hypothesis .reliability
