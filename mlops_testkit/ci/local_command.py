"""``mlops-testkit ci-local``: run this repository's generated pipeline on this machine.

It works on a copy of the repository (your checkout, its remotes and its environment are
not touched), makes what the runners need offline (an ``origin`` with a default branch,
the kit's templates served from the installed package, stand-ins for GitHub's own
actions, a local MLflow server with an artifacts destination), prints each substitution,
then runs gitlab-ci-local or act and passes on its exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mlops_testkit.ci import local

PROG = "mlops-testkit ci-local"
GITLAB_FILE = ".gitlab-ci.yml"
WORKFLOWS = Path(".github") / "workflows"
USES = re.compile(
    r"uses:\s*['\"]?([\w.-]+/[\w.-]+)/\.github/workflows/mlops-[\w-]+\.ya?ml@([\w./-]+)"
)
IGNORED = shutil.ignore_patterns(".gitlab-ci-local")


def add_parser(sub: Any) -> None:
    cmd = sub.add_parser(
        "ci-local",
        help="Run this repository's generated CI pipeline on this machine",
        description="Run the pipeline mlops-testkit init --ci wrote, with gitlab-ci-local "
        "or act (host mode), on a copy of the repository: the kit's templates come from "
        "the installed package, GitHub's setup-python and artifact actions get local "
        "stand-ins, a local MLflow server (with an artifacts destination) is started, and "
        "every substitution is printed. Arguments after -- go to the runner. Exit status: "
        "the runner's (0 passed, 1 failed); 2 when a runner is missing (the install "
        "command is printed) or on bad usage.",
    )
    cmd.add_argument(
        "--platform",
        choices=local.PLATFORMS,
        default=None,
        help="Which pipeline to run (default: each one the repository has)",
    )
    cmd.add_argument(
        "--event", choices=local.EVENTS, default="push", help="Pipeline to run (default: push)"
    )
    cmd.add_argument(
        "--workdir",
        default=None,
        metavar="DIR",
        help="Keep the copy, the MLflow store and the logs here; a second run reuses the "
        "store (default: a temporary folder, removed afterwards)",
    )
    cmd.add_argument(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help="Use this MLflow server instead of starting one (default: a local server)",
    )
    cmd.add_argument(
        "--keep-install",
        action="store_true",
        help="Run the pipeline's install commands (default: replaced by `true`, the jobs "
        "use this environment)",
    )
    cmd.add_argument("runner_args", nargs=argparse.REMAINDER, metavar="-- RUNNER_ARGS")
    cmd.set_defaults(func=main)


def say(text: str) -> None:
    print(f"{PROG}: {text}", flush=True)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise local.CiLocalError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip() if done.returncode == 0 else ""


def pipelines(root: Path) -> dict[str, list[Path]]:
    """The files init writes that call the kit's templates, by platform."""
    found: dict[str, list[Path]] = {}
    gitlab = root / GITLAB_FILE
    if gitlab.is_file() and "gitlab_templates/" in gitlab.read_text(errors="replace"):
        found["gitlab"] = [Path(GITLAB_FILE)]
    flows = sorted((root / WORKFLOWS).glob("*.y*ml")) if (root / WORKFLOWS).is_dir() else []
    calling = [p.relative_to(root) for p in flows if USES.search(p.read_text(errors="replace"))]
    if calling:
        found["github"] = calling
    return found


def gitlab_includes(path: Path) -> tuple[list[tuple[str, str]], str]:
    """The ``(project, ref)`` pairs of the kit's includes, and the deploy job prefix."""
    try:
        import yaml
    except ImportError as exc:
        raise local.CiLocalError(
            "reading .gitlab-ci.yml needs PyYAML: pip install pyyaml", code=2
        ) from exc
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise local.CiLocalError(f"{path}: not valid YAML: {exc}") from exc
    entries = doc.get("include") if isinstance(doc, dict) else None
    pairs: list[tuple[str, str]] = []
    prefix = "mltk"
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or "gitlab_templates/" not in str(entry.get("file")):
            continue
        pair = (str(entry.get("project", "")), str(entry.get("ref", "")))
        if not all(pair):
            raise local.CiLocalError(
                f"{path}: an include of {entry.get('file')} lacks project/ref"
            )
        if pair not in pairs:
            pairs.append(pair)
        inputs = entry.get("inputs") or {}
        if str(entry.get("file")).endswith("deploy.yml") and inputs.get("job_prefix"):
            prefix = str(inputs["job_prefix"])
    if not pairs:
        raise local.CiLocalError(f"{path}: includes no gitlab_templates/ of mlops-testkit")
    return pairs, prefix


class Workspace:
    """The copy of the repository the runners work in, and what was substituted."""

    def __init__(self, root: Path, workdir: Path) -> None:
        self.root = root
        self.workdir = workdir
        self.repo = workdir / "repo"
        self.substitutions: list[str] = []

    def note(self, text: str) -> None:
        self.substitutions.append(text)
        say(f"substituted: {text}")

    def copy(self) -> None:
        """Tracked and untracked (not ignored) files, and ``.git``: what CI would check
        out, plus uncommitted work; ignored files (virtualenvs, mlruns/) stay behind."""
        for stale in ("repo", "origin.git", "gcl-state", "upstream", "artifacts"):
            shutil.rmtree(self.workdir / stale, ignore_errors=True)
        listed = git(self.root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        self.repo.mkdir(parents=True)
        for name in sorted(set(listed.split("\0"))):
            source = self.root / name
            if not name or not (source.is_file() or source.is_symlink()):
                continue
            if source.resolve().is_relative_to(self.workdir):  # a --workdir inside the repo
                continue
            target = self.repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
        shutil.copytree(self.root / ".git", self.repo / ".git", symlinks=True, ignore=IGNORED)
        dirty = git(self.repo, "status", "--porcelain")
        where = f"a copy in {self.repo}, with uncommitted changes" if dirty else str(self.repo)
        self.note(f"the repository -> {where} (your checkout is not touched)")

    def remotes(self) -> tuple[str, str]:
        """An ``origin`` with the default branch and ``origin/HEAD`` (the change decision
        and ``rules:changes`` compare with it), and ``gcl-origin`` (the host and project
        gitlab-ci-local and act read; never contacted). Returns (branch, default)."""
        repo = self.repo
        branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD", check=False) or "main"
        names = git(repo, "remote").split()
        if "origin" not in names:
            bare = self.workdir / "origin.git"
            git(self.workdir, "clone", "-q", "--bare", str(repo), str(bare))
            git(repo, "remote", "add", "origin", str(bare))
            git(repo, "fetch", "-q", "origin")
            self.note(f"origin -> {bare}, a bare clone (the repository has no origin)")
        head = git(repo, "symbolic-ref", "--short", "refs/remotes/origin/HEAD", check=False)
        default = head.removeprefix("origin/") if head else ""
        if not default:
            local_heads = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads")
            remote_heads = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/remotes")
            default = next(
                (
                    b
                    for b in ("main", "master")
                    if b in local_heads.split() or f"origin/{b}" in remote_heads.split()
                ),
                branch,
            )
        if not git(
            repo, "rev-parse", "-q", "--verify", f"refs/remotes/origin/{default}", check=False
        ):
            git(repo, "update-ref", f"refs/remotes/origin/{default}", f"refs/heads/{default}")
            self.note(f"origin/{default} -> your local {default} (origin has no {default})")
        if not head:
            git(repo, "remote", "set-head", "origin", default)
            self.note(f"git remote set-head origin {default} (origin/HEAD was not set)")
        if "gcl-origin" not in names:
            url = git(repo, "remote", "get-url", "origin", check=False)
            parts = local.remote_parts(url)
            host, project = parts or ("gitlab.com", f"local/{self.root.name or 'repo'}")
            git(repo, "remote", "add", "gcl-origin", f"https://{host}/{project}.git")
            self.note(
                f"remote gcl-origin -> https://{host}/{project}.git (the project's host and "
                "name for gitlab-ci-local and act; never contacted)"
            )
        return branch, default

    def installs(self, files: list[Path]) -> None:
        """The pipeline's install commands -> ``true``: the jobs run on this machine, in
        this environment, which has mlops-testkit; an install would change it."""
        from mlops_testkit import __version__

        key = re.compile(r"^(\s+(?:install|install-command):\s*)(\S.*)$", re.M)
        replaced: list[str] = []
        for rel in files:
            path = self.repo / rel
            text = path.read_text()
            replaced += [
                m.group(2) for m in key.finditer(text) if m.group(2) not in ("'true'", "true")
            ]
            path.write_text(key.sub(lambda m: m.group(1) + "'true'", text))
            # the jobs see the commit's tree as clean (the gate report records git_dirty)
            git(self.repo, "update-index", "--assume-unchanged", str(rel), check=False)
        env = Path(sys.executable).parent
        if replaced:
            example = replaced[0] if len(replaced[0]) < 160 else replaced[0][:157] + "..."
            self.note(
                f"{len(replaced)} install command(s) -> true: the jobs use {env} "
                f"(mlops-testkit {__version__}) first on PATH; e.g. {example}"
            )
        else:
            self.note(f"the jobs use {env} (mlops-testkit {__version__}) first on PATH")
        if shutil.which("pre-commit", path=local.job_path()) is None:
            say("note: pre-commit is not on PATH: the lint job will fail (pip install pre-commit)")


def _runner_env(uri: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLTK_"))}
    dropped = sorted(k for k in os.environ if k.startswith(("PYTEST_", "MLTK_")))
    if dropped:
        say(f"not passed to the jobs (CI would not have them): {', '.join(dropped)}")
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(PATH=local.job_path(), MLFLOW_TRACKING_URI=uri)
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> int:
    """Run a runner, its output to stdout and to ``log``."""
    say("$ " + " ".join(argv))
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            out.write(line)
        sys.stdout.flush()
        return proc.wait()


def run_gitlab(ws: Workspace, event: str, uri: str, extra: list[str]) -> int:
    runner = local.find_runner("gitlab-ci-local", extra=[ws.root / "node_modules" / ".bin"])
    local.find_runner("node")
    local.find_runner("rsync")
    pairs, prefix = gitlab_includes(ws.repo / GITLAB_FILE)
    _, default = ws.remotes()
    url = git(ws.repo, "remote", "get-url", "gcl-origin")
    host = (local.remote_parts(url) or ("gitlab.com", ""))[0]
    assets = local.kit_assets()
    state = ws.workdir / "gcl-state"
    for project, ref in pairs:
        local.seed_gitlab_includes(state, host, project, ref, assets)
        ws.note(
            f"include project {project} ref {ref} -> the installed kit's "
            f"{assets / 'gitlab_templates'} (gitlab-ci-local's include cache; nothing fetched)"
        )
    args = local.gitlab_event_args(event, default, prefix)
    if event != "push":
        ws.note(f"the {event} pipeline -> gitlab-ci-local {' '.join(args)}")
    # gitlab-ci-local takes --state-dir relative to the project folder
    relative = Path(os.path.relpath(state, ws.repo))
    argv = local.gitlab_argv(runner, relative, uri, *args, *extra)
    return _run(argv, ws.repo, _runner_env(uri), ws.workdir / "logs" / f"gitlab-{event}.log")


def run_github(ws: Workspace, files: list[Path], event: str, uri: str, extra: list[str]) -> int:
    runner = local.find_runner("act", search_path=local.job_path())
    branch, default = ws.remotes()
    assets = local.kit_assets()
    upstream = ws.workdir / "upstream"
    (upstream / ".github").mkdir(parents=True)
    shutil.copytree(assets / ".github" / "workflows", upstream / ".github" / "workflows")
    if (assets / "github_actions").is_dir():
        shutil.copytree(assets / "github_actions", upstream / "github_actions")
    pins = sorted({m.groups() for f in files for m in USES.finditer((ws.repo / f).read_text())})
    maps: list[str] = []
    for source, ref in pins:
        maps += local.act_maps(source, ref, upstream)
        ws.note(
            f"uses {source}/.github/workflows/mlops-*.yml@{ref} -> the installed kit's "
            f"workflows, copied to {upstream} (act --local-repository)"
        )
    stand_ins = [m for m in maps if m.split("@", 1)[0] in local.STAND_INS]
    for action in sorted({m.split("@", 1)[0] for m in stand_ins}):
        ws.note(f"{action} -> {local.STAND_IN_DIR / local.STAND_INS[action]} (a local stand-in)")
    name, payload = local.act_event(event, branch, default)
    path = ws.workdir / f"event-{name}.json"
    path.write_text(json.dumps(payload))
    ws.note(f"the {event} event -> act {name} with {path}")
    flows = [item for f in files for item in ("-W", str(f))]
    argv = local.act_argv(runner, name, path, sorted(set(maps)), ws.workdir, uri, *flows, *extra)
    return _run(argv, ws.repo, _runner_env(uri), ws.workdir / "logs" / f"github-{event}.log")


def main(args: argparse.Namespace) -> int:
    extra = list(args.runner_args or [])
    extra = extra[1:] if extra[:1] == ["--"] else extra
    try:
        return _main(args, extra)
    except local.CiLocalError as exc:
        print(f"{PROG}: REFUSED: {exc}", file=sys.stderr)
        return exc.code
    except OSError as exc:  # a work folder that cannot be written, git missing
        print(f"{PROG}: REFUSED: {exc}", file=sys.stderr)
        return 1


def _main(args: argparse.Namespace, extra: list[str]) -> int:
    start = Path.cwd()
    top = git(start, "rev-parse", "--show-toplevel", check=False)
    if not top:
        raise local.CiLocalError(f"{start.resolve()} is not in a git repository")
    root = Path(top)
    found = pipelines(root)
    platforms = [args.platform] if args.platform else [p for p in local.PLATFORMS if p in found]
    missing = [p for p in platforms if p not in found]
    if not platforms or missing:
        what = missing[0] if missing else "gitlab|github"
        raise local.CiLocalError(
            f"{root} has no {what} pipeline calling the mlops-testkit templates: "
            f"write one with mlops-testkit init --ci {what}"
        )
    for platform in platforms:  # a missing runner is refused before anything starts
        if platform == "gitlab":
            local.find_runner("gitlab-ci-local", extra=[root / "node_modules" / ".bin"])
            local.find_runner("node")
            local.find_runner("rsync")
            gitlab_includes(root / GITLAB_FILE)  # a malformed include: refused now
        else:
            local.find_runner("act", search_path=local.job_path())
    local.kit_assets()
    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="mltk-ci-local-") if temporary else args.workdir)
    workdir = workdir.resolve()
    if workdir.exists() and not workdir.is_dir():
        raise local.CiLocalError(f"--workdir {args.workdir!r} is not a folder", code=2)
    if workdir == root or root.is_relative_to(workdir):
        raise local.CiLocalError(f"--workdir {args.workdir!r} holds the repository", code=2)
    workdir.mkdir(parents=True, exist_ok=True)
    server = None
    status = 0
    try:
        uri = args.tracking_uri
        if uri is None:
            server = local.LocalMlflow(workdir / "mlflow").start()
            uri = server.uri
            say(
                f"substituted: MLFLOW_TRACKING_URI -> {uri}, a local mlflow server (store "
                f"{server.folder / 'mlflow.db'}, artifacts destination "
                f"{server.folder / 'artifacts'})"
            )
        for platform in platforms:
            started = time.monotonic()
            say(f"{platform} {args.event} pipeline of {root}")
            ws = Workspace(root, workdir)
            ws.copy()
            if not args.keep_install:
                ws.installs(found[platform])
            if platform == "gitlab":
                code = run_gitlab(ws, args.event, uri, extra)
            else:
                code = run_github(ws, found[platform], args.event, uri, extra)
            verdict = "passed" if code == 0 else f"FAILED (exit {code})"
            took = time.monotonic() - started
            say(
                f"{platform} {args.event}: {verdict} in {took:.0f} s; "
                f"{len(ws.substitutions)} substitution(s) named above"
                + ("" if temporary else f"; log in {workdir / 'logs'}")
            )
            status = status or (1 if code else 0)
    finally:
        if server is not None:
            server.stop()
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)
    return status
