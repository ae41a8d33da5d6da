"""The pytest part of ``mlops-testkit init``: ``mltk_model_paths`` and the markers merged
into the project's pytest configuration, which is created when there is none (a
``[tool.pytest.ini_options]`` table in pyproject.toml, else a ``pytest.ini``), and
``pythonpath`` when the project's own code is not installed, so that its tests import it.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from mlops_testkit.ci import config as pytest_config
from mlops_testkit.ci.init_base import MARKERS, Change, InitError, Options, _read, _with_newline


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _section_span(lines: list[str], header: re.Pattern[str]) -> tuple[int, int] | None:
    """(index of the header line, index after the section's last non-blank line)."""
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return None
    end = len(lines)
    for i in range(start + 1, len(lines)):
        if re.match(r"\s*\[", lines[i]) and not lines[i].startswith((" ", "\t")):
            end = i
            break
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end


def _key_line(lines: list[str], span: tuple[int, int], key: str) -> int | None:
    pattern = re.compile(rf"\s*{re.escape(key)}\s*=")
    return next((i for i in range(span[0] + 1, span[1]) if pattern.match(lines[i])), None)


def _check_paths(existing: tuple[str, ...], wanted: tuple[str, ...], where: str) -> bool:
    """Whether mltk_model_paths must be written; InitError when it says something else."""
    if existing and wanted and set(existing) != set(wanted):
        raise InitError(
            f"{where}: mltk_model_paths is {', '.join(existing)}, not {', '.join(wanted)} "
            "(--model-paths): edit that line, or run init without --model-paths"
        )
    if not existing and not wanted:
        raise InitError(
            f"{where}: no mltk_model_paths yet: pass --model-paths with the globs of your "
            "model code, e.g. --model-paths 'src/model/**,train.py'"
        )
    return not existing


def _merge_ini(
    text: str, path: Path, section: str, opts: Options, have: dict, pythonpath: tuple[str, ...]
) -> str:
    lines = _with_newline(text).splitlines(keepends=True)
    # pytest (iniconfig) and configparser take a comment after the header: [pytest]  # x
    span = _section_span(lines, re.compile(rf"\[{re.escape(section)}\]\s*([#;].*)?$"))
    if span is None:  # config.find found the section, written in a way init does not edit
        raise InitError(
            f"{path.name}: init cannot find the line of the [{section}] header to edit; add "
            "mltk_model_paths and the markers there by hand"
        )
    from mlops_testkit.settings import parse_globs

    existing = parse_globs(str(have.get("mltk_model_paths", "")))
    line_no = _key_line(lines, span, "mltk_model_paths")
    where = f"{path.name}:{line_no + 1}" if line_no is not None else path.name
    add: list[str] = []
    if _check_paths(existing, opts.model_paths, where):
        add.append(f"mltk_model_paths = {' '.join(opts.model_paths)}\n")
    known = {
        m.split(":")[0].split("(")[0].strip() for m in str(have.get("markers", "")).splitlines()
    }
    missing = [f"    {v}\n" for k, v in MARKERS.items() if k not in known]
    markers_at = _key_line(lines, span, "markers")
    if missing and markers_at is not None:
        end = markers_at + 1
        while end < span[1] and lines[end].startswith((" ", "\t")) and lines[end].strip():
            end += 1
        lines[end:end] = missing
        span = (span[0], span[1] + len(missing))
    elif missing:
        add += ["markers =\n", *missing]
    if pythonpath:
        add.append(f"pythonpath = {' '.join(pythonpath)}\n")
    lines[span[1] : span[1]] = add
    return "".join(lines)


def _toml_array_end(lines: list[str], start: int) -> int | None:
    """Index of the line that closes the array opened on line ``start``."""
    depth, quote = 0, ""
    for i in range(start, len(lines)):
        text = lines[i] if i > start else lines[i].split("=", 1)[1]
        j = 0
        while j < len(text):
            ch = text[j]
            if quote:
                if ch == "\\" and quote == '"':
                    j += 1
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
                if depth == 0:
                    return i
            j += 1
    return None


def _merge_toml(
    text: str,
    path: Path,
    found: pytest_config.PytestConfig | None,
    opts: Options,
    pythonpath: tuple[str, ...],
) -> str:
    lines = _with_newline(text).splitlines(keepends=True)
    have = dict(found.values) if found is not None else {}
    if found is None:  # a pyproject.toml without pytest settings: add the table
        if lines and lines[-1].strip():
            lines.append("\n")
        lines.append("[tool.pytest.ini_options]\n")
        header = "tool.pytest.ini_options"
    else:
        header = found.section.strip("[]")
    span = _section_span(lines, re.compile(rf"\[{re.escape(header)}\]\s*(#.*)?$"))
    if span is None:
        raise InitError(
            f"{path.name}: the {found.section if found else ''} settings are not under a "
            "table header init can find (a dotted key or an inline table); add "
            "mltk_model_paths and the markers there by hand"
        )
    raw = have.get("mltk_model_paths")
    from mlops_testkit.settings import parse_globs

    existing = parse_globs(raw) if isinstance(raw, (str, list)) else ()
    line_no = _key_line(lines, span, "mltk_model_paths")
    where = f"{path.name}:{line_no + 1}" if line_no is not None else path.name
    add: list[str] = []
    if _check_paths(existing, opts.model_paths, where):
        add.append("mltk_model_paths = [" + ", ".join(map(_toml_string, opts.model_paths)) + "]\n")
    markers = have.get("markers", [])
    if not isinstance(markers, list):
        at = _key_line(lines, span, "markers")
        raise InitError(f"{path.name}:{(at or span[0]) + 1}: markers is not a list")
    known = {str(m).split(":")[0].split("(")[0].strip() for m in markers}
    missing = [f"  {_toml_string(v)},\n" for k, v in MARKERS.items() if k not in known]
    markers_at = _key_line(lines, span, "markers")
    if missing and markers_at is not None:
        close = _toml_array_end(lines, markers_at)
        if close is None or close == markers_at:
            raise InitError(
                f"{path.name}:{markers_at + 1}: markers is written on one line; break it "
                "into one marker per line (or add: "
                + ", ".join(k for k in MARKERS if k not in known)
                + ")"
            )
        before = lines[close - 1].rstrip("\n")
        if before.strip() and not before.rstrip().endswith((",", "[")):
            lines[close - 1] = before + ",\n"
        lines[close:close] = missing
        span = (span[0], span[1] + len(missing))
    elif missing:
        add += ["markers = [\n", *missing, "]\n"]
    if pythonpath:
        add.append("pythonpath = [" + ", ".join(map(_toml_string, pythonpath)) + "]\n")
    lines[span[1] : span[1]] = add
    return "".join(lines)


def pytest_change(opts: Options) -> Change:
    """The pytest settings merged into the configuration pytest reads, or a new one: a
    ``[tool.pytest.ini_options]`` table when there is a pyproject.toml, else pytest.ini."""
    found = pytest_config.find(opts.root)
    if found is not None and found.rootdir != opts.root:
        found = None if opts.root not in found.rootdir.parents else found
    have = dict(found.values) if found is not None else {}
    pythonpath, why = _pythonpath(opts.root, have)
    if found is None:
        pyproject = opts.root / "pyproject.toml"
        before = _read(pyproject)
        if before is not None:
            after = _merge_toml(before, pyproject, None, opts, pythonpath)
            return _checked_toml(Change(Path("pyproject.toml"), before, after, why), pythonpath)
        ini = opts.root / "pytest.ini"
        if _read(ini) is not None:  # pytest reads it whatever it holds; init cannot merge
            raise InitError(f"{ini.name}:1: holds no [pytest] section; add one and run init")
        found = pytest_config.PytestConfig(ini, opts.root, "[pytest]", {})
        before, text = None, "[pytest]\n"
        why += " (a new pytest.ini: no pyproject.toml, no pytest section elsewhere)"
    else:
        before = _read(found.path) or ""
        text = before
    rel = found.path.relative_to(opts.root)
    if found.path.name == "pyproject.toml":
        after = _merge_toml(text, found.path, found, opts, pythonpath)
        return _checked_toml(Change(rel, before, after, why), pythonpath)
    section = found.section.strip("[]")
    after = _merge_ini(text, found.path, section, opts, have, pythonpath)
    change = Change(rel, before, after, why)
    with tempfile.TemporaryDirectory() as tmp:  # what pytest will read back
        probe = Path(tmp) / found.path.name
        probe.write_text(after, encoding="utf-8")
        reread = pytest_config.read_file(probe)
    _verify(change, reread.values if reread else {}, pythonpath)
    return change


# Folders and files at the top of a repository that are not the project's importable code
_NOT_CODE_DIRS = {"tests", "test", "testing", "docs", "doc", "examples", "build", "dist"}
_NOT_CODE_FILES = {"setup.py", "conftest.py", "noxfile.py", "tasks.py", "fabfile.py", "dodo.py"}


def own_code(base: Path) -> list[str]:
    """Import names of the code at the top of ``base``: packages (folders with an
    ``__init__.py``) and modules, less tests, docs and tool files."""
    try:
        entries = sorted(base.iterdir())
    except OSError:
        return []
    names = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or not entry.stem.isidentifier():
            continue
        if entry.is_dir() and name not in _NOT_CODE_DIRS and (entry / "__init__.py").is_file():
            names.append(name)
        elif (
            entry.suffix == ".py"
            and entry.is_file()
            and name not in _NOT_CODE_FILES
            and not name.startswith("test_")
            and not entry.stem.endswith("_test")
        ):
            names.append(entry.stem)
    return names


def installed(name: str, repository: Path) -> bool:
    """Whether ``name`` imports in this environment without the repository on sys.path:
    from site-packages, an editable install's finder or the standard library."""
    import sys
    from importlib.machinery import PathFinder

    here = {repository.resolve(), (repository / "src").resolve()}

    def elsewhere(entry: str) -> bool:
        try:
            return bool(entry) and Path(entry).resolve() not in here
        except (OSError, RuntimeError, ValueError):
            return False

    if PathFinder.find_spec(name, [p for p in sys.path if elsewhere(p)]) is not None:
        return True
    for finder in sys.meta_path:
        module = getattr(finder, "__module__", "") or type(finder).__module__
        if finder is PathFinder or module.startswith("_pytest"):
            continue  # sys.path was asked above; pytest's hook asks sys.path again
        try:
            spec = finder.find_spec(name, None)
        except Exception:
            continue
        origin = getattr(spec, "origin", None) or ""
        inside = origin and repository.resolve() in Path(origin).resolve().parents
        if spec is not None and (not inside or module.startswith("__editable__")):
            return True
    return False


def _pythonpath(root: Path, have: dict) -> tuple[tuple[str, ...], str]:
    """The pythonpath entries the tests need (none when the key is set already), and the
    phrase init prints."""
    if "pythonpath" in have:
        return (), "pytest settings"
    missing = {
        entry: [name for name in own_code(root / entry) if not installed(name, root)]
        for entry in (".", "src")
    }
    entries = tuple(entry for entry, names in missing.items() if names)
    if not entries:
        return (), "pytest settings"
    names = sorted({n for entry in entries for n in missing[entry]})
    shown = ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")
    verb = "is" if len(names) == 1 else "are"
    return entries, (
        f"pytest settings; pythonpath {' '.join(entries)}: {shown} {verb} not installed, "
        "the tests import it from the repository"
    )


def _checked_toml(change: Change, pythonpath: tuple[str, ...]) -> Change:
    import io
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.load(io.BytesIO(change.after.encode()))
    except tomllib.TOMLDecodeError as exc:
        raise InitError(
            f"{change.path}: merging the pytest settings would break the TOML ({exc}); "
            "add them by hand"
        ) from None
    table = data.get("tool", {}).get("pytest", {})
    _verify(change, table.get("ini_options", table), pythonpath)
    return change


def _verify(change: Change, values: dict, pythonpath: tuple[str, ...]) -> None:
    from mlops_testkit.settings import parse_globs

    raw = values.get("mltk_model_paths", "")
    markers = values.get("markers", [])
    lines = markers.splitlines() if isinstance(markers, str) else markers
    names = {str(m).split(":")[0].split("(")[0].strip() for m in lines}
    read = values.get("pythonpath", "")
    paths = read.split() if isinstance(read, str) else [str(p) for p in read]
    if (
        not parse_globs(raw if isinstance(raw, (str, list)) else "")
        or set(MARKERS) - names
        or not set(pythonpath) <= set(paths)
    ):
        raise InitError(
            f"{change.path}: init could not merge the pytest settings; add them by hand"
        )
