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

.PHONY: install demo test test-checklist lint format bench clean

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
	cd examples/credit_scoring && ../../$(BIN)/python -m pytest --mltk-gate-report gate-report.json $(PYTEST_ARGS)
	@echo
	@echo "== the deploy stage's check of the gate report =="
	$(BIN)/mlops-testkit gate examples/credit_scoring/gate-report.json
	@echo
	@echo "== examples/sentiment: behavioral tests (MFT, INV, DIR) of a text classifier =="
	cd examples/sentiment && ../../$(BIN)/python -m pytest $(PYTEST_ARGS)
	@echo
	@echo "== credit_scoring again with --mltk-changed-since HEAD: model tests run only if model code changed =="
	cd examples/credit_scoring && ../../$(BIN)/python -m pytest -q --mltk-changed-since HEAD $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/black --check .
	SKIP=ruff,black $(BIN)/pre-commit run --all-files --show-diff-on-failure

test: lint
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# CheckList interop is tested against the real package, which never is a dependency:
# it needs its own virtualenv and a recipe (ENVIRONMENT.md). CI runs this target.
CHECKLIST_VENV ?= .venv-checklist
CHECKLIST_STAMP := $(CHECKLIST_VENV)/.mltk-installed

$(CHECKLIST_STAMP): pyproject.toml
	$(PYTHON) -m venv $(CHECKLIST_VENV)
	$(CHECKLIST_VENV)/bin/python -m pip install -q --upgrade pip setuptools wheel
	echo "notebook<7" > $(CHECKLIST_VENV)/constraints.txt
	PIP_CONSTRAINT=$(abspath $(CHECKLIST_VENV))/constraints.txt $(CHECKLIST_VENV)/bin/python -m pip install -q --no-build-isolation checklist
	$(CHECKLIST_VENV)/bin/python -m pip install -q "ipython<9" "setuptools<81" pytest
	$(CHECKLIST_VENV)/bin/python -m pip install -q --no-deps -e .
	touch $(CHECKLIST_STAMP)

test-checklist: $(CHECKLIST_STAMP)
	$(CHECKLIST_VENV)/bin/python -m pytest -p no:cacheprovider -q tests/checklist_interop

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/black .

bench: install
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_drift.py
	$(BIN)/python benchmarks/bench_behavioral.py
	$(BIN)/python benchmarks/bench_gates.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
