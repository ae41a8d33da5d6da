"""The patterns of :mod:`mlops_testkit.data.pii`: regular expressions of structured
personal data and the validators that confirm a match (Luhn, ISO 7064 mod-97, valid ID
prefixes). ``DEFAULT_PATTERNS`` is what ``assert_no_pii`` scans for; extend it with
``patterns=``. Imports only the standard library."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class PiiPattern:
    """One kind of personal data: a regular expression and an optional validator of
    each match (``validate(text) -> bool``, e.g. a checksum)."""

    name: str
    regex: str
    description: str = ""
    validate: Callable[[str], bool] | None = None

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)


_NOT_DIGITS = re.compile(r"[^0-9]+")
_DOUBLED = str.maketrans("0123456789", "0246813579")  # a digit doubled, its digits summed


def _digits(text: str) -> str:
    """The decimal digits of ``text`` as ASCII digits (validators run on every match, so
    this is kept fast)."""
    if text.isascii():
        return _NOT_DIGITS.sub("", text)
    return "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())


def _luhn_digits(digits: str) -> bool:
    if not digits:
        return False
    summed = digits[-1::-2] + digits[-2::-2].translate(_DOUBLED)
    return (sum(summed.encode()) - 48 * len(summed)) % 10 == 0


def luhn(number: str) -> bool:
    """The Luhn checksum of a string of digits (separators ignored)."""
    return _luhn_digits(_digits(number))


_CARD_PREFIX = re.compile(
    r"4|5[1-5]|2(?:2[2-9]|[3-6][0-9]|7[01]|720)|3[47]|6011|65|64[4-9]|35|3[068]"
)


def _card(text: str) -> bool:
    number = _digits(text)
    return 13 <= len(number) <= 19 and bool(_CARD_PREFIX.match(number)) and _luhn_digits(number)


# IBAN lengths of common countries (SWIFT registry); others need 15-34 characters.
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24,
}  # fmt: skip


def iban_valid(text: str) -> bool:
    """An IBAN's ISO 7064 mod-97 checksum (and its country's length, where known)."""
    value = "".join(text.split()).upper()
    if not 15 <= len(value) <= 34 or IBAN_LENGTHS.get(value[:2], len(value)) != len(value):
        return False
    moved = value[4:] + value[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1
    except ValueError:
        return False


def _ipv6(text: str) -> bool:
    try:
        addr = ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return not (addr.is_unspecified or addr.is_loopback)


def _phone(text: str) -> bool:
    return 8 <= len(_digits(text)) <= 15


def _ssn(text: str) -> bool:
    area, group, serial = text.split("-")
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _nino(text: str) -> bool:
    return text[:2].upper() not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ")


def _sin(text: str) -> bool:
    number = _digits(text)
    return bool(number) and number[0] not in "08" and _luhn_digits(number)


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HEX = r"[0-9A-Fa-f]{0,4}"

PATTERNS: dict[str, PiiPattern] = {
    p.name: p
    for p in (
        PiiPattern(
            "email",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            "e-mail addresses",
        ),
        PiiPattern(
            "phone",
            r"\+[1-9][0-9]{0,2}[ .-]?(?:\(?[0-9]{1,4}\)?[ .-]?){1,4}[0-9]{2,4}\b"
            r"|(?:\([2-9][0-9]{2}\) ?|\b[2-9][0-9]{2}[ .-])[0-9]{3}[ .-][0-9]{4}\b",
            "phone numbers (international with +, North American)",
            _phone,
        ),
        PiiPattern(
            "payment_card",
            r"\b[0-9](?:[ -]?[0-9]){12,18}\b",
            "payment card numbers (issuer prefix and Luhn checked)",
            _card,
        ),
        PiiPattern(
            "iban",
            r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b",
            "IBANs (mod-97 checked)",
            iban_valid,
        ),
        PiiPattern("ipv4", rf"\b(?:{_OCTET}\.){{3}}{_OCTET}\b", "IPv4 addresses"),
        PiiPattern("ipv6", rf"{_HEX}:{_HEX}:[0-9A-Fa-f:.]*", "IPv6 addresses", _ipv6),
    )
}
NATIONAL_IDS: dict[str, PiiPattern] = {
    p.name: p
    for p in (
        PiiPattern(
            "us_ssn", r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b", "US social security numbers", _ssn
        ),
        PiiPattern(
            "uk_nino",
            r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b",
            "UK national insurance numbers",
            _nino,
        ),
        PiiPattern(
            "ca_sin",
            r"\b[0-9]{3}[ -][0-9]{3}[ -][0-9]{3}\b",
            "Canadian social insurance numbers (Luhn checked)",
            _sin,
        ),
    )
}
DEFAULT_PATTERNS: dict[str, PiiPattern] = {**PATTERNS, **NATIONAL_IDS}
