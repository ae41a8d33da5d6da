"""Privacy: no personal data (PII) reaches the features (ML Test Score data-5).

A local scan of tabular columns, whole values and free text alike, for structured
personal data. No network, no model download: regular expressions, and a checksum
where the format has one, so random digits are not reported as card numbers.

The patterns (:data:`DEFAULT_PATTERNS`, each a :class:`PiiPattern`)
    ==============  =================================================================
    email           e-mail addresses
    email_spelled   e-mail addresses written to get past filters: ``at`` in brackets
                    (``[at]``, ``(at)``, ``{at}``, ``<at>``) or as a word, ``dot`` likewise
                    (``john dot doe at example dot com``, ``john.doe [at] example [dot]
                    com``, ``john.doe at example.com``); rejected: what prose writes
                    (``looked at the dot com boom``, ``visit us at www.example.com``, a
                    price, version or file name before ``at``)
    phone           international numbers (``+``, then 8-15 digits) and North American
                    ``(555) 123-4567`` / ``555-123-4567``
    phone_national  national numbers without a country code, in the groups their country
                    writes them in, separated by spaces, dots or dashes: UK ``07700 900
                    123``, ``020 7946 0018``, ``0161 496 0000``; France ``06 12 34 56
                    78``; Germany ``030 1234 5678``, ``0151 23456789``; Netherlands,
                    Australia, Italy, Japan; dates, times, amounts and references with
                    other groups are not counted; other national formats (Spain, India,
                    numbers written without separators) need a pattern of your own
    payment_card    13-19 digits (spaces or dashes allowed) with a known issuer prefix
                    (Visa, Mastercard, Amex, Discover, JCB, Diners) and a valid Luhn digit
    iban            country code, check digits and account, with a valid ISO 7064
                    mod-97 checksum and the country's length where it is known
    ipv4, ipv6      IP addresses (IPv6 checked by :mod:`ipaddress`; ``::`` and ``::1``
                    are not counted)
    us_ssn          US social security numbers ``123-45-6789`` (valid area, group, serial)
    uk_nino         UK national insurance numbers ``AB 12 34 56 C`` (valid prefixes)
    ca_sin          Canadian social insurance numbers ``130 692 544`` (Luhn)
    ==============  =================================================================

The national-ID patterns are :data:`NATIONAL_IDS`; add your own with ``patterns=``::

    # fragment: a pattern of one's own, added to the defaults
    EMPLOYEE = PiiPattern("employee_id", r"\\bEMP-[0-9]{6}\\b", "staff numbers")
    assert_no_pii(df, patterns={**DEFAULT_PATTERNS, "employee_id": EMPLOYEE})

A regular expression must be valid for both RE2 (pyarrow's engine, used when pyarrow is
installed: it scans 1M values in about 0.1 s per column) and Python's :mod:`re` (the
fallback): plain classes such as ``[0-9]``, no look-around. Values are first matched
against all patterns at once; only the matching ones are scanned per pattern, and the
matches of a pattern with a validator are validated, at most ``max_validate`` values per
column and pattern (a seeded sample beyond that, the count then scaled and marked
estimated; a sample with no valid match goes on through the rest, so sampling never
hides PII).

Every scan is linear in the text: with pyarrow, RE2 finds the matches and their
examples (Python's backtracking :mod:`re` is quadratic on text such as a long run of
letters before an e-mail address: 47 s for one 200,000-character value). Without
pyarrow, values longer than :data:`LONGEST_WITHOUT_RE2` characters are refused with the
install line. A validator that raises is a usage error naming its pattern, never a
silent rejection of the match (benchmarks/bench_pii.py: a 10 MB value).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlops_testkit import MltkUsageError
from mlops_testkit._args import seed as seed_arg
from mlops_testkit._checks import columns_of, distinct, finish, label, table_renderer
from mlops_testkit.data.pii_patterns import (  # noqa: F401 - the public names
    DEFAULT_PATTERNS,
    IBAN_LENGTHS,
    NATIONAL_IDS,
    PATTERNS,
    PiiPattern,
    iban_valid,
    luhn,
)
from mlops_testkit.data.pii_scan import (  # noqa: F401 - mask and _Texts are public names
    LONGEST_WITHOUT_RE2,
    MAX_EXAMPLES,
    Texts,
    mask,
    scan_column,
)
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import CheckResult
from mlops_testkit.reporting.score import evidences

WHERE = "pii_report"
_Texts = Texts  # the name the hostile tests know
COLUMNS = ("column", "kind", "matches", "share", "examples", "verdict")


@dataclass
class PiiResult(CheckResult):
    """Per scanned column and kind of PII: matching values, their share, masked examples."""

    kind: ClassVar[str] = "pii"
    name: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)
    n_rows: int = 0
    n_values: int | None = None  # non-missing values scanned (None: not counted)

    @property
    def flagged(self) -> list[str]:
        return list(dict.fromkeys(r["column"] for r in self.rows if r["verdict"] == "PII"))

    @property
    def passed(self) -> bool:
        return bool(self.scanned) and self.n_rows > 0 and self.n_values != 0 and not self.flagged

    @property
    def headline(self) -> str:
        if not self.scanned:
            return "no text column to scan for PII: nothing was checked (name columns= to scan)"
        if self.n_rows == 0:
            return "the frame has 0 rows: nothing was scanned for PII"
        if self.n_values == 0:
            return (
                f"every value of the {len(self.scanned)} scanned column(s) is missing: "
                "nothing was scanned for PII"
            )
        kinds = sorted({r["kind"] for r in self.rows if r["verdict"] == "PII"})
        found = f": {', '.join(kinds)}" if kinds else ""
        return (
            f"{len(self.flagged)} of {len(self.scanned)} scanned columns hold personal data"
            f"{found} ({self.n_rows} rows)"
        )

    def extra(self) -> dict[str, Any]:
        return {"scanned": self.scanned, "n_values": self.n_values}


table_renderer("pii", "personal data (PII)", COLUMNS, failing=lambda r: r.get("verdict") == "PII")


def _allowed(allow: Iterable[str], columns: Sequence[str], kinds: Iterable[str]) -> set[tuple]:
    if allow is None:
        allow = ()
    if isinstance(allow, str):
        allow = [allow]
    try:
        entries = list(allow)
    except TypeError:
        raise MltkUsageError(
            f"{WHERE}: allow must be a list of 'column' or 'column:kind' entries, got "
            f"{allow!r}"
        ) from None
    out: set[tuple] = set()
    known = set(kinds)
    for entry in entries:
        text = label(entry)
        if text in columns or ":" not in text:
            col, sep, kind = text, "", ""
        else:
            col, sep, kind = text.rpartition(":")
        if col not in columns:
            raise MltkUsageError(
                f"{WHERE}: allow names {entry!r}, but {col!r} is not a scanned column; "
                "expected 'column' or 'column:kind'"
            )
        if sep and kind not in known:
            raise MltkUsageError(
                f"{WHERE}: allow names {entry!r}: unknown kind {kind!r}; kinds: "
                f"{', '.join(sorted(known))}"
            )
        out.add((col, kind or None))
    return out


def pii_report(
    df: Any,
    *,
    columns: Sequence[str] | None = None,
    allow: Iterable[str] = (),
    patterns: Mapping[str, PiiPattern | str] | None = None,
    max_validate: int = 100_000,
    seed: int = 0,
    name: str | None = None,
) -> PiiResult:
    """Scan ``df`` for personal data: each pattern's matching values per column.

    ``columns`` defaults to the text columns (string, object and categorical dtypes);
    named columns of other dtypes are scanned as text. ``allow`` lists what may stay:
    ``"column"`` (any PII in it) or ``"column:kind"`` (e.g. ``"support_note:email"``).
    ``patterns`` replaces :data:`DEFAULT_PATTERNS` (a mapping kind -> :class:`PiiPattern`
    or regex). Returns a :class:`PiiResult`; :func:`assert_no_pii` asserts it.

    Example::

        report = pii_report(features_df)
        print(report.headline)
    """
    pd = require("pandas", WHERE)
    if type(df).__module__.split(".")[0] == "polars" and hasattr(df, "to_pandas"):
        df = df.to_pandas()
    if not isinstance(df, pd.DataFrame):
        raise MltkUsageError(f"{WHERE}: df must be a pandas DataFrame, got {type(df).__name__}")
    from mlops_testkit.data.backends.pandas import check_unique_columns

    check_unique_columns(df, "df", WHERE)
    if isinstance(max_validate, bool) or not isinstance(max_validate, int) or max_validate < 1:
        raise MltkUsageError(f"{WHERE}: max_validate must be a positive integer")
    seed = seed_arg(seed, WHERE)
    if patterns is not None and not isinstance(patterns, Mapping):
        raise MltkUsageError(
            f"{WHERE}: patterns must be a mapping kind -> PiiPattern (or regex string), got "
            f"{type(patterns).__name__}"
        )
    chosen: dict[str, PiiPattern] = {}
    for kind, pattern in (DEFAULT_PATTERNS if patterns is None else patterns).items():
        if isinstance(pattern, str):
            pattern = PiiPattern(str(kind), pattern)
        if not isinstance(pattern, PiiPattern):
            raise MltkUsageError(
                f"{WHERE}: patterns[{kind!r}] must be a PiiPattern or a regex string, got "
                f"{type(pattern).__name__}"
            )
        if not isinstance(pattern.regex, str):
            raise MltkUsageError(
                f"{WHERE}: patterns[{kind!r}].regex must be a string, got "
                f"{type(pattern.regex).__name__}"
            )
        if pattern.validate is not None and not callable(pattern.validate):
            raise MltkUsageError(
                f"{WHERE}: patterns[{kind!r}].validate must be a function text -> bool (or "
                f"None), got {type(pattern.validate).__name__}"
            )
        try:
            pattern.compiled  # noqa: B018 - compile now: a bad regex is the caller's error
        except re.error as exc:
            raise MltkUsageError(
                f"{WHERE}: patterns[{kind!r}] is not a valid regex: {exc}"
            ) from None
        chosen[label(kind)] = pattern
    if not chosen:
        raise MltkUsageError(f"{WHERE}: patterns is empty: nothing to look for")
    names = columns_of(columns, "columns", WHERE)
    if names is None:
        api = pd.api.types
        names = [
            c
            for c in df.columns
            if isinstance(df[c].dtype, pd.CategoricalDtype)
            or api.is_string_dtype(df[c].dtype)
            or df[c].dtype == object
        ]
    else:
        missing = [c for c in names if c not in df.columns]
        if missing:
            raise MltkUsageError(f"{WHERE}: column(s) {missing} are not columns of df")
    names = distinct(names, "the scanned columns", WHERE)
    labels = [label(c) for c in names]
    allowed = _allowed(allow, labels, chosen)
    combined = "|".join(f"(?:{p.regex})" for p in chosen.values())
    try:
        Texts(pd.Series(["x"], dtype=object)).match(combined)
    except Exception as exc:  # RE2 refuses what Python accepts (look-around ...)
        raise MltkUsageError(
            f"{WHERE}: a pattern is not valid RE2 (pyarrow's regex engine): {exc}; use plain "
            "classes and no look-around"
        ) from None

    def scan(col: Any) -> list[dict[str, Any]]:
        return scan_column(col, df[col], chosen, combined, max_validate, seed)

    workers = min(len(names), os.cpu_count() or 1, 8) or 1
    with ThreadPoolExecutor(workers) as pool:
        found = list(pool.map(scan, names))
    rows = []
    for col, col_rows in zip(labels, found, strict=True):
        for row in col_rows:
            if (col, None) in allowed or (col, row["kind"]) in allowed:
                row["verdict"] = "allowed"
        rows.extend(col_rows)
        if not col_rows:
            rows.append(
                {
                    "column": col,
                    "kind": "-",
                    "matches": 0,
                    "share": 0.0,
                    "examples": "-",
                    "verdict": "clean",
                }
            )
    order = {"PII": 0, "allowed": 1, "clean": 2}
    rows.sort(key=lambda r: (order[r["verdict"]], -r["share"]))
    return PiiResult(
        name=name or "pii",
        rows=rows,
        scanned=labels,
        n_rows=len(df),
        n_values=int(sum(int(df[c].notna().sum()) for c in names)),
    )


@evidences("data-5")
def assert_no_pii(
    df: Any,
    *,
    columns: Sequence[str] | None = None,
    allow: Iterable[str] = (),
    patterns: Mapping[str, PiiPattern | str] | None = None,
    max_validate: int = 100_000,
    seed: int = 0,
    name: str | None = None,
) -> PiiResult:
    """Assert that no column of ``df`` holds personal data (e-mails, phone numbers, payment
    cards, IBANs, IP addresses, national IDs), unless ``allow`` lists it.

    Run it on what reaches the model: the feature frame, the training table, a sample of
    serving requests. Fails naming each column, the kinds found, their share and masked
    examples. Evidences ML Test Score item data-5.

    Example::

        def test_no_pii_reaches_the_features(feature_frame):
            assert_no_pii(feature_frame, allow=["store_ip:ipv4"])
    """
    __tracebackhide__ = True
    result = pii_report(
        df,
        columns=columns,
        allow=allow,
        patterns=patterns,
        max_validate=max_validate,
        seed=seed,
        name=name,
    )
    return finish(
        result,
        COLUMNS,
        "Drop or pseudonymise the column before it reaches the features (hash or tokenise "
        "identifiers, keep only coarse derived values); list deliberate exceptions in allow=.",
    )
