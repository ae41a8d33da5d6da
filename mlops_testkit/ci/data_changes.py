"""Change-aware data: which datasets changed, and which tests that selects.

A dataset changes in two ways. A plain file under ``mltk_data_paths`` (e.g. ``data/**``)
changes in git like code. A DVC-tracked dataset never reaches git: its small pointer
does, a ``.dvc`` file (``dvc add``) or a stage's ``outs`` in ``dvc.lock`` (``dvc repro``),
which hold the output's hash. A pointer that changed between the merge base and the
working tree is read at both sides (the base through ``git show``, the working tree from
disk) and each output whose hash differs marks its tracked path as changed: no DVC
installation, cache or remote is needed. A renamed output (same hash, new path) marks
both paths; a pointer that changed while no output hash did (a new ``cmd`` or dependency
in ``dvc.lock``, a ``desc`` in a ``.dvc`` file) marks nothing and says so.

Tests are tied to datasets by markers, the globs matched against the changed data paths:
``@pytest.mark.data(paths=[...])`` runs only when one of its datasets changed,
``@pytest.mark.model(data=[...])`` also runs when one of its datasets changed. A pointer
that cannot be read counts as every dataset changed: the selection fails towards running.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the command line imports this module too: keep pytest out of it
    import pytest

    from mlops_testkit.ci.changes import ChangeDecision

# The keys of an output that identify its content (DVC 2 and 3, local and cloud
# outputs); size and nfiles follow from the hash but make a hand edit visible too.
CONTENT_KEYS = ("md5", "etag", "checksum", "version_id", "hash", "size", "nfiles")
HASH_KEYS = ("md5", "etag", "checksum", "version_id")


class DvcFormatError(ValueError):
    """A ``.dvc`` file or ``dvc.lock`` that is not in DVC's format."""


def is_pointer(path: str) -> bool:
    """A DVC pointer: a ``*.dvc`` file or a ``dvc.lock`` (not the ``.dvc/`` folder)."""
    name = path.rsplit("/", 1)[-1]
    return name == "dvc.lock" or (name.endswith(".dvc") and name != ".dvc")


def is_bookkeeping(path: str) -> bool:
    """Files DVC and git keep beside the data, never a dataset: a ``.gitignore`` (``dvc
    add`` writes one), ``.dvcignore``, the ``.dvc/`` folder and the pointers themselves."""
    parts = path.split("/")
    return is_pointer(path) or ".dvc" in parts[:-1] or parts[-1] in (".gitignore", ".dvcignore")


# --- reading DVC's files ---------------------------------------------------------------


def _scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        return inner.replace("''", "'") if text[0] == "'" else inner.replace('\\"', '"')
    if text.startswith("[") and text.endswith("]"):
        return [_scalar(p) for p in text[1:-1].split(",") if p.strip()]
    if text.startswith("{") and text.endswith("}"):
        pairs = (p.partition(":") for p in text[1:-1].split(",") if p.strip())
        return {k.strip(): _scalar(v) for k, _, v in pairs}
    if " #" in text:
        text = text.split(" #", 1)[0].rstrip()
    return None if text in ("", "~", "null") else text


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][1] == "-" or lines[i][1].startswith("- "):
        items: list[Any] = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1][:2] in ("-", "- "):
            rest = lines[i][1][1:].lstrip()
            if not rest:
                if i + 1 < len(lines) and lines[i + 1][0] > indent:
                    value, i = _block(lines, i + 1, lines[i + 1][0])
                else:
                    value, i = None, i + 1
            elif ":" in rest and rest[:1] not in "'\"[{":
                lines[i] = (indent + len(lines[i][1]) - len(rest), rest)
                value, i = _block(lines, i, lines[i][0])
            else:
                value, i = _scalar(rest), i + 1
            items.append(value)
        return items, i
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
        key, sep, rest = lines[i][1].partition(":")
        if not sep:
            raise DvcFormatError(f"line {lines[i][1]!r} is neither 'key: value' nor '- item'")
        key, rest = str(_scalar(key)), rest.strip()
        i += 1
        if rest[:1] in ("|", ">"):  # a block scalar: its lines are the value
            start = i
            while i < len(lines) and lines[i][0] > indent:
                i += 1
            mapping[key] = "\n".join(text for _, text in lines[start:i])
        elif rest:
            mapping[key] = _scalar(rest)
        elif i < len(lines) and (
            lines[i][0] > indent or (lines[i][0] == indent and lines[i][1][:2] in ("-", "- "))
        ):
            mapping[key], i = _block(lines, i, lines[i][0])
        else:
            mapping[key] = None
    return mapping, i


def parse_block_yaml(text: str) -> Any:
    """The block-style YAML subset DVC writes (mappings, sequences, scalars), for when
    neither PyYAML nor ruamel.yaml is installed. Values stay strings.

    >>> parse_block_yaml("outs:\\n- md5: ab\\n  size: 4\\n  path: train.csv\\n")
    {'outs': [{'md5': 'ab', 'size': '4', 'path': 'train.csv'}]}
    """
    lines = []
    for raw in text.replace("\t", "    ").splitlines():
        stripped = raw.strip()
        if stripped and not stripped.startswith("#") and stripped != "---":
            lines.append((len(raw) - len(raw.lstrip(" ")), stripped))
    if not lines:
        return None
    value, end = _block(lines, 0, lines[0][0])
    if end != len(lines):
        raise DvcFormatError(f"unexpected indentation at {lines[end][1]!r}")
    return value


def load_yaml(text: str) -> Any:
    """Parse a DVC file with PyYAML when installed, else with :func:`parse_block_yaml`."""
    try:
        import yaml
    except ImportError:
        return parse_block_yaml(text)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise DvcFormatError(f"not valid YAML ({str(exc).splitlines()[0]})") from None


@dataclass(frozen=True)
class DvcOut:
    """One output a pointer tracks: its path from the repository root and its hash."""

    path: str
    source: str  # "data/train.csv.dvc" or "dvc.lock stage prepare"
    content: tuple[tuple[str, str], ...]
    is_dir: bool = False

    def digest(self) -> str:
        """The hash, shortened for a message: ``md5 f69f5b72``."""
        found = dict(self.content)
        for key in HASH_KEYS:
            if found.get(key):
                return f"{key} {found[key][:8]}"
        return "no hash"


def _out(entry: Any, folder: str, source: str) -> DvcOut | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise DvcFormatError(f"{source}: an output without a 'path'")
    joined = posixpath.normpath(posixpath.join(folder, entry["path"].replace("\\", "/")))
    if joined.startswith("../") or joined == ".." or posixpath.isabs(entry["path"]):
        return None  # an external output, outside the repository: no test can read it
    content = tuple((k, str(entry[k])) for k in CONTENT_KEYS if entry.get(k) is not None)
    md5 = str(entry.get("md5") or "")
    return DvcOut(joined, source, content, md5.endswith(".dir") or "nfiles" in entry)


def outputs_of(pointer: str, text: str) -> list[DvcOut]:
    """The outputs a pointer file (``*.dvc`` or ``dvc.lock``, path from the repository
    root) tracks. Raises :class:`DvcFormatError` when it is not in DVC's format."""
    data = load_yaml(text)
    folder = posixpath.dirname(pointer)
    if data is None:
        return []
    if not isinstance(data, dict):
        raise DvcFormatError(f"{pointer}: expected a mapping at the top")
    found: list[DvcOut] = []
    if pointer.rsplit("/", 1)[-1] != "dvc.lock":
        outs = data.get("outs") or []
        if not isinstance(outs, list):
            raise DvcFormatError(f"{pointer}: 'outs' is not a list")
        base = posixpath.join(folder, str(data["wdir"])) if data.get("wdir") else folder
        found = [o for e in outs if (o := _out(e, base, pointer)) is not None]
        return found
    # dvc.lock: schema 2 keeps the stages under "stages"; DVC 1 wrote them at the top
    stages = data.get("stages", {}) if "schema" in data or "stages" in data else data
    if not isinstance(stages, dict):
        raise DvcFormatError(f"{pointer}: 'stages' is not a mapping")
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            raise DvcFormatError(f"{pointer}: stage {name!r} is not a mapping")
        outs = stage.get("outs") or []
        if not isinstance(outs, list):
            raise DvcFormatError(f"{pointer}: 'outs' of stage {name!r} is not a list")
        source = f"{pointer} stage {name}"
        found += [o for e in outs if (o := _out(e, folder, source)) is not None]
    return found


def _stage_fields(pointer: str, text: str | None) -> dict[str, dict[str, Any]]:
    """What a pointer holds besides its outputs, per stage (a .dvc file is one stage)."""
    if text is None:
        return {}
    try:
        data = load_yaml(text)
    except DvcFormatError:
        return {}
    if not isinstance(data, dict):
        return {}
    if pointer.rsplit("/", 1)[-1] == "dvc.lock":
        stages = data.get("stages", {}) if "schema" in data or "stages" in data else data
        if not isinstance(stages, dict):
            return {}
        return {
            str(k): {f: v for f, v in s.items() if f != "outs"}
            for k, s in stages.items()
            if isinstance(s, dict)
        }
    return {"": {f: v for f, v in data.items() if f != "outs"}}


# --- what changed ----------------------------------------------------------------------


@dataclass(frozen=True)
class DataChange:
    """One changed dataset path (relative to the rootdir) and why it counts as changed."""

    path: str
    how: str  # modified, added, removed, renamed from X, renamed to X, changed in git
    via: str  # the pointer and stage, or "git"
    detail: str = ""

    def describe(self) -> str:
        extra = f", {self.detail}" if self.detail else ""
        return f"{self.path}: {self.how} (via {self.via}{extra})"


@dataclass(frozen=True)
class DvcDiff:
    changes: tuple[DataChange, ...]
    notes: tuple[str, ...]  # pointers that changed while no output hash did
    unreadable: tuple[str, ...]  # pointers that are not in DVC's format


def _moved(before: DvcOut, after: DvcOut) -> str:
    """``md5 f69f5b72 -> c55816ab``."""
    old, new = before.digest(), after.digest()
    if old.split(" ")[0] == new.split(" ")[0] and old != "no hash":
        return f"{old} -> {new.split(' ', 1)[1]}"
    return f"{old} -> {new}"


def _shown(path: str, out: DvcOut, to_root: Any) -> str:
    shown = to_root(path) or path
    return shown + ("/" if out.is_dir else "")


def _pointer_of(source: str) -> str:
    return source.split(" stage ", 1)[0]


def _read_side(
    pointers: Sequence[str], read: Any, unreadable: dict[str, str], side: str
) -> tuple[dict[str, DvcOut], dict[str, str | None]]:
    outs: dict[str, DvcOut] = {}
    texts: dict[str, str | None] = {}
    for pointer in pointers:
        try:
            text = read(pointer)
            texts[pointer] = text
            for out in outputs_of(pointer, text) if text is not None else ():
                outs[out.path] = out
        except DvcFormatError as exc:
            texts[pointer] = None
            unreadable.setdefault(pointer, f"{pointer} ({side}): {exc}")
    return outs, texts


def diff_pointers(
    pointers: Sequence[str],
    read_base: Any,
    read_now: Any,
    to_root: Any = lambda p: p,
) -> DvcDiff:
    """Compare the outputs of the changed ``pointers`` (paths from the repository root)
    at the base (``read_base(path)``: text or None) and now (``read_now``). ``to_root``
    maps a repository path to the rootdir-relative one the globs match (None: outside)."""
    unreadable: dict[str, str] = {}
    old, old_texts = _read_side(pointers, read_base, unreadable, "base")
    new, new_texts = _read_side(pointers, read_now, unreadable, "now")
    came = [p for p in new if p not in old]
    gone = [p for p in old if p not in new]
    renamed: dict[str, str] = {}  # new path -> old path: same hash, the old path gone
    for path in came:
        for old_path in gone:
            twin = old[old_path]
            if old_path in renamed.values() or twin.digest() == "no hash":
                continue
            if twin.content == new[path].content:
                renamed[path] = old_path
                break
    moved_to = {o: n for n, o in renamed.items()}
    changes: list[DataChange] = []
    changed_pointers: set[str] = set()
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before is not None and after is not None:
            if before.content == after.content:
                continue
            how, via, detail = "modified", after.source, _moved(before, after)
        elif after is not None:
            via = after.source
            if path in renamed:
                how = f"renamed from {_shown(renamed[path], old[renamed[path]], to_root)}"
                detail = f"same content, {after.digest()}"
            else:
                how, detail = "added", after.digest()
        else:
            assert before is not None
            if path in moved_to:
                how = f"renamed to {_shown(moved_to[path], new[moved_to[path]], to_root)}"
            else:
                how = "removed"
            deleted = new_texts.get(_pointer_of(before.source)) is None
            via = before.source + (", pointer deleted" if deleted else "")
            detail = f"was {before.digest()}"
        out = after or before
        assert out is not None
        changed_pointers.add(_pointer_of(out.source))
        root_path = to_root(path)
        if root_path is not None:
            changes.append(DataChange(root_path + ("/" if out.is_dir else ""), how, via, detail))
    notes = tuple(
        _no_output_change(p, old_texts.get(p), new_texts.get(p))
        for p in pointers
        if p not in unreadable and p not in changed_pointers
    )
    return DvcDiff(tuple(changes), notes, tuple(unreadable.values()))


def _no_output_change(pointer: str, before: str | None, after: str | None) -> str:
    if before is None and after is None:
        return f"{pointer} changed but tracks no output"
    old, new = _stage_fields(pointer, before), _stage_fields(pointer, after)
    what = []
    for stage in sorted(set(old) | set(new)):
        fields = sorted(
            f
            for f in set(old.get(stage, {})) | set(new.get(stage, {}))
            if old.get(stage, {}).get(f) != new.get(stage, {}).get(f)
        )
        if stage not in old:
            what.append(f"stage {stage} added")
        elif stage not in new:
            what.append(f"stage {stage} removed")
        elif fields:
            what.append((f"stage {stage}: " if stage else "") + ", ".join(fields))
    said = f" ({'; '.join(what)} changed)" if what else ""
    return f"{pointer} changed{said}, but no output hash did: no dataset counts as changed"


def blobs_at(rev: str, paths: Sequence[str], toplevel: Path) -> dict[str, bytes]:
    """The contents of ``paths`` at commit ``rev``, read by one ``git cat-file --batch``
    (``git show`` once per file costs a process each); a path missing there is left out."""
    from mlops_testkit.ci.changes import ChangeError

    request = b"".join(os.fsencode(f"{rev}:{p}") + b"\n" for p in paths if "\n" not in p)
    try:
        proc = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=toplevel,
            input=request,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except FileNotFoundError:
        raise ChangeError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        raise ChangeError(f"git cat-file failed: {os.fsdecode(proc.stderr).strip()}")
    out, found, pos = proc.stdout, {}, 0
    for path in (p for p in paths if "\n" not in p):
        end = out.index(b"\n", pos)
        line = out[pos:end]
        pos = end + 1
        if line.endswith((b" missing", b" ambiguous")):
            continue
        header = line.split(b" ")
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[path] = out[pos : pos + size]
            pos += size + 1
        elif len(header) == 3:  # a tree or a submodule where a pointer was: not a file
            pos += int(header[2]) + 1
    return found


def dvc_diff(base: str, changed: Iterable[str], toplevel: Path, rootdir: Path) -> DvcDiff:
    """The data changes the DVC pointers among ``changed`` (paths from the repository
    root ``toplevel``) make between the commit ``base`` and the working tree."""
    pointers = sorted(p for p in set(changed) if is_pointer(p))
    if not pointers:
        return DvcDiff((), (), ())
    at_base = blobs_at(base, pointers, toplevel)

    def read_base(path: str) -> str | None:
        blob = at_base.get(path)
        if blob is None:
            return None  # not in the base: added since
        try:
            return blob.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DvcFormatError(f"cannot be read ({exc})") from None

    def read_now(path: str) -> str | None:
        try:
            return (toplevel / path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise DvcFormatError(f"cannot be read ({exc})") from None

    def to_root(path: str) -> str | None:
        rel = os.path.relpath(toplevel / path, rootdir).replace(os.sep, "/")
        return None if rel.startswith("../") else rel

    return diff_pointers(pointers, read_base, read_now, to_root)


# --- selecting tests -------------------------------------------------------------------


def marker_globs(marker: Any, key: str, nodeid: str) -> tuple[str, ...] | None:
    """The dataset globs of ``@pytest.mark.data(paths=...)`` / ``model(data=...)``: None
    when the marker does not name them. Raises ValueError for anything but a glob or a
    list of globs."""
    if key not in marker.kwargs:
        return None
    raw = marker.kwargs[key]
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)) or not all(isinstance(g, str) for g in items):
        raise ValueError(
            f"@pytest.mark.{marker.name}({key}=...) on {nodeid}: expected a glob or a list of "
            f"globs of dataset paths, e.g. {key}=['data/train.csv'], got {raw!r}"
        )
    globs = tuple(g.strip() for g in items if g.strip())
    if not globs:
        raise ValueError(
            f"@pytest.mark.{marker.name}({key}=...) on {nodeid}: names no glob; name the "
            f"datasets the test reads, e.g. {key}=['data/train.csv'], or drop {key}="
        )
    return globs


def select(
    decision: ChangeDecision, items: Sequence[pytest.Item]
) -> tuple[list[pytest.Item], list[pytest.Item], list[pytest.Item]]:
    """Split ``items`` into kept tests, deselected model tests and deselected data tests.

    A model test runs when model code changed or, with ``model(data=[...])``, when one of
    its datasets changed. A data test with ``data(paths=[...])`` runs when one of its
    datasets changed; other data tests and unmarked tests always run, as before."""
    keep: list[pytest.Item] = []
    drop_model: list[pytest.Item] = []
    drop_data: list[pytest.Item] = []
    for item in items:
        model = item.get_closest_marker("model")
        data = item.get_closest_marker("data")
        model_globs = marker_globs(model, "data", item.nodeid) if model is not None else None
        data_globs = marker_globs(data, "paths", item.nodeid) if data is not None else None
        tied = model_globs if model is not None else data_globs
        if tied is not None and not decision.data_globs:
            what = "model(data=...)" if model is not None else "data(paths=...)"
            raise ValueError(
                f"@pytest.mark.{what} on {item.nodeid} ties the test to datasets, but "
                "mltk_data_paths is not set: set the ini key mltk_data_paths (e.g. 'data/**'), "
                "--mltk-data-paths or MLTK_DATA_PATHS, so --mltk-changed-since can see "
                "data changes"
            )
        if model is not None:
            runs = decision.run_model_tests or (
                model_globs is not None and decision.data_matches(model_globs)
            )
            (keep if runs else drop_model).append(item)
        elif data_globs is not None:
            (keep if decision.data_matches(data_globs) else drop_data).append(item)
        else:
            keep.append(item)
    return keep, drop_model, drop_data
