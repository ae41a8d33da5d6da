"""Perturbations: functions that turn one input into variants, each with a description.

A perturbation makes its random choices through a *chooser*. In an ordinary run the
chooser is a seeded ``random.Random``, so the same seed gives the same variants; in a
counterexample search it is hypothesis, which explores the choices and shrinks a
failure to the simplest one (the first position, one typo instead of three...).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from mlops_testkit import MltkUsageError


class Variant(NamedTuple):
    """One perturbed input and what was done to it."""

    value: Any
    description: str


class Chooser:
    """Random choices from a ``random.Random``."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng if rng is not None else random.Random(random.getrandbits(64))

    def integer(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        return self.rng.randint(lo, hi)

    def choice(self, options: Sequence[Any]) -> Any:
        return options[self.integer(0, len(options) - 1)]

    def seed(self) -> int:
        """A seed for a numpy generator (tabular perturbations draw vectorised)."""
        return self.integer(0, 2**32 - 1)


class HypothesisChooser(Chooser):
    """Choices drawn by hypothesis, so they are searched and shrunk."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def integer(self, lo: int, hi: int) -> int:
        from hypothesis import strategies as st

        return self.data.draw(st.integers(lo, hi))


Fn = Callable[[Any, Chooser], "list[Variant] | Variant | None"]


class Perturbation:
    """A named perturbation. ``p(x)`` returns the list of variants of ``x`` (empty when
    it does not apply); ``p(x, rng=random.Random(0))`` fixes the randomness.

    Compose them: ``a + b`` applies ``b`` to every variant of ``a``; ``a | b`` gives the
    variants of both.

    Example::

        from mlops_testkit import perturb
        p = perturb.typos() | perturb.change_names(n=2)
        p("Anna loved the flight")   # [Variant('Anna lvoed the flight', 'typo: ...'), ...]
    """

    def __init__(self, fn: Fn, name: str, *, tabular: bool = False, text: bool = False) -> None:
        self.fn = fn
        self.name = name
        self.tabular = tabular
        self.text = text  # changes one str at a time (the text perturbations)

    def variants(self, x: Any, chooser: Chooser) -> list[Variant]:
        if self.text and not isinstance(x, str):
            if _missing(x):
                return []  # a missing text has nothing to perturb: not applicable
            raise MltkUsageError(
                f"perturbation {self.name} changes one text (a str) at a time, got "
                f"{type(x).__name__}: pass the texts as a list of str (a DataFrame column: "
                "frame['text'].tolist()), or perturb a frame with jitter, increase, decrease "
                "or swap_category"
            )
        out = self.fn(x, chooser)
        if out is None:
            return []
        if isinstance(out, Variant):
            return [out]
        return list(out)

    def __call__(self, x: Any, rng: random.Random | None = None) -> list[Variant]:
        return self.variants(x, Chooser(rng))

    def __add__(self, other: Perturbation) -> Perturbation:
        def both(x: Any, chooser: Chooser) -> list[Variant]:
            out = []
            for first in self.variants(x, chooser):
                for second in other.variants(first.value, chooser):
                    out.append(Variant(second.value, f"{first.description}; {second.description}"))
            return out

        return Perturbation(
            both, f"{self.name} + {other.name}", tabular=self.tabular, text=self.text
        )

    def __or__(self, other: Perturbation) -> Perturbation:
        def either(x: Any, chooser: Chooser) -> list[Variant]:
            return self.variants(x, chooser) + other.variants(x, chooser)

        return Perturbation(
            either,
            f"{self.name} | {other.name}",
            tabular=self.tabular,
            text=self.text or other.text,
        )

    def __repr__(self) -> str:
        return f"Perturbation({self.name})"


def _missing(x: Any) -> bool:
    """None, NaN, pandas' NA or NaT: a missing value, not a text."""
    return (
        x is None or (isinstance(x, float) and x != x) or type(x).__name__ in ("NAType", "NaTType")
    )


def perturbation(name: str, *, tabular: bool = False) -> Callable[[Fn], Perturbation]:
    """Decorator: turn ``fn(x, chooser) -> variants`` into a :class:`Perturbation`."""

    def wrap(fn: Fn) -> Perturbation:
        return Perturbation(fn, name, tabular=tabular)

    return wrap
