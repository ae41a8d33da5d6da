"""The pre-commit hooks: their logic (mlops_testkit.ci.hooks) and the manifest, run for real
by pre-commit (validate-manifest, try-repo) in a throwaway consumer repository."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_testkit.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCHEMA = """
import pandera.pandas as pa

class Rows(pa.DataFrameModel):
    age: int = pa.Field(ge=18)
    region: str = pa.Field(isin=["north", "south"])
"""


@pytest.fixture
def consumer(tmp_path, monkeypatch):
    """A git repository of a project that uses the hooks; returns a git runner."""
    monkeypatch.chdir(tmp_path)
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True
        ).stdout

    git("init", "-q", "-b", "main")
    (tmp_path / "myproj").mkdir()
    (tmp_path / "myproj" / "__init__.py").write_text("")
    (tmp_path / "myproj" / "schemas.py").write_text(textwrap.dedent(SCHEMA))
    return git


def test_artifact_guard(consumer, tmp_path, capsys) -> None:
    (tmp_path / "model.pt").write_bytes(b"\0" * 100)
    (tmp_path / "notes.md").write_text("fine")
    (tmp_path / "big.csv").write_bytes(b"1,2\n" * 400_000)  # 1.6 MB
    assert cli(["check-artifacts", "notes.md"]) == 0
    assert cli(["check-artifacts", "notes.md", "model.pt", "big.csv", "--max-mb", "1"]) == 1
    out = capsys.readouterr().out
    assert (
        "model.pt: a model artifact (*.pt" in out and "big.csv: 1.6 MB, over the 1 MB limit" in out
    )
    assert "notes.md" not in out and "git lfs track" in out
    assert cli(["check-artifacts", "big.csv"]) == 0  # under the default 5 MB
    # Git LFS stores it: allowed (the attribute is enough; git-lfs itself is not needed)
    (tmp_path / ".gitattributes").write_text("*.pt filter=lfs diff=lfs merge=lfs -text\n")
    assert cli(["check-artifacts", "model.pt"]) == 0
    with pytest.raises(SystemExit) as exc:
        cli(["check-artifacts", "--max-mb", "zero"])
    assert exc.value.code == 2
    assert "'zero' is not a positive number of megabytes" in capsys.readouterr().err


def test_data_check(consumer, tmp_path, capsys) -> None:
    pytest.importorskip("pandera")
    (tmp_path / "good.csv").write_text("age,region\n30,north\n45,south\n")
    (tmp_path / "bad.csv").write_text("age,region\n30,north\n12,west\n")
    (tmp_path / "unreadable.csv").write_text("age,region\nold,south\n")
    spec = ["--schema", "myproj.schemas:Rows"]
    assert cli(["check-data", *spec, "good.csv"]) == 0
    assert cli(["check-data", *spec, "good.csv", "bad.csv"]) == 1
    out = capsys.readouterr().out
    assert "good.csv" not in out.split("break")[0].replace("bad.csv", "")
    assert "column 'age', check greater_than_or_equal_to(18): 12 (row 1)" in out
    assert "column 'region', check isin" in out and "'west'" in out
    assert "1 of 2 file(s) break myproj.schemas:Rows" in out
    # a value that cannot be read as the declared type is a failure too
    assert cli(["check-data", *spec, "unreadable.csv"]) == 1
    assert "column 'age', check coerce_dtype('int64'): 'old' (row 0)" in capsys.readouterr().out
    assert cli(["check-data", "--schema", "myproj.schemas:Nope", "good.csv"]) == 2
    assert "myproj.schemas has no attribute 'Nope'" in capsys.readouterr().err
    assert cli(["check-data", "--schema", "nomodule", "good.csv"]) == 2
    assert "expected MODULE:NAME" in capsys.readouterr().err
    (tmp_path / "rows.json").write_text("{}")
    assert cli(["check-data", *spec, "rows.json"]) == 1
    assert "rows.json: cannot read .json files; expected CSV" in capsys.readouterr().out


def test_affected_tests_runs_model_tests_only_when_model_code_changed(
    consumer, tmp_path, capsys
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nmltk_model_paths = myproj/model.py\n")
    (tmp_path / "myproj" / "model.py").write_text("WEIGHT = 1\n")
    (tmp_path / "test_all.py").write_text(textwrap.dedent("""
            import pytest

            @pytest.mark.data
            def test_data():
                pass

            @pytest.mark.model
            def test_model():
                from myproj.model import WEIGHT
                assert WEIGHT == 1
            """))
    consumer("add", ".")
    consumer("commit", "-qm", "start")

    def affected() -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                str(BIN / "mlops-testkit"),
                "affected-tests",
                "--since",
                "HEAD",
                "--",
                "-q",
                "-p",
                "no:cacheprovider",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )

    quiet = affected()
    assert quiet.returncode == 0, quiet.stdout
    assert "1 passed, 1 deselected" in quiet.stdout
    # the CI workflows' "changes" job asks the same question
    assert cli(["changed", "--since", "HEAD", "--paths", "myproj/model.py"]) == 0
    assert capsys.readouterr().out == "false\n"
    (tmp_path / "myproj" / "model.py").write_text("WEIGHT = 2\n")  # a model bug
    assert cli(["changed", "--since", "HEAD", "--paths", "myproj/model.py"]) == 0
    assert capsys.readouterr().out == "true\n"
    assert cli(["changed", "--since", "nope", "--paths", "myproj/model.py"]) == 1
    assert "'nope' is not a commit" in capsys.readouterr().err
    broken = affected()
    assert broken.returncode == 1 and "1 failed, 1 passed" in broken.stdout


@pytest.mark.slow
def test_pre_commit_runs_the_hooks_from_this_repository(consumer, tmp_path) -> None:
    """pre-commit itself validates the manifest and runs the hooks (try-repo builds the
    hook environment from this working tree)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env["PRE_COMMIT_HOME"] = str(tmp_path.parent / "pre-commit-home")

    def pre_commit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "pre-commit"), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    manifest = pre_commit("validate-manifest", str(ROOT / ".pre-commit-hooks.yaml"))
    assert manifest.returncode == 0, manifest.stdout + manifest.stderr
    example = pre_commit("validate-config", str(ROOT / "examples" / "pre-commit-config.yaml"))
    assert example.returncode == 0, example.stdout + example.stderr

    (tmp_path / "model.pkl").write_bytes(b"\0" * 10)
    (tmp_path / "data.csv").write_text("age,region\n12,north\n")
    consumer("add", ".")
    guard = pre_commit(
        "try-repo", str(ROOT), "mltk-no-model-artifacts", "--files", "model.pkl", "data.csv"
    )
    assert guard.returncode == 1, guard.stdout
    assert (
        "model.pkl: a model artifact (*.pkl" in guard.stdout
        and "data.csv" not in guard.stdout.split("Failed")[1]
    )
    data = pre_commit("try-repo", str(ROOT), "mltk-check-data", "--files", "data.csv", "--verbose")
    # try-repo cannot pass args: the hook runs without --schema and says what it needs
    assert data.returncode == 1 and "--schema" in data.stdout, data.stdout


def test_artifact_guard_flags_mlflow_stores_skops_and_checkpoints(
    consumer, tmp_path, capsys
) -> None:
    """What the README's local MLflow set-up creates, and framework checkpoints."""
    files = {
        "mlflow.db": b"SQLite format 3\0",
        "mlruns/1/abc/artifacts/model/model.skops": b"\0",
        "mlruns/1/abc/artifacts/model/MLmodel": b"flavors: {}\n",
        "mlartifacts/2/x/conda.yaml": b"name: x\n",
        "ckpt/model.data-00000-of-00001": b"\0",
        "hf/pytorch_model-00001-of-00002.bin": b"\0",
        "src/model.py": b"W = 1\n",
        "data/features.npz": b"\0",
        "tests/fixtures/tiny.pkl": b"\0",
    }
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    assert cli(["check-artifacts", *files]) == 1
    out = capsys.readouterr().out
    for name in list(files)[:6]:
        assert f"  {name}: " in out, name
    assert "mlflow.db: the local MLflow store (mlflow.db" in out
    assert "model.skops: a model artifact (*.skops" in out and "add mlflow.db" in out
    assert "src/model.py" not in out and "features.npz" not in out
    # the documented list is extensible, and exceptions are possible
    extra = ["--pattern", "*.npz", "--allow", "tests/fixtures/*.pkl"]
    assert cli(["check-artifacts", "data/features.npz", "tests/fixtures/tiny.pkl", *extra]) == 1
    out = capsys.readouterr().out
    assert "data/features.npz: a model artifact (*.npz" in out and "tiny.pkl" not in out
    assert cli(["check-artifacts", "tests/fixtures/tiny.pkl", "--allow", "tests/**"]) == 0


def test_docs_list_every_artifact_pattern() -> None:
    from mlops_testkit.ci.hooks import ARTIFACT_PATTERNS

    docs = (ROOT / "docs" / "ci.md").read_text()
    missing = [p for p in ARTIFACT_PATTERNS if f"`{p}`" not in docs]
    assert not missing, f"docs/ci.md does not list {missing}"


def test_pre_push_never_blocks_without_a_base(consumer, tmp_path) -> None:
    """A first push (one commit, no remote branch yet) runs every model test and says
    why; after it, pushes compare with the merge base of origin's default branch, over
    all the branch's commits, not only the last one."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nmltk_model_paths = myproj/model.py\n")
    (tmp_path / "myproj" / "model.py").write_text("WEIGHT = 1\n")
    (tmp_path / "test_all.py").write_text(
        "import pytest\n\n@pytest.mark.data\ndef test_data():\n    pass\n\n"
        "@pytest.mark.model\ndef test_model():\n    pass\n"
    )
    consumer("add", ".")
    consumer("commit", "-qm", "first")

    def push_hook() -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRE_COMMIT")}
        return subprocess.run(
            [str(BIN / "mlops-testkit"), "affected-tests", "--", "-q", "-p", "no:cacheprovider"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
        )

    first = push_hook()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "nothing to compare with" in first.stdout and "running all model tests" in first.stdout
    assert "2 passed" in first.stdout and "changed-since" not in first.stdout
    bare = tmp_path.parent / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    consumer("remote", "add", "origin", str(bare))
    consumer("push", "-q", "origin", "main")
    consumer("checkout", "-q", "-b", "feature")
    (tmp_path / "myproj" / "model.py").write_text("WEIGHT = 2\n")
    consumer("commit", "-qam", "model change")
    (tmp_path / "notes.md").write_text("notes\n")
    consumer("add", "notes.md")
    consumer("commit", "-qm", "a later commit that changes no model code")
    branch = push_hook()
    assert branch.returncode == 0, branch.stdout
    assert "comparing with the default branch origin/main" in branch.stdout
    assert "--mltk-changed-since=origin/main" in branch.stdout and "2 passed" in branch.stdout
