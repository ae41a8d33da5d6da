"""The bundled training corpus: short reviews written for this example, expanded from
templates so that every opinion appears with many subjects, names and places. No
download: the corpus is code."""

from __future__ import annotations

import itertools
import random

POSITIVE = (
    "great",
    "excellent",
    "wonderful",
    "lovely",
    "fantastic",
    "amazing",
    "good",
    "nice",
    "friendly",
    "clean",
    "delicious",
    "comfortable",
    "perfect",
    "superb",
)
NEGATIVE = (
    "terrible",
    "awful",
    "horrible",
    "bad",
    "dirty",
    "rude",
    "disgusting",
    "noisy",
    "uncomfortable",
    "poor",
    "slow",
    "cold",
    "disappointing",
    "broken",
)
THINGS = (
    "room",
    "staff",
    "food",
    "service",
    "breakfast",
    "bed",
    "view",
    "pool",
    "location",
    "dinner",
    "bathroom",
    "waiter",
    "coffee",
    "hotel",
)
SUBJECTS = ("The {thing}", "Our {thing}", "The {thing} here", "Honestly the {thing}")
PEOPLE = (
    "Anna",
    "James",
    "Priya",
    "Wei",
    "Fatima",
    "Carlos",
    "Olga",
    "Kwame",
    "Yuki",
    "Omar",
    "Maria",
    "David",
    "Aisha",
    "Lars",
    "Mei",
    "Diego",
)
PLACES = ("Paris", "Lagos", "Tokyo", "Lima", "Berlin", "Mumbai", "Toronto", "Cairo")

POSITIVE_TEMPLATES = (
    "{subject} was {pos}.",
    "{subject} is {pos}!",
    "{subject} was really {pos}.",
    "I loved it, {subject_lower} was {pos}.",
    "{person} said {subject_lower} was {pos}.",
    "Our stay in {place} was {pos}.",
    "{subject} was not {neg}.",
    "I would come back, {subject_lower} was {pos}.",
)
NEGATIVE_TEMPLATES = (
    "{subject} was {neg}.",
    "{subject} is {neg}!",
    "{subject} was really {neg}.",
    "I hated it, {subject_lower} was {neg}.",
    "{person} said {subject_lower} was {neg}.",
    "Our stay in {place} was {neg}.",
    "{subject} was not {pos}.",
    "Never again, {subject_lower} was {neg}.",
)


def reviews(n_per_class: int = 1500, seed: int = 0) -> tuple[list[str], list[int]]:
    """``n_per_class`` positive (label 1) and negative (label 0) reviews, shuffled."""
    rng = random.Random(seed)
    texts, labels = [], []
    for label, templates in ((1, POSITIVE_TEMPLATES), (0, NEGATIVE_TEMPLATES)):
        combos = itertools.cycle(templates)
        for _ in range(n_per_class):
            subject = rng.choice(SUBJECTS).format(thing=rng.choice(THINGS))
            text = next(combos).format(
                subject=subject,
                subject_lower=subject[0].lower() + subject[1:],
                pos=rng.choice(POSITIVE),
                neg=rng.choice(NEGATIVE),
                person=rng.choice(PEOPLE),
                place=rng.choice(PLACES),
            )
            texts.append(text)
            labels.append(label)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]
