"""The registry's subcommands of ``mlops-testkit``: ``promote``, ``rollback`` and
``aliases``, their argument types, and how a refusal is reported (one line, exit 1).
mlflow is imported only when a command runs."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _version(text: str) -> str:
    value = text.strip().lower().removeprefix("v")
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a model version; expected e.g. 3")
    return str(int(value))


def _champion(text: str) -> str:
    return "none" if text.strip().lower() == "none" else _version(text)


def _model_name(text: str) -> str:
    from mlops_testkit.registry.tracking import parse_model_name

    try:
        return parse_model_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _registry_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, type=_model_name, metavar="NAME", help="Registered model"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="Seconds to wait for the MLflow server before refusing (default: 10)",
    )


def _registry_call(command: str, call: Callable[[], Any]) -> int:
    """Run a registry action; a refusal or an unreachable store is one line and exit 1."""
    from mlops_testkit import MissingExtraError
    from mlops_testkit.registry.promotion import PromotionError
    from mlops_testkit.registry.tracking import TrackingError, backend_error

    try:
        outcome = call()
    except (PromotionError, TrackingError, MissingExtraError) as exc:
        print(f"mlops-testkit {command}: REFUSED: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # MLflow's own errors (REST, database): say so, refuse
        if not backend_error(exc):
            raise
        print(f"mlops-testkit {command}: REFUSED: MLflow error: {exc}", file=sys.stderr)
        return 1
    if outcome is not None:
        print(f"mlops-testkit {command}: {outcome}")
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    from mlops_testkit.registry.promotion import UNSET, promote

    expect = UNSET
    if args.expect_champion is not None:
        expect = None if args.expect_champion == "none" else args.expect_champion

    def call() -> str:
        out = promote(
            args.model,
            args.version,
            args.gate_report,
            expect_champion=expect,
            timeout=args.timeout,
        )
        return _describe(out)

    return _registry_call("promote", call)


def _cmd_rollback(args: argparse.Namespace) -> int:
    from mlops_testkit.registry.promotion import rollback

    return _registry_call(
        "rollback", lambda: _describe(rollback(args.model, to=args.to, timeout=args.timeout))
    )


def _cmd_aliases(args: argparse.Namespace) -> int:
    from mlops_testkit.registry.tracking import aliases, connect, redact, tracking_uri

    def call() -> None:
        known = aliases(connect(args.timeout), args.model)
        if args.json:
            import json

            print(json.dumps(known, sort_keys=True))
            return
        print(f"{args.model} in {redact(tracking_uri())}")
        shown = ("champion", "challenger", "previous_champion", "rolled_back")
        for alias in shown:
            print(f"  {alias:18} {'v' + known[alias] if alias in known else '-'}")
        for alias in sorted(set(known) - set(shown)):
            print(f"  {alias:18} v{known[alias]}")

    return _registry_call("aliases", call)


def _describe(outcome: Any) -> str:
    before = "none" if outcome.champion_before is None else f"v{outcome.champion_before}"
    after = "none" if outcome.champion_after is None else f"v{outcome.champion_after}"
    warned = "".join(f"\n  WARNING: {w}" for w in getattr(outcome, "warnings", None) or ())
    return (
        f"{outcome.message}\n  champion before: {before}\n  champion after:  {after}"
        f"\n  took {outcome.seconds:.2f} s{warned}"
    )
