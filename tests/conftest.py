"""Shared helpers for the plugin's own tests.

In-process ``pytester`` runs are the default; anything that imports numpy or torch
runs in a subprocess (``runpytest_subprocess``), since in-process runs restore
``sys.modules`` afterwards and torch cannot be imported twice.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]
# fixtures/ holds small consumer repositories whose tests run inside them, not here
collect_ignore_glob = ["fixtures/*"]


@pytest.fixture(autouse=True)
def _clean_mltk_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs must not see MLTK_* variables of the outer environment."""
    for name in list(os.environ):
        if name.startswith("MLTK_"):
            monkeypatch.delenv(name)
    # init never asks a package index from the suite: the git pin, whatever the network
    monkeypatch.setenv("MLTK_INDEX_URL", "none")


@pytest.fixture
def git_repo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """``pytester.path`` as a git repository; returns a function running git there."""
    for key, value in {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }.items():
        monkeypatch.setenv(key, value)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=pytester.path, check=True, capture_output=True, text=True
        ).stdout

    git("init", "-q", "-b", "main")
    return git


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real ``mlflow server`` (sqlite backend) on 127.0.0.1, stopped after the session.
    Tests that use it are in the xdist group "mlflow_server", so one worker starts it."""
    pytest.importorskip("mlflow")
    from mlflow_server import MlflowServer

    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield server
    server.stop()


def _local_spark():
    from pyspark.sql import SparkSession

    # the executors' Python is this one, with numpy and pyarrow: the drift bins' Arrow pass
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("mlops-testkit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


@pytest.fixture(scope="session")
def _spark_sessions():
    """The local Spark sessions of this worker: one, unless a test stopped it (the test of
    a stopped session's message does), after which the next test gets a fresh one."""
    pytest.importorskip("pyspark")
    import shutil

    if shutil.which("java") is None:
        pytest.skip(
            "Spark needs Java: make install-java (apt-get install openjdk-17-jre-headless)"
        )
    sessions: list = []
    yield sessions
    for session in sessions[-1:]:
        session.stop()


@pytest.fixture
def spark(_spark_sessions):
    """One real local Spark session (``local[2]``, no UI) shared by the tests of a worker,
    stopped at the end. Tests that use it are marked slow and put in the xdist group
    "spark", so one worker starts it. Needs pyspark and Java (``make install-java``)."""
    if not _spark_sessions or _spark_sessions[-1].sparkContext._jsc is None:
        _spark_sessions.append(_local_spark())
    return _spark_sessions[-1]
