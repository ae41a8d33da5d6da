"""The demo's subject stays green: the example project's suite passes with the plugin."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "credit_scoring"


@pytest.mark.slow
def test_credit_scoring_suite_passes() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "= mlops-testkit =" in proc.stdout
    for category in ("data", "model"):
        line = re.search(rf"^{category}: (\d+) passed$", proc.stdout, flags=re.M)
        assert line is not None and int(line.group(1)) >= 5, proc.stdout
    assert re.search(r"^devices: cpu \d+ passed", proc.stdout, flags=re.M), proc.stdout
