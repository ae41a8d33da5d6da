"""The kill matrix and the ML mutation score: terminal lines, Markdown, HTML, JSON."""

from __future__ import annotations

import html as _html
from typing import Any

from mlops_testkit.mutation.outcome import KILLED, Mutant, Score
from mlops_testkit.mutation.runner import Run

LEGEND = "F failed, E errored, T timeout, . passed, s skipped"
WHY_DIFFERENT = (
    "The unit under test is the suite, not the model: each mutant runs the team's own "
    "tests once per seed, and a majority of failing runs kills it. DeepCrime retrains each "
    "mutated model 20 times and compares accuracy distributions (p < 0.05, Cohen's d >= "
    "0.5), which asks whether the fault changes the model; this asks whether the tests "
    "notice it."
)


def _columns(mutants: list[Mutant], selected: list[str]) -> list[str]:
    """Tests that killed a mutant, in suite order."""
    return [t for t in selected if any(m.cells.get(t, ".")[:1] in "FET" for m in mutants)]


def _short(test: str) -> str:
    return test.rsplit("::", 1)[-1] if "::" in test else test


def terminal_lines(mutants: list[Mutant], selected: list[str], result: Score) -> list[str]:
    lines = ["=" * 20 + " mlops-testkit: ML mutation score " + "=" * 20]
    lines.append(f"ML mutation score {result.describe()}")
    columns = _columns(mutants, selected)
    width = max([len(m.name) for m in mutants] + [8])
    lines.append(f"kill matrix ({LEGEND}); columns are the tests that killed something:")
    header = " " * (width + 18) + " ".join(f"T{i + 1:<3}" for i in range(len(columns)))
    lines.append(header)
    for m in mutants:
        cells = " ".join(f"{m.cells.get(t, '-'):<4}" for t in columns)
        lines.append(f"{m.name:<{width}}  {m.status:<16}{cells}")
    for i, test in enumerate(columns):
        lines.append(f"  T{i + 1} = {test}")
    quiet = len(selected) - len(columns)
    if quiet:
        lines.append(f"  {quiet} of {len(selected)} selected tests killed no mutant")
    for status, why in (
        ("not applicable", "never fired in these tests"),
        ("equivalent", "fired, but the model outputs equal the clean run's"),
        ("broken", "the mutant's run could not start"),
    ):
        group = [m for m in mutants if m.status == status]
        if group:
            lines.append(f"{status} ({why}): " + ", ".join(m.name for m in group))
            if status == "broken":
                lines.extend(f"  {m.name}: {m.runs[0].detail[-500:]}" for m in group)
    survivors = [m for m in mutants if m.status == "survived"]
    if survivors:
        lines.append(f"survivors ({len(survivors)}): faults no selected test notices")
        for m in survivors:
            target = f" [{'; '.join(m.targets[:3])}]" if m.targets else ""
            lines.append(f"  {m.name} ({m.area}): {m.bug}{target}")
            lines.append(f"    caught by: {m.catches}; for example:")
            lines.extend(f"      {line}" for line in m.example.splitlines())
    killed = [m for m in mutants if m.status in KILLED]
    if killed:
        lines.append("killed by (first test and message):")
        for m in killed:
            test, message = next(iter(m.messages.items()), ("(timeout)", ""))
            lines.append(f"  {m.name}: {_short(test)}: {message[:120]}")
    return lines


def markdown(mutants: list[Mutant], selected: list[str], result: Score) -> str:
    columns = _columns(mutants, selected)
    out = ["# ML mutation score", "", f"**{result.describe()}**", "", WHY_DIFFERENT, ""]
    out.append(f"## Kill matrix ({LEGEND})")
    out.append("")
    out.append(
        "| mutant | area | status | target | "
        + " | ".join(f"T{i + 1}" for i in range(len(columns)))
        + " |"
    )
    out.append("|" + " --- |" * (4 + len(columns)))
    for m in mutants:
        target = "; ".join(m.targets[:2]).replace("|", "/") or "-"
        cells = " | ".join(m.cells.get(t, "-") for t in columns)
        out.append(f"| {m.name} | {m.area} | {m.status} | {target} | {cells} |")
    out.append("")
    out.extend(f"- T{i + 1}: `{t}`" for i, t in enumerate(columns))
    out.append("")
    survivors = [m for m in mutants if m.status == "survived"]
    if survivors:
        out += ["## Survivors", ""]
        for m in survivors:
            out += [f"### {m.name} ({m.area})", "", m.bug, "", f"Caught by: {m.catches}.", ""]
            out += ["```python", m.example, "```", ""]
    killed = [m for m in mutants if m.status in KILLED]
    if killed:
        out += ["## Killed by", ""]
        for m in killed:
            for test, message in list(m.messages.items())[:3]:
                out.append(f"- {m.name}: `{_short(test)}`: {message[:160].replace('|', '/')}")
        out.append("")
    return "\n".join(out)


def html(mutants: list[Mutant], selected: list[str], result: Score) -> str:
    """The kill matrix as a heat map: red killed, amber errored/timeout, green passed."""
    colours = {"F": "#d73027", "E": "#fc8d59", "T": "#fee08b", ".": "#d9ef8b", "s": "#eeeeee"}
    columns = _columns(mutants, selected) or selected[:20]
    esc = _html.escape
    rows = []
    for m in mutants:
        cells = "".join(
            f'<td style="background:{colours.get(m.cells.get(t, "-")[:1], "#fff")}" '
            f'title="{esc(m.messages.get(t, ""))}">{esc(m.cells.get(t, "-"))}</td>'
            for t in columns
        )
        rows.append(f"<tr><th>{esc(m.name)}</th><td>{esc(m.status)}</td>{cells}</tr>")
    heads = "".join(f'<th title="{esc(t)}">{esc(_short(t))}</th>' for t in columns)
    return (
        "<!doctype html><meta charset='utf-8'><title>ML mutation score</title>"
        f"<h1>ML mutation score</h1><p><b>{esc(result.describe())}</b></p>"
        f"<p>{esc(WHY_DIFFERENT)}</p><table border='1' cellspacing='0'>"
        f"<tr><th>mutant</th><th>status</th>{heads}</tr>{''.join(rows)}</table>"
        f"<pre>{esc(markdown(mutants, selected, result))}</pre>"
    )


def to_dict(
    mutants: list[Mutant], selected: list[str], result: Score, clean: Run, elapsed: float
) -> dict[str, Any]:
    return {
        "score": result.value,
        "killed": result.killed,
        "applicable": result.applicable,
        "equivalent": result.equivalent,
        "selected_tests": selected,
        "clean_seconds": clean.duration,
        "clean_wall_seconds": clean.wall,
        "total_seconds": elapsed,
        "mutants": [m.to_dict() for m in mutants],
    }
