"""Calibration per segment: the ECE of each segment (a label per example, or the value
combinations of several columns) with a bootstrap bound, Holm-corrected across the
segments and the overall ECE, so a model calibrated overall but off in one region fails.

Used by :func:`~mlops_testkit.gates.calibration.calibration_report` when it is given
``segments=``. Imports only the standard library at the top.
"""

from __future__ import annotations

import math
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import table
from mlops_testkit.gates import _support as s

DEFAULT_MIN_SIZE = 400
"""Segments with fewer examples are reported, not judged. The ECE of a small sample is
biased upward, most where the true error is near zero, and the bootstrap's correction
falls short under a few hundred examples: with 8 segments at the bar, the gate failed
4-6% of 200 seeds at 400-800 examples per segment (level 5%), 9% at 300, 13% at 200 and
20% at 100; 8 calibrated segments of 100 failed 18%. A smaller ``min_size`` (down to
30) judges smaller segments at that cost: a false alarm fails, it never passes."""

MIN_TAIL = 10
"""The fewest bootstrap resamples beyond the strictest Holm bound: with m tests at level
alpha each draws at least ``MIN_TAIL * m / alpha`` resamples, so the bound at alpha/m is
a quantile of 10 resamples, not of one."""

MAX_DRAWN = 5  # failing segments drawn in the reliability diagram


def percent(level: float) -> str:
    """A confidence level as a percentage: ``95%``, or ``99.44%`` for a Holm level."""
    whole = f"{level:.0%}"
    return whole if abs(level * 100 - round(level * 100)) < 1e-9 else f"{level:.2%}"


def segment_codes(segments: Any, n: int, where: str) -> tuple[Any, list[str], list[str]]:
    """The segment of each example (codes 0..k-1), the segments' labels and the columns
    they come from. Several columns: each combination of their values that occurs is a
    segment (``region=north, age=young``). Missing labels are a usage error."""
    import numpy as np

    pd = s._pandas()
    if segments is None or isinstance(segments, str | bytes):
        raise MltkUsageError(
            f"{where}: segments must be a label per example (a list, array or Series) or "
            f"a DataFrame of columns, got {type(segments).__name__}"
        )
    try:
        cols = s.columns(segments, "segments", where, n)
    except MltkUsageError:
        raise
    except TypeError:  # a mapping of scalars: len() of a column fails
        raise MltkUsageError(
            f"{where}: segments must hold one label per example in each column"
        ) from None
    coded = []
    for key, col in cols.items():
        try:
            series = (
                col if isinstance(col, pd.Series) else pd.Series(np.asarray(col, dtype=object))
            )
            if series.ndim != 1 or len(series) != n:
                raise ValueError
            missing = int(series.isna().sum())
        except (TypeError, ValueError):
            raise MltkUsageError(
                f"{where}: segments column {key!r} must hold one label per example "
                f"({n} labels)"
            ) from None
        if missing:
            raise MltkUsageError(
                f"{where}: segments column {key!r} has {missing} missing label(s) (NaN or "
                "None): every example needs a segment; fill them (e.g. 'unknown') or drop "
                "those examples"
            )
        try:
            coded.append(s.codes(series))
        except (TypeError, ValueError):
            raise MltkUsageError(
                f"{where}: segments column {key!r} must hold hashable labels (text, "
                "numbers), found unhashable values"
            ) from None
    names = list(cols)
    bare = names == ["segments"]  # a plain sequence: its labels alone
    combined = np.zeros(n, dtype=np.int64)
    for c, labels in coded:
        combined = combined * len(labels) + c
    used, inverse = np.unique(combined, return_inverse=True)
    out = []
    for code in used.tolist():
        parts = []
        for (_, col_labels), col in zip(reversed(coded), reversed(names), strict=True):
            code, j = divmod(code, len(col_labels))
            parts.append(col_labels[j] if bare else f"{col}={col_labels[j]}")
        out.append(", ".join(reversed(parts)))
    return inverse.astype(np.int64).reshape(-1), out, names


def min_size_of(value: Any, where: str) -> int:
    """``min_size``: an integer of at least :data:`~mlops_testkit.gates._support.
    MIN_EXAMPLES` (a bound on fewer examples proves nothing)."""
    if value is None:
        return DEFAULT_MIN_SIZE
    return s.count(
        value,
        "min_size",
        where,
        s.MIN_EXAMPLES,
        why="a bootstrap bound on fewer examples proves nothing",
    )


def draws(n_boot: int, tests: int, confidence: float) -> int:
    """The resamples each test draws: ``n_boot``, raised so the strictest Holm bound
    (at level alpha / tests) rests on :data:`MIN_TAIL` resamples."""
    return max(n_boot, math.ceil(MIN_TAIL * tests / (1 - confidence) - 1e-9))


def p_value(ece: float, boot: Any, bar: float) -> float:
    """The bootstrap p-value of "ECE <= bar" matching the basic bound: the share of
    resamples at or above 2 * ece - bar (the bound is above the bar exactly when that
    share is under the level)."""
    import numpy as np

    return float((1 + np.sum(boot >= 2 * ece - bar)) / (len(boot) + 1))


def holm(tests: list[dict[str, Any]], bar: float, confidence: float) -> None:
    """Judge the tests (each with ``ece`` and ``boot``) step-down, Holm over all of them:
    in order of p-value, the i-th (from 0) of m is bounded at level alpha / (m - i) and
    fails when its lower bound is above ``bar``; the first that does not fail stops the
    rejections. Sets ``ece_ci``, ``level``, ``p`` and ``failed`` on each."""
    alpha = 1 - confidence
    m = len(tests)
    for t in tests:
        t["p"] = p_value(t["ece"], t["boot"], bar)
    stopped = False
    for rank, i in enumerate(sorted(range(m), key=lambda j: tests[j]["p"])):
        t = tests[i]
        level = confidence if m - rank == 1 else 1 - alpha / (m - rank)
        lo, hi = s.bounds(t["ece"], t["boot"], level)
        t["ece_ci"] = [max(lo, 0.0), max(hi, t["ece"])]
        t["level"] = level
        t["failed"] = not stopped and t["ece_ci"][0] > bar
        stopped = stopped or not t["failed"]


def judge(
    conf_: Any,
    outcome: Any,
    codes: Any,
    labels: list[str],
    overall: dict[str, Any],
    *,
    ece_fn: Any,
    bar: float,
    confidence: float,
    n_boot: int,
    seed: int,
    min_size: int,
) -> dict[str, Any]:
    """The segments' rows and the overall test, judged together (Holm).

    ``overall`` holds the overall ``ece`` and ``boot``; ``ece_fn(conf, outcome, rng)``
    gives a segment's (ece, resamples or None without rng, bin rows)."""
    import numpy as np

    sizes = np.bincount(codes, minlength=len(labels))
    rows: list[dict[str, Any]] = []
    tests = [overall]
    for i, label in enumerate(labels):
        mask = codes == i
        size = int(sizes[i])
        row: dict[str, Any] = {"segment": label, "n": size}
        if size >= min_size:
            rng = np.random.default_rng([seed, i + 1])
            ece, boot, bins = ece_fn(conf_[mask], outcome[mask], rng)
            row.update(ece=ece, boot=boot, bins=bins, verdict="pass")
            tests.append(row)
        else:
            ece, _, _ = ece_fn(conf_[mask], outcome[mask], None)
            row.update(ece=ece, ece_ci=None, verdict=f"not judged (n < {min_size})")
        rows.append(row)
    problem = next(
        (p for p in (s.undefined(t["boot"], "the ECE") for t in tests) if p is not None), None
    )
    holm(tests, bar, confidence)
    for row in rows:
        boot = row.pop("boot", None)
        if boot is None:
            continue
        if row["failed"]:
            row["verdict"] = "FAIL"
        else:
            del row["bins"]  # only the failing segments are drawn
    judged = len(tests) - 1
    if not judged and problem is None:
        problem = (
            f"no evidence: all {len(labels)} segment(s) have fewer than min_size={min_size} "
            "examples, none could be judged; lower min_size (>= 30) or collect more data"
        )
    order = {"FAIL": 0, "pass": 1}
    rows.sort(key=lambda r: (order.get(r["verdict"], 2), -r["ece"]))
    return {
        "segments": rows,
        "judged": judged,
        "failing": sum(r["verdict"] == "FAIL" for r in rows),
        "not_judged": len(rows) - judged,
        "tests": len(tests),
        "problem": problem,
    }


def body(d: dict[str, Any]) -> str:
    """The failure message's segment part: a headline and the table of segments."""
    shown = [
        {
            "segment": r["segment"],
            "n": r["n"],
            "ECE": r["ece"],
            "interval": s.interval(*r["ece_ci"]) if r.get("ece_ci") else "-",
            "bound": percent(r["level"]) if r.get("level") else "-",
            "verdict": r["verdict"],
        }
        for r in d["segments"]
    ]
    skipped = (
        f"; {d['not_judged']} under min_size={d['min_size']} not judged" if d["not_judged"] else ""
    )
    return (
        f"{d['failing']} of {d['judged']} judged segment(s) miscalibrated (ECE above "
        f"{d['max_ece']:g}, {d['confidence']:.0%} one-sided, Holm over {d['tests']} tests "
        f"with the overall ECE: each interval at its Holm level){skipped}:\n\n"
        + table(shown, ["segment", "n", "ECE", "interval", "bound", "verdict"], max_rows=10)
    )


def curves(d: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The failing segments' bins to draw beside the overall curve (at most
    :data:`MAX_DRAWN`)."""
    out = []
    for r in d.get("segments") or []:
        if r.get("verdict") == "FAIL" and r.get("bins"):
            bins = [b for b in r["bins"] if b.get("n")]
            out.append((f"{r['segment']} (ECE {s.fmt(r['ece'], 3)})", bins))
    return out[:MAX_DRAWN]
