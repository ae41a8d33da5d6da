"""What the feature and pipeline checks share: finishing an ``assert_*`` and a table renderer.

Each check module (skew, target leakage, feature importance, PII, dependencies) registers
its kind once with :func:`table_renderer` and ends its ``assert_*`` with :func:`finish`.
This module imports only the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.reporting.results import (
    CheckResult,
    Renderer,
    Results,
    Section,
    record,
    register,
    short_test,
)


def finish(
    result: CheckResult, columns: Sequence[str], hint: str, *, max_rows: int = 10
) -> CheckResult:
    """Record ``result``; raise ``AssertionError`` (headline, table, next step) if it failed."""
    __tracebackhide__ = True
    record(result)
    if not result.passed:
        rows = list(result.rows)
        body = table(rows, list(columns), max_rows=max_rows) if rows else None
        raise AssertionError(message(result.headline, body, hint))
    return result


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.4g}"
    if value is None:
        return "-"
    return str(value)


def table_renderer(
    kind: str,
    title: str,
    columns: Sequence[str],
    *,
    failing: Callable[[Mapping[str, Any]], bool] | None = None,
    note: str | None = None,
) -> Renderer:
    """Register ``kind``: a summary line per result (test, name, headline), a JUnit
    property per result and one report section per result holding its rows (the rows
    for which ``failing(row)`` holds first)."""

    def summary(results: Results) -> list[str]:
        bad = [r for r in results if not r.get("passed")]
        lines = [f"{title}: {len(results) - len(bad)} passed, {len(bad)} failed"]
        ordered = [*bad, *(r for r in results if r.get("passed"))]
        for r in ordered[:8]:
            mark = "ok  " if r.get("passed") else "FAIL"
            lines.append(f"  {mark} {short_test(r)} {r.get('name') or ''}: {r.get('headline')}")
        if len(ordered) > 8:
            lines.append(f"  +{len(ordered) - 8} more")
        return lines

    def junit(result: dict[str, Any]) -> list[tuple[str, str]]:
        verdict = "pass" if result.get("passed") else "FAIL"
        return [
            (f"mltk_{kind}:{result.get('name') or ''}", f"{verdict}: {result.get('headline')}")
        ]

    def sections(results: Results) -> list[Section]:
        out = []
        for r in results:
            rows = list(r.get("rows") or [])
            if failing is not None:
                rows.sort(key=lambda row: not failing(row))
            total = int(r.get("rows_total") or len(rows))
            more = f" (+{total - len(rows)} more rows not recorded)" if total > len(rows) else ""
            out.append(
                Section(
                    f"{title}: {r.get('name') or kind} ({short_test(r)})",
                    header=tuple(columns),
                    table=[[_cell(row.get(c)) for c in columns] for row in rows],
                    note=f"{'passed' if r.get('passed') else 'FAILED'}: {r.get('headline')}"
                    + more
                    + (f". {note}" if note else ""),
                )
            )
        return out

    return register(Renderer(kind, summary=summary, junit=junit, sections=sections))


def probability(value: Any, name: str, where: str, *, closed: bool = False) -> float:
    """A number in (0, 1) (``closed``: [0, 1]), or the kit's usage error naming ``name``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    number = float(value) if ok else math.nan
    inside = 0.0 <= number <= 1.0 if closed else 0.0 < number < 1.0
    if not ok or not inside:
        bounds = "[0, 1]" if closed else "(0, 1)"
        raise MltkUsageError(f"{where}: {name} must be a number in {bounds}, got {value!r}")
    return number


def label(name: Any) -> str:
    """A column name (or a value) as printable text: a lone surrogate ("\\ud800"), which
    no terminal, JUnit file or UTF-8 report can write, is shown as its escape."""
    text = str(name)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def distinct(names: Sequence[Any], what: str, where: str) -> list[Any]:
    """``names`` as a list, or the kit's usage error when ``what`` holds one column twice
    or two that print alike (``0`` and ``"0"``): results, reports and ``allow=`` lists
    name columns by their text, so two columns with one text could hide each other."""
    seen: dict[str, Any] = {}
    out = list(names)
    for name in out:
        key = label(name)
        if key in seen:
            first = seen[key]
            if repr(first) == repr(name):
                raise MltkUsageError(
                    f"{where}: {name!r} appears twice in {what}; each column must appear once"
                )
            raise MltkUsageError(
                f"{where}: {first!r} and {name!r} in {what} both read {key!r}; rename one "
                "so each column has a name of its own"
            )
        seen[key] = name
    return out


def columns_of(value: Any, name: str, where: str) -> list[str] | None:
    """``None``, one column name or a sequence of names, as a list (or None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    try:
        cols = list(value)
    except TypeError:
        raise MltkUsageError(
            f"{where}: {name} must be a column name or a list of column names, got {value!r}"
        ) from None
    if not cols:
        raise MltkUsageError(f"{where}: {name} is empty; name at least one column")
    return distinct(cols, name, where)
