from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops_testkit import __version__
from mlops_testkit.cli import main

SCRIPT = Path(sys.executable).with_name("mlops-testkit")


def test_console_script_version() -> None:
    out = subprocess.run([str(SCRIPT), "--version"], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == f"mlops-testkit {__version__}"


def test_help_lists_commands(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "devices" in capsys.readouterr().out
    assert main([]) == 0  # no command: help, success


def test_devices_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mlops_testkit", "devices", "--require", "cpu"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.startswith("cpu   yes")
    missing = "mps" if sys.platform != "darwin" else "cuda"
    failed = subprocess.run(
        [sys.executable, "-m", "mlops_testkit", "devices", "--require", f"cpu,{missing}"],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert f"required device(s) missing: {missing}" in failed.stderr


def test_devices_bad_argument(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["devices", "--require", "gpu"])
    assert exc.value.code == 2
    assert "argument --require: unknown device 'gpu'" in capsys.readouterr().err
