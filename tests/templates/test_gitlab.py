"""The GitLab templates: static checks (inputs, job names, rules, the JSON schema of the
merged pipeline) and a real run of a consumer pipeline by gitlab-ci-local (shell
executor) against a real MLflow server: lint -> test -> train -> evaluate -> manual
promote; a failing gate refuses promotion; the manual rollback restores the champion."""

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
TEMPLATES = ROOT / "gitlab_templates"
FIXTURE = ROOT / "tests" / "fixtures" / "ml_repo"
BIN = Path(sys.executable).parent
NAMES = ("lint", "test", "train", "deploy", "monitor")
GLOBAL_KEYWORDS = {
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
}


def gitlab_ci_local() -> Path:
    found = ROOT / ".tools" / "node_modules" / ".bin" / "gitlab-ci-local"
    if not found.exists():
        pytest.fail("gitlab-ci-local is not installed: run `make install-tools`")
    return found


def load(name: str) -> tuple[dict, dict]:
    header, body = yaml.safe_load_all((TEMPLATES / f"{name}.yml").read_text())
    return header, body


@pytest.mark.parametrize("name", NAMES)
def test_template_shape(name) -> None:
    header, body = load(name)
    inputs = header["spec"]["inputs"]
    for key in ("stage", "job_prefix"):
        assert key in inputs and "default" in inputs[key], f"{name}: input {key} with a default"
    for key, spec in inputs.items():
        assert spec.get("description"), f"{name}: input {key} has no description"
    assert not GLOBAL_KEYWORDS & set(
        body
    ), f"{name}: global keywords {GLOBAL_KEYWORDS & set(body)}"
    for job, spec in body.items():
        assert job.startswith("$[[ inputs.job_prefix ]]-"), f"{name}: job {job} lacks the prefix"
        assert spec["stage"] == "$[[ inputs.stage ]]"
        assert "rules" in spec and not {"only", "except"} & set(spec), f"{name}: {job} rules only"
    text = (TEMPLATES / f"{name}.yml").read_text()
    assert "${{" not in text


def test_deploy_is_manual_protected_and_serialised() -> None:
    _, body = load("deploy")
    promote = body["$[[ inputs.job_prefix ]]-promote"]
    rollback = body["$[[ inputs.job_prefix ]]-rollback"]
    for job in (promote, rollback):
        assert any(rule.get("when") == "manual" for rule in job["rules"])
        assert job["environment"]["name"] == "$[[ inputs.environment ]]"
        assert job["resource_group"] == "mltk-deploy-$[[ inputs.model_name ]]"
    model = load("test")[1]["$[[ inputs.job_prefix ]]-model-test"]
    assert model["parallel"]["matrix"][1]["MLTK_DEVICES"] == "cuda"
    # the change decision is made in the job, from mltk_model_paths (one source of truth)
    assert not any("changes" in r for r in model["rules"])
    assert "mlops-testkit changed --since" in "\n".join(model["script"])


@pytest.fixture
def consumer(tmp_path):
    """The fixture ML repository with the templates copied in, a git repo whose origin
    (a local bare clone) has a default branch, as rules:changes needs."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    shutil.copytree(TEMPLATES, repo / "mltk", ignore=shutil.ignore_patterns("*.md"))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }

    def git(*args: str, cwd: Path = repo) -> None:
        subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-qm", "ml repo")
    git("clone", "-q", "--bare", str(repo), str(tmp_path / "origin.git"), cwd=tmp_path)
    git("remote", "add", "origin", str(tmp_path / "origin.git"))
    git("fetch", "-q", "origin")
    git("remote", "set-head", "origin", "main")
    return repo


def run_pipeline(
    repo: Path, *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLTK_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env.update(env_extra or {})
    return subprocess.run(
        [str(gitlab_ci_local()), "--force-shell-executor", "--shell-isolation", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_merged_pipeline_validates_and_templates_can_be_included_twice(consumer) -> None:
    twice = consumer / ".gitlab-ci.yml"
    twice.write_text(
        twice.read_text()
        + '  - local: mltk/test.yml\n    inputs:\n      job_prefix: gpu\n      install: "true"\n'
    )
    preview = run_pipeline(consumer, "--preview")
    assert preview.returncode == 0, preview.stderr
    merged = preview.stdout.split("---", 1)[1]
    jobs = yaml.safe_load(merged)
    assert {"mltk-test", "gpu-test", "mltk-model-test", "gpu-model-test", "mltk-promote"} <= set(
        jobs
    )
    path = consumer / "merged.yml"
    path.write_text(merged)
    check = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_merge_requests_run_model_tests_only_when_model_code_changed(consumer) -> None:
    """The model-test job asks `mlops-testkit changed`, which reads mltk_model_paths from
    the fixture's pytest.ini: a data-only merge request skips the model tests."""

    def merge_request(branch: str, change: str) -> str:
        env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
        for args in (
            ["checkout", "-q", "-b", branch, "main"],
            ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", f"change {change}"],
        ):
            if args[0] == "-c":
                with (consumer / change).open("a") as f:
                    f.write("# changed\n")
            subprocess.run(["git", *args], cwd=consumer, env=env, check=True, capture_output=True)
        mr = ["--variable", "CI_PIPELINE_SOURCE=merge_request_event"]
        mr += ["--variable", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main"]
        listed = run_pipeline(
            consumer, "--list", *mr, "--ignore-predefined-vars", "CI_PIPELINE_SOURCE"
        )
        assert listed.returncode == 0, listed.stderr
        assert "mltk-train" not in listed.stdout  # never in a merge request
        assert "mltk-model-test: [cuda" not in listed.stdout  # no GPU runner tag
        job = run_pipeline(
            consumer,
            "mltk-model-test: [cpu,]",
            *mr,
            "--ignore-predefined-vars",
            "CI_PIPELINE_SOURCE",
        )
        out = job.stdout + job.stderr
        assert job.returncode == 0, out[-3000:]
        return out

    data_only = merge_request("data-fix", "data.py")
    assert "model tests skipped: no model code changed since origin/main" in data_only
    assert "mltk_model_paths in pytest.ini" in data_only and "1 passed" not in data_only
    model = merge_request("model-fix", "model.py")
    assert "skipped" not in model and "1 passed" in model


@pytest.mark.slow
@pytest.mark.xdist_group("mlflow_server")
def test_pipeline_trains_gates_promotes_refuses_and_rolls_back(consumer, mlflow_server) -> None:
    from mlflow import MlflowClient

    server = ["--variable", f"MLFLOW_TRACKING_URI={mlflow_server.uri}"]
    client = MlflowClient(mlflow_server.uri)

    def champion() -> str | None:
        aliases = client.get_registered_model("demo").aliases
        return None if "champion" not in aliases else str(aliases["champion"])

    first = run_pipeline(consumer, *server, "--manual", "mltk-promote")
    out = first.stdout + first.stderr
    assert first.returncode == 0, out[-4000:]
    for job in (
        "mltk-lint",
        "mltk-test",
        "mltk-model-test: [cpu,]",
        "mltk-train",
        "mltk-evaluate",
        "mltk-promote",
    ):
        assert f"PASS  {job}" in out, job
    assert "mltk-model-test: [cuda" not in out  # no GPU runner tag: no CUDA leg
    assert "promoted demo v1 to champion (was none)" in out and champion() == "1"
    assert "ML Test Score:" in out  # the test job's report, score and JSON
    assert (consumer / "reports" / "report.html").exists() and (
        consumer / "reports" / "results.json"
    ).exists()

    second = run_pipeline(
        consumer, *server, "--manual", "mltk-promote", "--variable", "TRAIN_SEED=2"
    )
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    assert champion() == "2"

    bad = run_pipeline(
        consumer, *server, "--manual", "mltk-promote", "--variable", "TRAIN_BAD=true"
    )
    out = bad.stdout + bad.stderr
    assert bad.returncode != 0 and "FAIL  mltk-evaluate" in out
    assert "gate 'accuracy' failed" in out and "PASS  mltk-promote" not in out
    assert champion() == "2"  # the failing gate refused the promotion

    # a skipped gate test: pytest exits 0, the gate report does not pass, no promotion
    skipped = run_pipeline(
        consumer, *server, "--manual", "mltk-promote", "--variable", "GATE_SKIP=true"
    )
    out = skipped.stdout + skipped.stderr
    assert skipped.returncode != 0 and "FAIL  mltk-evaluate" in out, out[-4000:]
    assert "test_accuracy: skipped" in out and "PASS  mltk-promote" not in out
    assert champion() == "2"

    back = run_pipeline(consumer, *server, "--manual", "mltk-rollback", "mltk-rollback")
    out = back.stdout + back.stderr
    assert "rolled demo back to v1 (was v2)" in out, out[-4000:]
    assert champion() == "1"


GIT_IMAGE = re.compile(r"^python:\d+(\.\d+)*(-(bookworm|bullseye|trixie))?$")  # not -slim/-alpine
NEEDS_GIT = re.compile(r"\bgit\b|pre-commit|mlops-testkit changed|affected-tests|python -m pytest")


def test_every_job_that_runs_git_or_pre_commit_has_git_in_its_image() -> None:
    """Shell runners ignore images, so the pipeline tests cannot see a missing git: the
    default image of every job that runs git, pre-commit, the change decision or pytest
    (the gate report records the git sha) must have git, or the job installs it first."""
    for name in NAMES:
        header, body = load(name)
        inputs = header["spec"]["inputs"]
        for job, spec in body.items():
            if "trigger" in spec:
                continue
            script = "\n".join(spec.get("script", []))
            script = re.sub(
                r"\$\[\[ inputs\.(\w+) \]\]",
                lambda m, inputs=inputs: str(inputs[m.group(1)].get("default")),
                script,
            )
            if not NEEDS_GIT.search(script):
                continue
            image = re.sub(
                r"\$\[\[ inputs\.(\w+) \]\]",
                lambda m, inputs=inputs: str(inputs[m.group(1)].get("default")),
                str(spec.get("image", "")),
            )
            installs = re.search(r"(apt-get|apk) .*install[^\n]*\bgit\b", script)
            assert (
                GIT_IMAGE.match(image) or installs
            ), f"{name}.yml {job}: image {image!r} has no git"
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        for job, spec in doc["jobs"].items():
            if "uses" in spec:  # calls a reusable workflow, checked itself
                continue
            labels = str(spec.get("runs-on", ""))
            assert (
                "ubuntu-" in labels or "matrix.runs-on" in labels
            ), f"{path.name} {job}: {labels}"
    matrix = (ROOT / ".github" / "workflows" / "mlops-test.yml").read_text()
    assert '"runs-on": ["ubuntu-latest"]' in matrix  # the CPU leg; a GPU leg is the user's runner
