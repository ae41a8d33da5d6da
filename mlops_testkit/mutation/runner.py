"""Runs one pytest process for a clean run or a mutant, with a timeout, and reads what
its runtime wrote (:mod:`mlops_testkit.mutation.runtime`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_testkit.mutation.runtime import ENV_MUTANT, ENV_OUT, ENV_SELECT


@dataclass
class Run:
    """What one pytest process reported."""

    label: str
    status: str  # "ran", "timeout" or "broken" (no result: crashed, usage error)
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    operator: dict[str, Any] | None = None
    duration: float = 0.0  # in-process, after interpreter start-up and torch's import
    wall: float = 0.0
    exitstatus: int | None = None
    detail: str = ""

    @property
    def triggers(self) -> int:
        return int((self.operator or {}).get("triggers", 0))

    @property
    def targets(self) -> list[str]:
        return list((self.operator or {}).get("targets", []))


def pytest_command(args: list[str]) -> list[str]:
    command = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"]
    command += ["-p", "no:randomly", "-q", "--no-header", "-o", "console_output_style=classic"]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") and "mlops_testkit.plugin" not in args:
        command += ["-p", "mlops_testkit.plugin"]
    return command


def run_pytest(
    args: list[str],
    *,
    cwd: str | Path,
    workdir: Path,
    label: str,
    mutant: str | None = None,
    select: Path | None = None,
    timeout: float | None = None,
) -> Run:
    out = workdir / f"{label}.json"
    log = workdir / f"{label}.log"
    env = dict(os.environ)
    env[ENV_OUT] = str(out)
    env.pop(ENV_MUTANT, None)
    env.pop(ENV_SELECT, None)
    if mutant:
        env[ENV_MUTANT] = mutant
    if select is not None:
        env[ENV_SELECT] = str(select)
    start = time.perf_counter()
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            pytest_command(args),
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return Run(
                label, "timeout", wall=time.perf_counter() - start, detail=f"over {timeout:.0f} s"
            )
    wall = time.perf_counter() - start
    if not out.exists():
        return Run(label, "broken", wall=wall, exitstatus=proc.returncode, detail=_tail(log))
    data = json.loads(out.read_text(encoding="utf-8"))
    run = Run(
        label,
        "ran",
        tests=data.get("tests", {}),
        operator=data.get("operator"),
        duration=float(data.get("duration", 0.0)),
        wall=wall,
        exitstatus=proc.returncode,
        detail=data.get("error") or "",
    )
    if proc.returncode in (2, 3, 4):  # interrupted, internal error, usage error
        run.status = "broken"
        run.detail = run.detail or _tail(log)
    return run


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the process group this call started
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
