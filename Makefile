# The README's two commands: `make demo` (the lifecycle on the embedded local
# SageMaker registry) and `make test` (ruff, mypy, pytest). Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck unit fuzz clean

setup: $(STAMP)

$(STAMP): requirements-dev.txt handler/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m devkit demo

lint: $(STAMP)
	$(BIN)/ruff check handler devkit tests

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

# The long fuzzing profile: 10,000 events and 1,000 lifecycle sequences.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -m slow tests/reliability

clean:
	rm -rf $(VENV) .aws-sam .hypothesis
