"""A consumer repository, end to end (issue 17's proof).

A new team's repository is wired from the README alone: its own code (a tiny logistic
regression, its data, its tests, a training script that registers the model) plus
``pyproject.toml`` with only a ``[project]`` table, then the ``mlops-testkit init``
commands of gitlab_templates/README.md and github_actions/README.md, read from them and
filled in (``--local`` hooks; ``--install true``, see below), and ``pre-commit install``.
Nothing that init wrote is edited by hand. One repository serves every step, in order
(a step whose predecessor failed is skipped):

1. ``init`` wires it (pytest settings, pre-commit, ``.gitignore``, both CI files); a
   second run changes nothing.
2. ``pre-commit install``, the first commit (the artifacts hook passes the code, and
   refuses a model forced in from ``mlruns/``; ``.gitignore`` keeps the MLflow store
   out) and the **first push** to a local bare remote: the pre-push hook has nothing to
   compare with, runs every model test and lets the push through.
3. A merge request that changes data only: the pre-push hook deselects the model tests;
   the merge-request pipeline on gitlab-ci-local and the ``pull_request`` run on act
   skip them (and the required check ``mltk-tests-passed`` passes).
4. A merge request that changes the model: both run the model tests.
5. On main: gitlab-ci-local runs lint -> test -> model-test -> train -> evaluate ->
   promote (v1 becomes champion) and act runs lint -> test -> train -> deploy
   (evaluate -> promote: v2, judged against v1), against one real MLflow server on
   127.0.0.1.
6. The scheduled monitor: the drift tests on fresh data, on both.
7. A manual rollback: act's ``workflow_dispatch`` with ``rollback: true`` skips lint,
   test and train and still runs deploy's rollback (champion back to v1, ``rolled_back``
   on v2); then gitlab-ci-local's manual rollback job finds nothing to roll back, says
   so and exits 0.

What cannot run offline, and how each is covered instead:

- **Fetching the templates.** GitLab's ``include: project:`` is served from
  gitlab-ci-local's include cache, pre-seeded with this checkout's ``gitlab_templates/``
  (the project's remote is ``gcl-origin``, a URL with a host; it is never contacted).
  GitHub's ``uses: acme/mlops-testkit/.github/workflows/...@SHA`` is mapped to a copy of
  this checkout with act's ``--local-repository``. The runner commands, the seeding and
  the maps are those of ``mlops-testkit ci-local`` (``mlops_testkit/ci/local.py``): what
  this test proves is what users run.
- **Installing mlops-testkit in the jobs.** ``init --install true``: the jobs use the
  test's virtualenv on PATH. The default install (a released ``mlops-testkit[data,mlflow]``
  from PyPI) is covered by tests/test_wheel.py (the built wheel in a clean virtualenv);
  that the default images have git, by test_gitlab.py's structural test.
- **Docker images.** Jobs run on the host (gitlab-ci-local ``--force-shell-executor``,
  act ``-P ubuntu-latest=-self-hosted``).
- **actions/checkout** is skipped by act, which copies the repository (with its
  ``.git``, so the change decision sees ``origin/main``). **actions/setup-python**,
  **upload-artifact** and **download-artifact** need GitHub's services: the stand-ins
  ``ci-local`` uses (``mlops_testkit/ci/stand_ins/``) replace them, mapped by their
  pinned SHAs.
- **The remote pre-commit hooks** (``repo: https://github.com/...``) cannot be cloned:
  the repository uses ``init --local`` (``repo: local``); the manifest the remote form
  reads is validated and run by test_precommit.py (``pre-commit try-repo``).
- **Retraining on drift.** GitLab's ``trigger:`` (a multi-project pipeline) is a no-op in
  gitlab-ci-local and GitHub's dispatch calls ``gh workflow run`` (the GitHub API): the
  monitor runs on fresh data that has not drifted, so neither fires; the rules that
  start them are checked by test_gitlab.py and test_github.py.
- **Approvals** of the protected environment: gitlab-ci-local runs the manual jobs with
  ``--manual``; act has no environments (required reviewers are repository settings).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlops_testkit.ci import local

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow_server")]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SOURCE = "acme/mlops-testkit"  # where the team gets mlops-testkit from (never contacted)
MODEL = "consumer-e2e"
GITLAB_HOST = "gitlab.example.com"

# The team's own code: what a small ML project has before it meets mlops-testkit.
PROJECT = {
    "pyproject.toml": """\
        [project]
        name = "consumer"
        version = "0.1.0"
        """,
    "conftest.py": """\
        # the repository root on sys.path, so the tests import data and model
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
        \"\"\"Train, register a new version of $MLTK_MODEL_NAME, point 'challenger' at it.\"\"\"

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

        from mlops_testkit import assert_metric, assert_no_regression

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


        @pytest.mark.gate(allow_skip="first deployment")
        def test_no_regression(candidate, champion):
            x, y = HOLDOUT
            cand = (candidate.predict(x) == y).astype(float)
            champ = (champion.predict(x) == y).astype(float)
            assert_no_regression(
                "accuracy",
                cand.mean(),
                champ.mean(),
                tolerance=0.02,
                candidate_scores=cand,
                baseline_scores=champ,
            )
        """,
    "tests/monitoring/test_drift.py": """\
        import pandas as pd
        import pytest
        from data import dataset

        from mlops_testkit import assert_no_drift

        COLUMNS = ["a", "b", "c", "d"]


        @pytest.mark.data
        def test_fresh_data_has_not_drifted():
            reference = pd.DataFrame(dataset(seed=1, n=500)[0], columns=COLUMNS)
            fresh = pd.DataFrame(dataset(seed=7, n=500)[0], columns=COLUMNS)
            assert_no_drift(reference, fresh)
        """,
}


def tool(path: Path, install: str) -> str:
    if not path.exists():
        pytest.fail(f"{path.name} is not installed: {install}")
    return str(path)


class Consumer:
    """The consumer repository, its bare remote, and the CI runners pointed at it."""

    def __init__(self, tmp: Path, tracking_uri: str) -> None:
        self.tmp = tmp
        self.root = tmp / "consumer"
        self.origin = tmp / "origin.git"
        self.uri = tracking_uri
        self.done: set[str] = set()
        self.sha = self._pin()
        self.logs = tmp / "logs"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLTK_"))}
        self.env.pop("MLFLOW_TRACKING_URI", None)
        self.env.update(
            PATH=f"{BIN}{os.pathsep}{self.env['PATH']}",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME="t",
            GIT_AUTHOR_EMAIL="t@example.com",
            GIT_COMMITTER_NAME="t",
            GIT_COMMITTER_EMAIL="t@example.com",
            PRE_COMMIT_HOME=str(tmp / "pre-commit-home"),
            PRE_COMMIT_COLOR="never",
            MLFLOW_DISABLE_TELEMETRY="true",
            NO_COLOR="1",
        )

    @staticmethod
    def _pin() -> str:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
        return head if re.fullmatch(r"[0-9a-f]{40}", head) else "0" * 40

    def require(self, *steps: str) -> None:
        """Steps run in order in one test; a missing one is a failure, never a skip."""
        missing = [s for s in steps if s not in self.done]
        if missing:
            pytest.fail(f"an earlier step did not pass: {', '.join(missing)}")

    def run(
        self, *cmd: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            cmd,
            cwd=self.root,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ok(self, *cmd: str, env: dict[str, str] | None = None) -> str:
        out = self.run(*cmd, env=env)
        text = out.stdout + out.stderr
        assert out.returncode == 0, f"{' '.join(cmd)} exited {out.returncode}:\n{text[-4000:]}"
        return text

    def git(self, *args: str) -> str:
        return self.ok("git", *args)

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))

    def push(self, *args: str) -> tuple[str, dict[str, str]]:
        """``git push`` (the pre-push hook runs); the outcome of each test the hook ran."""
        junit = self.tmp / "pre-push.xml"
        junit.unlink(missing_ok=True)
        out = self.ok("git", "push", *args, env={"PYTEST_ADDOPTS": f"--junitxml={junit}"})
        return out, junit_outcomes(junit)

    def logged(self, name: str, *cmd: str) -> str:
        """Run a CI runner; its whole log is kept under logs/ (the failure shows its end)."""
        started = time.monotonic()
        out = self.run(*cmd, timeout=600)
        took = time.monotonic() - started
        text = out.stdout + out.stderr
        self.logs.mkdir(exist_ok=True)
        log = self.logs / f"{len(list(self.logs.iterdir())):02d}-{name}.log"
        log.write_text(f"$ {' '.join(cmd)}\n# exit {out.returncode} in {took:.1f} s\n{text}")
        assert out.returncode == 0, f"{name} exited {out.returncode} (log: {log}):\n{text[-5000:]}"
        return text

    # --- GitLab ---------------------------------------------------------------------

    def seed_gitlab_includes(self) -> None:
        """What gitlab-ci-local would fetch for ``include: project: acme/mlops-testkit``."""
        local.seed_gitlab_includes(self.tmp / "gcl-state", GITLAB_HOST, SOURCE, self.sha, ROOT)

    def gitlab(self, *args: str) -> str:
        runner = tool(
            ROOT / ".tools" / "node_modules" / ".bin" / "gitlab-ci-local", "make install-tools"
        )
        cmd = local.gitlab_argv(Path(runner), Path("../gcl-state"), self.uri, *args)
        return self.logged("gitlab-ci-local", *cmd)

    def merge_request_pipeline(self) -> str:
        return self.gitlab(*local.gitlab_event_args("merge_request", "main"))

    # --- GitHub ---------------------------------------------------------------------

    def act(self, event: str, payload: dict, *args: str) -> str:
        path = self.tmp / f"event-{event}.json"
        path.write_text(json.dumps({"repository": {"default_branch": "main"}, **payload}))
        maps = local.act_maps(SOURCE, self.sha, self.tmp / "upstream")
        runner = Path(tool(BIN / "act", "make install (the dev extra)"))
        cmd = local.act_argv(runner, event, path, maps, self.tmp, self.uri, *args)
        return self.logged(f"act-{event}", *cmd)

    def aliases(self) -> dict[str, str]:
        out = self.ok(
            "mlops-testkit",
            "aliases",
            "--model",
            MODEL,
            "--json",
            env={"MLFLOW_TRACKING_URI": self.uri},
        )
        return json.loads(out.strip().splitlines()[-1])


def junit_outcomes(path: Path) -> dict[str, str]:
    import xml.etree.ElementTree as ET

    if not path.exists():
        return {}
    outcomes = {}
    for case in ET.parse(path).iter("testcase"):
        kinds = {child.tag for child in case}
        outcome = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed")
        outcomes[case.get("name", "")] = outcome
    return outcomes


def required_check(log: str) -> list[str]:
    """The results of the jobs ``mltk-tests-passed`` judged (act orders them at random)."""
    found = re.search(r"mltk-tests-passed\][^\n]*\| results: ([^\n]*)", log)
    return sorted(found.group(1).split()) if found else []


def passed_jobs(log: str) -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"PASS\s+(\S[^\n]*?)\s*$", log, re.M)}


# Session scope: the group "mlflow_server" runs on one xdist worker, where tests of other
# modules of the group may come between these steps; a module fixture would be torn down
# (and the steps' state lost) when they do.
@pytest.fixture(scope="session")
def consumer(tmp_path_factory, mlflow_server) -> Consumer:
    repo = Consumer(tmp_path_factory.mktemp("consumer-e2e"), mlflow_server.uri)
    upstream = repo.tmp / "upstream"  # this checkout, as act sees acme/mlops-testkit@SHA
    shutil.copytree(ROOT / ".github", upstream / ".github")
    shutil.copytree(ROOT / "github_actions", upstream / "github_actions")
    repo.root.mkdir()
    for path, text in PROJECT.items():
        repo.write(path, text)
    repo.git("init", "-q", "-b", "main")
    return repo


def readme_init(readme: Path, sha: str) -> list[str]:
    """The README's ``mlops-testkit init`` command, filled in for this repository."""
    block = next(
        b for b in re.findall(r"```bash\n(.*?)```", readme.read_text(), re.S) if " init " in b
    )
    words = shlex.split(block.split("\n\n")[0].replace("\\\n", " "))
    assert words[:2] == ["mlops-testkit", "init"], block
    values = {
        "--model-name": MODEL,
        "--train-command": "python train.py",
        "--model-paths": "model.py",
        "--source": SOURCE,
        "--ref": sha,
    }
    for i, word in enumerate(words[:-1]):
        words[i + 1] = values.get(word, words[i + 1])
    # the jobs run in this virtualenv: no release of mlops-testkit to install offline
    return [*words, "--install", "true"]


def step_init_wires_the_repository(consumer) -> None:
    """The init commands of the READMEs, as a new user runs them; nothing is edited
    after."""
    gitlab = consumer.ok(*readme_init(ROOT / "gitlab_templates" / "README.md", consumer.sha))
    assert "created   .gitlab-ci.yml" in gitlab and "updated   pyproject.toml" in gitlab
    command = readme_init(ROOT / "github_actions" / "README.md", consumer.sha)
    github = consumer.ok(*command)
    assert "created   .github/workflows/ml.yml" in github and "--local" in command
    assert "changed 0 file(s)" in consumer.ok(*command)  # idempotent
    pyproject = (consumer.root / "pyproject.toml").read_text()
    assert 'mltk_model_paths = ["model.py"]' in pyproject
    assert {"mlflow.db", "mlruns/"} <= set((consumer.root / ".gitignore").read_text().split())
    consumer.done.add("init")


def step_first_commit_and_first_push(consumer) -> None:
    consumer.require("init")
    installed = consumer.ok("pre-commit", "install")
    assert "pre-push" in installed
    # what the README's local MLflow set-up leaves in the repository
    (consumer.root / "mlflow.db").write_bytes(b"SQLite format 3\0")
    consumer.write("mlruns/1/abc/artifacts/model/model.skops", "not a real model\n")
    consumer.git("add", ".")
    staged = consumer.git("diff", "--cached", "--name-only").split()
    assert "mlflow.db" not in staged and not any(p.startswith("mlruns/") for p in staged)
    consumer.git("add", "-f", "mlruns/1/abc/artifacts/model/model.skops")
    refused = consumer.run("git", "commit", "-qm", "with a model")
    assert refused.returncode != 0, refused.stdout
    assert "model.skops: a model artifact (*.skops" in refused.stdout + refused.stderr
    consumer.git("rm", "-q", "--cached", "mlruns/1/abc/artifacts/model/model.skops")
    consumer.git("commit", "-qm", "a small ML project, wired by mlops-testkit init")

    subprocess.run(["git", "init", "-q", "--bare", str(consumer.origin)], check=True)
    consumer.git("remote", "add", "origin", str(consumer.origin))
    out, ran = consumer.push("-u", "origin", "main")  # the first push: no base at all
    assert "nothing to compare with" in out and "running all model tests" in out, out
    assert ran.get("test_model_learns") == "passed", out  # fail-safe: every model test
    assert ran.get("test_labels_are_balanced_enough") == "passed"
    consumer.git("remote", "set-head", "origin", "main")
    # gitlab-ci-local reads the project's host from gcl-origin (never contacted); act
    # reads the repository name from it (--remote-name)
    consumer.git("remote", "add", "gcl-origin", f"https://{GITLAB_HOST}/team/consumer.git")
    consumer.seed_gitlab_includes()
    consumer.done.add("first push")


def _merge_request(consumer, branch: str, path: str) -> tuple[str, dict[str, str], str, str]:
    """A branch changing ``path``, pushed (the pre-push hook runs), then the merge-request
    pipeline on gitlab-ci-local and the pull_request run on act; returns the push's
    output, the outcomes of the tests the hook ran, and the two CI logs."""
    consumer.git("checkout", "-q", "-b", branch, "main")
    with (consumer.root / path).open("a") as handle:
        handle.write("# reviewed\n")
    consumer.git("commit", "-qam", f"change {path}")
    out, ran = consumer.push("-u", "origin", branch)
    assert "comparing with the default branch origin/main" in out, out
    gitlab = consumer.merge_request_pipeline()
    assert {"mltk-lint", "mltk-test", "mltk-model-test: [cpu,]"} <= passed_jobs(gitlab), gitlab[
        -3000:
    ]
    assert "mltk-train" not in gitlab and "mltk-evaluate" not in gitlab
    event = {"pull_request": {"number": 1, "base": {"ref": "main"}, "head": {"ref": branch}}}
    github = consumer.act("pull_request", event)
    assert "Train and register" not in github  # never for a pull request
    consumer.git("checkout", "-q", "main")
    return out, ran, gitlab, github


def step_merge_request_with_a_data_only_change_skips_the_model_tests(consumer) -> None:
    consumer.require("first push")
    pushed, ran, gitlab, github = _merge_request(consumer, "data-fix", "data.py")
    assert "test_model_learns" not in ran and ran.get("test_labels_are_balanced_enough")
    assert "deselected 1 model test(s): no file matching mltk_model_paths" in pushed, pushed
    assert "model tests skipped: no model code changed since origin/main" in gitlab
    # mltk-tests-passed, the required check: changes and test passed, model-test skipped
    assert required_check(github) == ["skipped", "success", "success"], github[-4000:]
    consumer.done.add("data merge request")


def step_merge_request_with_a_model_change_runs_the_model_tests(consumer) -> None:
    consumer.require("first push")
    _, ran, gitlab, github = _merge_request(consumer, "model-fix", "model.py")
    assert ran.get("test_model_learns") == "passed"
    assert "model tests skipped" not in gitlab and re.search(r"model: 1 passed", gitlab)
    assert required_check(github) == ["success", "success", "success"], github[-4000:]
    consumer.done.add("model merge request")


def step_main_trains_evaluates_and_promotes(consumer) -> None:
    consumer.require("data merge request", "model merge request")
    consumer.git("merge", "-q", "--no-edit", "data-fix", "model-fix")
    _, ran = consumer.push("origin", "main")
    assert ran.get("test_model_learns") == "passed"
    # the push pipeline on main has every job; lint and the tests ran in the merge
    # requests (same templates, same commit contents), so only the new ones run here
    listed = consumer.gitlab("--list")
    jobs = ["mltk-lint", "mltk-test", "mltk-model-test: [cpu,]", "mltk-train", "mltk-evaluate"]
    assert all(re.search(rf"^{re.escape(job)}\s", listed, re.M) for job in jobs), listed
    assert re.search(r"^mltk-promote\s+deploy\s+manual", listed, re.M), listed
    gitlab = consumer.gitlab("--manual", "mltk-promote", *jobs[3:], "mltk-promote")
    assert set(jobs[3:]) | {"mltk-promote"} <= passed_jobs(gitlab), gitlab[-4000:]
    assert f"promoted {MODEL} v1 to champion (was none)" in gitlab
    assert consumer.aliases()["champion"] == "1"

    github = consumer.act("push", {"ref": "refs/heads/main"}, "--env", "TRAIN_SEED=2")
    assert f"promoted {MODEL} v2 to champion (was v1)" in github, github[-4000:]
    known = consumer.aliases()
    assert known["champion"] == "2" and known["previous_champion"] == "1"
    consumer.done.add("main")


def step_scheduled_monitor(consumer) -> None:
    consumer.require("first push")
    gitlab = consumer.gitlab(*local.gitlab_event_args("schedule", "main"), "mltk-monitor")
    assert "mltk-monitor" in passed_jobs(gitlab) and "1 passed" in gitlab, gitlab[-3000:]
    github = consumer.act("schedule", {"schedule": "0 3 * * 1"}, "-j", "monitor")
    assert "1 passed" in github and "Dispatch training" not in github, github[-3000:]
    consumer.done.add("monitor")


def step_manual_rollback_then_nothing_to_roll_back(consumer) -> None:
    consumer.require("main")
    # GitHub's payload carries workflow_dispatch inputs as strings; `inputs` has the types
    github = consumer.act("workflow_dispatch", {"inputs": {"rollback": "true"}})
    assert f"rolled {MODEL} back to v1 (was v2)" in github, github[-4000:]
    assert "Train and register" not in github
    known = consumer.aliases()
    assert known["champion"] == "1" and known["rolled_back"] == "2"
    assert "previous_champion" not in known

    gitlab = consumer.gitlab(*local.gitlab_event_args("rollback", "main"))
    assert "mltk-rollback" in passed_jobs(gitlab), gitlab[-3000:]
    assert f"nothing to roll back to: {MODEL} v1 is the champion" in gitlab
    assert consumer.aliases() == known


STEPS = [
    step_init_wires_the_repository,
    step_first_commit_and_first_push,
    step_merge_request_with_a_data_only_change_skips_the_model_tests,
    step_merge_request_with_a_model_change_runs_the_model_tests,
    step_main_trains_evaluates_and_promotes,
    step_scheduled_monitor,
    step_manual_rollback_then_nothing_to_roll_back,
]


def test_a_consumer_repository_end_to_end(consumer) -> None:
    """The steps in order, in one test: they share one repository and its history, so
    they must run in one process, one after the other (xdist would spread separate tests
    over workers)."""
    for step in STEPS:
        step(consumer)
