"""The champion judged with its own code: a registered model whose ``code_paths`` module
differs from the working tree's runs in a process of its own, behind the same predict.

The registry runs in a subprocess against MLflow's embedded store in a temporary folder
(see test_tracking.py for why not pytester)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from mlops_testkit.registry.isolation import conflicts, packaged_modules, same_code

MLMODEL = "flavors:\n  python_function:\n    code: code\n    loader_module: mlflow.pyfunc.model\n"


def _model_dir(root: Path, source: str) -> Path:
    model = root / "model"
    (model / "code" / "pkg_iso").mkdir(parents=True)
    (model / "code" / "pkg_iso" / "__init__.py").write_text("")
    (model / "code" / "pkg_iso" / "serve.py").write_text(source)
    (model / "code" / "pkg_iso" / "__pycache__").mkdir()
    (model / "code" / "pkg_iso" / "__pycache__" / "serve.cpython-311.pyc").write_bytes(b"x")
    (model / "MLmodel").write_text(MLMODEL)
    return model


def test_a_packaged_module_that_differs_from_the_imported_one_is_a_conflict(
    tmp_path, monkeypatch
) -> None:
    model = _model_dir(tmp_path, "def f(t):\n    return t.lower()\n")
    assert set(packaged_modules(model)) == {"pkg_iso"}
    tree = tmp_path / "tree" / "pkg_iso"
    tree.mkdir(parents=True)
    (tree / "__init__.py").write_text("")
    (tree / "serve.py").write_text("def f(t):\n    return t.upper()\n")
    fake = types.ModuleType("pkg_iso")
    fake.__path__ = [str(tree)]
    monkeypatch.setitem(sys.modules, "pkg_iso", fake)
    (found,) = conflicts(model)
    assert found.module == "pkg_iso" and found.found == tree
    assert "pkg_iso" in found.describe() and str(tree) in found.describe()
    # the same bytes (caches aside) are no conflict: the model runs in-process
    (tree / "serve.py").write_text("def f(t):\n    return t.lower()\n")
    assert same_code(model / "code" / "pkg_iso", tree) and conflicts(model) == []
    # a file only one side has is a difference
    (tree / "extra.py").write_text("")
    assert conflicts(model) != []


def test_a_module_nobody_imports_from_elsewhere_is_no_conflict(tmp_path) -> None:
    model = _model_dir(tmp_path, "X = 1\n")
    assert "pkg_iso" not in sys.modules and conflicts(model) == []


CODE_V1 = "def normalise(text):\n    return text.lower()\n"
CODE_V2 = "def normalise(text):\n    return text.upper()\n"
MODEL_PY = """
import mlflow.pyfunc
import pandas as pd


class Scorer(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        from textclf_iso.serve import normalise

        return pd.Series([normalise(t) for t in model_input["text"]])
"""
REGISTER = """
import sys
import mlflow
import pandas as pd
from textclf_iso.model import Scorer

client = mlflow.MlflowClient()
with mlflow.start_run():
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=Scorer(),
        code_paths=["textclf_iso"],
        pip_requirements=["pandas"],
        input_example=pd.DataFrame({"text": ["Hello"]}),
    )
version = mlflow.register_model(info.model_uri, "textclf", await_registration_for=60)
client.set_registered_model_alias("textclf", sys.argv[1], version.version)
print(version.version)
"""
SUITE = """
import pandas as pd
import pytest

from mlops_testkit import assert_metric
from mlops_testkit.registry.tracking import TrackingError
from textclf_iso.serve import normalise  # the working tree's code: the candidate's

DATA = pd.DataFrame({"text": ["Hello World"]})


@pytest.mark.gate
def test_each_model_runs_its_own_code(candidate, champion):
    assert normalise("Hello") == "HELLO"
    assert list(candidate.predict(DATA)) == ["HELLO WORLD"] and not candidate.isolated
    assert list(champion.predict(DATA)) == ["hello world"]  # v1's code, not the tree's
    assert champion.isolated and [c.module for c in champion.conflicts] == ["textclf_iso"]
    assert normalise("Hello") == "HELLO"  # loading the champion changed nothing here
    with pytest.raises(TrackingError, match="textclf_iso"):
        champion.native
    assert_metric("agreement", 0.0, max=1.0)
"""


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.slow
def test_the_champion_is_judged_with_its_registered_code(tmp_path) -> None:
    pytest.importorskip("mlflow")
    project = tmp_path / "repo"
    pkg = project / "textclf_iso"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "model.py").write_text(MODEL_PY)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTK_", "PYTEST_"))}
    env.update(
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
        MLFLOW_DISABLE_TELEMETRY="true",
        PYTHONPATH=str(project),
    )
    for code, alias in ((CODE_V1, "champion"), (CODE_V2, "challenger")):
        (pkg / "serve.py").write_text(code)
        out = _run([sys.executable, "-c", REGISTER, alias], project, env)
        assert out.returncode == 0, out.stderr[-3000:]
    (project / "test_models.py").write_text(SUITE)
    (project / "pytest.ini").write_text(textwrap.dedent("""
        [pytest]
        pythonpath = .
        mltk_model_name = textclf
        filterwarnings = ignore::DeprecationWarning
        """))
    env.pop("PYTHONPATH")  # the suite finds textclf_iso through pytest's pythonpath
    out = _run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--mltk-gate-report", "g.json"],
        project,
        env,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    report = json.loads((project / "g.json").read_text())
    assert report["passed"] is True and report["model"]["champion_version"] == "1"
