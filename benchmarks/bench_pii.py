"""Speed of the PII scan on one huge cell: every scan must be linear in the text.

One value of 1 MB and of 10 MB (``--mb``), three kinds of text:

* ``backtracking``: a run of letters, then one e-mail address. Python's ``re`` tries the
  e-mail pattern at every letter and runs to the end of the run each time: quadratic
  (the kit once took 47 s on 200,000 characters, minutes on 1,000,000).
* ``prose``: words, numbers, dates, with a few e-mail addresses, phone numbers and card
  numbers in it (every pattern and validator has work to do).
* ``lookalikes``: distinct card-like numbers that all fail the Luhn check, back to back:
  the most matches a validator must see (one per 20 characters), in Python.
* ``spelled``: prose full of what the patterns of PII written to get past filters must
  reject ("looked at the dot com", "at 09 30", "0412-553") with a few real ones
  (``jane dot doe at example dot com``, ``07700 900 123``).

For each it prints the median time of ``pii_report`` (target: under 1 s for 10 MB), the
ratio of the 10 MB time to the 1 MB time (linear: about 10; quadratic: about 100), the
ratio to one plain ``re`` pass over the same text (``re.findall("@", text)``) and the
time without the two patterns of PII written to get past filters, with the cost of
adding them (measured in the same run, so comparable on a busy machine). Last, for
scale, Python's ``re`` searching the kit's e-mail pattern on the backtracking text at
20,000 and 40,000 characters (quadratic: the time grows about 4x).

Then the false-positive rate of the patterns for PII written to get past filters
(``email_spelled``, ``phone_national``): the share of rows flagged in English prose with
no personal data (tests/pii_corpus.py: the Gettysburg Address and prose generated from a
template grammar of times, amounts, dates, references and "at"/"dot" in ordinary use),
the same with loose patterns (the e-mail regex without its validator, any digit groups
after a trunk 0: what the checks remove), the share
found when one obfuscated value is planted in each row, and the rate on the docstrings of
the standard library and the installed numpy and pandas (real English prose, read with
:mod:`ast`, never imported; ``--no-docstrings`` skips them).

    python benchmarks/bench_pii.py [--mb 1 10] [--repeats 5] [--rows 5000] [--no-docstrings]
"""

from __future__ import annotations

import argparse
import ast
import re
import statistics
import sys
import sysconfig
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mlops_testkit import pii_report
from mlops_testkit.data.pii import DEFAULT_PATTERNS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import pii_corpus

MB = 1_000_000
NEW = ("email_spelled", "phone_national")


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed_pair(first, second, repeats: int) -> tuple[float, float]:
    """The median times of two functions run in turn (so a busy machine slows both)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in zip((first, second), times, strict=True):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def backtracking(size: int) -> str:
    tail = " jane@example.com"
    return "a" * (size - len(tail)) + tail


def prose(size: int) -> str:
    rng = np.random.default_rng(0)
    words = ["the", "order", "shipped", "on", "2024-05-01", "ref", "12345", "late", "paid"]
    pii = ["ann@example.org", "+44 20 7946 0958", "4111 1111 1111 1111", "192.168.1.20"]
    parts = []
    length = 0
    while length < size:
        word = pii[rng.integers(len(pii))] if rng.random() < 0.001 else words[rng.integers(9)]
        parts.append(word)
        length += len(word) + 1
    return " ".join(parts)[:size]


def lookalikes(size: int) -> str:
    """Distinct 16-digit Visa-like numbers, each with a wrong Luhn digit (so every one is
    validated, and none stops the scan early)."""
    from mlops_testkit.data.pii_patterns import luhn

    rng = np.random.default_rng(0)
    count = size // 20 + 1
    bodies = rng.integers(10**13, 10**14, count)
    numbers = []
    for body in bodies:
        head = f"4{body:014d}"
        check = next(d for d in "0123456789" if not luhn(head + d))
        n = head + check
        numbers.append(f"{n[:4]} {n[4:8]} {n[8:12]} {n[12:]} ")
    return "".join(numbers)[:size]


def spelled(size: int) -> str:
    """Prose with the lookalikes of spelled-out e-mails and national phones (each one a
    match a validator must reject), and a real one in a thousand words."""
    rng = np.random.default_rng(0)
    words = ["looked at the dot com", "at 09 30", "0412-553", "01 02 2024", "shop at x dot com"]
    words += ["the", "order", "arrived", "at", "noon", "dot", "ref", "0123 4567 8901"]
    pii = ["jane dot doe at example dot com", "john.doe [at] example [dot] org", "07700 900 123"]
    parts = []
    length = 0
    while length < size:
        pick = rng.random() < 0.001
        word = pii[rng.integers(len(pii))] if pick else words[rng.integers(len(words))]
        parts.append(word)
        length += len(word) + 1
    return " ".join(parts)[:size]


def docstrings(root: Path) -> list[str]:
    """The paragraphs of the docstrings of the Python files under ``root`` (tests and
    installed packages left out), read with ast: nothing is imported."""
    out = []
    skip = ("test", "tests", "idle_test", "site-packages", "dist-packages")
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if "test" in path.name or any(p in skip for p in parts):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(
                node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
            ):
                doc = ast.get_docstring(node)
                if doc:
                    out += [p.strip() for p in re.split(r"\n\s*\n", doc) if len(p.strip()) > 20]
    return out


def rates(rows: list[str], patterns=None) -> dict[str, float]:
    report = pii_report(pd.DataFrame({"t": rows}), patterns=patterns)
    return {r["kind"]: r["share"] for r in report.rows if r["verdict"] == "PII"}


def false_positives(n_rows: int, with_docstrings: bool) -> None:
    bare = pii_corpus.loose_patterns()
    print(f"\nPII written to get past filters: share of rows flagged ({n_rows:,} rows a seed)")
    print(f"{'corpus':<42}{'email_spelled':>15}{'phone_national':>16}  other kinds")
    for seed in (0, 1, 2):
        corpus = pii_corpus.corpus(n_rows, seed)
        lines = [
            (f"prose, seed {seed}", rates(corpus)),
            (f"prose, seed {seed}, loose patterns", rates(corpus, bare)),
            (f"prose, seed {seed}, French-like lines out", rates(_not_french(corpus))),
        ]
        for make in (pii_corpus.spelled_email, pii_corpus.national_phone):
            planted = pii_corpus.planted(n_rows, seed, make)
            lines.append((f"prose + one {make.__name__} a row, seed {seed}", rates(planted)))
        for name, found in lines:
            _line(name, found)
    if with_docstrings:
        import numpy
        import pandas

        roots = {
            "stdlib docstrings": Path(sysconfig.get_paths()["stdlib"]),
            "numpy + pandas docstrings": None,
        }
        for name, root in roots.items():
            if root is None:
                paras = docstrings(Path(numpy.__file__).parent)
                paras += docstrings(Path(pandas.__file__).parent)
            else:
                paras = docstrings(root)
            label = f"{name} ({len(paras):,} paragraphs)"
            _line(label, rates(paras))
            _line(f"{name}, loose patterns", rates(paras, bare))


def _not_french(rows: list[str]) -> list[str]:
    french = re.compile(r"\b0[1-9](?: [0-9]{2}){4}\b")
    return [r for r in rows if not french.search(r)]


def _line(name: str, found: dict[str, float]) -> None:
    others = ", ".join(f"{k} {v:.2%}" for k, v in sorted(found.items()) if k not in NEW)
    print(
        f"{name:<42}{found.get('email_spelled', 0.0):>15.2%}"
        f"{found.get('phone_national', 0.0):>16.2%}  {others or '-'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, default=5_000, help="Prose rows a seed (5000)")
    parser.add_argument("--no-docstrings", action="store_true", help="Skip the docstrings")
    parser.add_argument("--only-fp", action="store_true", help="Only the false positives")
    args = parser.parse_args()
    if args.only_fp:
        false_positives(args.rows, not args.no_docstrings)
        return
    sizes = [int(mb * MB) for mb in args.mb]
    print(f"pii_report on one cell; medians of {args.repeats} runs")
    before = {k: p for k, p in DEFAULT_PATTERNS.items() if k not in NEW}
    print(
        f"{'text':<14}{'size':>10}{'pii_report':>13}{'plain re':>11}{'ratio':>8}"
        f"{'w/o new 2':>11}{'cost':>7}  found"
    )
    for name, make in (
        ("backtracking", backtracking),
        ("prose", prose),
        ("lookalikes", lookalikes),
        ("spelled", spelled),
    ):
        first = None
        for size in sizes:
            text = make(size)
            frame = pd.DataFrame({"note": pd.Series([text], dtype=object)})
            report = pii_report(frame)
            kit, old = timed_pair(
                lambda frame=frame: pii_report(frame),
                lambda frame=frame: pii_report(frame, patterns=before),
                args.repeats,
            )
            plain = timed(lambda text=text: re.findall("@", text), args.repeats)
            found = ",".join(sorted({r["kind"] for r in report.rows if r["verdict"] == "PII"}))
            print(
                f"{name:<14}{size / MB:>8g}MB{kit:>12.3f}s{plain:>10.3f}s"
                f"{kit / plain:>7.1f}x{old:>10.3f}s{kit / old:>6.2f}x  {found or '-'}"
            )
            if first is None:
                first = (size, kit)
            else:
                growth = kit / first[1]
                print(
                    f"{'':<14}{size / first[0]:.0f}x the text took {growth:.1f}x the time "
                    f"(linear: {size / first[0]:.0f}x)"
                )
    email = re.compile(DEFAULT_PATTERNS["email"].regex)
    small = [timed(lambda n=n: email.search(backtracking(n)), 1) for n in (20_000, 40_000)]
    print(
        f"for scale, Python re with the e-mail pattern on the backtracking text: "
        f"20,000 characters {small[0]:.2f}s, 40,000 characters {small[1]:.2f}s "
        f"({small[1] / small[0]:.1f}x for 2x the text: quadratic)"
    )
    false_positives(args.rows, not args.no_docstrings)


if __name__ == "__main__":
    main()
