# The README's two commands: `make demo` (the lifecycle on the embedded local
# SageMaker registry) and `make test` (ruff, mypy, the templates, the build, the docs,
# pytest). Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# aws-sam-cli, checkov and the docs' MkDocs each get a virtualenv of their own:
# their pins clash with each other's and with ours.
SAM := .venv-sam/bin/sam
CHECKOV := .venv-checkov/bin/checkov
MKDOCS := .venv-docs/bin/mkdocs
# The Lambda's python3.13: sam build compiles the package's bytecode with it, the
# artifact tests and the benchmark run the package on it. PATH first, then pyenv.
PYTHON313 := $(shell for p in python3.13 $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13 \
	$${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13; do \
	"$$p" -c 'import sys; print(sys.executable)' 2>/dev/null && break; done)
NO_PYTHON313 := python3.13 is needed (the Lambda's python): install it with 'pyenv install 3.13' or your OS's python3.13 package, and put it on PATH
SAM_RUN := $(if $(PYTHON313),PATH="$(dir $(PYTHON313)):$$PATH" PYTHON313="$(PYTHON313)") SAM_CLI_TELEMETRY=0

.PHONY: setup demo test lint typecheck templates docs build stackset bench ab coldpath fleet reliability fuzz clean python313

setup: $(STAMP)

$(STAMP): requirements-dev.txt handler/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The project's own code on the venv's path (handler/ as Lambda's task root has it,
	# and the repository for devkit, tests and bench): no sys.path edits anywhere.
	printf '%s\n%s\n' "$(CURDIR)" "$(CURDIR)/handler" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/model-package-resource.pth"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m devkit demo
	$(BIN)/python -m devkit scenario devkit/demo/central-registry-scenario.yaml

lint: $(STAMP)
	$(BIN)/ruff check handler devkit tests lint bench tools examples

typecheck: $(STAMP)
	$(BIN)/mypy

.venv-sam/.installed: tools/sam.txt
	$(PYTHON) -m venv .venv-sam
	.venv-sam/bin/python -m pip install --quiet --disable-pip-version-check -r tools/sam.txt
	touch $@

.venv-docs/.installed: requirements-docs.txt
	$(PYTHON) -m venv .venv-docs
	.venv-docs/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-docs.txt
	touch $@

# The documentation site (mkdocs.yml, docs/, the examples pulled in as snippets) into
# site/, strictly (a broken link, a missing page or snippet fails) and offline.
docs: .venv-docs/.installed
	NO_MKDOCS_2_WARNING=1 $(MKDOCS) build --strict

.venv-checkov/.installed: tools/checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r tools/checkov.txt
	touch $@

# The deployable package, built as `sam build` builds it for python3.13/arm64.
# handler/Makefile compiles every shipped .py to hash-based python3.13 bytecode.
build: python313 .venv-sam/.installed
	$(SAM_RUN) $(SAM) build --cached --parallel

# For service-managed StackSets (which refuse a Transform): dist/stackset/template.json,
# the SAM transform applied by the pinned aws-sam-translator, its code from S3
# (parameters CodeBucketPrefix, CodeKey), and the deterministic zip of the build.
stackset: build
	.venv-sam/bin/python tools/stackset.py

python313:
	$(if $(PYTHON313),@:,$(error $(NO_PYTHON313)))

# sam validate --lint and checkov on template.yaml (cfn-lint runs in pytest).
templates: .venv-sam/.installed .venv-checkov/.installed
	$(SAM_RUN) $(SAM) validate --lint
	$(CHECKOV) --file template.yaml --framework cloudformation --quiet --compact --skip-download

test: python313 lint typecheck templates docs build
	PYTHON313="$(PYTHON313)" $(BIN)/python -m pytest

# Cold start as Lambda runs the built package, then in the dev venv; calls per
# scenario, warm overhead, Delete, package size (bench/bench.py). The floor runs on
# a python3.13 venv of boto3 with its bytecode, as the Lambda runtime's copy.
FLOOR := .local/py313-floor
bench: python313 $(STAMP) build $(FLOOR)/.installed
	PYTHON313="$(PYTHON313)" FLOOR_PYTHON="$(FLOOR)/bin/python" $(BIN)/python bench/bench.py

# Did a change cost cold-start time? The build against the same build with the handler's
# code of AB_COMMIT, interleaved with the floor (bench/ab.py); AB_ARGS for --runs.
ab: python313 $(STAMP) build $(FLOOR)/.installed
	@test -n "$(AB_COMMIT)" || { echo "make ab AB_COMMIT=<commit>"; exit 2; }
	PYTHON313="$(PYTHON313)" FLOOR_PYTHON="$(FLOOR)/bin/python" $(BIN)/python -m bench.ab $(AB_COMMIT) $(AB_ARGS)

# What each candidate costs on the cold path, in the same Lambda setting (bench/coldpath.py).
coldpath: python313 $(STAMP) build $(FLOOR)/.installed
	FLOOR_PYTHON="$(FLOOR)/bin/python" $(BIN)/python bench/coldpath.py

# A fleet deployed at once against a throttled registry, each event a cold process of
# the built package (bench/fleet.py); FLEET_ARGS for its flags (--resources 50 100 200,
# --caps 1 2 5 20, --concurrency 0 20, --update-rate ...; --help lists them).
fleet: python313 $(STAMP) build
	PYTHON313="$(PYTHON313)" $(BIN)/python bench/fleet.py $(FLEET_ARGS)

$(FLOOR)/.installed: bench/floor-requirements.txt
	$(if $(PYTHON313),,$(error $(NO_PYTHON313)))
	rm -rf $(FLOOR)
	"$(PYTHON313)" -m venv $(FLOOR)
	$(FLOOR)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/floor-requirements.txt
	touch $@

# The long profiles (10,000 fuzzed events, 1,000 lifecycle sequences, the fault
# matrix), then the table of what was tried and what held. `make test` runs the
# same suite on a short profile.
reliability: $(STAMP)
	rm -f .reliability/report.json
	HYPOTHESIS_PROFILE=long RELIABILITY_REPORT=1 POWERTOOLS_LOG_LEVEL=WARNING $(BIN)/python -m pytest tests/reliability
	$(BIN)/python tests/reliability/report.py

fuzz: reliability

clean:
	rm -rf $(VENV) .venv-sam .venv-checkov .venv-docs .aws-sam .hypothesis .reliability .local site
