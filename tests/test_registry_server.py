"""The whole path against a real MLflow server on 127.0.0.1: train -> register ->
evaluate with the plugin -> gate report -> promote -> rollback, including a worse
candidate that is refused, a champion that moves mid-flight and two racing promotions.
A slow test runs the same promotion path on a server backed by a real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

import gate_cases
from mlflow import MlflowClient

from mlops_testkit.gate_report import build_report, gate_test_entry

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow_server")]
CLI = Path(sys.executable).with_name("mlops-testkit")

TRAIN = """
import sys
import mlflow
import numpy as np
from sklearn.linear_model import LogisticRegression

from data import dataset

name = sys.argv[1]
client = mlflow.MlflowClient()
for spec in sys.argv[2:]:  # one version per argument: a seed, or "bad" (shuffled labels)
    x, y = dataset(seed=int(spec) if spec != "bad" else 0, n=3000)
    if spec == "bad":
        y = np.random.default_rng(1).permutation(y)
    model = LogisticRegression().fit(x, y)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    version = mlflow.register_model(info.model_uri, name).version
    client.set_registered_model_alias(name, "challenger", version)
    print("registered", version)
"""

DATA = """
import numpy as np

def dataset(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = (x @ np.array([1.5, -2.0, 1.0, 0.5]) + rng.normal(size=n) > 0).astype(int)
    return x, y
"""

GATES = """
import pytest
from data import dataset
from mlops_testkit import assert_metric, assert_no_regression

HOLDOUT = dataset(seed=99, n=2000)

@pytest.mark.gate
def test_accuracy(candidate):
    x, y = HOLDOUT
    assert_metric("accuracy", float((candidate.predict(x) == y).mean()), min=0.8)

@pytest.mark.gate(allow_skip="first deployment")
def test_no_regression(candidate, champion):
    x, y = HOLDOUT
    cand = (candidate.predict(x) == y).astype(float)
    champ = (champion.predict(x) == y).astype(float)
    assert_no_regression("accuracy", cand.mean(), champ.mean(), tolerance=0.02,
                         candidate_scores=cand, baseline_scores=champ)

def test_native_flavour(candidate):
    from sklearn.linear_model import LogisticRegression
    assert isinstance(candidate.native, LogisticRegression)
    assert "sklearn" in candidate.flavors
"""


@pytest.fixture
def project(tmp_path, mlflow_server, monkeypatch):
    """A user's repository (a git repo) with a training script and gate tests."""
    (tmp_path / "train.py").write_text(textwrap.dedent(TRAIN))
    (tmp_path / "data.py").write_text(textwrap.dedent(DATA))
    (tmp_path / "test_gates.py").write_text(textwrap.dedent(GATES))
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": mlflow_server.uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "PYTHONPATH": str(tmp_path),
    }
    for key in [k for k in env if k.startswith(("MLTK_", "PYTEST_XDIST", "PYTEST_CURRENT"))]:
        del env[key]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )

    run("git", "init", "-q", "-b", "main")
    run(
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@e",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    return tmp_path, run


def aliases(name: str, uri: str) -> dict[str, str]:
    return {k: str(v) for k, v in MlflowClient(uri).get_registered_model(name).aliases.items()}


def test_train_register_evaluate_promote_rollback(project, mlflow_server) -> None:
    path, run = project
    name = f"credit-{uuid.uuid4().hex[:6]}"
    trained = run(sys.executable, "train.py", name, "1", "2", "bad", "3")
    assert trained.returncode == 0, trained.stderr[-3000:]

    def evaluate(version: str, report: str, *extra: str) -> subprocess.CompletedProcess:
        return run(
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            f"--mltk-model-name={name}",
            f"--mltk-candidate={version}",
            f"--mltk-gate-report={report}",
            *extra,
        )

    def cli(*args: str) -> subprocess.CompletedProcess:
        return run(str(CLI), *args, "--model", name)

    # first deployment: nothing to compare against, the regression gate skips
    first = evaluate("1", "r1.json", "--mltk-mlflow-log")
    assert first.returncode == 0, first.stdout[-3000:]
    assert (
        "first deployment" in first.stdout and "gate results logged to MLflow run" in first.stdout
    )
    report = json.loads((path / "r1.json").read_text())
    assert report["model"]["version"] == "1" and report["model"]["champion_version"] is None
    logged = MlflowClient(mlflow_server.uri).get_run(report["model"]["run_id"]).data
    assert logged.metrics["mltk.gates_passed"] == 1 and logged.metrics["mltk.gate.accuracy"] > 0.8
    assert logged.tags["mltk.git_sha"] == report["git_sha"] and len(report["git_sha"]) == 40
    done = cli("promote", "--version", "1", "--gate-report", "r1.json")
    assert done.returncode == 0, done.stderr
    assert "champion before: none" in done.stdout and "champion after:  v1" in done.stdout

    # v2 is evaluated against champion v1 ...
    second = evaluate("2", "r2.json")
    assert second.returncode == 0, second.stdout[-3000:]
    # ... a worse candidate fails its gates and is refused ...
    bad = evaluate("3", "r3.json")
    assert bad.returncode == 1 and "gate 'accuracy' failed" in bad.stdout
    refused = cli("promote", "--version", "3", "--gate-report", "r3.json")
    assert (
        refused.returncode == 1
        and "REFUSED: " in refused.stderr
        and "gate 'accuracy' failed" in refused.stderr
    )
    assert aliases(name, mlflow_server.uri)["champion"] == "1"

    # ... and meanwhile a hotfix v4 becomes champion: v2's evaluation is stale
    fourth = evaluate("4", "r4.json")
    assert fourth.returncode == 0, fourth.stdout[-3000:]
    assert cli("promote", "--version", "4", "--gate-report", "r4.json").returncode == 0
    stale = cli("promote", "--version", "2", "--gate-report", "r2.json")
    assert stale.returncode == 1
    assert (
        "moved since the gates ran: they compared against v1, the champion now is v4"
        in stale.stderr
    )
    assert aliases(name, mlflow_server.uri) == {"champion": "4", "previous_champion": "1"}

    back = cli("rollback")
    assert back.returncode == 0 and "champion after:  v1" in back.stdout, back.stderr
    again = cli("rollback")
    # issue 17: the second rollback says there is nothing to roll back to, exit 0
    assert again.returncode == 0 and "nothing to roll back to" in again.stdout
    assert aliases(name, mlflow_server.uri)["champion"] == "1"


def test_promote_refuses_every_report_without_complete_evidence(project, mlflow_server) -> None:
    """Each way a gate test ends without evidence (tests/gate_cases.py) leaves a report
    that promote, against the real server, refuses; the same suite's passing gate alone
    is promoted, so the refusals are the cases'."""
    path, run = project
    name = f"cases-{uuid.uuid4().hex[:6]}"
    assert run(sys.executable, "train.py", name, "1").returncode == 0
    gate_cases.write(path)

    def evaluate(report: str, *selection: str) -> None:
        run(
            "env",
            "GATE_CASES_REGISTRY=1",
            sys.executable,
            "-m",
            "pytest",
            f"--mltk-model-name={name}",
            f"--mltk-gate-report={report}",
            *selection,
        )
        assert (path / report).exists()

    for case, (_, needle) in gate_cases.CASES.items():
        evaluate(f"{case}.json", *gate_cases.args(case))
        refused = run(
            str(CLI), "promote", "--model", name, "--version", "1", "--gate-report", f"{case}.json"
        )
        assert refused.returncode == 1 and needle in refused.stderr, (case, refused.stderr)
        assert "champion" not in aliases(name, mlflow_server.uri)
    evaluate("ok.json", "test_cases.py::test_ok")
    done = run(str(CLI), "promote", "--model", name, "--version", "1", "--gate-report", "ok.json")
    assert done.returncode == 0 and "champion after:  v1" in done.stdout, done.stderr


def _register_bare(uri: str, name: str, versions: int) -> None:
    client = MlflowClient(uri)
    client.create_registered_model(name)
    run = client.create_run("0")
    for _ in range(versions):
        client.create_model_version(
            name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )


def _report(path: Path, name: str, version: str, champion: str | None) -> str:
    gate = {
        "name": "auc",
        "kind": "metric",
        "value": 0.8,
        "threshold": ">= 0.7",
        "passed": True,
        "details": {},
        "test_id": "t",
    }
    model = {"name": name, "version": version, "champion_version": champion}
    file = path / f"{name}-{version}.json"
    tests = [gate_test_entry("t", "passed", gates=1)]
    file.write_text(json.dumps(build_report([gate], gate_tests=tests, model=model)))
    return str(file)


def test_two_racing_promotions_cannot_both_win(project, mlflow_server) -> None:
    path, run = project
    name = f"race-{uuid.uuid4().hex[:6]}"
    _register_bare(mlflow_server.uri, name, 3)
    first = run(
        str(CLI),
        "promote",
        "--model",
        name,
        "--version",
        "1",
        "--gate-report",
        _report(path, name, "1", None),
    )
    assert first.returncode == 0, first.stderr
    reports = {v: _report(path, name, v, "1") for v in ("2", "3")}

    def promote(version: str) -> subprocess.CompletedProcess:
        args = ["--model", name, "--version", version, "--gate-report", reports[version]]
        return run(str(CLI), "promote", *args)

    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(reports, pool.map(promote, reports), strict=True))
    winners = [v for v, r in results.items() if r.returncode == 0]
    losers = [r for r in results.values() if r.returncode != 0]
    assert len(winners) == 1 and len(losers) == 1, {v: r.stderr for v, r in results.items()}
    assert "moved since the gates ran" in losers[0].stderr
    assert aliases(name, mlflow_server.uri) == {"champion": winners[0], "previous_champion": "1"}


def test_postgres_backed_server(tmp_path, monkeypatch) -> None:
    """Teams outgrow sqlite: the same promotion path on MLflow backed by PostgreSQL."""
    pytest.importorskip("psycopg2")
    from mlflow_server import MlflowServer, Postgres

    if Postgres.bindir() is None:
        pytest.fail(
            "PostgreSQL is not installed: run `make install-postgres` (Debian's postgresql)"
        )
    database = Postgres(tmp_path / "pg").start()
    try:
        with MlflowServer(tmp_path / "mlflow", backend_uri=database.uri) as server:
            monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)
            env = {**os.environ, "MLFLOW_TRACKING_URI": server.uri}
            name = "credit-pg"
            _register_bare(server.uri, name, 2)
            for version, champion in (("1", None), ("2", "1")):
                out = subprocess.run(
                    [
                        str(CLI),
                        "promote",
                        "--model",
                        name,
                        "--version",
                        version,
                        "--gate-report",
                        _report(tmp_path, name, version, champion),
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert out.returncode == 0, out.stderr
            back = subprocess.run(
                [str(CLI), "rollback", "--model", name],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert back.returncode == 0, back.stderr
            assert aliases(name, server.uri) == {"champion": "1", "rolled_back": "2"}
            tags = MlflowClient(server.uri).get_model_version(name, "2").tags
            assert tags["mltk.promoted_by"] and tags["mltk.rolled_back_by"]
    finally:
        database.stop()
