"""The gate report speaks only from complete evidence (issue 20): every gate test is
accounted for, wherever its gates ran; old, forged and tampered reports are refused;
the report's provenance says whether the tree was dirty; writes never replace what is
not a regular file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gate_cases
import pytest

from mlops_testkit.cli import main as cli
from mlops_testkit.gate_report import (
    GateReportError,
    build_report,
    content_hash,
    gate_test_entry,
    read_report,
    report_verdict,
)
from mlops_testkit.registry.promotion import PromotionError, promote

GATE = {
    "name": "auc",
    "kind": "metric",
    "value": 0.8,
    "threshold": ">= 0.7",
    "passed": True,
    "details": {},
    "test_id": "t",
}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTK_", "PYTEST_"))}
    env.update(extra)
    return env


def _pytest(cwd: Path, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env or _env(),
    )


@pytest.mark.parametrize("case", list(gate_cases.CASES))
def test_every_way_a_gate_test_ends_without_evidence_is_refused(tmp_path, case, capsys) -> None:
    gate_cases.write(tmp_path)
    run = _pytest(tmp_path, "--mltk-gate-report", "g.json", *gate_cases.args(case))
    report = read_report(tmp_path / "g.json")
    assert report["passed"] is False, run.stdout[-3000:]
    ok = [t for t in report["gate_tests"] if t["test_id"].endswith("::test_ok")]
    assert ok and ok[0]["outcome"] == "passed" and ok[0]["passed"] is True
    _, needle = gate_cases.CASES[case]
    assert cli(["gate", str(tmp_path / "g.json")]) == 1
    out = capsys.readouterr()
    assert needle in out.out and "REFUSED" in out.err
    with pytest.raises(PromotionError, match="does not pass") as refused:
        promote("m", "1", str(tmp_path / "g.json"))  # refused before any registry call
    assert needle in str(refused.value)


def test_under_xdist_every_gate_test_is_accounted_for(tmp_path) -> None:
    """The whole suite at once on two workers: each case's outcome reaches the report
    on the controller (fixtures, threads and the crashed worker included)."""
    gate_cases.write(tmp_path)
    _pytest(tmp_path, "-n", "2", "--mltk-gate-report", "g.json", "test_cases.py")
    report = read_report(tmp_path / "g.json")
    outcomes = {t["test_id"].rsplit("::", 1)[1]: t["outcome"] for t in report["gate_tests"]}
    assert outcomes == {
        "test_ok": "passed",
        "test_fail": "failed",
        "test_body_error": "failed",
        "test_setup_error": "error",
        "test_fixture_gate": "error",
        "test_thread": "failed",
        "test_skip": "skipped",
        "test_xfail": "xfailed",
        "test_no_gate": "no gate recorded",
        "test_crash": "failed",
    }
    assert report["passed"] is False
    crash = next(t for t in report["gate_tests"] if t["test_id"].endswith("test_crash"))
    assert "crashed while running" in crash["message"]
    assert any("went down" in p for p in report["problems"]), report["problems"]


def test_the_same_suite_with_only_passing_gates_passes(tmp_path, capsys) -> None:
    gate_cases.write(tmp_path)
    run = _pytest(tmp_path, "--mltk-gate-report", "g.json", "test_cases.py", "-k", "test_ok")
    assert run.returncode == 0
    # -k deselected the other gate tests: the report says so and fails ...
    assert read_report(tmp_path / "g.json")["passed"] is False
    # ... while a suite of passing gates only passes
    (tmp_path / "test_cases.py").write_text(
        "import pytest\nfrom mlops_testkit import assert_metric\n\n"
        "@pytest.mark.gate\ndef test_ok():\n    assert_metric('accuracy', 0.95, min=0.9)\n\n"
        "@pytest.mark.gate(allow_skip='first deployment')\n"
        "def test_vs_champion():\n    pytest.skip('first deployment: no champion yet')\n"
    )
    run = _pytest(tmp_path, "--mltk-gate-report", "g.json", "test_cases.py")
    report = read_report(tmp_path / "g.json")
    assert report["passed"] is True, run.stdout[-3000:]
    skipped = [t for t in report["gate_tests"] if t["outcome"] == "skipped"]
    assert skipped[0]["allowed"] == "first deployment: no champion yet"
    assert cli(["gate", str(tmp_path / "g.json")]) == 0
    assert "skipped (allowed: first deployment: no champion yet)" in capsys.readouterr().out


def test_an_allowance_for_another_reason_does_not_cover_a_skip(tmp_path) -> None:
    (tmp_path / "test_g.py").write_text(
        "import pytest\nfrom mlops_testkit import assert_metric\n\n"
        "@pytest.mark.gate\ndef test_ok():\n    assert_metric('accuracy', 0.95, min=0.9)\n\n"
        "@pytest.mark.gate(allow_skip='first deployment')\n"
        "def test_vs_champion():\n    pytest.skip('mlflow is not installed')\n"
    )
    _pytest(tmp_path, "--mltk-gate-report", "g.json")
    report = read_report(tmp_path / "g.json")
    assert report["passed"] is False
    (entry,) = [t for t in report["gate_tests"] if t["outcome"] == "skipped"]
    assert entry["allowed"] is None and "does not match" in entry["message"]


def test_a_bad_allowance_is_a_usage_error(tmp_path) -> None:
    (tmp_path / "test_g.py").write_text(
        "import pytest\n\n@pytest.mark.gate(allow_skip=3)\ndef test_x():\n    pass\n"
    )
    run = _pytest(tmp_path)
    assert run.returncode == 4 and "allow_skip" in run.stderr and "got 3" in run.stderr


def test_reports_of_the_old_schema_are_refused_with_how_to_regenerate(tmp_path) -> None:
    old = {"schema_version": 1, "gates": [GATE], "passed": True, "git_sha": None}
    old["content_hash"] = content_hash(old)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    with pytest.raises(GateReportError, match=r"no 'gate_tests' field.*--mltk-gate-report"):
        read_report(path)
    assert cli(["gate", str(path)]) == 1
    with pytest.raises(PromotionError, match="regenerate it"):
        promote("m", "1", str(path))


def _signed(tmp_path: Path, key: str | None) -> Path:
    report = build_report([GATE], gate_tests=[gate_test_entry("t", "passed", gates=1)], key=key)
    path = tmp_path / "g.json"
    path.write_text(json.dumps(report))
    return path


def test_a_forged_report_is_refused_with_a_key_and_warned_about_without(
    tmp_path, monkeypatch, capsys
) -> None:
    path = _signed(tmp_path, "s3cret")
    report = json.loads(path.read_text())
    assert report["integrity"] == "hmac-sha256" and report["signature"].startswith("hmac-")
    monkeypatch.setenv("MLTK_GATE_KEY", "s3cret")
    assert cli(["gate", str(path)]) == 0
    # a forger who can write the file recomputes the hash, not the signature
    forged = dict(report, gates=[dict(GATE, value=0.99)])
    forged["content_hash"] = content_hash(forged)
    path.write_text(json.dumps(forged))
    assert cli(["gate", str(path)]) == 1
    assert "signature that does not match MLTK_GATE_KEY" in capsys.readouterr().err
    unsigned = _signed(tmp_path, None)  # written where no key was set
    assert cli(["gate", str(unsigned)]) == 1
    assert "is not signed, but MLTK_GATE_KEY is set" in capsys.readouterr().err
    monkeypatch.setenv("MLTK_GATE_KEY", "another")
    path.write_text(json.dumps(report))
    assert cli(["gate", str(path)]) == 1
    # without a key the forged report is accepted, with a warning saying what was not checked
    monkeypatch.delenv("MLTK_GATE_KEY")
    path.write_text(json.dumps(forged))
    assert cli(["gate", str(path)]) == 0
    assert "the signature was not checked" in capsys.readouterr().err
    monkeypatch.setenv("MLTK_GATE_KEY", "")  # an unset CI secret arrives empty
    unsigned = _signed(tmp_path, None)
    assert cli(["gate", str(unsigned)]) == 0
    err = capsys.readouterr().err
    assert "detects accidental edits, not forgery" in err
    assert "not forgery" in read_report(unsigned)["integrity_note"]


def test_a_hand_edited_entry_cannot_pass_a_failed_test(tmp_path) -> None:
    entry = gate_test_entry("t", "failed", gates=1, message="AssertionError: x")
    report = build_report([GATE], gate_tests=[dict(entry, passed=True)])
    assert report_verdict(report) is False


def test_the_report_records_a_dirty_working_tree(tmp_path) -> None:
    env = _env(GIT_CONFIG_GLOBAL=os.devnull)
    (tmp_path / "test_g.py").write_text(
        "import pytest\nfrom mlops_testkit import assert_metric\n\n"
        "@pytest.mark.gate\ndef test_ok():\n    assert_metric('accuracy', 0.95, min=0.9)\n"
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True, env=env)
    (tmp_path / ".gitignore").write_text("g.json\n__pycache__/\n")
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True, env=env)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=tmp_path, check=True, env=env)
    _pytest(tmp_path, "--mltk-gate-report", "g.json", env=env)
    clean = read_report(tmp_path / "g.json")
    assert clean["git_dirty"] is False and clean["git_changed"] == [] and clean["passed"]
    (tmp_path / "mödel\tweights.txt").write_text("changed")
    (tmp_path / "test_g.py").write_text((tmp_path / "test_g.py").read_text() + "\n")
    _pytest(tmp_path, "--mltk-gate-report", "g.json", env=env)
    dirty = read_report(tmp_path / "g.json")
    assert dirty["git_dirty"] is True and dirty["passed"] is True
    assert dirty["git_changed"] == ["mödel\tweights.txt", "test_g.py"]
    assert len(dirty["git_sha"]) == 40


def test_writes_go_through_symlinks_and_never_replace_special_files(tmp_path) -> None:
    (tmp_path / "test_g.py").write_text(
        "import pytest\nfrom mlops_testkit import assert_metric\n\n"
        "@pytest.mark.gate\ndef test_ok():\n    assert_metric('accuracy', 0.95, min=0.9)\n"
    )
    (tmp_path / "reports").mkdir()
    (tmp_path / "link.json").symlink_to(tmp_path / "reports" / "real.json")
    run = _pytest(tmp_path, "--mltk-gate-report", "link.json", "--mltk-json", "r.json")
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "link.json").is_symlink()  # the link stays; its target holds the report
    assert read_report(tmp_path / "reports" / "real.json")["passed"] is True
    os.mkfifo(tmp_path / "fifo")
    for flag, target in (
        ("--mltk-gate-report", "reports"),
        ("--mltk-json", "fifo"),
        ("--mltk-report", os.devnull),
    ):
        run = _pytest(tmp_path, flag, target)
        assert run.returncode == 4 and "not a regular file: refused" in run.stderr, run.stderr
    assert (tmp_path / "reports").is_dir() and Path(os.devnull).is_char_device()
    (tmp_path / "dangling.json").symlink_to(tmp_path / "fifo")
    run = _pytest(tmp_path, "--mltk-gate-report", "dangling.json")
    assert run.returncode == 4 and "through the symlink" in run.stderr
