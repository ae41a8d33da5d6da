"""The run's results for people and tools: ``--mltk-json`` and ``--mltk-report`` (.md/.html).

The report holds the tests per category, the gate table, then one or more sections per
kind of result, each drawn by its kind's renderer (drift histograms, slice bars,
behavioral failure rates, loss curves...), sections other plugins add through
``pytest_mltk_report_sections``, and the ML Test Score. With matplotlib
(``pip install 'mlops-testkit[report]'``) plots are PNG images embedded in the file
(``data:`` URIs: one self-contained file); without it, and always in Markdown next to
the images, they are drawn as text bars.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops_testkit._io import write_atomic
from mlops_testkit.reporting.results import Section, by_kind, renderer_for, safely

SCHEMA_VERSION = 1


def collect(
    outcomes: Mapping[str, Mapping[str, str]],
    gate_report: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
    score: Any,
) -> dict[str, Any]:
    """Everything the JSON and the report show, as plain data. Results are grouped by
    their renderer's ``json_key`` (``drift``, ``behavioral``, ``loss_curves``...), and
    all of them are under ``results`` too."""
    tests = {
        key: {"counts": dict(Counter(tests.values())), "tests": dict(sorted(tests.items()))}
        for key, tests in sorted(outcomes.items())
    }
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": gate_report.get("created"),
        "git_sha": gate_report.get("git_sha"),
        "model": gate_report.get("model"),
        "tests": tests,
        "gates": list(gate_report.get("gates", [])),
        "gate_tests": list(gate_report.get("gate_tests", [])),
        "gates_passed": gate_report.get("passed"),
        "drift": [],
        "behavioral": [],
        "loss_curves": [],
        "results": [dict(r) for r in results],
        "score": score.as_dict() if score is not None else None,
    }
    for kind, group in by_kind(results).items():
        renderer = renderer_for(group[0])
        if renderer.gate:
            continue
        data.setdefault(renderer.json_key or kind, []).extend(group)
    return data


def write_json(path: Path, data: Mapping[str, Any]) -> Path:
    """Write ``data`` atomically as JSON."""
    return write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def sections(data: Mapping[str, Any]) -> list[Section]:
    """Every kind's report sections in the order kinds first appear: the results'
    kinds, then the gates' (drawn from the gate report's entries)."""
    out: list[Section] = []
    groups = [g for g in by_kind(data["results"]).values() if not renderer_for(g[0]).gate]
    groups += list(by_kind(data["gates"]).values())
    for group in groups:
        renderer = renderer_for(group[0])
        if renderer.sections is None:
            continue
        out += safely(
            group[0], "draw its report section", lambda r=renderer, g=group: r.sections(g), []
        )
    return out


def _gate_rows(data: Mapping[str, Any]) -> list[list[str]]:
    from mlops_testkit.gate_report import gate_passed

    return [
        [
            g["name"],
            "-" if g["value"] is None else f"{g['value']:.4g}",
            str(g["threshold"]),
            "pass" if gate_passed(g) else "FAIL",
            str(g.get("test_id") or "-"),
        ]
        for g in data["gates"]
    ]


def _gate_test_rows(data: Mapping[str, Any]) -> list[list[str]]:
    """Every gate test with its outcome: what the gate report's verdict rests on."""
    rows = []
    for t in data.get("gate_tests") or []:
        outcome = str(t.get("outcome"))
        if t.get("allowed"):
            outcome += f" (allowed: {t['allowed']})"
        verdict = "pass" if t.get("passed") else "FAIL"
        rows.append(
            [str(t.get("test_id")), outcome, str(t.get("gates")), verdict, t.get("message") or ""]
        )
    return rows


GATE_TEST_HEADER = ("gate test", "outcome", "gates", "verdict", "why")


def _score_rows(data: Mapping[str, Any]) -> list[list[str]]:
    score = data["score"]
    if not score:
        return []
    return [
        [
            i["id"],
            i["title"],
            f"{i['score']:g}",
            ", ".join(i["evidence"][:2]) or (i["manual"] or ""),
        ]
        for i in score["items"]
    ]


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _test_rows(data: Mapping[str, Any]) -> list[list[str]]:
    return [
        [key, *(str(v["counts"].get(k, 0)) for k in ("passed", "failed", "skipped"))]
        for key, v in data["tests"].items()
    ]


def _about(data: Mapping[str, Any]) -> str:
    model = data.get("model") or {}
    return f" — {model.get('name')} v{model.get('version')}" if model.get("version") else ""


def markdown(data: Mapping[str, Any], extra: Sequence[Section] = ()) -> str:
    out = [f"# mlops-testkit report{_about(data)}", ""]
    out.append(f"git `{data.get('git_sha') or '-'}`, {data.get('created') or ''}")
    out += ["", "## Tests", ""]
    out.append(_md_table(["category / device", "passed", "failed", "skipped"], _test_rows(data)))
    if data["gates"] or data.get("gate_tests"):
        verdict = "passed" if data["gates_passed"] else "FAILED"
        out += ["", f"## Gates: {verdict}", ""]
        if data.get("gate_tests"):
            out += [_md_table(GATE_TEST_HEADER, _gate_test_rows(data)), ""]
        out.append(_md_table(["gate", "value", "threshold", "verdict", "test"], _gate_rows(data)))
    for section in [*sections(data), *extra]:
        out += ["", f"## {section.title}", ""]
        if section.note:
            out += [section.note, ""]
        if section.table:
            out += [_md_table(section.header, section.table), ""]
        if section.image:
            alt = html.escape(section.title)
            out += [f'<img alt="{alt}" src="data:image/png;base64,{section.image}">', ""]
        if section.text:
            out += ["```text", section.text, "```"]
    score = data["score"]
    if score:
        out += ["", f"## ML Test Score: {score['final']:g}", "", f"*{score['band']}*", ""]
        parts = ", ".join(f"{k} {v:g}" for k, v in score["sections"].items())
        out += [f"Sections (of 7 each): {parts}.", ""]
        out.append(_md_table(["item", "test", "score", "evidence"], _score_rows(data)))
    out += _md_mutation(data)
    return "\n".join(out) + "\n"


def _md_mutation(data: Mapping[str, Any]) -> list[str]:
    """The ML mutation score beside the rubric, when a mutation run wrote its results."""
    from mlops_testkit.reporting import score as rubric

    mutation = data.get("mutation")
    if not mutation:
        return []
    head = "###" if data.get("score") else "##"
    out = ["", f"{head} ML mutation score: {rubric.mutation_headline(mutation)}", ""]
    out += [rubric.MUTATION_NOTE, ""]
    rows = rubric.mutation_rows(mutation, data.get("score"))
    return [*out, _md_table(rubric.MUTATION_HEADER, rows)] if rows else out


def _html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_document(data: Mapping[str, Any], extra: Sequence[Section] = ()) -> str:
    about = html.escape(_about(data))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>mlops-testkit report{about}</title>",
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:left}th{background:#f3f3f3}pre{background:#f7f7f7;"
        "padding:8px}.fail{color:#b00}</style></head><body>",
        f"<h1>mlops-testkit report{about}</h1>",
        f"<p>git <code>{html.escape(str(data.get('git_sha') or '-'))}</code>, "
        f"{html.escape(str(data.get('created') or ''))}</p>",
        "<h2>Tests</h2>",
        _html_table(["category / device", "passed", "failed", "skipped"], _test_rows(data)),
    ]
    if data["gates"] or data.get("gate_tests"):
        verdict = "passed" if data["gates_passed"] else "FAILED"
        parts.append(f"<h2>Gates: {verdict}</h2>")
        if data.get("gate_tests"):
            parts.append(_html_table(GATE_TEST_HEADER, _gate_test_rows(data)))
        parts.append(
            _html_table(["gate", "value", "threshold", "verdict", "test"], _gate_rows(data))
        )
    for section in [*sections(data), *extra]:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.note:
            parts.append(f"<p>{html.escape(section.note)}</p>")
        if section.table:
            parts.append(_html_table(section.header, section.table))
        if section.image:
            alt = html.escape(section.title)
            parts.append(f'<img alt="{alt}" src="data:image/png;base64,{section.image}">')
        elif section.text:
            parts.append(f"<pre>{html.escape(section.text)}</pre>")
    score = data["score"]
    if score:
        parts.append(
            f"<h2>ML Test Score: {score['final']:g}</h2><p><em>{html.escape(score['band'])}</em></p>"
        )
        sections_text = ", ".join(f"{k} {v:g}" for k, v in score["sections"].items())
        parts.append(f"<p>Sections (of 7 each): {html.escape(sections_text)}.</p>")
        parts.append(_html_table(["item", "test", "score", "evidence"], _score_rows(data)))
    mutation = data.get("mutation")
    if mutation:
        from mlops_testkit.reporting import score as rubric

        head = "h3" if score else "h2"
        title = html.escape(f"ML mutation score: {rubric.mutation_headline(mutation)}")
        parts.append(f"<{head}>{title}</{head}><p>{html.escape(rubric.MUTATION_NOTE)}</p>")
        rows = rubric.mutation_rows(mutation, score)
        if rows:
            parts.append(_html_table(rubric.MUTATION_HEADER, rows))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(path: Path, data: Mapping[str, Any], extra: Sequence[Section] = ()) -> Path:
    """Write the report; ``.html``/``.htm`` gives HTML, anything else Markdown."""
    is_html = path.suffix.lower() in (".html", ".htm")
    text = html_document(data, extra) if is_html else markdown(data, extra)
    return write_atomic(path, text)
