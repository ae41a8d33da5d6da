"""Staleness: a 400-day-old champion fails assert_model_fresh (a real MLflow registry in
a temporary sqlite store, through the ``champion`` fixture as users write it), and
assert_staleness_impact scores one model on successive periods with intervals."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

import pytest

np = pytest.importorskip("numpy")

from mlops_testkit import (
    MltkUsageError,
    assert_model_fresh,
    assert_staleness_impact,
    freshness_report,
    staleness_report,
)
from mlops_testkit.reporting.results import _CURRENT, Recorder, recording, renderer_for

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
DAY_MS = 86_400_000


def ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


# --- freshness without a registry -----------------------------------------------------------


def test_a_training_time_judged_against_an_injected_now() -> None:
    r = assert_model_fresh(NOW - dt.timedelta(days=30), max_age_days=90, now=NOW)
    assert r.passed and r.value == pytest.approx(30) and r.kind == "freshness"
    with pytest.raises(AssertionError, match=r"failed: 400, required age <= 365 days"):
        assert_model_fresh(NOW - dt.timedelta(days=400), max_age_days=365, now=NOW)
    naive = dt.datetime(2025, 5, 1)  # naive datetimes are UTC
    assert freshness_report(naive, max_age_days=90, now=NOW).value == pytest.approx(31)


def test_a_time_in_the_future_fails() -> None:
    r = freshness_report(NOW + dt.timedelta(days=3), max_age_days=90, now=NOW)
    assert not r.passed and "in the future" in r.details["problem"]


def test_no_champion_yet_skips() -> None:
    with pytest.raises(pytest.skip.Exception, match="no champion yet"):
        assert_model_fresh(None, max_age_days=30)


@pytest.mark.parametrize(
    ("model", "kwargs", "message"),
    [
        (NOW, {"max_age_days": 0}, "max_age_days must be > 0"),
        (NOW, {"max_age_days": float("nan")}, "max_age_days must be a finite number"),
        (NOW, {"max_age_days": 30, "by": "deploy"}, "by must be one of auto, training"),
        (NOW, {"max_age_days": 30, "now": "2025-01-01"}, "now must be a datetime"),
        ("models:/m/1", {"max_age_days": 30}, "model must be a registry model"),
    ],
)
def test_bad_input_names_the_argument(model, kwargs, message) -> None:
    with pytest.raises(MltkUsageError, match=message):
        assert_model_fresh(model, **kwargs)


# --- freshness against a real registry --------------------------------------------------------


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """An embedded MLflow store: model 'm' v1 (champion) trained 400 days before NOW,
    v2 (challenger) trained 10 days before NOW; both registered today."""
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    client = mlflow.MlflowClient(uri)
    client.create_registered_model("m")
    for days in (400, 10):
        start = ms(NOW) - days * DAY_MS
        run = client.create_run("0", start_time=start - 3_600_000)
        client.set_terminated(run.info.run_id, end_time=start)
        client.create_model_version(
            "m", source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )
    client.set_registered_model_alias("m", "champion", "1")
    client.set_registered_model_alias("m", "challenger", "2")
    return client


@pytest.mark.slow
def test_a_400_day_old_champion_fails(registry) -> None:
    from mlops_testkit.registry.tracking import RegistryModel

    champion = RegistryModel("m", "1", run_id=registry.get_model_version("m", "1").run_id)
    with pytest.raises(AssertionError, match=r"gate 'fresh: m v1' failed: 400, required") as e:
        assert_model_fresh(champion, max_age_days=365, now=NOW)
    assert "retrain" in str(e.value)
    fresh = RegistryModel("m", "2", run_id=registry.get_model_version("m", "2").run_id)
    r = assert_model_fresh(fresh, max_age_days=365, now=NOW)
    assert r.details["basis"] == "training" and r.value == pytest.approx(10)
    # registered today: by registration time the old champion is fresh
    assert freshness_report(champion, max_age_days=365, by="registration").passed
    # an MLflow ModelVersion works as it is, and a version without a run falls back to
    # its registration time
    version = registry.get_model_version("m", "1")
    assert not freshness_report(version, max_age_days=365, now=NOW).passed
    bare = RegistryModel("m", "2")
    r = freshness_report(bare, max_age_days=1)
    assert r.details["basis"] == "registration" and r.passed and r.value < 0.1


@pytest.mark.slow
def test_the_champion_fixture_fails_freshness_in_a_users_run(registry, tmp_path) -> None:
    (tmp_path / "test_monitor.py").write_text(textwrap.dedent(f"""
            import datetime as dt
            import pytest
            from mlops_testkit import assert_model_fresh

            NOW = dt.datetime.fromisoformat("{NOW.isoformat()}")

            @pytest.mark.gate
            def test_champion_is_fresh(champion):
                assert_model_fresh(champion, max_age_days=365, now=NOW)

            @pytest.mark.gate
            def test_candidate_is_fresh(candidate):
                assert_model_fresh(candidate, max_age_days=365, now=NOW)
            """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_monitor.py"),
            *("--mltk-model-name=m", "--mltk-score", "-W", "ignore::DeprecationWarning"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "1 failed, 1 passed" in out.splitlines()[-1], out
    assert "gate 'fresh: m v1' failed: 400" in out


# --- staleness impact -----------------------------------------------------------------------


class Model:
    """Learned the rule y = x > 0; the world drifts to y = x > shift."""

    def predict(self, X):
        return (np.asarray(X)[:, 0] > 0).astype(int)


def quarters(shifts, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for i, shift in enumerate(shifts):
        x = rng.normal(size=(n, 1))
        y = (x[:, 0] + rng.normal(0, 0.3, n) > shift).astype(int)
        out[f"2024-Q{i + 1}"] = (x, y)
    return out


def test_a_model_that_decays_fails_and_a_stable_one_passes() -> None:
    r = staleness_report(Model(), quarters([0, 0.3, 0.6, 1.0]), metric="accuracy")
    assert [row["period"] for row in r.rows] == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    decays = [row["decay"] for row in r.rows]
    assert decays[0] == 0 and decays == sorted(decays) and decays[-1] > 0.2
    for row in r.rows:
        assert row["ci_low"] <= row["accuracy"] <= row["ci_high"]
    assert r.passed and r.threshold == "measured"  # no bar: the impact is only measured
    with pytest.raises(AssertionError, match=r"decay from '2024-Q1' to '2024-Q4' <= 0\.05"):
        assert_staleness_impact(Model(), quarters([0, 0.3, 0.6, 1.0]), metric="accuracy",
                                max_decay=0.05)  # fmt: skip
    assert assert_staleness_impact(
        Model(), quarters([0, 0, 0, 0]), metric="accuracy", max_decay=0.02
    ).passed


def test_a_callable_model_and_a_non_decomposable_metric() -> None:
    def scores(X):
        return np.asarray(X)[:, 0]

    r = staleness_report(scores, quarters([0, 1.0], n=500), metric="roc_auc", n_boot=200)
    assert r.details["metric"] == "roc_auc" and r.rows[1]["decay"] > 0.0
    lo, hi = r.details["decay_ci"]
    assert lo <= r.value <= hi


@pytest.mark.parametrize(
    ("model", "data", "kwargs", "message"),
    [
        (Model(), {"q1": (np.zeros((5, 1)), [0] * 5)}, {}, "must map >= 2 periods"),
        (Model(), [(1, 2), (3, 4)], {}, "datasets_by_period must map"),
        (Model(), {"a": (np.zeros((5, 1)), [0] * 5), "b": 3}, {}, r"\['b'\] must be a pair"),
        (None, {}, {}, "model is None"),
        (42, quarters([0, 0], n=50), {}, "model must have predict"),
        (Model(), quarters([0, 0], n=50), {"metric": "auc"}, "unknown metric 'auc'"),
        (Model(), quarters([0, 0], n=50), {"max_decay": None}, "give max_decay="),
        (Model(), quarters([0, 0], n=29), {}, r"\['2024-Q1'\] has 29 example\(s\); an interval"),
        (Model(), quarters([0, 0], n=50), {"seed": -1}, "seed must be an integer from 0"),
        (Model(), quarters([0, 0], n=50), {"max_decay": 1.0}, "decay of 1 or more could never"),
        (lambda X: np.asarray(X)[:, 0], quarters([0, 0], n=50), {}, "found scores"),
    ],
)
def test_staleness_bad_input_names_the_argument(model, data, kwargs, message) -> None:
    args = {"metric": "accuracy", "max_decay": 0.05}
    args.update(kwargs)
    with pytest.raises(MltkUsageError, match=message):
        assert_staleness_impact(model, data, **args)


def test_recorded_with_model_4_and_mon_4() -> None:
    recorder = Recorder("t::test_stale")
    token = recording(recorder)
    try:
        assert_staleness_impact(Model(), quarters([0, 0]), metric="accuracy", max_decay=0.05)
        assert_model_fresh(NOW, max_age_days=30, now=NOW)
    finally:
        _CURRENT.reset(token)
    stale, fresh = recorder.results
    assert stale["kind"] == "staleness" and stale["items"] == ["model-4"]
    assert fresh["kind"] == "freshness" and fresh["items"] == ["mon-4"]
    (section,) = renderer_for(stale).sections([stale])
    assert section.header[0] == "period" and len(section.table) == 2
    (section,) = renderer_for(fresh).sections([fresh])
    assert section.table[0][1] == "pass"
