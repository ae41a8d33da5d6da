"""Change-aware model tests: run expensive ``model`` tests only when model code changed.

``--mltk-changed-since REF`` compares the working tree (committed, staged, unstaged and
untracked files) with the merge base of REF and HEAD, the way a merge request is
compared with its target branch, and matches the changed paths against the globs of
``mltk_model_paths`` (relative to pytest's rootdir).

git lists paths NUL-separated (``-z``): a name with a tab, a quote or non-ASCII letters
arrives as it is, not quoted and escaped. A glob that reaches outside the rootdir (an
absolute path, a ``..`` segment) can never match a path relative to it: it is refused.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path


class ChangeError(ValueError):
    """The change detection cannot run: not a git repository, or an unknown ref."""


@lru_cache(maxsize=256)
def glob_to_regex(glob: str) -> re.Pattern[str]:
    """Compile a path glob: ``*`` and ``?`` stay inside one folder, ``**`` spans folders.

    >>> bool(glob_to_regex("src/**/*.py").match("src/a/b/net.py"))
    True
    >>> bool(glob_to_regex("src/*.py").match("src/a/net.py"))
    False
    """
    pattern = glob.strip().replace("\\", "/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if pattern.endswith("/"):
        pattern += "**"
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(path: str, globs: tuple[str, ...]) -> bool:
    return any(glob_to_regex(g).match(path) for g in globs)


def _git_bytes(args: list[str], cwd: Path) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        raise ChangeError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        said = os.fsdecode(proc.stderr or proc.stdout).strip().splitlines()
        raise ChangeError(said[0] if said else f"git {' '.join(args)} failed")
    return proc.stdout


def _git(args: list[str], cwd: Path) -> str:
    return os.fsdecode(_git_bytes(args, cwd))


def _git_paths(args: list[str], cwd: Path) -> list[str]:
    """The paths a git command lists, NUL-separated (``-z``): names with tabs, quotes,
    newlines or non-ASCII letters come as they are, decoded as the file system does."""
    out = _git_bytes([*args[:1], "-z", *args[1:]], cwd)
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


def check_globs(globs: tuple[str, ...], rootdir: Path) -> None:
    """Refuse a glob that can never match: changed paths are matched relative to the
    rootdir, as git lists them, so an absolute path or a ``..`` segment matches nothing."""
    import posixpath

    root = Path(rootdir).resolve()
    for glob in globs:
        text = glob.strip().replace("\\", "/")
        absolute = text.startswith("/") or re.match(r"[A-Za-z]:/", text) is not None
        parts = text.split("/")
        if not absolute and ".." not in parts:
            continue
        hint = ""
        if absolute:
            try:
                hint = Path(text).relative_to(root).as_posix()
            except ValueError:
                hint = ""
        else:
            normal = posixpath.normpath(text)
            hint = "" if normal == ".." or normal.startswith("../") else normal
        outside = "is an absolute path" if absolute else "has a '..' segment"
        raise ChangeError(
            f"mltk_model_paths: {glob!r} {outside}; globs match the changed paths relative to "
            f"the rootdir {root}, so it can never match "
            + (
                f"(write {hint!r})"
                if hint
                else "(it reaches outside the rootdir: run pytest from a rootdir that holds "
                "the model code, or move the code)"
            )
        )


@dataclass(frozen=True)
class ChangeDecision:
    """Whether model tests run, and the one line that says why."""

    ref: str
    run_model_tests: bool
    reason: str
    matched: tuple[str, ...] = ()
    unmatched_globs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ChangeDecision:
        return cls(
            ref=str(data["ref"]),
            run_model_tests=bool(data["run_model_tests"]),
            reason=str(data["reason"]),
            matched=tuple(data.get("matched", ())),  # type: ignore[arg-type]
            unmatched_globs=tuple(data.get("unmatched_globs", ())),  # type: ignore[arg-type]
        )


def _relative_to_root(paths: list[str], toplevel: Path, rootdir: Path) -> list[str]:
    out = []
    for p in paths:
        if not p:
            continue
        rel = os.path.relpath(toplevel / p, rootdir).replace(os.sep, "/")
        if not rel.startswith("../"):
            out.append(rel)
    return out


def decide(ref: str, globs: tuple[str, ...], rootdir: Path) -> ChangeDecision:
    """Compare the working tree under ``rootdir`` with ``ref`` and decide.

    Raises :class:`ChangeError` when ``rootdir`` is not in a git repository or ``ref``
    is not a commit there.
    """
    check_globs(globs, rootdir)
    try:
        toplevel = Path(_git(["rev-parse", "--show-toplevel"], rootdir).strip())
    except ChangeError as exc:
        raise ChangeError(f"{rootdir} is not inside a git repository ({exc})") from None
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], toplevel)
    except ChangeError:
        raise ChangeError(
            f"{ref!r} is not a commit in the git repository at {toplevel}; pass a branch, "
            "tag or commit that exists locally, e.g. origin/main (in CI, fetch it first)"
        ) from None
    try:
        base = _git(["merge-base", ref, "HEAD"], toplevel).strip()
    except ChangeError:
        base = ref  # unrelated histories: fall back to a plain diff against the ref
    changed = _git_paths(["diff", "--name-only", "--no-renames", base, "--"], toplevel)
    untracked = _git_paths(["ls-files", "--others", "--exclude-standard"], toplevel)
    changed_paths = sorted(set(_relative_to_root(changed + untracked, toplevel, rootdir)))

    tracked = _git_paths(["ls-files"], toplevel)
    repo_files = _relative_to_root(tracked + untracked, toplevel, rootdir)
    unmatched = tuple(g for g in globs if not any(glob_to_regex(g).match(f) for f in repo_files))
    matched = tuple(p for p in changed_paths if matches(p, globs))
    short = base[:10]
    if len(unmatched) == len(globs):
        return ChangeDecision(
            ref,
            True,
            f"running model tests: mltk_model_paths ({', '.join(globs)}) matches no file in "
            "the repository, so changes cannot be detected; fix the globs",
            (),
            unmatched,
        )
    if matched:
        shown = ", ".join(matched[:3]) + (
            f" (+{len(matched) - 3} more)" if len(matched) > 3 else ""
        )
        return ChangeDecision(
            ref,
            True,
            f"running model tests: {len(matched)} model file(s) changed since {ref} "
            f"(merge base {short}): {shown}",
            matched,
            unmatched,
        )
    return ChangeDecision(
        ref,
        False,
        f"no file matching mltk_model_paths ({', '.join(globs)}) changed since {ref} "
        f"(merge base {short}; {len(changed_paths)} other file(s) changed)",
        (),
        unmatched,
    )
