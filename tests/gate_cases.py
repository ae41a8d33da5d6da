"""Every way a gate test can end without evidence, as one suite: a passing gate
(``test_ok``) plus one test per case. Each case, run with ``test_ok``, must leave a gate
report that ``mlops-testkit gate`` and ``promote`` refuse, naming the case.

``CASES`` maps a case to (pytest arguments, text the refusal must contain).
"""

from __future__ import annotations

SUITE = """
import os
import threading

import pytest
from mlops_testkit import assert_metric



@pytest.fixture
def model(request):
    if os.environ.get("GATE_CASES_REGISTRY"):
        return request.getfixturevalue("candidate")
    return None


@pytest.mark.gate
def test_ok(model):
    assert_metric("accuracy", 0.95, min=0.9)


@pytest.mark.gate
def test_fail(model):
    assert_metric("auc", 0.5, min=0.9)


@pytest.mark.gate
def test_body_error(model):
    raise KeyError("vocab_size")  # loading the champion failed before any gate ran


@pytest.fixture
def broken_setup():
    raise KeyError("champion")


@pytest.mark.gate
def test_setup_error(model, broken_setup):
    assert_metric("auc", 0.95, min=0.9)


@pytest.fixture
def gate_in_fixture():
    yield
    assert_metric("fixture_auc", 0.5, min=0.9)  # in teardown


@pytest.mark.gate
def test_fixture_gate(model, gate_in_fixture):
    assert_metric("auc", 0.95, min=0.9)


@pytest.mark.gate
def test_thread(model):
    worker = threading.Thread(target=lambda: assert_metric("thread_auc", 0.5, min=0.9))
    worker.start()
    worker.join()


@pytest.mark.gate
def test_skip(model):
    pytest.skip("no champion to compare with")


@pytest.mark.gate
@pytest.mark.xfail(reason="known to fail")
def test_xfail(model):
    assert_metric("auc", 0.5, min=0.9)


@pytest.mark.gate
def test_no_gate(model):
    pass


@pytest.mark.gate
def test_crash(model):
    os._exit(3)  # the xdist worker dies mid-test
"""

ORPHAN = """
from mlops_testkit import assert_metric

assert_metric("at_import", 0.95, min=0.9)  # recorded while no test runs


def test_nothing():
    pass
"""

CASES: dict[str, tuple[list[str], str]] = {
    "fail": (["::test_fail"], "test_fail: failed"),
    "body-error": (["::test_body_error"], "KeyError: 'vocab_size'"),
    "setup-error": (["::test_setup_error"], "test_setup_error: error: in setup"),
    "fixture-teardown": (["::test_fixture_gate"], "test_fixture_gate: error: in teardown"),
    "thread": (["::test_thread"], "test_thread: failed"),
    "skip": (["::test_skip"], "test_skip: skipped"),
    "deselect": (["::test_fail", "-k", "test_ok"], "test_fail: deselected"),
    "xfail": (["::test_xfail"], "test_xfail: xfailed"),
    "no-gate": (["::test_no_gate"], "test_no_gate: no gate recorded"),
    "xdist-crash": (["::test_crash", "-n", "2"], "test_crash: failed"),
    "orphan": (["test_orphan.py"], "recorded while no test ran"),
}


def write(path) -> None:
    """The suite (and the orphan module) into the folder ``path``."""
    (path / "test_cases.py").write_text(SUITE)
    (path / "test_orphan.py").write_text(ORPHAN)


def args(case: str) -> list[str]:
    """The pytest arguments of a case: ``test_ok`` and the case's own test (only those
    two are collected), then the case's options."""
    first, *extra = CASES[case][0]
    test = f"test_cases.py{first}" if first.startswith("::") else first
    return ["test_cases.py::test_ok", test, *extra]
