"""Deciding each mutant's fate from its runs, and the ML mutation score.

- killed: a test that passed in both clean runs fails under the mutant ("errored" when
  it raised something other than an assertion: the test may be brittle rather than
  sharp; "timeout" when the run hung). With several runs (seeds), a majority decides.
- not applicable: the operator never fired (no optimiser step, no BatchNorm, no
  DataLoader...). Never killed, whatever the tests did.
- equivalent: fired, not killed, and every stable digest of the outermost model
  outputs equals the clean run's: the fault changed nothing the tests' inputs show.
- survived: fired, changed the outputs, and every test still passed.
- broken: the mutant's process could not run (usage or internal error); listed, not
  scored, and the session fails.

score = killed / (applicable - equivalent), killed counting errored and timeout.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit.mutation.runner import Run

KILLED = ("killed", "errored", "timeout")


@dataclass
class Mutant:
    name: str
    area: str
    bug: str
    catches: str
    example: str
    runs: list[Run] = field(default_factory=list)
    status: str = ""
    cells: dict[str, str] = field(default_factory=dict)  # test -> "F", "E", "T", ".", ...
    messages: dict[str, str] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    triggers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "operator": self.name,
            "area": self.area,
            "bug": self.bug,
            "status": self.status,
            "targets": self.targets,
            "triggers": self.triggers,
            "killed_by": {t: self.messages.get(t, "") for t, c in self.cells.items() if _kills(c)},
            "cells": self.cells,
            "catches": self.catches,
            "example": self.example,
            "runs": [
                {"label": r.label, "status": r.status, "triggers": r.triggers, "detail": r.detail}
                for r in self.runs
            ],
        }


def _kills(cell: str) -> bool:
    return cell[:1] in ("F", "E", "T")


def run_verdict(
    run: Run, selected: list[str], stable: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """One run's verdict and its cells (test -> F/E/./s/-)."""
    if run.status == "timeout":
        return "timeout", dict.fromkeys(selected, "T")
    if run.status == "broken":
        return "broken", dict.fromkeys(selected, "?")
    cells = {}
    for test in selected:
        entry = run.tests.get(test)
        if entry is None:
            cells[test] = "E"  # it did not run: its module no longer imports, or collection broke
            continue
        cells[test] = {"failed": "F", "errored": "E", "skipped": "s"}.get(entry["outcome"], ".")
    if run.triggers == 0:
        return "not applicable", cells
    if any(c == "F" for c in cells.values()):
        return "killed", cells
    if any(c == "E" for c in cells.values()):
        return "errored", cells
    compared = [t for t in stable if t in run.tests]
    if compared and all(run.tests[t].get("digest") == stable[t] for t in compared):
        return "equivalent", cells
    return "survived", cells


def decide(mutant: Mutant, selected: list[str], stable: dict[str, str]) -> None:
    verdicts = []
    per_test: dict[str, list[str]] = {t: [] for t in selected}
    for run in mutant.runs:
        verdict, cells = run_verdict(run, selected, stable)
        verdicts.append(verdict)
        for test, cell in cells.items():
            per_test[test].append(cell)
            entry = run.tests.get(test) or {}
            if cell in ("F", "E") and test not in mutant.messages:
                mutant.messages[test] = entry.get("message") or "did not run under the mutant"
        mutant.triggers += run.triggers
        for target in run.targets:
            if target not in mutant.targets:
                mutant.targets.append(target)
    n = len(verdicts)
    counts = Counter(verdicts)
    killed = sum(counts[v] for v in KILLED)
    if counts["broken"]:
        mutant.status = "broken"
    elif counts["not applicable"] == n:
        mutant.status = "not applicable"
    elif killed * 2 > n:
        mutant.status = next(v for v in KILLED if counts[v])
    elif counts["equivalent"] and counts["equivalent"] + counts["not applicable"] == n:
        mutant.status = "equivalent"
    else:
        mutant.status = "survived"
    for test, cells in per_test.items():
        if n == 1:
            mutant.cells[test] = cells[0]
        else:
            hits = sum(1 for c in cells if _kills(c))
            worst = next((k for k in ("F", "E", "T") if k in cells), ".")
            mutant.cells[test] = f"{worst}{hits}/{n}" if hits else "."


@dataclass
class Score:
    killed: int
    applicable: int
    equivalent: int

    @property
    def denominator(self) -> int:
        return self.applicable - self.equivalent

    @property
    def value(self) -> float | None:
        return self.killed / self.denominator if self.denominator > 0 else None

    def describe(self) -> str:
        if self.value is None:
            return "no score: no applicable, non-equivalent mutant"
        return (
            f"{self.value:.2f} ({self.killed} killed / ({self.applicable} applicable - "
            f"{self.equivalent} equivalent))"
        )


def score(mutants: list[Mutant]) -> Score:
    applicable = [m for m in mutants if m.status not in ("not applicable", "broken")]
    return Score(
        killed=sum(1 for m in applicable if m.status in KILLED),
        applicable=len(applicable),
        equivalent=sum(1 for m in applicable if m.status == "equivalent"),
    )
