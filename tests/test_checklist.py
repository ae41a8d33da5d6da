"""run_checklist / checklist_report in the main suite, without the CheckList package.

CheckList is never a dependency: these tests run the kit's CheckList path against a
stand-in of the few CheckList classes it touches (tests/checklist_interop/standin.py,
checked against the real package by `make test-checklist`). They cover predictions that
are answers (class names, QA answer strings, booleans) over tuple inputs, the numeric
path, and hostile predict functions.
"""

from __future__ import annotations

import copy
import math

import pytest

np = pytest.importorskip("numpy")

from checklist_interop import scenarios, standin
from hostile import classify, examples
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_testkit import MltkUsageError, checklist_report, run_checklist
from mlops_testkit.behavioral.checklist import checklist_predictions

Expect, MFT, INV, DIR = standin.Expect, standin.MFT, standin.INV, standin.DIR


@pytest.fixture(autouse=True)
def _checklist(monkeypatch: pytest.MonkeyPatch) -> None:
    standin.install(monkeypatch)


def qa_tests() -> dict[str, object]:
    tests = [
        scenarios.qa_mft(MFT, Expect),
        scenarios.qa_mft_eq(MFT),
        scenarios.qa_inv(INV),
        scenarios.qa_dir(DIR, Expect),
        scenarios.sentiment_mft(MFT),
    ]
    return {t.name: t for t in tests}


def model_for(name: str):
    return scenarios.sentiment_names if name == "class names" else scenarios.QAModel()


def checklists_own(test, predict):
    """CheckList's own run of a label-only function (PredictorWrapper.wrap_predict)."""
    test = copy.deepcopy(test)
    test.run(standin.PredictorWrapper.wrap_predict(predict), overwrite=True, verbose=False)
    return test


@pytest.mark.parametrize("name", list(scenarios.EXPECTED))
@pytest.mark.parametrize("batch_size", [1, 2, 1024])
def test_answers_are_counted_as_checklist_counts_them(name: str, batch_size: int) -> None:
    test = qa_tests()[name]
    theirs = checklists_own(test, model_for(name))
    ours = checklist_report(copy.deepcopy(test), model_for(name), batch_size=batch_size)[0]
    expected = scenarios.EXPECTED[name]
    assert ours.answers
    assert ours.testcases == expected["testcases"] == theirs.get_stats()["testcases"]
    assert ours.filtered_indices == expected["filtered"] == list(theirs.filtered_idxs())
    assert ours.filtered == len(expected["filtered"])
    assert ours.fail_indices == expected["fails"] == list(theirs.fail_idxs())
    assert ours.fails == len(expected["fails"]) > 0  # each test catches this model's bug
    n_examples = len(test.example_list_and_indices()[0])
    assert ours.predict_calls == math.ceil(n_examples / batch_size)


def test_the_answers_reach_checklist_as_they_are() -> None:
    test = copy.deepcopy(qa_tests()["paraphrased questions"])
    theirs = checklists_own(test, scenarios.QAModel())
    checklist_report(test, scenarios.QAModel(), batch_size=2)
    for mine, own in zip(test.results.preds, theirs.results.preds, strict=True):
        assert mine.tolist() == own.tolist()
    assert all(c.tolist() == [1.0] * len(c) for c in test.results.confs)


def test_a_model_that_answers_right_passes() -> None:
    answers = {(c, q): a for c, q, a in scenarios.CONTEXTS}
    results = run_checklist(
        scenarios.qa_mft(MFT, Expect), lambda pairs: [answers[p] for p in pairs]
    )
    assert [(r.passed, r.fails, r.testcases) for r in results] == [(True, 0, 6)]


def test_the_failure_shows_questions_answers_and_labels() -> None:
    suite = standin.TestSuite()
    for name in ("answer equals label", "paraphrased questions", "distractor"):
        suite.add(qa_tests()[name])
    with pytest.raises(AssertionError) as exc:
        run_checklist(suite, scenarios.QAModel())
    text = str(exc.value)
    assert text.startswith("CheckList: 3 of 3 test(s) failed, 4 failing case(s)")
    assert "Dan met Erin in Rome. | Who did Dan meet?" in text  # the question shows
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("test ") and "expected" in line)
    assert header.split() == ["test", "case", "predictions", "expected"]
    assert any("'Dan'" in line and "'Erin'" in line for line in lines)
    assert any("'Alice' -> ''" in line for line in lines)  # the paraphrase lost the answer
    assert any("'Oslo' -> 'Bergen'" in line for line in lines)
    assert "confidence of 1" in text


def test_booleans_are_answers_too() -> None:
    """A duplicate-question model that returns True/False (CheckList's QQP suites)."""
    pairs = [("How old are you?", "What is your age?"), ("Is it hot?", "Do you like the cold?")]
    test = MFT(pairs, labels=[True, False], name="duplicates")
    same_first_word = lambda ps: [a.split()[0] == b.split()[0] for a, b in ps]  # noqa: E731
    result = checklist_report(test, same_first_word)[0]
    assert result.answers and result.fail_indices == [0] and result.fails == 1


# --- numbers behave as before -----------------------------------------------------------------


def test_numbers_take_the_harness_way() -> None:
    texts = ["good", "bad", "great"]
    proba = np.array([[0.2, 0.8], [0.9, 0.1], [0.3, 0.7]])
    labels, confs, calls, answers = checklist_predictions(lambda xs: proba[: len(xs)], texts)
    assert (labels.tolist(), confs.tolist(), calls, answers) == (
        [1, 0, 1],
        proba.tolist(),
        1,
        False,
    )
    labels, confs, _, answers = checklist_predictions(
        lambda xs: np.array([0.8, 0.1, 0.7])[: len(xs)], texts
    )
    assert labels.tolist() == [1, 0, 1] and not answers
    assert np.allclose(confs, [[0.2, 0.8], [0.9, 0.1], [0.3, 0.7]])
    labels, confs, calls, _ = checklist_predictions(
        lambda xs: [2, 0, 1][: len(xs)], texts[:1] + texts[1:], batch_size=3
    )
    assert labels.tolist() == [2, 0, 1] and confs.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]


def test_a_probability_model_is_counted_as_before() -> None:
    """The sentiment MFT with probabilities: CheckList's own run with wrap_softmax."""

    def proba(texts):
        p = np.array(
            [0.9 if scenarios.sentiment_names([t])[0] == "positive" else 0.1 for t in texts]
        )
        return np.stack([1 - p, p], axis=1)

    test = MFT(["good food", "not good", "awful"], labels=[1, 0, 0], name="numbers")
    result = checklist_report(test, proba, batch_size=2)[0]
    assert (result.answers, result.fail_indices, result.predict_calls) == (False, [1], 2)
    assert result.rows == [{"test": "numbers", "case": "not good", "predictions": "1"}]


# --- hostile predict functions ----------------------------------------------------------------

HOSTILE = {
    "a mix of strings and numbers": (
        lambda xs: ["positive", 0.7, "negative"][: len(xs)],
        r"a mix of answers and numbers \(input 0: 'positive', input 1: 0.7\); expected one "
        r"prediction per input, all of one kind",
    ),
    "NaN among answers": (lambda xs: ["a", float("nan"), "b"][: len(xs)], "a mix of answers"),
    "booleans among answers": (
        lambda xs: ["a", True, "b"][: len(xs)],
        "a mix of answers and bools",
    ),
    "too few": (lambda xs: ["a"] * (len(xs) - 1), "returned 2 predictions for a batch of 3"),
    "too many": (lambda xs: ["a"] * (len(xs) + 1), "returned 4 predictions for a batch of 3"),
    "a None among answers": (
        lambda xs: ["a", None, "b"][: len(xs)],
        r"predict returned None for input 1 \(bad\); expected one prediction per input",
    ),
    "None": (lambda xs: None, "one label or score per input"),
    "one string": (lambda xs: "positive", "one label or score per input"),
    "ragged probabilities": (
        lambda xs: [[0.1, 0.9], [1.0], [0.5, 0.5]][: len(xs)],
        "rows of numbers of different lengths",
    ),
    "a 2-D array of strings": (
        lambda xs: np.array([["a", "b"]] * len(xs)),
        "a 2-D array of <U1 for rows 0-2; expected one prediction per input",
    ),
    "raises": (lambda xs: 1 / 0, "predict raised ZeroDivisionError on a batch of 3"),
    "a CheckList-wrapped function": (
        standin.PredictorWrapper.wrap_predict(scenarios.sentiment_names),
        r"a \(predictions, confidences\) pair, as CheckList's wrapped functions do",
    ),
    "no sequence": (lambda xs: iter(["a"] * len(xs)), "one label or score per input"),
    "not callable": ("predict", "predict must be callable"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_predictions_are_usage_errors(case: str) -> None:
    predict, match = HOSTILE[case]
    test = MFT(["good", "bad", "great"], labels=["positive", "negative", "positive"], name="t")
    with pytest.raises(MltkUsageError, match=match):
        run_checklist(test, predict)


def test_numbers_in_one_batch_and_answers_in_another_are_a_usage_error() -> None:
    calls = iter([[0.9, 0.1], ["positive"]])
    test = MFT(["good", "bad", "great"], labels=[1, 0, 1], name="t")
    with pytest.raises(MltkUsageError, match="numbers for the batch from row 0 but answers"):
        checklist_report(test, lambda xs: next(calls), batch_size=2)


def test_a_test_without_cases_or_a_raising_expectation_is_a_usage_error() -> None:
    with pytest.raises(MltkUsageError, match="has no test cases"):
        checklist_report(MFT([], labels=[], name="empty"), scenarios.sentiment_names)

    def broken(x, pred, conf, label, meta):
        return pred.upper() == label  # pred is a bool here

    test = MFT([("a", "b")], labels=["A"], expect=Expect.single(broken), name="broken")
    with pytest.raises(
        MltkUsageError, match="expectation for test 'broken' raised AttributeError"
    ):
        checklist_report(test, lambda xs: [True] * len(xs))


ATOMS = st.one_of(
    st.text(max_size=3),
    st.integers(-2, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.tuples(st.text(max_size=2), st.floats(0, 1)),
    st.lists(st.floats(0, 1), max_size=3),
)


@pytest.mark.hostile
@settings(max_examples=examples(120), deadline=None)
@given(outputs=st.lists(st.lists(ATOMS, min_size=0, max_size=4), min_size=2, max_size=2))
def test_any_predict_output_is_a_result_a_failure_or_a_usage_error(outputs) -> None:
    # two batches of two inputs; each batch's output is drawn (its length may be wrong)
    replies = iter(outputs)
    test = MFT(["good", "bad", "great", "awful"], labels=["a", "b", 1, 0.5], name="h")
    outcome, value = classify(run_checklist, test, lambda xs: next(replies), batch_size=2)
    assert outcome in ("usage", "failure", "result"), value
    values = [v for out in outputs for v in out]
    if outcome != "usage":  # one prediction per input, never None, never a mix
        assert all(len(out) == 2 for out in outputs)
        assert all(v is not None for v in values)
        answers = any(isinstance(v, str | tuple) for v in values)
        assert not (answers and any(type(v) in (int, float) for v in values))
