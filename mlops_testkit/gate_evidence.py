"""What the gate report's verdict rests on: every gate test and how it ended.

The plugin collects it per run (on the xdist controller, from the workers' reports and
outputs): which tests are gate tests and which skip each may take
(``@pytest.mark.gate(allow_skip=...)``), which were deselected, each test's outcome over
its phases (:class:`TestTrack`), gates recorded while no test ran, and workers that went
down. :meth:`GateEvidence.entries` turns it into the report's ``gate_tests``; the rule
that judges them is :func:`mlops_testkit.gate_report.reasons`. Imports only the standard
library and pytest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from mlops_testkit.reporting.results import is_gate, safely


def gate_marker(item: pytest.Item) -> str | bool | None:
    """None for a test that is no gate; otherwise its skip allowance: False (a skip
    fails the gate report), True (any skip is allowed) or a text that the skip's reason
    must contain. Raise ValueError for an allowance of another type."""
    markers = list(item.iter_markers("gate"))
    if not markers:
        return None
    for marker in markers:  # the closest marker that says allow_skip decides
        if "allow_skip" in marker.kwargs:
            value = marker.kwargs["allow_skip"]
            if isinstance(value, bool) or (isinstance(value, str) and value.strip()):
                return value
            raise ValueError(
                f"@pytest.mark.gate(allow_skip=...) on {item.nodeid}: expected True, False or "
                f"a non-empty text found in the skip's reason, got {value!r}"
            )
        unknown = sorted(set(marker.kwargs) - {"allow_skip"})
        if unknown or marker.args:
            raise ValueError(
                f"@pytest.mark.gate on {item.nodeid}: takes only allow_skip=, got "
                f"{', '.join([*(repr(a) for a in marker.args), *unknown])}"
            )
    return False


def first_line(excinfo: Any) -> str:
    """``Type: the exception's first line`` (a skip or xfail: its reason)."""
    exc = excinfo.value
    text = str(getattr(exc, "msg", None) or exc).strip().splitlines()
    head = text[0] if text else ""
    name = excinfo.typename
    if name in ("Skipped", "XFailed", "Exit"):
        return head
    return f"{name}: {head}" if head else name


def _reason(report: pytest.TestReport) -> str | None:
    """The message of a report that came without ``mltk_message`` (a crashed worker's)."""
    longrepr = report.longrepr
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message).splitlines()[0]
    lines = [line for line in str(longrepr).splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


@dataclass
class TestTrack:
    """One test as its phase reports arrive: the outcome, message and results so far."""

    __test__ = False  # not a test class
    nodeid: str
    outcome: str = "not run"
    message: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    gate: bool = False  # marked gate (or recorded a gate result)
    done: bool = False

    def add(self, report: pytest.TestReport) -> None:
        self.results.extend(getattr(report, "mltk_results", None) or [])
        if "gate" in (getattr(report, "mltk_categories", None) or []):
            self.gate = True
        message = getattr(report, "mltk_message", None) or (
            _reason(report) if not report.passed else None
        )
        when = report.when
        if hasattr(report, "wasxfail"):
            self._set("xfailed" if report.skipped else "xpassed", report.wasxfail or message)
        elif report.skipped:
            self._set("skipped", message)
        elif report.failed:
            if when == "call":
                self._set("failed", message)
            elif when in ("setup", "teardown"):
                self._set("error", f"in {when}: {message}" if message else f"error in {when}")
            else:  # e.g. pytest-xdist's report for a test whose worker crashed
                self._set("failed", message or "the test's process crashed")
        elif when == "call" and self.outcome == "not run":
            self.outcome = "passed"
        if when not in ("setup", "call"):
            self.done = True

    def _set(self, outcome: str, message: str | None) -> None:
        if self.outcome in ("failed", "error") and outcome != "error":
            return  # the first failure is the story; a teardown error after it adds to it
        if self.outcome in ("failed", "error"):
            self.message = f"{self.message}; then {message}" if self.message else message
            return
        self.outcome, self.message = outcome, message


@dataclass
class GateEvidence:
    """The gate tests of a run and what can make the gate report incomplete."""

    allowances: dict[str, str | bool] = field(default_factory=dict)  # nodeid -> allow_skip
    deselected: set[str] = field(default_factory=set)
    orphans: list[dict[str, Any]] = field(default_factory=list)  # recorded outside tests
    problems: list[str] = field(default_factory=list)  # workers that went down

    def collected(self, before: dict[str, str | bool], kept: set[str]) -> None:
        """The gate tests collected (with their skip allowance) and those deselected."""
        self.allowances.update(before)
        self.deselected.update(n for n in before if n not in kept)

    def to_worker(self) -> dict[str, Any]:
        """What a worker sends to the controller (JSON-native values)."""
        return {
            "mltk_gate_tests": self.allowances,
            "mltk_deselected_gates": sorted(self.deselected),
            "mltk_orphans": self.orphans,
        }

    def from_worker(self, output: Mapping[str, Any], name: str, error: Any) -> None:
        """Take one worker's part. A worker that went down with an error, or without its
        output, leaves the report unable to account for every gate test."""
        if error is not None or "mltk_gate_tests" not in output:
            why = str(error).strip().splitlines()[0] if error else "it sent no results"
            self.problems.append(
                f"pytest-xdist worker {name} went down ({why}): the gate report cannot "
                "account for the tests it ran"
            )
        self.allowances.update(output.get("mltk_gate_tests") or {})
        self.deselected.update(output.get("mltk_deselected_gates") or [])
        self.orphans.extend(output.get("mltk_orphans") or [])

    def entries(
        self, tracks: Mapping[str, TestTrack], gates: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Every gate test (marked, or a test that recorded a gate) with its outcome."""
        from mlops_testkit.gate_report import gate_passed, gate_test_entry

        gates_by_test = Counter(str(g.get("test_id")) for g in gates)
        failed_by_test = Counter(str(g.get("test_id")) for g in gates if not gate_passed(g))
        ids = dict.fromkeys(
            [
                *self.allowances,
                *(n for n, t in tracks.items() if t.gate),
                *(t for t in gates_by_test if t in tracks),
            ]
        )
        entries = []
        for nodeid in ids:
            allowance = self.allowances.get(nodeid, False)
            track = tracks.get(nodeid)
            if track is None:
                if nodeid in self.deselected:
                    outcome, message = "deselected", "deselected (-k, -m or a plugin): not run"
                else:
                    outcome, message = "not run", "collected but never reported (interrupted?)"
            else:
                outcome, message = track.outcome, track.message
            allowed = None
            if outcome == "skipped" and allowance:
                reason = message or ""
                if allowance is True or str(allowance).lower() in reason.lower():
                    allowed = reason or "allowed by @pytest.mark.gate(allow_skip=True)"
                else:
                    message = f"{reason} (allow_skip={allowance!r} does not match this reason)"
            if outcome == "skipped" and not allowed and allowance is False:
                message = (
                    f"{message or 'skipped'} (a skipped gate fails the report; "
                    "allow it with @pytest.mark.gate(allow_skip=...))"
                )
            entries.append(
                gate_test_entry(
                    nodeid,
                    outcome,
                    gates=gates_by_test.get(nodeid, 0),
                    failed_gates=failed_by_test.get(nodeid, 0),
                    message=message,
                    allowed=allowed,
                )
            )
        return entries

    def report_problems(self) -> list[str]:
        """What makes the gate report incomplete beyond its tests' outcomes."""
        problems = list(self.problems)
        for orphan in self.orphans:
            if safely(orphan, "tell whether it is a gate", lambda o=orphan: is_gate(o), True):
                problems.append(
                    f"gate {orphan.get('name')!r} ({orphan.get('headline')}) was recorded "
                    "while no test ran (a thread that outlived its test, or module import): "
                    "it cannot be attributed to a gate test"
                )
        return problems
