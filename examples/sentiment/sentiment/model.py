"""The classifier: word, bigram and character n-gram TF-IDF with logistic regression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from sentiment.corpus import reviews


@dataclass
class SentimentModel:
    pipeline: Pipeline

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, one row per text: column 0 negative, column 1 positive."""
        return self.pipeline.predict_proba(list(texts))

    def predict(self, texts: list[str]) -> np.ndarray:
        return self.pipeline.predict(list(texts))


def train(n_per_class: int = 1500, seed: int = 0) -> SentimentModel:
    """Train on the bundled corpus; deterministic for a given seed."""
    texts, labels = reviews(n_per_class, seed)
    pipeline = Pipeline(
        [
            (
                "tfidf",
                FeatureUnion(
                    [
                        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                        # character n-grams keep a misspelt word close to the right one
                        (
                            "chars",
                            TfidfVectorizer(
                                analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
                            ),
                        ),
                    ]
                ),
            ),
            ("clf", LogisticRegression(C=10.0, max_iter=1000)),
        ]
    )
    pipeline.fit(texts, labels)
    return SentimentModel(pipeline)
