"""The ``mlops-testkit`` command line.

    mlops-testkit --version
    mlops-testkit devices [--require cpu,cuda]
    mlops-testkit gate REPORT
    mlops-testkit promote --model NAME --version V --gate-report REPORT [--expect-champion V0]
    mlops-testkit rollback --model NAME [--to V]
    mlops-testkit aliases --model NAME
    mlops-testkit init [--ci github|gitlab] [--local] [--dry-run] ...   (wire a repository)
    mlops-testkit changed --since REF [--paths GLOBS]   (CI: do model tests need to run?)
    mlops-testkit check-artifacts FILE...         (pre-commit hooks)
    mlops-testkit check-data --schema MODULE:NAME FILE...
    mlops-testkit affected-tests [--since REF] [-- PYTEST_ARGS]
    mlops-testkit deps-diff --model NAME [--candidate V] [--against champion|env] [--check]
    mlops-testkit mutate [--min-score S] [--report PATH] [--list] [-- PYTEST_ARGS]
    mlops-testkit ci-local [--platform gitlab|github] [--event push|merge_request|...]

Exit status: 0 done (or nothing to do), 1 refused (the reason is printed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any

from mlops_testkit import __version__
from mlops_testkit.registry.commands import (
    _champion,
    _cmd_aliases,
    _cmd_promote,
    _cmd_rollback,
    _registry_args,
    _version,
)
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
    gate.add_argument(
        "--markdown",
        action="store_true",
        help="Print the verdict as Markdown (for $GITHUB_STEP_SUMMARY or a merge-request note)",
    )
    gate.set_defaults(func=_cmd_gate)

    promote = sub.add_parser(
        "promote",
        help="Make a model version the champion, only if its gate report allows it",
        description="Fail-closed promotion in the MLflow registry (MLFLOW_TRACKING_URI, "
        "default the local store): refuse unless the gate report is intact, every gate "
        "passed, it is about this version, the version is READY and the champion is still "
        "the one the gates compared against. Then set previous_champion to the old "
        "champion, champion to VERSION, remove challenger if it points at VERSION, and tag "
        "the version with who, when, the report hash and the replaced version.",
    )
    _registry_args(promote)
    promote.add_argument("--version", required=True, type=_version, help="Version to promote")
    promote.add_argument(
        "--gate-report", required=True, metavar="REPORT", help="The gate report (JSON)"
    )
    promote.add_argument(
        "--expect-champion",
        type=_champion,
        default=None,
        metavar="V0",
        help="Refuse unless the champion is V0 ('none': no champion); default: the champion "
        "recorded in the report when the gates ran",
    )
    promote.set_defaults(func=_cmd_promote)

    rollback = sub.add_parser(
        "rollback",
        help="Move the champion back (default: to previous_champion)",
        description="Move the champion alias back to --to VERSION, or to the "
        "previous_champion alias; point the rolled_back alias at the version taken out, "
        "clear previous_champion and tag both versions. A second rollback finds nothing to "
        "roll back to, changes nothing and exits 0.",
    )
    _registry_args(rollback)
    rollback.add_argument("--to", type=_version, default=None, metavar="V", help="Version")
    rollback.set_defaults(func=_cmd_rollback)

    show = sub.add_parser(
        "aliases",
        help="Show a registered model's aliases (champion, challenger, previous_champion, "
        "rolled_back)",
    )
    _registry_args(show)
    show.add_argument("--json", action="store_true", help="Print {alias: version} as JSON")
    show.set_defaults(func=_cmd_aliases)

    changed = sub.add_parser(
        "changed",
        help="Print true if model code or a dataset changed since REF, else false",
        description="The change decision of --mltk-changed-since, for a CI job that decides "
        "whether the model tests run: prints 'true' or 'false' on stdout and the reason on "
        "stderr. The globs come from --paths, else MLTK_MODEL_PATHS, else mltk_model_paths "
        "in the pytest configuration (found as pytest finds it; globs relative to its "
        "folder). Exit 1 if REF is unknown, this is not a git repository, or no globs are "
        "configured.",
    )
    changed.add_argument("--since", required=True, metavar="REF", help="e.g. origin/main")
    changed.add_argument(
        "--paths",
        default=None,
        metavar="GLOBS",
        help="Comma/space separated globs of model code (default: MLTK_MODEL_PATHS, else "
        "mltk_model_paths of the pytest configuration)",
    )
    changed.add_argument(
        "--data-paths",
        default=None,
        metavar="GLOBS",
        help="Comma/space separated globs of datasets, plain or tracked by DVC: a changed one "
        "prints true too, and stderr names it and the .dvc / dvc.lock entry that changed it "
        "(default: MLTK_DATA_PATHS, else mltk_data_paths of the pytest configuration, else "
        "none)",
    )
    changed.set_defaults(func=_cmd_changed)

    artifacts = sub.add_parser(
        "check-artifacts",
        help="Pre-commit hook: refuse model artifacts and large files (unless in Git LFS)",
        description="Exit 1 if a file is a serialised model or checkpoint (.pt, .pth, .ckpt, "
        ".pkl, .joblib, .skops, .h5, .onnx, .safetensors, ...), part of the local MLflow "
        "store (mlflow.db, mlruns/, mlartifacts/) or larger than --max-mb, unless Git LFS "
        "stores it. The list: mlops_testkit.ci.hooks.ARTIFACT_PATTERNS (docs/ci.md).",
    )
    artifacts.add_argument(
        "--pattern",
        action="append",
        default=[],
        metavar="GLOB",
        help="Also refuse files matching GLOB (repeatable), e.g. '*.npz' or 'outputs/'",
    )
    artifacts.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="GLOB",
        help="Never refuse files matching GLOB (repeatable), e.g. 'tests/fixtures/*.pkl'",
    )
    artifacts.add_argument("files", nargs="*", metavar="FILE")
    artifacts.add_argument(
        "--max-mb", type=_positive, default=5.0, metavar="MB", help="Size limit (default: 5)"
    )
    artifacts.set_defaults(
        func=lambda a: _hooks().check_artifacts(
            a.files, max_mb=a.max_mb, patterns=a.pattern, allow=a.allow
        )
    )

    data = sub.add_parser(
        "check-data",
        help="Pre-commit hook: validate CSV/Parquet files against a pandera schema",
        description="Validate each file against the schema MODULE:NAME (a pandera "
        "DataFrameSchema or DataFrameModel importable from the repository root); exit 1 "
        "if any file breaks it.",
    )
    data.add_argument("files", nargs="*", metavar="FILE")
    data.add_argument(
        "--schema", required=True, metavar="MODULE:NAME", help="e.g. myproj.schemas:RawRows"
    )
    data.set_defaults(func=lambda a: _hooks().check_data(a.files, schema=a.schema))

    affected = sub.add_parser(
        "affected-tests",
        help="Pre-push hook: run the data tests, and the model tests if model code changed",
        description="Run pytest -m 'data or model' --mltk-changed-since REF. REF: the "
        "remote's default branch (origin/HEAD, origin/main or origin/master; the merge base "
        "with it is compared), else pre-commit's PRE_COMMIT_FROM_REF, else a local "
        "main/master. With nothing to compare with (a first push) every model test runs, "
        "and it says why. Needs the ini key mltk_model_paths. Arguments after -- go to "
        "pytest.",
    )
    affected.add_argument("--since", default=None, metavar="REF", help="Compare with REF")
    affected.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST_ARGS")
    affected.set_defaults(
        func=lambda a: _hooks().affected_tests(
            a.since, a.pytest_args[a.pytest_args[:1] == ["--"] :]
        )
    )
    _init_parser(sub)
    _deps_diff_parser(sub)
    from mlops_testkit.mutation.command import add_parser as _mutate_parser

    _mutate_parser(sub)
    from mlops_testkit.ci.local_command import add_parser as _ci_local_parser

    _ci_local_parser(sub)
    return parser


def _deps_diff_parser(sub: Any) -> None:
    deps = sub.add_parser(
        "deps-diff",
        help="Show how the candidate's dependencies changed since the champion",
        description="Compare the pip requirements (and Python version) MLflow stores with "
        "two versions of a registered model, or one version and the running environment: "
        "added, removed and changed packages, each change classed major, minor or patch. "
        "Exit 0 (also when there is no champion yet); with --check, exit 1 on a major "
        "change not in --allow.",
    )
    _registry_args(deps)
    deps.add_argument(
        "--candidate",
        default="challenger",
        metavar="V",
        help="Version or alias of the candidate (default: challenger)",
    )
    deps.add_argument(
        "--against",
        default="champion",
        metavar="V",
        help="Version or alias to compare with, or 'env' for the running environment "
        "(default: champion)",
    )
    deps.add_argument(
        "--allow",
        default="",
        metavar="PKGS",
        help="Comma-separated packages whose major " "changes are accepted",
    )
    deps.add_argument(
        "--markdown",
        action="store_true",
        help="Print Markdown (for $GITHUB_STEP_SUMMARY or a merge-request note)",
    )
    deps.add_argument(
        "--check", action="store_true", help="Exit 1 on a major change not in --allow"
    )
    deps.set_defaults(func=_cmd_deps_diff)


def _cmd_deps_diff(args: argparse.Namespace) -> int:
    from mlops_testkit.registry.deps import cli

    return cli(args)


def _init_parser(sub: Any) -> None:
    init = sub.add_parser(
        "init",
        help="Wire this git repository to mlops-testkit: pytest settings, pre-commit, "
        ".gitignore, CI",
        description="Merge, never overwrite: mltk_model_paths and the markers into the "
        "pytest configuration, the hooks into .pre-commit-config.yaml, the local MLflow "
        "store into .gitignore, and with --ci a GitHub workflow (.github/workflows/ml.yml) "
        "or a .gitlab-ci.yml include. Prints what it did; running it again changes nothing. "
        "A conflict is refused with the file and line, and nothing is written.",
    )
    init.add_argument("path", nargs="?", default=".", help="Folder in the repository (default: .)")
    init.add_argument(
        "--ci", default=None, metavar="{github,gitlab}", help="Also write this CI's set-up"
    )
    init.add_argument(
        "--model-paths",
        default=None,
        metavar="GLOBS",
        help="Comma separated globs of model code, e.g. 'src/model/**,train.py' "
        "(needed unless mltk_model_paths is set)",
    )
    init.add_argument("--model-name", default=None, metavar="NAME", help="Registered MLflow model")
    init.add_argument(
        "--train-command", default=None, metavar="CMD", help="Trains and registers a version"
    )
    init.add_argument(
        "--local",
        action="store_true",
        help="pre-commit hooks as repo: local (language: system; mlops-testkit on PATH)",
    )
    init.add_argument(
        "--source", default=None, metavar="OWNER/REPO", help="Where you get mlops-testkit from"
    )
    init.add_argument(
        "--ref", default=None, metavar="COMMIT", help="Commit (or tag) of --source to pin"
    )
    init.add_argument(
        "--install",
        default=None,
        metavar="CMD",
        help="Install command for the CI jobs (default: the release equal to this kit's "
        "version when --index has it, else --source at --ref from git; lint adds pre-commit)",
    )
    init.add_argument(
        "--index",
        default=None,
        metavar="URL|DIR|none",
        help="Package index (or folder of wheels) asked for a release of this version "
        "(default: $MLTK_INDEX_URL, else https://pypi.org/simple; none: install from git)",
    )
    init.add_argument("--dry-run", action="store_true", help="Show the changes, write nothing")
    init.set_defaults(func=_cmd_init)


def _cmd_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mlops_testkit.ci import init as wiring
    from mlops_testkit.ci.config import ConfigError
    from mlops_testkit.ci.init_install import index_from
    from mlops_testkit.settings import parse_globs

    if args.ci is not None and args.ci not in wiring.CI_CHOICES:
        print(
            f"mlops-testkit init: --ci {args.ci!r}: expected one of "
            f"{', '.join(wiring.CI_CHOICES)}",
            file=sys.stderr,
        )
        return 2
    try:
        opts = wiring.Options(
            root=wiring.git_root(Path(args.path)),
            ci=args.ci,
            model_name=args.model_name,
            train_command=args.train_command,
            model_paths=parse_globs(args.model_paths or ""),
            local=args.local,
            source=args.source,
            ref=args.ref,
            install=args.install,
            index=index_from(args.index) if args.ci and args.install is None else None,
        )
        changes = wiring.run(opts, dry_run=args.dry_run)
    except (wiring.InitError, ConfigError) as exc:
        print(f"mlops-testkit init: REFUSED: {exc}; nothing was written", file=sys.stderr)
        return 1
    for change in changes:
        if args.dry_run and change.changed:
            print(change.diff(), end="")
    verb = "would change" if args.dry_run else "changed"
    for change in changes:
        print(("(dry run) " if args.dry_run else "") + change.describe())
    done = sum(change.changed for change in changes)
    print(f"mlops-testkit init: {verb} {done} file(s) in {opts.root}")
    if done and not args.dry_run:
        print("next: pre-commit install (pre-commit and pre-push hooks), then commit")
    return 0


def _cmd_changed(args: argparse.Namespace) -> int:
    from mlops_testkit.ci.hooks import changed

    return changed(args.since, args.paths, args.data_paths)


def _hooks() -> Any:
    from mlops_testkit.ci import hooks

    return hooks


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of megabytes")
    return value


def _cmd_gate(args: argparse.Namespace) -> int:
    from mlops_testkit.gate_report import (
        GateReportError,
        gate_key,
        gate_markdown,
        gate_summary,
        read_report,
        reasons,
    )

    warnings: list[str] = []
    try:
        report = read_report(args.report, key=gate_key(), warnings=warnings)
    except GateReportError as exc:
        print(f"mlops-testkit gate: REFUSED: {exc}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"mlops-testkit gate: WARNING: {warning}", file=sys.stderr)
    passed, rows = gate_summary(report)
    print(gate_markdown(report) if args.markdown else rows)
    why = reasons(report)
    tests = report.get("gate_tests") or []
    about = f"{len(report['gates'])} gates in {len(tests)} gate tests, git {report.get('git_sha') or '-'}"
    if report.get("git_dirty"):
        about += " (dirty working tree)"
    verdict = (
        "PASSED"
        if not why
        else f"REFUSED: {why[0]}" + (f" (+{len(why) - 1} more reason(s))" if len(why) > 1 else "")
    )
    print(
        f"mlops-testkit gate: {verdict} ({about})",
        file=sys.stderr if args.markdown or why else sys.stdout,
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
