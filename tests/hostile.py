"""What the hostile-input tests share: calling a helper and judging how it ended.

Every public helper, given input a hostile user might pass, may only end in one of three
ways: a result (or a plain return), a test failure (an ``AssertionError`` raised by the
kit itself) or the kit's ``MltkUsageError`` (``MissingExtraError`` for a missing extra).
Another exception is a defect, and so is a pass on degenerate evidence (empty, all-NaN,
nothing applicable).

``HOSTILE_LOG=PATH`` switches the tests to counting: each call appends its outcome
(``usage``, ``failure``, ``result``, ``silent-pass``, ``raw``) to PATH instead of
asserting, so the same inputs can be tallied against an older checkout of the kit
(``PYTHONPATH=/path/to/old``).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any

import pytest

import mlops_testkit as mltk

ALLOWED = ("usage", "failure", "result")


def helper(name: str) -> Callable[..., Any] | None:
    """The public helper ``name``, or None where this version of the kit lacks it."""
    if name not in getattr(mltk, "__all__", ()):
        return None
    try:
        return getattr(mltk, name)
    except (AttributeError, ImportError):
        return None


def _raised_by_kit(exc: BaseException) -> bool:
    """An AssertionError is a test failure only when the kit raised it (torch raises
    AssertionError for "not compiled with CUDA", which must not read as a failure)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "mlops_testkit" in frames[-1].filename


def _passed(value: Any, twin: bool) -> bool:
    if isinstance(value, list) and value and hasattr(value[0], "passed"):
        return all(bool(v.passed) for v in value)
    if hasattr(value, "passed"):
        return bool(value.passed)
    return not twin  # an assert_* helper that returned: it passed


def classify(fn: Callable[..., Any], *args: Any, degenerate: bool = False, **kwargs: Any):
    """Call ``fn`` and return ``(outcome, value_or_exception)``."""
    twin = not fn.__name__.startswith("assert_")
    try:
        value = fn(*args, **kwargs)
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
    if degenerate and _passed(value, twin):
        return "silent-pass", value
    return "result", value


def _log(label: str, outcome: str, detail: Any) -> None:
    path = os.environ.get("HOSTILE_LOG")
    if not path:
        return
    text = "" if detail is None else f"{type(detail).__name__}: {str(detail)[:160]!r}"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{label}\t{outcome}\t{text}\n")


def check(
    label: str, fn: Callable[..., Any] | None, *args: Any, degenerate: bool = False, **kwargs: Any
) -> tuple[str, Any]:
    """Call a helper with hostile input and assert that it ended acceptably."""
    __tracebackhide__ = True
    if fn is None:
        return "absent", None
    outcome, value = classify(fn, *args, degenerate=degenerate, **kwargs)
    if os.environ.get("HOSTILE_LOG"):
        _log(label, outcome, value if outcome not in ("result",) else None)
        return outcome, value
    if outcome == "raw":
        detail = "".join(traceback.format_exception(value)[-6:])
        pytest.fail(f"{label}: {fn.__name__} raised a raw {type(value).__name__}:\n{detail}")
    if outcome == "silent-pass":
        pytest.fail(f"{label}: {fn.__name__} PASSED on degenerate evidence: {value!r:.400}")
    if outcome == "usage":
        assert str(value).strip(), f"{label}: a usage error without a message"
    return outcome, value


def counting() -> bool:
    return bool(os.environ.get("HOSTILE_LOG"))


def record(label: str, outcome: str, detail: Any = None) -> None:
    """Log an outcome judged by the test itself (CLI exit codes, hangs)."""
    _log(label, outcome, detail)
