"""The terminal summary: counts per category and device, then each kind's own lines (from
its renderer), the gates, the ML Test Score and what the end of the run did."""

from __future__ import annotations

from collections import Counter
from typing import Any

from mlops_testkit.reporting.results import by_kind, renderer_for, safely

CATEGORIES = ("data", "model", "behavioral", "gate")
MAX_GATES = 8


def counts(outcomes: Counter[str]) -> str:
    order = ("passed", "failed", "skipped")
    return ", ".join(f"{outcomes[k]} {k}" for k in order if outcomes[k])


def summary_lines(state: Any) -> list[str]:
    """Every line of the mlops-testkit section, for a finished run (``MltkSession``)."""
    lines = []
    for category in CATEGORIES:
        found = Counter(state.outcomes.get(category, {}).values())
        if found:
            lines.append(f"{category}: {counts(found)}")
    lines += _device_lines(state)
    for results in by_kind(state.results).values():
        renderer = renderer_for(results[0])
        if renderer.gate or renderer.summary is None:
            continue
        lines += safely(
            results[0], "write its summary lines", lambda r=renderer, x=results: r.summary(x), []
        )
    gates = state.gates
    if gates:
        lines.append(gate_lines(gates))
    if state.gate_report_path is not None or state.value("gate_report") is not None:
        model = state.model_info()
        about = f" ({model['name']} v{model['version'] or '?'})" if model is not None else ""
        lines.append(f"gate report: {state.gate_report_path or state.value('gate_report')}{about}")
    if state.score is not None and state.value("score"):
        lines.extend(state.score.lines())
    for extra in state.config.hook.pytest_mltk_summary(
        config=state.config, results=list(state.results)
    ):
        lines.extend(str(line) for line in extra or ())
    lines.extend(state.finish_notes)
    lines.extend(f"ERROR {e}" for e in state.finish_errors)
    if state.changes is not None:
        if state.changes.run_model_tests:
            lines.append(state.changes.reason)
        else:
            lines.append(f"deselected {state.deselected} model test(s): {state.changes.reason}")
    return lines


def _device_lines(state: Any) -> list[str]:
    keys = sorted(k for k in state.outcomes if k.startswith("device:"))
    if not keys:
        return []
    parts = [f"{k[len('device:') :]} {counts(Counter(state.outcomes[k].values()))}" for k in keys]
    lines = ["devices: " + "; ".join(parts)]
    probed = state.probed or state.worker_probes
    used = {k[len("device:") :] for k in keys}
    missing = [s.describe() for s in probed.values() if not s.available and s.name in used]
    if missing:
        lines.append("devices missing here: " + "; ".join(missing))
    return lines


def gate_lines(gates: list[dict[str, Any]]) -> str:
    """Failures first, then passes: each gate's value against its threshold."""
    from mlops_testkit.gate_report import gate_passed

    failed = [g for g in gates if not gate_passed(g)]
    text = f"gates: {len(gates) - len(failed)} passed, {len(failed)} failed"
    shown = [*failed, *(g for g in gates if gate_passed(g))][:MAX_GATES]
    for g in shown:
        value = "-" if g.get("value") is None else f"{g['value']:.4g}"
        verdict = "pass" if gate_passed(g) else "FAIL"
        text += f"\n  {verdict} {g['name']}: {value}, required {g['threshold']}"
    if len(gates) > len(shown):
        text += f"\n  +{len(gates) - len(shown)} more"
    return text
