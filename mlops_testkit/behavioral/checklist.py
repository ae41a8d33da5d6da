"""CheckList interop: CheckList's own MFT/INV/DIR tests and suites, run through this harness.

``predict`` may return numbers (probabilities, scores, integer labels), which CheckList
gets as labels and confidences, or *answers*: class names ("positive"), answer strings
(question answering), booleans (duplicate questions) or any other non-numeric
prediction. Answers are handed to CheckList the way its
``PredictorWrapper.wrap_predict`` hands them: the predictions as they are, each with a
confidence of one. Inputs are CheckList's examples as they are too: texts, or tuples
such as ``(context, question)`` pairs.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.behavioral.harness import DEFAULT_BATCH, Predictions, _predict_all, _show
from mlops_testkit.reporting.results import CheckResult, record

# --- CheckList interop ------------------------------------------------------------------------

CHECKLIST_RECIPE = (
    "checklist is not installed (it is never a dependency: it does not install cleanly). "
    "In a virtualenv of its own: pip install setuptools wheel; echo 'notebook<7' > c.txt; "
    "PIP_CONSTRAINT=c.txt pip install --no-build-isolation checklist; "
    "pip install 'ipython<9' 'setuptools<81' (see `make test-checklist`)"
)
EXPECTED = (
    "expected one prediction per input, all of one kind: numbers (probabilities, scores, "
    "integer labels) or answers (class names, answer strings, booleans)"
)


@dataclass
class ChecklistResult(CheckResult):
    """One CheckList test run through this harness, counted by CheckList's own rules. It
    is a behavioral result: it shows in the summary, the report and the ML Test Score
    with the kit's own MFT/INV/DIR tests. ``fail_indices`` and ``filtered_indices`` are
    CheckList's ``fail_idxs()`` and ``filtered_idxs()``; ``answers`` is true when predict
    returned answers (confidences of one) rather than numbers."""

    kind = "behavioral"
    items = ("model-7",)
    name: str
    test_type: str  # MFT, INV or DIR
    testcases: int
    filtered: int  # cases CheckList's expectation filtered out (not applicable)
    fails: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    predict_calls: int = 0
    fail_indices: list[int] = field(default_factory=list)
    filtered_indices: list[int] = field(default_factory=list)
    answers: bool = False

    @property
    def fail_rate(self) -> float:
        tested = self.testcases - self.filtered
        return self.fails / tested if tested else 0.0

    @property
    def passed(self) -> bool:
        return self.fails == 0 and self.testcases - self.filtered > 0

    @property
    def headline(self) -> str:
        tested = self.testcases - self.filtered
        text = f"CheckList {self.test_type} {self.name!r}: {self.fails} of {tested} cases failed"
        if self.filtered:
            text += f"; {self.filtered} filtered out"
        return text + (": nothing was tested" if tested == 0 else "")

    def extra(self) -> dict[str, Any]:
        return {
            "test": self.test_type,
            "cases": self.testcases - self.filtered,
            "failures": self.fails,
            "not_applicable": self.filtered,
            "fail_rate": self.fail_rate,
            "max_fail_rate": 0.0,
        }


# --- predictions ------------------------------------------------------------------------------


def _checklist_outputs(preds: Predictions) -> tuple[Any, Any]:
    """CheckList wants (labels, confidences) per example."""
    import numpy as np

    if preds.kind == "proba":
        return preds.labels, preds.raw
    if preds.kind == "score":
        p = np.clip(preds.raw.astype(float), 0, 1)
        return (p > 0.5).astype(int), np.stack([1 - p, p], axis=1)
    if np.issubdtype(preds.raw.dtype, np.integer):
        if len(preds.raw) and int(preds.raw.min()) < 0:
            raise MltkUsageError(
                "run_checklist: integer labels must be class indices >= 0, got "
                f"{int(preds.raw.min())}; return class indices, probabilities (2-D) or answers"
            )
        confs = np.zeros((len(preds.raw), int(preds.raw.max()) + 1))
        confs[np.arange(len(preds.raw)), preds.raw] = 1.0
        return preds.raw, confs
    raise MltkUsageError(
        "run_checklist: predict must return probabilities (2-D), scores in [0, 1] or integer "
        f"labels for CheckList's expectations, got {preds.raw.dtype} labels"
    )


def _sort(value: Any) -> str:
    """What one prediction is: none, bool, number, numbers (a row of them) or answer."""
    if value is None:
        return "none"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "bool"
    if isinstance(value, numbers.Number):
        return "number"
    row = isinstance(value, list | tuple) or type(value).__name__ == "ndarray"
    if (
        row
        and getattr(value, "ndim", 1) == 1
        and len(value)
        and all(_sort(v) == "number" for v in value)
    ):
        return "numbers"
    return "answer"


def _answers(out: Any, chunk: list[Any], start: int, where: str) -> list[Any] | None:
    """The predictions of one batch as a list of answers, or None when they are numbers
    (or no sequence at all), which the harness judges as it always did."""
    import numpy as np

    if out is None or isinstance(out, str | bytes | dict):
        return None  # the harness says: one prediction per input, got shape ()
    if type(out).__module__.split(".")[0] == "torch":
        return None
    try:
        arr = np.asarray(out)
    except (ValueError, TypeError):  # ragged rows
        arr = None
    if arr is not None and (arr.dtype.kind in "iufc" or arr.ndim == 0):
        return None
    if getattr(out, "ndim", 1) != 1:
        raise MltkUsageError(
            f"{where}: predict returned a {out.ndim}-D array of {getattr(out, 'dtype', '?')} "
            f"for rows {start}-{start + len(chunk) - 1}; {EXPECTED}"
        )
    try:
        values = list(out)
    except TypeError as exc:
        raise MltkUsageError(
            f"{where}: predict returned {type(out).__name__}, which is no sequence; {EXPECTED}"
        ) from exc
    pair = isinstance(out, tuple) and len(out) == 2 != len(chunk)
    if pair and all(getattr(v, "__len__", None) and len(v) == len(chunk) for v in out):
        raise MltkUsageError(
            f"{where}: predict returned a (predictions, confidences) pair, as CheckList's "
            "wrapped functions do; pass the plain predict function: it returns the "
            "predictions (or probabilities) only"
        )
    if len(values) != len(chunk):
        raise MltkUsageError(
            f"{where}: predict returned {len(values)} predictions for a batch of "
            f"{len(chunk)} inputs; it must return one per input"
        )
    sorts = [_sort(v) for v in values]
    if "none" in sorts:
        i = sorts.index("none")
        raise MltkUsageError(
            f"{where}: predict returned None for input {start + i} "
            f"({_show_example(chunk[i])}); {EXPECTED}"
        )
    if "numbers" in sorts:
        i = sorts.index("numbers")
        raise MltkUsageError(
            f"{where}: predict returned rows of numbers of different lengths (input "
            f"{start + i}: {values[i]!r:.60}); {EXPECTED}, one row of the same length per "
            "input for probabilities"
        )
    if set(sorts) == {"number"}:
        return None  # an object array of numbers: the harness judges it
    _one_kind(sorts, values, start, where)
    return values


def _one_kind(sorts: list[str], values: list[Any], start: int, where: str) -> None:
    kinds = sorted(set(sorts))
    if len(kinds) > 1:
        i, j = sorts.index(kinds[0]), sorts.index(kinds[1])
        raise MltkUsageError(
            f"{where}: predict returned a mix of {kinds[0]}s and {kinds[1]}s (input "
            f"{start + i}: {values[i]!r:.40}, input {start + j}: {values[j]!r:.40}); {EXPECTED}"
        )


def checklist_predictions(
    predict: Callable[[Any], Any],
    examples: list[Any],
    *,
    batch_size: int = DEFAULT_BATCH,
    where: str = "run_checklist",
) -> tuple[Any, Any, int, bool]:
    """``(predictions, confidences, predict calls, answers)`` for CheckList's
    ``run_from_preds_confs``, ``predict`` called once per ``batch_size`` examples.

    Numbers take the harness's way: 2-D probabilities (label = argmax), 1-D scores in
    [0, 1] (two columns) or integer labels (one-hot). Anything else is *answers*, taken as
    CheckList's ``PredictorWrapper.wrap_predict`` takes them: the predictions as they are
    and a confidence of one each (``answers`` is then true). A mix of the two, a None, or
    not one prediction per input is an ``MltkUsageError``.

    >>> preds, confs, calls, answers = checklist_predictions(
    ...     lambda xs: ["positive" if "good" in x else "negative" for x in xs],
    ...     ["good", "bad", "good day"], batch_size=2)
    >>> preds, confs.tolist(), calls, answers
    (['positive', 'negative', 'positive'], [1.0, 1.0, 1.0], 2, True)
    """
    import numpy as np

    if not callable(predict):
        raise MltkUsageError(f"{where}: predict must be callable, got {type(predict).__name__}")
    outputs: list[Any] = []
    answers: list[list[Any] | None] = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        try:
            out = predict(chunk)
        except Exception as exc:
            raise MltkUsageError(
                f"{where}: predict raised {type(exc).__name__} on a batch of {len(chunk)} "
                f"inputs (rows {start}-{start + len(chunk) - 1}): {exc}"
            ) from exc
        outputs.append(out)
        answers.append(_answers(out, chunk, start, where))
    numeric = [i for i, a in enumerate(answers) if a is None]
    if len(numeric) == len(answers):
        replay = iter(outputs)  # the harness judges the same outputs, predict is not re-run
        preds, calls = _predict_all(lambda _: next(replay), examples, "list", batch_size, where)
        labels, confs = _checklist_outputs(preds)
        return labels, confs, calls, False
    if numeric:
        i = numeric[0]
        j = next(k for k, a in enumerate(answers) if a is not None)
        raise MltkUsageError(
            f"{where}: predict returned numbers for the batch from row {i * batch_size} but "
            f"answers ({answers[j][0]!r:.40}...) for the batch from row {j * batch_size}; "
            f"{EXPECTED}"
        )
    values = [v for batch in answers if batch is not None for v in batch]
    _one_kind([_sort(v) for v in values], values, 0, where)
    return values, np.ones(len(values)), len(outputs), True


# --- how answers show ---------------------------------------------------------------------


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _show_example(x: Any) -> str:
    """One CheckList example: a text, or a tuple such as (context, question), each part
    clipped so that the last (the question) still shows."""
    if isinstance(x, tuple | list) and x and all(isinstance(v, str) for v in x):
        width = max(12, 72 // len(x))
        return " | ".join(_clip(v, width) for v in x)
    return _clip(_show(x), 72)


def _show_answer(p: Any) -> str:
    return repr(str(p)) if isinstance(p, str) else _show(p)


def _answer_row(test: Any, name: str, idx: int) -> dict[str, Any]:
    case, preds = test.data[idx], test.results.preds[idx]
    if isinstance(case, list):  # INV / DIR: the original, then its variants
        shown = [_show_answer(p) for p in preds]
        more = len(case) - 1
        row = {
            "test": name,
            "case": f"{_show_example(case[0])} (+{more} variant{'s' if more > 1 else ''})",
            "predictions": f"{shown[0]} -> {', '.join(shown[1:])}" if len(shown) > 1 else shown[0],
        }
    else:
        row = {"test": name, "case": _show_example(case), "predictions": _show_answer(preds)}
    labels = getattr(test, "labels", None)  # CheckList's rule: a list is one per case
    many = isinstance(labels, list) or type(labels).__name__ == "ndarray"
    label = (labels[idx] if idx < len(labels) else None) if many else labels
    if label is not None:
        row["expected"] = _show_answer(label)
    return row


# --- run --------------------------------------------------------------------------------------


def _tests(test_or_suite: Any, where: str) -> list[tuple[Any, Any]]:
    try:
        from checklist.abstract_test import AbstractTest
        from checklist.test_suite import TestSuite
    except ImportError as exc:
        from mlops_testkit import MissingExtraError

        raise MissingExtraError(f"{where}: {CHECKLIST_RECIPE}") from exc
    if isinstance(test_or_suite, TestSuite):
        # the suite's key is the name its author gave (suite.add(test, "name", ...))
        return list(test_or_suite.tests.items())
    if isinstance(test_or_suite, AbstractTest):
        return [(test_or_suite.name or "", test_or_suite)]
    raise MltkUsageError(
        f"{where}: expected a CheckList MFT, INV, DIR or TestSuite, got "
        f"{type(test_or_suite).__name__}"
    )


def _examples(test: Any, key: Any, where: str) -> list[Any]:
    data = getattr(test, "data", None)
    try:
        examples = (
            list(test.example_list_and_indices()[0]) if data is not None and len(data) else []
        )
    except Exception as exc:
        raise MltkUsageError(
            f"{where}: CheckList test {key!r} could not list its examples "
            f"({type(exc).__name__}: {exc}); each test case must be an input or a list of inputs"
        ) from exc
    if not examples:
        raise MltkUsageError(f"{where}: CheckList test {key!r} has no test cases: nothing to test")
    return examples


def checklist_report(
    test_or_suite: Any, predict: Callable[[Any], Any], *, batch_size: int = DEFAULT_BATCH
) -> list[ChecklistResult]:
    """Run CheckList tests (an MFT, INV, DIR or a TestSuite) with ``predict``, batched by
    this harness, and count failures with CheckList's own expectation functions.
    ``predict`` may return numbers or answers (class names, answer strings): see
    :func:`checklist_predictions`."""
    where = "run_checklist"
    tests = _tests(test_or_suite, where)
    out = []
    for key, test in tests:
        examples = _examples(test, key, where)
        preds, confs, calls, answers = checklist_predictions(
            predict, examples, batch_size=batch_size, where=where
        )
        try:
            test.run_from_preds_confs(preds, confs, overwrite=True)
            stats = test.get_stats()
            fail_idxs = [int(i) for i in test.fail_idxs()]
            filtered_idxs = [int(i) for i in test.filtered_idxs()]
        except Exception as exc:
            hint = (
                "; predict returned answers, so every confidence is 1 (as with CheckList's "
                "PredictorWrapper.wrap_predict): an expectation that reads probabilities "
                "(Expect.monotonic with label=) needs predict to return probabilities"
                if answers
                else ""
            )
            raise MltkUsageError(
                f"{where}: CheckList's expectation for test {key!r} raised "
                f"{type(exc).__name__}: {exc}{hint}"
            ) from exc
        testcases = int(stats["testcases"])
        after = int(stats.get("after_filtering", testcases))
        result = ChecklistResult(
            str(key or test.name or ""),
            type(test).__name__,
            testcases,
            testcases - after,
            int(stats.get("fails", 0)),
            predict_calls=calls,
            fail_indices=fail_idxs,
            filtered_indices=filtered_idxs,
            answers=answers,
        )
        for idx in fail_idxs[:50]:
            if answers:
                result.rows.append(_answer_row(test, result.name, idx))
            else:
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

    ``predict`` returns numbers (probabilities, scores, integer labels) or answers (class
    names, answer strings): answers get a confidence of one, as with CheckList's
    ``PredictorWrapper.wrap_predict``, and show quoted in the failure table.

    Example::

        suite = TestSuite(); suite.add(MFT(["great", "awful"], labels=[1, 0], name="vocab"))
        run_checklist(suite, model.predict_proba)
        qa = MFT([(context, "Who lives in Paris?")], labels=["Alice"], name="who")
        run_checklist(qa, answer)  # answer(pairs) -> ["Alice", ...]
    """
    __tracebackhide__ = True
    results = checklist_report(test_or_suite, predict, batch_size=batch_size)
    for result in results:
        record(result)
    failing = [r for r in results if not r.passed]
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
        rows = [row for r in failing for row in r.rows]
        columns = ["test", "case", "predictions"]
        if any("expected" in row for row in rows):
            columns.append("expected")
        examples = table(rows, columns, max_rows=max_examples)
        hint = "The counts are CheckList's own (its expectation functions decided)."
        if any(r.answers for r in results):
            hint += (
                " predict returned answers: each has a confidence of 1, as with CheckList's "
                "PredictorWrapper.wrap_predict."
            )
        raise AssertionError(
            message(
                f"CheckList: {len(failing)} of {len(results)} test(s) failed, "
                f"{sum(r.fails for r in results)} failing case(s)",
                f"{summary}\n\n{examples}",
                hint,
            )
        )
    return results
