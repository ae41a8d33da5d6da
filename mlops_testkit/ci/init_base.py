"""What every part of ``mlops-testkit init`` shares: its options, a planned change to
one file, the refusal, and reading files."""

from __future__ import annotations

import difflib
import subprocess
from dataclasses import dataclass
from pathlib import Path

CI_CHOICES = ("github", "gitlab")
HOOK_IDS = ("mltk-no-model-artifacts", "mltk-affected-tests")
GITIGNORE = ("mlflow.db", "mlruns/", "mlartifacts/")
MARKERS = {  # name: the ini line (pytest's "name(args): description")
    "data": "data: data tests: schemas, drift, leakage (mlops-testkit)",
    "model": "model: model and training tests, run when model code changed (mlops-testkit)",
    "behavioral": "behavioral: behavioral tests: MFT, INV, DIR (mlops-testkit)",
    "gate": "gate: quality gates deciding a promotion (mlops-testkit)",
    "devices": "devices(*names): run the device fixture only on these (mlops-testkit)",
    "mlscore": "mlscore(*items): ML Test Score items this test evidences (mlops-testkit)",
}
WORKFLOW = Path(".github/workflows/ml.yml")
GITLAB_STAGES = ("lint", "test", "train", "deploy", "monitor")
PRE_COMMIT = Path(".pre-commit-config.yaml")


class InitError(RuntimeError):
    """init refused; the message names the file (and line) and what to do. Nothing written."""


@dataclass(frozen=True)
class Options:
    root: Path
    ci: str | None = None
    model_name: str | None = None
    train_command: str | None = None
    model_paths: tuple[str, ...] = ()
    local: bool = False
    source: str | None = None  # OWNER/REPO (GitHub) or GROUP/PROJECT (GitLab)
    ref: str | None = None
    install: str | None = None
    # where init looks for a release of the installed version (a simple-index URL or a
    # folder of wheels); None looks nowhere. release: the version found there, pinned in
    # the CI install; None installs --source at --ref from git (init_install.py)
    index: str | None = None
    release: str | None = None
    index_said: str = ""  # what asking the index found, for init's report


@dataclass(frozen=True)
class Change:
    path: Path  # relative to the repository root
    before: str | None
    after: str
    why: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def describe(self) -> str:
        if not self.changed:
            return f"unchanged {self.path} ({self.why})"
        if self.before is None:
            return f"created   {self.path} ({self.why})"
        return f"updated   {self.path} ({self.why})"

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                (self.before or "").splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                f"a/{self.path}" if self.before is not None else "/dev/null",
                f"b/{self.path}",
            )
        )


def _read(path: Path) -> str | None:
    """The text of a file init merges into; None when it does not exist. Anything but a
    regular UTF-8 file where init reads and writes one (a directory, a FIFO, a broken link,
    a parent folder that is a file) refuses, naming the path."""
    if path.is_symlink() or path.exists():
        if path.is_dir():
            raise InitError(
                f"{path} is a directory, where init reads and writes a file: move it away "
                "and run init again"
            )
        if not path.is_file():
            raise InitError(
                f"{path} is not a regular file (a FIFO, socket, device or broken link): "
                "replace it with a file, or remove it, and run init again"
            )
    else:
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise InitError(
                f"{blocker} is a file, where init needs a folder to write {path}: move it "
                "away and run init again"
            )
        return None
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise InitError(f"{path}: not UTF-8 text; fix or remove it and run init again") from None
    except OSError as exc:
        raise InitError(f"{path} cannot be read ({exc.strerror or exc})") from None


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def git_root(path: Path) -> Path:
    """The top folder of the git repository holding ``path``; InitError outside one."""
    if not path.is_dir():
        raise InitError(f"{path} is not a folder")
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except FileNotFoundError:
        raise InitError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        raise InitError(
            f"{path.resolve()} is not in a git repository: run `git init` there first "
            "(the hooks and CI compare model code with git history)"
        )
    return Path(proc.stdout.strip()).resolve()


def _checked_yaml(change: Change) -> Change:
    try:
        import yaml
    except ImportError:  # pre-commit depends on PyYAML; without it, trust the text edit
        return change
    try:
        yaml.safe_load(change.after)
    except yaml.YAMLError as exc:
        raise InitError(
            f"{change.path}: init would break the YAML ({exc}); edit it by hand"
        ) from None
    return change
