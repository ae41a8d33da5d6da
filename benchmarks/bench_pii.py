"""Speed of the PII scan on one huge cell: every scan must be linear in the text.

One value of 1 MB and of 10 MB (``--mb``), three kinds of text:

* ``backtracking``: a run of letters, then one e-mail address. Python's ``re`` tries the
  e-mail pattern at every letter and runs to the end of the run each time: quadratic
  (the kit once took 47 s on 200,000 characters, minutes on 1,000,000).
* ``prose``: words, numbers, dates, with a few e-mail addresses, phone numbers and card
  numbers in it (every pattern and validator has work to do).
* ``lookalikes``: distinct card-like numbers that all fail the Luhn check, back to back:
  the most matches a validator must see (one per 20 characters), in Python.

For each it prints the median time of ``pii_report`` (target: under 1 s for 10 MB), the
ratio of the 10 MB time to the 1 MB time (linear: about 10; quadratic: about 100) and the
ratio to one plain ``re`` pass over the same text (``re.findall("@", text)``). Last, for
scale, Python's ``re`` searching the kit's e-mail pattern on the backtracking text at
20,000 and 40,000 characters (quadratic: the time grows about 4x).

    python benchmarks/bench_pii.py [--mb 1 10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

import numpy as np
import pandas as pd

from mlops_testkit import pii_report
from mlops_testkit.data.pii import DEFAULT_PATTERNS

MB = 1_000_000


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(mb * MB) for mb in args.mb]
    print(f"pii_report on one cell; medians of {args.repeats} runs")
    print(f"{'text':<14}{'size':>10}{'pii_report':>13}{'plain re':>11}{'ratio':>8}  found")
    for name, make in (
        ("backtracking", backtracking),
        ("prose", prose),
        ("lookalikes", lookalikes),
    ):
        first = None
        for size in sizes:
            text = make(size)
            frame = pd.DataFrame({"note": pd.Series([text], dtype=object)})
            report = pii_report(frame)
            kit = timed(lambda frame=frame: pii_report(frame), args.repeats)
            plain = timed(lambda text=text: re.findall("@", text), args.repeats)
            found = ",".join(sorted({r["kind"] for r in report.rows if r["verdict"] == "PII"}))
            print(
                f"{name:<14}{size / MB:>8g}MB{kit:>12.3f}s{plain:>10.3f}s"
                f"{kit / plain:>7.1f}x  {found or '-'}"
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


if __name__ == "__main__":
    main()
