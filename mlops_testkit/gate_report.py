"""The gate report: the file the deploy stage trusts.

Its schema, content hash, writing, reading and verifying, and rendering live here, in
one small module that imports neither pytest nor the check helpers: it is the trust
boundary between the tests and the deploy stage. ``mlops_testkit.registry.promotion``
and the CLI import only this module to decide.

Fail closed: a report passes only when it is intact, holds at least one gate, and
every gate passed *with a finite value*; a gate without a value (NaN, or no evidence)
never passes, whatever its ``passed`` field says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops_testkit._format import table
from mlops_testkit._io import TooLarge, read_text_capped, write_atomic

SCHEMA_VERSION = 1
REPORT_FIELDS = ("name", "kind", "value", "threshold", "passed", "details", "test_id")
MAX_REPORT_BYTES = 32 * 1024 * 1024


def _canonical(data: Mapping[str, Any]) -> bytes:
    import json

    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def content_hash(report: Mapping[str, Any]) -> str:
    """sha256 of the report without its ``content_hash`` field, canonical JSON."""
    import hashlib

    return (
        "sha256:"
        + hashlib.sha256(
            _canonical({k: v for k, v in report.items() if k != "content_hash"})
        ).hexdigest()
    )


def gate_passed(gate: Mapping[str, Any]) -> bool:
    """One gate passed: its verdict is a pass and its value is a finite number."""
    value = gate.get("value")
    finite = (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    )
    return gate.get("passed") is True and finite


def verdict(gates: Sequence[Mapping[str, Any]]) -> bool:
    """The one rule for "all gates passed": at least one gate, and every gate passed."""
    return bool(gates) and all(gate_passed(g) for g in gates)


def build_report(
    results: Sequence[Mapping[str, Any]],
    *,
    git_sha: str | None = None,
    model: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The gate report: every gate result, the verdict, provenance and a content hash."""
    import datetime as dt

    gates = [{k: r.get(k) for k in REPORT_FIELDS} for r in results]
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_sha": git_sha,
        "model": dict(model) if model else None,
        "passed": verdict(gates),
        "gates": gates,
    }
    report["content_hash"] = content_hash(report)
    return report


def write_report(path: Path, report: Mapping[str, Any]) -> Path:
    """Write the report atomically: a reader never sees half a report."""
    import json

    write_atomic(path, json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    return path


class GateReportError(ValueError):
    """The gate report is missing, unreadable, tampered with or of an unknown schema."""


def read_report(path: str | Path) -> dict[str, Any]:
    """Read and verify a gate report; raise :class:`GateReportError` saying why not."""
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
    except json.JSONDecodeError as exc:
        raise GateReportError(
            f"the gate report {path} is not valid JSON (truncated?): {exc}"
        ) from None
    if not isinstance(report, dict):
        raise GateReportError(f"the gate report {path} is not a JSON object")
    if report.get("schema_version") != SCHEMA_VERSION:
        raise GateReportError(
            f"the gate report {path} has schema version {report.get('schema_version')!r}; this mlops-testkit reads version {SCHEMA_VERSION}"
        )
    for key in ("gates", "passed", "content_hash"):
        if key not in report:
            raise GateReportError(f"the gate report {path} has no {key!r} field")
    if report["content_hash"] != content_hash(report):
        raise GateReportError(
            f"the gate report {path} does not match its content hash: it was modified after it was written"
        )
    return report


def gate_summary(report: Mapping[str, Any]) -> tuple[bool, str]:
    """(passed, a table of the gates) for a verified report."""
    gates = report["gates"]
    rows = [
        {
            "gate": g["name"],
            "kind": g["kind"],
            "value": "-" if g["value"] is None else g["value"],
            "threshold": g["threshold"],
            "verdict": "pass" if gate_passed(g) else "FAIL",
            "test": g.get("test_id") or "-",
        }
        for g in gates
    ]
    return verdict(gates), table(
        rows, ["gate", "kind", "value", "threshold", "verdict", "test"], max_rows=50
    )


def gate_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown, for a CI job summary or a merge-request note."""
    gates = report["gates"]
    passed = verdict(gates)
    model = report.get("model") or {}
    about = f" for {model.get('name')} v{model.get('version')}" if model.get("version") else ""
    if not gates:
        return f"### mlops-testkit gates{about}: none ran\n"
    lines = [
        f"### mlops-testkit gates{about}: {'passed' if passed else 'FAILED'}",
        "",
        f"{sum(gate_passed(g) for g in gates)} of {len(gates)} gate(s) passed; git "
        f"`{report.get('git_sha') or '-'}`; report `{report.get('content_hash', '-')[:19]}...`",
        "",
        "| gate | value | threshold | verdict | test |",
        "| --- | --- | --- | --- | --- |",
    ]
    for g in gates:
        value = "-" if g["value"] is None else f"{g['value']:.4g}"
        cells = [g["name"], value, g["threshold"], "pass" if gate_passed(g) else "**FAIL**"]
        cells.append(f"`{g.get('test_id') or '-'}`")
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
