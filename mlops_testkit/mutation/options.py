"""The ``--mltk-mutate*`` options and how the mutant processes' command line is made.

Standard library only: the plugin registers these options in every pytest run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

# (flag, dest, metavar, parse, help); flag None for store_true
OPTIONS = (
    (
        "--mltk-mutate",
        "mltk_mutate",
        None,
        None,
        "Plant ML faults (mutants) in the code under test and report which ones the selected "
        "tests kill: the ML mutation score (default: off)",
    ),
    (
        "--mltk-mutate-operators",
        "mltk_mutate_operators",
        "LIST",
        "names",
        "Comma-separated mutation operators to run (default: all)",
    ),
    (
        "--mltk-mutate-runs",
        "mltk_mutate_runs",
        "N",
        "positive_int",
        "Run each mutant under N seeds; killed when killed in a majority (default: 1)",
    ),
    (
        "--mltk-mutate-workers",
        "mltk_mutate_workers",
        "N",
        "positive_int",
        "Mutant runs in parallel (default: the number of CPUs)",
    ),
    (
        "--mltk-mutate-timeout",
        "mltk_mutate_timeout",
        "FACTOR",
        "factor",
        "A mutant run taking more than FACTOR x the clean run is killed, 'timeout' (default: 10)",
    ),
    (
        "--mltk-mutate-min-score",
        "mltk_mutate_min_score",
        "S",
        "score",
        "Fail the session when the ML mutation score is under S, in [0, 1] (default: off)",
    ),
    (
        "--mltk-mutate-report",
        "mltk_mutate_report",
        "PATH",
        "report_path",
        "Write the kill matrix to a Markdown (.md) or HTML (.html) file (default: off)",
    ),
    (
        "--mltk-mutate-seed",
        "mltk_mutate_seed",
        "N",
        "seed",
        "First seed of the operators' choices (which layer, which feature) (default: 0)",
    ),
)

# options of the outer run that the mutant processes must not see: (name, takes a value)
_STRIP = {
    "--mltk-json": True,
    "--mltk-report": True,
    "--mltk-gate-report": True,
    "--junitxml": True,
    "--junit-xml": True,
    "-n": True,
    "--numprocesses": True,
    "--maxprocesses": True,
    "--dist": True,
}


def parse_names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in str(text).split(",") if n.strip())
    if not names or any(not n.replace("_", "").isalnum() for n in names):
        raise ValueError(
            f"{text!r} is not a list of operators; expected comma-separated names, "
            "e.g. frozen_layer,loss_sign_flipped"
        )
    return names


def parse_positive_int(text: str) -> int:
    value = str(text).strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{text!r} is not a positive integer; expected 1, 2, 3, ...")
    return int(value)


def parse_seed(text: str) -> int:
    value = str(text).strip()
    if not value.isdigit():
        raise ValueError(f"{text!r} is not a seed; expected an integer >= 0")
    return int(value)


def _number(text: str, what: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a number; expected {what}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r} is not finite; expected {what}")
    return value


def parse_factor(text: str) -> float:
    value = _number(text, "a factor > 1, e.g. 5")
    if value <= 1:
        raise ValueError(f"{text!r} is too small; expected a factor > 1, e.g. 5")
    return value


def parse_score(text: str) -> float:
    value = _number(text, "a score from 0 to 1, e.g. 0.8")
    if not 0 <= value <= 1:
        raise ValueError(f"{text!r} is outside [0, 1]; expected a score such as 0.8")
    return value


def parse_report_path(text: str) -> str:
    value = str(text).strip()
    if not value.lower().endswith((".md", ".html", ".htm")):
        raise ValueError(f"{text!r} must end in .md or .html")
    return value


PARSERS = {
    "names": parse_names,
    "positive_int": parse_positive_int,
    "seed": parse_seed,
    "factor": parse_factor,
    "score": parse_score,
    "report_path": parse_report_path,
}


def add_options(parser: Any) -> None:
    from mlops_testkit.settings import argparse_type

    group = parser.getgroup("mlops-testkit", "mlops-testkit: ML data, model and gate tests")
    for flag, dest, metavar, parse, text in OPTIONS:
        if parse is None:
            group.addoption(flag, action="store_true", default=False, dest=dest, help=text)
        else:
            group.addoption(
                flag,
                default=None,
                dest=dest,
                metavar=metavar,
                type=argparse_type(PARSERS[parse]),
                help=text,
            )


@dataclass(frozen=True)
class MutateOptions:
    operators: tuple[str, ...] | None
    runs: int
    workers: int
    timeout: float
    min_score: float | None
    report: str | None
    json: str | None
    seed: int

    @classmethod
    def from_config(cls, config: Any) -> MutateOptions:
        get = config.getoption
        return cls(
            operators=get("mltk_mutate_operators"),
            runs=get("mltk_mutate_runs") or 1,
            workers=get("mltk_mutate_workers") or (os.cpu_count() or 1),
            timeout=get("mltk_mutate_timeout") or 10.0,
            min_score=get("mltk_mutate_min_score"),
            report=get("mltk_mutate_report"),
            json=get("mltk_json", None),
            seed=get("mltk_mutate_seed") or 0,
        )


def child_args(args: tuple[str, ...] | list[str]) -> list[str]:
    """The outer run's arguments without the mutation options, the outputs it writes
    itself and pytest-xdist's distribution."""
    out: list[str] = []
    skip_value = False
    for arg in args:
        if skip_value:
            skip_value = False
            continue
        name, eq, _ = arg.partition("=")
        if name.startswith("--mltk-mutate"):
            skip_value = not eq and name != "--mltk-mutate"
            continue
        if name in _STRIP:
            skip_value = not eq
            continue
        if arg.startswith("-n") and len(arg) > 2 and not arg.startswith("--"):
            continue  # -n4, -nauto
        out.append(arg)
    return out
