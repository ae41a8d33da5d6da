"""Failure messages: a headline, a small table, a next step (HOUSE_RULES 6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], max_rows: int = 10) -> str:
    """Render rows as an aligned text table, capped at ``max_rows`` with "+N more".

    >>> print(table([{"a": 1, "b": "x"}], ["a", "b"]))
    a  b
    1  x
    """
    shown = list(rows[:max_rows])
    cells = [[str(col) for col in columns]]
    cells += [[_cell(row.get(col, "")) for col in columns] for row in shown]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    if len(rows) > max_rows:
        lines.append(f"+{len(rows) - max_rows} more")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def message(headline: str, body: str | None = None, hint: str | None = None) -> str:
    parts = [headline]
    if body:
        parts.append(body)
    if hint:
        parts.append(hint)
    return "\n\n".join(parts)
