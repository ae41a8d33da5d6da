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

import itertools
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlops_testkit import MissingExtraError, MltkUsageError
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
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import CheckResult
from mlops_testkit.reporting.score import evidences

WHERE = "pii_report"
MAX_EXAMPLES = 3
# Python's re backtracks: the time of one search can grow with the square of a value's
# length, so without RE2 (pyarrow) longer values are refused rather than scanned slowly.
LONGEST_WITHOUT_RE2 = 4_096
_GROUP = "mltk_pii_match"
# Characters that split a value's matches apart (a value holding all of them gets one
# picked from the private use areas).
_MARKERS = ("\x00", "\x01", "\x02", "\x03", *map(chr, range(0xFDD0, 0xFDF0)))
_SURROGATE = re.compile("[\ud800-\udfff]")
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


def mask(text: str) -> str:
    """A match fit to print: e-mails as ``j***@e***.com``, other values keep their first
    character and last two; the letters and digits between become ``*``."""
    text = label(text)
    if "@" in text:
        local, _, domain = text.partition("@")
        head, _, tld = domain.rpartition(".")
        return f"{local[:1]}***@{head[:1]}***.{tld[:12]}"
    if len(text) <= 4:
        return "*" * len(text)
    if len(text) > 48:  # a long match (a run of IPv6-like hex, a custom pattern) stays short
        return f"{text[0]}***[{len(text)} characters]***{text[-2:]}"
    middle = re.sub(r"[A-Za-z0-9]", "*", text[1:-2])
    return text[0] + middle + text[-2:]


def _text(series: Any) -> tuple[Any, Any | None]:
    """The column's non-missing values as text, and the codes of a categorical column
    (whose categories are then the values scanned)."""
    pd = require("pandas", WHERE)
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = [str(c) for c in series.cat.categories]
        return pd.Series(categories, dtype=object), series.cat.codes.to_numpy()
    values = series.dropna()
    api = pd.api.types
    if values.dtype == object:
        if api.infer_dtype(values, skipna=True) in ("string", "empty"):
            return values, None
    elif api.is_string_dtype(values.dtype):
        return values, None
    return pd.Series([str(v) for v in values], dtype=object), None


def _encodable(text: str) -> str:
    """``text`` with each lone surrogate (which UTF-8, and so RE2, cannot hold) as U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _marker(text: str) -> str:
    """A character that does not occur in ``text``."""
    present = set(text)
    for code in itertools.chain(range(0xE000, 0xF900), range(0xF0000, 0x10FFFE)):
        if chr(code) not in present:
            return chr(code)
    raise AssertionError("unreachable: a str holds at most 0x110000 distinct characters")


def _between(text: str, marker: str) -> Any:
    """The pieces of ``text`` between pairs of ``marker``: the matches, in order."""
    start = text.find(marker)
    while start >= 0:
        end = text.find(marker, start + 1)
        yield text[start + 1 : end]
        start = text.find(marker, end + 1)


class _Texts:
    """A column's text values, matched with pyarrow's RE2 when installed (vectorised,
    linear in the text), else with Python's :mod:`re` (values up to
    :data:`LONGEST_WITHOUT_RE2` characters)."""

    def __init__(self, values: Any, column: Any = None) -> None:
        try:
            import pyarrow as pa
            import pyarrow.compute as pc
        except ImportError:
            self.pc = None
            self.data = values.to_numpy(dtype=object)
            longest = max((len(v) for v in self.data), default=0)
            if longest > LONGEST_WITHOUT_RE2:
                raise MissingExtraError(
                    f"{WHERE}: column {label(column)!r} holds a value of {longest:,} "
                    f"characters; scanning values over {LONGEST_WITHOUT_RE2:,} characters in "
                    "linear time needs RE2, which comes with pyarrow (not installed): "
                    "pip install 'mlops-testkit[data]'"
                ) from None
            return
        self.pa, self.pc = pa, pc
        try:
            data = pa.array(values, from_pandas=True)
        except (UnicodeEncodeError, pa.ArrowException):  # a lone surrogate
            data = pa.array([_encodable(v) for v in values], type=pa.large_string())
        if not pa.types.is_string(data.type) and not pa.types.is_large_string(data.type):
            data = data.cast(pa.large_string())
        self.data = data

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
        out.pa = getattr(self, "pa", None)
        out.data = self.data.filter(mask) if self.pc is not None else self.data[mask]
        return out

    def values(self, idx: Any) -> list[str]:
        if self.pc is not None:
            return self.data.take(idx).to_pylist()
        return [self.data[i] for i in idx]

    def first(self, pattern: PiiPattern, idx: Any) -> list[str | None]:
        """The first match of ``pattern`` in each value ``idx`` (None where none)."""
        if self.pc is not None:
            found = self.pc.extract_regex(
                self.data.take(idx), pattern=f"(?P<{_GROUP}>{pattern.regex})"
            )
            return [None if v is None else v[_GROUP] for v in found.to_pylist()]
        out = []
        for text in self.values(idx):
            m = pattern.compiled.search(text)
            out.append(m.group() if m else None)
        return out

    def matches(self, pattern: PiiPattern, idx: Any) -> Any:
        """``(i, matches)`` for each ``i`` in ``idx``: the non-overlapping matches of
        ``pattern`` in value ``i``, left to right, produced lazily."""
        if self.pc is None:
            for i in idx:
                yield i, (m.group() for m in pattern.compiled.finditer(self.data[i]))
            return
        sub = self.data.take(idx)
        marker = next(
            (m for m in _MARKERS if not self.pc.any(self.pc.match_substring(sub, m)).as_py()),
            None,
        )
        if marker is not None:  # RE2 marks every match at once: marker, match, marker
            marked = self.pc.replace_substring_regex(
                sub, pattern=f"({pattern.regex})", replacement=f"{marker}\\1{marker}"
            )
            for i, text in zip(idx, marked.to_pylist(), strict=True):
                yield i, _between(text, marker)
            return
        for i, text in zip(idx, sub.to_pylist(), strict=True):  # each value its own marker
            mark = _marker(text)
            marked = self.pc.replace_substring_regex(
                self.pa.array([text], type=self.pa.large_string()),
                pattern=f"({pattern.regex})",
                replacement=f"{mark}\\1{mark}",
            )
            yield i, _between(marked[0].as_py(), mark)


def _validated(
    cand: _Texts, kind: str, pattern: PiiPattern, idx: Any, examples: list[str]
) -> list[int]:
    """The values among ``idx`` with at least one match that ``pattern``'s validator
    accepts (the first such match of the first few kept as examples)."""
    keep = []
    known: dict[str, bool] = {}  # a value repeated in the text is validated once
    for i, found in cand.matches(pattern, idx):
        for text in found:
            ok = known.get(text)
            if ok is None:
                ok = _valid(kind, pattern, text)
                if len(known) < 65_536:
                    known[text] = ok
            if ok:
                keep.append(int(i))
                if len(examples) < MAX_EXAMPLES:
                    examples.append(text)
                break
    return keep


def _scan_column(
    col: Any,
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
    texts = _Texts(values, col)
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
            order = idx
            if len(idx) > max_validate:
                order = np.random.default_rng(seed).permutation(idx)
            keep = _validated(cand, kind, pattern, np.sort(order[:max_validate]), examples)
            if len(order) > max_validate:
                if keep:  # the sample found some: scale its count
                    scale = len(idx) / max_validate
                    estimated = True
                else:  # a sample with nothing valid proves nothing: validate the rest
                    rest = np.sort(order[max_validate:])
                    keep = _validated(cand, kind, pattern, rest, examples)
            idx = np.asarray(sorted(keep), dtype=np.int64)
        else:
            for i, match in zip(idx, cand.first(pattern, idx[:MAX_EXAMPLES]), strict=False):
                examples.append(match if match is not None else cand.values([i])[0])
        count = float(len(idx) if cand_w is None else cand_w[idx].sum()) * scale
        if count <= 0:
            continue
        rows.append(
            {
                "column": label(col),
                "kind": kind,
                "matches": f"~{round(count)}" if estimated else round(count),
                "share": float(count / total) if total else math.nan,
                "examples": ", ".join(mask(e) for e in examples),
                "verdict": "PII",
            }
        )
    return rows


def _valid(kind: str, pattern: PiiPattern, text: str) -> bool:
    try:
        return bool(pattern.validate(text))  # type: ignore[misc]
    except Exception as exc:  # a broken validator must not reject every match silently
        raise MltkUsageError(
            f"{WHERE}: the validator of pattern {kind!r} raised {type(exc).__name__}: {exc}; "
            "a validator must return True or False for any text its regex matches (a "
            "failed checksum is False, not an exception)"
        ) from exc


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
        _Texts(pd.Series(["x"], dtype=object)).match(combined)
    except Exception as exc:  # RE2 refuses what Python accepts (look-around ...)
        raise MltkUsageError(
            f"{WHERE}: a pattern is not valid RE2 (pyarrow's regex engine): {exc}; use plain "
            "classes and no look-around"
        ) from None

    def scan(col: Any) -> list[dict[str, Any]]:
        return _scan_column(col, df[col], chosen, combined, max_validate, seed)

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
