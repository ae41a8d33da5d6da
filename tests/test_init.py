"""``mlops-testkit init``: merges, never overwrites; idempotent; --dry-run writes nothing;
the four bad inputs refuse with a clear message and leave every file as it was."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_testkit.ci import config as pytest_config
from mlops_testkit.ci import init as wiring
from mlops_testkit.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
REMOTE = ["--source", "acme/mlops-testkit", "--ref", "0123abc"]
GITHUB = ["--ci", "github", "--model-name", "demo", "--train-command", "python train.py"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch) -> None:
    """init asks no package index here (the CI install is the git pin): no network."""
    monkeypatch.setenv("MLTK_INDEX_URL", "none")


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts[:1]
    }


def test_wires_a_pyproject_and_is_idempotent(repo, capsys) -> None:
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    (repo / ".gitignore").write_text("__pycache__/\nmlruns\n")
    args = ["init", *GITHUB, *REMOTE, "--model-paths", "model.py,train.py"]
    assert cli(args) == 0
    out = capsys.readouterr().out
    assert "updated   pyproject.toml" in out and "created   .github/workflows/ml.yml" in out
    found = pytest_config.find(repo)
    assert found is not None and found.values["mltk_model_paths"] == ["model.py", "train.py"]
    assert {m.split(":")[0].split("(")[0] for m in found.values["markers"]} == set(wiring.MARKERS)
    ignore = (repo / ".gitignore").read_text()
    assert "mlflow.db" in ignore and "mlartifacts/" in ignore and ignore.count("mlruns") == 1
    hooks = (repo / ".pre-commit-config.yaml").read_text()
    assert "repo: https://github.com/acme/mlops-testkit" in hooks and "rev: 0123abc" in hooks
    assert "default_install_hook_types: [pre-commit, pre-push]" in hooks
    before = snapshot(repo)
    assert cli(["init", *GITHUB, *REMOTE]) == 0  # the paths are configured now
    assert "changed 0 file(s)" in capsys.readouterr().out
    assert snapshot(repo) == before


def test_merges_into_existing_files_and_dry_run_writes_nothing(repo, capsys) -> None:
    (repo / "pytest.ini").write_text(
        "[pytest]\naddopts = -ra\nmarkers =\n    slow: slow tests\n\n[other]\nx = 1\n"
    )
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: https://github.com/psf/black\n  rev: 24.1.0\n  hooks:\n"
        "  - id: black\nci:\n  autofix: false\n"
    )
    before = snapshot(repo)
    assert cli(["init", "--local", "--model-paths", "src/**", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "+mltk_model_paths = src/**" in out and "(dry run) updated   pytest.ini" in out
    assert snapshot(repo) == before
    assert cli(["init", "--local", "--model-paths", "src/**"]) == 0
    ini = (repo / "pytest.ini").read_text()
    assert ini.startswith("[pytest]\naddopts = -ra\nmarkers =\n    slow: slow tests\n    data:")
    assert ini.endswith("[other]\nx = 1\n")
    assert pytest_config.find(repo).values["mltk_model_paths"] == "src/**"
    import yaml

    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    assert [r["repo"] for r in config["repos"]] == ["https://github.com/psf/black", "local"]
    assert config["ci"] == {"autofix": False}
    local = {h["id"]: h for h in config["repos"][1]["hooks"]}
    assert local["mltk-affected-tests"]["stages"] == ["pre-push"]
    assert local["mltk-no-model-artifacts"]["language"] == "system"


def test_a_conflicting_setting_is_refused_with_its_line(repo, capsys) -> None:
    (repo / "pytest.ini").write_text("[pytest]\nmltk_model_paths = model.py\n")
    assert cli(["init", "--local", "--model-paths", "src/**"]) == 1
    err = capsys.readouterr().err
    assert "pytest.ini:2: mltk_model_paths is model.py, not src/**" in err
    assert "nothing was written" in err and not (repo / ".gitignore").exists()


def test_not_a_git_repository(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    assert cli(["init", str(tmp_path), "--local", "--model-paths", "m.py"]) == 1
    err = capsys.readouterr().err
    assert "is not in a git repository: run `git init` there first" in err
    assert snapshot(tmp_path) == {"pytest.ini": "[pytest]\n"}


def test_an_existing_workflow_of_the_same_name(repo, capsys) -> None:
    (repo / "pytest.ini").write_text("[pytest]\n")
    workflow = repo / ".github" / "workflows" / "ml.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: ml\non: push\njobs: {}\n")
    before = snapshot(repo)
    assert cli(["init", *GITHUB, *REMOTE, "--local", "--model-paths", "m.py"]) == 1
    err = capsys.readouterr().err
    assert ".github/workflows/ml.yml:1: a workflow with this name exists" in err
    assert snapshot(repo) == before  # the pytest.ini and .gitignore changes were not made


def test_an_unknown_ci(repo, capsys) -> None:
    (repo / "pytest.ini").write_text("[pytest]\n")
    assert cli(["init", "--ci", "jenkins", "--local", "--model-paths", "m.py"]) == 2
    assert "--ci 'jenkins': expected one of github, gitlab" in capsys.readouterr().err
    assert snapshot(repo) == {"pytest.ini": "[pytest]\n"}


INI = "\n".join(f"    {line}" for line in wiring.MARKERS.values())


def test_a_project_without_pytest_configuration_gets_a_pytest_ini(repo, capsys) -> None:
    """Only requirements.txt and scripts: init creates pytest.ini (shown by --dry-run)."""
    (repo / "setup.cfg").write_text("[metadata]\nname = x\n")
    (repo / "requirements.txt").write_text("scikit-learn\n")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    before = snapshot(repo)
    assert cli(["init", "--local", "--model-paths", "train.py", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--- /dev/null\n+++ b/pytest.ini\n" in out and "+[pytest]\n" in out
    assert "(dry run) created   pytest.ini (pytest settings (a new pytest.ini" in out
    assert snapshot(repo) == before
    assert cli(["init", "--local", "--model-paths", "train.py"]) == 0
    assert (repo / "pytest.ini").read_text() == (
        f"[pytest]\nmltk_model_paths = train.py\nmarkers =\n{INI}\n"
    )  # no code of its own at the top (tests/ is not): no pythonpath
    assert (repo / "setup.cfg").read_text() == "[metadata]\nname = x\n"
    found = pytest_config.find(repo)
    assert found.path.name == "pytest.ini" and found.values["mltk_model_paths"] == "train.py"
    assert cli(["init", "--local"]) == 0 and "changed 0 file(s)" in capsys.readouterr().out


def test_a_pytest_ini_without_its_section_is_refused(repo, capsys) -> None:
    (repo / "pytest.ini").write_text("# nothing yet\n")
    assert cli(["init", "--local", "--model-paths", "m.py"]) == 1
    assert "pytest.ini" in capsys.readouterr().err
    assert snapshot(repo) == {"pytest.ini": "# nothing yet\n"}


def test_gitlab_include_merges_into_an_existing_pipeline(repo, capsys) -> None:
    (repo / "pytest.ini").write_text("[pytest]\nmltk_model_paths = m.py\n")
    (repo / ".gitlab-ci.yml").write_text(
        "stages: [build, lint, test, train, deploy, monitor]\ninclude:\n"
        "  - local: ci/build.yml\nbuild:\n  stage: build\n  script: [make]\n"
    )
    gitlab = ["--ci", "gitlab", "--model-name", "demo", "--train-command", "python t.py"]
    assert cli(["init", *gitlab, *REMOTE, "--local"]) == 0
    import yaml

    pipeline = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    files = [i.get("file", i.get("local")) for i in pipeline["include"]]
    assert files[0] == "ci/build.yml" and "gitlab_templates/deploy.yml" in files
    assert pipeline["build"] == {"stage": "build", "script": ["make"]}
    assert cli(["init", *gitlab, *REMOTE, "--local"]) == 0  # idempotent
    assert "changed 0 file(s)" in capsys.readouterr().out
    (repo / ".gitlab-ci.yml").write_text("stages: [build, test]\n")
    assert cli(["init", *gitlab, *REMOTE, "--local"]) == 1
    assert ".gitlab-ci.yml:1: stages lacks lint, train, deploy, monitor" in (
        capsys.readouterr().err
    )


def test_the_readme_snippets_are_what_init_writes(tmp_path) -> None:
    """The consumer snippets of the template READMEs are init's output, word for word."""
    opts = {
        "model_name": "credit-scoring",
        "train_command": "python -m credit_scoring.train --register credit-scoring",
        "source": "ORG/mlops-testkit",
        "ref": "COMMIT_SHA",
        "local": True,
    }
    github = wiring.github_workflow(wiring.Options(root=tmp_path, ci="github", **opts))
    readme = (ROOT / "github_actions" / "README.md").read_text()
    assert "# .github/workflows/ml.yml\n" + github in readme
    gitlab = wiring.gitlab_change(wiring.Options(root=tmp_path, ci="gitlab", **opts)).after
    assert "```yaml\n" + gitlab + "```" in (ROOT / "gitlab_templates" / "README.md").read_text()


def test_changed_reads_the_model_paths_from_the_pytest_configuration(repo, capsys) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e")
    (repo / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nmltk_model_paths = ["m/**"]\n'
    )
    (repo / "m").mkdir()
    (repo / "m" / "net.py").write_text("W = 1\n")
    for args in (["add", "."], ["commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env={**os.environ, **env})
    (repo / "m").joinpath("sub").mkdir()
    os.chdir(repo / "m" / "sub")  # globs stay relative to the rootdir, not the cwd
    assert cli(["changed", "--since", "HEAD"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "false\n" and "mltk_model_paths in pyproject.toml" in captured.err
    (repo / "m" / "net.py").write_text("W = 2\n")
    assert cli(["changed", "--since", "HEAD"]) == 0
    assert capsys.readouterr().out == "true\n"
    (repo / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    assert cli(["changed", "--since", "HEAD"]) == 1
    assert re.search(r"has no mltk_model_paths: add the globs", capsys.readouterr().err)


# --- pythonpath: the project's own code, when it is not installed ---------------------------

TEXTCLF_TEST = "from textclf import tokenize\n\n\ndef test_tokenize():\n    assert tokenize('a b') == ['a', 'b']\n"


def _textclf(repo: Path, base: str = ".") -> None:
    package = repo / base / "textclf"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def tokenize(text):\n    return text.split()\n")
    (repo / "tests").mkdir(exist_ok=True)
    (repo / "tests" / "test_tok.py").write_text(TEXTCLF_TEST)


def _pytest(repo: Path) -> subprocess.CompletedProcess[str]:
    """The newcomer's first pytest: the console script, from the repository root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    pytest_bin = Path(sys.executable).parent / "pytest"
    return subprocess.run(
        [str(pytest_bin), "-q", "-p", "no:randomly", "-p", "no:cacheprovider"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_pythonpath_is_added_when_the_package_is_not_installed(repo, capsys) -> None:
    """The newcomer's `No module named 'textclf'`: proven on the file without the line,
    fixed by the line init adds (pytest.ini: `pythonpath = .`)."""
    _textclf(repo)
    assert cli(["init", "--local", "--model-paths", "textclf/**"]) == 0
    out = capsys.readouterr().out
    assert "pythonpath .: textclf is not installed" in out
    ini = (repo / "pytest.ini").read_text()
    assert ini.endswith("\npythonpath = .\n")
    assert _pytest(repo).returncode == 0
    (repo / "pytest.ini").write_text(ini.replace("pythonpath = .\n", ""))
    failed = _pytest(repo)
    assert failed.returncode != 0 and "No module named 'textclf'" in failed.stdout
    (repo / "pytest.ini").write_text(ini)
    assert cli(["init", "--local"]) == 0 and "changed 0 file(s)" in capsys.readouterr().out


def test_pythonpath_in_a_new_pyproject_table_and_for_a_src_layout(repo) -> None:
    (repo / "pyproject.toml").write_text('[project]\nname = "textclf"\n')
    _textclf(repo, "src")
    (repo / "train.py").write_text("print('train')\n")  # a script at the top: "." too
    (repo / "setup.py").write_text("")  # tool files are not the project's code
    assert cli(["init", "--local", "--model-paths", "src/textclf/**"]) == 0
    found = pytest_config.find(repo)
    assert found.section == "[tool.pytest.ini_options]"
    assert found.values["pythonpath"] == [".", "src"]
    assert _pytest(repo).returncode == 0


def test_no_pythonpath_when_the_package_is_installed_or_the_key_is_set(
    repo, tmp_path_factory, capsys
) -> None:
    _textclf(repo)
    # sys.path changes in a context of their own: undoing the fixture's monkeypatch would
    # also undo the repo fixture's chdir, and init would then write into the cwd of pytest
    with pytest.MonkeyPatch.context() as paths:
        paths.syspath_prepend(str(repo))  # the repository itself on sys.path is no install
        args = ["init", "--local", "--model-paths", "textclf/**", "--dry-run"]
        assert cli(args) == 0 and "+pythonpath = .\n" in capsys.readouterr().out
        site = tmp_path_factory.mktemp("site")  # an installed copy, outside the repository
        (site / "textclf").mkdir()
        (site / "textclf" / "__init__.py").write_text("")
        paths.syspath_prepend(str(site))
        assert cli(["init", "--local", "--model-paths", "textclf/**"]) == 0
        assert "pythonpath" not in (repo / "pytest.ini").read_text()
    (repo / "pytest.ini").unlink()
    assert Path.cwd() == repo  # still in the repository under test
    (repo / "pytest.ini").write_text("[pytest]\npythonpath = lib\n")
    assert cli(["init", "--local", "--model-paths", "textclf/**"]) == 0
    assert pytest_config.find(repo).values["pythonpath"] == "lib"  # the user's, kept


def test_own_code_and_installed(tmp_path) -> None:
    from mlops_testkit.ci.init_pytest import installed, own_code

    for folder in ("pkg", "tests", "docs", "examples", "no_init", ".hidden", "my-dir"):
        (tmp_path / folder).mkdir()
        if folder != "no_init":
            (tmp_path / folder / "__init__.py").write_text("")
    for name in ("model.py", "setup.py", "conftest.py", "noxfile.py", "test_x.py", "a-b.py"):
        (tmp_path / name).write_text("")
    assert own_code(tmp_path) == ["model", "pkg"]  # not tests, docs, tools or non-names
    assert own_code(tmp_path / "missing") == []
    assert installed("json", ROOT) and installed("pytest", ROOT)  # stdlib, site-packages
    assert not installed("textclf_not_anywhere", ROOT)
