"""Tally how the kit ends on a fixed set of hostile inputs (run by hand; pytest does not
collect it, and it asserts nothing).

The inputs: the contract's strategies (``tests/contract_strategies.py``,
``tests/test_contract.py``), drawn derandomized so that every run draws the same calls,
plus the fixed examples of issue 21's classes 1-11. Each call is classed:

- ``usage``: MltkUsageError (MissingExtraError), or exit 2 of the command line;
- ``failure``: a readable failure (an AssertionError of the kit, a failing result, exit 1);
- ``result``: a legitimate result (a pass where the evidence allows one, exit 0);
- ``silent pass``: a pass on degenerate evidence, or of a command that had to refuse;
- ``bad argument accepted``: an argument that must be refused (a seed of -1, a flag of
  "false") was used;
- ``raw``: another exception (a traceback of the command line);
- ``hang``: over the time budget (30 s a call);
- ``absent``: the check does not exist in this version of the kit.

Before/after, the same inputs against another checkout::

    git worktree add /tmp/old 3e2a21a
    PYTHONPATH=/tmp/old .venv/bin/python tests/hostile_tally.py \\
        --isolate assert_no_pii,pii_report                           # the old kit
    .venv/bin/python tests/hostile_tally.py --details                # this tree
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
warnings.simplefilter("ignore")

import contract_strategies as cs
import test_contract as tc
from hostile import classify, passed
from hypothesis import HealthCheck, given, settings

import mlops_testkit

COLUMNS = (
    "usage",
    "failure",
    "result",
    "silent pass",
    "bad argument accepted",
    "raw",
    "hang",
    "absent",
)


def draw(strategy: Any, n: int) -> list[Any]:
    """The first ``n`` values a derandomized hypothesis run draws (the same every run)."""
    out: list[Any] = []

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out


def outcome_of_check(name: str, call: cs.Call) -> tuple[str, str]:
    if name not in getattr(mlops_testkit, "__all__", ()):
        return "absent", ""
    fn = getattr(mlops_testkit, name)
    outcome, value = classify(
        fn, *call.args, degenerate=call.expect == cs.NO_PASS, budget=tc.BUDGET, **call.kwargs
    )
    twin = not name.startswith("assert_")
    if outcome == "silent-pass":
        return "silent pass", ""
    if outcome in ("raw", "hang"):
        return outcome, f"{type(value).__name__}: {str(value)[:160]}"
    if call.expect == cs.USAGE and outcome in ("result", "failure"):
        return "bad argument accepted", (
            "passed" if outcome == "result" and passed(value, twin) else outcome
        )
    if outcome == "result" and not passed(value, twin):
        return "failure", ""
    return outcome, ""


def outcome_in_child(name: str, call: cs.Call, budget: float) -> tuple[str, str]:
    """:func:`outcome_of_check` in a forked child, killed after ``budget`` seconds: for
    checks whose old versions hang in native code (a regex in Arrow), where no signal
    reaches Python. Not for Spark inputs: a child must not share the JVM's socket."""
    import json
    import select
    import signal

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one call, its outcome as JSON, then exit at once
        os.close(r)
        try:
            result = outcome_of_check(name, call)
        except BaseException as exc:  # everything is an outcome here
            result = ("raw", f"{type(exc).__name__}: {exc}"[:160])
        os.write(w, json.dumps(list(result)).encode())
        os._exit(0)
    os.close(w)
    ready, _, _ = select.select([r], [], [], budget)
    if not ready:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
        return "hang", f"over {budget:.0f} s (killed)"
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    if not chunks:
        return "raw", "the child died without an outcome"
    outcome, detail = json.loads(b"".join(chunks))
    return outcome, detail


def outcome_of_command(call: tc.CliCall) -> tuple[str, str]:
    sys.stdout.flush()
    saved = os.dup(1), os.dup(2)  # affected-tests runs pytest: keep its output off the table
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        outcome, code, out, err = tc.run_cli(call)
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
    if call.argv[:1] == ["affected-tests"] and isinstance(code, int) and code > 2:
        code = 2 if code == 4 else 1  # pytest's own exit status passes through
    if outcome != "exit":
        return outcome, err.strip()[-160:]
    if "Traceback (most recent call last)" in out + err:
        return "raw", (out + err)[-160:]
    if code == 0 and (
        call.expect in ("usage", "refused", "not-zero")
        or (call.check and not call.check(code, out, err))
    ):
        return "silent pass", call.why
    if call.expect == "usage" and code == 1:
        return "bad argument accepted", call.why
    return {0: "result", 1: "failure", 2: "usage"}.get(code, "raw"), ""


def outcome_of_setting(setting: Any, value: str) -> tuple[str, str]:
    outcome = tc._parse_outcome(setting.parse, value)
    if outcome == "usage":
        return "usage", ""
    if outcome == "result":
        return "result", ""
    return ("hang" if outcome == "hang" else "raw"), outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-check", type=int, default=20, help="generated calls per check")
    parser.add_argument(
        "--per-command", type=int, default=6, help="generated calls per subcommand"
    )
    parser.add_argument("--details", action="store_true", help="list every bad outcome")
    parser.add_argument(
        "--isolate",
        default="",
        help="comma-separated checks to call in a forked child killed after the budget "
        "(old versions that hang in native code)",
    )
    args = parser.parse_args()
    print(f"mlops_testkit from {Path(mlops_testkit.__file__).parent}", flush=True)
    start = time.monotonic()
    tally: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    bad: list[str] = []

    def note(area: str, label: str, outcome: str, detail: str, call: Any) -> None:
        tally[area][outcome] += 1
        if outcome not in ("usage", "failure", "result"):
            bad.append(f"{outcome:22} {label}: {detail} <- {call!r:.300}")

    explicit, table = cs.explicit(), cs.table()
    isolated = {n.strip() for n in args.isolate.split(",") if n.strip()}

    def outcome(name: str, call: cs.Call) -> tuple[str, str]:
        if name in isolated:
            return outcome_in_child(name, call, tc.BUDGET)
        return outcome_of_check(name, call)

    for name in sorted(table):
        print(f"  {time.monotonic() - start:5.0f} s  {name}", file=sys.stderr, flush=True)
        calls = explicit.get(name, [])
        for call in calls:
            note("issue 21 examples (checks)", name, *outcome(name, call), call)
        for call in draw(table[name], args.per_check):
            note("generated (checks)", name, *outcome(name, call), call)
    for command in sorted(tc.CLI):
        for call in tc.CLI_EXPLICIT.get(command, []):
            outcome, detail = outcome_of_command(call)
            note("issue 21 examples (CLI)", command, outcome, detail, call)
        for call in draw(tc.CLI[command], args.per_command):
            outcome, detail = outcome_of_command(call)
            note("generated (CLI)", command, outcome, detail, call)
    from mlops_testkit import settings as mltk_settings

    for setting in mltk_settings.SETTINGS:
        for value in tc.SETTING_VALUES.get(setting.name, []):
            outcome, detail = outcome_of_setting(setting, value)
            note("settings (parse)", setting.name, outcome, detail, value)

    total: collections.Counter[str] = collections.Counter()
    print(f"\n| inputs | {' | '.join(COLUMNS)} | all |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for area, counts in tally.items():
        total.update(counts)
        cells = " | ".join(str(counts.get(c, 0)) for c in COLUMNS)
        print(f"| {area} | {cells} | {sum(counts.values())} |")
    cells = " | ".join(f"**{total.get(c, 0)}**" for c in COLUMNS)
    print(f"| **all** | {cells} | **{sum(total.values())}** |")
    print(f"\n{time.monotonic() - start:.0f} s")
    if args.details:
        print("\n".join(sorted(bad)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
