"""The behavioral harness catches what it exists for and passes clean models."""

from __future__ import annotations

import math

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from mlops_testkit import (
    MltkUsageError,
    assert_directional,
    assert_invariant,
    assert_mft,
    invariant_report,
    perturb,
)
from mlops_testkit.behavioral import lower_bound

POSITIVE = {"love", "loved", "great", "good", "excellent"}
NEGATIVE = {"hate", "bad", "awful", "terrible"}


class Sentiment:
    """A tiny word-count sentiment model; ``biased`` punishes one name, like real
    models trained on skewed data do."""

    def __init__(self, biased: bool = False, ignores_negation: bool = False) -> None:
        self.biased, self.ignores_negation = biased, ignores_negation
        self.calls = 0

    def __call__(self, texts):
        self.calls += 1
        out = []
        for text in texts:
            words = set(text.lower().replace(",", " ").replace(".", " ").replace("!", " ").split())
            score = 0.5 + 0.3 * len(words & POSITIVE) - 0.3 * len(words & NEGATIVE)
            if self.biased and "ahmed" in words:
                score -= 0.4
            if not self.ignores_negation and "not" in words:
                score = 1 - score
            p = min(max(score, 0.02), 0.98)
            out.append([1 - p, p])
        return np.array(out)


REVIEWS = [
    "Anna loved the food, great service",
    "Mary said the room was good",
    "James thought the staff was awful",
    "The view was excellent",
    "Omar found the bed bad",
]


def test_mft_pairs_labels_and_predicates() -> None:
    model = Sentiment()
    assert_mft(model, [("great", 1), ("awful", 0)])
    assert_mft(model, ["great", "good"], labels=[1, 1])
    assert_mft(model, ["great", "good"], expect=lambda proba: proba[1] > 0.6)
    with pytest.raises(AssertionError) as exc:
        assert_mft(model, [("great", 1), ("meh", 1), ("bad", 1)], name="positives")
    text = str(exc.value)
    assert text.startswith("MFT 'positives': 2 of 3 cases failed (66.7%), threshold 0.0%")
    assert "meh" in text and "bad" in text


def test_invariance_catches_a_name_bias_and_passes_a_fair_model() -> None:
    inputs = REVIEWS * 20
    assert_invariant(Sentiment(), inputs, perturb.change_names(n=10), seed=0)
    with pytest.raises(AssertionError) as exc:
        assert_invariant(Sentiment(biased=True), inputs, perturb.change_names(n=10), seed=0)
    text = str(exc.value)
    assert text.startswith("INV: ") and "cases failed" in text
    assert "-> Ahmed" in text and "original" in text and "perturbed" in text


def test_same_seed_same_verdict() -> None:
    def parity(texts):  # flips whenever a typo drops or repeats a character
        return np.array([len(t) % 2 for t in texts])

    inputs = REVIEWS * 10
    runs = [invariant_report(parity, inputs, perturb.typos(n=2), seed=7) for _ in range(2)]
    assert runs[0].failures > 0
    assert runs[0].failures == runs[1].failures and runs[0].rows == runs[1].rows
    other = invariant_report(parity, inputs, perturb.typos(n=2), seed=8)
    assert other.rows != runs[0].rows


def test_search_finds_a_minimal_counterexample_sampling_missed() -> None:
    model = Sentiment(biased=True)
    review = ["Mary said the room was good"]  # 0.8, and 0.4 with the name Ahmed
    sampled = invariant_report(model, review, perturb.change_names(n=1), seed=3)
    assert sampled.failures == 0  # one random name: Ahmed is 1 of 75 others
    with pytest.raises(AssertionError) as exc:
        assert_invariant(model, review, perturb.change_names(n=1), seed=3, search=True)
    assert "Minimal counterexample (hypothesis search): " in str(exc.value)
    assert "name Mary -> Ahmed" in str(exc.value)
    assert_invariant(Sentiment(), REVIEWS, perturb.change_names(), seed=3, search=True)


def test_directional_catches_ignored_negation() -> None:
    positives = ["The food was good", "I love the view", "The staff is great"]
    assert_directional(Sentiment(), positives, perturb.negate(), expect="decrease")
    with pytest.raises(AssertionError) as exc:
        assert_directional(
            Sentiment(ignores_negation=True), positives, perturb.negate(), expect="decrease"
        )
    assert "3 of 3 cases failed" in str(exc.value) and "decrease" in str(exc.value)


def test_not_applicable_cases_are_counted_never_passed() -> None:
    report = invariant_report(
        Sentiment(), ["no names here", "Anna was great"], perturb.change_names()
    )
    assert report.cases == 1 and report.not_applicable == 1
    with pytest.raises(AssertionError, match="no applicable case"):
        assert_invariant(Sentiment(), ["no names here"], perturb.change_names())


def test_confidence_bound_keeps_small_samples_from_flaking() -> None:
    # the perturbation breaks exactly 1 of 20 cases: 5%, above a 2% threshold, but not
    # above it with 95% confidence
    def label(texts):
        return np.array([t.startswith("broken") for t in texts])

    inputs = [f"case {i}" for i in range(20)]

    def perturbation(text):
        return "broken" if text == "case 0" else text + " "

    with pytest.raises(AssertionError, match=r"1 of 20 cases failed \(5\.0%\), threshold 2\.0%"):
        assert_invariant(label, inputs, perturbation, max_fail_rate=0.02)
    assert_invariant(label, inputs, perturbation, max_fail_rate=0.02, confidence=0.95)
    # with many cases the same 5% is significant
    many = [f"case {i}" for i in range(400)]
    with pytest.raises(AssertionError, match="at 95% confidence the rate is >="):
        assert_invariant(
            label,
            many,
            lambda t: "broken" if t.endswith("0") and len(t) > 6 else t + " ",
            max_fail_rate=0.02,
            confidence=0.95,
        )


def test_lower_bound_is_clopper_pearson() -> None:
    stats = pytest.importorskip("scipy.stats")
    assert lower_bound(0, 10, 0.95) == 0.0
    for k, n, conf in [
        (1, 20, 0.95),
        (5, 100, 0.95),
        (50, 100, 0.9),
        (10, 10, 0.99),
        (3, 5000, 0.95),
    ]:
        assert lower_bound(k, n, conf) == pytest.approx(
            stats.beta.ppf(1 - conf, k, n - k + 1), rel=1e-9
        )


def test_predict_is_called_once_per_batch() -> None:
    model = Sentiment()
    inputs = REVIEWS * 200  # 1,000 cases, 1 variant each: 2,000 rows
    assert_invariant(model, inputs, perturb.punctuation(), batch_size=300)
    assert model.calls == math.ceil(2_000 / 300)


def test_tabular_directional_and_invariance() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "income": rng.uniform(1e4, 1e5, 500),
            "region": rng.choice(["n", "s"], 500),
            "noise": rng.normal(size=500),
        }
    )

    def approve(df):  # monotone in income, ignores region
        return 1 / (1 + np.exp(-(df["income"].to_numpy() - 5e4) / 1e4))

    def penalises_rich(df):  # a bug: above 90k the score drops
        x = df["income"].to_numpy()
        return np.where(x > 9e4, 0.1, approve(df))

    assert_directional(
        approve, frame, perturb.increase("income", factor=1.1), expect="not_decrease"
    )
    with pytest.raises(AssertionError, match="not_decrease"):
        assert_directional(
            penalises_rich, frame, perturb.increase("income", factor=1.1), expect="not_decrease"
        )
    assert_invariant(approve, frame, perturb.swap_category("region"), tolerance=1e-9)
    assert_invariant(approve, frame, perturb.jitter("noise", 0.5), tolerance=1e-9)

    def uses_region(df):
        return approve(df) + (df["region"] == "s").to_numpy() * 0.2

    with pytest.raises(AssertionError, match="region: another category"):
        assert_invariant(uses_region, frame, perturb.swap_category("region"), tolerance=0.05)


def test_labels_and_scores_outputs() -> None:
    def labels(texts):  # string labels, case-sensitive by mistake
        return np.array(["pos" if "good" in t else "neg" for t in texts])

    report = invariant_report(labels, ["good day", "bad day"], perturb.change_case(["upper"]))
    assert (report.failures, report.cases) == (1, 2)  # only "good day" flips
    assert report.rows[0]["before"] == "pos" and report.rows[0]["after"] == "neg"

    def scores(texts):
        return np.array([len(t) / 100 for t in texts])

    with pytest.raises(AssertionError, match=r"within 0\.001"):
        assert_invariant(scores, ["good day"], perturb.add_phrase(), tolerance=0.001)
    assert_invariant(scores, ["good day"], perturb.add_phrase(), tolerance=1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: assert_invariant(lambda b: 1 / 0, ["a"], lambda t: t + "!"),
            "predict raised ZeroDivisionError on a batch of 2",
        ),
        (
            lambda: assert_invariant(lambda b: [1], ["a", "b"], lambda t: t + "!"),
            "predict returned 1 predictions for a batch of 4",
        ),
        (
            lambda: assert_invariant(lambda b: np.zeros((len(b), 2, 2)), ["a"], lambda t: t + "!"),
            "got shape",
        ),
        (
            lambda: assert_invariant(
                lambda b: np.array([["x", "y"]] * len(b)), ["a"], lambda t: t + "!"
            ),
            "expected numbers",
        ),
        (lambda: assert_invariant(Sentiment(), [], perturb.typos()), "inputs are empty"),
        (lambda: assert_invariant(Sentiment(), "abc", perturb.typos()), "inputs must be a list"),
        (
            lambda: assert_invariant(Sentiment(), ["a"], perturb.typos(), max_fail_rate=1.5),
            "max_fail_rate must be in",
        ),
        (
            lambda: assert_directional(Sentiment(), ["a"], perturb.typos(), expect="up"),
            "expect must be one of",
        ),
        (lambda: assert_mft(Sentiment(), ["a", "b"]), "cases must be (input, expected) pairs"),
        (
            lambda: assert_invariant(Sentiment(), ["Anna"], lambda t: t, search=True),
            "the search needs a perturbation",
        ),
        (
            lambda: assert_invariant(Sentiment(), ["a"], lambda t: 1 / 0),
            "perturb raised ZeroDivisionError",
        ),
    ],
)
def test_bad_input_is_a_clear_error(call, message) -> None:
    with pytest.raises(MltkUsageError) as exc:
        call()
    assert message in str(exc.value)


def test_a_text_perturbation_of_a_dataframe_is_a_usage_error_naming_the_argument() -> None:
    """Issue 21: assert_invariant(predict, a_dataframe, perturb.typos()) raised pandas'
    "truth value of a DataFrame is ambiguous". Text perturbations change one text at a
    time (README, "Behavioral tests"): a frame is a usage error saying what to pass."""
    frame = pd.DataFrame({"text": ["good movie", "bad movie"]})
    for call in (
        lambda: assert_invariant(Sentiment(), frame, perturb.typos()),
        lambda: invariant_report(Sentiment(), frame, perturb.change_names() | perturb.typos()),
        lambda: assert_directional(Sentiment(), frame, perturb.negate(), expect="decrease"),
        lambda: assert_invariant(Sentiment(), np.array(["a", "b"]), perturb.typos()),
    ):
        with pytest.raises(
            MltkUsageError, match=r"inputs is a .*changes one text at a time"
        ) as exc:
            call()
        assert "tolist()" in str(exc.value)

    # the same texts as a list work, and a missing text is not applicable, never a pass
    def lengths(texts):
        return np.array([len(str(t)) for t in texts]) * 0

    report = invariant_report(lengths, [*frame["text"].tolist(), None], perturb.typos(), seed=0)
    assert report.cases == 2 and report.not_applicable == 1 and report.passed


def test_increase_of_a_string_column_is_a_usage_error_naming_the_column() -> None:
    """Issue 21: perturb.increase("x") on a string column raised "could not convert string
    to float" from inside the harness."""
    frame = pd.DataFrame({"x": ["a", "b", "c"], "income": [1.0, 2.0, 3.0]})

    def approve(df):
        return df["income"].to_numpy() / 10

    for call in (
        lambda: assert_directional(approve, frame, perturb.increase("x", by=1), expect="increase"),
        lambda: assert_invariant(approve, frame, perturb.jitter("x")),
    ):
        with pytest.raises(MltkUsageError, match="column 'x' holds str values, not numbers"):
            call()
    report = invariant_report(approve, frame, perturb.increase("income", by=1.0), tolerance=0.5)
    assert report.cases == 3 and report.passed
