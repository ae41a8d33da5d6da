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
from typing import Any


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


def check_globs(globs: tuple[str, ...], rootdir: Path, what: str = "mltk_model_paths") -> None:
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
            f"{what}: {glob!r} {outside}; globs match the changed paths relative to "
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
    # data (mltk_data_paths): the changed dataset paths, one line of why for each, the
    # DVC pointers that changed without an output change, and those that cannot be read
    data_globs: tuple[str, ...] = ()
    data_changed: tuple[str, ...] = ()
    data_reasons: tuple[str, ...] = ()
    dvc_notes: tuple[str, ...] = ()
    data_unreadable: tuple[str, ...] = ()
    data_unmatched_globs: tuple[str, ...] = ()

    @property
    def data_blind(self) -> bool:
        """Data changes cannot be seen: a pointer cannot be read, or no data glob matches
        anything in the repository. Then every dataset counts as changed."""
        return bool(self.data_unreadable) or (
            bool(self.data_globs) and len(self.data_unmatched_globs) == len(self.data_globs)
        )

    @property
    def data_changed_any(self) -> bool:
        return bool(self.data_changed) or self.data_blind

    @property
    def run_any(self) -> bool:
        """Whether some model test may run: model code or a dataset changed."""
        return self.run_model_tests or self.data_changed_any

    def data_matches(self, globs: tuple[str, ...]) -> bool:
        """Whether a changed dataset matches one of ``globs`` (a folder output also as
        ``folder/``); every dataset counts as changed when a pointer cannot be read."""
        if self.data_blind:
            return True
        return any(matches(p, globs) or matches(p.rstrip("/"), globs) for p in self.data_changed)

    def explain(self) -> list[str]:
        """The reason, then one line per changed dataset and per DVC note."""
        lines = [self.reason]
        lines += [f"  data changed: {r}" for r in self.data_reasons]
        lines += [f"  {n}" for n in self.dvc_notes]
        lines += [
            f"  cannot read {u}: every dataset counts as changed" for u in self.data_unreadable
        ]
        return lines

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
            **{
                key: tuple(data.get(key, ()))  # type: ignore[arg-type]
                for key in (
                    "data_globs",
                    "data_changed",
                    "data_reasons",
                    "dvc_notes",
                    "data_unreadable",
                    "data_unmatched_globs",
                )
            },
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


def decide(
    ref: str, globs: tuple[str, ...], rootdir: Path, data_globs: tuple[str, ...] = ()
) -> ChangeDecision:
    """Compare the working tree under ``rootdir`` with ``ref`` and decide.

    ``data_globs`` (``mltk_data_paths``) turn on data changes: plain files matching them
    and DVC-tracked outputs whose hash changed (:mod:`mlops_testkit.ci.data_changes`).
    Raises :class:`ChangeError` when ``rootdir`` is not in a git repository or ``ref``
    is not a commit there.
    """
    check_globs(globs, rootdir)
    check_globs(data_globs, rootdir, "mltk_data_paths")
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
    data = _data_part(base, changed + untracked, changed_paths, toplevel, rootdir, data_globs)
    # a model file tracked by DVC (models/tokenizer.json.dvc) changes through its pointer
    changed_paths = sorted(set(changed_paths) | set(data["dvc_paths"]))

    tracked = _git_paths(["ls-files"], toplevel)
    repo_files = _relative_to_root(tracked + untracked, toplevel, rootdir)
    unmatched = tuple(g for g in globs if not any(glob_to_regex(g).match(f) for f in repo_files))
    matched = tuple(p for p in changed_paths if matches(p, globs))
    short = base[:10]
    decision = _model_part(ref, globs, short, changed_paths, matched, unmatched)
    if not data_globs:
        return decision
    return _with_data(decision, ref, data_globs, data)


def _model_part(
    ref: str,
    globs: tuple[str, ...],
    short: str,
    changed_paths: list[str],
    matched: tuple[str, ...],
    unmatched: tuple[str, ...],
) -> ChangeDecision:
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


def _data_part(
    base: str,
    changed_top: list[str],
    changed_paths: list[str],
    toplevel: Path,
    rootdir: Path,
    data_globs: tuple[str, ...],
) -> dict[str, Any]:
    """Changed datasets: plain files matching ``data_globs`` and DVC outputs whose hash
    changed (every DVC output, for the model globs too; the data globs pick the data)."""
    from mlops_testkit.ci.data_changes import DataChange, dvc_diff, is_bookkeeping

    if not data_globs:  # DVC awareness comes with mltk_data_paths: no cost without it
        return {"changes": [], "dvc_paths": [], "notes": (), "unreadable": (), "unmatched": ()}
    dvc = dvc_diff(base, changed_top, toplevel, rootdir)
    plain = [
        DataChange(p, "changed in git", "git")
        for p in changed_paths
        if not is_bookkeeping(p) and matches(p, data_globs)
    ]
    dvc_changes = [
        c
        for c in dvc.changes
        if matches(c.path, data_globs) or matches(c.path.rstrip("/"), data_globs)
    ]
    return {
        "changes": plain + dvc_changes,
        "dvc_paths": [c.path.rstrip("/") for c in dvc.changes],
        "notes": dvc.notes,
        "unreadable": dvc.unreadable,
        "unmatched": _unmatched_data_globs(data_globs, toplevel, rootdir),
    }


def _with_data(
    decision: ChangeDecision, ref: str, data_globs: tuple[str, ...], data: dict[str, Any]
) -> ChangeDecision:
    from dataclasses import replace

    changes = data["changes"]
    shown = ", ".join(c.path for c in changes[:3]) + (
        f" (+{len(changes) - 3} more)" if len(changes) > 3 else ""
    )
    if data["unmatched"] and len(data["unmatched"]) == len(data_globs):
        said = (
            f"mltk_data_paths ({', '.join(data_globs)}) matches no file or DVC output in the "
            "repository, so data changes cannot be detected: every dataset counts as "
            "changed; fix the globs"
        )
    elif data["unreadable"]:
        said = (
            f"a DVC pointer cannot be read ({data['unreadable'][0]}): every dataset counts "
            "as changed, the tests tied to data run"
        )
    elif changes:
        said = (
            f"{len(changes)} dataset path(s) matching mltk_data_paths changed since {ref}: "
            f"{shown}; the data and model tests tied to them run"
        )
    else:
        said = f"no dataset matching mltk_data_paths ({', '.join(data_globs)}) changed since {ref}"
    return replace(
        decision,
        reason=f"{decision.reason}; {said}",
        data_globs=data_globs,
        data_changed=tuple(c.path for c in changes),
        data_reasons=tuple(c.describe() for c in changes),
        dvc_notes=tuple(data["notes"]),
        data_unreadable=tuple(data["unreadable"]),
        data_unmatched_globs=tuple(data["unmatched"]),
    )


def _unmatched_data_globs(
    data_globs: tuple[str, ...], toplevel: Path, rootdir: Path
) -> tuple[str, ...]:
    """The data globs that match no file git knows and no output a DVC pointer tracks."""
    from mlops_testkit.ci.data_changes import DvcFormatError, is_pointer, outputs_of

    if not data_globs:
        return ()
    files = _git_paths(["ls-files", "--cached", "--others", "--exclude-standard"], toplevel)
    # what git knows, then the path a .dvc file names by convention (data/x.csv.dvc
    # tracks data/x.csv); pointers are parsed only for the globs still unmatched
    known = _relative_to_root(files, toplevel, rootdir)
    known += _relative_to_root(
        [p[: -len(".dvc")] for p in files if p.endswith(".dvc") and is_pointer(p)],
        toplevel,
        rootdir,
    )

    def unmatched(globs: tuple[str, ...], paths: list[str]) -> tuple[str, ...]:
        return tuple(
            g for g in globs if not any(matches(p, (g,)) or matches(f"{p}/", (g,)) for p in paths)
        )

    left = unmatched(data_globs, known)
    for path in files:
        if not left:
            break
        if not is_pointer(path):
            continue
        try:
            outs = outputs_of(path, (toplevel / path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, DvcFormatError):
            continue
        left = unmatched(left, _relative_to_root([o.path for o in outs], toplevel, rootdir))
    return left
