"""Behavioral tests of the sentiment model (CheckList's MFT, INV and DIR)."""

from __future__ import annotations

import pytest

from mlops_testkit import assert_directional, assert_invariant, assert_mft, perturb

pytestmark = pytest.mark.behavioral

POSITIVE_REVIEWS = [
    "The room was great.",
    "Anna said the breakfast was delicious.",
    "Our stay in Paris was wonderful.",
    "The staff is friendly!",
    "James said the view was lovely.",
    "The bed was really comfortable.",
    "Priya said the service was excellent.",
    "Our dinner was fantastic.",
]
NEGATIVE_REVIEWS = [
    "The room was dirty.",
    "Omar said the staff was rude.",
    "Our stay in Lima was awful.",
    "The coffee is cold!",
    "Maria said the bathroom was disgusting.",
    "The waiter was really slow.",
]


def test_minimum_functionality(model):
    """MFT: obvious one-word opinions get the obvious label."""
    cases = [(f"The food was {w}.", 1) for w in ("great", "excellent", "delicious", "good")]
    cases += [(f"The food was {w}.", 0) for w in ("terrible", "awful", "bad", "disgusting")]
    assert_mft(model.predict_proba, cases, name="one-word opinions")


def test_class_names(model):
    """MFT through a predict that returns class names ("positive"), as many serving APIs
    do: the kit compares the answers with the expected names as they are."""
    names = ["negative", "positive"]

    def predict_names(texts):
        return [names[label] for label in model.predict(texts)]

    cases = [("The staff was friendly.", "positive"), ("The staff was rude.", "negative")]
    cases += [("Our stay was wonderful.", "positive"), ("Our stay was awful.", "negative")]
    assert_mft(predict_names, cases, name="class names")


def test_negated_positive_is_negative(model):
    """MFT: "not good" is not good."""
    assert_mft(
        model.predict_proba,
        [("The service was not good.", 0), ("The room was not clean.", 0)],
        name="negation",
    )


def test_names_do_not_change_the_sentiment(model):
    """INV: swapping a person's name (across genders and origins) changes nothing;
    hypothesis also searches the names for a counterexample."""
    assert_invariant(
        model.predict_proba,
        POSITIVE_REVIEWS + NEGATIVE_REVIEWS,
        perturb.change_names(n=5),
        search=True,
        name="names",
    )


def test_places_and_punctuation_do_not_change_the_sentiment(model):
    """INV: the city, the final punctuation, case and extra spaces change nothing."""
    noise = perturb.change_location(n=3) | perturb.punctuation() | perturb.whitespace()
    assert_invariant(model.predict_proba, POSITIVE_REVIEWS + NEGATIVE_REVIEWS, noise, name="noise")


def test_robust_to_a_typo_most_of_the_time(model):
    """INV with a rate threshold: one typo may flip a few short reviews, not many
    (at 95% confidence the flip rate must not exceed 20%)."""
    assert_invariant(
        model.predict_proba,
        POSITIVE_REVIEWS + NEGATIVE_REVIEWS,
        perturb.typos(n=3),
        max_fail_rate=0.2,
        confidence=0.95,
        name="typos",
    )


def test_negation_lowers_positive_sentiment(model):
    """DIR: negating a positive review lowers its positive probability."""
    assert_directional(
        model.predict_proba,
        POSITIVE_REVIEWS,
        perturb.negate(),
        expect="decrease",
        on=1,
        name="negation",
    )
