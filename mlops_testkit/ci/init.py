"""``mlops-testkit init``: wire an existing git repository to the kit in one command.

It merges, never overwrites: the pytest settings (``mltk_model_paths`` and the markers)
into the project's pytest configuration, the hooks into ``.pre-commit-config.yaml``
(the remote form, or ``repo: local`` with ``local=True``), the local MLflow store into
``.gitignore``, and with ``ci`` a GitHub workflow or a ``.gitlab-ci.yml`` include, filled
with the model name and training command. Every file is computed and checked before the
first is written (through a temporary file and ``os.replace``); a conflict refuses with
the file and line and writes nothing. Running it twice changes nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from mlops_testkit.ci.init_base import (  # noqa: F401 - init's public names live here too
    CI_CHOICES,
    GITIGNORE,
    GITLAB_STAGES,
    HOOK_IDS,
    MARKERS,
    PRE_COMMIT,
    WORKFLOW,
    Change,
    InitError,
    Options,
    _checked_yaml,
    _read,
    _with_newline,
    git_root,
)
from mlops_testkit.ci.init_ci import github_change, github_workflow, gitlab_change
from mlops_testkit.ci.init_install import check_source
from mlops_testkit.ci.init_pytest import pytest_change

__all__ = [
    "MARKERS",
    "Change",
    "InitError",
    "Options",
    "github_workflow",
    "plan",
    "pytest_change",
    "run",
]

# --- pre-commit ---------------------------------------------------------------------


def _hooks_block(opts: Options, indent: str) -> list[str]:
    if opts.local:
        body = [
            "- repo: local  # the hooks run the mlops-testkit installed in this environment",
            "  hooks:",
            "    - id: mltk-no-model-artifacts",
            "      name: no model artifacts or MLflow stores (mlops-testkit)",
            "      entry: mlops-testkit check-artifacts",
            "      language: system",
            "      types: [file]",
            "    - id: mltk-affected-tests",
            "      name: data and affected model tests (mlops-testkit)",
            "      entry: mlops-testkit affected-tests",
            "      language: system",
            "      pass_filenames: false",
            "      always_run: true",
            "      verbose: true  # show which tests ran, and why",
            "      stages: [pre-push]",
        ]
    else:
        body = [
            f"- repo: {_repo_url(opts)}",
            f"  rev: {opts.ref}  # a commit of mlops-testkit (a tag once released)",
            "  hooks:",
            "    - id: mltk-no-model-artifacts",
            "    - id: mltk-affected-tests",
        ]
    return [f"{indent}{line}\n" for line in body]


def _repo_url(opts: Options) -> str:
    source = opts.source or ""
    return source if "://" in source else f"https://github.com/{source}"


def _hook_ids(text: str) -> set[str]:
    """The hook ids the pre-commit configuration installs: read from its YAML (an id in a
    comment or inside a string installs nothing). Invalid YAML refuses, naming the file."""
    try:
        import yaml
    except ImportError:  # pre-commit depends on PyYAML; without it, skip comment lines
        lines = [line.split(" #", 1)[0] for line in text.splitlines()]
        found = (re.match(r"\s*-?\s*id:\s*['\"]?([\w.-]+)", line) for line in lines)
        return {m.group(1) for m in found if m and not m.group(0).lstrip().startswith("#")}
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise InitError(
            f"{PRE_COMMIT}{at}: not valid YAML ({problem}); fix it and run init again"
        ) from None
    repos = config.get("repos") if isinstance(config, dict) else None
    return {
        str(hook["id"])
        for repo in (repos if isinstance(repos, list) else [])
        if isinstance(repo, dict) and isinstance(repo.get("hooks"), list)
        for hook in repo["hooks"]
        if isinstance(hook, dict) and "id" in hook
    }


def pre_commit_change(opts: Options) -> Change:
    path = opts.root / PRE_COMMIT
    before = _read(path)
    why = "pre-commit hooks" + (" (repo: local)" if opts.local else "")
    if before is None:
        lines = [
            "# pre-commit install  (installs the pre-commit and pre-push hooks)\n",
            "default_install_hook_types: [pre-commit, pre-push]\n",
            "repos:\n",
            *_hooks_block(opts, "  "),
        ]
        return _checked_yaml(Change(PRE_COMMIT, None, "".join(lines), why))
    if set(HOOK_IDS) <= _hook_ids(before):
        return Change(PRE_COMMIT, before, before, why)
    lines = _with_newline(before).splitlines(keepends=True)
    repos = next((i for i, line in enumerate(lines) if re.match(r"repos:\s*(#.*)?$", line)), None)
    if repos is None:
        at = next((i for i, line in enumerate(lines) if line.startswith("repos:")), None)
        where = f"{PRE_COMMIT}:{at + 1}" if at is not None else str(PRE_COMMIT)
        raise InitError(
            f"{where}: init appends to a block list `repos:` and finds none; add the "
            "mlops-testkit hooks by hand (see examples/pre-commit-config.yaml)"
        )
    end, indent = len(lines), "  "
    for i in range(repos + 1, len(lines)):
        line = lines[i]
        if line.strip() and not line.startswith((" ", "\t", "-", "#")):
            end = i
            break
        item = re.match(r"(\s*)- ", line)
        if (
            item
            and indent == "  "
            and i
            == next(
                j
                for j in range(repos + 1, len(lines))
                if lines[j].strip() and not lines[j].lstrip().startswith("#")
            )
        ):
            indent = item.group(1)
    while end > repos + 1 and not lines[end - 1].strip():
        end -= 1
    lines[end:end] = _hooks_block(opts, indent)
    top = [i for i, line in enumerate(lines) if line.startswith("default_install_hook_types:")]
    if not top:
        lines.insert(repos, "default_install_hook_types: [pre-commit, pre-push]\n")
    elif "pre-push" not in lines[top[0]]:
        raise InitError(
            f"{PRE_COMMIT}:{top[0] + 1}: default_install_hook_types lacks pre-push, which "
            "mltk-affected-tests needs: add it"
        )
    return _checked_yaml(Change(PRE_COMMIT, before, "".join(lines), why))


# --- .gitignore -----------------------------------------------------------------------


def gitignore_change(opts: Options) -> Change:
    path = opts.root / ".gitignore"
    before = _read(path)
    present = {line.strip().strip("/") for line in (before or "").splitlines()}
    missing = [entry for entry in GITIGNORE if entry.strip("/") not in present]
    if not missing:
        return Change(Path(".gitignore"), before, before or "", "the local MLflow store")
    text = _with_newline(before or "")
    if text and text.strip():
        text += "\n"
    text += "# the local MLflow store (mlops-testkit init)\n" + "".join(f"{m}\n" for m in missing)
    return Change(Path(".gitignore"), before, text, "the local MLflow store")


# --- the command ----------------------------------------------------------------------


def plan(opts: Options) -> list[Change]:
    """Every change init would make; InitError (nothing written) on any conflict."""
    if opts.ci is not None and opts.ci not in CI_CHOICES:
        raise InitError(f"--ci {opts.ci!r}: expected one of {', '.join(CI_CHOICES)}")
    remote_needed = opts.ci is not None or not opts.local
    if remote_needed and not (opts.source and opts.ref):
        what = "the CI templates" if opts.ci else "the pre-commit hooks (or pass --local)"
        raise InitError(
            f"{what} come from your copy of mlops-testkit: pass --source OWNER/REPO (where "
            "you get it from) and --ref COMMIT (a full commit SHA: git ls-remote "
            "https://github.com/OWNER/REPO HEAD; a release tag once there is one)"
        )
    if opts.ci is not None and not (opts.model_name and opts.train_command):
        raise InitError(
            f"--ci {opts.ci} needs --model-name NAME (the registered MLflow model) and "
            "--train-command CMD (trains, registers a version and sets the challenger alias)"
        )
    if remote_needed:
        check_source(opts)
    changes = [pytest_change(opts), pre_commit_change(opts), gitignore_change(opts)]
    if opts.ci == "github":
        changes.append(github_change(opts))
    elif opts.ci == "gitlab":
        changes.append(gitlab_change(opts))
    return changes


def apply(root: Path, changes: list[Change]) -> None:
    """Write the changed files, each through a temporary file and os.replace."""
    staged: list[tuple[Path, Path]] = []
    target = root
    try:
        for change in changes:
            if not change.changed:
                continue
            target = root / change.path
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((Path(tmp), target))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(change.after)
            if target.exists():
                os.chmod(tmp, target.stat().st_mode & 0o777)
            else:
                os.chmod(tmp, 0o644)
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise InitError(f"{target} cannot be written ({exc.strerror or exc})") from None
    for tmp, target in staged:
        os.replace(tmp, target)


def run(opts: Options, *, dry_run: bool = False) -> list[Change]:
    changes = plan(opts)
    if not dry_run:
        apply(opts.root, changes)
    return changes
