"""Dependency changes between the champion and the candidate (mon-1)."""

from __future__ import annotations

import json
import sys
from importlib import metadata

import pytest

from mlops_testkit import MltkUsageError, assert_dependencies_unchanged, dependency_diff
from mlops_testkit.registry.deps import classify, environment_of

CHAMPION = ["torch==2.13.0", "numpy==2.1.0", "pandas==3.0.1", "mlflow==3.17.2"]


def test_classes_of_change() -> None:
    assert classify("==2.13.0", "==3.0.0") == "major"
    assert classify("==2.13.0", "==2.14.0") == "minor"
    assert classify("==2.13.0", "==2.13.1") == "patch"
    assert classify("==2.13", "==2.13.0rc1") == "patch"
    assert classify("==1!1.0", "==1.0") == "major"  # epochs
    assert classify(">=1.24", ">=2") == "changed"  # not exact pins
    assert classify("==2.0", "==2.0.0") == "unchanged"


def test_torch_2_in_the_champion_and_3_in_the_candidate_fails() -> None:
    candidate = ["torch==3.0.1", "numpy==2.1.2", "pandas==3.1.0", "mlflow==3.17.2", "polars==1.0"]
    with pytest.raises(AssertionError) as exc:
        assert_dependencies_unchanged(candidate, CHAMPION)
    text = str(exc.value)
    assert "1 major change(s) not allowed: torch" in text
    lines = text.split("\n\n")[1].splitlines()
    assert lines[1].split() == ["torch", "==2.13.0", "==3.0.1", "major", "FAIL"]
    diff = dependency_diff(candidate, CHAMPION)
    assert {r["package"]: r["change"] for r in diff.rows} == {
        "torch": "major",
        "pandas": "minor",
        "numpy": "patch",
        "polars": "added",
    }
    assert diff.unchanged == 1 and diff.compared == 4
    assert assert_dependencies_unchanged(candidate, CHAMPION, allow=["Torch"]).passed
    json.dumps(diff.to_dict())
    assert "| torch | ==2.13.0 | ==3.0.1 | major | FAIL |" in diff.markdown()


def test_removed_packages_are_listed_and_names_are_normalised() -> None:
    diff = dependency_diff(["Scikit_Learn==1.9.1"], ["scikit-learn==1.9.1", "torch==2.13.0"])
    assert diff.passed and diff.rows == [
        {"package": "torch", "champion": "==2.13.0", "candidate": "-", "change": "removed",
         "verdict": "ok"}
    ]  # fmt: skip


def test_against_the_running_environment() -> None:
    pytest_version = metadata.version("pytest")
    python = "{}.{}.{}".format(*sys.version_info[:3])
    same = dependency_diff([f"pytest=={pytest_version}", f"python=={python}"], "env")
    assert same.passed and same.rows == [] and same.champion == "running environment"
    spec = dependency_diff(["pytest>=8", "pytest-is-not-installed==1.0"], "env")
    rows = {r["package"]: r for r in spec.rows}
    assert rows["pytest-is-not-installed"]["change"] == "unsatisfied"
    assert "pytest" not in rows  # >=8 is satisfied by the installed pytest
    old = dependency_diff(["pytest==1.0"], "env")
    assert not old.passed and old.rows[0]["change"] == "major"


def test_model_directories_and_files(tmp_path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "requirements.txt").write_text(
        "mlflow==3.17.2\n# a comment\ntorch==2.13.0\n-r x.txt\n"
    )
    (model / "python_env.yaml").write_text("python: 3.11.7\nbuild_dependencies:\n- pip\n")
    env = environment_of(model)
    assert env.packages == {"mlflow": "==3.17.2", "torch": "==2.13.0", "python": "==3.11.7"}
    conda = tmp_path / "conda.yaml"
    conda.write_text(
        "dependencies:\n- python=3.12.1\n- pip<=26\n- pip:\n  - mlflow==3.17.2\n  - torch==3.0.0\n"
    )
    diff = dependency_diff(conda, model)
    assert {r["package"]: r["change"] for r in diff.rows} == {
        "torch": "major",
        "python": "minor",
        "pip": "added",
    }
    empty = tmp_path / "empty"
    empty.mkdir()
    bare = dependency_diff(empty, model)
    assert not bare.passed and "stores no requirements.txt or conda.yaml" in bare.headline


def test_nothing_pinned_never_passes() -> None:
    diff = dependency_diff(["torch", "numpy>=1"], ["torch", "numpy>=1"])
    assert not diff.passed and "nothing to compare" in diff.headline


def test_bad_input_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(MltkUsageError, match="cannot read dependencies from a int"):
        dependency_diff(3, CHAMPION)
    with pytest.raises(MltkUsageError, match="is neither a models:/ URI"):
        dependency_diff(str(tmp_path / "missing.txt"), CHAMPION)
    with pytest.raises(MltkUsageError, match="cannot both be the running environment"):
        dependency_diff("env", "env")
    with pytest.raises(MltkUsageError, match="not a model URI"):
        dependency_diff("models:/x", CHAMPION)


@pytest.mark.slow
def test_registry_versions_and_the_cli(tmp_path, monkeypatch, capsys) -> None:
    """Two versions logged to a local MLflow store: torch 2.x (champion), 3.x (challenger)."""
    pytest.importorskip("mlflow")
    import mlflow.pyfunc

    from mlops_testkit.cli import main

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.chdir(tmp_path)

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input: list[str], params=None) -> list[str]:
            return model_input

    client = mlflow.MlflowClient()
    for alias, torch in (("champion", "2.13.0"), ("challenger", "3.0.1")):
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(
                name="model", python_model=Echo(), pip_requirements=[f"torch=={torch}", "numpy"]
            )
        version = mlflow.register_model(info.model_uri, "scorer")
        client.set_registered_model_alias("scorer", alias, version.version)

    diff = dependency_diff("models:/scorer@challenger", "models:/scorer/1")
    assert diff.candidate == "scorer v2 (challenger)" and diff.champion == "scorer v1 (champion)"
    assert [(r["package"], r["change"]) for r in diff.rows] == [("torch", "major")]
    assert diff.compared >= 2  # torch, mlflow (pinned by MLflow), python

    assert main(["deps-diff", "--model", "scorer", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Dependency changes: scorer v2 (challenger) against scorer v1")
    assert main(["deps-diff", "--model", "scorer", "--check"]) == 1
    assert main(["deps-diff", "--model", "scorer", "--check", "--allow", "torch"]) == 0
    assert main(["deps-diff", "--model", "scorer", "--against", "previous_champion"]) == 0
    assert "nothing to compare" in capsys.readouterr().out
    assert main(["deps-diff", "--model", "nope"]) == 1
    assert "REFUSED" in capsys.readouterr().err
