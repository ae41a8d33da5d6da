"""Invariance (INV) and directional (DIR) tests: perturbations that must not change,
or must move, the prediction."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._args import count
from mlops_testkit._args import seed as seed_arg
from mlops_testkit.behavioral.harness import (
    DEFAULT_BATCH,
    EXPECTATIONS,
    BehavioralReport,
    Predictions,
    _check_common,
    _concat,
    _fail,
    _kind,
    _predict_all,
    _record,
    _row,
    _show,
)
from mlops_testkit.behavioral.perturb.base import Chooser, Perturbation, Variant
from mlops_testkit.behavioral.search import _search
from mlops_testkit.reporting.score import evidences

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


def _same(variant: Any, original: Any) -> bool:
    """A variant equal to its original changes nothing: it tests nothing."""
    if isinstance(variant, str) or isinstance(original, str):
        return isinstance(variant, str) and isinstance(original, str) and variant == original
    equals = getattr(variant, "equals", None)
    if callable(equals) and type(variant) is type(original):
        try:
            return bool(equals(original))
        except (TypeError, ValueError):
            return False
    try:
        import numpy as np

        a, b = np.asarray(variant), np.asarray(original)
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    except (TypeError, ValueError):
        return False


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
    if kind != "list" and getattr(perturb, "text", False):
        raise MltkUsageError(
            f"{where}: inputs is a {type(inputs).__name__}, but perturb {perturb.name} changes "
            "one text at a time: pass the texts as a list of str (a DataFrame column: "
            "frame['text'].tolist(); predict then receives a list of texts), or perturb the "
            "frame with jitter, increase, decrease or swap_category"
        )
    seed = None if seed is None else seed_arg(seed, where)
    chooser = _chooser(seed)
    if kind == "list":
        flat, owner, descriptions, empty = [], [], [], 0
        for i, x in enumerate(inputs):
            variants = [
                v for v in _variants_of(perturb, x, chooser, where) if not _same(v.value, x)
            ]
            if not variants:
                empty += 1
            for v in variants:
                flat.append(v.value)
                owner.append(i)
                descriptions.append(v.description)
        return _Plan(list(inputs) + flat, n, owner, descriptions, empty)
    variants = [
        v for v in _variants_of(perturb, inputs, chooser, where) if not _same(v.value, inputs)
    ]
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
    if len(owner):  # a NaN or inf prediction is never an answer: the case fails
        nonfinite = preds.nonfinite
        bad = np.asarray(bad, dtype=bool) | nonfinite[owner] | nonfinite[variant_idx]
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
    count(max_examples, "max_examples", "assert_invariant")
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

        return lambda before, after: (
            ~np.asarray(
                [bool(expect(b, a)) for b, a in zip(before, after, strict=True)], dtype=bool
            )
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
    count(max_examples, "max_examples", "assert_directional")
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
