"""assert_no_pii: structured personal data in columns and free text, found locally."""

from __future__ import annotations

import json
import sys

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from hostile import classify
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_testkit import MltkUsageError, PiiPattern, assert_no_pii, pii_report
from mlops_testkit.data.pii import DEFAULT_PATTERNS, NATIONAL_IDS, iban_valid, luhn, mask

VALID = {
    "email": "jane.doe@example.co.uk",
    "phone": "+44 20 7946 0958",
    "payment_card": "4111 1111 1111 1111",
    "iban": "GB82 WEST 1234 5698 7654 32",
    "ipv4": "192.168.10.27",
    "ipv6": "2001:db8::8a2e:370:7334",
    "us_ssn": "123-45-6789",
    "uk_nino": "AB 12 34 56 C",
    "ca_sin": "130 692 544",
    "email_spelled": "jane dot doe at example dot com",
    "phone_national": "07700 900 123",
}
INVALID = {  # look alike, fail the format's own check
    "payment_card": "4111 1111 1111 1112",  # Luhn
    "iban": "GB82 WEST 1234 5698 7654 33",  # mod 97
    "ipv6": "12:30:45",  # a time
    "us_ssn": "666-45-6789",  # area 666 is never issued
    "uk_nino": "GB 12 34 56 C",  # GB is not a valid prefix
    "ca_sin": "130 692 545",  # Luhn
    "email_spelled": "looked at the dot com boom",  # prose
    "phone_national": "01 02 2024 10 30",  # a date and a time
}


def features(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "region": pd.Categorical(rng.choice(["north", "south"], n)),
            "plan": rng.choice(["basic", "premium 2024", "gold-3"], n),
            "income": rng.lognormal(10, 1, n),
            "account_ref": [f"ACC-{i:08d}" for i in range(n)],
        }
    )


def test_clean_features_pass() -> None:
    result = assert_no_pii(features())
    assert result.passed and result.scanned == ["region", "plan", "account_ref"]
    assert {r["verdict"] for r in result.rows} == {"clean"}
    json.dumps(result.to_dict())


def test_an_email_column_that_reaches_the_features_fails_with_masked_examples() -> None:
    df = features(100).assign(contact=[f"user{i}@example.com" for i in range(100)])
    with pytest.raises(AssertionError) as exc:
        assert_no_pii(df)
    text = str(exc.value)
    assert text.startswith("1 of 4 scanned columns hold personal data: email (100 rows)")
    row = next(line for line in text.splitlines() if line.startswith("contact"))
    assert row.split()[:4] == ["contact", "email", "100", "1"]
    assert "u***@e***.com" in text and "user0@example.com" not in text


@pytest.mark.parametrize("kind", sorted(VALID))
def test_each_kind_is_found_in_free_text_and_its_lookalike_is_not(kind) -> None:
    note = f"customer wrote: reach me at {VALID[kind]} today"
    df = pd.DataFrame({"note": [note, "nothing here", None]})
    report = pii_report(df)
    assert [r["kind"] for r in report.rows if r["verdict"] == "PII"] == [kind]
    assert report.rows[0]["share"] == 0.5  # of the non-missing values
    assert VALID[kind] not in report.rows[0]["examples"]  # masked
    if kind in INVALID:
        fake = pd.DataFrame({"note": [f"ref {INVALID[kind]} ok"]})
        assert pii_report(fake).passed, INVALID[kind]


def test_checksums() -> None:
    assert luhn("4012 8888 8888 1881") and not luhn("4012 8888 8888 1882")
    assert iban_valid("DE89 3704 0044 0532 0130 00") and not iban_valid(
        "DE89 3704 0044 0532 0130 01"
    )
    assert not iban_valid("DE89 3704 0044 0532 0130")  # too short for Germany
    rng = np.random.default_rng(1)  # random 16-digit numbers are rarely reported as cards
    numbers = pd.DataFrame({"n": [str(v) for v in rng.integers(10**15, 10**16, 2000)]})
    report = pii_report(numbers)
    shares = [r["share"] for r in report.rows if r["kind"] == "payment_card"]
    assert not shares or shares[0] < 0.05


def test_allow_by_column_or_column_and_kind() -> None:
    df = pd.DataFrame({"ip": ["10.0.0.1", "10.0.0.2"], "note": ["a@b.io", "x 10.1.1.1"]})
    assert not pii_report(df).passed
    assert pii_report(df, allow=["ip", "note"]).passed
    partial = pii_report(df, allow=["ip:ipv4", "note:ipv4"])
    assert partial.flagged == ["note"] and "email" in partial.headline
    with pytest.raises(MltkUsageError, match="allow names 'nope'"):
        pii_report(df, allow=["nope"])
    with pytest.raises(MltkUsageError, match="unknown kind 'mail'"):
        pii_report(df, allow="ip:mail")


def test_patterns_are_an_extensible_documented_set() -> None:
    assert set(NATIONAL_IDS) <= set(DEFAULT_PATTERNS)
    staff = PiiPattern("employee_id", r"\bEMP-[0-9]{6}\b", "staff numbers")
    df = pd.DataFrame({"owner": ["EMP-123456", "EMP-000001", "nobody"]})
    assert pii_report(df).passed
    report = pii_report(df, patterns={**DEFAULT_PATTERNS, "employee_id": staff})
    assert report.rows[0]["kind"] == "employee_id" and report.rows[0]["matches"] == 2
    assert not pii_report(df, patterns={"emp": r"EMP-[0-9]+"}).passed  # a bare regex
    with pytest.raises(MltkUsageError, match=r"patterns\['bad'\] is not a valid regex"):
        pii_report(df, patterns={"bad": "(unclosed"})
    with pytest.raises(MltkUsageError, match="not valid RE2"):
        pii_report(df, patterns={"look": r"(?<=EMP-)[0-9]+"})


def test_categorical_columns_count_rows_and_named_numeric_columns_are_scanned() -> None:
    df = pd.DataFrame(
        {
            "c": pd.Categorical(["a@b.io", "a@b.io", "x", "a@b.io"]),
            "card": [4111111111111111, 5555555555554444, 1234, 42],
        }
    )
    report = pii_report(df, columns=["c", "card"])
    by_col = {r["column"]: r for r in report.rows}
    assert by_col["c"]["matches"] == 3 and by_col["c"]["share"] == 0.75
    assert by_col["card"]["kind"] == "payment_card" and by_col["card"]["matches"] == 2
    assert pii_report(df).scanned == ["c"]  # by default: text columns only


def test_nothing_to_scan_never_passes() -> None:
    report = pii_report(pd.DataFrame({"x": [1.0, 2.0]}))
    assert not report.passed and "nothing was checked" in report.headline


def test_bad_input_is_a_usage_error() -> None:
    with pytest.raises(MltkUsageError, match="df must be a pandas DataFrame"):
        pii_report([["a@b.io"]])
    with pytest.raises(MltkUsageError, match=r"column\(s\) \['nope'\] are not columns"):
        pii_report(features(), columns=["nope"])


def test_the_python_fallback_finds_the_same(monkeypatch) -> None:
    df = pd.DataFrame({"note": [VALID[k] for k in sorted(VALID)] + ["clean"]})
    expected = [(r["kind"], r["matches"]) for r in pii_report(df).rows]
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    monkeypatch.setitem(sys.modules, "pyarrow.compute", None)
    assert [(r["kind"], r["matches"]) for r in pii_report(df).rows] == expected


def test_mask() -> None:
    assert mask("jane.doe@example.com") == "j***@e***.com"
    assert mask("4111 1111 1111 1111") == "4*** **** **** **11"
    assert mask("abc") == "***"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(max_size=40), st.none()), min_size=1, max_size=6))
def test_hostile_text_gives_a_result(values) -> None:
    """The verdict is judged: a column of only missing values was not scanned and must
    not pass; text without a digit, "@", ":" or "at" cannot hold any default pattern and
    must pass; the same text with an e-mail address planted in it must fail naming it."""
    frame = pd.DataFrame({"t": pd.Series(values, dtype=object)})
    nothing = all(v is None for v in values)
    outcome, report = classify(pii_report, frame, degenerate=nothing)
    assert outcome == "result", (outcome, report)
    json.dumps(report.to_dict())
    if nothing:
        return
    texts = [v for v in values if v is not None]
    if not any(ch in "0123456789@:" for v in texts for ch in v) and not any(
        "at" in v.lower() for v in texts
    ):
        assert report.passed, report.rows
    planted = [f"{v} jane.doe@example.com " if v is not None else v for v in values]
    found = pii_report(pd.DataFrame({"t": pd.Series(planted, dtype=object)}))
    assert not found.passed and "email" in {r["kind"] for r in found.rows if r["verdict"] == "PII"}
