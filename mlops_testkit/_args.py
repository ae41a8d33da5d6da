"""Argument checks every check shares: seeds, flags, finite numbers, probabilities.

Each raises the kit's :class:`~mlops_testkit.MltkUsageError` naming the check (``where``),
the argument and what was expected, and quotes the bad value. Standard library only.
"""

from __future__ import annotations

import math
from typing import Any

from mlops_testkit import MltkUsageError

SEED_MAX = 2**32 - 1  # numpy's legacy RNG and SeedSequence both take this range


def _scalar(value: Any) -> Any:
    """A numpy or torch 0-d scalar as its Python value; anything else as it is."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def seed(value: Any, where: str, name: str = "seed") -> int:
    """An integer seed in [0, 2**32 - 1] (numpy integers welcome; bools, floats, text
    and negative numbers refused)."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SEED_MAX:
        raise MltkUsageError(
            f"{where}: {name} must be an integer from 0 to {SEED_MAX}, got {value!r}"
        )
    return int(value)


def flag(value: Any, name: str, where: str) -> bool:
    """True or False (numpy booleans welcome). Text such as "false" and numbers such as
    0 are refused: truth-testing them would read "false" as true."""
    value = _scalar(value)
    if not isinstance(value, bool):
        raise MltkUsageError(f"{where}: {name} must be True or False, got {value!r}")
    return value


def number(
    value: Any,
    name: str,
    where: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    why: str = "",
) -> float:
    """A finite real number, within [low, high] (or the open ends asked for). ``why``
    says why the bounds are what they are (e.g. "1.0 would make the check unable to
    fail")."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MltkUsageError(f"{where}: {name} must be a finite number, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        raise MltkUsageError(
            f"{where}: {name} must be {bounds}, got {value!r}" + (f" ({why})" if why else "")
        )
    return float(value)


def count(value: Any, name: str, where: str, *, low: int = 1) -> int:
    """An integer >= ``low`` (numpy integers welcome; bools, floats, NaN and text
    refused), such as ``max_examples`` or ``runs``."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise MltkUsageError(f"{where}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)
