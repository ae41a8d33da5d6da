"""``mlops-testkit mutate``: runs ``pytest --mltk-mutate`` with the given options, or
lists the operators."""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from mlops_testkit.mutation.options import (
    parse_factor,
    parse_names,
    parse_positive_int,
    parse_report_path,
    parse_score,
)


def add_parser(sub: Any) -> None:
    from mlops_testkit.settings import argparse_type

    mutate = sub.add_parser(
        "mutate",
        help="Compute the ML mutation score of this repository's test suite",
        description="Run pytest --mltk-mutate: two clean runs, then the selected tests once "
        "per mutant (a fault planted at run time: frozen layer, flipped loss, labels "
        "shuffled...), then the kill matrix and the score. Arguments after -- go to pytest. "
        "Exit status: pytest's (0 done, 1 refused or under --min-score).",
    )
    mutate.add_argument("--list", action="store_true", help="List the operators and exit")
    for flag, parse, metavar, text in (
        ("--operators", parse_names, "LIST", "Comma-separated operators (default: all)"),
        ("--runs", parse_positive_int, "N", "Seeds per mutant, majority decides (default: 1)"),
        ("--workers", parse_positive_int, "N", "Parallel runs (default: the CPUs)"),
        ("--timeout", parse_factor, "FACTOR", "Timeout, x the clean run (default: 10)"),
        ("--min-score", parse_score, "S", "Exit 1 when the score is under S"),
        ("--report", parse_report_path, "PATH", "Kill matrix as Markdown or HTML"),
    ):
        mutate.add_argument(flag, type=argparse_type(parse), metavar=metavar, help=text)
    mutate.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST_ARGS")
    mutate.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        from mlops_testkit.mutation.registry import builtin

        for cls in builtin().values():
            print(f"{cls.area:10} {cls.name:30} {cls.bug()}")
            print(f"{'':10} {'':30} caught by: {cls.catches}")
        return 0
    command = [sys.executable, "-m", "pytest", "--mltk-mutate"]
    for name in ("operators", "runs", "workers", "timeout", "min_score", "report"):
        value = getattr(args, name)
        if value is not None:
            if isinstance(value, tuple):
                value = ",".join(value)
            command.append(f"--mltk-mutate-{name.replace('_', '-')}={value}")
    extra = args.pytest_args[args.pytest_args[:1] == ["--"] :]
    return subprocess.call([*command, *extra])
