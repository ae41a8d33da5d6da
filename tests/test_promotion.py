"""Fail-closed promotion and rollback, on MLflow's embedded store (a sqlite file).

The same code runs against a real server in test_registry_server.py; here each rule
gets its own small test. Every test uses its own model name, so they are xdist-safe.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from mlflow import MlflowClient

from mlops_testkit.ci.local import free_port
from mlops_testkit.cli import main as cli
from mlops_testkit.gate_report import build_report, gate_test_entry
from mlops_testkit.registry.promotion import (
    LOCK_PREFIX,
    PromotionError,
    promote,
    registry_lock,
    rollback,
)
from mlops_testkit.registry.tracking import (
    CandidateSpec,
    Registry,
    TrackingError,
    parse_candidate,
    resolve,
)

GATE = {
    "name": "auc",
    "kind": "metric",
    "value": 0.8,
    "threshold": ">= 0.7",
    "passed": True,
    "details": {},
    "test_id": "t::auc",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    uri = f"sqlite:///{path}"
    MlflowClient(uri).search_registered_models()  # create the tables once
    return uri


@pytest.fixture
def client(store, monkeypatch) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    return MlflowClient(store)


@pytest.fixture
def model(client) -> str:
    """A registered model with three READY versions; v1 is the challenger."""
    name = f"m-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    run = client.create_run("0")
    for _ in range(3):
        client.create_model_version(
            name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )
    client.set_registered_model_alias(name, "challenger", "1")
    return name


def report(tmp_path: Path, name: str, version: str, champion: str | None, passed=True) -> str:
    gate = dict(GATE, passed=passed, value=0.8 if passed else 0.6)
    data = build_report(
        [gate],
        gate_tests=[gate_test_entry("t::auc", "passed", gates=1, failed_gates=int(not passed))],
        git_sha="abc123",
        model={"name": name, "version": version, "champion_version": champion},
    )
    path = tmp_path / f"report-{name}-{version}.json"
    path.write_text(json.dumps(data))
    return str(path)


def aliases(client, name) -> dict[str, str]:
    return {k: str(v) for k, v in client.get_registered_model(name).aliases.items()}


def test_first_promotion_sets_champion_tags_and_is_idempotent(client, model, tmp_path) -> None:
    path = report(tmp_path, model, "1", None)
    out = promote(model, "1", path, client=client)
    assert out.action == "promoted" and out.champion_before is None and out.champion_after == "1"
    assert aliases(client, model) == {"champion": "1"}  # challenger removed
    tags = client.get_model_version(model, "1").tags
    assert tags["mltk.promoted_by"] and tags["mltk.promoted_at"]
    assert tags["mltk.gate_report_hash"] == json.loads(Path(path).read_text())["content_hash"]
    assert tags["mltk.replaced_version"] == ""
    again = promote(model, "1", path, client=client)
    assert again.action == "unchanged" and "already the champion" in again.message
    assert aliases(client, model) == {"champion": "1"}


def test_second_promotion_keeps_the_previous_champion(client, model, tmp_path) -> None:
    promote(model, "1", report(tmp_path, model, "1", None), client=client)
    out = promote(model, "2", report(tmp_path, model, "2", "1"), client=client)
    assert (out.champion_before, out.champion_after) == ("1", "2")
    assert aliases(client, model) == {"champion": "2", "previous_champion": "1"}
    assert client.get_model_version(model, "2").tags["mltk.replaced_version"] == "1"
    assert client.get_model_version(model, "1").tags["mltk.replaced_by"] == "2"


@pytest.mark.parametrize(
    "make, why",
    [
        (lambda p, m: report(p, m, "1", None, passed=False), "gate 'auc' failed: 0.6"),
        (lambda p, m: report(p, m, "2", None), "is about m-"),
        (lambda p, m: report(p, "other-model", "1", None), "is about other-model v1"),
        (lambda p, m: str(p / "missing.json"), "no gate report at"),
    ],
    ids=["failing-gate", "other-version", "other-model", "missing"],
)
def test_untrustworthy_reports_are_refused(client, model, tmp_path, make, why) -> None:
    with pytest.raises(PromotionError, match=re.escape(why)):
        promote(model, "1", make(tmp_path, model), client=client)
    assert "champion" not in aliases(client, model)


def test_tampered_truncated_and_unknown_reports_are_refused(client, model, tmp_path) -> None:
    path = Path(report(tmp_path, model, "1", None))
    good = json.loads(path.read_text())
    cases = {
        "does not match its content hash": json.dumps(
            dict(good, model=dict(good["model"], version="2"))
        ),
        "not valid JSON (truncated?)": path.read_text()[:60],
        "schema version 7": json.dumps(dict(good, schema_version=7)),
    }
    for why, text in cases.items():
        path.write_text(text)
        with pytest.raises(PromotionError, match=re.escape(why)):
            promote(model, "1", str(path), client=client)
    no_model = build_report([GATE], gate_tests=[gate_test_entry("t::auc", "passed", gates=1)])
    path.write_text(json.dumps(no_model))
    with pytest.raises(PromotionError, match="names no model version"):
        promote(model, "1", str(path), client=client)
    path.write_text(json.dumps(build_report([], model={"name": model, "version": "1"})))
    with pytest.raises(PromotionError, match="no gate test was collected"):
        promote(model, "1", str(path), client=client)
    assert "champion" not in aliases(client, model)


def test_a_champion_that_moved_since_evaluation_is_refused(client, model, tmp_path) -> None:
    promote(model, "1", report(tmp_path, model, "1", None), client=client)
    stale = report(tmp_path, model, "3", None)  # gates ran before v1 became champion
    with pytest.raises(PromotionError, match=r"moved since the gates ran.*no champion.*now is v1"):
        promote(model, "3", stale, client=client)
    with pytest.raises(PromotionError, match="compared against v2, the champion now is v1"):
        promote(model, "3", report(tmp_path, model, "3", "1"), client=client, expect_champion="2")
    assert aliases(client, model)["champion"] == "1"
    # the explicit expectation wins over the report's when the operator states it
    out = promote(model, "3", stale, client=client, expect_champion="1")
    assert out.champion_after == "3"


def test_unknown_model_and_missing_version(client, model, tmp_path) -> None:
    with pytest.raises(TrackingError, match="no registered model named 'nope'"):
        promote("nope", "1", report(tmp_path, "nope", "1", None), client=client)
    with pytest.raises(TrackingError, match=r"has no version 9 \(versions: 1, 2, 3\)"):
        promote(model, "9", report(tmp_path, model, "9", None), client=client)
    with pytest.raises(TrackingError, match="no registered model named 'nope'"):
        rollback("nope", client=client)


class _PendingVersions:
    """The real client, except that versions report PENDING_REGISTRATION (a state the
    sqlite store never leaves, but a server with asynchronous registration does)."""

    def __init__(self, client: MlflowClient) -> None:
        self._client = client

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def get_model_version(self, name: str, version: str):
        real = self._client.get_model_version(name, version)
        real._status = "PENDING_REGISTRATION"
        return real


def test_a_version_that_is_not_ready_is_refused(client, model, tmp_path) -> None:
    with pytest.raises(PromotionError, match="PENDING_REGISTRATION, not READY"):
        promote(model, "1", report(tmp_path, model, "1", None), client=_PendingVersions(client))
    assert "champion" not in aliases(client, model)


def test_rollback_restores_the_previous_champion_and_is_idempotent(
    client, model, tmp_path
) -> None:
    with pytest.raises(PromotionError, match="no 'previous_champion' alias"):
        rollback(model, client=client)
    promote(model, "1", report(tmp_path, model, "1", None), client=client)
    promote(model, "2", report(tmp_path, model, "2", "1"), client=client)
    out = rollback(model, client=client)
    assert (out.action, out.champion_before, out.champion_after) == ("rolled back", "2", "1")
    # the aliases tell the story: v1 serves, v2 was taken out; nothing "previous" is left
    assert aliases(client, model) == {"champion": "1", "rolled_back": "2"}
    tags = client.get_model_version(model, "2").tags
    assert tags["mltk.rolled_back_by"] and tags["mltk.rolled_back_at"]
    assert tags["mltk.rolled_back_to"] == "1"
    assert client.get_model_version(model, "1").tags["mltk.replaced_version"] == "2"
    again = rollback(model, client=client)
    assert again.action == "unchanged" and again.champion_after == "1"
    assert again.message.startswith("nothing to roll back to: ")
    assert "v2 was rolled back" in again.message
    assert aliases(client, model) == {"champion": "1", "rolled_back": "2"}  # idempotent
    assert rollback(model, to="3", client=client).champion_after == "3"
    assert aliases(client, model) == {"champion": "3", "rolled_back": "1"}
    # a fixed version promoted again is no longer marked rolled back
    promote(model, "1", report(tmp_path, model, "1", "3"), client=client)
    assert aliases(client, model) == {"champion": "1", "previous_champion": "3"}
    with pytest.raises(TrackingError, match="has no version 8"):
        rollback(model, to="8", client=client)


def test_the_lock_serialises_and_names_its_holder(client, model, tmp_path) -> None:
    path = report(tmp_path, model, "1", None)
    with registry_lock(client, model):
        with pytest.raises(PromotionError, match=r"holds the lock \(.*pid"):
            promote(model, "1", path, client=client, lock_wait=0.5)
        assert "champion" not in aliases(client, model)
        # a promotion that waits gets the lock once it is released
        done: list[object] = []
        waiter = threading.Thread(
            target=lambda: done.append(promote(model, "1", path, client=client, lock_wait=20))
        )
        waiter.start()
        time.sleep(0.5)
        assert not done
    waiter.join(30)
    assert done and aliases(client, model)["champion"] == "1"
    assert LOCK_PREFIX + model not in {m.name for m in client.search_registered_models()}


def test_a_stale_lock_is_broken(client, model, tmp_path) -> None:
    client.create_registered_model(
        LOCK_PREFIX + model, tags={"mltk.lock_holder": "dead", "mltk.lock_since": "0"}
    )
    assert (
        promote(model, "1", report(tmp_path, model, "1", None), client=client).action == "promoted"
    )


def test_candidate_specs() -> None:
    assert parse_candidate("7") == CandidateSpec("7", version="7")
    assert parse_candidate("v12").version == "12"
    assert parse_candidate("challenger").alias == "challenger"
    assert parse_candidate("models:/m/3") == CandidateSpec(
        "models:/m/3", version="3", model_name="m"
    )
    assert parse_candidate("models:/a/b@champion").model_name == "a/b"
    for bad in ("", "latest", "models:/m", "models:/m/x", "two words", "models:/@x"):
        with pytest.raises(ValueError, match="expected a version number"):
            parse_candidate(bad)


def test_registry_resolves_candidate_and_champion(client, model, tmp_path) -> None:
    registry = Registry(model, parse_candidate("challenger"))
    assert registry.info() is None
    assert registry.candidate().version == "1" and registry.champion() is None
    assert registry.info() == {
        "name": model,
        "version": "1",
        "run_id": client.get_model_version(model, "1").run_id,
        "candidate": "challenger",
        "champion_version": None,
    }
    promote(model, "2", report(tmp_path, model, "2", None), client=client)
    later = Registry(model, parse_candidate(f"models:/{model}/3"))
    assert later.candidate().version == "3" and later.champion().version == "2"
    with pytest.raises(TrackingError, match="names model 'x'"):
        resolve(client, model, parse_candidate("models:/x/1"))
    with pytest.raises(
        TrackingError, match=r"no alias 'staging' \(aliases: challenger -> v1, champion -> v2\)"
    ):
        resolve(client, model, parse_candidate("staging"))


def test_cli_refuses_cleanly(client, model, tmp_path, capsys, monkeypatch) -> None:
    path = report(tmp_path, model, "1", None, passed=False)
    assert cli(["promote", "--model", model, "--version", "1", "--gate-report", path]) == 1
    assert "REFUSED: the gate report" in (err := capsys.readouterr().err)
    assert "gate 'auc' failed: 0.6, required >= 0.7" in err
    good = report(tmp_path, model, "1", None)
    assert cli(["promote", "--model", model, "--version", "v1", "--gate-report", good]) == 0
    out = capsys.readouterr().out
    assert "champion before: none" in out and "champion after:  v1" in out
    assert cli(["aliases", "--model", model]) == 0
    assert "champion           v1" in capsys.readouterr().out
    assert cli(["aliases", "--model", model, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"champion": "1"}
    with pytest.raises(SystemExit) as exc:
        cli(["promote", "--model", model, "--version", "one", "--gate-report", good])
    assert exc.value.code == 2
    assert "'one' is not a model version" in capsys.readouterr().err
    # an unreachable server: refused within the timeout, nothing promoted
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    assert cli(["rollback", "--model", model, "--timeout", "2"]) == 1
    assert time.monotonic() - started < 10
    assert "is unreachable (waited at most 2 s)" in capsys.readouterr().err
