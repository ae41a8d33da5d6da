"""Read the project's pytest configuration without starting pytest.

The CI templates and hooks take the globs of model code from the same place the plugin
does (``mltk_model_paths`` in the pytest configuration), so they are written once. The
file is found as pytest finds it: from a folder upwards, the first of ``pytest.ini``,
``.pytest.ini``, ``pyproject.toml`` (``[tool.pytest.ini_options]`` or ``[tool.pytest]``),
``tox.ini`` (``[pytest]``) and ``setup.cfg`` (``[tool:pytest]``) that holds a pytest
section; its folder is pytest's rootdir, which the globs are relative to.
"""

from __future__ import annotations

import configparser
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INI_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


class ConfigError(ValueError):
    """The pytest configuration cannot be read (a syntax error), or holds no model paths."""


@dataclass(frozen=True)
class PytestConfig:
    """The pytest section that pytest itself would use, as a plain mapping."""

    path: Path
    rootdir: Path
    section: str  # how the file names it, e.g. [tool.pytest.ini_options]
    values: dict[str, Any] = field(default_factory=dict)


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - pytest depends on tomli before 3.11
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _load_ini(path: Path, section: str) -> dict[str, str] | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be parsed ({exc})") from None
    if not parser.has_section(section):
        return None
    return dict(parser.items(section))


def read_file(path: Path) -> PytestConfig | None:
    """The pytest section of one file, or None when the file has none."""
    name = path.name
    if name in ("pytest.ini", ".pytest.ini"):
        return PytestConfig(path, path.parent, "[pytest]", _load_ini(path, "pytest") or {})
    if name == "pyproject.toml":
        tool = _load_toml(path).get("tool", {})
        pytest_table = tool.get("pytest") if isinstance(tool, dict) else None
        if not isinstance(pytest_table, dict):
            return None
        legacy = pytest_table.get("ini_options")
        if isinstance(legacy, dict):
            return PytestConfig(path, path.parent, "[tool.pytest.ini_options]", dict(legacy))
        native = {k: v for k, v in pytest_table.items() if k != "ini_options"}
        return PytestConfig(path, path.parent, "[tool.pytest]", native)
    section = "pytest" if name == "tox.ini" else "tool:pytest"
    values = _load_ini(path, section)
    return None if values is None else PytestConfig(path, path.parent, f"[{section}]", values)


def find(start: Path) -> PytestConfig | None:
    """The pytest configuration pytest would use when started in ``start``."""
    start = start.resolve()
    for base in (start, *start.parents):
        for name in INI_FILES:
            candidate = base / name
            if candidate.is_file():
                found = read_file(candidate)
                if found is not None:
                    return found
    return None


def model_paths(start: Path) -> tuple[tuple[str, ...], Path, str]:
    """The globs of model code, their rootdir and where they came from.

    ``MLTK_MODEL_PATHS`` wins over the ini key, as it does for the plugin. Raises
    :class:`ConfigError` when neither names a glob.
    """
    from mlops_testkit.settings import parse_globs

    env = os.environ.get("MLTK_MODEL_PATHS", "").strip()
    config = find(start)
    rootdir = config.rootdir if config is not None else start.resolve()
    if env:
        return parse_globs(env), rootdir, "MLTK_MODEL_PATHS"
    if config is None:
        raise ConfigError(
            f"no pytest configuration found from {start.resolve()} upwards (pytest.ini, "
            "pyproject.toml [tool.pytest.ini_options], tox.ini or setup.cfg): add "
            "mltk_model_paths there (mlops-testkit init writes it), or pass --paths"
        )
    raw = config.values.get("mltk_model_paths")
    globs = parse_globs(raw) if isinstance(raw, (str, list)) else ()
    if not globs:
        raise ConfigError(
            f"{config.path} {config.section} has no mltk_model_paths: add the globs of your "
            "model code there (mlops-testkit init writes it), or pass --paths"
        )
    return globs, rootdir, f"mltk_model_paths in {config.path.name}"


def data_paths(start: Path) -> tuple[tuple[str, ...], str]:
    """The globs of datasets and where they came from: ``MLTK_DATA_PATHS``, else
    ``mltk_data_paths`` of the pytest configuration; ``()`` when neither is set (data
    changes are then not looked at)."""
    from mlops_testkit.settings import parse_globs

    env = os.environ.get("MLTK_DATA_PATHS", "").strip()
    if env:
        return parse_globs(env), "MLTK_DATA_PATHS"
    config = find(start)
    raw = config.values.get("mltk_data_paths") if config is not None else None
    globs = parse_globs(raw) if isinstance(raw, (str, list)) else ()
    if not globs or config is None:
        return (), "nowhere (mltk_data_paths is not set: data changes are not looked at)"
    return globs, f"mltk_data_paths in {config.path.name}"
