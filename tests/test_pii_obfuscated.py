"""assert_no_pii: personal data written to get past filters (issue 23, part 4).

E-mail addresses with "@" and "." spelled out (kind ``email_spelled``) and national phone
numbers written in groups without a country code (kind ``phone_national``) are found; the
prose that writes "at", "dot", times, amounts, dates, reference numbers and postcodes is
not. The false-positive rate is measured on tests/pii_corpus.py (the Gettysburg Address
and generated prose), the power on the same prose with one obfuscated value planted per
row, both over fixed seeds.
"""

from __future__ import annotations

import random
import re
import sys

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

import pii_corpus
from hostile import classify
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_testkit import assert_no_pii, pii_report
from mlops_testkit.data.pii import DEFAULT_PATTERNS
from mlops_testkit.data.pii_scan import Texts

NEW = ("email_spelled", "phone_national")

SPELLED_EMAILS = [
    "john dot doe at example dot com",
    "john.doe [at] example [dot] com",
    "john.doe (at) example (dot) com",
    "john.doe {at} example {dot} com",
    "john.doe <at> example <dot> com",
    "john.doe[at]example[dot]com",
    "JOHN DOT DOE AT EXAMPLE DOT CO DOT UK",
    "john.doe at example.com",
    "john_doe (at) example.org",
    "jane [at] mail.example.de",
    "j.doe@example dot com",
    "jane @ example.com",
    "jane.doe (at) example (.) io",
    "mohamed at example dot com",
]
NATIONAL_PHONES = [
    "07700 900 123",  # UK mobile
    "07700 900123",
    "020 7946 0018",  # London
    "(020) 7946 0018",
    "0161 496 0000",  # Manchester
    "01632 960 001",  # UK area code of five digits
    "06 12 34 56 78",  # France
    "06.12.34.56.78",
    "030 1234 5678",  # Berlin
    "0151 23456789",  # German mobile
    "06 12345678",  # Dutch mobile
    "020 123 4567",  # Amsterdam
    "0412 345 678",  # Australian mobile
    "(02) 9876 5432",  # Sydney
    "03-1234-5678",  # Tokyo
    "090-1234-5678",  # Japanese mobile
]
PROSE = [
    "we met at 10 30 near the dot",
    "at 09 30 we left; at 17 45 we were back",
    "looked at the dot com boom",
    "stared at the dot in the middle of the map",
    "visit us at www.example.com or at python.org",
    "I bought it at amazon.com for 19.99",
    "learn more at example dot com",
    "shop at walmart dot com",
    "report.pdf at docs.example.org",
    "Version 2.0.1 at example dot com",
    "rooms from 0.99 at example.com",
    "e.g. at example.com",
    "order 0123 4567 8901 shipped on 01 02 2024",
    "ticket 0412-553, ref 0042 1234 5678, batch 004512 7789",
    "total 1 020 500 EUR, then 12 500 kr",
    "01.02.2024, 2024-05-01, 05-01, 01/02/2024",
    "postcode SW1A 1AA, 90210, 02134-1234, 10115 Berlin",
    "version 0.12.3; scores 01 02 03; the 08 15 train",
    "opening hours 08 00 to 17 30",
    "2024-05-01 0930 1045 handover; 2024/05/01 4567 8901",
    "He was good at maths, bad at spelling, and best at chess.",
]


def kinds(report) -> dict[str, object]:
    return {r["kind"]: r["matches"] for r in report.rows if r["verdict"] == "PII"}


@pytest.mark.parametrize("value", SPELLED_EMAILS)
def test_each_spelled_out_email_is_found_and_masked(value) -> None:
    df = pd.DataFrame({"note": [f"customer wrote: reach me at {value} today", "fine", None]})
    report = pii_report(df)
    assert kinds(report) == {"email_spelled": 1}
    row = report.rows[0]
    assert row["share"] == 0.5
    assert "doe" not in row["examples"].lower() and "example" not in row["examples"]


@pytest.mark.parametrize("value", NATIONAL_PHONES)
@pytest.mark.parametrize("where", ["call back on {} after six", "{}", "tel:{}", "ring\n{}."])
def test_each_national_phone_format_is_found_and_masked(value, where) -> None:
    df = pd.DataFrame({"note": [where.format(value), "fine"]})
    report = pii_report(df)
    found = kinds(report)
    if value == "06.12.34.56.78":  # 12.34.56.78 is also an IPv4 address
        assert found.pop("ipv4") == 1
    assert found == {"phone_national": 1}, value
    assert all(value not in r["examples"] for r in report.rows)


@pytest.mark.parametrize("text", PROSE)
def test_prose_with_at_dot_times_amounts_and_references_passes(text) -> None:
    report = pii_report(pd.DataFrame({"note": [text]}))
    assert not set(kinds(report)) & set(NEW), (text, report.rows)


def test_counted_per_column_as_any_other_kind() -> None:
    df = pd.DataFrame(
        {
            "agent_note": ["ring 07700 900 123", "jane dot doe at example dot com", "ok", "ok"],
            "support": ["john.doe [at] example [dot] org"] * 3 + ["no contact"],
            "plan": ["basic", "gold", "gold", "basic"],
        }
    )
    with pytest.raises(AssertionError) as exc:
        assert_no_pii(df)
    assert str(exc.value).startswith(
        "2 of 3 scanned columns hold personal data: email_spelled, phone_national (4 rows)"
    )
    report = pii_report(df)
    found = {(r["column"], r["kind"]): (r["matches"], r["share"]) for r in report.rows}
    assert found[("support", "email_spelled")] == (3, 0.75)
    assert found[("agent_note", "email_spelled")] == (1, 0.25)
    assert found[("agent_note", "phone_national")] == (1, 0.25)
    assert found[("plan", "-")] == (0, 0.0)
    assert pii_report(df, allow=["support:email_spelled", "agent_note"]).passed


def test_a_categorical_column_counts_rows() -> None:
    notes = pd.Categorical(["jane at example dot com"] * 3 + ["06 12 34 56 78", "none"])
    report = pii_report(pd.DataFrame({"c": notes}))
    assert kinds(report) == {"email_spelled": 3, "phone_national": 1}


# --- false positives and power over fixed seeds ---------------------------------------------


def _row_rates(rows: list[str], patterns=None) -> dict[str, float]:
    report = pii_report(pd.DataFrame({"t": rows}), patterns=patterns)
    return {r["kind"]: r["share"] for r in report.rows if r["verdict"] == "PII"}


def test_the_corpus_is_hard_for_the_regexes_alone() -> None:
    """Loose versions of the two patterns (the e-mail regex without its validator, any
    digit groups after a trunk 0) flag a large share of the corpus: the prose does write
    "X at Y dot com", dates, times and references that look like phone numbers, so the
    low rates below are the patterns' work, not an easy corpus."""
    rates = _row_rates(pii_corpus.corpus(2_000, seed=0), pii_corpus.loose_patterns())
    assert rates["email_spelled"] > 0.15 and rates["phone_national"] > 0.40, rates


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_false_positive_rate_on_english_prose(seed) -> None:
    """Per-row false-positive rate on 3,010 rows of prose, each seed: e-mail at most 0.5%
    (measured 0); national phones at most 5%, and every one of those is the one prose
    form indistinguishable from a French number (five two-digit groups from 0:
    "Lottery numbers: 04 12 23 34 45"); without it, 0."""
    rows = pii_corpus.corpus(3_000, seed=seed)
    rates = _row_rates(rows)
    assert set(rates) <= {"phone_national"}, rates  # and no old kind either
    assert rates.get("email_spelled", 0.0) <= 0.005
    assert rates.get("phone_national", 0.0) <= 0.05
    french_like = re.compile(r"\b0[1-9](?: [0-9]{2}){4}\b")
    others = [r for r in rows if not french_like.search(r)]
    assert len(others) > 0.9 * len(rows)
    assert _row_rates(others) == {}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("make", [pii_corpus.spelled_email, pii_corpus.national_phone])
def test_power_on_planted_values(make, seed) -> None:
    """One obfuscated value planted in each of 1,000 prose rows: every row is found (the
    issue asks "find these forms"; measured 100% over all seeds)."""
    rows = pii_corpus.planted(1_000, seed, make)
    kind = "email_spelled" if make is pii_corpus.spelled_email else "phone_national"
    report = pii_report(pd.DataFrame({"t": rows}))
    assert {r["kind"]: r["matches"] for r in report.rows}[kind] == 1_000


def test_the_python_fallback_finds_the_same(monkeypatch) -> None:
    rng = random.Random(5)
    rows = [pii_corpus.spelled_email(rng) for _ in range(100)]
    rows += [pii_corpus.national_phone(rng) for _ in range(100)] + PROSE
    df = pd.DataFrame({"t": rows})
    expected = kinds(pii_report(df))
    assert expected["email_spelled"] == 100 and expected["phone_national"] == 100
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.compute", None)
    assert kinds(pii_report(df)) == expected


def test_re2_marks_the_matches_python_re_finds() -> None:
    rng = random.Random(6)
    values = pd.Series(
        [f"{pii_corpus.spelled_email(rng)} or {pii_corpus.national_phone(rng)}" for _ in range(50)]
        + PROSE,
        dtype=object,
    )
    texts = Texts(values)
    idx = np.arange(len(values))
    for kind in NEW:
        pattern = DEFAULT_PATTERNS[kind]
        got = {int(i): list(found) for i, found in texts.matches(pattern, idx)}
        want = {i: [m.group() for m in pattern.compiled.finditer(v)] for i, v in enumerate(values)}
        assert got == want, kind


def test_one_huge_value_of_lookalikes_is_scanned_whole() -> None:
    """200,000 characters of "X at Y dot" and "0X 12" fragments, then the real thing: RE2
    scans it linearly (benchmarks/bench_pii.py times it; no time is asserted here)."""
    noise = "looked at the dot 08 15 0412-553 at x dot " * 5_000
    report = pii_report(pd.DataFrame({"t": [noise + " jane at example dot com 07700 900 123"]}))
    assert kinds(report) == {"email_spelled": 1, "phone_national": 1}
    assert pii_report(pd.DataFrame({"t": [noise]})).passed


TOKENS = ["jo", "at", " at ", "[at]", " (at) ", "@", " @ ", " dot ", ".", "[.]", "(dot)", "com"]
TOKENS += ["uk", "the", "0", "07700", " ", "-", "_", "+", "<", ">", "{", "}", "AT", "DoT", "\t"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(TOKENS), max_size=14).map("".join), min_size=1))
def test_the_checks_judge_any_mix_of_the_spelled_tokens(values) -> None:
    """Whatever the regexes match, the checks return a verdict (no exception), and the
    RE2 scan agrees with Python's re."""
    outcome, report = classify(pii_report, pd.DataFrame({"t": values}), degenerate=False)
    assert outcome == "result", (outcome, report)
    pattern = DEFAULT_PATTERNS["email_spelled"]
    for value in values:
        for match in pattern.compiled.finditer(value):
            assert isinstance(pattern.validate(match.group()), bool)
    texts, idx = Texts(pd.Series(values, dtype=object)), np.arange(len(values))
    for kind in NEW:
        compiled = DEFAULT_PATTERNS[kind].compiled
        got = {int(i): list(found) for i, found in texts.matches(DEFAULT_PATTERNS[kind], idx)}
        assert got == {i: [m.group() for m in compiled.finditer(v)] for i, v in enumerate(values)}
