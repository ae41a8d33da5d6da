"""CheckList tests whose model answers with strings, shared by the in-process tests
(tests/test_checklist.py, against a stand-in of CheckList's classes) and the real-package
tests (tests/checklist_interop/, `make test-checklist`). The builders take CheckList's
classes as arguments, so this module never imports CheckList.

The QA model answers a (context, question) pair with the first capitalised word of the
context after "Who"-questions and the word after "in" for "Where"-questions: it is
wrong when the context names two people, and its answer changes when the question is
paraphrased ("Which person" instead of "Who").
"""

from __future__ import annotations

from typing import Any

CONTEXTS = [
    ("Alice lives in Paris.", "Who lives in Paris?", "Alice"),
    ("Bob works in Lima.", "Who works in Lima?", "Bob"),
    ("After the rain, Carol walked home.", "Who walked home?", "Carol"),
    ("Dan met Erin in Rome.", "Who did Dan meet?", "Erin"),
    ("Frank lives in Oslo.", "Where does Frank live?", "Oslo"),
    ("Gina moved to Kyiv.", "Where did Gina move?", "Kyiv"),
]


class QAModel:
    """A label-only QA model: a list of (context, question) pairs -> answer strings."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, pairs: list[tuple[str, str]]) -> list[str]:
        self.calls += 1
        return [self.answer(context, question) for context, question in pairs]

    @staticmethod
    def answer(context: str, question: str) -> str:
        words = [w.strip(".,?!") for w in context.split()]
        if question.startswith("Where"):
            after = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("in", "to")]
            return after[0] if after else ""
        if question.startswith("Who"):
            names = [w for w in words if w[:1].isupper() and w not in ("After",)]
            return names[0] if names else ""
        return ""  # "Which person ...": no answer


def qa_mft(MFT: Any, Expect: Any) -> Any:
    """MFT: the answer is the label (Expect.single over (context, question) pairs)."""
    return MFT(
        [(c, q) for c, q, _ in CONTEXTS],
        labels=[a for _, _, a in CONTEXTS],
        expect=Expect.single(lambda x, pred, conf, label, meta: pred == label),
        name="answer is the label",
        capability="Vocabulary",
        description="simple who/where questions",
    )


def qa_mft_eq(MFT: Any) -> Any:
    """MFT with labels only (CheckList's default Expect.eq)."""
    return MFT(
        [(c, q) for c, q, _ in CONTEXTS],
        labels=[a for _, _, a in CONTEXTS],
        name="answer equals label",
        capability="Vocabulary",
        description="simple who/where questions",
    )


def qa_inv(INV: Any) -> Any:
    """INV over paraphrased (context, question) pairs; the Lima case is a clean one."""
    return INV(
        [
            [
                ("Alice lives in Paris.", "Who lives in Paris?"),
                ("Alice lives in Paris.", "Which person lives in Paris?"),
            ],
            [
                ("Bob works in Lima.", "Who works in Lima?"),
                ("Bob works in Lima.", "Who is working in Lima?"),
            ],
            [
                ("Frank lives in Oslo.", "Where does Frank live?"),
                ("Frank lives in Oslo.", "Where is Frank living?"),
                ("Frank lives in Oslo.", "Which city does Frank live in?"),
            ],
        ],
        name="paraphrased questions",
        capability="Robustness",
        description="a paraphrase of the question keeps the answer",
    )


def qa_dir(DIR: Any, Expect: Any) -> Any:
    """DIR: putting another person first in the context must not change a Where answer;
    a pair whose original answer is empty is filtered out (None: not applicable)."""

    def same_place(orig_pred: Any, pred: Any, orig_conf: Any, conf: Any, label=None, meta=None):
        if orig_pred == "":
            return None
        return pred == orig_pred

    return DIR(
        [
            [
                ("Frank lives in Oslo.", "Where does Frank live?"),
                ("Frank, who grew up in Bergen, lives in Oslo.", "Where does Frank live?"),
            ],
            [
                ("Gina moved to Kyiv.", "Where did Gina move?"),
                ("In spring Gina moved to Kyiv.", "Where did Gina move?"),
            ],
            [
                ("Hal stayed home.", "Where did Hal stay?"),
                ("Hal stayed home with Ivy.", "Where did Hal stay?"),
            ],
        ],
        Expect.pairwise(same_place),
        name="distractor",
        capability="Robustness",
        description="an added clause keeps the place",
    )


def sentiment_mft(MFT: Any) -> Any:
    """A classifier that returns class names, against string labels."""
    return MFT(
        ["good food", "great day", "not good", "awful", "I love it", "bad"],
        labels=["positive", "positive", "negative", "negative", "positive", "negative"],
        name="class names",
        capability="Vocabulary",
        description="one-word opinions",
    )


def sentiment_names(texts: list[str]) -> list[str]:
    positive = {"good", "great", "love"}
    return ["positive" if set(t.lower().split()) & positive else "negative" for t in texts]


# What CheckList counts on these tests with QAModel / sentiment_names (checked against the
# real package by tests/checklist_interop, which also compares with CheckList's own run).
EXPECTED: dict[str, dict[str, Any]] = {
    "answer is the label": {"testcases": 6, "filtered": [], "fails": [3]},
    "answer equals label": {"testcases": 6, "filtered": [], "fails": [3]},
    "paraphrased questions": {"testcases": 3, "filtered": [], "fails": [0, 2]},
    "distractor": {"testcases": 3, "filtered": [2], "fails": [0]},
    "class names": {"testcases": 6, "filtered": [], "fails": [2]},
}
