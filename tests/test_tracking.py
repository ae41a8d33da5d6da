"""The registry fixtures and settings as users meet them: pytest runs in a subprocess
against MLflow's embedded store in a temporary folder.

Not ``pytester``: it unloads the modules a test imported when the test ends, and
sqlalchemy (under mlflow's store) breaks when it is imported a second time."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mlflow")
pytestmark = pytest.mark.slow

from mlflow import MlflowClient

from mlops_testkit.gate_report import read_report
from mlops_testkit.session import MltkSession
from mlops_testkit.settings import Resolved

USES_REGISTRY = """
import pytest
from mlops_testkit import assert_metric

@pytest.mark.gate
def test_bar(candidate):
    assert candidate.version == candidate.uri.rsplit("/", 1)[1]
    assert_metric("auc", 0.8, min=0.7)

@pytest.mark.gate
def test_champion(candidate, champion):
    assert_metric("auc_vs_champion", 0.8, min=0.7)

@pytest.mark.gate
@pytest.mark.parametrize("i", range(4))
def test_more(candidate, i):
    assert_metric(f"m{i}", 1.0, min=0.5)
"""


class Run:
    """A finished pytest run: exit code and output."""

    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.ret = proc.returncode
        self.out = proc.stdout + proc.stderr

    def outcomes(self, **expected: int) -> None:
        counts = {
            k: int(n)
            for n, k in re.findall(
                r"(\d+) (passed|failed|skipped|errors?)\b", self.out.splitlines()[-1]
            )
        }
        counts = {("errors" if k == "error" else k): n for k, n in counts.items()}
        assert counts == expected, self.out[-4000:]

    def has(self, pattern: str) -> None:
        assert any(
            fnmatch.fnmatch(line, pattern) for line in self.out.splitlines()
        ), f"no line matches {pattern!r} in:\n{self.out[-4000:]}"

    def lacks(self, pattern: str) -> None:
        assert not any(fnmatch.fnmatch(line, pattern) for line in self.out.splitlines())


class Project:
    """A user's test folder in tmp_path, run with ``python -m pytest``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ini = "[pytest]\nfilterwarnings = ignore::DeprecationWarning\n"

    def write(self, text: str, name: str = "test_gates.py") -> None:
        (self.path / name).write_text(textwrap.dedent(text))

    def run(self, *args: str) -> Run:
        (self.path / "pytest.ini").write_text(self.ini)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            *args,
        ]
        return Run(
            subprocess.run(
                cmd, cwd=self.path, env=env, capture_output=True, text=True, timeout=300
            )
        )


@pytest.fixture
def pytester(tmp_path, monkeypatch) -> Project:
    """Named like pytest's, but a plain folder and subprocess runs (see the docstring)."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    return Project(tmp_path)


@pytest.fixture
def store(pytester, monkeypatch) -> MlflowClient:
    """An embedded store with model 'm': v1 champion, v2 challenger."""
    uri = f"sqlite:///{pytester.path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    client = MlflowClient(uri)
    client.create_registered_model("m")
    run = client.create_run("0")
    for _ in range(2):
        client.create_model_version(
            "m", source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )
    client.set_registered_model_alias("m", "champion", "1")
    client.set_registered_model_alias("m", "challenger", "2")
    return client


@pytest.mark.parametrize("workers", [None, "2"])
def test_report_names_the_version_the_gates_judged(pytester, store, workers) -> None:
    pytester.write(USES_REGISTRY)
    args = ["--mltk-model-name", "m", "--mltk-gate-report", "r.json", "-p", "no:randomly"]
    result = pytester.run(*args, *(["-n", workers] if workers else []))
    result.outcomes(passed=6)
    result.has("*model: m (from --mltk-model-name), candidate alias 'challenger'*")
    result.has("gate report: *r.json (m v2)")
    model = read_report(pytester.path / "r.json")["model"]
    assert (model["name"], model["version"], model["champion_version"]) == ("m", "2", "1")


def test_candidate_from_ini_env_and_uri(pytester, store, monkeypatch) -> None:
    pytester.write(USES_REGISTRY)
    pytester.ini += "mltk_model_name = m\nmltk_candidate = 1\n"
    result = pytester.run("--mltk-gate-report", "r.json")
    result.outcomes(passed=6)
    assert read_report(pytester.path / "r.json")["model"]["version"] == "1"
    monkeypatch.setenv("MLTK_CANDIDATE", "models:/m/2")
    result = pytester.run("--mltk-gate-report", "r.json")
    result.has("*candidate version 2*")
    assert read_report(pytester.path / "r.json")["model"]["version"] == "2"


def test_first_deployment_skips_champion_comparisons(pytester, store) -> None:
    store.delete_registered_model_alias("m", "champion")
    pytester.write(USES_REGISTRY)
    result = pytester.run("--mltk-model-name=m", "-rs", "--mltk-gate-report=r.json")
    result.outcomes(passed=5, skipped=1)
    result.has("*first deployment: model 'm' has no 'champion' alias yet*")
    assert read_report(pytester.path / "r.json")["model"]["champion_version"] is None


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "*the 'candidate' fixture needs the registered model's name: set --mltk-model-name*"),
        (["--mltk-model-name=nope"], "*no registered model named 'nope' in sqlite:*"),
        (
            ["--mltk-model-name=m", "--mltk-candidate=7"],
            "*model 'm' has no version 7 (versions: 1, 2)*",
        ),
        (
            ["--mltk-model-name=m", "--mltk-candidate=blue"],
            "*has no alias 'blue' (aliases: challenger -> v2, champion -> v1)*",
        ),
    ],
    ids=["no-name", "unknown-model", "missing-version", "unknown-alias"],
)
def test_registry_problems_are_clear_errors(pytester, store, args, message) -> None:
    pytester.write(USES_REGISTRY)
    result = pytester.run(*args)
    result.outcomes(errors=6)
    result.has(message)
    result.lacks("*INTERNALERROR*")
    result.lacks("*During handling of the above exception*")


def test_bad_candidate_and_name_are_usage_errors(pytester) -> None:
    pytester.write("def test_x(): pass")
    result = pytester.run("--mltk-candidate", "models:/m")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.has("*--mltk-candidate: 'models:/m' is not a model URI; expected a version*")
    result = pytester.run("--mltk-model-name", "a/b")
    result.has("*'a/b' is not a registered model name*")


def test_unreachable_server_fails_the_tests_within_the_timeout(pytester, monkeypatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    pytester.write(USES_REGISTRY)
    result = pytester.run("--mltk-model-name=m", "--mltk-gate-report=r.json")
    result.outcomes(errors=6)
    result.has(f"*MLflow tracking server at http://127.0.0.1:{port} is unreachable*")
    report = read_report(pytester.path / "r.json")
    assert report["model"] is None and report["passed"] is False  # nothing to promote


def test_mlflow_log_to_a_new_run_and_its_failure_fails_the_run(
    pytester, store, monkeypatch
) -> None:
    pytester.write(
        "import pytest\nfrom mlops_testkit import assert_metric\n"
        "@pytest.mark.gate\ndef test_a():\n    assert_metric('auc', 0.9, min=0.5)\n"
    )
    result = pytester.run("--mltk-mlflow-log")
    result.outcomes(passed=1)
    result.has("gate results logged to MLflow run *")
    run_id = result.out.split("logged to MLflow run ")[1].split()[0]
    run = store.get_run(run_id)
    assert (
        run.data.metrics["mltk.gate.auc"] == 0.9
        and run.data.metrics["mltk.tests.gate.passed"] == 1
    )
    assert run.data.tags["mltk.gates_verdict"] == "passed"
    artifact = store.download_artifacts(run_id, "mltk/gate-report.json", str(pytester.path))
    assert json.loads(Path(artifact).read_text())["gates"][0]["name"] == "auc"

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    result = pytester.run("--mltk-mlflow-log")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.has("ERROR --mltk-mlflow-log: the MLflow tracking server at *unreachable*")
    result.lacks("*INTERNALERROR*")


def test_workers_that_disagree_certify_nothing() -> None:
    state = MltkSession(config=None, settings={"seed": Resolved(0, "default")}, seed=0)
    one = {
        "name": "m",
        "version": "2",
        "champion_version": "1",
        "run_id": "r",
        "candidate": "challenger",
    }
    state.model_infos = [one, dict(one)]
    assert state.model_info() == one
    state.model_infos.append(dict(one, version="3"))  # the alias moved between lookups
    info = state.model_info()
    assert info["version"] is None and info["conflict"] == ["v2 (champion 1)", "v3 (champion 1)"]
