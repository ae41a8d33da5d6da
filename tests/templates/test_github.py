"""The GitHub composite actions and reusable workflows: the linters GitHub users run
(actionlint, zizmor --offline, GitHub's JSON schemas), structural rules those tools do
not check, the README tables, and a real run of the composite actions by act (host
mode, offline) against a real MLflow server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / "github_actions"
BIN = Path(sys.executable).parent
REUSABLE = ("mlops-lint", "mlops-test", "mlops-train", "mlops-deploy", "mlops-monitor")
COMPOSITE = ("setup", "lint", "test", "train", "promote", "rollback")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed: make install (the dev extra)")
    return str(path)


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data:  # YAML 1.1 reads the key `on` as True
        data["on"] = data.pop(True)
    return data


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def action_files() -> list[Path]:
    return [ACTIONS / name / "action.yml" for name in COMPOSITE]


def test_actionlint_is_clean() -> None:
    out = subprocess.run(
        [tool("actionlint"), *map(str, workflow_files())], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_zizmor_finds_nothing() -> None:
    out = subprocess.run(
        [tool("zizmor"), "--offline", str(WORKFLOWS), str(ACTIONS)], capture_output=True, text=True
    )
    assert out.returncode == 0 and "No findings to report" in out.stdout + out.stderr, (
        out.stdout + out.stderr
    )


def test_github_schemas() -> None:
    for schema, files in (
        ("vendor.github-workflows", workflow_files()),
        ("vendor.github-actions", action_files()),
    ):
        out = subprocess.run(
            [tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stdout + out.stderr


def _steps(doc: dict) -> list[dict]:
    if "runs" in doc:
        return doc["runs"].get("steps", [])
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


@pytest.mark.parametrize(
    "path", [*workflow_files(), *action_files()], ids=lambda p: p.parent.name + "/" + p.name
)
def test_conventions(path: Path) -> None:
    doc = load(path)
    for step in _steps(doc):
        uses = step.get("uses", "")
        if uses and not uses.startswith("./"):
            assert PINNED.match(uses), f"{path.name}: {uses} is not pinned to a full commit SHA"
        if uses.startswith("actions/checkout@"):
            assert (
                step.get("with", {}).get("persist-credentials") is False
            ), f"{path.name}: checkout keeps credentials"
        assert "${{" not in step.get(
            "run", ""
        ), f"{path.name}: an expression inside run: ({step.get('name')})"
    text = path.read_text()
    for line in text.splitlines():  # the version comment next to every pinned SHA
        if re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40}", line):
            assert re.search(r"# v\d", line), f"{path.name}: no version comment: {line.strip()}"
    assert "secrets: inherit" not in text
    if "jobs" in doc:
        assert doc.get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"
        for name, job in doc["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name} grants no explicit permissions"
            if "uses" not in job:  # a job calling a reusable workflow cannot set a timeout
                assert "timeout-minutes" in job, f"{path.name}: job {name} has no timeout"
    else:
        for name, spec in doc.get("inputs", {}).items():
            assert spec.get("description"), f"{path.name}: input {name} has no description"


@pytest.mark.parametrize("name", REUSABLE)
def test_reusable_workflows(name: str) -> None:
    path = WORKFLOWS / f"{name}.yml"  # GitHub requires them directly in .github/workflows
    doc = load(path)
    call = doc["on"]["workflow_call"]
    for key, spec in call.get("inputs", {}).items():
        assert spec.get("description") and spec.get("type"), f"{name}: input {key}"
    for key, spec in (call.get("secrets") or {}).items():
        assert spec.get("description"), f"{name}: secret {key}"
    if name != "mlops-lint":  # lint passes or fails; the others hand results on
        assert call.get("outputs"), f"{name}: declares no outputs"
    group = str((doc.get("concurrency") or {}).get("group", ""))
    assert "github.workflow" not in group  # in a called workflow it names the caller
    for job in doc["jobs"].values():
        assert "github.workflow" not in str((job.get("concurrency") or {}).get("group", ""))


def test_test_workflow_matrix_and_deploy_rules() -> None:
    test = load(WORKFLOWS / "mlops-test.yml")["jobs"]
    assert "changes" in test and test["model-test"]["needs"] == "changes"
    assert test["model-test"]["strategy"]["fail-fast"] is False
    assert test["mltk-tests-passed"]["if"] == "always()"
    deploy = load(WORKFLOWS / "mlops-deploy.yml")
    assert deploy["concurrency"] == {"group": "mltk-deploy", "cancel-in-progress": False}
    assert deploy["jobs"]["promote"]["environment"] == "${{ inputs.environment }}"
    assert "rollback" in deploy["jobs"]
    train = load(WORKFLOWS / "mlops-train.yml")["jobs"]["train"]
    assert "pull_request" in train["if"] and "cache" not in str(train["steps"])


def _readme_inputs(readme: str, heading: str) -> set[str]:
    section = readme.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([\w-]+)` \|", section, flags=re.M))


def test_readme_tables_match_the_inputs() -> None:
    readme = (ACTIONS / "README.md").read_text()
    for name in COMPOSITE:
        inputs = set(load(ACTIONS / name / "action.yml").get("inputs", {}))
        assert _readme_inputs(readme, f"`{name}`") == inputs, name
    for name in REUSABLE:
        call = load(WORKFLOWS / f"{name}.yml")["on"]["workflow_call"]
        assert _readme_inputs(readme, f"`{name}.yml`") == set(call.get("inputs", {})), name
    gitlab = (ROOT / "gitlab_templates" / "README.md").read_text()
    for name in ("lint", "test", "train", "deploy", "monitor"):
        header = next(yaml.safe_load_all((ROOT / "gitlab_templates" / f"{name}.yml").read_text()))
        assert _readme_inputs(gitlab, f"`{name}.yml`") == set(header["spec"]["inputs"]), name


@pytest.mark.slow
@pytest.mark.xdist_group("mlflow_server")
def test_act_runs_the_composite_actions(tmp_path, mlflow_server) -> None:
    from mlflow import MlflowClient

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "tests" / "fixtures" / "ml_repo", repo)
    shutil.copytree(ACTIONS, repo / "mltk-actions", ignore=shutil.ignore_patterns("*.md"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLTK_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env['PATH']}",
        MLFLOW_DISABLE_TELEMETRY="true",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@e",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@e",
    )
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    artifacts = tmp_path / "artifacts"
    from mlops_testkit.ci.local import STAND_IN_DIR

    stub = STAND_IN_DIR / "upload-artifact"  # the stand-in mlops-testkit ci-local maps

    def act(*extra: str) -> str:
        cmd = [
            tool("act"),
            "push",
            "-P",
            "ubuntu-latest=-self-hosted",
            "--action-offline-mode",
            "--cache-server-addr",
            "127.0.0.1",
            "--artifact-server-addr",
            "127.0.0.1",
            "--action-cache-path",
            str(tmp_path / "act-cache"),
            "--local-repository",
            f"actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02={stub}",
            "--env",
            f"MLFLOW_TRACKING_URI={mlflow_server.uri}",
            "--env",
            f"MLTK_ARTIFACTS={artifacts}",
            *extra,
        ]
        out = subprocess.run(
            cmd,
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
        text = out.stdout + out.stderr
        assert out.returncode == 0, text[-5000:]
        return text

    first = act()
    trained = re.search(r"mltk-outputs trained=(\d+) promoted=(\d+) rolled-back=(\S*)", first)
    assert trained and trained.group(1) == trained.group(2) and trained.group(3) == "", first[
        -3000:
    ]
    uploaded = artifacts / "unit-reports"  # what the test action uploads
    assert {"junit.xml", "gate-report.json", "report.md", "results.json"} <= {
        p.name for p in uploaded.iterdir()
    }
    assert "## ML Test Score" in (uploaded / "report.md").read_text()
    second = act("--env", "MLTK_ROLLBACK=true", "--env", "TRAIN_SEED=2")
    again = re.search(r"mltk-outputs trained=(\d+) promoted=(\d+) rolled-back=(\d+)", second)
    assert again and again.group(3) == trained.group(1), second[-3000:]
    aliases = MlflowClient(mlflow_server.uri).get_registered_model("demo-gh").aliases
    assert str(aliases["champion"]) == trained.group(1)
