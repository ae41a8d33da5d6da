"""
``predict`` takes a batch (a list of texts, a DataFrame, an array, a tensor) and returns
labels, scores or class probabilities; the harness calls it once per ``batch_size``
inputs, originals and variants together, never once per example.

Outputs
    a 2-D array of probabilities or logits: the label is the argmax, the score of a
    class is its column; 1-D integers, strings or booleans: labels; 1-D floats: scores.

Perturbations
    text inputs are perturbed one by one (``perturb(text)`` returns a variant or a list
    of variants); tabular inputs (DataFrame, array) as a whole (``perturb(frame)``
    returns a frame of the same length, or a list of such frames). Perturbations from
    :mod:`mlops_testkit.perturb` draw their randomness from ``seed`` (default: drawn from
    Python's ``random``, which the plugin reseeds with ``--mltk-seed`` before every test),
    so the same seed gives the same verdict. A case whose perturbation yields nothing is
    *not applicable*: counted and reported, never a pass.

Thresholds
    A test fails when the failure rate (failing cases / applicable cases) is above
    ``max_fail_rate``. With ``confidence=0.95`` it fails only when the rate is above
    ``max_fail_rate`` *with that confidence*: the exact one-sided binomial test
    rejects ``rate <= max_fail_rate`` at level 1 - confidence (equivalently, the
    Clopper-Pearson lower bound of the rate is above it), so a handful of cases cannot
    flake the test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.reporting.results import (
    CheckResult,
    Renderer,
    Section,
    record,
    register,
    short_test,
)

DEFAULT_BATCH = 1024
EXPECTATIONS = ("increase", "decrease", "not_decrease", "not_increase")


# --- inputs and predictions ---------------------------------------------------------------


def _kind(inputs: Any, where: str) -> str:
    """'list' (one item at a time) or 'frame' / 'array' / 'tensor' (vectorised)."""
    module = type(inputs).__module__.split(".")[0]
    if module == "pandas" and hasattr(inputs, "iloc") and hasattr(inputs, "columns"):
        return "frame"
    if module == "numpy" and hasattr(inputs, "shape"):
        return "array"
    if module == "torch" and hasattr(inputs, "shape"):
        return "tensor"
    if isinstance(inputs, list | tuple):
        return "list"
    raise MltkUsageError(
        f"{where}: inputs must be a list (of texts or objects), a DataFrame, an array or a "
        f"tensor, got {type(inputs).__name__}"
    )


def _slice(batch: Any, start: int, stop: int, kind: str) -> Any:
    if kind == "frame":
        return batch.iloc[start:stop]
    return batch[start:stop]


def _row(stream: Any, i: int) -> Any:
    return stream.iloc[i] if hasattr(stream, "iloc") else stream[i]


def _concat(parts: list[Any], kind: str) -> Any:
    if kind == "list":
        return [x for part in parts for x in part]
    if kind == "frame":
        import pandas as pd

        return pd.concat(parts, ignore_index=True)
    if kind == "array":
        import numpy as np

        return np.concatenate(parts)
    import torch

    return torch.cat(parts)


def _to_numpy(out: Any, where: str) -> Any:
    import numpy as np

    if hasattr(out, "detach"):  # torch
        out = out.detach().cpu().numpy()
    elif hasattr(out, "to_numpy"):  # pandas
        out = out.to_numpy()
    arr = np.asarray(out)
    if arr.dtype == object and arr.ndim == 1 and all(isinstance(v, str) for v in arr):
        arr = arr.astype(str)
    if arr.ndim == 0 or arr.ndim > 2:
        raise MltkUsageError(
            f"{where}: predict must return one label or score per input (1-D) or one row of "
            f"class probabilities/logits per input (2-D), got shape {arr.shape}"
        )
    return arr


@dataclass
class Predictions:
    """What predict said: labels always; scores when it returned numbers."""

    raw: Any
    labels: Any
    kind: str  # "proba" (2-D), "label" (1-D labels), "score" (1-D floats)

    @property
    def nonfinite(self) -> Any:
        """One flag per prediction: NaN or inf anywhere in it (never a valid answer)."""
        import numpy as np

        if self.raw.dtype.kind not in "fc":
            return np.zeros(len(self.raw), dtype=bool)
        bad = ~np.isfinite(self.raw)
        return bad.any(axis=1) if bad.ndim == 2 else bad

    def score(self, on: int | None) -> Any:
        import numpy as np

        if self.kind == "proba":
            column = on if on is not None else (1 if self.raw.shape[1] == 2 else None)
            if column is None:
                raise MltkUsageError(
                    f"the model returns {self.raw.shape[1]} classes: pass on=<class index> to "
                    "pick the score a directional test follows"
                )
            return self.raw[:, column].astype(float)
        if self.kind == "score":
            return self.raw.astype(float)
        if np.issubdtype(self.raw.dtype, np.number):
            return self.raw.astype(float)
        raise MltkUsageError(
            "this test needs scores, but predict returns labels: return probabilities "
            "(2-D) or scores (1-D floats)"
        )


def _predict_all(
    predict: Callable[[Any], Any], batch: Any, kind: str, batch_size: int, where: str
):
    import numpy as np

    if not callable(predict):
        raise MltkUsageError(f"{where}: predict must be callable, got {type(predict).__name__}")
    n = len(batch)
    parts, calls = [], 0
    for start in range(0, n, batch_size):
        chunk = _slice(batch, start, min(n, start + batch_size), kind)
        try:
            out = predict(chunk)
        except Exception as exc:
            raise MltkUsageError(
                f"{where}: predict raised {type(exc).__name__} on a batch of {len(chunk)} "
                f"inputs (rows {start}-{start + len(chunk) - 1}): {exc}"
            ) from exc
        calls += 1
        arr = _to_numpy(out, where)
        if arr.shape[0] != len(chunk):
            raise MltkUsageError(
                f"{where}: predict returned {arr.shape[0]} predictions for a batch of "
                f"{len(chunk)} inputs; it must return one per input"
            )
        parts.append(arr)
    shapes = {part.shape[1:] for part in parts}
    if len(shapes) > 1:
        raise MltkUsageError(
            f"{where}: predict returned outputs of different shapes from one batch to the "
            f"next ({', '.join(str((len(p), *p.shape[1:])) for p in parts[:4])}): it must "
            "return the same kind of output (labels, scores or one row of class scores per "
            "input) for every batch"
        )
    raw = np.concatenate(parts) if parts else np.empty(0)
    if raw.ndim == 2 and raw.shape[1] == 0:
        raise MltkUsageError(f"{where}: predict returned rows of 0 class scores")
    if raw.ndim == 2:
        if not np.issubdtype(raw.dtype, np.number):
            raise MltkUsageError(
                f"{where}: predict returned a 2-D array of {raw.dtype}; expected numbers"
            )
        return Predictions(raw, raw.argmax(axis=1), "proba"), calls
    if raw.dtype.kind == "f":
        return Predictions(raw, raw, "score"), calls
    if raw.dtype.kind in "iubUSO":
        return Predictions(raw, raw, "label"), calls
    raise MltkUsageError(
        f"{where}: predict returned values of dtype {raw.dtype}; expected labels or numbers"
    )


# --- verdicts -----------------------------------------------------------------------------


def _log_binom_tail(k: int, n: int, p: float) -> float:
    """log P(X >= k) for X ~ Binomial(n, p), exactly (log-space sum)."""
    import numpy as np

    if k <= 0:
        return 0.0
    if p <= 0:
        return -math.inf
    if p >= 1:
        return 0.0
    i = np.arange(k, n + 1)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    terms = (
        log_fact[n] - log_fact[i] - log_fact[n - i] + i * math.log(p) + (n - i) * math.log1p(-p)
    )
    top = terms.max()
    return float(top + math.log(np.exp(terms - top).sum()))


def lower_bound(failures: int, cases: int, confidence: float) -> float:
    """One-sided Clopper-Pearson lower bound of a failure rate.

    >>> round(lower_bound(5, 100, 0.95), 4)
    0.0199
    """
    if failures == 0:
        return 0.0
    alpha = math.log(1 - confidence)
    lo, hi = 0.0, failures / cases
    for _ in range(60):
        mid = (lo + hi) / 2
        if _log_binom_tail(failures, cases, mid) > alpha:
            hi = mid
        else:
            lo = mid
    return lo


@dataclass
class BehavioralReport(CheckResult):
    """The verdict of one behavioral test, and its failing cases as rows."""

    kind = "behavioral"
    test: str  # MFT, INV or DIR
    name: str
    cases: int  # applicable cases
    failures: int
    not_applicable: int
    max_fail_rate: float
    confidence: float | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    predict_calls: int = 0
    counterexample: dict[str, Any] | None = None

    @property
    def fail_rate(self) -> float:
        return self.failures / self.cases if self.cases else 0.0

    @property
    def bound(self) -> float | None:
        if self.confidence is None:
            return None
        return lower_bound(self.failures, self.cases, self.confidence)

    @property
    def passed(self) -> bool:
        if self.cases == 0:
            return False
        if self.counterexample is not None and self.max_fail_rate == 0:
            return False
        if self.confidence is None:
            return self.fail_rate <= self.max_fail_rate
        if self.failures == 0:
            return True
        alpha = math.log(1 - self.confidence)
        return _log_binom_tail(self.failures, self.cases, self.max_fail_rate) > alpha

    @property
    def headline(self) -> str:
        label = f"{self.test} {self.name!r}" if self.name else self.test
        text = (
            f"{label}: {self.failures} of {self.cases} cases failed ({self.fail_rate:.1%}), "
            f"threshold {self.max_fail_rate:.1%}"
        )
        if self.confidence is not None:
            text += f" (at {self.confidence:.0%} confidence the rate is >= {self.bound:.1%})"
        if self.not_applicable:
            text += f"; {self.not_applicable} not applicable"
        if self.cases == 0:
            text += ": nothing was tested"
        return text

    def extra(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "cases": self.cases,
            "failures": self.failures,
            "not_applicable": self.not_applicable,
            "fail_rate": self.fail_rate,
            "max_fail_rate": self.max_fail_rate,
        }


def _check_common(
    max_fail_rate: float, confidence: float | None, batch_size: int, where: str
) -> None:
    if not isinstance(max_fail_rate, int | float) or not 0 <= max_fail_rate < 1:
        raise MltkUsageError(f"{where}: max_fail_rate must be in [0, 1), got {max_fail_rate!r}")
    if confidence is not None and not (isinstance(confidence, float) and 0.5 <= confidence < 1):
        raise MltkUsageError(
            f"{where}: confidence must be None or in [0.5, 1), got {confidence!r}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise MltkUsageError(f"{where}: batch_size must be a positive integer, got {batch_size!r}")


def _show(x: Any) -> str:
    if hasattr(x, "to_dict") and hasattr(x, "index"):  # a pandas row
        return ", ".join(f"{k}={v}" for k, v in list(x.to_dict().items())[:4])
    return str(x)


def _record(report: BehavioralReport) -> None:
    record(report)


def _fail(report: BehavioralReport, columns: list[str], hint: str, max_examples: int) -> None:
    __tracebackhide__ = True
    body = table(report.rows, columns, max_rows=max_examples) if report.rows else None
    if report.counterexample is not None:
        ce = report.counterexample
        minimal = (
            f"Minimal counterexample (hypothesis search): {ce['original']!r} -> "
            f"{ce['perturbed']!r} ({ce['perturbation']}): prediction {ce['before']} -> {ce['after']}"
        )
        body = f"{body}\n\n{minimal}" if body else minimal
    if report.cases == 0:
        raise AssertionError(
            message(
                f"{report.test} {report.name!r}: no applicable case: the perturbation yielded "
                f"nothing for all {report.not_applicable} inputs, so nothing was tested",
                None,
                "Check that the inputs contain what the perturbation changes (a name, a number...).",
            )
        )
    raise AssertionError(message(report.headline, body, hint))


# --- how behavioral results show -------------------------------------------------------


def _label(result: dict[str, Any]) -> str:
    return f"{result.get('test')} {result.get('name') or ''}".strip()


def _summary(results: list[dict[str, Any]]) -> list[str]:
    lines = ["behavioral failure rates:"]
    shown = [
        *(r for r in results if not r.get("passed")),
        *(r for r in results if r.get("passed")),
    ]
    for r in shown[:8]:
        verdict = "ok" if r.get("passed") else "FAIL"
        lines.append(
            f"  {short_test(r)} {_label(r)}: {r.get('failures')}/{r.get('cases')} "
            f"({(r.get('fail_rate') or 0):.1%}, threshold {(r.get('max_fail_rate') or 0):.1%}) "
            f"{verdict}"
        )
    if len(results) > 8:
        lines.append(f"  +{len(results) - 8} more")
    return lines


def _junit(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f"mltk_behavioral:{_label(result)}", str(result.get("fail_rate")))]


def _sections(results: list[dict[str, Any]]) -> list[Section]:
    from mlops_testkit.reporting.plots import bars

    labels = [f"{short_test(r)} {_label(r)}"[:40] for r in results]
    rates = [float(r.get("fail_rate") or 0.0) for r in results]
    image, text = bars(labels, rates, title="failure rates", horizontal=True, fmt="{:.1%}")
    table = [
        [
            short_test(r),
            _label(r),
            f"{r.get('failures')}/{r.get('cases')}",
            f"{(r.get('max_fail_rate') or 0):.1%}",
            "ok" if r.get("passed") else "FAIL",
        ]
        for r in results
    ]
    return [
        Section(
            "Behavioral failure rates",
            text=text,
            image=image,
            header=("test", "check", "failed/cases", "threshold", "verdict"),
            table=table,
        )
    ]


register(Renderer("behavioral", summary=_summary, junit=_junit, sections=_sections))
