"""What the hostile-input tests share: calling a helper and judging how it ended.

Every public helper, given input a hostile user might pass, may only end in one of three
ways: a result (or a plain return), a test failure (an ``AssertionError`` raised by the
kit itself) or the kit's ``MltkUsageError`` (``MissingExtraError`` for a missing extra).
Another exception is a defect, and so is a pass on degenerate evidence (empty, all-NaN,
nothing applicable), and so is a call that outlives its time budget (a hang, or a scan
that is not linear in its input).

The tests always judge: there is no switch that turns the assertions into counting.
Before/after tallies of the same inputs against an older checkout are made by
``tests/hostile_tally.py``, a script run by hand that pytest does not collect.

``HOSTILE_PROFILE`` picks how many examples the hypothesis-driven hostile tests draw:
``bounded`` (the default, ``make test``) or ``hostile`` (``make test-hostile``), which only
multiplies the number of examples; any other value is an error.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import mlops_testkit as mltk

ALLOWED = ("usage", "failure", "result")
PROFILES = {"bounded": 1, "hostile": 15}  # multiplier of the examples each test draws
PROFILE = os.environ.get("HOSTILE_PROFILE", "bounded")
if PROFILE not in PROFILES:
    raise ValueError(f"HOSTILE_PROFILE={PROFILE!r}: expected one of {', '.join(PROFILES)}")


def examples(bounded: int, hostile: int | None = None) -> int:
    """The number of hypothesis examples of a test that draws ``bounded`` under
    ``make test``: ``hostile`` (default 15 times as many) under ``make test-hostile``,
    never fewer."""
    if PROFILE == "bounded":
        return bounded
    return max(bounded, hostile if hostile is not None else bounded * PROFILES[PROFILE])


def helper(name: str) -> Callable[..., Any]:
    """The public helper ``name``; a name missing from ``mlops_testkit.__all__`` FAILS the
    test (a check that disappeared must never read as one that passed)."""
    __tracebackhide__ = True
    if name not in getattr(mltk, "__all__", ()):
        pytest.fail(f"{name!r} is not in mlops_testkit.__all__: the public API lost a helper")
    try:
        return getattr(mltk, name)
    except (AttributeError, ImportError) as exc:
        pytest.fail(f"mlops_testkit.{name} is in __all__ but does not import: {exc!r}")


class Hang(BaseException):
    """Raised into a call that outlived its time budget (a BaseException, so that no
    ``except Exception`` in the code under test can swallow it)."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Interrupt the block with :class:`Hang` after ``seconds`` of wall-clock time.

    SIGALRM interrupts Python code and the ``re`` engine (which checks for signals), so a
    catastrophic backtracking or a quadratic loop is stopped where it is; C code is
    stopped when it returns to the interpreter, and so is a call waiting on a thread
    that runs C code holding the GIL (a regex in a thread pool): such a hang is reported
    late, never missed. Off the main thread (where
    signals cannot be set) the block runs to its end and the elapsed time is checked
    afterwards. The budget is not a speed assertion: it is tens of times what a linear
    scan of the inputs needs, so that only a hang or a super-linear scan exceeds it.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        start = time.monotonic()
        yield
        if time.monotonic() - start > seconds:
            raise Hang(f"took {time.monotonic() - start:.1f} s, over its budget of {seconds} s")
        return

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after its budget of {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _raised_by_kit(exc: BaseException) -> bool:
    """An AssertionError is a test failure only when the kit raised it (torch raises
    AssertionError for "not compiled with CUDA", which must not read as a failure)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "mlops_testkit" in frames[-1].filename


def passed(value: Any, twin: bool) -> bool:
    """Whether a helper's return value is a pass: a result whose ``passed`` is true (all
    of them for a list of results), or a plain return of an ``assert_*`` helper."""
    if isinstance(value, list) and value and hasattr(value[0], "passed"):
        return all(bool(v.passed) for v in value)
    if hasattr(value, "passed"):
        return bool(value.passed)
    return not twin  # an assert_* helper that returned: it passed


def classify(
    fn: Callable[..., Any],
    *args: Any,
    degenerate: bool = False,
    budget: float | None = None,
    **kwargs: Any,
) -> tuple[str, Any]:
    """Call ``fn`` and return ``(outcome, value_or_exception)``: ``usage``, ``failure``,
    ``result``, ``silent-pass`` (a pass on degenerate evidence), ``raw`` (another
    exception) or ``hang`` (over ``budget`` seconds)."""
    twin = not fn.__name__.startswith("assert_")
    try:
        if budget is None:
            value = fn(*args, **kwargs)
        else:
            with time_budget(budget):
                value = fn(*args, **kwargs)
    except Hang as exc:
        return "hang", exc
    except (mltk.MltkUsageError, mltk.MissingExtraError) as exc:
        return "usage", exc
    except AssertionError as exc:
        return ("failure" if _raised_by_kit(exc) else "raw"), exc
    except pytest.skip.Exception as exc:
        return "usage", exc  # assert_no_regression(baseline=None) skips, by design
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        return "raw", exc
    if degenerate and passed(value, twin):
        return "silent-pass", value
    return "result", value


def describe(outcome: str, value: Any, limit: int = 400) -> str:
    """One line about how a call ended, for failure messages and tallies."""
    if isinstance(value, BaseException):
        text = str(value).strip().replace("\n", " ")
        return f"{outcome}: {type(value).__name__}: {text[:limit]}"
    headline = getattr(value, "headline", None)
    if headline is None and isinstance(value, list) and value:
        headline = getattr(value[0], "headline", None)
    return f"{outcome}: {str(headline if headline is not None else repr(value))[:limit]}"


def check(
    label: str, fn: Callable[..., Any], *args: Any, degenerate: bool = False, **kwargs: Any
) -> tuple[str, Any]:
    """Call a helper with hostile input and assert that it ended acceptably."""
    __tracebackhide__ = True
    assert callable(fn), f"{label}: {fn!r} is not a helper"
    outcome, value = classify(fn, *args, degenerate=degenerate, **kwargs)
    if outcome == "raw":
        detail = "".join(traceback.format_exception(value)[-6:])
        pytest.fail(f"{label}: {fn.__name__} raised a raw {type(value).__name__}:\n{detail}")
    if outcome == "silent-pass":
        pytest.fail(f"{label}: {fn.__name__} PASSED on degenerate evidence: {value!r:.400}")
    if outcome == "hang":
        pytest.fail(f"{label}: {fn.__name__} {value}")
    if outcome == "usage":
        assert str(value).strip(), f"{label}: a usage error without a message"
    return outcome, value


def finite(value: Any) -> bool:
    """Whether a number is finite (anything that is not a number is not)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return False
