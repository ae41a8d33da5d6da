"""Predictions that depend on the batch: ``assert_batch_invariant``.

A row's prediction must not depend on the rows served beside it. A serving loader that
rebuilds a network and forgets ``.eval()`` normalises each request with its own batch
statistics (BatchNorm) or drops units at random (dropout); a ``predict`` that scales
features per batch, or attention that sees padding, does the same. The same batch gives
the same output every time, so ``assert_deterministic`` cannot see it; predicting the
same rows whole, in chunks and in another order can.

numpy (and torch, pandas, when the inputs are theirs) are imported inside the functions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError, _args
from mlops_testkit._format import message, table
from mlops_testkit.reporting.results import CheckResult, record
from mlops_testkit.reporting.score import evidences
from mlops_testkit.training.compare import check_tolerances

WHERE = "batch_invariance_report"
MAX_SHOWN_ROWS = 8


@dataclass
class BatchInvarianceReport(CheckResult):
    """Each way of batching the rows that changed a prediction, or failed."""

    kind = "batch_invariance"
    n: int
    batch_sizes: list[int]
    shuffled: bool
    rows: list[dict[str, Any]] = field(default_factory=list)  # batching, rows, max diff
    training_mode: bool = False  # a torch module passed in training mode
    name: str = "batch invariant"

    @property
    def passed(self) -> bool:
        return not self.rows

    @property
    def headline(self) -> str:
        ways = [f"batch size {b}" for b in self.batch_sizes]
        if self.shuffled:
            ways.append("a shuffled order")
        if self.passed:
            return f"the same predictions for {self.n} rows whole and in {', '.join(ways)}"
        return (
            f"predictions of {self.n} rows depend on the batch: {len(self.rows)} of "
            f"{len(ways)} batching(s) differ from predicting the rows whole"
        )

    def extra(self) -> dict[str, Any]:
        return {"n": self.n, "batch_sizes": self.batch_sizes, "shuffled": self.shuffled}


# --- the inputs and outputs ----------------------------------------------------------------


def _length(X: Any) -> int:
    """The number of rows of ``X``: an array, tensor, DataFrame, list or dict of arrays."""
    if isinstance(X, dict):
        if not X:
            raise MltkUsageError(f"{WHERE}: X is an empty dict: no arrays to slice")
        lengths = {key: _length(value) for key, value in X.items()}
        if len(set(lengths.values())) != 1:
            shown = ", ".join(f"{k!r}: {n}" for k, n in lengths.items())
            raise MltkUsageError(
                f"{WHERE}: the arrays of X have different lengths ({shown}); they must share "
                "their first axis"
            )
        return next(iter(lengths.values()))
    if isinstance(X, str | bytes) or not hasattr(X, "__len__") or not hasattr(X, "__getitem__"):
        raise MltkUsageError(
            f"{WHERE}: X must be an array, a tensor, a DataFrame, a list of texts or a dict "
            f"of arrays (sliced on the first axis), got {type(X).__name__}"
        )
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 0:
        raise MltkUsageError(f"{WHERE}: X is 0-dimensional: there are no rows to batch")
    return len(X)


def _take(X: Any, index: Any) -> Any:
    """Rows ``index`` (a numpy integer array) of ``X``, of the same kind as ``X``."""
    if isinstance(X, dict):
        return {key: _take(value, index) for key, value in X.items()}
    if hasattr(X, "iloc"):  # pandas DataFrame or Series: keep its index
        return X.iloc[index]
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(X, torch.Tensor):
        return X[torch.as_tensor(index, dtype=torch.long, device=X.device)]
    if isinstance(X, list | tuple):
        return type(X)(X[int(i)] for i in index)
    return X[index]


def _as_array(output: Any, n: int, what: str) -> Any:
    """A prediction as a numpy array with ``n`` rows (the first axis)."""
    import numpy as np

    torch = sys.modules.get("torch")
    if torch is not None and isinstance(output, torch.Tensor):
        output = output.detach().to("cpu").numpy()
    elif hasattr(output, "to_numpy"):  # pandas
        output = output.to_numpy()
    if isinstance(output, tuple | dict):
        raise MltkUsageError(
            f"{WHERE}: predict returned a {type(output).__name__} for {what}; return one "
            "array of predictions (e.g. wrap the model: lambda x: model(x)[0])"
        )
    try:
        array = np.asarray(output)
    except (TypeError, ValueError) as exc:
        raise MltkUsageError(
            f"{WHERE}: predict's output for {what} is not an array ({exc})"
        ) from None
    if array.ndim == 0 or array.shape[0] != n:
        raise MltkUsageError(
            f"{WHERE}: predict returned shape {array.shape} for {what} of {n} rows; it must "
            f"return one prediction per row (first axis {n})"
        )
    return array


def _rows_differ(reference: Any, other: Any, atol: float, rtol: float) -> Any:
    """A boolean per row: does ``other`` differ from ``reference`` beyond the tolerance?"""
    import numpy as np

    if reference.shape != other.shape:
        return np.ones(reference.shape[0], dtype=bool)
    if np.issubdtype(reference.dtype, np.number) and np.issubdtype(other.dtype, np.number):
        a, b = reference.astype(complex if np.iscomplexobj(reference) else float), other
        close = np.abs(a - b) <= atol + rtol * np.abs(a)
    else:  # labels, answer strings
        close = reference == other
    close = np.asarray(close).reshape(reference.shape[0], -1)
    return ~close.all(axis=1)


def _max_diff(reference: Any, other: Any) -> float | None:
    import numpy as np

    if reference.shape != other.shape or not np.issubdtype(reference.dtype, np.number):
        return None
    return float(np.max(np.abs(reference.astype(float) - other.astype(float))))


# --- the check -----------------------------------------------------------------------------


def _callable(predict: Any) -> tuple[Callable[[Any], Any], bool]:
    """``predict`` itself, or a torch module's forward without gradients; and whether
    the module is in training mode."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(predict, torch.nn.Module):
        module = predict

        def forward(x: Any) -> Any:
            with torch.no_grad():
                return module(**x) if isinstance(x, dict) else module(x)

        return forward, bool(module.training)
    if not callable(predict):
        raise MltkUsageError(
            f"{WHERE}: predict must be a callable or a torch module, got {type(predict).__name__}"
        )
    return predict, False


def _sizes(batch_sizes: Any) -> list[int]:
    if isinstance(batch_sizes, int | bool) or not isinstance(batch_sizes, Sequence):
        raise MltkUsageError(
            f"{WHERE}: batch_sizes must be a sequence of integers >= 1, got {batch_sizes!r}"
        )
    sizes = []
    for size in batch_sizes:
        value = _args._scalar(size)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise MltkUsageError(
                f"{WHERE}: batch_sizes must hold integers >= 1, got {size!r} in {batch_sizes!r}"
            )
        if value not in sizes:
            sizes.append(int(value))
    if not sizes:
        raise MltkUsageError(
            f"{WHERE}: batch_sizes is empty: give at least one batch size, e.g. (1, 7, 64)"
        )
    return sizes


def _call(fn: Callable[[Any], Any], X: Any, index: Any, what: str) -> Any:
    try:
        return _as_array(fn(_take(X, index)), len(index), what)
    except MltkUsageError:
        raise
    except Exception as exc:
        head = (str(exc).strip().splitlines() or [""])[0]
        raise _ChunkFailed(f"{type(exc).__name__}: {head}") from exc


class _ChunkFailed(Exception):
    """predict raised on one chunk: a failing row of the report, not a usage error."""


def batch_invariance_report(
    predict: Any,
    X: Any,
    *,
    batch_sizes: Sequence[int] = (1, 7, 64),
    shuffle: bool = True,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
) -> BatchInvarianceReport:
    """Predict ``X`` whole, in chunks of each batch size and in a seeded shuffled order,
    and report every batching whose predictions differ from the whole batch's (the rows
    that changed and the largest difference) or on which ``predict`` raised (the chunk
    and the exception). The report twin of :func:`assert_batch_invariant`.

    Example::

        report = batch_invariance_report(model.predict, X_holdout[:200])
        print(report.passed, report.rows)
    """
    import numpy as np

    fn, training_mode = _callable(predict)
    n = _length(X)
    sizes = _sizes(batch_sizes)
    shuffle = _args.flag(shuffle, "shuffle", WHERE)
    check_tolerances(atol, rtol, WHERE)
    seed = _args.seed(seed, WHERE)
    if n < 2:
        raise MltkUsageError(
            f"{WHERE}: X has {n} row(s); batching can only be judged on at least 2 rows"
        )
    applicable = [b for b in sizes if b < n]
    if not applicable and not shuffle:
        raise MltkUsageError(
            f"{WHERE}: every batch size in {sizes} is >= the {n} rows of X and shuffle is "
            "off: nothing would be compared; pass smaller batch sizes or more rows"
        )
    report = BatchInvarianceReport(n, applicable, shuffle, training_mode=training_mode)
    everything = np.arange(n)
    try:
        whole = _call(fn, X, everything, "the whole batch")
    except _ChunkFailed as exc:
        report.rows.append({"batching": "whole", "rows": f"0-{n - 1}", "difference": str(exc)})
        return report
    if np.issubdtype(whole.dtype, np.inexact) and not np.isfinite(whole).all():
        bad = int((~np.isfinite(whole.reshape(n, -1))).any(axis=1).sum())
        report.rows.append(
            {
                "batching": "whole",
                "rows": f"{bad} row(s)",
                "difference": "NaN or inf predictions: nothing to compare",
            }
        )
        return report
    batchings: list[tuple[str, Any]] = [
        (f"batch size {b}", [everything[i : i + b] for i in range(0, n, b)]) for b in applicable
    ]
    if shuffle:
        order = np.random.default_rng(seed).permutation(n)
        batchings.append((f"shuffled (seed {seed})", [order]))
    for label, chunks in batchings:
        numeric = np.issubdtype(whole.dtype, np.number)
        got = np.empty(whole.shape, dtype=whole.dtype if numeric else object)
        failed = None
        for chunk in chunks:
            what = f"rows {chunk[0]}-{chunk[-1]}" if label.startswith("batch") else label
            try:
                part = _call(fn, X, chunk, f"{label}, {what}")
            except _ChunkFailed as exc:
                failed = {"batching": label, "rows": what, "difference": f"predict raised {exc}"}
                break
            if part.shape[1:] != whole.shape[1:]:
                failed = {
                    "batching": label,
                    "rows": what,
                    "difference": f"shape {part.shape[1:]} per row, whole batch "
                    f"{whole.shape[1:]} (padding to the batch's longest input?)",
                }
                break
            got[chunk] = part
        if failed is not None:
            report.rows.append(failed)
            continue
        changed = np.flatnonzero(_rows_differ(whole, got, atol, rtol))
        if changed.size:
            shown = ", ".join(str(i) for i in changed[:MAX_SHOWN_ROWS])
            more = (
                f" (+{changed.size - MAX_SHOWN_ROWS} more)"
                if changed.size > MAX_SHOWN_ROWS
                else ""
            )
            diff = _max_diff(whole, got)
            report.rows.append(
                {
                    "batching": label,
                    "rows": f"{changed.size} changed: {shown}{more}",
                    "difference": "labels differ" if diff is None else f"max abs diff {diff:.3g}",
                }
            )
    return report


@evidences("mon-3")
def assert_batch_invariant(
    predict: Any,
    X: Any,
    *,
    batch_sizes: Sequence[int] = (1, 7, 64),
    shuffle: bool = True,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
) -> BatchInvarianceReport:
    """Assert that a row's prediction does not depend on the rows served with it.

    ``predict`` (a function, or a torch module called without gradients) runs on ``X``
    whole, in chunks of each of ``batch_sizes`` and in a seeded shuffled order; every
    prediction must equal the whole batch's within ``atol + rtol * |whole|`` (labels and
    strings exactly). ``X`` may be an array, a tensor, a DataFrame, a list of texts or a
    dict of arrays, sliced on the first axis. It fails naming the batching, the rows
    that changed and the largest difference, or the chunk on which ``predict`` raised
    (a one-row batch through BatchNorm in training mode does). A torch module left in
    training mode is named as the likely cause.

    The defaults suit float32 on a CPU. GPU kernels may pick other algorithms for other
    batch shapes (cuBLAS, cuDNN): loosen ``atol``/``rtol`` to the size of that noise
    (e.g. ``atol=1e-4, rtol=1e-3`` for float32, more for float16/bfloat16), never so far
    that a real batch effect hides under it.

    Example::

        def test_serving_is_batch_invariant(served_model, holdout):
            assert_batch_invariant(served_model.predict, holdout.features[:200])
    """
    __tracebackhide__ = True
    report = record(
        batch_invariance_report(
            predict, X, batch_sizes=batch_sizes, shuffle=shuffle, atol=atol, rtol=rtol, seed=seed
        )
    )
    if not report.passed:
        hint = (
            "The module is in training mode: call .eval() before serving it (BatchNorm "
            "normalises each batch with its own statistics, dropout drops units)."
            if report.training_mode
            else "Look for state that depends on the batch: a model left in training mode "
            "(BatchNorm, dropout), per-batch feature scaling, padding the model attends to."
        )
        body = table(report.rows, ["batching", "rows", "difference"])
        raise AssertionError(message(report.headline, body, hint))
    return report
