"""Numeric and shape checks of a model's outputs: finite values, output shapes."""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._args import flag
from mlops_testkit._format import message, table
from mlops_testkit.reporting.results import CheckResult, record
from mlops_testkit.reporting.score import evidences
from mlops_testkit.training.batches import (
    _check_module,
    _forward,
    _torch,
    degenerate_inputs,
    select_output,
)

# --- finite values ---------------------------------------------------------------------


def _walk(obj: Any, path: str = "output") -> Iterator[tuple[str, Any]]:
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    is_tensor = torch is not None and isinstance(obj, torch.Tensor)
    if is_tensor or (np is not None and isinstance(obj, np.ndarray)):
        yield path, obj
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _walk(v, f"{path}[{k!r}]")
    elif isinstance(obj, tuple | list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")
    elif isinstance(obj, float):
        yield path, obj


def _count_nonfinite(value: Any) -> tuple[int, int, int]:
    torch = sys.modules.get("torch")
    if isinstance(value, float):
        return int(math.isnan(value)), int(math.isinf(value)), 1
    if torch is not None and isinstance(value, torch.Tensor):
        if not (value.is_floating_point() or value.is_complex()):
            return 0, 0, value.numel()
        v = value.detach()
        return int(v.isnan().sum()), int(v.isinf().sum()), v.numel()
    import numpy as np

    if not np.issubdtype(value.dtype, np.inexact):
        return 0, 0, int(value.size)
    return int(np.isnan(value).sum()), int(np.isinf(value).sum()), int(value.size)


class NonfiniteReport(CheckResult):
    """Where NaN or inf were found: rows ``where, nan, inf, of``. It iterates, indexes
    and compares like the list of its rows (what ``nonfinite_report`` returned before)."""

    kind = "finite"

    def __init__(self, rows: list[dict[str, Any]], checked: int, name: str = "finite values"):
        self.rows = rows
        self.checked = checked  # places (tensors, arrays, floats) checked
        self.name = name

    @property
    def passed(self) -> bool:
        return not self.rows and self.checked > 0

    @property
    def headline(self) -> str:
        if self.passed:
            return f"no NaN or inf in {self.checked} place(s)"
        total = sum(r["nan"] + r["inf"] for r in self.rows)
        return f"{total} non-finite value(s) in {len(self.rows)} place(s)"

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: Any) -> Any:
        return self.rows[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NonfiniteReport):
            return self.rows == other.rows
        return self.rows == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"NonfiniteReport({self.rows!r})"


def nonfinite_report(
    model_or_outputs: Any, batch: Any = None, *, grads: bool = False
) -> NonfiniteReport:
    """Rows (where, nan, inf, of) for every tensor holding NaN or inf, as a result.

    With a model and a batch: its outputs on the batch (computed on a copy, so batch
    norm statistics of yours do not move), its parameters and buffers, and with
    ``grads=True`` the gradients of ``outputs.sum()``. With anything else: that object
    (tensors, arrays, floats, nested lists/tuples/dicts).

    Example::

        rows = nonfinite_report(model, x, grads=True)   # [] when everything is finite
    """
    torch = sys.modules.get("torch")
    where = "nonfinite_report"
    grads = flag(grads, "grads", where)
    items: list[tuple[str, Any]] = []
    if torch is not None and isinstance(model_or_outputs, torch.nn.Module):
        if batch is None:
            raise MltkUsageError(f"{where}: pass a batch to check a model's outputs")
        clone = copy.deepcopy(model_or_outputs)
        if grads:
            outputs = _forward(clone, batch, where)
        else:
            with torch.no_grad():
                outputs = _forward(clone, batch, where)
        items += list(_walk(outputs))
        items += [(f"parameter {n}", p) for n, p in clone.named_parameters()]
        items += [(f"buffer {n}", b) for n, b in clone.named_buffers()]
        if grads:
            tensors = [t for _, t in _walk(outputs) if isinstance(t, torch.Tensor)]
            total = sum(t.float().sum() for t in tensors if t.requires_grad)
            if isinstance(total, torch.Tensor):
                total.backward()
            items += [
                (f"gradient {n}", p.grad)
                for n, p in clone.named_parameters()
                if p.grad is not None
            ]
    else:
        if grads:
            raise MltkUsageError(f"{where}: grads=True needs a torch.nn.Module and a batch")
        items = list(_walk(model_or_outputs))
        if not items:
            raise MltkUsageError(
                f"{where}: found no tensor, array or float in {type(model_or_outputs).__name__}"
            )
    rows = []
    for path, value in items:
        n_nan, n_inf, total = _count_nonfinite(value)
        if n_nan or n_inf:
            rows.append({"where": path, "nan": n_nan, "inf": n_inf, "of": total})
        elif total == 0:
            rows.append({"where": path, "nan": 0, "inf": 0, "of": "empty: nothing to check"})
    return NonfiniteReport(rows, len(items))


@evidences("mon-5")
def assert_finite(model_or_outputs: Any, batch: Any = None, *, grads: bool = False) -> None:
    """Assert no NaN or inf in outputs (and parameters, buffers, gradients); say where.

    Example::

        def test_no_nan(device):
            assert_finite(Net().to(device), x.to(device), grads=True)
            assert_finite({"logits": logits, "loss": loss})
    """
    __tracebackhide__ = True
    report = record(nonfinite_report(model_or_outputs, batch, grads=grads))
    if not report.passed:
        raise AssertionError(
            message(
                report.headline,
                table(report.rows, ["where", "nan", "inf", "of"]),
                "The first place in forward order is usually the cause: look for log/sqrt of "
                "values <= 0, division by zero, exp overflow, or NaN in the inputs.",
            )
        )


# --- output shape ------------------------------------------------------------------------


def _is_shape(obj: Any) -> bool:
    return isinstance(obj, tuple | list) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in obj
    )


def _check_expected_shape(expected: Any) -> None:
    if _is_shape(expected):
        return
    if isinstance(expected, Mapping) and expected:
        for sub in expected.values():
            _check_expected_shape(sub)
        return
    if isinstance(expected, tuple | list) and expected:
        for sub in expected:
            _check_expected_shape(sub)
        return
    raise MltkUsageError(
        "assert_output_shape: expected must be a shape like (None, 10) (None is a wildcard), "
        f"or a tuple/dict of shapes for several outputs, got {expected!r}"
    )


def _shape_problems(out: Any, expected: Any, dtype: Any, path: str) -> list[dict[str, Any]]:
    torch = sys.modules["torch"]
    if _is_shape(expected):
        if not isinstance(out, torch.Tensor):
            return [{"output": path, "got": type(out).__name__, "expected": str(tuple(expected))}]
        got = tuple(out.shape)
        rows = []
        if len(got) != len(expected) or any(
            e is not None and g != e for g, e in zip(got, expected, strict=False)
        ):
            dims = ["*" if e is None else str(e) for e in expected]
            shown = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
            rows.append({"output": path, "got": str(got), "expected": shown})
        if dtype is not None and out.dtype != dtype:
            rows.append({"output": path, "got": str(out.dtype), "expected": str(dtype)})
        return rows
    if isinstance(expected, Mapping):
        if not isinstance(out, Mapping):
            return [{"output": path, "got": type(out).__name__, "expected": "a mapping"}]
        rows = []
        for key, sub in expected.items():
            if key not in out:
                rows.append({"output": f"{path}[{key!r}]", "got": "missing", "expected": sub})
            else:
                rows += _shape_problems(out[key], sub, dtype, f"{path}[{key!r}]")
        return rows
    if isinstance(expected, tuple | list):
        if not isinstance(out, tuple | list) or len(out) != len(expected):
            got = f"{len(out)} outputs" if isinstance(out, tuple | list) else type(out).__name__
            return [{"output": path, "got": got, "expected": f"{len(expected)} outputs"}]
        rows = []
        for i, (o, e) in enumerate(zip(out, expected, strict=True)):
            rows += _shape_problems(o, e, dtype, f"{path}[{i}]")
        return rows
    _check_expected_shape(expected)
    return []


class OutputShapeReport(CheckResult):
    """The model's outputs on a batch against the expected shapes: rows ``output, got,
    expected`` for each mismatch; ``outputs`` holds what the model returned."""

    kind = "output_shape"

    def __init__(
        self,
        rows: list[dict[str, Any]],
        outputs: Any,
        expected: Any,
        degenerate: str | None = None,
    ) -> None:
        self.rows, self.outputs, self.expected = rows, outputs, expected
        self.degenerate = degenerate  # why the batch cannot be evidence, or None
        self.name = "output shape"

    @property
    def passed(self) -> bool:
        return not self.rows and self.degenerate is None

    @property
    def headline(self) -> str:
        if self.passed:
            return f"the outputs match {self.expected!r}"
        if self.degenerate is not None and not self.rows:
            return f"output shape not judged: {self.degenerate}"
        head = f"the model's output does not match the expected shape in {len(self.rows)} place(s)"
        return head if self.degenerate is None else f"{head}; {self.degenerate}"


def output_shape_report(
    model: Any, batch: Any, expected: Any, *, dtype: Any = None, output: Any = None
) -> OutputShapeReport:
    """Run a copy of ``model`` in eval mode on ``batch`` and compare its output shapes
    (and dtype) with ``expected`` (``None`` a wildcard; a tuple/dict of shapes for
    several outputs). ``output`` picks one output of a tuple/dict-returning model.

    Example::

        report = output_shape_report(Net(), torch.zeros(4, 8), (None, 2))
        print(report.passed, report.rows)
    """
    torch = _torch("output_shape_report")
    where = "output_shape_report"
    _check_module(model, where)
    _check_expected_shape(expected)
    clone = copy.deepcopy(model).eval()
    with torch.no_grad():
        outputs = _forward(clone, batch, where)
    if output is not None:
        outputs = select_output(outputs, output, where)
    return OutputShapeReport(
        _shape_problems(outputs, expected, dtype, "output"),
        outputs,
        expected,
        degenerate_inputs(batch, where),
    )


@evidences("infra-2")
def assert_output_shape(
    model: Any, batch: Any, expected: Any, *, dtype: Any = None, output: Any = None
) -> Any:
    """Assert the shape (and dtype) of the model's output on ``batch``; ``None`` is a
    wildcard. For several outputs, give a tuple or dict of shapes. Runs a copy of the
    model in eval mode without gradients; returns the outputs.

    Example::

        def test_shape():
            assert_output_shape(Net(), torch.zeros(4, 8), (None, 2), dtype=torch.float32)
    """
    __tracebackhide__ = True
    report = record(output_shape_report(model, batch, expected, dtype=dtype, output=output))
    outputs = report.outputs
    if not report.passed:
        hint = (
            "Pass a batch of real inputs (at least one row, finite values)."
            if report.degenerate is not None and not report.rows
            else "Look for a missing squeeze/flatten/reshape, a wrong out_features, or a "
            "reduction over the wrong dim."
        )
        raise AssertionError(
            message(report.headline, table(report.rows, ["output", "got", "expected"]), hint)
        )
    return outputs
