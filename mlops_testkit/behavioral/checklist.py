"""CheckList interop: CheckList's own MFT/INV/DIR tests and suites, run through this harness."""

from __future__ import annotations

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


@dataclass
class ChecklistResult(CheckResult):
    """One CheckList test run through this harness, counted by CheckList's own rules. It
    is a behavioral result: it shows in the summary, the report and the ML Test Score
    with the kit's own MFT/INV/DIR tests."""

    kind = "behavioral"
    items = ("model-7",)
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
        # the suite's key is the name its author gave (suite.add(test, "name", ...))
        tests = list(test_or_suite.tests.items())
    elif isinstance(test_or_suite, AbstractTest):
        tests = [(test_or_suite.name or "", test_or_suite)]
    else:
        raise MltkUsageError(
            f"{where}: expected a CheckList MFT, INV, DIR or TestSuite, got "
            f"{type(test_or_suite).__name__}"
        )
    out = []
    for key, test in tests:
        examples, _ = test.example_list_and_indices()
        preds, calls = _predict_all(predict, list(examples), "list", batch_size, where)
        labels, confs = _checklist_outputs(preds)
        test.run_from_preds_confs(labels, confs, overwrite=True)
        stats = test.get_stats()
        testcases = int(stats["testcases"])
        after = int(stats.get("after_filtering", testcases))
        result = ChecklistResult(
            str(key or test.name or ""),
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
