"""What every gate returns, and how a gate finishes: record the result, then pass or fail.

Every gate returns a :class:`GateResult` (a :class:`~mlops_testkit.reporting.results.
CheckResult`) and, inside a pytest test, records it; the plugin carries the test's
results to the xdist controller and ``--mltk-gate-report PATH`` writes the gates among
them with a content hash (:mod:`mlops_testkit.gate_report`), the file the deploy stage
trusts (``mlops-testkit gate PATH``). A gate kind is registered once with
:func:`gate_renderer`, which sends its results to the gate report and the gate table.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message
from mlops_testkit.reporting.results import (
    CheckResult,
    Renderer,
    Results,
    Section,
    record,
    register,
)

REPORT_FIELDS = ("name", "kind", "value", "threshold", "passed", "details", "test_id")


@dataclass
class GateResult(CheckResult):
    """One gate's verdict: what was measured against what."""

    name: str
    kind: str  # metric, regression, slices, latency, size, memory, endpoint, ...
    value: float | None
    threshold: str
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    test_id: str | None = None
    items: tuple[str, ...] = ()  # ML Test Score items this gate evidences when it passes
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def headline(self) -> str:
        shown = "-" if self.value is None else f"{self.value:.6g}"
        verdict = "passed" if self.passed else "failed"
        return f"gate {self.name!r} {verdict}: {shown}, required {self.threshold}"

    def as_dict(self) -> dict[str, Any]:
        """The gate report's entry for this gate."""
        data = asdict(self)
        return {k: data[k] for k in REPORT_FIELDS}

    def extra(self) -> dict[str, Any]:
        return {"value": self.value, "threshold": self.threshold, "details": self.details}


# Set while a report twin runs its gate: _finish returns the result instead of
# recording it and raising.
_REPORT_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "mltk_report_only", default=False
)


def _finish(result: GateResult, body: str | None, hint: str) -> GateResult:
    """Record the gate's result, then pass or fail. A gate without a finite value
    (NaN, or nothing it could judge) fails, whatever its own rule said."""
    __tracebackhide__ = True
    value = result.value
    if result.passed and (value is None or not math.isfinite(value)):
        result.passed = False
        result.threshold += " (no finite value: nothing was judged)"
    result.rows = result.rows or [
        {"gate": result.name, "value": value, "threshold": result.threshold}
    ]
    if _REPORT_ONLY.get():
        return result
    record(result)
    if not result.passed:
        shown = "-" if result.value is None else f"{result.value:.6g}"
        raise AssertionError(
            message(
                f"gate {result.name!r} failed: {shown}, required {result.threshold}", body, hint
            )
        )
    return result


def report_twin(gate: Callable[..., GateResult], name: str) -> Callable[..., GateResult]:
    """The report twin of a gate: the same arguments and verdict, returned as a
    :class:`GateResult` without recording it or raising."""
    inner = getattr(gate, "__wrapped__", gate)  # past @evidences: a twin evidences nothing

    def twin(*args: Any, **kwargs: Any) -> GateResult:
        token = _REPORT_ONLY.set(True)
        try:
            return inner(*args, **kwargs)
        finally:
            _REPORT_ONLY.reset(token)

    twin.__name__ = twin.__qualname__ = name
    twin.__doc__ = (
        f"The report twin of :func:`{gate.__name__}`: same arguments, returns the "
        f":class:`GateResult` (``passed``, ``value``, ``threshold``, ``details``) without "
        f"recording it or failing the test.\n\nExample::\n\n    result = {name}(...)\n"
        "    print(result.passed, result.value, result.threshold)\n"
    )
    return twin


def _bars(*parts: str | bool, sep: str = " and ") -> str:
    """The thresholds that were given, joined: ``_bars(lo is not None and f">= {lo}", ...)``."""
    return sep.join(p for p in parts if p)


def _number(value: Any, name: str, where: str) -> float:
    """A finite real number (numpy scalars welcome), or the kit's usage error."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MltkUsageError(f"{where}: {name} must be a finite number, got {value!r}")
    return float(value)


def _gate_junit(result: dict[str, Any]) -> list[tuple[str, str]]:
    verdict = "pass" if result.get("passed") else "FAIL"
    value = result.get("value")
    return [(f"mltk_gate:{result.get('name')}", f"{value} ({result.get('threshold')}) {verdict}")]


def gate_renderer(
    kind: str, sections: Callable[[Results], list[Section]] | None = None
) -> Renderer:
    """Register a gate kind: its results go to the gate report and the gate table."""
    return register(Renderer(kind, junit=_gate_junit, sections=sections, gate=True))


for _kind in ("metric", "regression", "latency", "size", "memory", "endpoint"):
    gate_renderer(_kind)
