"""Behavioral tests of any model with a predict function: MFT, INV and DIR (CheckList).

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
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.extras import require
from mlops_testkit.perturb.base import Chooser, HypothesisChooser, Perturbation, Variant
from mlops_testkit.score import evidences

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
    raw = np.concatenate(parts) if parts else np.empty(0)
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
class BehavioralReport:
    """The verdict of one behavioral test, and its failing cases as rows."""

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
        return text


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
    from mlops_testkit.results import record

    record(
        "behavioral",
        test=report.test,
        name=report.name,
        cases=report.cases,
        failures=report.failures,
        fail_rate=report.fail_rate,
        max_fail_rate=report.max_fail_rate,
        passed=report.passed,
    )


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
        want = expected[i] if expected is not None else expect
        ok = (
            want(preds.raw[i] if preds.kind == "proba" else got) if callable(want) else got == want
        )
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


# --- INV and DIR -------------------------------------------------------------------------------


def _chooser(seed: int | None) -> Chooser:
    return Chooser(random.Random(seed if seed is not None else random.getrandbits(64)))


def _variants_of(perturb: Any, x: Any, chooser: Chooser, where: str) -> list[Variant]:
    if isinstance(perturb, Perturbation):
        return perturb.variants(x, chooser)
    try:
        out = perturb(x)
    except Exception as exc:
        raise MltkUsageError(
            f"{where}: perturb raised {type(exc).__name__} on {_show(x)!r}: {exc}"
        ) from exc
    if out is None:
        return []
    if isinstance(out, Variant):
        return [out]
    if isinstance(out, list):
        return [
            v if isinstance(v, Variant) else Variant(v, f"variant {i + 1}")
            for i, v in enumerate(out)
        ]
    return [Variant(out, "variant")]


@dataclass
class _Plan:
    """Originals and variants in one stream, and which variant belongs to which case."""

    stream: Any
    n: int  # originals come first
    owner: list[int]  # case index of each variant
    descriptions: list[str]
    not_applicable: int


def _plan(inputs: Any, perturb: Any, seed: int | None, where: str) -> _Plan:
    kind = _kind(inputs, where)
    n = len(inputs)
    if n == 0:
        raise MltkUsageError(f"{where}: inputs are empty")
    if not callable(perturb):
        raise MltkUsageError(f"{where}: perturb must be callable, got {type(perturb).__name__}")
    chooser = _chooser(seed)
    if kind == "list":
        flat, owner, descriptions, empty = [], [], [], 0
        for i, x in enumerate(inputs):
            variants = _variants_of(perturb, x, chooser, where)
            if not variants:
                empty += 1
            for v in variants:
                flat.append(v.value)
                owner.append(i)
                descriptions.append(v.description)
        return _Plan(list(inputs) + flat, n, owner, descriptions, empty)
    variants = _variants_of(perturb, inputs, chooser, where)
    if not variants:
        return _Plan(inputs, n, [], [], n)
    for v in variants:
        if _kind(v.value, where) != kind or len(v.value) != n:
            raise MltkUsageError(
                f"{where}: a tabular perturbation must return a {kind} of the same length "
                f"({n}), got {type(v.value).__name__} of length {len(v.value)}"
            )
    owner = [i for _ in variants for i in range(n)]
    descriptions = [v.description for v in variants for _ in range(n)]
    return _Plan(_concat([inputs, *[v.value for v in variants]], kind), n, owner, descriptions, 0)


def _row(stream: Any, i: int) -> Any:
    return stream.iloc[i] if hasattr(stream, "iloc") else stream[i]


def _perturbation_report(
    test: str,
    predict: Callable[[Any], Any],
    inputs: Any,
    perturb: Any,
    judge: Callable[[Predictions, Any, Any], Any],
    *,
    max_fail_rate: float,
    confidence: float | None,
    batch_size: int,
    seed: int | None,
    name: str,
    expected: str,
) -> BehavioralReport:
    import numpy as np

    where = f"assert_{'invariant' if test == 'INV' else 'directional'}"
    _check_common(max_fail_rate, confidence, batch_size, where)
    plan = _plan(inputs, perturb, seed, where)
    kind = _kind(plan.stream, where)
    preds, calls = _predict_all(predict, plan.stream, kind, batch_size, where)
    owner = np.asarray(plan.owner, dtype=np.int64)
    variant_idx = plan.n + np.arange(len(owner))
    bad = judge(preds, owner, variant_idx) if len(owner) else np.zeros(0, bool)
    applicable = plan.n - plan.not_applicable
    failed_cases = np.unique(owner[bad]) if len(owner) else np.zeros(0, np.int64)
    report = BehavioralReport(
        test,
        name,
        applicable,
        len(failed_cases),
        plan.not_applicable,
        max_fail_rate,
        confidence,
        predict_calls=calls,
    )
    shown_score = preds.kind in ("proba", "score")
    for j in np.flatnonzero(bad)[:50]:
        case, v = int(owner[j]), int(variant_idx[j])
        before, after = preds.labels[case], preds.labels[v]
        if preds.kind == "proba":
            before = f"{int(before)} ({preds.raw[case].max():.2f})"
            after = f"{int(after)} ({preds.raw[v].max():.2f})"
        elif shown_score:
            before, after = f"{float(before):.4g}", f"{float(after):.4g}"
        report.rows.append(
            {
                "original": _show(_row(plan.stream, case)),
                "perturbed": _show(_row(plan.stream, v)),
                "perturbation": plan.descriptions[j],
                "before": before,
                "after": after,
                "expected": expected,
            }
        )
    return report


def invariant_report(
    predict: Callable[[Any], Any],
    inputs: Any,
    perturb: Any,
    *,
    max_fail_rate: float = 0.0,
    tolerance: float | None = None,
    on: int | None = None,
    confidence: float | None = None,
    batch_size: int = DEFAULT_BATCH,
    seed: int | None = None,
    name: str = "",
    search: bool = False,
    search_examples: int = 200,
) -> BehavioralReport:
    """Run an invariance test and return its report (see :func:`assert_invariant`)."""
    import numpy as np

    if tolerance is not None and not (isinstance(tolerance, int | float) and tolerance >= 0):
        raise MltkUsageError(
            f"assert_invariant: tolerance must be a number >= 0, got {tolerance!r}"
        )

    def judge(preds: Predictions, owner: Any, variant: Any) -> Any:
        changed = preds.labels[owner] != preds.labels[variant]
        if preds.kind == "score":
            changed = np.abs(preds.raw[owner] - preds.raw[variant]) > (tolerance or 0.0)
        elif tolerance is not None and preds.kind == "proba":
            column = on if on is not None else preds.labels[owner]
            moved = np.abs(preds.raw[owner, column] - preds.raw[variant, column]) > tolerance
            changed = changed | moved
        return changed

    expected = "same label" if tolerance is None else f"within {tolerance:g}"
    report = _perturbation_report(
        "INV",
        predict,
        inputs,
        perturb,
        judge,
        max_fail_rate=max_fail_rate,
        confidence=confidence,
        batch_size=batch_size,
        seed=seed,
        name=name,
        expected=expected,
    )
    if search:
        report.counterexample = _search(predict, inputs, perturb, judge, seed, search_examples)
    return report


@evidences("model-7")
def assert_invariant(
    predict: Callable[[Any], Any],
    inputs: Any,
    perturb: Any,
    *,
    max_fail_rate: float = 0.0,
    tolerance: float | None = None,
    on: int | None = None,
    confidence: float | None = None,
    batch_size: int = DEFAULT_BATCH,
    seed: int | None = None,
    name: str = "",
    search: bool = False,
    search_examples: int = 200,
    max_examples: int = 10,
) -> BehavioralReport:
    """Invariance: perturbations that must not change the prediction.

    A case (an input and all its variants) fails if any variant changes the predicted
    label, or, with ``tolerance``, moves the score (of class ``on``, default the
    predicted class; 1-D float outputs are scores) by more than it.

    ``search=True`` also lets hypothesis explore the perturbation's choices (which
    input, which position, which name...) one input at a time and shrink a failure to
    a minimal counterexample, shown in the report. With ``max_fail_rate=0`` a
    counterexample found this way fails the test; otherwise it is shown when the
    sampled rate fails. Needs a perturbation from :mod:`mlops_testkit.perturb`.

    Example::

        @pytest.mark.behavioral
        def test_names_do_not_matter():
            assert_invariant(model.predict, reviews, perturb.change_names(n=3),
                             max_fail_rate=0.01, search=True)
    """
    __tracebackhide__ = True
    report = invariant_report(
        predict,
        inputs,
        perturb,
        max_fail_rate=max_fail_rate,
        tolerance=tolerance,
        on=on,
        confidence=confidence,
        batch_size=batch_size,
        seed=seed,
        name=name,
        search=search,
        search_examples=search_examples,
    )
    _record(report)
    if not report.passed:
        _fail(
            report,
            ["original", "perturbed", "perturbation", "before", "after", "expected"],
            "The model relies on something that should not matter: add such variants to the "
            "training data (augmentation), or remove the feature it keys on.",
            max_examples,
        )
    return report


def _direction(expect: Any, tolerance: float) -> Callable[[Any, Any], Any]:
    if callable(expect):
        import numpy as np

        return lambda before, after: ~np.asarray(
            [bool(expect(b, a)) for b, a in zip(before, after, strict=True)], dtype=bool
        )
    rules = {
        "increase": lambda b, a: ~(a - b > tolerance),
        "decrease": lambda b, a: ~(b - a > tolerance),
        "not_decrease": lambda b, a: ~(a - b >= -tolerance),
        "not_increase": lambda b, a: ~(a - b <= tolerance),
    }
    if expect not in rules:
        raise MltkUsageError(
            f"assert_directional: expect must be one of {', '.join(EXPECTATIONS)} or a "
            f"callable (before, after) -> bool, got {expect!r}"
        )
    return rules[expect]


def directional_report(
    predict: Callable[[Any], Any],
    inputs: Any,
    perturb: Any,
    *,
    expect: str | Callable[[Any, Any], bool],
    on: int | None = None,
    tolerance: float = 0.0,
    max_fail_rate: float = 0.0,
    confidence: float | None = None,
    batch_size: int = DEFAULT_BATCH,
    seed: int | None = None,
    name: str = "",
) -> BehavioralReport:
    """Run a directional test and return its report (see :func:`assert_directional`)."""
    if not isinstance(tolerance, int | float) or tolerance < 0:
        raise MltkUsageError(
            f"assert_directional: tolerance must be a number >= 0, got {tolerance!r}"
        )
    wrong = _direction(expect, float(tolerance))

    def judge(preds: Predictions, owner: Any, variant: Any) -> Any:
        scores = preds.score(on)
        return wrong(scores[owner], scores[variant])

    label = expect if isinstance(expect, str) else getattr(expect, "__name__", "predicate")
    report = _perturbation_report(
        "DIR",
        predict,
        inputs,
        perturb,
        judge,
        max_fail_rate=max_fail_rate,
        confidence=confidence,
        batch_size=batch_size,
        seed=seed,
        name=name,
        expected=label,
    )
    return report


@evidences("model-7")
def assert_directional(
    predict: Callable[[Any], Any],
    inputs: Any,
    perturb: Any,
    *,
    expect: str | Callable[[Any, Any], bool],
    on: int | None = None,
    tolerance: float = 0.0,
    max_fail_rate: float = 0.0,
    confidence: float | None = None,
    batch_size: int = DEFAULT_BATCH,
    seed: int | None = None,
    name: str = "",
    max_examples: int = 10,
) -> BehavioralReport:
    """Directional expectation: perturbations that must move the score one way.

    ``expect`` is ``increase`` (after - before > tolerance), ``decrease``,
    ``not_decrease`` (after - before >= -tolerance), ``not_increase``, or a callable
    ``(before, after) -> bool``; ``on`` picks the class whose probability is followed
    (default: class 1 of a two-class model; 1-D outputs are the scores).

    Example::

        @pytest.mark.behavioral
        def test_more_income_never_lowers_approval(applicants):
            assert_directional(model.predict_proba, applicants,
                               perturb.increase("income", factor=1.2), expect="not_decrease", on=1)
    """
    __tracebackhide__ = True
    report = directional_report(
        predict,
        inputs,
        perturb,
        expect=expect,
        on=on,
        tolerance=tolerance,
        max_fail_rate=max_fail_rate,
        confidence=confidence,
        batch_size=batch_size,
        seed=seed,
        name=name,
    )
    _record(report)
    if not report.passed:
        _fail(
            report,
            ["original", "perturbed", "perturbation", "before", "after", "expected"],
            "The model moves the wrong way on these inputs: check the feature's encoding "
            "and its monotonicity (e.g. a monotonic constraint), or the training data there.",
            max_examples,
        )
    return report


# --- counterexample search ------------------------------------------------------------------


def _search(
    predict: Callable[[Any], Any],
    inputs: Any,
    perturb: Any,
    judge: Callable[[Predictions, Any, Any], Any],
    seed: int | None,
    examples: int,
) -> dict[str, Any] | None:
    """Let hypothesis explore the perturbation's choices; return the minimal failure."""
    import numpy as np

    where = "assert_invariant(search=True)"
    if not isinstance(perturb, Perturbation):
        raise MltkUsageError(
            f"{where}: the search needs a perturbation from mlops_testkit.perturb (its random "
            "choices are what hypothesis explores)"
        )
    hypothesis = require("hypothesis", where)
    st = require("hypothesis.strategies", where)
    kind = _kind(inputs, where)
    n = len(inputs)
    found: list[dict[str, Any]] = []

    def check(data: Any) -> None:
        i = data.draw(st.integers(0, n - 1), label="input")
        original = inputs.iloc[[i]] if kind == "frame" else inputs[i : i + 1]
        item = original if perturb.tabular else _row(inputs, i)
        variants = perturb.variants(item, HypothesisChooser(data))
        hypothesis.assume(variants)
        values = [v.value for v in variants]
        stream = _concat([original, *values], kind) if perturb.tabular else [item, *values]
        preds, _ = _predict_all(predict, stream, _kind(stream, where), len(stream), where)
        owner = np.zeros(len(values), dtype=np.int64)
        bad = judge(preds, owner, 1 + np.arange(len(values)))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            found.append(
                {
                    "original": _show(_row(stream, 0)),
                    "perturbed": _show(_row(stream, 1 + j)),
                    "perturbation": variants[j].description,
                    "before": preds.labels[0] if preds.kind != "proba" else int(preds.labels[0]),
                    "after": (
                        preds.labels[1 + j] if preds.kind != "proba" else int(preds.labels[1 + j])
                    ),
                }
            )
            raise AssertionError("counterexample")

    test = hypothesis.given(st.data())(check)
    test = hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.generate, hypothesis.Phase.shrink],
        verbosity=hypothesis.Verbosity.quiet,
    )(test)
    if seed is not None:
        test = hypothesis.seed(seed)(test)
    try:
        test()
    except AssertionError:
        return found[-1] if found else None  # hypothesis replays the shrunk example last
    except require("hypothesis.errors", where).Unsatisfiable:
        return None
    return None


# --- CheckList interop ------------------------------------------------------------------------

CHECKLIST_RECIPE = (
    "checklist is not installed (it is never a dependency: it does not install cleanly). "
    "In a virtualenv of its own: pip install setuptools wheel; echo 'notebook<7' > c.txt; "
    "PIP_CONSTRAINT=c.txt pip install --no-build-isolation checklist; "
    "pip install 'ipython<9' 'setuptools<81' (see `make test-checklist`)"
)


@dataclass
class ChecklistResult:
    """One CheckList test run through this harness, counted by CheckList's own rules."""

    name: str
    test_type: str  # MFT, INV or DIR
    testcases: int
    filtered: int  # cases CheckList's expectation filtered out (not applicable)
    fails: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    predict_calls: int = 0

    @property
    def fail_rate(self) -> float:
        tested = self.testcases - self.filtered
        return self.fails / tested if tested else 0.0


def _checklist_outputs(preds: Predictions) -> tuple[Any, Any]:
    """CheckList wants (labels, confidences) per example."""
    import numpy as np

    if preds.kind == "proba":
        return preds.labels, preds.raw
    if preds.kind == "score":
        p = np.clip(preds.raw.astype(float), 0, 1)
        return (p > 0.5).astype(int), np.stack([1 - p, p], axis=1)
    if np.issubdtype(preds.raw.dtype, np.integer):
        confs = np.zeros((len(preds.raw), int(preds.raw.max()) + 1))
        confs[np.arange(len(preds.raw)), preds.raw] = 1.0
        return preds.raw, confs
    raise MltkUsageError(
        "run_checklist: predict must return probabilities (2-D), scores in [0, 1] or integer "
        f"labels for CheckList's expectations, got {preds.raw.dtype} labels"
    )


def checklist_report(
    test_or_suite: Any, predict: Callable[[Any], Any], *, batch_size: int = DEFAULT_BATCH
) -> list[ChecklistResult]:
    """Run CheckList tests (an MFT, INV, DIR or a TestSuite) with ``predict``, batched by
    this harness, and count failures with CheckList's own expectation functions."""
    where = "run_checklist"
    try:
        from checklist.abstract_test import AbstractTest
        from checklist.test_suite import TestSuite
    except ImportError as exc:
        from mlops_testkit import MissingExtraError

        raise MissingExtraError(f"{where}: {CHECKLIST_RECIPE}") from exc
    if isinstance(test_or_suite, TestSuite):
        tests = list(test_or_suite.tests.values())
    elif isinstance(test_or_suite, AbstractTest):
        tests = [test_or_suite]
    else:
        raise MltkUsageError(
            f"{where}: expected a CheckList MFT, INV, DIR or TestSuite, got "
            f"{type(test_or_suite).__name__}"
        )
    out = []
    for test in tests:
        examples, _ = test.example_list_and_indices()
        preds, calls = _predict_all(predict, list(examples), "list", batch_size, where)
        labels, confs = _checklist_outputs(preds)
        test.run_from_preds_confs(labels, confs, overwrite=True)
        stats = test.get_stats()
        testcases = int(stats["testcases"])
        after = int(stats.get("after_filtering", testcases))
        result = ChecklistResult(
            test.name or "",
            type(test).__name__,
            testcases,
            testcases - after,
            int(stats.get("fails", 0)),
            predict_calls=calls,
        )
        for idx in list(test.fail_idxs())[:50]:
            result.rows.append(
                {
                    "test": result.name,
                    "case": _show(test.data[idx]),
                    "predictions": _show(test.results.preds[idx]),
                }
            )
        out.append(result)
    return out


def run_checklist(
    test_or_suite: Any,
    predict: Callable[[Any], Any],
    *,
    batch_size: int = DEFAULT_BATCH,
    max_examples: int = 10,
) -> list[ChecklistResult]:
    """Run CheckList's own MFT/INV/DIR tests or a TestSuite through this harness; fail with
    the failure counts CheckList's ``run``/``summary`` would report. Needs the
    ``checklist`` package (never a dependency; recipe in the error message).

    Example::

        suite = TestSuite(); suite.add(MFT(["great", "awful"], labels=[1, 0], name="vocab"))
        run_checklist(suite, model.predict_proba)
    """
    __tracebackhide__ = True
    results = checklist_report(test_or_suite, predict, batch_size=batch_size)
    failing = [r for r in results if r.fails]
    if failing:
        summary = table(
            [
                {
                    "test": r.name,
                    "type": r.test_type,
                    "cases": r.testcases,
                    "filtered": r.filtered,
                    "fails": r.fails,
                    "rate": f"{r.fail_rate:.1%}",
                }
                for r in results
            ],
            ["test", "type", "cases", "filtered", "fails", "rate"],
        )
        examples = table(
            [row for r in failing for row in r.rows],
            ["test", "case", "predictions"],
            max_rows=max_examples,
        )
        raise AssertionError(
            message(
                f"CheckList: {len(failing)} of {len(results)} test(s) failed, "
                f"{sum(r.fails for r in results)} failing case(s)",
                f"{summary}\n\n{examples}",
                "The counts are CheckList's own (its expectation functions decided).",
            )
        )
    return results
