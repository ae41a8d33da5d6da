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

from mlops_testkit.ci import config as pytest_config
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

__all__ = ["MARKERS", "Change", "InitError", "Options", "github_workflow", "plan", "run"]

# --- pytest configuration -------------------------------------------------------------


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


def _merge_ini(text: str, path: Path, section: str, opts: Options, have: dict) -> str:
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
    text: str, path: Path, found: pytest_config.PytestConfig | None, opts: Options
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
    lines[span[1] : span[1]] = add
    return "".join(lines)


def pytest_change(opts: Options) -> Change:
    found = pytest_config.find(opts.root)
    if found is not None and found.rootdir != opts.root:
        found = None if opts.root not in found.rootdir.parents else found
    if found is None:
        pyproject = opts.root / "pyproject.toml"
        if not pyproject.is_file():
            raise InitError(
                f"no pytest configuration in {opts.root} (pytest.ini, pyproject.toml, tox.ini "
                "or setup.cfg): create one, e.g. a pytest.ini holding the line [pytest], "
                "and run init again"
            )
        before = _read(pyproject) or ""
        after = _merge_toml(before, pyproject, None, opts)
        return _checked_toml(Change(Path("pyproject.toml"), before, after, "pytest settings"))
    rel = found.path.relative_to(opts.root)
    before = _read(found.path) or ""
    if found.path.name == "pyproject.toml":
        after = _merge_toml(before, found.path, found, opts)
        return _checked_toml(Change(rel, before, after, "pytest settings"))
    section = found.section.strip("[]")
    after = _merge_ini(before, found.path, section, opts, found.values)
    change = Change(rel, before, after, "pytest settings")
    with tempfile.TemporaryDirectory() as tmp:  # what pytest will read back
        probe = Path(tmp) / found.path.name
        probe.write_text(after, encoding="utf-8")
        reread = pytest_config.read_file(probe)
    _verify(change, reread.values if reread else {}, opts)
    return change


def _checked_toml(change: Change) -> Change:
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
    _verify(change, table.get("ini_options", table), None)
    return change


def _verify(change: Change, values: dict, opts: Options | None) -> None:
    from mlops_testkit.settings import parse_globs

    raw = values.get("mltk_model_paths", "")
    markers = values.get("markers", [])
    lines = markers.splitlines() if isinstance(markers, str) else markers
    names = {str(m).split(":")[0].split("(")[0].strip() for m in lines}
    if not parse_globs(raw if isinstance(raw, (str, list)) else "") or set(MARKERS) - names:
        raise InitError(
            f"{change.path}: init could not merge the pytest settings; add them by hand"
        )


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
