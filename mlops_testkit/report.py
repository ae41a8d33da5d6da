"""The run's results for people and tools: ``--mltk-json`` and ``--mltk-report`` (.md/.html).

The report holds the tests per category, the gate table, drift (reference vs current
distributions of drifted columns), slice metrics against their threshold, behavioral
failure rates, the loss curves of overfit tests and the ML Test Score. With matplotlib
(``pip install 'mlops-testkit[report]'``) the plots are PNG images embedded in the file
(``data:`` URIs: one self-contained file); without it, and always in Markdown next to
the images, they are drawn as text bars, which render anywhere (a GitHub job summary, a
GitLab merge-request note, a terminal).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


def collect(
    outcomes: Mapping[str, Mapping[str, str]],
    gate_report: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
    score: Any,
) -> dict[str, Any]:
    """Everything the JSON and the report show, as plain data."""
    tests = {
        key: {"counts": dict(Counter(tests.values())), "tests": dict(sorted(tests.items()))}
        for key, tests in sorted(outcomes.items())
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "created": gate_report.get("created"),
        "git_sha": gate_report.get("git_sha"),
        "model": gate_report.get("model"),
        "tests": tests,
        "gates": list(gate_report.get("gates", [])),
        "gates_passed": gate_report.get("passed"),
        "drift": [r for r in results if r["kind"] == "drift"],
        "behavioral": [r for r in results if r["kind"] == "behavioral"],
        "loss_curves": [r for r in results if r["kind"] == "loss_curve"],
        "score": score.as_dict() if score is not None else None,
    }


def write_json(path: Path, data: Mapping[str, Any]) -> Path:
    """Write ``data`` atomically as JSON."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path


# --- plots --------------------------------------------------------------------------------


def _matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    fig.clear()
    return base64.b64encode(buffer.getvalue()).decode()


def _bar(value: float, top: float, width: int = 24) -> str:
    filled = 0 if top <= 0 else round(width * max(value, 0.0) / top)
    return "█" * filled + "·" * (width - filled)


def _plots(data: Mapping[str, Any]) -> list[tuple[str, str | None, str]]:
    """(title, png base64 or None, text rendering) for every plot of the run."""
    plt = _matplotlib()
    plots: list[tuple[str, str | None, str]] = []
    for drift in data["drift"]:
        for column, hist in drift.get("histograms", {}).items():
            edges, ref, cur = hist["edges"], hist["reference"], hist["current"]
            top = max([*ref, *cur, 1e-12])
            text = "\n".join(
                f"{edges[i]:>10.4g}  ref {_bar(ref[i], top, 16)}  cur {_bar(cur[i], top, 16)}"
                for i in range(len(ref))
            )
            image = None
            if plt is not None:
                fig, ax = plt.subplots(figsize=(5, 2.6))
                mids = [(edges[i] + edges[i + 1]) / 2 for i in range(len(ref))]
                step = edges[1] - edges[0]
                ax.bar(mids, ref, width=step, alpha=0.5, label="reference")
                ax.bar(mids, cur, width=step, alpha=0.5, label="current")
                ax.set_title(f"drift: {column}")
                ax.legend()
                image = _png(fig)
                plt.close(fig)
            plots.append((f"Drift of {column}", image, text))
    for gate in data["gates"]:
        slices = (gate.get("details") or {}).get("slices")
        if gate.get("kind") != "slices" or not slices:
            continue
        metric = (gate.get("details") or {}).get("metric")
        rows = [
            (str(r.get("slice")), float(r[metric]))
            for r in slices
            if isinstance(r.get(metric), int | float) and r[metric] == r[metric]
        ]
        if not rows:
            continue
        bar_min = (gate.get("details") or {}).get("min")
        top = max([v for _, v in rows] + [bar_min or 0, 1e-12])
        text = "\n".join(f"{name:>12}  {_bar(v, top)} {v:.3f}" for name, v in rows)
        if bar_min is not None:
            text += f"\n{'threshold':>12}  {_bar(bar_min, top)} {bar_min:.3f}"
        image = None
        if plt is not None:
            fig, ax = plt.subplots(figsize=(5, 2.6))
            ax.bar([n for n, _ in rows], [v for _, v in rows])
            if bar_min is not None:
                ax.axhline(bar_min, color="red", linestyle="--", label=f"min {bar_min:g}")
                ax.legend()
            ax.set_title(gate["name"])
            image = _png(fig)
            plt.close(fig)
        plots.append((f"Slices: {gate['name']}", image, text))
    behavioral = data["behavioral"]
    if behavioral:
        text = "\n".join(
            f"{(r['test'] + ' ' + r['name']).strip()[:28]:>28}  {_bar(r['fail_rate'], 1.0)} "
            f"{r['fail_rate']:.1%} (max {r['max_fail_rate']:.1%})"
            for r in behavioral
        )
        image = None
        if plt is not None:
            fig, ax = plt.subplots(figsize=(6, 0.4 + 0.35 * len(behavioral)))
            labels = [(r["test"] + " " + r["name"]).strip()[:28] for r in behavioral]
            ax.barh(labels, [r["fail_rate"] for r in behavioral])
            ax.scatter(
                [r["max_fail_rate"] for r in behavioral], labels, color="red", marker="|", s=200
            )
            ax.set_xlabel("failure rate (red: threshold)")
            image = _png(fig)
            plt.close(fig)
        plots.append(("Behavioral failure rates", image, text))
    for curve in data["loss_curves"][:6]:
        losses = curve["losses"]
        if not losses:
            continue
        top = max([v for v in losses if v is not None] + [1e-12])
        picks = losses[:: max(1, len(losses) // 12)]
        text = "\n".join(f"{v:>10.4g}  {_bar(v or 0.0, top)}" for v in picks)
        image = None
        if plt is not None:
            fig, ax = plt.subplots(figsize=(5, 2.4))
            ax.plot(losses)
            ax.set_yscale("log" if min(v or 1 for v in losses) > 0 else "linear")
            ax.set_xlabel("step")
            ax.set_ylabel("loss")
            image = _png(fig)
            plt.close(fig)
        plots.append((f"Loss curve: {curve['test_id']} ({curve['device']})", image, text))
    return plots


# --- documents ------------------------------------------------------------------------------


def _gate_rows(data: Mapping[str, Any]) -> list[list[str]]:
    return [
        [
            g["name"],
            "-" if g["value"] is None else f"{g['value']:.4g}",
            str(g["threshold"]),
            "pass" if g["passed"] else "FAIL",
            str(g.get("test_id") or "-"),
        ]
        for g in data["gates"]
    ]


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


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(data: Mapping[str, Any]) -> str:
    model = data.get("model") or {}
    about = f" — {model.get('name')} v{model.get('version')}" if model.get("version") else ""
    out = [f"# mlops-testkit report{about}", ""]
    out.append(f"git `{data.get('git_sha') or '-'}`, {data.get('created') or ''}")
    out += ["", "## Tests", ""]
    rows = [
        [key, *(str(v["counts"].get(k, 0)) for k in ("passed", "failed", "skipped"))]
        for key, v in data["tests"].items()
    ]
    out.append(_md_table(["category / device", "passed", "failed", "skipped"], rows))
    if data["gates"]:
        verdict = "passed" if data["gates_passed"] else "FAILED"
        out += ["", f"## Gates: {verdict}", ""]
        out.append(_md_table(["gate", "value", "threshold", "verdict", "test"], _gate_rows(data)))
    for title, image, text in _plots(data):
        out += ["", f"## {title}", ""]
        if image:
            out.append(f'<img alt="{html.escape(title)}" src="data:image/png;base64,{image}">')
            out.append("")
        out += ["```text", text, "```"]
    score = data["score"]
    if score:
        out += ["", f"## ML Test Score: {score['final']:g}", "", f"*{score['band']}*", ""]
        sections = ", ".join(f"{k} {v:g}" for k, v in score["sections"].items())
        out += [f"Sections (of 7 each): {sections}.", ""]
        out.append(_md_table(["item", "test", "score", "evidence"], _score_rows(data)))
    return "\n".join(out) + "\n"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_document(data: Mapping[str, Any]) -> str:
    model = data.get("model") or {}
    about = f" — {model.get('name')} v{model.get('version')}" if model.get("version") else ""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>mlops-testkit report{html.escape(about)}</title>",
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:left}th{background:#f3f3f3}pre{background:#f7f7f7;"
        "padding:8px}.fail{color:#b00}</style></head><body>",
        f"<h1>mlops-testkit report{html.escape(about)}</h1>",
        f"<p>git <code>{html.escape(str(data.get('git_sha') or '-'))}</code>, "
        f"{html.escape(str(data.get('created') or ''))}</p>",
        "<h2>Tests</h2>",
        _html_table(
            ["category / device", "passed", "failed", "skipped"],
            [
                [key, *(str(v["counts"].get(k, 0)) for k in ("passed", "failed", "skipped"))]
                for key, v in data["tests"].items()
            ],
        ),
    ]
    if data["gates"]:
        verdict = "passed" if data["gates_passed"] else "FAILED"
        parts.append(f"<h2>Gates: {verdict}</h2>")
        parts.append(
            _html_table(["gate", "value", "threshold", "verdict", "test"], _gate_rows(data))
        )
    for title, image, text in _plots(data):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if image:
            parts.append(f'<img alt="{html.escape(title)}" src="data:image/png;base64,{image}">')
        else:
            parts.append(f"<pre>{html.escape(text)}</pre>")
    score = data["score"]
    if score:
        parts.append(
            f"<h2>ML Test Score: {score['final']:g}</h2><p><em>{html.escape(score['band'])}</em></p>"
        )
        sections = ", ".join(f"{k} {v:g}" for k, v in score["sections"].items())
        parts.append(f"<p>Sections (of 7 each): {html.escape(sections)}.</p>")
        parts.append(_html_table(["item", "test", "score", "evidence"], _score_rows(data)))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(path: Path, data: Mapping[str, Any]) -> Path:
    """Write the report; ``.html``/``.htm`` gives HTML, anything else Markdown."""
    import os

    text = html_document(data) if path.suffix.lower() in (".html", ".htm") else markdown(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
