from __future__ import annotations

import pytest

from mlops_testkit.ci.changes import glob_to_regex


@pytest.mark.parametrize(
    ("glob", "path", "hit"),
    [
        ("src/model/**", "src/model/net.py", True),
        ("src/model/**", "src/model/layers/attn.py", True),
        ("src/model/", "src/model/net.py", True),
        ("src/*.py", "src/train.py", True),
        ("src/*.py", "src/model/net.py", False),
        ("**/train.py", "train.py", True),
        ("**/train.py", "a/b/train.py", True),
        ("./model.py", "model.py", True),
        ("model?.py", "model1.py", True),
        ("model.py", "model_py", False),
        ("src/**/*.py", "src/x.py", True),
        ("src/**/*.py", "srcx/x.py", False),
    ],
)
def test_glob_semantics(glob: str, path: str, hit: bool) -> None:
    assert bool(glob_to_regex(glob).match(path)) is hit


PROJECT = {
    "model/net.py": "NET = 1\n",
    "data/load.py": "LOAD = 1\n",
    "test_all.py": """
import pytest

@pytest.mark.model
def test_train(): pass

@pytest.mark.model
def test_eval(): pass

@pytest.mark.data
def test_schema(): pass

def test_plain(): pass
""",
}


@pytest.fixture
def project(pytester: pytest.Pytester, git_repo):
    pytester.makeini("[pytest]\nmltk_model_paths =\n    model/**\n")
    for path, text in PROJECT.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git_repo("add", ".")
    git_repo("commit", "-q", "-m", "start")
    return git_repo


def test_model_tests_deselected_when_model_code_unchanged(pytester, project) -> None:
    (pytester.path / "data/load.py").write_text("LOAD = 2\n")
    result = pytester.runpytest("--mltk-changed-since", "HEAD")
    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "*changed-since: no file matching mltk_model_paths (model/**) changed since HEAD*",
            "deselected 2 model test(s): no file matching mltk_model_paths (model/**) changed "
            "since HEAD (merge base *; 1 other file(s) changed)",
        ]
    )


@pytest.mark.parametrize("how", ["modified", "committed", "untracked"])
def test_model_tests_run_when_model_code_changed(pytester, project, how: str) -> None:
    if how == "untracked":
        (pytester.path / "model/new_layer.py").write_text("X = 1\n")
    else:
        (pytester.path / "model/net.py").write_text("NET = 2\n")
    if how == "committed":
        project("commit", "-q", "-am", "change the model")
    result = pytester.runpytest("--mltk-changed-since", "HEAD~1" if how == "committed" else "HEAD")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["running model tests: 1 model file(s) changed since *model/*"])


def test_branch_compares_with_merge_base(pytester, project) -> None:
    project("checkout", "-q", "-b", "feature")
    (pytester.path / "data/load.py").write_text("LOAD = 3\n")
    project("commit", "-q", "-am", "feature work")
    project("checkout", "-q", "main")
    (pytester.path / "model/net.py").write_text("NET = 9\n")
    project("commit", "-q", "-am", "main moved on")
    project("checkout", "-q", "feature")
    # main's later model change is not this branch's change
    result = pytester.runpytest("--mltk-changed-since", "main")
    result.assert_outcomes(passed=2, deselected=2)


def test_env_and_option_globs(pytester, project, monkeypatch) -> None:
    (pytester.path / "data/load.py").write_text("LOAD = 2\n")
    monkeypatch.setenv("MLTK_CHANGED_SINCE", "HEAD")
    monkeypatch.setenv("MLTK_MODEL_PATHS", "data/**, model/**")
    pytester.runpytest().assert_outcomes(passed=4)
    pytester.runpytest("--mltk-model-paths", "model/**").assert_outcomes(passed=2, deselected=2)


def test_unknown_ref_is_a_usage_error(pytester, project) -> None:
    result = pytester.runpytest("--mltk-changed-since", "origin/nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--mltk-changed-since: 'origin/nope' is not a commit in the git repository at *"]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_not_a_git_repository(pytester) -> None:
    pytester.makeini("[pytest]\nmltk_model_paths = model/**\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--mltk-changed-since", "HEAD")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mltk-changed-since: * is not inside a git repository*"])


def test_changed_since_needs_globs(pytester, git_repo) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--mltk-changed-since", "HEAD")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*needs the globs of your model code: set the ini key mltk_model_paths*"]
    )


def test_globs_matching_nothing_warn_and_keep_model_tests(pytester, project) -> None:
    pytester.makeini("[pytest]\nmltk_model_paths = modle/**\n")
    result = pytester.runpytest("--mltk-changed-since", "HEAD", "-W", "default")
    result.assert_outcomes(passed=4, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*MltkConfigWarning: mltk_model_paths: 'modle/**' match(es) no file under *",
            "running model tests: mltk_model_paths (modle/**) matches no file in the repository*",
        ]
    )
