"""The demo's subjects stay green: each example project's suite passes with the plugin."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=EXAMPLES / name,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_sentiment_suite_passes() -> None:
    out = run_example("sentiment")
    line = re.search(r"^behavioral: (\d+) passed$", out, flags=re.M)
    assert line is not None and int(line.group(1)) >= 6, out


@pytest.mark.slow
def test_credit_scoring_suite_passes() -> None:
    out = run_example("credit_scoring")
    assert "= mlops-testkit =" in out
    for category in ("data", "model", "behavioral", "gate"):
        line = re.search(rf"^{category}: (\d+) passed$", out, flags=re.M)
        assert line is not None and int(line.group(1)) >= 5, out
    assert re.search(r"^devices: cpu \d+ passed", out, flags=re.M), out
