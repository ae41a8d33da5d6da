"""How :mod:`mlops_testkit.data.pii` scans text: a column's values matched against the
patterns with RE2 (pyarrow's engine, vectorised and linear in the text) or, without
pyarrow, Python's :mod:`re` on values up to :data:`LONGEST_WITHOUT_RE2` characters; the
matches of a pattern with a validator are marked in one RE2 pass and validated one by
one; examples are masked before they are shown. Imports only the standard library at
the top.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from mlops_testkit import MissingExtraError, MltkUsageError
from mlops_testkit._checks import label
from mlops_testkit.data.pii_patterns import PiiPattern
from mlops_testkit.extras import require

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


def mask(text: str) -> str:
    """A match fit to print: e-mails as ``j***@e***.com``, other values keep their first
    character and last two; the letters and digits between become ``*``."""
    text = label(text).strip()  # a pattern may take the space before a match
    local, at, domain = text.partition("@")
    head, dot, tld = domain.rpartition(".")
    if at and dot and tld.isalnum():  # an e-mail written out; spelled ones are masked below
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


class Texts:
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

    def take(self, mask: Any) -> Texts:
        out = object.__new__(Texts)
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
    cand: Texts, kind: str, pattern: PiiPattern, idx: Any, examples: list[str]
) -> list[int]:
    """The values among ``idx`` with at least one match that ``pattern``'s validator
    accepts (the first such match of the first few kept as examples)."""
    keep = []
    known: dict[str, bool] = {}  # a value repeated in the text is validated once
    validate = pattern.validate
    for i, found in cand.matches(pattern, idx):
        for text in found:
            ok = known.get(text)
            if ok is None:
                try:  # inline: a validator runs on every match (500,000 in 10 MB)
                    ok = bool(validate(text))  # type: ignore[misc]
                except Exception as exc:
                    _invalid(kind, exc)
                if len(known) < 65_536:
                    known[text] = ok
            if ok:
                keep.append(int(i))
                if len(examples) < MAX_EXAMPLES:
                    examples.append(text)
                break
    return keep


def scan_column(
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
    texts = Texts(values, col)
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


def _invalid(kind: str, exc: Exception) -> NoReturn:
    """A validator raised: a broken validator must not reject every match silently."""
    raise MltkUsageError(
        f"{WHERE}: the validator of pattern {kind!r} raised {type(exc).__name__}: {exc}; "
        "a validator must return True or False for any text its regex matches (a "
        "failed checksum is False, not an exception)"
    ) from exc
