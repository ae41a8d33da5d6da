"""``pytest --mltk-mutate``: two clean runs, then one pytest process per mutant (and
seed), in parallel, then the kill matrix and the ML mutation score.

Called from the plugin's ``pytest_cmdline_main`` before any session starts; returns the
exit status: 0 done (score at or above ``--mltk-mutate-min-score``), 1 refused (the
suite fails or is flaky, a mutant could not run, or the score is under the minimum),
4 usage error, 5 no test to mutate against.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlops_testkit.mutation.options import MutateOptions, child_args
from mlops_testkit.mutation.outcome import Mutant, decide, score
from mlops_testkit.mutation.runner import Run, run_pytest

MARKED = ("model", "data", "behavioral", "gate")
MIN_BUDGET_S = 2.0  # the timeout's floor, for suites that run in a blink


def say(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run(config: Any) -> int:
    import pytest

    from mlops_testkit.mutation.registry import available

    started = time.perf_counter()
    if importlib.util.find_spec("torch") is None:
        raise pytest.UsageError(
            "mlops-testkit: --mltk-mutate plants faults through torch, which is not "
            "installed: pip install 'mlops-testkit[torch]'"
        )
    opts = MutateOptions.from_config(config)
    operators = available(config.pluginmanager)
    names = list(opts.operators or operators)
    unknown = [n for n in names if n not in operators]
    if unknown:
        raise pytest.UsageError(
            f"mlops-testkit: --mltk-mutate-operators: unknown {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(operators)}"
        )
    args = child_args(config.invocation_params.args)
    cwd = str(config.invocation_params.dir)
    say(
        f"mlops-testkit mutate: {len(names)} operators x {opts.runs} run(s), "
        f"{opts.workers} worker(s)"
    )
    with tempfile.TemporaryDirectory(prefix="mltk-mutate-") as tmp:
        work = Path(tmp)
        clean = run_pytest(args, cwd=cwd, workdir=work, label="clean-1")
        problem = _refusal_of_first(clean)
        if problem:
            say(problem)
            return 5 if problem.startswith("no test") else 1
        selected = [
            t
            for t, e in clean.tests.items()
            if e["outcome"] == "passed" and (e["torch"] or set(e.get("markers", ())) & set(MARKED))
        ]
        if not selected:
            say(
                "mlops-testkit mutate: refused: no passing test touches torch or is marked "
                f"{'/'.join(MARKED)}; nothing could kill a mutant."
            )
            return 5
        select = work / "select.json"
        select.write_text(json.dumps(selected), encoding="utf-8")
        again = run_pytest(args, cwd=cwd, workdir=work, label="clean-2", select=select)
        flaky = _flaky(again, selected)
        if flaky:
            say(
                "mlops-testkit mutate: refused: the suite is flaky; a second clean run "
                "disagrees on:"
            )
            for line in flaky[:20]:
                say(f"  {line}")
            say("A mutation score over a flaky suite means nothing: fix or seed these tests.")
            return 1
        stable = {
            t: clean.tests[t]["digest"]
            for t in selected
            if clean.tests[t]["calls"] and clean.tests[t]["digest"] == again.tests[t]["digest"]
        }
        startup = max(again.wall - again.duration, 0.0)
        # parallel runs share the CPUs: each one runs slower than the clean run did alone
        contention = max(1.0, min(opts.workers, len(names) * opts.runs) / (os.cpu_count() or 1))
        budget = contention * (startup + opts.timeout * max(again.duration, MIN_BUDGET_S))
        say(
            f"clean selection: {len(selected)} tests, {again.duration:.1f} s in-process "
            f"(+{startup:.1f} s start-up); per-mutant timeout {budget:.0f} s"
        )
        mutants = _run_mutants(operators, names, opts, args, cwd, work, select, budget)
    for mutant in mutants:
        decide(mutant, selected, stable)
    result = score(mutants)
    elapsed = time.perf_counter() - started
    return _finish(config, opts, mutants, selected, result, clean, again, elapsed)


def _refusal_of_first(clean: Run) -> str:
    if clean.status != "ran":
        return (
            f"mlops-testkit mutate: the clean run could not run "
            f"(exit status {clean.exitstatus}):\n{clean.detail}"
        )
    if clean.detail:
        return f"mlops-testkit mutate: refused: {clean.detail}"
    failing = [
        f"{t}: {e['outcome']}: {e['message']}"
        for t, e in clean.tests.items()
        if e["outcome"] not in ("passed", "skipped")
    ]
    if failing:
        lines = "\n".join(f"  {f}" for f in failing[:20])
        more = f"\n  +{len(failing) - 20} more" if len(failing) > 20 else ""
        return (
            "mlops-testkit mutate: refused: the suite does not pass without mutants; "
            f"fix these first:\n{lines}{more}"
        )
    if not clean.tests:
        return "no test was collected: nothing to mutate against"
    return ""


def _flaky(again: Run, selected: list[str]) -> list[str]:
    if again.status != "ran":
        return [f"(the second clean run could not run: {again.status}) {again.detail}"]
    lines = []
    for test in selected:
        entry = again.tests.get(test)
        if entry is None:
            lines.append(f"{test}: did not run")
        elif entry["outcome"] != "passed":
            lines.append(f"{test}: passed, then {entry['outcome']}: {entry['message']}")
    return lines


def _run_mutants(
    operators: dict[str, Any],
    names: list[str],
    opts: MutateOptions,
    args: list[str],
    cwd: str,
    work: Path,
    select: Path,
    budget: float,
) -> list[Mutant]:
    mutants = [
        Mutant(
            n, operators[n].area, operators[n].bug(), operators[n].catches, operators[n].example
        )
        for n in names
    ]
    jobs = [(m, opts.seed + i) for m in mutants for i in range(opts.runs)]

    def one(job: tuple[Mutant, int]) -> Run:
        mutant, seed = job
        return run_pytest(
            args,
            cwd=cwd,
            workdir=work,
            label=f"{mutant.name}-{seed}",
            mutant=f"{mutant.name}:{seed}",
            select=select,
            timeout=budget,
        )

    with ThreadPoolExecutor(max_workers=opts.workers) as pool:
        for (mutant, _), result in zip(jobs, pool.map(one, jobs), strict=True):
            mutant.runs.append(result)
    return mutants


def _finish(
    config: Any,
    opts: MutateOptions,
    mutants: list[Mutant],
    selected: list[str],
    result: Any,
    clean: Run,
    again: Run,
    elapsed: float,
) -> int:
    from mlops_testkit.mutation import render

    data = render.to_dict(mutants, selected, result, again, elapsed)
    for line in render.terminal_lines(mutants, selected, result):
        say(line)
    say(
        f"total {elapsed:.1f} s = {elapsed / max(again.wall, 1e-9):.1f} x the clean selection "
        f"run ({again.wall:.1f} s)"
    )
    if opts.report:
        Path(opts.report).write_text(
            (
                render.html(mutants, selected, result)
                if opts.report.lower().endswith((".html", ".htm"))
                else render.markdown(mutants, selected, result)
            ),
            encoding="utf-8",
        )
        say(f"kill matrix written to {opts.report}")
    _write_results(config, opts, data)
    broken = [m for m in mutants if m.status == "broken"]
    if broken:
        say(f"FAILED: {len(broken)} mutant(s) could not run: " + ", ".join(m.name for m in broken))
        return 1
    below = result.value is None or result.value < (opts.min_score or 0.0)
    if opts.min_score is not None and below:
        say(
            f"FAILED: ML mutation score {result.describe()} is under the minimum "
            f"{opts.min_score:.2f} (--mltk-mutate-min-score)"
        )
        return 1
    return 0


def _write_results(config: Any, opts: MutateOptions, data: dict[str, Any]) -> None:
    """``--mltk-json``: the results under ``"mutation"``, added to the file a test run
    wrote there (its tests, gates and ML Test Score stay), or alone. ``--mltk-report``:
    the run's report from that file, with the mutation score on the ML Test Score page."""
    report = config.getoption("mltk_report", None)
    if not (opts.json or report):
        return
    from mlops_testkit.reporting.report import write_json, write_report

    merged: dict[str, Any] = {}
    if opts.json and Path(opts.json).is_file():
        try:
            earlier = json.loads(Path(opts.json).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            earlier = None  # not ours to keep: the file is rewritten with the results
        if isinstance(earlier, dict):
            merged = {k: v for k, v in earlier.items() if k != "mutation"}
    merged["mutation"] = data
    if opts.json:
        write_json(Path(opts.json), merged)
        kept = " (beside the test run's results there)" if len(merged) > 1 else ""
        say(f"results written to {opts.json}{kept}")
    if report:
        full = {"tests": {}, "gates": [], "results": [], "score": None, **merged}
        write_report(Path(report), full)
        say(f"report written to {report}")
