"""run_checklist against the real CheckList package: the same failure counts as
CheckList's own run/summary on the same data and model.

checklist is never a dependency (it does not install cleanly): `make test-checklist`
builds its own virtualenv with the recipe and runs this file there; in the main suite
it skips (tests/test_checklist.py runs the same scenarios there against the stand-in in
standin.py, which this file checks against the real package).
"""

from __future__ import annotations

import copy

import pytest

checklist = pytest.importorskip("checklist")
np = pytest.importorskip("numpy")

from checklist.expect import Expect
from checklist.pred_wrapper import PredictorWrapper
from checklist.test_suite import TestSuite
from checklist.test_types import DIR, INV, MFT
from checklist_interop import scenarios, standin

from mlops_testkit import MltkUsageError, checklist_report, run_checklist

POSITIVE = {"good", "great", "love"}


class Model:
    """Word-count sentiment that ignores negation and dislikes one name."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts):
        self.calls += 1
        out = []
        for text in texts:
            words = set(text.lower().replace("!", "").replace(".", "").split())
            p = 0.8 if words & POSITIVE else 0.2
            if "omar" in words:
                p -= 0.5
            out.append([1 - max(p, 0.05), max(p, 0.05)])
        return np.array(out)


def wrapper(model):
    def predict(texts):
        probs = model(texts)
        return probs.argmax(axis=1), probs

    return predict


def make_tests():
    mft = MFT(
        ["good food", "great day", "bad food", "not good", "I love it", "awful"],
        labels=[1, 1, 0, 0, 1, 0],
        name="vocabulary",
        capability="Vocabulary",
        description="one-word opinions",
    )
    inv = INV(
        [
            ["Anna loved the good food", "Omar loved the good food", "Wei loved the good food"],
            ["Mary said great", "James said great"],
            ["the room", "the room!"],
        ],
        name="names",
        capability="Fairness",
        description="names do not matter",
    )
    direction = DIR(
        # adding a word must not raise the positive score: "good" and "great" do
        [
            ["the room", "the good room"],
            ["bad food", "bad great food"],
            ["good food", "good food."],
        ],
        Expect.monotonic(label=1, increasing=False, tolerance=0.1),
        name="no praise added",
        capability="Vocabulary",
        description="neutral additions do not raise the score",
    )
    return mft, inv, direction


def checklist_own_stats(test, model):
    test = copy.deepcopy(test)
    test.run(wrapper(model), overwrite=True, verbose=False)
    return test.get_stats()


@pytest.mark.parametrize("index", [0, 1, 2])
def test_counts_match_checklists_own_run(index: int) -> None:
    test = make_tests()[index]
    theirs = checklist_own_stats(test, Model())
    ours = checklist_report(copy.deepcopy(test), Model())[0]
    assert ours.testcases == theirs["testcases"]
    assert ours.fails == theirs.get("fails", 0)
    assert ours.testcases - ours.filtered == theirs.get("after_filtering", theirs["testcases"])
    assert ours.fails > 0  # each test catches a bug of this model


def test_suite_fails_with_the_counts_and_batches_predict() -> None:
    suite = TestSuite()
    for test in make_tests():
        suite.add(test)
    model = Model()
    with pytest.raises(AssertionError) as exc:
        run_checklist(suite, model, batch_size=4)
    text = str(exc.value)
    assert text.startswith("CheckList: 3 of 3 test(s) failed")
    assert "vocabulary" in text and "names" in text and "no praise added" in text
    examples = sum(len(t.example_list_and_indices()[0]) for t in make_tests())
    assert model.calls == sum(-(-len(t.example_list_and_indices()[0]) // 4) for t in make_tests())
    assert examples > 4


def test_a_passing_suite_passes() -> None:
    suite = TestSuite()
    suite.add(MFT(["good", "great"], labels=[1, 1], name="easy", capability="V", description="d"))
    results = run_checklist(suite, Model())
    assert [r.fails for r in results] == [0]


def test_results_are_named_by_the_suites_key_and_recorded(pytester) -> None:
    suite = TestSuite()
    suite.add(
        MFT(["good", "great"], labels=[1, 1], name="inner", capability="V", description="d"),
        "single positive words",
    )
    suite.add(MFT(["bad"], labels=[0], capability="V", description="d"), "single negative words")
    results = checklist_report(suite, Model())
    assert [r.name for r in results] == ["single positive words", "single negative words"]
    # inside a test, run_checklist records them: they show in the summary with the test
    pytester.makepyfile(test_suite="""
from checklist.test_suite import TestSuite
from checklist.test_types import MFT
from mlops_testkit import run_checklist

def predict(texts):
    import numpy as np
    p = np.array([0.9 if "good" in t or "great" in t else 0.1 for t in texts])
    return np.stack([1 - p, p], axis=1)

def test_suite():
    suite = TestSuite()
    suite.add(
        MFT(["good", "great"], labels=[1, 1], name="inner", capability="V", description="d"),
        "single positive words",
    )
    run_checklist(suite, predict)
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mltk-score")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_suite MFT single positive words: 0/2*ok"])


# --- predictions that are answers (class names, QA answer strings) --------------------------


def answer_tests(MFT=MFT, INV=INV, DIR=DIR, Expect=Expect):
    tests = [
        scenarios.qa_mft(MFT, Expect),
        scenarios.qa_mft_eq(MFT),
        scenarios.qa_inv(INV),
        scenarios.qa_dir(DIR, Expect),
        scenarios.sentiment_mft(MFT),
    ]
    return {t.name: t for t in tests}


def answer_model(name):
    return scenarios.sentiment_names if name == "class names" else scenarios.QAModel()


def own_run(test, predict):
    test = copy.deepcopy(test)
    test.run(PredictorWrapper.wrap_predict(predict), overwrite=True, verbose=False)
    return test


@pytest.mark.parametrize("name", list(scenarios.EXPECTED))
def test_answers_match_checklists_own_wrap_predict_run(name: str) -> None:
    test = answer_tests()[name]
    theirs = own_run(test, answer_model(name))
    mine = copy.deepcopy(test)
    ours = checklist_report(mine, answer_model(name), batch_size=2)[0]
    stats = theirs.get_stats()
    expected = scenarios.EXPECTED[name]
    assert ours.answers
    assert ours.testcases == stats["testcases"] == expected["testcases"]
    assert ours.testcases - ours.filtered == stats.get("after_filtering", stats["testcases"])
    assert ours.fails == stats.get("fails", 0) == len(expected["fails"]) > 0
    assert ours.fail_indices == [int(i) for i in theirs.fail_idxs()] == expected["fails"]
    assert ours.filtered_indices == [int(i) for i in theirs.filtered_idxs()]
    assert ours.filtered_indices == expected["filtered"]
    # the predictions reached CheckList as they are, with confidences of one
    for a, b in zip(mine.results.preds, theirs.results.preds, strict=True):
        assert np.asarray(a).tolist() == np.asarray(b).tolist()
    for a, b in zip(mine.results.confs, theirs.results.confs, strict=True):
        assert np.asarray(a).tolist() == np.asarray(b).tolist()


@pytest.mark.parametrize("name", list(scenarios.EXPECTED))
def test_the_stand_in_counts_as_checklist_does(name: str) -> None:
    """tests/test_checklist.py runs against the stand-in: it must agree with CheckList."""
    real = own_run(answer_tests()[name], answer_model(name))
    fake_tests = answer_tests(standin.MFT, standin.INV, standin.DIR, standin.Expect)
    fake = copy.deepcopy(fake_tests[name])
    fake.run(standin.PredictorWrapper.wrap_predict(answer_model(name)))
    assert list(fake.fail_idxs()) == list(real.fail_idxs())
    assert list(fake.filtered_idxs()) == list(real.filtered_idxs())
    assert fake.get_stats() == {
        k: v for k, v in real.get_stats().items() if k in ("testcases", "after_filtering", "fails")
    }


@pytest.mark.parametrize("index", [0, 1])
def test_the_stand_in_counts_numbers_as_checklist_does(index: int) -> None:
    real = make_tests()[index]
    real.run(wrapper(Model()), overwrite=True, verbose=False)
    cls = {"MFT": standin.MFT, "INV": standin.INV}[type(real).__name__]
    kwargs = {"labels": real.labels} if cls is standin.MFT else {}
    fake = cls(real.data, name=real.name, **kwargs)
    fake.run(wrapper(Model()))
    assert list(fake.fail_idxs()) == list(real.fail_idxs())


def test_a_qa_suite_fails_showing_the_answers() -> None:
    suite = TestSuite()
    for name in ("answer is the label", "paraphrased questions", "distractor"):
        suite.add(answer_tests()[name])
    model = scenarios.QAModel()
    with pytest.raises(AssertionError) as exc:
        run_checklist(suite, model, batch_size=4)
    text = str(exc.value)
    assert text.startswith("CheckList: 3 of 3 test(s) failed, 4 failing case(s)")
    assert "Dan met Erin in Rome. | Who did Dan meet?" in text
    assert "'Dan'" in text and "'Erin'" in text and "'Oslo' -> 'Bergen'" in text
    assert model.calls == 2 + 2 + 2  # 6, 7 and 6 examples, in batches of 4


def test_a_monotonic_expectation_on_answers_is_a_usage_error() -> None:
    """Expect.monotonic(label=) reads probabilities; with answers the confidences are one."""
    test = DIR(
        [[("Ann is here.", "Who is here?"), ("Ann is here now.", "Who is here?")]],
        Expect.monotonic(label=1, increasing=True),
        name="monotonic",
    )
    with pytest.raises(MltkUsageError, match="needs predict to return probabilities"):
        checklist_report(test, scenarios.QAModel())


def test_boolean_answers_match_checklists_own_run() -> None:
    """A duplicate-question model returning True/False (CheckList's QQP suites)."""
    pairs = [("How old are you?", "What is your age?"), ("Is it hot?", "Do you like cold?")]
    test = MFT(pairs, labels=[True, False], name="duplicates", capability="V", description="d")

    def same_first_word(ps):
        return [a.split()[0] == b.split()[0] for a, b in ps]

    theirs = own_run(test, same_first_word)
    ours = checklist_report(copy.deepcopy(test), same_first_word)[0]
    assert ours.answers and ours.fail_indices == [int(i) for i in theirs.fail_idxs()] == [0]
