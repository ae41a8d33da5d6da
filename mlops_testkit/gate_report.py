"""The gate report: the file the deploy stage trusts.

Its schema, content hash and optional keyed signature, writing, reading and verifying,
and rendering live here, in one small module that imports neither pytest nor the check
helpers: it is the trust boundary between the tests and the deploy stage.
``mlops_testkit.registry.promotion`` and the CLI import only this module to decide.

Fail closed, with one rule (:func:`report_verdict`): a report passes only when it is
intact, every collected gate test is accounted for and passed (or skipped with an
allowance the user wrote), each passing gate test recorded at least one gate, every
gate passed *with a finite value*, and nothing was recorded that cannot be attributed
to a test. A gate without a value (NaN, or no evidence) never passes, whatever its
``passed`` field says; a gate test that failed, errored, was deselected, skipped or
xfailed, or recorded no gate, makes the report fail with an entry naming it.

Integrity: ``content_hash`` (sha256 of the canonical JSON) detects accidental edits,
not forgery: anyone who can write the file can recompute it. With ``MLTK_GATE_KEY`` set
where the report is written and where it is read, the report carries an HMAC-SHA256
``signature`` that only holders of the key can make (docs/gates.md, "Threat model").
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops_testkit._format import table
from mlops_testkit._io import TooLarge, read_text_capped, write_atomic

SCHEMA_VERSION = 2
REPORT_FIELDS = ("name", "kind", "value", "threshold", "passed", "details", "test_id")
TEST_FIELDS = ("test_id", "outcome", "message", "gates", "allowed", "passed")
MAX_REPORT_BYTES = 32 * 1024 * 1024
KEY_ENV = "MLTK_GATE_KEY"
REGENERATE = (
    "regenerate it with this mlops-testkit: pytest --mltk-gate-report PATH (the report "
    "must list every gate test with its outcome)"
)
UNSIGNED_NOTE = (
    "unsigned: the content hash detects accidental edits, not forgery (anyone who can "
    f"write this file can recompute it); set {KEY_ENV} to sign the report"
)
# The outcomes a gate test can have in the report, in the order they are explained.
OUTCOMES = (
    "passed",
    "failed",
    "error",
    "skipped",
    "deselected",
    "xfailed",
    "xpassed",
    "no gate recorded",
    "not run",
)


def _canonical(data: Mapping[str, Any]) -> bytes:
    import json

    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def _signed_part(report: Mapping[str, Any]) -> bytes:
    return _canonical({k: v for k, v in report.items() if k not in ("content_hash", "signature")})


def content_hash(report: Mapping[str, Any]) -> str:
    """sha256 of the report without its ``content_hash`` and ``signature`` fields."""
    import hashlib

    return "sha256:" + hashlib.sha256(_signed_part(report)).hexdigest()


def signature(report: Mapping[str, Any], key: str) -> str:
    """HMAC-SHA256 of the report (without ``content_hash`` and ``signature``) under ``key``."""
    import hashlib
    import hmac

    return (
        "hmac-sha256:" + hmac.new(key.encode(), _signed_part(report), hashlib.sha256).hexdigest()
    )


def gate_key(environ: Mapping[str, str] | None = None) -> str | None:
    """The signing key from ``MLTK_GATE_KEY``; None when unset or empty (a CI secret that
    is not configured arrives as an empty string)."""
    value = (os.environ if environ is None else environ).get(KEY_ENV)
    return value or None


def gate_passed(gate: Mapping[str, Any]) -> bool:
    """One gate passed: its verdict is a pass and its value is a finite number."""
    value = gate.get("value")
    finite = (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    )
    return gate.get("passed") is True and finite


def verdict(gates: Sequence[Mapping[str, Any]]) -> bool:
    """The gates alone: at least one gate, and every gate passed. The report's verdict
    (:func:`report_verdict`) also needs every gate test accounted for."""
    return bool(gates) and all(gate_passed(g) for g in gates)


def gate_test_entry(
    test_id: str,
    outcome: str,
    *,
    gates: int = 0,
    failed_gates: int = 0,
    message: str | None = None,
    allowed: str | None = None,
) -> dict[str, Any]:
    """One gate test's entry. It passes when the test passed and recorded at least one
    gate, none of which failed, or was skipped with an allowance
    (``@pytest.mark.gate(allow_skip=...)``)."""
    if outcome == "passed" and failed_gates:
        outcome = "failed"
        message = message or (
            f"{failed_gates} of its gate(s) failed where the test did not see it (a thread "
            "it started, or a failure it caught)"
        )
    if outcome == "passed" and gates == 0:
        outcome = "no gate recorded"
        message = message or "the test passed but recorded no gate: it evidences nothing"
    passed = (outcome == "passed" and gates > 0) or (outcome == "skipped" and bool(allowed))
    return {
        "test_id": test_id,
        "outcome": outcome,
        "message": message,
        "gates": gates,
        "allowed": allowed if outcome == "skipped" else None,
        "passed": passed,
    }


def reasons(report: Mapping[str, Any]) -> list[str]:
    """Why the report does not pass, one line each; empty when it passes."""
    out: list[str] = []
    gates = report.get("gates") or []
    tests = report.get("gate_tests")
    if not isinstance(tests, list):
        return [f"the report does not account for its gate tests; {REGENERATE}"]
    for problem in report.get("problems") or []:
        out.append(str(problem))
    for t in tests:
        if not (isinstance(t, Mapping) and t.get("passed") is True and _entry_holds(t)):
            name = t.get("test_id") if isinstance(t, Mapping) else t
            outcome = t.get("outcome") if isinstance(t, Mapping) else "?"
            why = t.get("message") if isinstance(t, Mapping) else None
            out.append(f"gate test {name}: {outcome}" + (f": {why}" if why else ""))
    for g in gates:
        if not gate_passed(g):
            value = g.get("value")
            shown = "no finite value" if not _finite(value) else f"{value:.6g}"
            out.append(
                f"gate {g.get('name')!r} failed: {shown}, required {g.get('threshold')} "
                f"({g.get('test_id') or '-'})"
            )
    if not tests and not out:
        out.append("no gate test was collected: the report evidences nothing")
    if not gates and not out:
        out.append("the report holds no gate result")
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _entry_holds(entry: Mapping[str, Any]) -> bool:
    """An entry's own ``passed`` agrees with its outcome (a hand-edited entry does not)."""
    outcome = entry.get("outcome")
    if outcome == "passed":
        return isinstance(entry.get("gates"), int) and entry["gates"] > 0
    return outcome == "skipped" and bool(entry.get("allowed"))


def report_verdict(report: Mapping[str, Any]) -> bool:
    """The one rule for a passing report: :func:`reasons` finds nothing."""
    return not reasons(report)


def build_report(
    results: Sequence[Mapping[str, Any]],
    *,
    gate_tests: Sequence[Mapping[str, Any]] = (),
    problems: Sequence[str] = (),
    git_sha: str | None = None,
    git_dirty: Sequence[str] | None = None,
    model: Mapping[str, Any] | None = None,
    invocation: Sequence[str] | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """The gate report: every gate result, every gate test with its outcome, the
    verdict, provenance (git sha, whether the tree was dirty and which paths), and a
    content hash, plus an HMAC signature when ``key`` is given."""
    import datetime as dt

    gates = [{k: r.get(k) for k in REPORT_FIELDS} for r in results]
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_sha": git_sha,
        "git_dirty": None if git_dirty is None else bool(git_dirty),
        "git_changed": None if git_dirty is None else list(git_dirty),
        "invocation": list(invocation) if invocation is not None else None,
        "model": dict(model) if model else None,
        "gate_tests": [{k: t.get(k) for k in TEST_FIELDS} for t in gate_tests],
        "problems": [str(p) for p in problems],
        "gates": gates,
        "integrity": "hmac-sha256" if key else "sha256",
    }
    if not key:
        report["integrity_note"] = UNSIGNED_NOTE
    report["passed"] = report_verdict(report)
    if key:
        report["signature"] = signature(report, key)
    report["content_hash"] = content_hash(report)
    return report


def write_report(path: Path, report: Mapping[str, Any]) -> Path:
    """Write the report atomically: a reader never sees half a report. A symlink is
    written through (the link stays); a directory, device or FIFO is refused."""
    import json

    return write_atomic(path, json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")


class GateReportError(ValueError):
    """The gate report is missing, unreadable, tampered with, forged or of an old schema."""


def read_report(
    path: str | Path, *, key: str | None = None, warnings: list[str] | None = None
) -> dict[str, Any]:
    """Read and verify a gate report; raise :class:`GateReportError` saying why not.

    With ``key`` (``MLTK_GATE_KEY``), the report must carry a matching signature. Without
    it, what cannot be checked is appended to ``warnings`` (an unsigned report, or a
    signature nobody here can verify): the hash detects accidents, not forgery.
    """
    import json

    path = Path(path)
    try:
        text = read_text_capped(path, MAX_REPORT_BYTES)
    except FileNotFoundError:
        raise GateReportError(f"no gate report at {path}") from None
    except TooLarge as exc:
        raise GateReportError(f"the gate report {path} {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GateReportError(f"cannot read the gate report {path}: {exc}") from None
    try:
        report = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise GateReportError(
            f"the gate report {path} is not valid JSON (truncated?): {exc}"
        ) from None
    if not isinstance(report, dict):
        raise GateReportError(f"the gate report {path} is not a JSON object")
    version = report.get("schema_version")
    if version == 1 or (version == SCHEMA_VERSION and "gate_tests" not in report):
        raise GateReportError(
            f"the gate report {path} was written by an older mlops-testkit (schema version "
            f"{version!r}): it has no 'gate_tests' field, so it cannot show that every gate "
            f"test ran and passed; {REGENERATE}"
        )
    if version != SCHEMA_VERSION:
        raise GateReportError(
            f"the gate report {path} has schema version {version!r}; this mlops-testkit "
            f"reads version {SCHEMA_VERSION}"
        )
    for name in ("gates", "gate_tests", "passed", "content_hash"):
        if name not in report:
            raise GateReportError(f"the gate report {path} has no {name!r} field")
    if not isinstance(report["gates"], list) or not all(
        isinstance(g, dict) for g in report["gates"]
    ):
        raise GateReportError(f"the gate report {path}: 'gates' is not a list of objects")
    if report["content_hash"] != content_hash(report):
        raise GateReportError(
            f"the gate report {path} does not match its content hash: it was modified after it was written"
        )
    found = report.get("signature")
    if key:
        if not found:
            raise GateReportError(
                f"the gate report {path} is not signed, but {KEY_ENV} is set here: it was "
                f"not written by a run that holds the key; refused"
            )
        import hmac

        if not hmac.compare_digest(str(found), signature(report, key)):
            raise GateReportError(
                f"the gate report {path} has a signature that does not match {KEY_ENV}: it "
                "was forged or modified, or signed with another key; refused"
            )
    elif warnings is not None:
        warnings.append(
            f"the gate report {path} is signed, but {KEY_ENV} is not set here: the signature "
            "was not checked, and the content hash detects accidents, not forgery"
            if found
            else f"the gate report {path} is {UNSIGNED_NOTE}"
        )
    return report


def _test_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for t in report.get("gate_tests") or []:
        outcome = str(t.get("outcome"))
        if outcome == "skipped" and t.get("allowed"):
            outcome = f"skipped (allowed: {t['allowed']})"
        rows.append(
            {
                "test": t.get("test_id"),
                "outcome": outcome,
                "gates": t.get("gates"),
                "verdict": "pass" if t.get("passed") and _entry_holds(t) else "FAIL",
                "why": t.get("message") or "",
            }
        )
    return rows


def gate_summary(report: Mapping[str, Any]) -> tuple[bool, str]:
    """(passed, the gate tests, gates and reasons as text) for a verified report."""
    gates = report["gates"]
    rows = [
        {
            "gate": g.get("name"),
            "kind": g.get("kind"),
            "value": "-" if g.get("value") is None else g["value"],
            "threshold": g.get("threshold"),
            "verdict": "pass" if gate_passed(g) else "FAIL",
            "test": g.get("test_id") or "-",
        }
        for g in gates
    ]
    parts = [
        "gate tests:",
        table(_test_rows(report), ["test", "outcome", "gates", "verdict", "why"], max_rows=50),
        "",
        "gates:",
        table(rows, ["gate", "kind", "value", "threshold", "verdict", "test"], max_rows=50),
    ]
    why = reasons(report)
    if why:
        parts += ["", "why the report does not pass:", *(f"- {w}" for w in why[:20])]
        if len(why) > 20:
            parts.append(f"+{len(why) - 20} more")
    if report.get("git_dirty"):
        changed = report.get("git_changed") or []
        parts += ["", f"the working tree was dirty ({len(changed)} path(s) changed)"]
    return not why, "\n".join(parts)


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def gate_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown, for a CI job summary or a merge-request note."""
    gates = report["gates"]
    why = reasons(report)
    model = report.get("model") or {}
    about = f" for {model.get('name')} v{model.get('version')}" if model.get("version") else ""
    tests = report.get("gate_tests") or []
    dirty = " (dirty working tree)" if report.get("git_dirty") else ""
    lines = [
        f"### mlops-testkit gates{about}: {'passed' if not why else 'FAILED'}",
        "",
        f"{sum(gate_passed(g) for g in gates)} of {len(gates)} gate(s) passed in "
        f"{sum(bool(t.get('passed')) for t in tests)} of {len(tests)} gate test(s); git "
        f"`{report.get('git_sha') or '-'}`{dirty}; report "
        f"`{str(report.get('content_hash', '-'))[:19]}...` ({report.get('integrity', '-')})",
        "",
    ]
    if why:
        lines += ["**Why it does not pass:**", ""]
        lines += [f"- {_md(w)}" for w in why[:20]]
        lines.append("")
    lines += ["| gate test | outcome | gates | verdict |", "| --- | --- | --- | --- |"]
    for row in _test_rows(report):
        verdict_cell = "pass" if row["verdict"] == "pass" else "**FAIL**"
        lines.append(
            f"| `{_md(row['test'])}` | {_md(row['outcome'])} | {row['gates']} | {verdict_cell} |"
        )
    if gates:
        lines += [
            "",
            "| gate | value | threshold | verdict | test |",
            "| --- | --- | --- | --- | --- |",
        ]
    for g in gates:
        value = g.get("value")
        shown = f"{value:.4g}" if _finite(value) else "-"
        cells = [
            g.get("name"),
            shown,
            g.get("threshold"),
            "pass" if gate_passed(g) else "**FAIL**",
        ]
        cells.append(f"`{g.get('test_id') or '-'}`")
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
