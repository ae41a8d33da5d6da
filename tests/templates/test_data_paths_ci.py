"""The CI templates pass the data paths through: a merge request / pull request that only
changes a DVC-tracked dataset runs the model tests, through the ``data_paths`` input of the
GitLab test include (run by gitlab-ci-local) and the ``data-paths`` input of the reusable
GitHub test workflow (its decide step run by bash, as the runner would), each defaulting
to ``mltk_data_paths`` of the pytest configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

from test_gitlab import (
    consumer,  # noqa: F401  (the fixture, through ml_repo below)
    run_pipeline,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@e",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@e",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


@pytest.fixture
def ml_repo(request: pytest.FixtureRequest) -> Path:
    """test_gitlab's consumer: tests/fixtures/ml_repo with the GitLab templates in mltk/,
    a git repository whose origin (a local bare clone) has a default branch."""
    return request.getfixturevalue("consumer")


def pointer(md5: str) -> str:
    """data/train.csv.dvc as ``dvc add`` writes it (DVC 3)."""
    return f"outs:\n- md5: {md5}\n  size: 20\n  hash: md5\n  path: train.csv\n"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def with_dataset(repo: Path, ini_data_paths: bool) -> None:
    """main gains a DVC-tracked dataset (pushed to origin); a branch changes only it."""
    (repo / "data").mkdir()
    (repo / "data" / "train.csv.dvc").write_text(pointer("a" * 32))
    if ini_data_paths:
        ini = repo / "pytest.ini"
        ini.write_text(
            ini.read_text().replace("[pytest]\n", "[pytest]\nmltk_data_paths = data/**\n")
        )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a dataset tracked by DVC")
    git(repo, "push", "-q", "origin", "main")
    git(repo, "checkout", "-q", "-b", "new-data")
    (repo / "data" / "train.csv.dvc").write_text(pointer("b" * 32))
    git(repo, "commit", "-qam", "dvc add data/train.csv (new rows)")


@pytest.mark.slow
@pytest.mark.parametrize("source", ["pytest.ini", "input"])
def test_gitlab_data_only_merge_request_runs_the_model_tests(ml_repo, source: str) -> None:
    with_dataset(ml_repo, ini_data_paths=source == "pytest.ini")
    if source == "input":
        ci = ml_repo / ".gitlab-ci.yml"
        text = ci.read_text()
        anchor = "      pytest_args: -p no:cacheprovider\n"
        assert anchor in text
        ci.write_text(text.replace(anchor, anchor + '      data_paths: "data/**"\n'))
    mr = ["--variable", "CI_PIPELINE_SOURCE=merge_request_event"]
    mr += ["--variable", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main"]
    job = run_pipeline(
        ml_repo,
        "mltk-model-test: [cpu,]",
        *mr,
        "--ignore-predefined-vars",
        "CI_PIPELINE_SOURCE",
    )
    out = job.stdout + job.stderr
    assert job.returncode == 0, out[-3000:]
    assert "model tests skipped" not in out and "1 passed" in out, out[-3000:]
    assert "data/train.csv: modified (via data/train.csv.dvc, md5 aaaaaaaa -> bbbbbbbb)" in out
    where = "--data-paths" if source == "input" else "mltk_data_paths in pytest.ini"
    assert f"data paths from {where}" in out


def decide_step() -> tuple[str, dict[str, str]]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "mlops-test.yml").read_text())
    step = next(s for s in workflow["jobs"]["changes"]["steps"] if s.get("id") == "decide")
    return step["run"], step["env"]


def test_github_workflow_passes_data_paths(ml_repo, tmp_path: Path) -> None:
    """The decide step of the reusable workflow, run by bash with the env the runner
    would give it: a data-only pull request sets model-tests=true, with or without the
    data-paths input (then mltk_data_paths of pytest.ini)."""
    script, env_spec = decide_step()
    assert env_spec["MLTK_DATA"] == "${{ inputs.data-paths }}"
    for data_input, ini in (("data/**", False), ("", True), ("", False)):
        repo = tmp_path / f"case-{len(data_input)}-{ini}"
        subprocess.run(["cp", "-r", str(ml_repo), str(repo)], check=True)
        git(tmp_path, "clone", "-q", "--bare", str(repo), str(repo) + ".git")
        git(repo, "remote", "set-url", "origin", str(repo) + ".git")
        git(repo, "fetch", "-q", "origin")
        with_dataset(repo, ini_data_paths=ini)
        output = repo / "github-output"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLTK_"))}
        env.update(
            PATH=f"{BIN}{os.pathsep}{env['PATH']}",
            MLTK_BASE="main",
            MLTK_PATHS="",
            MLTK_DATA=data_input,
            MLTK_GPU_LABELS="",
            MLTK_INSTALL="true",
            GITHUB_OUTPUT=str(output),
        )
        done = subprocess.run(
            ["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        expected = "false" if not (data_input or ini) else "true"
        assert f"model-tests={expected}\n" in output.read_text(), done.stderr
