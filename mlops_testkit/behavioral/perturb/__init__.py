"""Perturbations for behavioral tests: text (one string at a time) and tabular (a whole
frame at a time, vectorised). No network, no model download.

Example::

    from mlops_testkit import perturb
    p = perturb.typos(n=2) | perturb.change_names()
    p("Anna liked the room")
"""

from __future__ import annotations

from mlops_testkit.behavioral.perturb.base import (
    Chooser,
    HypothesisChooser,
    Perturbation,
    Variant,
    perturbation,
)
from mlops_testkit.behavioral.perturb.tabular import decrease, increase, jitter, swap_category
from mlops_testkit.behavioral.perturb.text import (
    add_phrase,
    change_case,
    change_location,
    change_names,
    change_number,
    contractions,
    negate,
    punctuation,
    synonyms,
    typos,
    whitespace,
)

__all__ = [
    "Chooser",
    "HypothesisChooser",
    "Perturbation",
    "Variant",
    "add_phrase",
    "change_case",
    "change_location",
    "change_names",
    "change_number",
    "contractions",
    "decrease",
    "increase",
    "jitter",
    "negate",
    "perturbation",
    "punctuation",
    "swap_category",
    "synonyms",
    "typos",
    "whitespace",
]
