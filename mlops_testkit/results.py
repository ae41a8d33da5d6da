"""What helpers report to the run's summary, JSON and report besides gates: drift rows,
behavioral failure rates, loss curves. The plugin sets the sink around each test call;
outside pytest nothing is recorded. Imports only the standard library."""

from __future__ import annotations

import contextvars
import math
from typing import Any

_SINK: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
    "mltk_results", default=None
)


def record(kind: str, **data: Any) -> None:
    """Keep ``data`` (plain JSON-able values) for the summary, --mltk-json and --mltk-report."""
    sink = _SINK.get()
    if sink is not None:
        sink.append({"kind": kind, **{k: _plain(v) for k, v in data.items()}})


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return number if math.isfinite(number) else None


def histogram(reference: Any, current: Any, bins: int = 20) -> dict[str, Any] | None:
    """Reference and current counts on common bins, for a drift plot (numeric only)."""
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
