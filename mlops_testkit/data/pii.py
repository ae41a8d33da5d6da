"""Privacy: no personal data (PII) reaches the features (ML Test Score data-5).

A local scan of tabular columns, whole values and free text alike, for structured
personal data. No network, no model download: regular expressions, and a checksum
where the format has one, so random digits are not reported as card numbers.

The patterns (:data:`DEFAULT_PATTERNS`, each a :class:`PiiPattern`)
    ============  ===================================================================
    email         e-mail addresses
    phone         international numbers (``+``, then 8-15 digits) and North American
                  ``(555) 123-4567`` / ``555-123-4567``; national formats without a
                  country code (``030 1234 5678``) look like any other number: add a
                  pattern of your own for them
    payment_card  13-19 digits (spaces or dashes allowed) with a known issuer prefix
                  (Visa, Mastercard, Amex, Discover, JCB, Diners) and a valid Luhn digit
    iban          country code, check digits and account, with a valid ISO 7064
                  mod-97 checksum and the country's length where it is known
    ipv4, ipv6    IP addresses (IPv6 checked by :mod:`ipaddress`; ``::`` and ``::1``
                  are not counted)
    us_ssn        US social security numbers ``123-45-6789`` (valid area, group, serial)
    uk_nino       UK national insurance numbers ``AB 12 34 56 C`` (valid prefixes)
    ca_sin        Canadian social insurance numbers ``130 692 544`` (Luhn)
    ============  ===================================================================

The national-ID patterns are :data:`NATIONAL_IDS`; add your own with ``patterns=``::

    # fragment: a pattern of one's own, added to the defaults
    EMPLOYEE = PiiPattern("employee_id", r"\\bEMP-[0-9]{6}\\b", "staff numbers")
    assert_no_pii(df, patterns={**DEFAULT_PATTERNS, "employee_id": EMPLOYEE})

A regular expression must be valid for both RE2 (pyarrow's engine, used when pyarrow is
installed: it scans 1M values in about 0.1 s per column) and Python's :mod:`re` (the
fallback, and the engine of validators): plain classes such as ``[0-9]``, no look-around.
Values are first matched against all patterns at once; only the matching ones are
scanned per pattern and validated, at most ``max_validate`` per column and pattern (a
seeded sample beyond that, the count then scaled and marked estimated).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlops_testkit import MltkUsageError
from mlops_testkit._checks import columns_of, finish, table_renderer
from mlops_testkit.data.pii_patterns import (  # noqa: F401 - the public names
    DEFAULT_PATTERNS,
    IBAN_LENGTHS,
    NATIONAL_IDS,
    PATTERNS,
    PiiPattern,
    iban_valid,
    luhn,
)
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import CheckResult
from mlops_testkit.reporting.score import evidences

WHERE = "pii_report"
MAX_EXAMPLES = 3
COLUMNS = ("column", "kind", "matches", "share", "examples", "verdict")


@dataclass
class PiiResult(CheckResult):
    """Per scanned column and kind of PII: matching values, their share, masked examples."""

    kind: ClassVar[str] = "pii"
    name: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)
    n_rows: int = 0

    @property
    def flagged(self) -> list[str]:
        return list(dict.fromkeys(r["column"] for r in self.rows if r["verdict"] == "PII"))

    @property
    def passed(self) -> bool:
        return bool(self.scanned) and self.n_rows > 0 and not self.flagged

    @property
    def headline(self) -> str:
        if not self.scanned:
            return "no text column to scan for PII: nothing was checked (name columns= to scan)"
        if self.n_rows == 0:
            return "the frame has 0 rows: nothing was scanned for PII"
        kinds = sorted({r["kind"] for r in self.rows if r["verdict"] == "PII"})
        found = f": {', '.join(kinds)}" if kinds else ""
        return (
            f"{len(self.flagged)} of {len(self.scanned)} scanned columns hold personal data"
            f"{found} ({self.n_rows} rows)"
        )

    def extra(self) -> dict[str, Any]:
        return {"scanned": self.scanned}


table_renderer("pii", "personal data (PII)", COLUMNS, failing=lambda r: r.get("verdict") == "PII")


def mask(text: str) -> str:
    """A match fit to print: e-mails as ``j***@e***.com``, other values keep their first
    character and last two; the letters and digits between become ``*``."""
    if "@" in text:
        local, _, domain = text.partition("@")
        head, _, tld = domain.rpartition(".")
        return f"{local[:1]}***@{head[:1]}***.{tld}"
    if len(text) <= 4:
        return "*" * len(text)
    middle = re.sub(r"[A-Za-z0-9]", "*", text[1:-2])
    return text[0] + middle + text[-2:]


def _text(series: Any) -> tuple[Any, Any | None]:
    """The column's non-missing values as text, and the codes of a categorical column
    (whose categories are then the values scanned)."""
    pd = require("pandas", WHERE)
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        return pd.Series(categories.astype(str), dtype=object), series.cat.codes.to_numpy()
    values = series.dropna()
    api = pd.api.types
    if values.dtype == object:
        if api.infer_dtype(values, skipna=True) in ("string", "empty"):
            return values, None
    elif api.is_string_dtype(values.dtype):
        return values, None
    return values.astype(str), None


class _Texts:
    """A column's text values, matched with pyarrow's RE2 when installed (vectorised),
    else with Python's :mod:`re`."""

    def __init__(self, values: Any) -> None:
        try:
            import pyarrow as pa
            import pyarrow.compute as pc
        except ImportError:
            self.pc = None
            self.data = values.to_numpy(dtype=object)
        else:
            self.pc = pc
            self.data = pa.array(values, from_pandas=True)
            if not pa.types.is_string(self.data.type) and not pa.types.is_large_string(
                self.data.type
            ):
                self.data = self.data.cast(pa.large_string())

    def __len__(self) -> int:
        return len(self.data)

    def match(self, regex: str) -> Any:
        """A boolean numpy mask of the values ``regex`` finds something in."""
        import numpy as np

        if self.pc is not None:
            out = self.pc.match_substring_regex(self.data, regex)
            return out.to_numpy(zero_copy_only=False).astype(bool)
        search = re.compile(regex).search
        return np.fromiter((search(v) is not None for v in self.data), bool, len(self.data))

    def take(self, mask: Any) -> _Texts:
        out = object.__new__(_Texts)
        out.pc = self.pc
        out.data = self.data.filter(mask) if self.pc is not None else self.data[mask]
        return out

    def values(self, idx: Any) -> list[str]:
        if self.pc is not None:
            return self.data.take(idx).to_pylist()
        return [self.data[i] for i in idx]


def _scan_column(
    col: str,
    series: Any,
    patterns: Mapping[str, PiiPattern],
    combined: str,
    max_validate: int,
    seed: int,
) -> list[dict[str, Any]]:
    import numpy as np

    values, codes = _text(series)
    total = int(series.notna().sum())
    if codes is not None:
        weights = np.bincount(codes[codes >= 0], minlength=len(values)).astype(float)
    else:
        weights = None
    texts = _Texts(values)
    candidates = texts.match(combined)
    rows = []
    if not candidates.any():
        return rows
    cand = texts.take(candidates)
    cand_w = None if weights is None else weights[candidates]
    for kind, pattern in patterns.items():
        idx = np.flatnonzero(cand.match(pattern.regex))
        if not len(idx):
            continue
        estimated = False
        examples: list[str] = []
        scale = 1.0
        if pattern.validate is not None:
            if len(idx) > max_validate:
                scale = len(idx) / max_validate
                idx = np.sort(np.random.default_rng(seed).choice(idx, max_validate, False))
                estimated = True
            keep = []
            for i, text in zip(idx, cand.values(idx), strict=True):
                found = [
                    m.group()
                    for m in pattern.compiled.finditer(text)
                    if _valid(pattern, m.group())
                ]
                if found:
                    keep.append(i)
                    if len(examples) < MAX_EXAMPLES:
                        examples.append(found[0])
            idx = np.asarray(keep, dtype=np.int64)
        else:
            for text in cand.values(idx[:MAX_EXAMPLES]):
                m = pattern.compiled.search(text)
                examples.append(m.group() if m else text)
        count = float(len(idx) if cand_w is None else cand_w[idx].sum()) * scale
        if count <= 0:
            continue
        rows.append(
            {
                "column": col,
                "kind": kind,
                "matches": f"~{round(count)}" if estimated else round(count),
                "share": float(count / total) if total else math.nan,
                "examples": ", ".join(mask(e) for e in examples),
                "verdict": "PII",
            }
        )
    return rows


def _valid(pattern: PiiPattern, text: str) -> bool:
    try:
        return bool(pattern.validate(text))  # type: ignore[misc]
    except Exception:  # a validator of one's own that cannot judge a match rejects it
        return False


def _allowed(allow: Iterable[str], columns: Sequence[str], kinds: Iterable[str]) -> set[tuple]:
    if isinstance(allow, str):
        allow = [allow]
    out: set[tuple] = set()
    known = set(kinds)
    for entry in allow:
        col, sep, kind = str(entry).rpartition(":") if ":" in str(entry) else (entry, "", "")
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
    chosen: dict[str, PiiPattern] = {}
    for kind, pattern in (DEFAULT_PATTERNS if patterns is None else patterns).items():
        if isinstance(pattern, str):
            pattern = PiiPattern(str(kind), pattern)
        if not isinstance(pattern, PiiPattern):
            raise MltkUsageError(
                f"{WHERE}: patterns[{kind!r}] must be a PiiPattern or a regex string, got "
                f"{type(pattern).__name__}"
            )
        try:
            pattern.compiled  # noqa: B018 - compile now: a bad regex is the caller's error
        except re.error as exc:
            raise MltkUsageError(
                f"{WHERE}: patterns[{kind!r}] is not a valid regex: {exc}"
            ) from None
        chosen[str(kind)] = pattern
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
    allowed = _allowed(allow, names, chosen)
    combined = "|".join(f"(?:{p.regex})" for p in chosen.values())
    try:
        _Texts(pd.Series(["x"], dtype=object)).match(combined)
    except Exception as exc:  # RE2 refuses what Python accepts (look-around ...)
        raise MltkUsageError(
            f"{WHERE}: a pattern is not valid RE2 (pyarrow's regex engine): {exc}; use plain "
            "classes and no look-around"
        ) from None

    def scan(col: Any) -> list[dict[str, Any]]:
        return _scan_column(str(col), df[col], chosen, combined, max_validate, seed)

    workers = min(len(names), os.cpu_count() or 1, 8) or 1
    with ThreadPoolExecutor(workers) as pool:
        found = list(pool.map(scan, names))
    rows = []
    for col, col_rows in zip(names, found, strict=True):
        for row in col_rows:
            if (str(col), None) in allowed or (str(col), row["kind"]) in allowed:
                row["verdict"] = "allowed"
        rows.extend(col_rows)
        if not col_rows:
            rows.append(
                {
                    "column": str(col),
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
        name=name or "pii", rows=rows, scanned=[str(c) for c in names], n_rows=len(df)
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
