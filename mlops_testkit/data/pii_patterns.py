"""The patterns of :mod:`mlops_testkit.data.pii`: regular expressions of structured
personal data and the validators that confirm a match (Luhn, ISO 7064 mod-97, valid ID
prefixes; for e-mails and phone numbers written to get past filters, the word lists and
digit groups that tell them from prose). ``DEFAULT_PATTERNS`` is what ``assert_no_pii``
scans for; extend it with ``patterns=``. Imports only the standard library."""

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
_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")  # a digit doubled, digits summed


def _digits(text: str) -> str:
    """The decimal digits of ``text`` as ASCII digits (validators run on every match, so
    this is kept fast)."""
    if text.isascii():
        plain = text.replace(" ", "").replace("-", "")  # the usual case: digits, separators
        return plain if plain.isdigit() else _NOT_DIGITS.sub("", text)
    return "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())


def _luhn_digits(digits: str) -> bool:
    if not digits:
        return False
    code = digits.encode()  # ASCII digits: bytes.translate is a table lookup in C
    return (sum(code[-1::-2]) + sum(code[-2::-2].translate(_DOUBLED)) - 48 * len(code)) % 10 == 0


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


# --- written to get past filters: e-mails with "@" and "." spelled out, national phones ---
# Both regexes stay linear in RE2 (no look-around, bounded repeats). The e-mail's
# validator rejects what prose also writes ("looked at the dot com boom", "visit us at
# x.com", "report.pdf at x.com"); the phone regex spells out each country's digit groups,
# so "at 10 30", dates, amounts and references never match it.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SP = r"[ \t]{0,3}"
_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
_AT_SET_APART = (
    rf"{_SP}{_OPEN}{_SP}(?i:at|@){_SP}{_CLOSE}{_SP}|[ \t]{{1,3}}@[ \t]{{0,3}}|@[ \t]{{1,3}}"
)
_AT_WORD = r"[ \t]{1,3}(?i:at)[ \t]{1,3}"
_DOT_SPELLED = rf"{_SP}{_OPEN}{_SP}(?i:dot|\.){_SP}{_CLOSE}{_SP}|[ \t]{{1,3}}(?i:dot)[ \t]{{1,3}}"
_DOT = rf"(?:{_DOT_SPELLED}|\.)"
_WORD = r"\b[A-Za-z0-9][A-Za-z0-9_%+-]{0,63}\b"
_LOCAL = rf"{_WORD}(?:{_DOT}{_WORD}){{0,5}}"
_LABEL = r"\b[A-Za-z0-9][A-Za-z0-9-]{0,62}\b"
_DOMAIN = rf"{_LABEL}(?:{_DOT}{_LABEL}){{0,4}}"
GENERIC_TLDS = _words(
    "com net org edu gov mil int info biz name pro mobi app dev io ai xyz online site tech "
    "store shop blog cloud email live news club agency digital health bank",
)
_TLD = rf"(?i:{'|'.join(sorted(GENERIC_TLDS, key=lambda t: (-len(t), t)))}|[a-z]{{2}})\b"
_EMAIL_SPELLED = (
    # "at" in brackets, or "@" set apart by spaces: any dots
    rf"{_LOCAL}(?:{_AT_SET_APART}){_DOMAIN}{_DOT}{_TLD}"
    # "at" as a word, or "@": the last dot spelled out
    rf"|{_LOCAL}(?:{_AT_WORD}|@){_DOMAIN}(?:{_DOT_SPELLED}){_TLD}"
    # "at" as a word after a dotted name: john.doe at example.com
    rf"|\b[A-Za-z0-9]{{1,64}}[._+-][A-Za-z0-9._+-]{{0,62}}[A-Za-z0-9]\b{_AT_WORD}"
    rf"{_LABEL}(?:\.{_LABEL}){{0,4}}\.{_TLD}"
)
# Two-letter country domains that are also English words: "at the dot in the middle".
_WORD_TLDS = _words(
    "am an as at be by do go he hi id if in is it me my no of on or so to us we",
)
# Words that take the place of a domain's name in prose ("looked at the dot com boom").
_DETERMINERS = _words(
    "a an the this that these those my your his her our their its one any some each every "
    "no another what which whose all least most first last home night noon once",
)
# Words before "at" in prose that are no one's mailbox ("shop at walmart dot com").
_PROSE_BEFORE_AT = _words(
    "look looked looking looks stare stared staring glance glanced arrive arrived arrives "
    "arriving meet met meeting available online found find work worked works working job "
    "shop shopped shopping buy bought sold sale sell sells live lived lives living stay "
    "stayed here there him her them us me it you we they i he she is was are were be been "
    "being good bad best better great up now only even just and or but not held hosted "
    "located based sign signed apply applied visit visited order ordered download "
    "downloaded reach reached contact contacted write wrote call called aim aimed point "
    "pointed laugh laughed smile smiled wave waved nod nodded born died left open opened "
    "closed start started starts end ended ends begin began late early again twice price "
    "priced listed posted published hired employed and more info information details out "
    "website site page learn read see check join follow watch listen register subscribe "
    "donate book tickets speak speaks spoke talk talks taught teach study intern play plays "
    "perform performs deals offers rates prices everything anything something nothing free "
    "cheap also still today tonight tomorrow yesterday then so too as if when where while "
    "from to of in on by with for alpha beta rc eur usd gbp chf jpy cad aud inr cny kr sek "
    "nok dkk pln czk",
)
# Names that end like a past tense ("Mohamed at example dot com" is a mailbox).
_NAMES_LIKE_VERBS = _words(
    "mohamed mohammed muhammed ahmed hamed saeed majed raed javed alfred wilfred winifred "
    "mildred manfred siegfried sterling channing manning fielding",
)
_FILE_EXTENSIONS = _words(
    "pdf csv txt doc docx xls xlsx ppt pptx zip gz tar png jpg jpeg gif svg html htm py md "
    "json xml yaml yml exe dmg iso mp3 mp4 mov avi wav log ini cfg",
)
_LOCAL_SPLIT = re.compile(rf"{_DOT}|[_+-]")
_AT_SPLIT = re.compile(rf"{_AT_SET_APART}|{_AT_WORD}|@")
_DOT_SPLIT = re.compile(_DOT)


def _email_spelled(text: str) -> bool:
    at = _AT_SPLIT.search(text)
    if at is None:
        return False
    local, domain = text[: at.start()], text[at.end() :]
    labels = [p for p in _DOT_SPLIT.split(domain.strip()) if p]
    if len(labels) < 2:
        return False
    tld, names = labels[-1].lower(), [n.lower() for n in labels[:-1]]
    if not (tld in GENERIC_TLDS or (len(tld) == 2 and tld.isascii() and tld.isalpha())):
        return False
    set_apart = "@" in text or any(ch in text for ch in "[({<")
    if tld in _WORD_TLDS and len(names) < 2 and not set_apart:
        return False
    if names[0] in _DETERMINERS:
        return False
    parts = [p.lower() for p in _LOCAL_SPLIT.split(local.strip()) if p]
    if not any(sum(ch.isalpha() for ch in p) >= 2 for p in parts):
        return False  # "0.99 at example.com", "v2.0 at example dot com": a price, a version
    if len(parts) > 1 and parts[-1] in _FILE_EXTENSIONS:
        return False  # "report.pdf at example.com"
    if at.group().strip().lower() != "at" or len(parts) > 1 or not parts[0].isalpha():
        return True
    word = parts[0]  # one word, then "at": prose unless it reads as a name
    if word in _PROSE_BEFORE_AT:
        return False
    verb_like = len(word) >= 6 and word.endswith(("ed", "ing", "ly"))
    return not verb_like or word in _NAMES_LIKE_VERBS


# National numbers without a country code, in the groups each country writes them in:
# the first group (trunk 0 and area code) and the lengths of the groups after it, all
# separated by the same space, dot or dash (or the area code in brackets). Written out
# in the regex, so that dates, times, amounts and references in other groups never
# match and nothing is left to validate in Python.
_NATIONAL_GROUPS: dict[str, tuple[tuple[int, ...], ...]] = {
    "0[1-9]": ((2, 2, 2, 2), (4, 4)),  # France 06 12 34 56 78; Rome, Sydney, Tokyo 03-1234-5678
    "06": ((8,),),  # Dutch mobiles: 06 12345678
    "0[1-9][0-9]": ((4, 4), (3, 4), (7,), (8,)),  # London 020 7946 0018; Berlin; Amsterdam
    "0[1-9][0-9]{2}": ((3, 4), (7,)),  # Manchester 0161 496 0000
    "04[0-9]{2}": ((3, 3),),  # Australian mobiles: 0412 345 678
    "01[0-9]{2}": ((8,),),  # German mobiles: 0151 23456789
    "0[17][0-9]{3}": ((3, 3), (6,)),  # UK mobiles 07700 900 123, areas 01632 960 001
}


def _national_regex() -> str:
    plain, bracketed = [], []
    for first, shapes in _NATIONAL_GROUPS.items():
        for sep in (" ", r"\.", "-"):
            rests = "|".join("".join(f"{sep}[0-9]{{{n}}}" for n in shape) for shape in shapes)
            plain.append(f"{first}(?:{rests})")
        rests = "|".join(
            f"[0-9]{{{shape[0]}}}" + "".join(f" [0-9]{{{n}}}" for n in shape[1:])
            for shape in shapes
        )
        bracketed.append(rf"\({first}\) ?(?:{rests})")
    # not after a digit, letter or date separator: "2024-05-01 0930 1045" is no phone
    start = r"(?:^|[^0-9A-Za-z_./-])"
    return rf"(?:{start}(?:{'|'.join(plain)})|{'|'.join(bracketed)})\b"


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
        PiiPattern(
            "email_spelled",
            _EMAIL_SPELLED,
            'e-mail addresses with "@" or "." spelled out: john dot doe at example dot com, '
            "jane [at] example [dot] org",
            _email_spelled,
        ),
        PiiPattern(
            "phone_national",
            _national_regex(),
            "national phone numbers in their usual groups: 07700 900 123, 020 7946 0018, "
            "06 12 34 56 78",
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
