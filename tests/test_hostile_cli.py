"""Hostile settings and command lines: a usage error (exit 2, or pytest's usage error),
a refusal with a message (exit 1), never a traceback, an INTERNALERROR or a hang."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlops_testkit import settings as mltk_settings

pytestmark = pytest.mark.hostile  # make test-hostile runs these with more examples

BAD = ["", " ", "nan", "inf", "-5", "0", "x" * 5000, "\x00", "1e999", "[]", "-", "abc", "1.5"]


def _parse_outcome(parse, value) -> str:
    try:
        parse(value)
    except ValueError:  # what the settings' parse functions raise, quoted as a usage error
        return "usage"
    except Exception:
        return "raw"
    return "result"


@pytest.mark.parametrize("setting", mltk_settings.SETTINGS, ids=lambda s: s.name)
def test_setting_parsers_on_hostile_values(setting) -> None:
    for value in [*BAD, ["a", "b"], ["", "x"]]:
        outcome = _parse_outcome(setting.parse, value)
        assert outcome != "raw", f"{setting.name}: parse({value!r}) raised a raw exception"


SETTING_RUNS = [
    ("option", ["--mltk-seed=abc"]),
    ("option", ["--mltk-seed="]),
    ("option", ["--mltk-devices=tpu"]),
    ("option", ["--mltk-changed-since=-x"]),
    ("option", ["--mltk-gate-report="]),
    ("env", {"MLTK_SEED": "nan"}),
    ("env", {"MLTK_DEVICES": ",,"}),
    ("env", {"MLTK_AUTOSEED": "maybe"}),
    ("env", {"MLTK_DETERMINISTIC": "2"}),
    ("env", {"MLTK_CANDIDATE": "v-1"}),
    ("ini", "mltk_seed = 1.5"),
    ("ini", "mltk_autoseed = perhaps"),
    ("ini", "mltk_manual_items = nonsense-item"),
]


@pytest.mark.parametrize(("where", "value"), SETTING_RUNS)
def test_bad_settings_are_usage_errors(pytester, monkeypatch, where, value) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    args: list[str] = []
    if where == "option":
        args = value
    elif where == "env":
        for k, v in value.items():
            monkeypatch.setenv(k, v)
    else:
        pytester.makeini(f"[pytest]\n{value}\n")
    result = pytester.runpytest(*args)
    text = result.stdout.str() + result.stderr.str()
    outcome = (
        "crash"
        if "INTERNALERROR" in text or "Traceback" in text
        else "usage" if result.ret == pytest.ExitCode.USAGE_ERROR else "result"
    )
    assert outcome != "crash", text[-2000:]


def _cli(args: list[str], timeout: float = 20.0) -> tuple[str, int | None, str]:
    """Run the CLI in a subprocess: (outcome, exit code, output)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mlops_testkit", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        )
    except subprocess.TimeoutExpired:
        return "hang", None, ""
    out = proc.stdout + proc.stderr
    if "Traceback (most recent call last)" in out:
        return "raw", proc.returncode, out
    if proc.returncode == 2:
        return "usage", 2, out
    if proc.returncode == 1 and out.strip():
        return "failure", 1, out
    return ("result" if proc.returncode == 0 else "crash"), proc.returncode, out


@pytest.fixture
def hostile_files(tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as fh:
        fh.truncate(300 * 1024 * 1024)  # sparse: costs no disk
    (tmp_path / "dir").mkdir()
    (tmp_path / "garbage.json").write_bytes(b"\xff\xfe{not json")
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "list.json").write_text("[]")
    (tmp_path / "nogates.json").write_text('{"gates": []}')
    return tmp_path


def test_cli_gate_on_hostile_files(hostile_files) -> None:
    for name in (
        "report.fifo",
        "huge.json",
        "dir",
        "garbage.json",
        "empty.json",
        "list.json",
        "nogates.json",
        "missing.json",
    ):
        outcome, code, out = _cli(["gate", str(hostile_files / name)])
        assert outcome in ("failure", "usage"), (name, code, out[-1500:])
        assert "PASSED" not in out, (name, out)


@pytest.mark.parametrize(
    "args",
    [
        ["nope"],
        [],
        ["gate"],
        ["promote", "--model", "m", "--version", "1", "--timeout", "-5"],
        ["promote", "--model", "m", "--version", "1", "--timeout", "nan"],
        ["rollback", "--model", "m", "--timeout", "inf"],
        ["aliases", "--model", "", "--timeout", "1"],
        ["check-artifacts", "--max-mb", "0"],
        ["check-artifacts", "--max-mb", "nan"],
        ["check-artifacts", "--max-mb", "-1"],
        ["changed", "--since", "-rf"],
        ["devices", "--require", "tpu"],
        ["--version", "--bogus"],
    ],
)
def test_cli_arguments(args) -> None:
    outcome, code, out = _cli(args)
    assert outcome in ("usage", "failure", "result"), (args, code, out[-1500:])
    if any(v in args for v in ("-5", "nan", "inf", "0", "-1")):
        assert outcome == "usage", (args, code, out[-800:])
