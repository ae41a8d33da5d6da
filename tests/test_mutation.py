"""``--mltk-mutate``: options, the verdict of each mutant, the score, and the whole run
on a tiny torch project written into tmp_path (subprocesses: it imports torch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_testkit.mutation.options import child_args, parse_factor, parse_score
from mlops_testkit.mutation.outcome import Mutant, decide, score
from mlops_testkit.mutation.runner import Run

pytest_plugins = ["pytester"]

# --- options ---------------------------------------------------------------------------


def test_child_args_drop_the_mutation_options_and_the_outer_outputs():
    args = [
        "tests",
        "--mltk-mutate",
        "--mltk-mutate-runs",
        "3",
        "--mltk-mutate-workers=2",
        "-k",
        "model",
        "--mltk-json",
        "out.json",
        "--mltk-report=r.md",
        "-n",
        "4",
        "-nauto",
        "-m",
        "not slow",
    ]
    assert child_args(args) == ["tests", "-k", "model", "-m", "not slow"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--mltk-mutate-min-score", "2", "outside [0, 1]"),
        ("--mltk-mutate-min-score", "nan", "not finite"),
        ("--mltk-mutate-runs", "0", "not a positive integer"),
        ("--mltk-mutate-timeout", "1", "too small"),
        ("--mltk-mutate-operators", "a b", "not a list of operators"),
        ("--mltk-mutate-report", "out.txt", "must end in .md or .html"),
    ],
)
def test_a_bad_option_value_is_a_usage_error_quoting_it(pytester, option, value, message):
    result = pytester.runpytest(f"{option}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert f"argument {option}:" in err and message in err and repr(value) in err


def test_parsers_accept_their_documented_forms():
    assert parse_score("0.8") == 0.8 and parse_factor("5") == 5.0


# --- verdicts ----------------------------------------------------------------------------

TESTS = ["t::a", "t::b"]
STABLE = {"t::a": "d1", "t::b": "d2"}


def ran(outcomes, triggers=1, digests=("d1", "d2")):
    tests = {
        t: {"outcome": o, "message": f"{t} {o}", "digest": d}
        for t, o, d in zip(TESTS, outcomes, digests, strict=True)
    }
    return Run("m", "ran", tests=tests, operator={"triggers": triggers, "targets": ["x"]})


def verdict(*runs):
    m = Mutant("m", "loss", "bug", "check", "ex\n ample")
    m.runs = list(runs)
    decide(m, TESTS, STABLE)
    return m


def test_a_failed_test_kills_and_an_error_is_reported_as_errored():
    assert verdict(ran(["failed", "passed"])).status == "killed"
    m = verdict(ran(["errored", "passed"]))
    assert m.status == "errored" and m.cells == {"t::a": "E", "t::b": "."}
    assert m.messages == {"t::a": "t::a errored"}


def test_an_operator_that_never_fired_is_not_applicable_even_if_a_test_failed():
    m = verdict(ran(["failed", "failed"], triggers=0))
    assert m.status == "not applicable"
    s = score([m])
    assert (s.applicable, s.killed, s.value) == (0, 0, None)


def test_equal_outputs_make_an_equivalent_mutant_that_is_not_counted():
    eq = verdict(ran(["passed", "passed"]))
    survived = verdict(ran(["passed", "passed"], digests=("d1", "other")))
    killed = verdict(ran(["failed", "passed"]))
    assert (eq.status, survived.status) == ("equivalent", "survived")
    s = score([eq, survived, killed])
    assert (s.killed, s.applicable, s.equivalent, s.value) == (1, 3, 1, 0.5)


def test_a_timeout_kills_and_a_broken_run_is_not_scored():
    timeout = verdict(Run("m", "timeout"))
    broken = verdict(Run("m", "broken", detail="usage error"))
    assert (timeout.status, broken.status) == ("timeout", "broken")
    assert score([timeout, broken]).describe().startswith("1.00 (1 killed / (1 applicable")


def test_a_majority_of_runs_decides():
    k, p = ran(["failed", "passed"]), ran(["passed", "passed"], digests=("x", "y"))
    assert verdict(k, k, p).status == "killed"
    m = verdict(k, p, p)
    assert m.status == "survived" and m.cells["t::a"] == "F1/3"


# --- the whole run, on a tiny project ------------------------------------------------------

TINYNET = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, n=6):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.body(x))


def data(n=128):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, generator=g)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()


def fit(steps=30):
    torch.manual_seed(0)
    model, (x, y) = Net(), data()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()
"""

STRONG = """
import pytest
from torch import nn

from mlops_testkit import assert_loss_decreases, assert_overfits_batch, assert_params_update
from tinynet import Net, data

pytestmark = pytest.mark.model
CE = nn.CrossEntropyLoss()


def test_overfits():
    assert_overfits_batch(Net(), data(), CE)


def test_loss_decreases():
    assert_loss_decreases(Net(), data(), CE)


def test_params_update():
    assert_params_update(Net(), data(), CE, expect_trainable=True)
"""

WEAK = """
from mlops_testkit import assert_metric
from tinynet import data, fit


def test_accuracy_bar():
    x, y = data()
    accuracy = (fit()(x).argmax(1) == y).float().mean().item()
    assert_metric("accuracy", accuracy, min=0.2)
"""

CONFTEST = '''
from mlops_testkit.mutation import Operator


class StepLogged(Operator):
    """Logs each optimizer step and changes nothing: an equivalent mutant."""

    name = "step_logged"
    area = "optimiser"
    catches = "nothing can: it is equivalent"
    example = "def test_nothing():\\n    pass"

    def install(self, patcher):
        from torch.optim.optimizer import register_optimizer_step_post_hook

        handle = register_optimizer_step_post_hook(lambda *a: self.ctx.fired("step"))
        patcher.on_undo(handle.remove)


def pytest_mltk_mutation_operators():
    return [StepLogged]
'''

FLAKY = """
import os
import pytest
import torch

FLAG = os.path.join(os.path.dirname(__file__), "ran-once")


@pytest.mark.model
def test_flaky():
    torch.nn.Linear(2, 1)(torch.zeros(1, 2))
    first = not os.path.exists(FLAG)
    open(FLAG, "a").close()
    assert first, "the second run fails"
"""

OPERATORS = (
    "frozen_layer,detached_output,step_does_nothing,zero_grad_never_called,"
    "labels_shuffled,softmax_before_cross_entropy,workers_not_seeded,step_logged"
)


def project(tmp_path: Path, tests: dict[str, str]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "tinynet.py").write_text(TINYNET)
    (tmp_path / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    folder = tmp_path / "tests"
    folder.mkdir()
    for name, text in tests.items():
        (folder / name).write_text(textwrap.dedent(text))
    return tmp_path


def mutate(root: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
    env.pop("PYTEST_ADDOPTS", None)
    out = root / "mutation.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--mltk-mutate", "--mltk-json", str(out), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    data = json.loads(out.read_text())["mutation"] if out.exists() else {}
    return proc, data


def statuses(data: dict) -> dict[str, str]:
    return {m["operator"]: m["status"] for m in data["mutants"]}


@pytest.mark.slow
def test_the_kit_training_checks_score_high_and_a_metric_bar_scores_low(tmp_path):
    pytest.importorskip("torch")
    strong_root = project(tmp_path / "strong", {"test_strong.py": STRONG})
    weak_root = project(tmp_path / "weak", {"test_weak.py": WEAK})
    strong, sdata = mutate(
        strong_root, f"--mltk-mutate-operators={OPERATORS}", "--mltk-mutate-report=km.md"
    )
    weak, wdata = mutate(weak_root, f"--mltk-mutate-operators={OPERATORS}")
    assert strong.returncode == 0, strong.stdout + strong.stderr
    assert weak.returncode == 0, weak.stdout + weak.stderr
    s, w = statuses(sdata), statuses(wdata)
    print(f"strong suite {sdata['score']:.2f} {s}\nweak suite {wdata['score']:.2f} {w}")
    # no DataLoader anywhere: not applicable, never killed; the logging step is equivalent
    assert s["workers_not_seeded"] == w["workers_not_seeded"] == "not applicable"
    assert s["step_logged"] == w["step_logged"] == "equivalent"
    assert sdata["applicable"] == 7 and sdata["equivalent"] == 1
    assert sdata["score"] >= 0.8, s
    assert wdata["score"] <= 0.34, w
    assert "ML mutation score" in strong.stdout and "survivors" in weak.stdout
    report = (strong_root / "km.md").read_text()
    assert "| frozen_layer | gradients | killed |" in report


@pytest.mark.slow
def test_a_flaky_suite_is_refused_with_the_test_named(tmp_path):
    pytest.importorskip("torch")
    root = project(tmp_path, {"test_flaky.py": FLAKY})
    proc, data = mutate(root, "--mltk-mutate-operators=frozen_layer")
    assert proc.returncode == 1 and not data
    assert "the suite is flaky" in proc.stdout
    assert "test_flaky.py::test_flaky: passed, then failed" in proc.stdout


@pytest.mark.slow
def test_a_failing_suite_is_refused_and_a_min_score_fails_the_session(tmp_path):
    pytest.importorskip("torch")
    root = project(tmp_path, {"test_weak.py": WEAK + "\n\ndef test_broken():\n    assert 0\n"})
    proc, _ = mutate(root, "--mltk-mutate-operators=frozen_layer")
    assert proc.returncode == 1 and "does not pass without mutants" in proc.stdout
    assert "test_broken" in proc.stdout
    root2 = project(tmp_path / "p2", {"test_weak.py": WEAK})
    proc, data = mutate(
        root2, "--mltk-mutate-operators=step_does_nothing", "--mltk-mutate-min-score=0.5"
    )
    assert statuses(data) == {"step_does_nothing": "survived"}
    assert proc.returncode == 1 and "under the minimum 0.50" in proc.stdout


# --- the command line and the reports -------------------------------------------------------


def test_cli_lists_the_operators(capsys):
    from mlops_testkit.cli import main

    assert main(["mutate", "--list"]) == 0
    out = capsys.readouterr().out
    assert "frozen_layer" in out and "caught by: assert_params_update" in out


def test_cli_runs_pytest_with_the_mutation_options(monkeypatch):
    from mlops_testkit.cli import main
    from mlops_testkit.mutation import command

    calls = []
    monkeypatch.setattr(command.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    assert main(["mutate", "--min-score", "0.8", "--operators", "a,b", "--", "-m", "model"]) == 0
    assert calls[0][1:] == [
        "-m",
        "pytest",
        "--mltk-mutate",
        "--mltk-mutate-operators=a,b",
        "--mltk-mutate-min-score=0.8",
        "-m",
        "model",
    ]


def test_reports_carry_the_matrix_the_survivors_and_the_score():
    from mlops_testkit.mutation import render

    killed = verdict(ran(["failed", "passed"]))
    survived = verdict(ran(["passed", "passed"], digests=("x", "y")))
    survived.name = "loss_sign_flipped"
    mutants = [killed, survived]
    s = score(mutants)
    md = render.markdown(mutants, TESTS, s)
    assert "0.50 (1 killed / (2 applicable - 0 equivalent))" in md
    assert "| m | loss | killed | x | F |" in md and "## Survivors" in md
    page = render.html(mutants, TESTS, s)
    assert page.count("<tr>") == 3 and "#d73027" in page  # a red (killed) cell
    lines = render.terminal_lines(mutants, TESTS, s)
    assert any("survivors (1)" in line for line in lines)
    assert any(line.strip().startswith("ex") for line in lines)  # the example test


# --- hostile input ----------------------------------------------------------------------------


@pytest.mark.hostile
def test_option_parsers_quote_any_bad_text_and_raise_nothing_else():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    from mlops_testkit.mutation.options import PARSERS

    @hypothesis.settings(max_examples=200, deadline=None)
    @hypothesis.given(st.sampled_from(sorted(PARSERS)), st.text(max_size=12))
    def check(kind, text):
        try:
            PARSERS[kind](text)
        except ValueError as exc:
            assert repr(text) in str(exc) or repr(text.strip()) in str(exc)

    check()


@pytest.mark.hostile
def test_child_args_never_fail_on_any_argument_list():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    words = st.sampled_from(
        ["--mltk-mutate", "--mltk-mutate-runs", "-n", "-k", "x", "--mltk-json"]
    )

    @hypothesis.settings(max_examples=200, deadline=None)
    @hypothesis.given(st.lists(st.one_of(words, st.text(max_size=6))))
    def check(args):
        out = child_args(args)
        assert "--mltk-mutate" not in out and len(out) <= len(args)

    check()
