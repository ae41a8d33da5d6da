"""Minimum functionality tests (MFT): simple inputs with known outputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._args import count
from mlops_testkit.behavioral.harness import (
    DEFAULT_BATCH,
    BehavioralReport,
    _check_common,
    _fail,
    _kind,
    _predict_all,
    _record,
    _show,
)
from mlops_testkit.reporting.score import evidences

# --- MFT -------------------------------------------------------------------------------------


def mft_report(
    predict: Callable[[Any], Any],
    cases: Any,
    *,
    labels: Sequence[Any] | None = None,
    expect: Callable[[Any], bool] | None = None,
    max_fail_rate: float = 0.0,
    confidence: float | None = None,
    batch_size: int = DEFAULT_BATCH,
    name: str = "",
) -> BehavioralReport:
    """Run a minimum-functionality test and return its report (see :func:`assert_mft`)."""
    where = "assert_mft"
    _check_common(max_fail_rate, confidence, batch_size, where)
    inputs, expected = _mft_cases(cases, labels, expect, where)
    kind = _kind(inputs, where)
    if len(inputs) == 0:
        raise MltkUsageError(f"{where}: no case given")
    preds, calls = _predict_all(predict, inputs, kind, batch_size, where)
    report = BehavioralReport(
        "MFT", name, len(inputs), 0, 0, max_fail_rate, confidence, predict_calls=calls
    )
    for i in range(len(inputs)):
        got = preds.labels[i] if preds.kind != "proba" else int(preds.labels[i])
        if preds.nonfinite[i]:
            report.failures += 1
            if len(report.rows) < 50:
                item = inputs.iloc[i] if kind == "frame" else inputs[i]
                report.rows.append(
                    {
                        "input": _show(item),
                        "prediction": "NaN/inf",
                        "expected": (
                            expected[i]
                            if expected is not None
                            else getattr(expect, "__name__", "predicate")
                        ),
                    }
                )
            continue
        want = expected[i] if expected is not None else expect
        ok = _judge(want, preds.raw[i] if preds.kind == "proba" else got, got, where)
        if not ok:
            report.failures += 1
            if len(report.rows) < 50:
                item = inputs.iloc[i] if kind == "frame" else inputs[i]
                report.rows.append(
                    {
                        "input": _show(item),
                        "prediction": got,
                        "expected": getattr(want, "__name__", want) if callable(want) else want,
                    }
                )
    return report


def _judge(want: Any, prediction: Any, got: Any, where: str) -> bool:
    """Whether one prediction is what the case expects; the caller's predicate or label
    that cannot answer yes or no is the kit's usage error."""
    try:
        return bool(want(prediction) if callable(want) else got == want)
    except Exception as exc:
        what = f"expect {getattr(want, '__name__', 'predicate')}" if callable(want) else "label"
        raise MltkUsageError(
            f"{where}: the {what} could not judge prediction {got!r}: {type(exc).__name__}: "
            f"{exc}; it must give True or False"
        ) from exc


def _mft_cases(cases: Any, labels: Any, expect: Any, where: str):
    if labels is not None and expect is not None:
        raise MltkUsageError(f"{where}: pass labels= or expect=, not both")
    if labels is None and expect is None:
        if not isinstance(cases, list | tuple) or not all(
            isinstance(c, tuple | list) and len(c) == 2 for c in cases
        ):
            raise MltkUsageError(
                f"{where}: cases must be (input, expected) pairs, or pass labels=[...] or "
                "expect=predicate with the inputs"
            )
        return [c[0] for c in cases], [c[1] for c in cases]
    if expect is not None and not callable(expect):
        raise MltkUsageError(f"{where}: expect must be a callable prediction -> bool")
    if labels is not None and len(labels) != len(cases):
        raise MltkUsageError(f"{where}: {len(labels)} labels for {len(cases)} inputs")
    return cases, (list(labels) if labels is not None else None)


@evidences("model-7")
def assert_mft(
    predict: Callable[[Any], Any],
    cases: Any,
    *,
    labels: Sequence[Any] | None = None,
    expect: Callable[[Any], bool] | None = None,
    max_fail_rate: float = 0.0,
    confidence: float | None = None,
    batch_size: int = DEFAULT_BATCH,
    name: str = "",
    max_examples: int = 10,
) -> BehavioralReport:
    """Minimum functionality: simple inputs with known outputs.

    ``cases`` are ``(input, expected)`` pairs (expected may be a predicate), or inputs
    (a list, a DataFrame...) with ``labels=[...]`` or ``expect=predicate``.

    Example::

        @pytest.mark.behavioral
        def test_obvious_sentiment():
            assert_mft(model.predict, [("I love it", 1), ("I hate it", 0)])
    """
    __tracebackhide__ = True
    count(max_examples, "max_examples", "assert_mft")
    report = mft_report(
        predict,
        cases,
        labels=labels,
        expect=expect,
        max_fail_rate=max_fail_rate,
        confidence=confidence,
        batch_size=batch_size,
        name=name,
    )
    _record(report)
    if not report.passed:
        _fail(
            report,
            ["input", "prediction", "expected"],
            "Add training data for these basic cases, or fix the label mapping.",
            max_examples,
        )
    return report
