# mlops-testkit: `make demo` runs the example projects' ML tests with the plugin,
# `make test` runs lint and the project's own test suite. Both set everything up first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.mltk-installed
export PATH := $(abspath $(BIN)):$(PATH)
# These machines export PYTHONDONTWRITEBYTECODE=1, which makes pytest re-rewrite
# hypothesis on every run (~0.85 s): see ENVIRONMENT.md.
unexport PYTHONDONTWRITEBYTECODE
export MLFLOW_DISABLE_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# torch is pinned and installed before the project so that `torch>=2.1` in the extra
# is already satisfied by the local CPU build and never resolves to a multi-GB download.
TORCH_PIN ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: install demo test lint format bench clean

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_PIN)"
	$(PY) -m pip install -q -e ".[all,dev]"
	touch $(STAMP)

demo: install
	@echo "== examples/credit_scoring: the example project's ML test suite, with the plugin =="
	cd examples/credit_scoring && ../../$(BIN)/python -m pytest $(PYTEST_ARGS)
	@echo
	@echo "== the same suite with --mltk-changed-since HEAD: model tests run only if model code changed =="
	cd examples/credit_scoring && ../../$(BIN)/python -m pytest -q --mltk-changed-since HEAD $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/black --check .
	SKIP=ruff,black $(BIN)/pre-commit run --all-files --show-diff-on-failure

test: lint
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/black .

bench: install
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_drift.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
