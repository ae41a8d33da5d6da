"""Text perturbations: each returns a :class:`Perturbation` of one string.

Invariance (INV): :func:`typos`, :func:`change_case`, :func:`punctuation`,
:func:`whitespace`, :func:`contractions`, :func:`change_names`, :func:`change_location`,
:func:`change_number`, :func:`synonyms`, :func:`add_phrase`. Directional (DIR):
:func:`negate`. A perturbation that does not apply to a text (no name to swap, nothing
to negate) returns no variant, and the harness counts that case as not applicable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from mlops_testkit import MltkUsageError
from mlops_testkit.behavioral.perturb.base import Chooser, Perturbation, Variant
from mlops_testkit.behavioral.perturb.lexicon import (
    ALL_FIRST_NAMES,
    AUXILIARIES,
    CITIES,
    CONTRACTIONS,
    COUNTRIES,
    KEY_NEIGHBOURS,
    NEUTRAL_PHRASES,
)

TYPO_KINDS = ("swap", "key", "drop", "repeat")
_WORD = re.compile(r"\b\w[\w'-]*\b")
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")


def _check_n(n: int, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise MltkUsageError(f"{name}: n must be a positive integer, got {n!r}")


def _one_typo(text: str, chooser: Chooser, kinds: Sequence[str]) -> tuple[str, str] | None:
    if not text:
        return None
    kind = chooser.choice(kinds)
    # a random position, moved forward (wrapping) to the next letter or digit
    start = chooser.integer(0, len(text) - 1)
    i = next(
        (j % len(text) for j in range(start, start + len(text)) if text[j % len(text)].isalnum()),
        None,
    )
    if i is None:
        return None
    ch = text[i]
    if kind == "swap":
        if i + 1 >= len(text) or not text[i + 1].isalnum():
            if i == 0 or not text[i - 1].isalnum():
                return None
            i -= 1
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :], f"swap {text[i : i + 2]!r}"
    if kind == "key":
        near = KEY_NEIGHBOURS.get(ch.lower())
        if not near:
            return None
        new = chooser.choice(near)
        new = new.upper() if ch.isupper() else new
        return text[:i] + new + text[i + 1 :], f"{ch!r} -> {new!r}"
    if kind == "drop":
        return text[:i] + text[i + 1 :], f"drop {ch!r}"
    return text[:i] + ch + text[i:], f"repeat {ch!r}"


def typos(n: int = 1, *, count: int = 1, kinds: Sequence[str] = TYPO_KINDS) -> Perturbation:
    """``n`` variants, each with ``count`` typos: adjacent characters swapped, a key
    replaced by a neighbouring key, a character dropped or repeated."""
    _check_n(n, "typos")
    _check_n(count, "typos(count)")
    bad = [k for k in kinds if k not in TYPO_KINDS]
    if bad or not kinds:
        raise MltkUsageError(f"typos: kinds must be among {TYPO_KINDS}, got {tuple(kinds)}")

    def fn(text: str, chooser: Chooser) -> list[Variant]:
        out = []
        for _ in range(n):
            current, done = text, []
            for _ in range(chooser.integer(1, count)):
                typo = _one_typo(current, chooser, kinds)
                if typo is None:
                    continue
                current, what = typo
                done.append(what)
            if done and current != text:
                out.append(Variant(current, "typo: " + ", ".join(done)))
        return out

    return Perturbation(fn, f"typos(n={n}, count={count})", text=True)


def change_case(modes: Sequence[str] = ("lower", "upper")) -> Perturbation:
    """The text in lower case, upper case and/or title case (one variant per mode that
    changes it)."""
    allowed = {"lower": str.lower, "upper": str.upper, "title": str.title}
    bad = [m for m in modes if m not in allowed]
    if bad:
        raise MltkUsageError(f"change_case: modes must be among {tuple(allowed)}, got {bad}")

    def fn(text: str, chooser: Chooser) -> list[Variant]:
        return [Variant(allowed[m](text), f"{m} case") for m in modes if allowed[m](text) != text]

    return Perturbation(fn, "change_case", text=True)


def punctuation() -> Perturbation:
    """Strip the final punctuation, or add a full stop when there is none."""

    def fn(text: str, chooser: Chooser) -> Variant | None:
        stripped = text.rstrip()
        if not stripped:
            return None
        if stripped[-1] in ".!?;,":
            return Variant(stripped.rstrip(".!?;,"), f"strip {stripped[-1]!r}")
        return Variant(stripped + ".", "add '.'")

    return Perturbation(fn, "punctuation", text=True)


def whitespace() -> Perturbation:
    """Double a space between two words, or add a trailing space."""

    def fn(text: str, chooser: Chooser) -> Variant | None:
        spaces = [m.start() for m in re.finditer(" ", text)]
        if not spaces:
            return Variant(text + " ", "trailing space")
        i = chooser.choice(spaces)
        return Variant(text[:i] + " " + text[i:], "double space")

    return Perturbation(fn, "whitespace", text=True)


_EXPAND = {v.lower(): k for k, v in CONTRACTIONS.items() if k != "cannot"}
_CONTRACT_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(CONTRACTIONS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_EXPAND_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(_EXPAND, key=len, reverse=True)) + r")(?!\w)",
    re.IGNORECASE,
)


def _keep_case(original: str, new: str) -> str:
    return new[0].upper() + new[1:] if original[:1].isupper() else new


def contractions() -> Perturbation:
    """Expand contractions (``isn't`` -> ``is not``), or contract when there is none."""

    def fn(text: str, chooser: Chooser) -> Variant | None:
        if _EXPAND_RE.search(text):
            new = _EXPAND_RE.sub(
                lambda m: _keep_case(m.group(0), _EXPAND[m.group(0).lower()]), text
            )
            return Variant(new, "expand contractions")
        if _CONTRACT_RE.search(text):
            lookup = {k.lower(): v for k, v in CONTRACTIONS.items()}
            new = _CONTRACT_RE.sub(
                lambda m: _keep_case(m.group(0), lookup[m.group(0).lower()]), text
            )
            return Variant(new, "contract")
        return None

    return Perturbation(fn, "contractions", text=True)


def _swap_words(name: str, vocabulary: Iterable[str], n: int, label: str) -> Perturbation:
    _check_n(n, name)
    words = tuple(dict.fromkeys(vocabulary))
    single = frozenset(w for w in words if _WORD.fullmatch(w))
    multi = [w for w in words if w not in single]  # "New York": needs a pattern
    pattern = (
        re.compile(
            r"\b(" + "|".join(re.escape(w) for w in sorted(multi, key=len, reverse=True)) + r")\b"
        )
        if multi
        else None
    )

    others: dict[str, tuple[str, ...]] = {}

    def present(text: str) -> list[str]:
        found = sorted(single.intersection(_WORD.findall(text)), key=text.find)
        if pattern is not None:
            found += list(dict.fromkeys(pattern.findall(text)))
        return found

    def fn(text: str, chooser: Chooser) -> list[Variant]:
        found = present(text)
        if not found:
            return []
        out = []
        for _ in range(n):
            old = chooser.choice(found)
            if old not in others:
                others[old] = tuple(w for w in words if w != old)
            new = chooser.choice(others[old])
            variant = re.sub(rf"(?<![\w'-]){re.escape(old)}(?![\w'-])", new, text)
            out.append(Variant(variant, f"{label} {old} -> {new}"))
        return out

    return Perturbation(fn, f"{name}(n={n})", text=True)


def change_names(n: int = 1, names: Iterable[str] = ALL_FIRST_NAMES) -> Perturbation:
    """Swap a person's first name for another (shipped lists span genders and origins)."""
    return _swap_words("change_names", names, n, "name")


def change_location(n: int = 1, places: Iterable[str] = CITIES + COUNTRIES) -> Perturbation:
    """Swap a city or country for another."""
    return _swap_words("change_location", places, n, "place")


def change_number(n: int = 1, *, share: float = 0.2) -> Perturbation:
    """Change one integer by up to ``share`` of its value (at least by 1)."""
    _check_n(n, "change_number")

    def fn(text: str, chooser: Chooser) -> list[Variant]:
        spans = [m.span() for m in _NUMBER.finditer(text)]
        if not spans:
            return []
        out = []
        for _ in range(n):
            start, end = chooser.choice(spans)
            old = int(text[start:end])
            step = max(1, int(abs(old) * share))
            new = old + chooser.choice(
                [d for d in range(-step, step + 1) if d and old + d >= 0] or [1]
            )
            out.append(Variant(text[:start] + str(new) + text[end:], f"number {old} -> {new}"))
        return out

    return Perturbation(fn, f"change_number(n={n})", text=True)


def synonyms(mapping: Mapping[str, Sequence[str]], n: int = 1) -> Perturbation:
    """Replace a word found in ``mapping`` by one of its synonyms (case kept)."""
    _check_n(n, "synonyms")
    if not isinstance(mapping, Mapping) or not mapping:
        raise MltkUsageError("synonyms: mapping must be a non-empty dict word -> [synonyms]")
    lookup = {k.lower(): list(v) for k, v in mapping.items() if v}
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in lookup) + r")\b", re.IGNORECASE)

    def fn(text: str, chooser: Chooser) -> list[Variant]:
        spans = [m.span() for m in pattern.finditer(text)]
        out = []
        for _ in range(n if spans else 0):
            start, end = chooser.choice(spans)
            old = text[start:end]
            new = _keep_case(old, chooser.choice(lookup[old.lower()]))
            out.append(Variant(text[:start] + new + text[end:], f"synonym {old} -> {new}"))
        return out

    return Perturbation(fn, "synonyms", text=True)


def add_phrase(phrases: Sequence[str] = NEUTRAL_PHRASES, *, where: str = "end") -> Perturbation:
    """Insert a neutral phrase at the start or the end."""
    if where not in ("start", "end"):
        raise MltkUsageError(f"add_phrase: where must be 'start' or 'end', got {where!r}")

    def fn(text: str, chooser: Chooser) -> Variant:
        phrase = chooser.choice(phrases)
        new = f"{phrase} {text}" if where == "start" else f"{text.rstrip()} {phrase}"
        return Variant(new, f"add {phrase!r} at the {where}")

    return Perturbation(fn, "add_phrase", text=True)


_AUX_RE = re.compile(r"\b(" + "|".join(AUXILIARIES) + r")\b(?!\s+not\b|n't)", re.IGNORECASE)
_PRONOUN_VERB = re.compile(r"\b(I|you|we|they)\s+(?!not\b|do\b|don't\b)([a-z]+)\b", re.IGNORECASE)


def negate() -> Perturbation:
    """Negate the first auxiliary verb (``is`` -> ``is not``), or the verb after I/you/
    we/they (``I love`` -> ``I do not love``). For directional tests: negating a positive
    statement should lower its positive score."""

    def fn(text: str, chooser: Chooser) -> Variant | None:
        if re.search(r"\bnot\b|n't\b|\bnever\b", text, re.IGNORECASE):
            return None  # already negated: a second negation is not what DIR expects
        m = _AUX_RE.search(text)
        if m:
            return Variant(text[: m.end()] + " not" + text[m.end() :], f"negate {m.group(0)!r}")
        m = _PRONOUN_VERB.search(text)
        if m:
            new = text[: m.start(2)] + "do not " + text[m.start(2) :]
            return Variant(new, f"negate {m.group(2)!r}")
        return None

    return Perturbation(fn, "negate", text=True)
