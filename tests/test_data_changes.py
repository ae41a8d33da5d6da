"""Tests selected by data changes: ``mltk_data_paths``, DVC pointers, the ``data(paths=)``
and ``model(data=)`` markers and ``mlops-testkit changed``.

The first part writes ``.dvc`` files and ``dvc.lock`` by hand, in the format DVC 3 writes
(the real-DVC test at the end checks that format against DVC itself), so it runs without
DVC. ``test_real_dvc_consumer`` builds a consumer repository with the real ``dvc`` command
and a local DVC remote folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hostile import examples
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mlops_testkit.ci import data_changes as dc
from mlops_testkit.ci.changes import ChangeDecision

ROOT = Path(__file__).resolve().parents[1]


def dvc_file(path: str, md5: str, size: int = 4, *, is_dir: bool = False) -> str:
    """A ``.dvc`` file as ``dvc add`` writes it (DVC 3)."""
    extra = "  nfiles: 2\n" if is_dir else ""
    suffix = ".dir" if is_dir else ""
    return f"outs:\n- md5: {md5}{suffix}\n  size: {size}\n{extra}  hash: md5\n  path: {path}\n"


def dvc_lock(stages: dict[str, dict[str, Any]]) -> str:
    """A ``dvc.lock`` as ``dvc repro`` writes it (schema 2.0)."""
    out = ["schema: '2.0'", "stages:"]
    for name, stage in stages.items():
        out += [f"  {name}:", f"    cmd: {stage['cmd']}"]
        for kind in ("deps", "outs"):
            if stage.get(kind):
                out.append(f"    {kind}:")
                for path, md5 in stage[kind].items():
                    out += [
                        f"    - path: {path}",
                        "      hash: md5",
                        f"      md5: {md5}",
                        "      size: 4",
                    ]
    return "\n".join(out) + "\n"


# --- reading DVC's files ---------------------------------------------------------------

LOCK = dvc_lock(
    {
        "prepare": {
            "cmd": "python prepare.py",
            "deps": {"data/raw.csv": "a" * 32},
            "outs": {"data/prepared.csv": "b" * 32},
        },
        "train@small": {"cmd": "python train.py", "outs": {"models/small.pt": "c" * 32}},
    }
)
DVC_FILES = {
    "data/train.csv.dvc": dvc_file("train.csv", "f" * 32),
    "data/images.dvc": dvc_file("images", "e" * 32, is_dir=True),
    "dvc.lock": LOCK,
    "sub/dvc.lock": LOCK,
    # DVC 1 wrote the stages at the top level, with no schema
    "old/dvc.lock": "prepare:\n  cmd: x\n  outs:\n  - path: out.csv\n    md5: 0a1b\n",
    # a multi-line cmd and params, as dvc.lock holds them
    "p/dvc.lock": (
        "schema: '2.0'\nstages:\n  s:\n    cmd:\n    - python a.py\n    - python b.py\n"
        "    params:\n      params.yaml:\n        lr: 0.1\n        layers: [1, 2]\n"
        "    outs:\n    - path: o.bin\n      md5: 99\n      size: 1\n"
    ),
}


@pytest.mark.parametrize("pointer", sorted(DVC_FILES))
def test_block_parser_reads_dvc_files_as_pyyaml_does(pointer: str, monkeypatch) -> None:
    """Without PyYAML the kit reads DVC's files with its own block-YAML reader: the same
    outputs (paths from the repository root, hashes, folder outputs)."""
    text = DVC_FILES[pointer]
    with_yaml = dc.outputs_of(pointer, text)
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml now raises ImportError
    without = dc.outputs_of(pointer, text)
    assert with_yaml == without and with_yaml


def test_outputs_are_relative_to_the_pointer() -> None:
    assert [
        o.path for o in dc.outputs_of("data/train.csv.dvc", DVC_FILES["data/train.csv.dvc"])
    ] == ["data/train.csv"]
    images = dc.outputs_of("data/images.dvc", DVC_FILES["data/images.dvc"])
    assert images[0].path == "data/images" and images[0].is_dir
    assert [o.path for o in dc.outputs_of("sub/dvc.lock", LOCK)] == [
        "sub/data/prepared.csv",
        "sub/models/small.pt",
    ]
    assert [o.source for o in dc.outputs_of("dvc.lock", LOCK)] == [
        "dvc.lock stage prepare",
        "dvc.lock stage train@small",
    ]
    # an output outside the repository cannot be read by a test: it is left out
    assert dc.outputs_of("a.dvc", "outs:\n- md5: 1\n  path: ../../elsewhere.csv\n") == []


@pytest.mark.parametrize(
    "text",
    ["outs: 3\n", "- a\n- b\n", "outs:\n- size: 3\n", "stages: [1]\n", "key value\n"],
)
def test_not_dvc_format_is_refused(text: str) -> None:
    pointer = "dvc.lock" if "stages" in text else "x.dvc"
    with pytest.raises(dc.DvcFormatError):
        dc.outputs_of(pointer, text)


@pytest.mark.hostile
@hsettings(max_examples=examples(60), deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("-: \n'\"[]{}#|>abc0.")), max_size=120))
def test_any_pointer_text_reads_or_is_refused(text: str) -> None:
    """Whatever a pointer holds: its outputs or DvcFormatError, never another exception,
    with either reader."""
    for pointer in ("d/x.dvc", "d/dvc.lock"):
        with contextlib.suppress(dc.DvcFormatError):
            dc.outputs_of(pointer, text)
        with contextlib.suppress(dc.DvcFormatError):
            dc.parse_block_yaml(text)


# --- comparing the base with now -------------------------------------------------------


def diff(base: dict[str, str], now: dict[str, str]) -> dc.DvcDiff:
    pointers = sorted(set(base) | set(now))
    return dc.diff_pointers(pointers, base.get, now.get)


def test_a_new_hash_marks_the_tracked_path() -> None:
    got = diff(
        {"data/train.csv.dvc": dvc_file("train.csv", "1" * 32)},
        {"data/train.csv.dvc": dvc_file("train.csv", "2" * 32, size=9)},
    )
    assert [c.describe() for c in got.changes] == [
        "data/train.csv: modified (via data/train.csv.dvc, md5 11111111 -> 22222222)"
    ]
    assert got.notes == () and got.unreadable == ()


def test_same_hash_marks_nothing_and_says_why() -> None:
    """A .dvc file whose output did not change (a desc added) marks no dataset."""
    before = dvc_file("train.csv", "1" * 32)
    got = diff({"data/train.csv.dvc": before}, {"data/train.csv.dvc": "desc: v2\n" + before})
    assert got.changes == ()
    assert got.notes == (
        "data/train.csv.dvc changed (desc changed), but no output hash did: no dataset "
        "counts as changed",
    )


def test_added_removed_and_renamed() -> None:
    got = diff(
        {
            "data/a.csv.dvc": dvc_file("a.csv", "1" * 32),
            "data/gone.csv.dvc": dvc_file("gone.csv", "3" * 32),
        },
        {
            "data/b.csv.dvc": dvc_file("b.csv", "1" * 32),  # dvc move data/a.csv data/b.csv
            "data/new.csv.dvc": dvc_file("new.csv", "4" * 32),
        },
    )
    assert [c.describe() for c in got.changes] == [
        "data/a.csv: renamed to data/b.csv (via data/a.csv.dvc, pointer deleted, "
        "was md5 11111111)",
        "data/b.csv: renamed from data/a.csv (via data/b.csv.dvc, same content, md5 11111111)",
        "data/gone.csv: removed (via data/gone.csv.dvc, pointer deleted, was md5 33333333)",
        "data/new.csv: added (via data/new.csv.dvc, md5 44444444)",
    ]


def test_lock_change_without_output_change() -> None:
    """A new cmd and a new dependency hash in dvc.lock, the same output hash: nothing."""
    before = dvc_lock(
        {"prep": {"cmd": "python p.py", "deps": {"raw": "1" * 32}, "outs": {"out": "2" * 32}}}
    )
    after = dvc_lock(
        {"prep": {"cmd": "python p.py -v", "deps": {"raw": "9" * 32}, "outs": {"out": "2" * 32}}}
    )
    got = diff({"dvc.lock": before}, {"dvc.lock": after})
    assert got.changes == ()
    assert got.notes == (
        "dvc.lock changed (stage prep: cmd, deps changed), but no output hash did: no "
        "dataset counts as changed",
    )
    moved = dvc_lock({"prep": {"cmd": "c", "outs": {"out": "5" * 32}}})
    got = diff({"dvc.lock": before}, {"dvc.lock": moved})
    assert [c.describe() for c in got.changes] == [
        "out: modified (via dvc.lock stage prep, md5 22222222 -> 55555555)"
    ]


def test_folder_outputs_match_as_folders() -> None:
    got = diff(
        {"data/images.dvc": dvc_file("images", "1" * 32, is_dir=True)},
        {"data/images.dvc": dvc_file("images", "2" * 32, is_dir=True)},
    )
    assert [c.path for c in got.changes] == ["data/images/"]
    decision = ChangeDecision(
        "main", False, "r", data_globs=("data/**",), data_changed=("data/images/",)
    )
    assert decision.data_matches(("data/images/**",)) and decision.data_matches(("data/images",))
    assert not decision.data_matches(("data/text/**",))


def test_an_unreadable_pointer_counts_as_every_dataset_changed() -> None:
    got = diff({"x.dvc": dvc_file("x", "1" * 32)}, {"x.dvc": "outs: [broken\n"})
    assert got.unreadable and got.unreadable[0].startswith("x.dvc (now): ")
    decision = ChangeDecision(
        "main", False, "r", data_globs=("data/**",), data_unreadable=got.unreadable
    )
    assert decision.data_matches(("anything/**",)) and decision.run_any


def test_decision_travels_to_xdist_workers() -> None:
    decision = ChangeDecision(
        "main",
        False,
        "r",
        data_globs=("data/**",),
        data_changed=("data/a.csv",),
        data_reasons=("data/a.csv: added (via data/a.csv.dvc, md5 1)",),
        dvc_notes=("dvc.lock changed",),
    )
    assert ChangeDecision.from_dict(decision.to_dict()) == decision
    old = {"ref": "main", "run_model_tests": True, "reason": "r"}  # from an older controller
    assert ChangeDecision.from_dict(old).data_globs == ()


# --- selecting tests, in a consumer project --------------------------------------------

SUITE = """
import pytest

@pytest.mark.data(paths=["data/train.csv"])
def test_train_schema(): pass

@pytest.mark.data(paths=["data/eval.csv"])
def test_eval_schema(): pass

@pytest.mark.data
def test_any_data(): pass

@pytest.mark.model(data=["data/train.csv", "data/prepared.csv"])
def test_train_model(): pass

@pytest.mark.model
def test_other_model(): pass

def test_plain(): pass
"""
ALL = {
    "test_train_schema",
    "test_eval_schema",
    "test_any_data",
    "test_train_model",
    "test_other_model",
    "test_plain",
}


@pytest.fixture
def consumer(pytester: pytest.Pytester, git_repo):
    """A project whose datasets are DVC-tracked (pointers written in DVC's format), with
    a plain data file, model code and the suite above; one commit, tagged ``base``."""
    pytester.makeini("[pytest]\nmltk_model_paths = textclf/**\nmltk_data_paths =\n    data/**\n")
    files = {
        "textclf/model.py": "W = 1\n",
        "data/train.csv.dvc": dvc_file("train.csv", "1" * 32),
        "data/eval.csv.dvc": dvc_file("eval.csv", "2" * 32),
        "data/.gitignore": "/train.csv\n/eval.csv\n/prepared.csv\n",
        "data/labels.txt": "pos\nneg\n",
        "dvc.lock": dvc_lock(
            {"prepare": {"cmd": "python p.py", "outs": {"data/prepared.csv": "3" * 32}}}
        ),
        "test_suite.py": SUITE,
    }
    for path, text in files.items():
        (pytester.path / path).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / path).write_text(text)
    git_repo("add", ".")
    git_repo("commit", "-q", "-m", "base")
    git_repo("tag", "base")
    return pytester


def ran(result: pytest.RunResult) -> set[str]:
    return {
        line.split("::")[1].split(" ")[0]
        for line in result.outlines
        if "::" in line and " PASSED" in line
    }


def test_data_only_change_runs_the_tied_tests(consumer: pytest.Pytester) -> None:
    (consumer.path / "data/train.csv.dvc").write_text(dvc_file("train.csv", "9" * 32))
    result = consumer.runpytest("--mltk-changed-since", "base", "-v", "-p", "no:randomly")
    assert ran(result) == {"test_train_schema", "test_any_data", "test_train_model", "test_plain"}
    result.assert_outcomes(passed=4, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "*changed-since: no file matching mltk_model_paths (textclf/**) changed since base "
            "*; 1 dataset path(s) matching mltk_data_paths changed since base: data/train.csv; "
            "the data and model tests tied to them run",
            "deselected 1 data test(s) whose datasets did not change: "
            "test_suite.py::test_eval_schema",
            "data changed: data/train.csv: modified (via data/train.csv.dvc, md5 11111111 -> "
            "99999999)",
            "deselected 1 model test(s): *",
        ]
    )


def test_the_same_change_without_data_paths_is_a_usage_error(consumer: pytest.Pytester) -> None:
    """Tied markers with no mltk_data_paths could never select anything: refused."""
    consumer.makeini("[pytest]\nmltk_model_paths = textclf/**\n")
    result = consumer.runpytest("--mltk-changed-since", "base")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*@pytest.mark.data(paths=...) on test_suite.py::test_train_schema ties the test to "
            "datasets, but mltk_data_paths is not set*"
        ]
    )


def test_code_only_change_runs_every_model_test(consumer: pytest.Pytester) -> None:
    """As before data selection: model code changed, so every model test runs; the tests
    tied to datasets that did not change do not."""
    (consumer.path / "textclf/model.py").write_text("W = 2\n")
    result = consumer.runpytest("--mltk-changed-since", "base", "-v", "-p", "no:randomly")
    assert ran(result) == {"test_any_data", "test_train_model", "test_other_model", "test_plain"}
    result.stdout.fnmatch_lines(
        [
            "*changed-since: running model tests: 1 model file(s) changed since base *: "
            "textclf/model.py; no dataset matching mltk_data_paths (data/**) changed since base"
        ]
    )


def test_nothing_changed_deselects_every_tied_test(consumer: pytest.Pytester) -> None:
    result = consumer.runpytest("--mltk-changed-since", "base", "-v", "-p", "no:randomly")
    assert ran(result) == {"test_any_data", "test_plain"}


def test_plain_data_file_and_lock_output(consumer: pytest.Pytester) -> None:
    """A plain file under data/ changes in git; a dvc.lock output through its hash. The
    .gitignore DVC keeps beside the data is no dataset."""
    (consumer.path / "data/labels.txt").write_text("pos\nneg\nneutral\n")
    (consumer.path / "data/.gitignore").write_text("/train.csv\n")
    result = consumer.runpytest("--mltk-changed-since", "base", "-v", "-p", "no:randomly")
    assert ran(result) == {"test_any_data", "test_plain"}
    result.stdout.fnmatch_lines(["*data changed: data/labels.txt: changed in git (via git)"])
    (consumer.path / "dvc.lock").write_text(
        dvc_lock({"prepare": {"cmd": "python p.py", "outs": {"data/prepared.csv": "4" * 32}}})
    )
    result = consumer.runpytest("--mltk-changed-since", "base", "-v", "-p", "no:randomly")
    assert ran(result) == {"test_any_data", "test_plain", "test_train_model"}


def test_data_globs_matching_nothing_warn_and_run_the_tied_tests(consumer) -> None:
    """A typo in mltk_data_paths would hide every data change: it warns, and every
    dataset counts as changed."""
    consumer.makeini("[pytest]\nmltk_model_paths = textclf/**\nmltk_data_paths = dta/**\n")
    result = consumer.runpytest("--mltk-changed-since", "base", "-v", "-p", "no:randomly")
    assert ran(result) == ALL - {"test_other_model"}
    result.stdout.fnmatch_lines(
        [
            "*MltkConfigWarning: mltk_data_paths: 'dta/**' match(es) no file or DVC output *",
            "*mltk_data_paths (dta/**) matches no file or DVC output in the repository*",
        ]
    )
    # a glob matching only a DVC output (never in git) is no typo
    consumer.makeini("[pytest]\nmltk_model_paths = textclf/**\nmltk_data_paths = data/eval.csv\n")
    result = consumer.runpytest("--mltk-changed-since", "base", "-v", "-p", "no:randomly")
    assert ran(result) == {"test_any_data", "test_plain"}
    assert "MltkConfigWarning" not in result.stdout.str()


@pytest.mark.parametrize(
    ("marker", "said"),
    [
        ("data(paths=3)", "@pytest.mark.data(paths=...) on test_bad.py::test_x: expected a glob"),
        ("data(paths=[])", "@pytest.mark.data(paths=...) on test_bad.py::test_x: names no glob"),
        (
            "model(data=[1])",
            "@pytest.mark.model(data=...) on test_bad.py::test_x: expected a glob",
        ),
    ],
)
def test_bad_marker_arguments_are_usage_errors(consumer: pytest.Pytester, marker, said) -> None:
    consumer.makepyfile(test_bad=f"import pytest\n@pytest.mark.{marker}\ndef test_x(): pass\n")
    result = consumer.runpytest("--mltk-changed-since", "base")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{said}*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_data_globs_outside_the_rootdir_are_refused(consumer: pytest.Pytester) -> None:
    result = consumer.runpytest("--mltk-changed-since", "base", "--mltk-data-paths", "../data/**")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*mltk_data_paths: '../data/**' has a '..' segment*"])


def test_changed_command_names_the_pointer(consumer: pytest.Pytester) -> None:
    (consumer.path / "data/train.csv.dvc").write_text(dvc_file("train.csv", "9" * 32))
    cli = [sys.executable, "-m", "mlops_testkit.cli", "changed", "--since", "base"]
    done = subprocess.run(cli, cwd=consumer.path, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "true", done.stderr
    assert "data paths from mltk_data_paths in tox.ini" in done.stderr
    assert (
        "data changed: data/train.csv: modified (via data/train.csv.dvc, md5 11111111 -> "
        "99999999)" in done.stderr
    )
    # a dataset that did not change is no reason to run model tests
    done = subprocess.run(
        [*cli, "--data-paths", "data/eval.csv"], cwd=consumer.path, capture_output=True, text=True
    )
    assert done.stdout.strip() == "false", done.stderr


# --- with the real DVC -----------------------------------------------------------------


def find_dvc() -> str:
    for candidate in (
        os.environ.get("MLTK_TEST_DVC", ""),
        str(ROOT / ".tools" / "dvc" / "bin" / "dvc"),
        shutil.which("dvc") or "",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("DVC is not installed: run `make install-tools` (it installs dvc into .tools/dvc)")


class Consumer:
    """A consumer repository run by real git, DVC and pytest in subprocesses."""

    def __init__(self, root: Path, dvc: str) -> None:
        self.root, self.dvc = root, dvc
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTK_", "PYTEST_"))}
        self.env.update(
            GIT_AUTHOR_NAME="t",
            GIT_AUTHOR_EMAIL="t@example.com",
            GIT_COMMITTER_NAME="t",
            GIT_COMMITTER_EMAIL="t@example.com",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_CONFIG_NOSYSTEM="1",
            DVC_NO_ANALYTICS="1",
            DVC_SITE_CACHE_DIR=str(root.parent / "dvc-site-cache"),
            MLFLOW_DISABLE_TELEMETRY="true",
        )

    def run(self, *cmd: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            cmd, cwd=cwd or self.root, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}\n{done.stderr}"
        return done

    def git(self, *args: str) -> str:
        return self.run("git", *args).stdout

    def dvc_(self, *args: str) -> str:
        return self.run(self.dvc, *args, "-q").stdout

    def write(self, path: str, text: str) -> None:
        (self.root / path).parent.mkdir(parents=True, exist_ok=True)
        (self.root / path).write_text(text)

    def start_branch(self, name: str) -> None:
        self.git("checkout", "-q", "-b", name, "base")
        self.dvc_("checkout", "--force")

    def pytest(self, cwd: Path | None = None) -> tuple[set[str], str]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-v",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:randomly",
                "--mltk-changed-since",
                "base",
            ],
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        passed = {
            line.split("::")[1].split(" ")[0]
            for line in done.stdout.splitlines()
            if "::" in line and " PASSED" in line
        }
        return passed, done.stdout

    def changed(self, cwd: Path | None = None) -> tuple[str, str]:
        done = self.run(
            sys.executable, "-m", "mlops_testkit.cli", "changed", "--since", "base", cwd=cwd
        )
        return done.stdout.strip(), done.stderr


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Consumer:
    dvc = find_dvc()
    root = tmp_path_factory.mktemp("dvc-consumer") / "repo"
    root.mkdir()
    c = Consumer(root, dvc)
    c.git("init", "-q", "-b", "main")
    c.dvc_("init")
    remote = root.parent / "dvc-remote"
    c.dvc_("remote", "add", "-d", "local", str(remote))
    c.write(
        "pytest.ini",
        "[pytest]\nmltk_model_paths = textclf/**\nmltk_data_paths =\n    data/**\n",
    )
    c.write("textclf/model.py", "W = 1\n")
    c.write("data/train.csv", "text,label\ngood,1\n")
    c.write("data/eval.csv", "text,label\nbad,0\n")
    c.write("prepare.py", "import shutil\nshutil.copy('data/train.csv', 'data/prepared.csv')\n")
    c.write(
        "dvc.yaml",
        "stages:\n  prepare:\n    cmd: python prepare.py\n    deps: [data/train.csv, prepare.py]\n"
        "    outs: [data/prepared.csv]\n",
    )
    c.write("test_suite.py", SUITE)
    c.dvc_("add", "data/train.csv", "data/eval.csv")
    c.dvc_("repro")
    c.dvc_("push")
    assert any(remote.rglob("*")), "dvc push wrote nothing to the local remote"
    c.git("add", "-A")
    c.git("commit", "-q", "-m", "base")
    c.git("tag", "base")
    return c


@pytest.mark.slow
def test_real_dvc_data_only_change(real: Consumer) -> None:
    """dvc add of a changed dataset and dvc repro: the data tests and the model test tied
    to it run, the others do not; a fresh clone with no DVC cache decides the same."""
    real.start_branch("data-only")
    real.write("data/train.csv", "text,label\ngood,1\ngreat,1\n")
    real.dvc_("add", "data/train.csv")
    real.dvc_("repro")
    real.git("commit", "-qam", "more training data")
    passed, out = real.pytest()
    assert passed == {"test_train_schema", "test_any_data", "test_train_model", "test_plain"}, out
    assert "data changed: data/train.csv: modified (via data/train.csv.dvc, md5 " in out
    assert "data changed: data/prepared.csv: modified (via dvc.lock stage prepare, md5 " in out
    run, why = real.changed()
    assert run == "true" and "via data/train.csv.dvc" in why
    clone = real.root.parent / "clone"
    real.run("git", "clone", "-q", str(real.root), str(clone))
    real.run("git", "checkout", "-q", "data-only", cwd=clone)
    assert not (clone / ".dvc" / "cache").exists() and not (clone / "data" / "train.csv").exists()
    assert real.pytest(cwd=clone)[0] == passed


@pytest.mark.slow
def test_real_dvc_code_only_change(real: Consumer) -> None:
    real.start_branch("code-only")
    real.write("textclf/model.py", "W = 2\n")
    real.git("commit", "-qam", "model code")
    passed, out = real.pytest()
    assert passed == {"test_any_data", "test_train_model", "test_other_model", "test_plain"}, out
    assert "running model tests: 1 model file(s) changed since base" in out
    assert real.changed()[0] == "true"


@pytest.mark.slow
def test_real_dvc_rename(real: Consumer) -> None:
    real.start_branch("rename")
    real.dvc_("move", "data/eval.csv", "data/holdout.csv")
    real.git("add", "-A")
    real.git("commit", "-qm", "rename the evaluation set")
    passed, out = real.pytest()
    assert passed == {"test_eval_schema", "test_any_data", "test_plain"}, out
    assert (
        "data changed: data/eval.csv: renamed to data/holdout.csv (via data/eval.csv.dvc, "
        "pointer deleted, was md5 " in out
    )
    assert (
        "data changed: data/holdout.csv: renamed from data/eval.csv (via data/holdout.csv.dvc"
        in out
    )


@pytest.mark.slow
def test_real_dvc_deletion(real: Consumer) -> None:
    real.start_branch("deletion")
    real.dvc_("remove", "data/eval.csv.dvc")
    real.git("add", "-A")
    real.git("commit", "-qm", "drop the evaluation set")
    passed, out = real.pytest()
    assert passed == {"test_eval_schema", "test_any_data", "test_plain"}, out
    assert (
        "data changed: data/eval.csv: removed (via data/eval.csv.dvc, pointer deleted, was md5"
        in out
    )


@pytest.mark.slow
def test_real_dvc_lock_change_without_output_change(real: Consumer) -> None:
    """A new command in the stage, the same output: dvc.lock changes, no dataset does."""
    real.start_branch("lock-only")
    real.write(
        "dvc.yaml",
        "stages:\n  prepare:\n    cmd: python prepare.py --quiet\n"
        "    deps: [data/train.csv, prepare.py]\n    outs: [data/prepared.csv]\n",
    )
    real.dvc_("repro")
    real.git("commit", "-qam", "quieter prepare")
    assert "dvc.lock" in real.git("diff", "--name-only", "base")
    passed, out = real.pytest()
    assert passed == {"test_any_data", "test_plain"}, out
    assert (
        "dvc.lock changed (stage prepare: cmd changed), but no output hash did: no dataset "
        "counts as changed" in out
    )
    run, why = real.changed()
    assert run == "false" and "no output hash did" in why
