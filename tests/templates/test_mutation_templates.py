"""The optional scheduled mutation jobs: the reusable GitHub workflow
``mlops-mutation.yml`` and the GitLab include ``mutation.yml``. Their structure and README
tables; the GitHub summary step's script run by bash on a real terminal summary; the
GitLab job run by gitlab-ci-local (shell executor) as a schedule on a tiny torch
repository. (actionlint, zizmor and GitHub's schema check every workflow in
tests/templates/test_github.py, this one included.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "mlops-mutation.yml"
TEMPLATE = ROOT / "gitlab_templates" / "mutation.yml"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load_workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads `on` as True
    return data


def readme_inputs(readme: Path, heading: str) -> set[str]:
    section = readme.read_text().split(f"### {heading}\n", 1)[1].split("\n## ", 1)[0]
    section = section.split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([\w-]+)` \|", section, flags=re.M))


# --- GitHub ------------------------------------------------------------------------------


def test_the_workflow_is_reusable_and_follows_the_conventions() -> None:
    doc = load_workflow()
    call = doc["on"]["workflow_call"]
    assert set(call["inputs"]) == {"python-version", "install-command", "pytest-args", "min-score"}
    for key, spec in call["inputs"].items():
        assert spec.get("description") and spec.get("type") == "string", key
    assert "score" in call["outputs"]
    assert doc["permissions"] == {}
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"contents": "read"} and job["timeout-minutes"]
    for step in job["steps"]:
        if "uses" in step:
            assert PINNED.match(step["uses"]), step["uses"]
        assert "${{" not in step.get("run", "")
    assert "torch" in call["inputs"]["install-command"]["default"]


def test_the_workflow_runs_mutate_and_always_posts_and_uploads() -> None:
    steps = {
        s.get("name") or s["uses"].split("@")[0]: s
        for s in load_workflow()["jobs"]["mutate"]["steps"]
    }
    run = steps["ML mutation score"]
    assert "mlops-testkit mutate --report reports/mutation-report.md" in run["run"]
    assert run["env"]["MLTK_MIN_SCORE"] == "${{ inputs.min-score }}"
    assert "set -o pipefail" in run["run"]  # tee must not hide a failing score
    summary = steps["Score and survivors to the job summary"]
    upload = steps["actions/upload-artifact"]
    for step in (summary, upload):
        assert step["if"] == "${{ !cancelled() }}"  # a score under min-score still posts
    assert "GITHUB_STEP_SUMMARY" in summary["run"]
    assert upload["with"]["path"] == "reports"


def test_the_github_readme_table_matches_the_inputs() -> None:
    inputs = set(load_workflow()["on"]["workflow_call"]["inputs"])
    assert readme_inputs(ROOT / "github_actions" / "README.md", "`mlops-mutation.yml`") == inputs


def terminal_summary() -> str:
    from mlops_testkit.mutation.outcome import Mutant, Score
    from mlops_testkit.mutation.render import terminal_lines

    def made(name, area, status, cells):
        m = Mutant(name, area, f"{name} bug", "assert_params_update", "x = 1\nassert x")
        m.status, m.cells = status, cells
        if status == "killed":
            m.messages = {"t.py::test_a": "AssertionError: frozen"}
        return m

    mutants = [
        made("frozen_layer", "gradients", "killed", {"t.py::test_a": "F"}),
        made("reduction_sum", "loss", "survived", {"t.py::test_a": "."}),
        made("workers_not_seeded", "randomness", "not applicable", {}),
    ]
    lines = terminal_lines(mutants, ["t.py::test_a"], Score(1, 2, 0))
    return "collected 1 item\n" + "\n".join(lines) + "\ntotal 3.0 s\n"


def run_summary_step(tmp_path: Path, output: str | None) -> tuple[str, str]:
    step = next(s for s in load_workflow()["jobs"]["mutate"]["steps"] if s.get("id") == "summary")
    (tmp_path / "reports").mkdir()
    if output is not None:
        (tmp_path / "reports" / "mutation.txt").write_text(output)
    summary, out = tmp_path / "summary.md", tmp_path / "output"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(out)}
    # GitHub runs `run:` with bash -e {0}
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return summary.read_text(), out.read_text()


def test_the_summary_step_posts_the_score_and_the_survivors(tmp_path) -> None:
    summary, output = run_summary_step(tmp_path, terminal_summary())
    assert "ML mutation score 0.50 (1 killed / (2 applicable - 0 equivalent))" in summary
    assert "survivors (1)" in summary and "reduction_sum (loss): reduction_sum bug" in summary
    assert "caught by: assert_params_update" in summary
    assert "not applicable (never fired in these tests): workers_not_seeded" in summary
    # the kill matrix and the killers stay in the artifact, not the summary
    assert "frozen_layer  " not in summary and "killed by" not in summary
    assert output == "score=0.50\n"


@pytest.mark.parametrize("output", [None, "mlops-testkit mutate: refused: the suite is flaky"])
def test_a_refused_or_missing_run_says_so_and_has_no_score(tmp_path, output) -> None:
    summary, out = run_summary_step(tmp_path, output)
    assert "no score: the run was refused or did not finish" in summary
    if output:
        assert "the suite is flaky" in summary
    assert out == "score=\n"


# --- GitLab ------------------------------------------------------------------------------


def load_template() -> tuple[dict, dict]:
    header, body = yaml.safe_load_all(TEMPLATE.read_text())
    return header, body


def test_the_gitlab_include_has_the_shape_of_the_other_templates() -> None:
    header, body = load_template()
    inputs = header["spec"]["inputs"]
    assert set(inputs) == {"stage", "job_prefix", "image", "install", "pytest_args", "min_score"}
    for key, spec in inputs.items():
        assert spec.get("description") and "default" in spec, key
    (name,) = body
    job = body[name]
    assert name == "$[[ inputs.job_prefix ]]-mutation"
    assert job["stage"] == "$[[ inputs.stage ]]" and not {"only", "except"} & set(job)
    # only on schedules, and only those that ask for it
    assert [r["if"] for r in job["rules"]] == [
        '$CI_PIPELINE_SOURCE == "schedule" && $MLTK_MUTATE == "true"'
    ]
    script = "\n".join(job["script"])
    assert "mlops-testkit mutate --report reports/mutation-report.md" in script
    assert "$[[ inputs.pytest_args ]]" in script and job["artifacts"]["when"] == "always"
    assert inputs["image"]["default"] == "python:3.11"  # has git, for the report's git sha
    assert "torch" in inputs["install"]["default"] and "${{" not in TEMPLATE.read_text()


def test_the_gitlab_readme_table_matches_the_inputs() -> None:
    header, _ = load_template()
    inputs = set(header["spec"]["inputs"])
    assert readme_inputs(ROOT / "gitlab_templates" / "README.md", "`mutation.yml`") == inputs


NET = """
import torch
from torch import nn

def train(steps=30):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return before, list(model.parameters())
"""

TEST = """
import torch
from net import train

def test_the_output_layer_moves():  # looks at the last layer only: a frozen first survives
    before, after = train()
    assert not torch.equal(before[-1], after[-1])
"""

PIPELINE = """
stages: [test]
include:
  - local: mltk/mutation.yml
    inputs:
      install: "true"
      pytest_args: -p no:cacheprovider -p no:randomly
      min_score: "{min_score}"
"""


def gitlab_ci_local() -> Path:
    found = ROOT / ".tools" / "node_modules" / ".bin" / "gitlab-ci-local"
    if not found.exists():
        pytest.fail("gitlab-ci-local is not installed: run `make install-tools`")
    return found


def consumer(root: Path, min_score: str) -> Path:
    root.mkdir()
    (root / "net.py").write_text(textwrap.dedent(NET))
    (root / "test_net.py").write_text(textwrap.dedent(TEST))
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (root / "mltk").mkdir()
    shutil.copy(TEMPLATE, root / "mltk" / "mutation.yml")
    (root / ".gitlab-ci.yml").write_text(PIPELINE.format(min_score=min_score))
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "repo"],
    ):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root


def pipeline(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLTK_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    return subprocess.run(
        [str(gitlab_ci_local()), "--force-shell-executor", "--shell-isolation", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_the_gitlab_job_is_not_in_push_or_merge_request_pipelines(tmp_path) -> None:
    repo = consumer(tmp_path / "repo", "")
    listed = pipeline(repo, "--list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "mltk-mutation" not in listed.stdout  # a push pipeline: no such job
    scheduled = pipeline(
        repo,
        "--list",
        "--variable",
        "CI_PIPELINE_SOURCE=schedule",
        "--variable",
        "MLTK_MUTATE=true",
    )
    assert "mltk-mutation" in scheduled.stdout, scheduled.stdout + scheduled.stderr


@pytest.mark.slow
def test_gitlab_ci_local_runs_the_scheduled_job_and_it_reports_the_survivor(tmp_path) -> None:
    pytest.importorskip("torch")
    repo = consumer(tmp_path / "repo", "0.9")
    ran = pipeline(
        repo,
        "mltk-mutation",
        "--variable",
        "CI_PIPELINE_SOURCE=schedule",
        "--variable",
        "MLTK_MUTATE=true",
    )
    log = ran.stdout + ran.stderr
    # the test only checks that the output layer moves: step_does_nothing is killed, the
    # loss mutants (the parameters still move) survive, so the score is under 0.9
    assert "ML mutation score" in log, log[-4000:]
    assert ran.returncode != 0, "a score under min_score must fail the job"
    assert "is under the minimum 0.90" in log, log[-4000:]
    data = json.loads((repo / "reports" / "mutation.json").read_text())["mutation"]
    status = {m["operator"]: m["status"] for m in data["mutants"]}
    assert status["step_does_nothing"] == "killed"
    assert "## Kill matrix" in (repo / "reports" / "mutation-report.md").read_text()
