"""Detached snapshots of results and the differences between two of them."""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Mapping
from typing import Any


def _snapshot(obj: Any) -> Any:
    """A detached CPU copy of a result, so later runs cannot alias it."""
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    if torch is not None:
        if isinstance(obj, torch.nn.Module):
            return _snapshot(obj.state_dict())
        if isinstance(obj, torch.Tensor):
            return obj.detach().to("cpu", copy=True)
    if np is not None and isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, Mapping):
        return {k: _snapshot(v) for k, v in obj.items()}
    if isinstance(obj, tuple | list):
        items = [_snapshot(v) for v in obj]
        return items if isinstance(obj, list) else tuple(items)
    return copy.deepcopy(obj)


def element_count(obj: Any) -> int | None:
    """How many numbers the tensors and arrays of a snapshot hold (None: it holds none):
    0 means an empty output, which proves nothing when compared."""
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    if torch is not None and isinstance(obj, torch.Tensor):
        return int(obj.numel())
    if np is not None and isinstance(obj, np.ndarray):
        return int(obj.size)
    items = (
        obj.values() if isinstance(obj, Mapping) else obj if isinstance(obj, tuple | list) else ()
    )
    counts = [c for c in (element_count(v) for v in items) if c is not None]
    return sum(counts) if counts else None


def nonfinite_paths(obj: Any, path: str = "result") -> list[str]:
    """Where a snapshot holds NaN or inf: equal NaNs prove nothing, so checks refuse them."""
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    if torch is not None and isinstance(obj, torch.Tensor):
        bad = (obj.is_floating_point() or obj.is_complex()) and not bool(obj.isfinite().all())
        return [path] if bad else []
    if np is not None and isinstance(obj, np.ndarray | np.floating):
        bad = np.issubdtype(obj.dtype, np.inexact) and not bool(np.isfinite(obj).all())
        return [path] if bad else []
    if isinstance(obj, float):
        return [] if math.isfinite(obj) else [path]
    if isinstance(obj, Mapping):
        return [p for k, v in obj.items() for p in nonfinite_paths(v, f"{path}[{k!r}]")]
    if isinstance(obj, tuple | list):
        return [p for i, v in enumerate(obj) for p in nonfinite_paths(v, f"{path}[{i}]")]
    return []


def check_tolerances(atol: Any, rtol: Any, where: str) -> None:
    """``atol`` and ``rtol`` are finite numbers >= 0, or the kit's usage error."""
    from mlops_testkit import MltkUsageError

    for name, value in (("atol", atol), ("rtol", rtol)):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not (math.isfinite(value) and value >= 0):
            raise MltkUsageError(f"{where}: {name} must be a finite number >= 0, got {value!r}")


def _differences(a: Any, b: Any, atol: float, rtol: float, path: str) -> list[dict[str, Any]]:
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    if torch is not None and isinstance(a, torch.Tensor):
        if not isinstance(b, torch.Tensor):
            return [{"where": path, "difference": f"tensor vs {type(b).__name__}"}]
        if a.shape != b.shape or a.dtype != b.dtype:
            return [
                {
                    "where": path,
                    "difference": f"{tuple(a.shape)} {a.dtype} vs {tuple(b.shape)} {b.dtype}",
                }
            ]
        if a.is_floating_point() or a.is_complex():
            close = torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
        else:
            close = a == b
        n_diff = int((~close).sum())
        if n_diff == 0:
            return []
        diff = (a.double() - b.double()).abs() if not a.is_complex() else (a - b).abs()
        return [
            {
                "where": path,
                "difference": f"{n_diff} of {a.numel()} values differ, max |diff| "
                f"{float(diff.nan_to_num(nan=math.inf).max()):.3g}",
            }
        ]
    if np is not None and isinstance(a, np.ndarray):
        b_arr = np.asarray(b)
        if a.shape != b_arr.shape:
            return [{"where": path, "difference": f"shape {a.shape} vs {b_arr.shape}"}]
        if np.issubdtype(a.dtype, np.inexact):
            close = np.isclose(a, b_arr, rtol=rtol, atol=atol, equal_nan=True)
        else:
            close = a == b_arr
        n_diff = int((~close).sum())
        return (
            [{"where": path, "difference": f"{n_diff} of {a.size} values differ"}]
            if n_diff
            else []
        )
    if isinstance(a, Mapping):
        if not isinstance(b, Mapping) or set(a) != set(b):
            return [{"where": path, "difference": "different keys"}]
        rows = []
        for k in a:
            rows += _differences(a[k], b[k], atol, rtol, f"{path}[{k!r}]")
        return rows
    if isinstance(a, tuple | list):
        if not isinstance(b, tuple | list) or len(a) != len(b):
            return [{"where": path, "difference": "different lengths"}]
        rows = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            rows += _differences(x, y, atol, rtol, f"{path}[{i}]")
        return rows
    if isinstance(a, float) and isinstance(b, float):
        same = (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
        return [] if same else [{"where": path, "difference": f"{a!r} vs {b!r}"}]
    return [] if a == b else [{"where": path, "difference": f"{a!r} vs {b!r}"}]
