"""The contract every public entry point keeps under hostile input, generated from the
public API itself.

What is covered is discovered, not listed: every check and report twin in
``mlops_testkit.__all__`` (and every pair of the README's API table), every subcommand of
``mlops_testkit.cli.build_parser()`` and every setting of ``mlops_testkit.settings.SETTINGS``.
Each needs an entry in a strategy table (``contract_strategies.table()``, :data:`CLI`,
:data:`SETTING_VALUES`); one added later without an entry FAILS
:func:`test_every_public_entry_point_has_a_strategy`, and its own contract test fails too.

The contract, per call (see ``contract_strategies`` for the strategies and the
expectations ``any`` / ``no-pass`` / ``usage``):

- it ends in a result, an ``AssertionError`` raised by the kit or ``MltkUsageError``
  (``MissingExtraError`` for a missing extra); any other exception is a defect;
- it never passes on degenerate evidence (empty, all-NaN, nothing applicable, a
  parameter that makes it unable to fail, a planted defect it exists to find);
- an argument of the wrong kind is a usage error, not coerced;
- it ends within its time budget.

**The time budget** is a deadline, not a speed measurement: each call runs under a
SIGALRM timer of :data:`BUDGET` seconds (``hostile.time_budget``), which raises into the
call wherever it is (Python code and the ``re`` engine both check for signals), so a hang
or a super-linear scan is stopped and reported instead of stalling the run. The inputs
are small (at most a few hundred rows; a few cells of 200,000 and 1,000,000 characters),
so a linear implementation needs well under a second; 30 s is generous enough for a
loaded 2-core machine running two xdist workers, and still far below what a quadratic
scan of the large cells takes (minutes). Hypothesis' own ``deadline`` is off: it measures
every example and would flake on a loaded machine, while the timer only fires on a call
that is really stuck.

**Profiles.** ``make test`` runs a bounded number of generated examples per check
(:data:`EXAMPLES`), after the fixed examples of issue 21; ``make test-hostile`` sets
``HOSTILE_PROFILE=hostile`` (``tests/hostile.py``), which only raises the number of
examples. Nothing turns an assertion off: the profile changes ``max_examples`` and the
number of settings values tried, and an unknown profile name is an error. Examples are
derandomized, so a run is repeatable. Every failing call of a test is reported together
(not only the first), so one run lists every defect.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hypothesis")
pytest.importorskip("numpy")
pytest.importorskip("pandas")
pytest.importorskip("pandera")

import contract_strategies as cs
from hostile import Hang, classify, describe, examples, passed, time_budget
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import mlops_testkit
from mlops_testkit import cli
from mlops_testkit import settings as mltk_settings

pytestmark = pytest.mark.hostile  # make test-hostile runs these with more examples

EXAMPLES = examples(20, hostile=150)  # generated calls per check, after the fixed ones
BUDGET = 30.0  # seconds per call: see the module docstring


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,  # the per-call timer is the budget
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate),  # every failure is collected: no shrinking
        suppress_health_check=list(HealthCheck),
    )


# --- discovery --------------------------------------------------------------------------------


def readme_pairs() -> set[tuple[str, str]]:
    """``(assert_*, twin)`` pairs of the README's API table (``assert_x`` (``x_report``))."""
    import re

    readme = Path(__file__).resolve().parent.parent / "README.md"
    section = readme.read_text().split("## API at a glance", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`(\w+)` \(`(\w+)`\)", section))


def public_checks() -> set[str]:
    """Every public helper of ``__all__`` (checks, report twins and the data helpers), and
    both names of every pair in the README's API table."""
    helpers = {
        n
        for n in mlops_testkit.__all__
        if n[:1].islower() and not n.startswith("_") and callable(getattr(mlops_testkit, n))
    }
    paired = {name for pair in readme_pairs() for name in pair}
    return helpers | paired


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


CHECKS = cs.table()
EXPLICIT = cs.explicit()


def test_every_public_entry_point_has_a_strategy() -> None:
    """A check, subcommand or option added without a contract entry fails here."""
    checks = public_checks()
    missing = {
        "checks": sorted(checks - set(CHECKS)),
        "subcommands": sorted(set(subcommands()) - set(CLI)),
        "settings": sorted({s.name for s in mltk_settings.SETTINGS} - set(SETTING_VALUES)),
    }
    stale = {
        "checks": sorted(set(CHECKS) - checks),
        "subcommands": sorted(set(CLI) - set(subcommands())),
        "settings": sorted(set(SETTING_VALUES) - {s.name for s in mltk_settings.SETTINGS}),
    }
    assert not any(missing.values()), (
        f"public entry points without a hostile-input strategy: {missing}; add them to "
        "tests/contract_strategies.py (checks) or tests/test_contract.py (CLI, settings)"
    )
    assert not any(stale.values()), f"strategies for names that are not public: {stale}"
    assert {a for a, _ in readme_pairs()} <= checks, "a README pair names no public helper"
    assert len(checks) >= 60 and len(CLI) >= 11 and len(SETTING_VALUES) >= 15


def test_the_judges_cannot_be_turned_off_or_fooled(monkeypatch) -> None:
    """A name missing from ``__all__`` fails (it never reads as a pass), no environment
    variable switches the judging off, and the time budget interrupts a stuck call."""
    import re

    from hostile import check, helper

    with pytest.raises(pytest.fail.Exception, match=r"not in mlops_testkit\.__all__"):
        helper("assert_nothing_like_this")
    monkeypatch.setenv("HOSTILE_LOG", os.devnull)  # the old counting switch: gone

    def raw(*args: Any) -> None:
        raise KeyError("boom")

    with pytest.raises(pytest.fail.Exception, match="raised a raw KeyError"):
        check("judge", raw)
    with pytest.raises(Hang), time_budget(0.3):
        re.match(r"(a+)+$", "a" * 64 + "b")  # catastrophic backtracking: never ends


# --- checks -----------------------------------------------------------------------------------


@dataclass
class Problem:
    call: str
    what: str

    def __str__(self) -> str:
        return f"  - {self.what}\n      input: {self.call}"


def judge(name: str, fn: Callable[..., Any], call: cs.Call) -> Problem | None:
    """What is wrong with how one call ended, or None."""
    outcome, value = classify(
        fn, *call.args, degenerate=call.expect == cs.NO_PASS, budget=BUDGET, **call.kwargs
    )
    twin = not name.startswith("assert_")
    if outcome == "raw":
        return Problem(repr(call), describe("raw exception", value))
    if outcome == "hang":
        return Problem(repr(call), describe("over its time budget", value))
    if outcome == "silent-pass":
        return Problem(repr(call), describe("PASSED on evidence that proves nothing", value))
    if outcome == "usage" and not str(value).strip():
        return Problem(repr(call), "a usage error without a message")
    if call.expect == cs.USAGE and outcome != "usage":
        verdict = "passed" if outcome == "result" and passed(value, twin) else outcome
        return Problem(repr(call), describe(f"expected MltkUsageError, got {verdict}", value))
    return None


def _report(name: str, problems: list[Problem], tried: int) -> str:
    seen: dict[str, Problem] = {}
    for p in problems:
        seen.setdefault(p.what[:120], p)
    shown = list(seen.values())[:12]
    more = len(seen) - len(shown)
    return (
        f"{name}: {len(problems)} of {tried} hostile calls broke the contract "
        f"({len(seen)} distinct):\n"
        + "\n".join(map(str, shown))
        + (f"\n  +{more} more" if more else "")
    )


@pytest.mark.parametrize("name", sorted(public_checks()))
def test_check_keeps_the_contract(name: str) -> None:
    if name not in CHECKS:
        pytest.fail(f"{name} has no hostile-input strategy in tests/contract_strategies.py")
    if name in cs.NEEDS_TORCH:
        pytest.importorskip("torch", reason="pip install 'mlops-testkit[torch]'")
    fn = getattr(mlops_testkit, name)
    problems: list[Problem] = []
    tried = 0
    hung = False

    def one(call: cs.Call) -> None:
        nonlocal tried, hung
        if hung:  # one hang is enough evidence; more would only burn the budget
            return
        tried += 1
        problem = judge(name, fn, call)
        if problem is not None:
            problems.append(problem)
            hung = hung or "time budget" in problem.what

    for call in EXPLICIT.get(name, []):
        one(call)

    @_settings(EXAMPLES)
    @given(CHECKS[name])
    def generated(call: cs.Call) -> None:
        one(call)

    generated()
    if problems:
        pytest.fail(_report(name, problems, tried), pytrace=False)


# --- the command line ---------------------------------------------------------------------------


@dataclass
class CliCall:
    """One hostile command line, the workspace it runs in, and what it may end in:
    ``usage`` (exit 2), ``refused`` (exit 1 with a reason), ``not-zero`` (1 or 2), ``any``
    (0, 1 or 2); ``check`` is an extra condition on ``(code, stdout, stderr)``."""

    argv: list[str]
    expect: str = "any"
    why: str = ""
    workspace: str = "plain"
    check: Callable[[int, str, str], bool] | None = None

    def __repr__(self) -> str:
        shown = [a if len(a) < 60 else a[:20] + f"...[{len(a)} chars]" for a in self.argv]
        return f"mlops-testkit {' '.join(map(repr, shown))}  [{self.expect}: {self.why}] in {self.workspace}"


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


SCHEMA_MODULE = """import pandera.pandas as pa
Rows = pa.DataFrameSchema({"a": pa.Column(float)})
"""


def workspace(kind: str) -> Path:
    """A fresh folder for one command: ``plain``, or a git repository in some state."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix=f"ws-{kind.replace(' ', '-')}-", dir=cs.WORK))
    (root / "mltk_contract_schema.py").write_text(SCHEMA_MODULE)
    (root / "rows.csv").write_text("a\n1.0\n2.5\n")
    (root / "header-only.csv").write_text("a\n")
    (root / "garbage.csv").write_bytes(b"\xff\xfe\x00a,b\n\x00")
    (root / "model.pt").write_bytes(b"\x80\x04torch")
    if kind == "plain":
        return root
    _git(root, "init", "-q", "-b", "main")
    (root / "model").mkdir()
    (root / "model" / "train.py").write_text("x = 1\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "first")
    if kind == "model changed, odd names":
        (root / "model" / "modèle\tnew.py").write_text("y = 2\n")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "odd names")
    elif kind == "pre-commit config is a folder":
        (root / ".pre-commit-config.yaml").mkdir()
    elif kind == "gitignore is a folder":
        (root / ".gitignore").mkdir()
    elif kind == ".github is a file":
        (root / ".github").write_text("not a folder\n")
    elif kind == "pytest.ini with a comment":
        (root / "pytest.ini").write_text("[pytest]  # comment\naddopts = -q\n")
    return root


def run_cli(call: CliCall) -> tuple[str, int | None, str, str]:
    """Run the command in-process in a fresh workspace: ``(outcome, code, out, err)``
    with outcome ``exit``, ``raw`` (an exception escaped) or ``hang``."""
    root = workspace(call.workspace)
    out, err = io.StringIO(), io.StringIO()
    old_cwd = os.getcwd()
    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{cs.WORK / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    sys.path.insert(0, str(root))
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), time_budget(BUDGET):
            try:
                code: int | None = cli.main(call.argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        return "exit", code, out.getvalue(), err.getvalue()
    except Hang as exc:
        return "hang", None, out.getvalue(), f"{err.getvalue()}\n{exc}"
    except Exception as exc:
        import traceback

        return "raw", None, out.getvalue(), "".join(traceback.format_exception(exc)[-4:])
    finally:
        os.chdir(old_cwd)
        sys.path.remove(str(root))
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def judge_cli(call: CliCall) -> str | None:
    outcome, code, out, err = run_cli(call)
    if outcome == "raw":
        return f"raw exception: {err.strip()[-600:]}"
    if outcome == "hang":
        return f"over its time budget of {BUDGET} s"
    codes = {"usage": {2}, "refused": {1}, "not-zero": {1, 2}, "any": {0, 1, 2}}[call.expect]
    if call.argv[:1] == ["affected-tests"]:
        codes = set(range(0, 6))  # pytest's own exit status passes through
    if code not in codes:
        return (
            f"exit {code}, expected {sorted(codes)}; stdout {out[-300:]!r} stderr {err[-300:]!r}"
        )
    if code and not (out + err).strip():
        return f"exit {code} without a word"
    if "Traceback (most recent call last)" in out + err:
        return f"a traceback in the output: {(out + err)[-600:]!r}"
    if call.check is not None and not call.check(code, out, err):
        return f"exit {code}, but the output misses what {call.why!r} needs: {out[-300:]!r} {err[-300:]!r}"
    return None


def _paths() -> dict[str, str]:
    return {label: str(path) for label, (path, _) in cs.hostile_paths().items()}


@st.composite
def cli_gate(draw: Any) -> CliCall:
    paths = _paths()
    forged = cs.write(
        "forged.json",
        json.dumps({"gates": [{"name": "x", "passed": True, "value": 1.0}], "passed": True}),
    )
    label = draw(st.sampled_from([*sorted(paths), "forged"]))
    path = str(forged) if label == "forged" else paths[label]
    extra = draw(st.sampled_from([[], ["--markdown"]]))
    if draw(st.integers(0, 5)) == 0:
        return CliCall(["gate"], "usage", "no report")
    return CliCall(["gate", path, *extra], "not-zero", f"a report that is {label}")


MODELS = ["m", "", "a/b", "x" * 300, "models:/m/1", "-m"]
VERSIONS = ["1", "0", "-1", "x", "latest", "1.5", ""]


@st.composite
def cli_registry(draw: Any, command: str) -> CliCall:
    model = draw(st.sampled_from(MODELS))
    argv = [command, "--model", model]
    expect, why = "any", f"model {model!r}"
    if model in ("",):
        expect = "usage"
    if command == "promote":
        version = draw(st.sampled_from(VERSIONS))
        report = draw(st.sampled_from(sorted(_paths().values())))
        argv += ["--version", version, "--gate-report", report]
        expect, why = (
            "usage" if expect == "usage" else "not-zero"
        ), f"{why}, version {version!r}, a hostile report"
        if draw(st.booleans()):
            argv += ["--expect-champion", draw(st.sampled_from(["none", "x", "-1", ""]))]
    elif command == "rollback" and draw(st.booleans()):
        argv += ["--to", draw(st.sampled_from(VERSIONS))]
    elif command == "aliases" and draw(st.booleans()):
        argv.append("--json")
    elif command == "deps-diff":
        for flag, values in (
            ("--candidate", ["challenger", "1", "", "x" * 200]),
            ("--against", ["champion", "env", "", "2"]),
            ("--allow", ["", ",,,", "numpy"]),
        ):
            if draw(st.booleans()):
                argv += [flag, draw(st.sampled_from(values))]
        if draw(st.booleans()):
            argv.append(draw(st.sampled_from(["--check", "--markdown"])))
    timeout = draw(st.sampled_from([None, None, "5", "-5", "nan", "inf", "0", "x"]))
    if timeout is not None:
        argv += ["--timeout", timeout]
        if timeout != "5":
            expect, why = "usage", f"{why}, --timeout {timeout}"
    return CliCall(argv, expect, why)


@st.composite
def cli_devices(draw: Any) -> CliCall:
    value = draw(
        st.sampled_from([None, "cpu", "auto", "", "tpu", "cpu,tpu", ",,", "CPU", "x" * 5000])
    )
    if value is None:
        return CliCall(["devices"], "any", "no option")
    bad = value in ("tpu", "cpu,tpu", "x" * 5000)
    return CliCall(
        ["devices", "--require", value], "usage" if bad else "any", f"--require {value[:20]!r}"
    )


@st.composite
def cli_changed(draw: Any) -> CliCall:
    kind = draw(st.sampled_from(["git", "model changed, odd names", "plain"]))
    since = draw(st.sampled_from(["HEAD", "HEAD~1", "nope", "-rf", "", "HEAD..HEAD"]))
    paths = draw(st.sampled_from([None, "model/**", "", "../*", "/etc/*", "model/**,,"]))
    argv = ["changed", "--since", since] + ([] if paths is None else ["--paths", paths])
    why = f"--since {since!r} --paths {paths!r}"
    if (
        kind == "model changed, odd names"
        and since == "HEAD~1"
        and paths in ("model/**", "model/**,,")
    ):
        return CliCall(
            argv,
            "any",
            f"{why}: a changed model file with a non-ASCII name and a tab",
            kind,
            check=lambda code, out, err: code == 0 and out.strip() == "true",
        )
    if paths in ("../*", "/etc/*") and kind != "plain" and since in ("HEAD", "HEAD~1"):
        return CliCall(
            argv,
            "any",
            f"{why}: a glob outside the rootdir",
            kind,
            check=lambda code, out, err: code != 0 or "outside" in err.lower(),
        )
    expect = (
        "not-zero" if kind == "plain" or since in ("nope", "-rf", "") or paths == "" else "any"
    )
    return CliCall(argv, expect, why, kind)


@st.composite
def cli_check_artifacts(draw: Any) -> CliCall:
    paths = _paths()
    files = draw(st.lists(st.sampled_from([*sorted(paths), "model.pt", "rows.csv"]), max_size=3))
    argv = ["check-artifacts", *[paths.get(f, f) for f in files]]
    expect, why = ("refused" if "model.pt" in files else "any"), f"files {files}"
    max_mb = draw(st.sampled_from([None, "5", "0", "nan", "-1", "inf", "x"]))
    if max_mb is not None:
        argv += ["--max-mb", max_mb]
        if max_mb != "5":
            expect, why = "usage", f"{why}, --max-mb {max_mb}"
    return CliCall(argv, expect, why)


@st.composite
def cli_check_data(draw: Any) -> CliCall:
    paths = _paths()
    schema = draw(
        st.sampled_from(
            [
                "mltk_contract_schema:Rows",
                "nope",
                "nope:X",
                "os:sep",
                ":",
                "mltk_contract_schema:Missing",
                "",
            ]
        )
    )
    files = draw(
        st.lists(
            st.sampled_from(["rows.csv", "header-only.csv", "garbage.csv", *sorted(paths)]),
            max_size=2,
        )
    )
    argv = ["check-data", "--schema", schema, *[paths.get(f, f) for f in files]]
    bad_files = [f for f in files if f != "rows.csv"]
    if schema != "mltk_contract_schema:Rows":
        return CliCall(argv, "not-zero", f"schema {schema!r}")
    if bad_files:
        return CliCall(argv, "not-zero", f"files {bad_files} (0 rows, unreadable or not a file)")
    return CliCall(argv, "any", f"files {files}")


@st.composite
def cli_affected(draw: Any) -> CliCall:
    since = draw(st.sampled_from([None, "HEAD", "nope", ""]))
    rest = draw(
        st.sampled_from(
            [
                [],
                ["--", "--collect-only"],
                ["--", "--bogus-option"],
                ["--", "-p", "no:mlops_testkit"],
            ]
        )
    )
    argv = ["affected-tests"] + ([] if since is None else ["--since", since]) + rest
    return CliCall(argv, "any", f"since {since!r} {rest}", draw(st.sampled_from(["git", "plain"])))


@st.composite
def cli_init(draw: Any) -> CliCall:
    kind = draw(
        st.sampled_from(
            [
                "git",
                "plain",
                "pre-commit config is a folder",
                "gitignore is a folder",
                ".github is a file",
                "pytest.ini with a comment",
            ]
        )
    )
    argv = ["init", ".", "--dry-run"] if draw(st.booleans()) else ["init", "."]
    ci = draw(st.sampled_from([None, "github", "gitlab", "nope", ""]))
    if ci is not None:
        argv += ["--ci", ci]
    paths = draw(st.sampled_from([None, "model/**", "", ",,", "../outside/**"]))
    if paths is not None:
        argv += ["--model-paths", paths]
    expect = "usage" if ci in ("nope", "") else ("not-zero" if kind == "plain" else "any")
    return CliCall(argv, expect, f"{kind}, --ci {ci!r}, --model-paths {paths!r}", kind)


@st.composite
def cli_mutate(draw: Any) -> CliCall:
    """Every drawn call is refused before any test runs (a bad value), or lists the
    operators: a real mutation run is the business of tests/test_mutation.py."""
    if draw(st.integers(0, 5)) == 0:
        return CliCall(
            ["mutate", "--list"],
            "any",
            "list the operators",
            check=lambda code, out, err: code == 0 and "frozen_layer" in out,
        )
    flag, value = draw(
        st.sampled_from(
            [
                ("--min-score", "nan"),
                ("--min-score", "2"),
                ("--min-score", "-1"),
                ("--min-score", "x"),
                ("--runs", "0"),
                ("--runs", "-1"),
                ("--runs", "1.5"),
                ("--workers", "0"),
                ("--workers", "x"),
                ("--timeout", "0"),
                ("--timeout", "nan"),
                ("--timeout", "inf"),
                ("--operators", "no_such_operator"),
                ("--operators", ",,"),
            ]
        )
    )
    return CliCall(["mutate", flag, value], "usage", f"{flag} {value!r}")


@st.composite
def cli_ci_local(draw: Any) -> CliCall:
    kind = draw(st.sampled_from(["git", "plain"]))
    platform = draw(st.sampled_from([None, "gitlab", "github", "nope", ""]))
    event = draw(st.sampled_from([None, "push", "rollback", "release", ""]))
    workdir = draw(st.sampled_from([None, "x" * 300, "/dev/null", "\t"]))
    argv = ["ci-local"]
    for flag, value in (("--platform", platform), ("--event", event), ("--workdir", workdir)):
        if value is not None:
            argv += [flag, value]
    why = f"{kind}, --platform {platform!r}, --event {event!r}"
    if platform in ("nope", "") or event in ("release", ""):
        return CliCall(argv, "usage", why, kind)
    # neither workspace has a pipeline init wrote: refused before any runner or server starts
    return CliCall(argv, "not-zero", why, kind)


CLI: dict[str, st.SearchStrategy[CliCall]] = {
    "mutate": cli_mutate(),
    "ci-local": cli_ci_local(),
    "devices": cli_devices(),
    "gate": cli_gate(),
    "promote": cli_registry("promote"),
    "rollback": cli_registry("rollback"),
    "aliases": cli_registry("aliases"),
    "deps-diff": cli_registry("deps-diff"),
    "changed": cli_changed(),
    "check-artifacts": cli_check_artifacts(),
    "check-data": cli_check_data(),
    "affected-tests": cli_affected(),
    "init": cli_init(),
}
CLI_EXPLICIT = {
    "changed": [
        CliCall(
            ["changed", "--since", "HEAD~1", "--paths", "model/**"],
            "any",
            "class 9: a changed model file with a non-ASCII name and a tab",
            "model changed, odd names",
            check=lambda code, out, err: code == 0 and out.strip() == "true",
        ),
        CliCall(
            ["changed", "--since", "HEAD", "--paths", "../*"],
            "any",
            "class 9: a glob outside the rootdir",
            "git",
            check=lambda code, out, err: code != 0 or "outside" in err.lower(),
        ),
        CliCall(
            ["changed", "--since", "HEAD", "--paths", "model/**", "--data-paths", "/etc/*"],
            "any",
            "class 9: a data glob outside the rootdir",
            "git",
            check=lambda code, out, err: code != 0 and "mltk_data_paths" in err,
        ),
        CliCall(
            ["changed", "--since", "HEAD~1", "--paths", "model/**", "--data-paths", "\t,,"],
            "any",
            "class 9: data globs that are only separators",
            "model changed, odd names",
            check=lambda code, out, err: code == 0 and out.strip() == "true",
        ),
    ],
    "init": [
        CliCall(["init", "."], "any", f"class 8: {kind}", kind)
        for kind in (
            "pre-commit config is a folder",
            "gitignore is a folder",
            ".github is a file",
            "pytest.ini with a comment",
        )
    ],
}
CLI_EXAMPLES = examples(6, hostile=30)


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_command_keeps_the_contract(command: str) -> None:
    """Exit 0, 1 with a reason or 2 (usage), never a traceback or a hang; a hostile
    report, artifact or data file is never accepted."""
    if command not in CLI:
        pytest.fail(f"subcommand {command!r} has no hostile-input strategy in CLI")
    problems: list[Problem] = []
    tried = 0

    def one(call: CliCall) -> None:
        nonlocal tried
        tried += 1
        what = judge_cli(call)
        if what is not None:
            problems.append(Problem(repr(call), what))

    for call in CLI_EXPLICIT.get(command, []):
        one(call)

    @_settings(CLI_EXAMPLES)
    @given(CLI[command])
    def generated(call: CliCall) -> None:
        one(call)

    generated()
    if problems:
        pytest.fail(_report(f"mlops-testkit {command}", problems, tried), pytrace=False)


# --- the plugin's settings ------------------------------------------------------------------------

HOSTILE_TEXT = ["nan", "x" * 5000, "-5", "1e999", "[]", "-", "ünï", "a,b", " ", "", "\t", "0"]
SETTING_VALUES: dict[str, list[str]] = {
    "seed": ["-1", "1.5", "random", "4294967296", *HOSTILE_TEXT],
    "devices": ["tpu", ",,", "cpu,cpu", "CUDA", *HOSTILE_TEXT],
    "require_devices": ["maybe", "2", *HOSTILE_TEXT],
    "changed_since": ["-rf", "nope", *HOSTILE_TEXT],
    "model_paths": ["../*", "/etc/*", *HOSTILE_TEXT],
    "data_paths": ["../*", "/etc/*", "data/**", *HOSTILE_TEXT],
    "gate_report": [".", "/dev/null", "nodir/x.json", *HOSTILE_TEXT],
    "model_name": ["models:/x", "a/b", *HOSTILE_TEXT],
    "candidate": ["models:/", "-1", "latest", *HOSTILE_TEXT],
    "mlflow_log": ["perhaps", "2", *HOSTILE_TEXT],
    "score": ["perhaps", "2", *HOSTILE_TEXT],
    "json": [".", "/dev/null", *HOSTILE_TEXT],
    "report": [".", "report.pdf", *HOSTILE_TEXT],
    "manual_items": ["nonsense-item", "data-1", ":", *HOSTILE_TEXT],
    "autoseed": ["perhaps", "2", *HOSTILE_TEXT],
    "deterministic": ["perhaps", "2", *HOSTILE_TEXT],
}
SETTING_EXAMPLES = examples(3, hostile=8)  # values per setting and source


def _parse_outcome(parse: Callable[[Any], Any], value: Any) -> str:
    try:
        with time_budget(BUDGET):
            parse(value)
    except Hang:
        return "hang"
    except ValueError:  # the parse functions' usage errors, quoted by the plugin
        return "usage"
    except Exception as exc:
        return f"raw {type(exc).__name__}: {exc}"
    return "result"


@pytest.mark.parametrize("setting", mltk_settings.SETTINGS, ids=lambda s: s.name)
def test_setting_parser_keeps_the_contract(setting: mltk_settings.Setting) -> None:
    """Any text or list of texts: a value or a ValueError (quoted as a usage error)."""
    if setting.name not in SETTING_VALUES:
        pytest.fail(f"setting {setting.name!r} has no hostile values in SETTING_VALUES")
    problems: list[str] = []
    for value in SETTING_VALUES[setting.name]:
        outcome = _parse_outcome(setting.parse, value)
        if outcome not in ("usage", "result"):
            problems.append(f"parse({value[:40]!r}): {outcome}")

    @_settings(EXAMPLES * 5)
    @given(st.one_of(st.text(max_size=50), st.lists(st.text(max_size=20), max_size=4)))
    def generated(value: Any) -> None:
        outcome = _parse_outcome(setting.parse, value)
        if outcome not in ("usage", "result"):
            problems.append(f"parse({value!r:.60}): {outcome}")

    generated()
    assert not problems, f"{setting.name}: " + "; ".join(problems[:10])


def _sources(setting: mltk_settings.Setting) -> list[str]:
    return (["option"] if setting.flag is not None else []) + ["env", "ini"]


SETTING_RUNS = [(s, source) for s in mltk_settings.SETTINGS for source in _sources(s)]


@pytest.mark.parametrize(
    ("setting", "source"), SETTING_RUNS, ids=[f"{s.name}-{src}" for s, src in SETTING_RUNS]
)
def test_setting_keeps_the_contract_end_to_end(pytester, monkeypatch, setting, source) -> None:
    """A bad value from any source is pytest's usage error naming the setting; any value
    never gives an INTERNALERROR or a traceback."""
    pytester.makepyfile("def test_x():\n    pass\n")
    problems = []
    values = [v for v in SETTING_VALUES.get(setting.name, []) if "\x00" not in v]
    for value in values[:SETTING_EXAMPLES]:
        bad = _parse_outcome(setting.parse, value) == "usage"
        args: list[str] = []
        with monkeypatch.context() as m:
            if source == "option":
                args = [f"{setting.option}={value}"]
                bad = bad or setting.flag == "store_true"  # a flag takes no value
            elif source == "env":
                m.setenv(setting.env, value)
                bad = bad and bool(value.strip())  # an empty variable is unset
            else:
                pytester.makeini(f"[pytest]\n{setting.ini} = {value}\n")
                bad = bad and bool(value.strip())
            try:
                with time_budget(BUDGET * 2):
                    result = pytester.runpytest("-p", "no:cacheprovider", *args)
            except Hang:
                problems.append(f"{source} {value[:30]!r}: over its time budget")
                continue
            finally:
                (pytester.path / "pytest.ini").unlink(missing_ok=True)
        text = result.stdout.str() + result.stderr.str()
        if "INTERNALERROR" in text or "Traceback (most recent call last)" in text:
            problems.append(f"{source} {value[:30]!r}: crashed: {text[-800:]}")
        elif bad and result.ret != pytest.ExitCode.USAGE_ERROR:
            problems.append(
                f"{source} {value[:30]!r}: a bad value gave exit {result.ret}, not a usage error"
            )
        elif (
            bad
            and setting.name.replace("_", "") not in text.replace("_", "").replace("-", "").lower()
        ):
            problems.append(
                f"{source} {value[:30]!r}: the usage error does not name the setting: {text[-300:]}"
            )
    assert not problems, f"{setting.name}: " + "\n".join(problems)
