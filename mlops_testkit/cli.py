"""The ``mlops-testkit`` command line.

    mlops-testkit --version
    mlops-testkit devices [--require cpu,cuda]

Later capabilities add their subcommands here (gate, promote, rollback, ...).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlops_testkit import __version__
from mlops_testkit.settings import argparse_type, parse_devices


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops-testkit",
        description="Test kit for ML systems: data, model, behavioral tests and gated deploys. "
        "The tests themselves run under pytest (the plugin loads automatically); this "
        "command holds the tools around them.",
    )
    parser.add_argument("--version", action="version", version=f"mlops-testkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    devices = sub.add_parser(
        "devices",
        help="List the torch devices usable here (cpu, cuda, mps) and why others are not",
        description="Probe the torch devices. With --require, exit 1 unless every named "
        "device is available: a GPU CI runner can check its driver before the tests.",
    )
    devices.add_argument(
        "--require",
        type=argparse_type(parse_devices),
        default=None,
        metavar="LIST",
        help="Comma-separated devices that must be available, e.g. cpu,cuda",
    )
    devices.set_defaults(func=_cmd_devices)
    gate = sub.add_parser(
        "gate",
        help="Check a gate report: exit 0 only if it is intact and every gate passed",
        description="Read a gate report written by pytest --mltk-gate-report: exit 0 only if "
        "it exists, parses, matches its content hash, has a known schema version and every "
        "gate passed; otherwise say why and exit 1.",
    )
    gate.add_argument("report", help="Path of the gate report (JSON)")
    gate.set_defaults(func=_cmd_gate)
    return parser


def _cmd_gate(args: argparse.Namespace) -> int:
    from mlops_testkit.gates import GateReportError, gate_summary, read_report

    try:
        report = read_report(args.report)
    except GateReportError as exc:
        print(f"mlops-testkit gate: REFUSED: {exc}", file=sys.stderr)
        return 1
    passed, rows = gate_summary(report)
    print(rows)
    if not report["gates"]:
        print("mlops-testkit gate: REFUSED: the report holds no gate result", file=sys.stderr)
        return 1
    verdict = "PASSED" if passed else "REFUSED: a gate failed"
    print(
        f"mlops-testkit gate: {verdict} ({len(report['gates'])} gates, git {report.get('git_sha') or '-'})"
    )
    return 0 if passed else 1


def _cmd_devices(args: argparse.Namespace) -> int:
    from mlops_testkit.devices import probe

    statuses = probe()
    for status in statuses.values():
        mark = "yes" if status.available else "no "
        print(f"{status.name:5} {mark} {status.detail}".rstrip())
    missing = [n for n in (args.require or ()) if not statuses[n].available]
    if missing:
        print(f"mlops-testkit: required device(s) missing: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
