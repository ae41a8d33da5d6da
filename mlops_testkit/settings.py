"""Settings of the plugin: one table, three sources, one precedence.

Every setting can come from a command-line flag (``--mltk-*``), an environment
variable (``MLTK_*``) or an ini key (``mltk_*``); the first one present wins in that
order, and the report header says which. Values are parsed by the same function
whatever their source, so a bad value gets the same message naming where it came from.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_testkit.registry.tracking import DEFAULT_CANDIDATE, parse_candidate, parse_model_name

if TYPE_CHECKING:  # the command line imports this module too: keep pytest out of it
    import pytest

DEVICE_NAMES = ("cpu", "cuda", "mps")
SEED_MAX = 2**32 - 1  # numpy's legacy global RNG accepts seeds up to 2**32 - 1
RANDOM_SEED = "random"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_seed(text: str) -> int | str:
    """Parse a seed: an integer in [0, 2**32 - 1], or ``random``."""
    value = str(text).strip()
    if value.lower() == RANDOM_SEED:
        return RANDOM_SEED
    if re.fullmatch(r"\d+", value) and int(value) <= SEED_MAX:
        return int(value)
    raise ValueError(
        f"{text!r} is not a seed; expected an integer from 0 to {SEED_MAX} or 'random'"
    )


def parse_devices(text: str) -> tuple[str, ...] | None:
    """Parse a comma-separated device list; ``auto`` (or empty) means every available one."""
    value = str(text).strip().lower()
    if value in ("", "auto"):
        return None
    names: list[str] = []
    for part in value.split(","):
        name = part.strip()
        if name not in DEVICE_NAMES:
            raise ValueError(
                f"unknown device {part.strip()!r} in {text!r}; expected a comma-separated "
                f"list of {', '.join(DEVICE_NAMES)} (e.g. 'cpu,cuda') or 'auto'"
            )
        if name not in names:
            names.append(name)
    return tuple(names)


def parse_bool(text: str) -> bool:
    """Parse a boolean written as true/false, yes/no, on/off or 1/0."""
    value = str(text).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean; expected true/false, yes/no, on/off or 1/0")


def parse_ref(text: str) -> str:
    """Parse a git revision: any non-empty string (it is checked against git later)."""
    value = str(text).strip()
    if not value:
        raise ValueError(
            "an empty git revision; expected a branch, tag or commit, e.g. origin/main"
        )
    return value


def parse_path(text: str) -> str:
    """Parse the path of a file to write: non-empty, and not a directory, device or FIFO
    (a symlink is written through to its target; the link is kept)."""
    from pathlib import Path

    from mlops_testkit._io import writable_target

    value = str(text).strip()
    if not value or "\0" in value:
        raise ValueError(f"{text!r} is not a file path; expected e.g. gate-report.json")
    try:
        writable_target(Path(value))
    except OSError as exc:
        raise ValueError(str(exc)) from None
    return value


def parse_globs(text: str | list[str]) -> tuple[str, ...]:
    """Parse path globs given as a list (ini) or a comma/whitespace separated string."""
    parts = text if isinstance(text, list) else re.split(r"[,\s]+", str(text))
    return tuple(p.strip() for p in parts if p.strip())


def parse_manual_items(text: str | list[str]) -> tuple[str, ...]:
    """Parse ML Test Score items done by hand: lines of 'ITEM: note'."""
    from mlops_testkit.reporting.score import parse_manual

    lines = text if isinstance(text, list) else str(text).splitlines()
    parse_manual(lines)  # raises ValueError naming the bad line
    return tuple(str(line).strip() for line in lines if str(line).strip())


@dataclass(frozen=True)
class Setting:
    """One setting and the three names it answers to."""

    name: str
    parse: Callable[[Any], Any]
    default: Any
    help: str
    flag: str | None = "value"  # "value", "store_true", or None for no command-line flag
    metavar: str | None = None
    ini_type: str = "string"

    @property
    def option(self) -> str:
        return "--mltk-" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return "mltk_" + self.name

    @property
    def ini(self) -> str:
        return "mltk_" + self.name

    @property
    def env(self) -> str:
        return "MLTK_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "seed",
        parse_seed,
        0,
        "Seed for Python, numpy and torch RNGs before every test, or 'random' (default: 0)",
        metavar="N|random",
    ),
    Setting(
        "devices",
        parse_devices,
        None,
        "Devices the 'device' fixture runs on, e.g. cpu,cuda (default: auto, every available)",
        metavar="LIST",
    ),
    Setting(
        "require_devices",
        parse_bool,
        False,
        "Fail, instead of skip, tests on a requested device that is missing (default: off)",
        flag="store_true",
    ),
    Setting(
        "changed_since",
        parse_ref,
        None,
        "Deselect 'model' tests unless mltk_model_paths changed since this git ref (default: off)",
        metavar="REF",
    ),
    Setting(
        "model_paths",
        parse_globs,
        (),
        "Globs of model code for --mltk-changed-since, relative to rootdir (default: none)",
        metavar="GLOBS",
        ini_type="linelist",
    ),
    Setting(
        "data_paths",
        parse_globs,
        (),
        "Globs of datasets (files, DVC-tracked paths) for --mltk-changed-since (default: none)",
        metavar="GLOBS",
        ini_type="linelist",
    ),
    Setting(
        "gate_report",
        parse_path,
        None,
        "Write every gate result to this JSON file, with a content hash (default: off)",
        metavar="PATH",
    ),
    Setting(
        "model_name",
        parse_model_name,
        None,
        "Registered MLflow model the 'candidate' and 'champion' fixtures load (default: none)",
        metavar="NAME",
    ),
    Setting(
        "candidate",
        parse_candidate,
        parse_candidate(DEFAULT_CANDIDATE),
        "Candidate version: a number, an alias or a models:/ URI (default: alias challenger)",
        metavar="VERSION|ALIAS|URI",
    ),
    Setting(
        "mlflow_log",
        parse_bool,
        False,
        "Log gate results and test counts to the candidate's MLflow run, or a new run "
        "(default: off)",
        flag="store_true",
    ),
    Setting(
        "score",
        parse_bool,
        False,
        "Print the ML Test Score of this run and what to add next (default: off)",
        flag="store_true",
    ),
    Setting(
        "json",
        parse_path,
        None,
        "Write every result (tests, gates, ML Test Score) to this JSON file (default: off)",
        metavar="PATH",
    ),
    Setting(
        "report",
        parse_path,
        None,
        "Write a Markdown (.md) or HTML (.html) report of the run (default: off)",
        metavar="PATH",
    ),
    Setting(
        "manual_items",
        parse_manual_items,
        (),
        "ML Test Score items done by hand, one 'ITEM: note' per line (0.5 each)",
        flag=None,
        ini_type="linelist",
    ),
    Setting(
        "autoseed",
        parse_bool,
        True,
        "Reseed the RNGs before every test (default: true)",
        flag=None,
    ),
    Setting(
        "deterministic",
        parse_bool,
        False,
        "Turn on torch deterministic algorithms for every test (default: false)",
        flag=None,
    ),
)

BY_NAME = {s.name: s for s in SETTINGS}


def argparse_type(parse: Callable[[Any], Any]) -> Callable[[str], Any]:
    """Wrap a parser so argparse reports its message as a usage error (exit 4)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__.replace("parse_", "")
    return convert


def add_options(parser: pytest.Parser) -> None:
    """Register the flags and ini keys of every setting in one option group."""
    group = parser.getgroup("mlops-testkit", "mlops-testkit: ML data, model and gate tests")
    for s in SETTINGS:
        if s.flag == "store_true":
            group.addoption(s.option, action="store_true", default=None, dest=s.dest, help=s.help)
        elif s.flag == "value":
            group.addoption(
                s.option,
                default=None,
                dest=s.dest,
                metavar=s.metavar,
                type=argparse_type(s.parse),
                help=s.help,
            )
        parser.addini(s.ini, s.help + f"; env {s.env}", type=s.ini_type)


@dataclass(frozen=True)
class Resolved:
    """A setting's value and where it came from: option, env, ini or default."""

    value: Any
    source: str

    def describe(self, setting: Setting) -> str:
        return {
            "option": setting.option,
            "env": setting.env,
            "ini": setting.ini,
            "default": "default",
        }[self.source]


def resolve(config: pytest.Config, name: str) -> Resolved:
    """Resolve one setting with precedence option > env > ini > default."""
    s = BY_NAME[name]
    if s.flag is not None:
        value = config.getoption(s.dest, default=None)
        if value is not None:
            return Resolved(value, "option")
    raw_env = os.environ.get(s.env, "")
    if raw_env.strip():
        return Resolved(_parse_or_usage_error(s, raw_env, f"environment variable {s.env}"), "env")
    raw_ini = config.getini(s.ini)
    if raw_ini not in ("", [], None):
        return Resolved(_parse_or_usage_error(s, raw_ini, f"ini key {s.ini}"), "ini")
    return Resolved(s.default, "default")


def _parse_or_usage_error(s: Setting, raw: Any, where: str) -> Any:
    try:
        return s.parse(raw)
    except ValueError as exc:
        import pytest

        raise pytest.UsageError(f"mlops-testkit: {where}: {exc}") from None
