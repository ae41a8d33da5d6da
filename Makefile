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

.PHONY: install install-tools install-postgres install-java demo test test-checklist test-spark-schema lint format bench clean

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_PIN)"
	$(PY) -m pip install -q -e ".[all,dev]"
	touch $(STAMP)

# The CI templates are executed for real: gitlab-ci-local (npm, pinned: 4.74+ crash on
# Node 20) runs the GitLab templates; it needs rsync.
GCL_PIN ?= gitlab-ci-local@4.73.0
TOOLS_STAMP := .tools/.mltk-$(GCL_PIN)
# DVC for the data-change tests (tests/test_data_changes.py), in its own virtualenv:
# the real `dvc` command builds the consumer repository; the kit never imports it.
DVC_VENV := .tools/dvc
DVC_STAMP := $(DVC_VENV)/.mltk-installed
install-tools: $(TOOLS_STAMP) $(DVC_STAMP)
$(DVC_STAMP):
	$(PYTHON) -m venv $(DVC_VENV)
	$(DVC_VENV)/bin/python -m pip install -q dvc
	touch $(DVC_STAMP)
$(TOOLS_STAMP):
	npm install --silent --no-audit --no-fund --prefix .tools $(GCL_PIN)
	@command -v rsync >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq rsync >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq rsync >/dev/null; fi; }
	touch $(TOOLS_STAMP)

# One PostgreSQL-backed MLflow test needs Debian's postgresql (server binaries only:
# the test starts and stops its own cluster on 127.0.0.1).
install-postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "install Debian's postgresql package (apt-get install postgresql) for the PostgreSQL test" >&2; exit 1; fi

# The example project registers its model in MLflow's embedded local store
# (examples/credit_scoring/mlflow.db), the way a team starts before it runs a server.
CS := cd examples/credit_scoring &&
demo: install
	@echo "== examples/credit_scoring: train, and register the model in MLflow as the challenger =="
	$(CS) ../../$(BIN)/python -m credit_scoring.train --register credit-scoring
	$(CS) ../../$(BIN)/mlops-testkit aliases --model credit-scoring
	@echo
	@echo "== examples/credit_scoring: the ML test suite, with the plugin; gates judge the challenger =="
	$(CS) ../../$(BIN)/python -m pytest --mltk-gate-report gate-report.json --mltk-score \
		--mltk-report mltk-report.html --mltk-json mltk-results.json $(PYTEST_ARGS)
	@echo
	@echo "== the deploy stage: check the gate report, then promote the challenger (fail closed) =="
	$(BIN)/mlops-testkit gate examples/credit_scoring/gate-report.json
	$(CS) ../../$(BIN)/mlops-testkit promote --model credit-scoring --gate-report gate-report.json \
		--version "$$(../../$(BIN)/python -c 'import json; print(json.load(open("gate-report.json"))["model"]["version"])')"
	$(CS) ../../$(BIN)/mlops-testkit aliases --model credit-scoring
	@echo
	@echo "== examples/credit_scoring: the ML mutation score (would the suite notice a frozen layer, a flipped loss...?) =="
	$(CS) ../../$(BIN)/python -m pytest -m "not gate" --mltk-mutate --mltk-mutate-report mutation-report.md $(PYTEST_ARGS)
	@echo
	@echo "== examples/sentiment: behavioral tests (MFT, INV, DIR) of a text classifier =="
	cd examples/sentiment && ../../$(BIN)/python -m pytest --mltk-score --mltk-report mltk-report.md --mltk-json mltk-results.json $(PYTEST_ARGS)
	@echo
	@echo "== examples/tour: the README's five-minute tour, as a file =="
	cd examples/tour && ../../$(BIN)/python -m pytest -q $(PYTEST_ARGS)
	@echo
	@echo "== credit_scoring again with --mltk-changed-since HEAD: model tests run only if model code changed"
	@echo "   (the gates now judge the champion itself: --mltk-candidate champion) =="
	$(CS) ../../$(BIN)/python -m pytest -q --mltk-changed-since HEAD --mltk-candidate champion $(PYTEST_ARGS)
	@echo
	@echo "== reports and ML Test Scores =="
	@echo "credit_scoring report: examples/credit_scoring/mltk-report.html (results: mltk-results.json)"
	@echo "sentiment report:      examples/sentiment/mltk-report.md"
	@for ex in credit_scoring sentiment; do $(BIN)/python -c 'import json, sys; s = json.load(open(sys.argv[1]))["score"]; print(sys.argv[2], "ML Test Score:", format(s["final"], "g"), "(" + s["band"] + ");", ", ".join(k + " " + format(v, "g") for k, v in s["sections"].items()))' examples/$$ex/mltk-results.json $$ex; done

lint: install
	$(BIN)/ruff check .
	$(BIN)/black --check .
	SKIP=ruff,black $(BIN)/pre-commit run --all-files --show-diff-on-failure

# The Spark tests run a real local Spark session: pyspark needs a Java runtime (Debian's
# openjdk-17-jre-headless), installed here when `java` is missing.
install-java:
	@if command -v java >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	else echo "install Debian's openjdk-17-jre-headless (apt-get install openjdk-17-jre-headless) for the Spark tests" >&2; exit 1; fi

test: lint install-postgres install-tools install-java
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# The hostile-input suite (tests marked `hostile`: the generated contract of every public
# check, subcommand and option, and tests/test_hostile_*.py) with many more hypothesis
# examples than `make test` draws. HOSTILE_PROFILE=hostile only raises the number of
# examples (tests/hostile.py); no setting turns an assertion off. About 10 minutes.
.PHONY: test-hostile
test-hostile: install
	HOSTILE_PROFILE=hostile $(BIN)/python -m pytest -n 2 --dist loadgroup -m hostile $(PYTEST_ARGS)

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
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_behavioral.py
	$(BIN)/python benchmarks/bench_gates.py
	$(BIN)/python benchmarks/bench_registry.py
	$(BIN)/python benchmarks/bench_isolation.py
	$(BIN)/python benchmarks/bench_fairness.py

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache build *.egg-info

# The Spark schema path (assert_schema on a Spark DataFrame, pandera.pyspark) needs
# pyspark.pandas, which does not import under pandas 3 nor without grpc: it is tested in a
# virtualenv of its own with pandas 2 and pyspark[connect], on local[2] and on the
# standalone cluster of tests/test_spark_cluster.py (schema included). CI runs this target.
SPARK_SCHEMA_VENV ?= .venv-spark-schema
SPARK_SCHEMA_STAMP := $(SPARK_SCHEMA_VENV)/.mltk-installed

$(SPARK_SCHEMA_STAMP): pyproject.toml
	$(PYTHON) -m venv $(SPARK_SCHEMA_VENV)
	printf '*\n' > $(SPARK_SCHEMA_VENV)/.gitignore
	$(SPARK_SCHEMA_VENV)/bin/python -m pip install -q --upgrade pip
	$(SPARK_SCHEMA_VENV)/bin/python -m pip install -q "pandas<3" "pyspark[connect]" pandera pyarrow polars scipy hypothesis pytest pytest-xdist
	$(SPARK_SCHEMA_VENV)/bin/python -m pip install -q --no-deps -e .
	touch $(SPARK_SCHEMA_STAMP)

test-spark-schema: install-java $(SPARK_SCHEMA_STAMP)
	$(SPARK_SCHEMA_VENV)/bin/python -m pytest -p no:cacheprovider -q tests/spark_schema tests/test_spark_cluster.py
