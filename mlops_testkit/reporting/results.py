"""One result type, one recorder, one registry of renderers.

Every check has a report twin that returns a :class:`CheckResult` (``passed``, ``kind``,
``name``, ``headline``, ``rows``, ``items``, ``to_dict()``) and an ``assert_*`` wrapper
that records the result and turns a failing one into a pytest failure. Inside a test,
:func:`record` hands the result to the test's :class:`Recorder` (set by the plugin
around the test call); outside pytest nothing is recorded. The recorded form is
``result.to_dict()``: plain JSON values, so it travels to the pytest-xdist controller
on the test report.

How a kind shows is declared once, by registering a :class:`Renderer` next to the
check (its summary lines, JUnit properties, report sections, and whether it is a gate
that feeds the gate report). A kind without a renderer still shows, through the
default one. Adding a kind is one result class and, optionally, one
``register(Renderer(...))`` call in the check's own module::

    @dataclass
    class ThroughputResult(CheckResult):
        kind = "throughput"
        name: str
        rows_per_s: float
        minimum: float

        @property
        def passed(self):
            return self.rows_per_s >= self.minimum

        @property
        def headline(self):
            return f"{self.rows_per_s:.0f} rows/s (minimum {self.minimum:g})"

    register(Renderer("throughput", summary=lambda results: [...]))

The rule for checks inside ``pytest.raises`` (or any failure the test itself catches):
a *failing* result recorded by a test that then passes, and any result of a test that
is expected to fail (xfail), was a demonstration, not a verdict on the model. It is
left out of the summary, the reports, the ML Test Score and the gate report.

This module imports only the standard library.
"""

from __future__ import annotations

import contextvars
import importlib
import math
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

MAX_ROWS = 50  # rows a recorded result keeps (the count of all rows is kept too)


class CheckResult:
    """The base class of every check's result.

    Subclasses (usually dataclasses) give ``kind`` (a class attribute naming the kind
    of result), ``name``, ``passed``, ``headline`` and ``rows``, and may override
    :meth:`extra` to add what their renderer needs to the recorded form. ``items`` are
    the ML Test Score items the result evidences when it passed.
    """

    # Subclasses give these (class attributes, dataclass fields or properties). The base
    # class sets no defaults: a dataclass would take an inherited default for its fields.
    kind: ClassVar[str]
    name: str
    rows: list[dict[str, Any]]
    passed: bool

    @property
    def headline(self) -> str:
        name = getattr(self, "name", "")
        return f"{self.kind} {name}: {'passed' if self.passed else 'FAILED'}".strip()

    def extra(self) -> dict[str, Any]:
        """What this kind's renderer needs beyond the common fields (plain values)."""
        return {}

    def record_fields(self) -> dict[str, Any]:
        """The recorded fields beyond the common ones: :meth:`extra` unless overridden
        (a result with a dataclass field named ``extra`` overrides this instead)."""
        extra = getattr(type(self), "extra", None)
        return extra(self) if callable(extra) else {}

    def to_dict(self) -> dict[str, Any]:
        """The recorded form: plain JSON values, the same for every kind."""
        rows = list(getattr(self, "rows", None) or [])
        return {
            "kind": getattr(self, "kind", "check"),
            "module": type(self).__module__,
            "name": display(getattr(self, "name", "") or ""),
            "passed": bool(self.passed),
            "headline": str(self.headline),
            "rows": plain(rows[:MAX_ROWS]),
            "rows_total": len(rows),
            "items": sorted(getattr(self, "items", ()) or ()),
            "test_id": getattr(self, "test_id", None),
            **{k: plain(v) for k, v in self.record_fields().items()},
        }


def plain(value: Any) -> Any:
    """``value`` as plain JSON values: str keys, finite floats (None for NaN/inf)."""
    if isinstance(value, Mapping):
        return {display(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)  # numpy.str_ is a str but no plain one: execnet refuses it
    if isinstance(value, bool) or value is None:
        return bool(value) if value is not None else None
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        try:
            value = value.item()  # numpy and torch scalars
        except (TypeError, ValueError):
            return str(value)
        if isinstance(value, bool | str) or value is None:
            return value
    if isinstance(value, int):
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return str(value)
    return number if math.isfinite(number) else None


def display(name: Any) -> str:
    """A column or slice name as text: frames built from arrays have integer names."""
    return str(name)


# --- recording -------------------------------------------------------------------------


@dataclass
class Recorder:
    """What one test's checks recorded: results and the ML Test Score items.

    The plugin makes it current for the test's setup, call and teardown (fixtures'
    gates count too); a check in a thread the test started records here as well, marked
    ``"thread": "other"`` (see :func:`counted`).
    """

    test_id: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    evidence: set[str] = field(default_factory=set)
    thread: Any = field(default_factory=lambda: threading.current_thread())
    taken: int = 0  # results already handed to a phase's report

    def add(self, result: CheckResult) -> None:
        result.test_id = self.test_id
        try:
            data = result.to_dict()
        except Exception as exc:  # a result we cannot render never breaks the test
            warn_rendering(result, "record", exc)
            data = {
                "kind": getattr(result, "kind", "check"),
                "name": display(getattr(result, "name", "")),
                "passed": bool(getattr(result, "passed", False)),
                "headline": f"(could not be recorded: {type(exc).__name__})",
                "rows": [],
                "rows_total": 0,
                "items": [],
                "test_id": self.test_id,
            }
        if threading.current_thread() is not self.thread:
            data["thread"] = "other"
        with _LOCK:
            self.results.append(data)
            if data["passed"]:
                self.evidence.update(data.get("items") or ())

    def take(self) -> list[dict[str, Any]]:
        """The results recorded since the last call (one test phase's)."""
        with _LOCK:
            new, self.taken = self.results[self.taken :], len(self.results)
        return new


_LOCK = threading.Lock()
_CURRENT: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "mltk_recorder", default=None
)


@dataclass
class _Active:
    """The process-wide view the plugin keeps: the running test's recorder (threads do
    not inherit context variables), and results recorded while no test ran."""

    recorder: Recorder | None = None
    orphans: list[dict[str, Any]] | None = None  # a list while a pytest session runs


ACTIVE = _Active()


def record(result: CheckResult) -> CheckResult:
    """Hand ``result`` to the running test's recorder: the test's own context, or the
    test that is running when a thread records. During a pytest session, a result
    recorded while no test runs is kept as an orphan: the gate report refuses to pass
    over a gate it cannot attribute. Outside pytest nothing is recorded."""
    recorder = _CURRENT.get() or ACTIVE.recorder
    if recorder is None and ACTIVE.orphans is None:
        return result
    if not getattr(result, "items", ()):
        from mlops_testkit.reporting.score import declared_items

        result.items = declared_items()
    if recorder is not None:
        recorder.add(result)
        return result
    orphan = Recorder(None)
    orphan.add(result)
    with _LOCK:
        if ACTIVE.orphans is not None:
            ACTIVE.orphans.extend(orphan.results)
    return result


def recording(recorder: Recorder) -> contextvars.Token[Recorder | None]:
    """Make ``recorder`` the current one; reset with ``_CURRENT.reset(token)``."""
    return _CURRENT.set(recorder)


def transportable(results: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The results as JSON-native values only, so that pytest-xdist can send them to the
    controller whatever a check put in them (a value it cannot send becomes its text)."""
    import json

    return json.loads(json.dumps(list(results), default=str, allow_nan=True))


def counted(results: Iterable[Mapping[str, Any]], outcome: str) -> list[dict[str, Any]]:
    """The results that are verdicts, given the outcome of the test that recorded them.

    A failing result in a test that passed was caught by the test (``pytest.raises``):
    a demonstration, not a verdict, unless it was recorded in another thread, whose
    failure the test never saw (fail closed). Nothing of an xfail or skipped test counts.
    """
    if outcome in ("xfailed", "xpassed", "skipped", "deselected", "not run"):
        return []
    kept = [dict(r) for r in results]
    if outcome == "passed":
        kept = [r for r in kept if r.get("passed") or r.get("thread") == "other"]
    return kept


# --- rendering -------------------------------------------------------------------------


@dataclass
class Section:
    """One section of the Markdown/HTML report."""

    title: str
    text: str | None = None  # preformatted text (a table or text bars)
    header: Sequence[str] = ()
    table: Sequence[Sequence[Any]] = ()
    image: str | None = None  # PNG, base64
    note: str | None = None  # a sentence under the title


Results = list[dict[str, Any]]


@dataclass(frozen=True)
class Renderer:
    """How one kind of result shows. Every field is optional.

    ``summary(results)`` gives terminal-summary lines for all results of the kind;
    ``junit(result)`` gives JUnit properties ``(name, value)`` of one result;
    ``sections(results)`` gives report :class:`Section` s; ``gate=True`` sends the
    results to the gate report and the gate table (they must carry ``value`` and
    ``threshold``); ``json_key`` groups them in ``--mltk-json`` (default: the kind).
    """

    kind: str
    summary: Callable[[Results], list[str]] | None = None
    junit: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None
    sections: Callable[[Results], list[Section]] | None = None
    gate: bool = False
    json_key: str | None = None


RENDERERS: dict[str, Renderer] = {}


def register(renderer: Renderer) -> Renderer:
    """Declare how a kind of result renders (once per kind; the last one wins)."""
    RENDERERS[renderer.kind] = renderer
    return renderer


def renderer_for(result: Mapping[str, Any]) -> Renderer:
    """The renderer of a recorded result; its module is imported on the controller if
    the kind is not registered yet (under xdist the controller never ran the check)."""
    kind = str(result.get("kind"))
    if kind not in RENDERERS and result.get("module"):
        try:
            importlib.import_module(str(result["module"]))
        except Exception as exc:
            warn_rendering(result, "import its module", exc)
    return RENDERERS.get(kind) or DEFAULT


def _default_summary(results: Results) -> list[str]:
    failed = [r for r in results if not r.get("passed")]
    kind = results[0].get("kind", "check")
    lines = [f"{kind}: {len(results) - len(failed)} passed, {len(failed)} failed"]
    for r in failed[:8]:
        lines.append(f"  {short_test(r)} {r.get('name') or ''}: {r.get('headline')}".rstrip())
    if len(failed) > 8:
        lines.append(f"  +{len(failed) - 8} more")
    return lines


def _default_junit(result: dict[str, Any]) -> list[tuple[str, str]]:
    verdict = "pass" if result.get("passed") else "FAIL"
    name = f"mltk_{result.get('kind')}:{result.get('name') or ''}".rstrip(":")
    return [(name, f"{verdict}: {result.get('headline')}")]


def _default_sections(results: Results) -> list[Section]:
    kind = results[0].get("kind", "check")
    rows = [
        [
            r.get("name") or "-",
            "pass" if r.get("passed") else "FAIL",
            r.get("headline"),
            r.get("test_id") or "-",
        ]
        for r in results
    ]
    return [Section(f"Checks: {kind}", header=("name", "verdict", "headline", "test"), table=rows)]


DEFAULT = Renderer("check", _default_summary, _default_junit, _default_sections)


def short_test(result: Mapping[str, Any]) -> str:
    """The test's name without its file path: ``test_x[cpu]``."""
    test = str(result.get("test_id") or "-")
    return test.rsplit("::", 1)[-1]


def warn_rendering(result: Any, what: str, exc: BaseException) -> None:
    """A result that cannot be rendered is a warning naming it; the verdict stands."""
    from mlops_testkit import MltkWarning

    if isinstance(result, Mapping):
        kind, name, test = result.get("kind"), result.get("name"), result.get("test_id")
    else:
        kind, name = getattr(result, "kind", "?"), getattr(result, "name", "")
        test = getattr(result, "test_id", None)
    warnings.warn(
        MltkWarning(
            f"mlops-testkit could not {what} for the {kind} result {name!r} "
            f"of {test or 'a test'}: {type(exc).__name__}: {exc}; the verdict stands"
        ),
        stacklevel=2,
    )


def safely(result: Mapping[str, Any], what: str, fn: Callable[[], Any], default: Any) -> Any:
    """``fn()``, or ``default`` and a warning naming the result if it raises."""
    try:
        return fn()
    except Exception as exc:
        warn_rendering(result, what, exc)
        return default


def by_kind(results: Iterable[Mapping[str, Any]]) -> dict[str, Results]:
    """Results grouped by kind, in the order the kinds first appear."""
    groups: dict[str, Results] = {}
    for r in results:
        groups.setdefault(str(r.get("kind")), []).append(dict(r))
    return groups


def is_gate(result: Mapping[str, Any]) -> bool:
    return renderer_for(result).gate


def histogram(reference: Any, current: Any, bins: int = 20) -> dict[str, Any] | None:
    """Reference and current shares on common bins, for a drift plot (numeric only)."""
    try:
        import numpy as np

        ref = np.asarray(reference, dtype=float)
        cur = np.asarray(current, dtype=float)
    except (TypeError, ValueError):
        return None
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if not len(ref) or not len(cur):
        return None
    lo, hi = float(min(ref.min(), cur.min())), float(max(ref.max(), cur.max()))
    if lo == hi:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    return {
        "edges": edges.tolist(),
        "reference": (np.histogram(ref, edges)[0] / len(ref)).tolist(),
        "current": (np.histogram(cur, edges)[0] / len(cur)).tolist(),
    }
