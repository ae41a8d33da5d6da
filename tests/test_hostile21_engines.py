"""Issue 21, classes 6 to 9: the 0-row rule on every engine, engine errors as usage errors,
the dependency readers and ``init`` under hostile files, and change detection with the
names git quotes. Each example input of the issue is here with its precise outcome, next
to a clean case that still passes.

Real polars, PyArrow and Spark; real git repositories and real ``init`` runs in tmp_path.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlops_testkit import (
    MltkUsageError,
    assert_dependencies_unchanged,
    assert_schema,
    dependency_diff,
    drift_report,
    leakage_report,
    schema_report,
)
from mlops_testkit.ci.changes import ChangeError, decide
from mlops_testkit.cli import main as cli
from mlops_testkit.registry.deps import classify, environment_of

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("scipy")

VALUES = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]


def polars_schema():
    pap = pytest.importorskip("pandera.polars")
    return pap.DataFrameSchema({"x": pap.Column(pl.Float64)})


def pandas_schema():
    pdp = pytest.importorskip("pandera.pandas")
    return pdp.DataFrameSchema({"x": pdp.Column(float)})


# --- class 6: the same 0-row rule on every engine ---------------------------------------------


def engines(tmp_path: Path, rows: list[float]) -> dict[str, tuple[object, str]]:
    """The same data on every engine the data checks take, and what the messages call it."""
    import pyarrow.dataset as ds

    frame = pl.DataFrame({"x": pl.Series(rows, dtype=pl.Float64)})
    folder = tmp_path / f"dir{len(rows)}"
    folder.mkdir()
    frame.write_parquet(folder / "part-0.parquet")
    frame.write_parquet(folder / "part-1.parquet")
    single = tmp_path / f"one{len(rows)}.parquet"
    frame.write_parquet(single)
    return {
        "pandas": (pd.DataFrame({"x": pd.Series(rows, dtype=float)}), "DataFrame"),
        "polars": (frame, "polars DataFrame"),
        "lazy": (frame.lazy(), "LazyFrame"),
        "parquet file": (str(single), "Parquet dataset"),
        "parquet dir": (folder, "Parquet dataset"),
        "parquet glob": (str(folder / "*.parquet"), "Parquet dataset"),
        "arrow table": (frame.to_arrow(), "PyArrow Table"),
        "arrow dataset": (ds.dataset(str(single)), "PyArrow Dataset"),
    }


ENGINES = [
    "pandas",
    "polars",
    "lazy",
    "parquet file",
    "parquet dir",
    "parquet glob",
    "arrow table",
    "arrow dataset",
]


def schema_for(engine: str):
    return pandas_schema() if engine == "pandas" else polars_schema()


@pytest.mark.parametrize("engine", ENGINES)
def test_zero_rows_fail_the_schema_check_on_every_engine(tmp_path, engine) -> None:
    empty, _ = engines(tmp_path, [])[engine]
    report = schema_report(empty, schema_for(engine))
    assert not report.passed and report.rows_checked == 0
    assert report.rows == [
        {
            "check": "has rows",
            "column": "-",
            "failure case": "the frame has 0 rows: nothing was validated",
            "row index": None,
        }
    ]
    with pytest.raises(AssertionError, match="1 check"):
        assert_schema(empty, schema_for(engine))


def test_a_lazyframe_filtered_to_nothing_fails_the_schema_check() -> None:
    lazy = pl.LazyFrame({"x": VALUES}).filter(pl.col("x") > 100)
    report = schema_report(lazy, polars_schema())
    assert not report.passed and report.rows[0]["check"] == "has rows"


@pytest.mark.parametrize("engine", ENGINES)
def test_zero_rows_are_a_usage_error_of_drift_and_leakage_on_every_engine(
    tmp_path, engine
) -> None:
    empty, noun = engines(tmp_path, [])[engine]
    full = pd.DataFrame({"x": VALUES})
    with pytest.raises(
        MltkUsageError, match=rf"^drift_report: current is an empty {noun} \(no rows\)"
    ):
        drift_report(full, empty)
    with pytest.raises(
        MltkUsageError, match=rf"^drift_report: reference is an empty {noun} \(no rows\)"
    ):
        drift_report(empty, full)
    with pytest.raises(
        MltkUsageError, match=rf"^leakage_report: test is empty: an empty {noun} \(no rows\)"
    ):
        leakage_report(pl.DataFrame({"x": VALUES}), empty)
    with pytest.raises(
        MltkUsageError, match=rf"^leakage_report: train is empty: an empty {noun} \(no rows\)"
    ):
        leakage_report(empty, pl.DataFrame({"x": VALUES}))


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_data_with_rows_still_passes_on_every_engine(tmp_path, engine) -> None:
    data, _ = engines(tmp_path, VALUES)[engine]
    assert schema_report(data, schema_for(engine)).passed
    assert drift_report(pd.DataFrame({"x": VALUES}), data).passed
    disjoint = pl.DataFrame({"x": [v + 0.5 for v in VALUES]})
    report = leakage_report(data, disjoint)
    assert report.passed and (report.leaked, report.total) == (0, len(VALUES))


# --- class 7: engine errors are usage errors naming the argument ------------------------------


def failing_plan():
    """A LazyFrame whose plan fails only when collected (a strict cast of text)."""
    return pl.LazyFrame({"x": ["a", "b", "c"]}).select(pl.col("x").cast(pl.Float64, strict=True))


def deleted_scan(tmp_path: Path):
    """A LazyFrame over a Parquet file deleted after it was scanned."""
    path = tmp_path / "gone.parquet"
    pl.DataFrame({"x": VALUES}).write_parquet(path)
    lazy = pl.scan_parquet(path)
    path.unlink()
    return lazy


def panicking_plan():
    """A LazyFrame that makes polars panic in Rust (a join on an Object column):
    ``pyo3_runtime.PanicException``, which derives from BaseException."""
    objects = pl.DataFrame(
        {"k": pl.Series([object(), object()], dtype=pl.Object), "x": [1.0, 2.0]}
    )
    return objects.lazy().join(objects.lazy(), on="k").select("x")


BROKEN = {
    "plan fails at collect": (lambda tmp: failing_plan(), "InvalidOperationError"),
    "deleted Parquet file": (deleted_scan, "FileNotFoundError"),
    "Rust panic": (lambda tmp: panicking_plan(), "PanicException"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_engine_errors_name_the_argument(tmp_path, case) -> None:
    make, error = BROKEN[case]
    good = pl.DataFrame({"x": VALUES})
    calls = {
        "df": lambda: schema_report(make(tmp_path), polars_schema()),
        "reference": lambda: drift_report(make(tmp_path), good),
        "current": lambda: drift_report(good, make(tmp_path)),
        "train": lambda: leakage_report(make(tmp_path), good),
        "test": lambda: leakage_report(good, make(tmp_path)),
    }
    checks = {"df": "schema_report", "reference": "drift_report", "current": "drift_report"}
    for name, call in calls.items():
        with pytest.raises(MltkUsageError) as exc:
            call()
        text = str(exc.value)
        where = checks.get(name, "leakage_report")
        assert text.startswith(f"{where}: {name} cannot be computed by polars ({error}: ")
        assert "\n" not in text


def test_a_pyarrow_dataset_over_a_deleted_file_names_the_argument(tmp_path) -> None:
    import pyarrow.dataset as ds

    path = tmp_path / "gone.parquet"
    pl.DataFrame({"x": VALUES}).write_parquet(path)
    dataset = ds.dataset(str(path))
    path.unlink()
    with pytest.raises(MltkUsageError, match=r"^drift_report: current .*cannot be computed"):
        drift_report(pd.DataFrame({"x": VALUES}), dataset)


def test_object_columns_as_join_keys_are_refused_before_polars_panics() -> None:
    objects = pl.DataFrame(
        {"k": pl.Series([object() for _ in range(3)], dtype=pl.Object), "x": [1.0, 2.0, 3.0]}
    )
    text = pl.DataFrame({"k": ["a", "b"], "x": [1.0, 9.0]})
    refused = (
        r"column\(s\) \['k'\] hold Python objects \(polars Object\), which polars cannot join"
    )
    with pytest.raises(MltkUsageError, match=rf"^leakage_report: train {refused}"):
        leakage_report(objects, text, on=["k"])
    with pytest.raises(MltkUsageError, match=rf"^leakage_report: test {refused}"):
        leakage_report(text, objects, on=["k"])
    with pytest.raises(MltkUsageError, match=rf"^leakage_report: train {refused}"):
        leakage_report(objects, objects)  # on= defaults to every shared column
    # the other columns of a frame with an Object column still compare
    report = leakage_report(objects, text, on=["x"])
    assert (report.leaked, report.total) == (1, 2) and not report.passed


def test_a_failing_side_of_a_join_is_named() -> None:
    # the sort of an Object column fails only when the join runs; pruned queries succeed
    objects = pl.DataFrame({"k": pl.Series([1, "a", 2.5], dtype=pl.Object), "x": [1.0, 2.0, 3.0]})
    good = pl.DataFrame({"x": [4.0, 5.0, 6.0]})
    with pytest.raises(MltkUsageError, match=r"^leakage_report: train cannot be computed"):
        leakage_report(objects.lazy().sort("k"), good, on=["x"])
    with pytest.raises(MltkUsageError, match=r"^leakage_report: test cannot be computed"):
        leakage_report(good, objects.lazy().sort("k"), on=["x"])


def test_an_object_column_compared_as_categories_is_a_result() -> None:
    objects = pl.DataFrame({"k": pl.Series(["a", "b"] * 10, dtype=pl.Object)})
    report = drift_report(objects, objects)
    assert report.passed and report.rows[0].kind == "categorical"


@pytest.fixture
def live_spark(spark):
    """The shared session (the conftest fixture starts a fresh one when a test stopped it)."""
    return spark


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_zero_rows_and_a_failing_job(live_spark) -> None:
    live_spark.sparkContext.setLogLevel("OFF")
    good = live_spark.createDataFrame(pd.DataFrame({"x": VALUES}))
    empty = good.where("x > 100")
    with pytest.raises(MltkUsageError, match=r"^drift_report: current is an empty Spark Data"):
        drift_report(good, empty)
    with pytest.raises(MltkUsageError, match=r"^leakage_report: test is empty: an empty Spark"):
        leakage_report(good, empty)
    # ANSI casts fail when the job runs, not when the DataFrame is built
    bad = live_spark.createDataFrame(pd.DataFrame({"s": ["a", "b", "c"]})).selectExpr(
        "cast(s as double) as x"
    )
    with pytest.raises(
        MltkUsageError, match=r"^drift_report: current cannot be computed by spark"
    ):
        drift_report(good, bad)
    with pytest.raises(
        MltkUsageError, match=r"^leakage_report: train cannot be computed by spark"
    ):
        leakage_report(bad, good)
    assert drift_report(good, good).passed


# --- class 8: the dependency readers --------------------------------------------------------

CHAMPION = ["numpy==2.1.0", "torch==2.13.0"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "requirements.txt",
            "numpy==2.1.0  # café\n".encode("latin-1"),
            r"requirements\.txt is not UTF-8 text \(byte 0xe9 at offset 19",
        ),
        (
            "conda.yaml",
            b"dependencies: [python=3.11\n  - numpy\n",
            r"conda\.yaml is not valid YAML at line 3, column 1",
        ),
        (
            "conda.yaml",
            b"- python=3.11\n- numpy=2.1.0\n",
            r"conda\.yaml must hold a mapping \(name:, channels:, dependencies: \[\.\.\.\]\), "
            "got a list",
        ),
        ("conda.yaml", b"just text\n", r"conda\.yaml must hold a mapping .*got a str"),
        (
            "conda.yaml",
            b"dependencies: numpy\n",
            r"conda\.yaml: dependencies must be a list of requirements, got a str",
        ),
        (
            "conda.yaml",
            b"dependencies:\n- 3\n",
            r"conda\.yaml: a dependency must be a requirement such as 'numpy=2\.1\.0'",
        ),
        ("conda.yaml", b"dependencies:\n- pip: numpy\n", r"conda\.yaml: pip: must be a list"),
        (
            "python_env.yaml",
            b"- python: 3.11.7\n",
            r"python_env\.yaml must hold a mapping \(python: 3\.11\.7.*got a list",
        ),
        ("python_env.yaml", b"python: [3.11\n", r"python_env\.yaml is not valid YAML"),
        (
            "python_env.yaml",
            b"python: 3.10\n",
            r'python_env\.yaml: python must be a version such as "3\.11\.7", got 3\.1 '
            r"\(quote it: YAML reads 3\.10 as 3\.1\)",
        ),
    ],
)
def test_unreadable_dependency_files_are_usage_errors_naming_them(
    tmp_path, name, content, message
) -> None:
    import re

    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MltkUsageError, match=rf"^dependency_diff: {re.escape(str(tmp_path))}/"):
        dependency_diff(path, CHAMPION)
    with pytest.raises(MltkUsageError, match=message):
        dependency_diff(path, CHAMPION)
    # the same files inside a model directory, as MLflow stores them
    model = tmp_path / "model"
    model.mkdir()
    (model / name).write_bytes(content)
    if name == "python_env.yaml":  # read beside requirements.txt
        (model / "requirements.txt").write_text("numpy==2.1.0\n")
    with pytest.raises(MltkUsageError, match=rf"^dependency_diff: {re.escape(str(model))}/"):
        assert_dependencies_unchanged(model, CHAMPION)
    with pytest.raises(MltkUsageError, match=message):
        assert_dependencies_unchanged(model, CHAMPION)


def test_requirements_in_utf16_with_a_bom_are_read_as_pip_reads_them(tmp_path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("numpy==2.1.0\ntorch==2.13.0\n", encoding="utf-16")
    diff = dependency_diff(path, CHAMPION)
    assert diff.passed and diff.compared == 2 and diff.rows == []


def test_a_non_pep440_conda_version_is_classed_by_its_leading_numbers(tmp_path) -> None:
    old, new = tmp_path / "old" / "conda.yaml", tmp_path / "new" / "conda.yaml"
    for path, ssl in ((old, "1.1.1w"), (new, "3.0.13")):
        path.parent.mkdir()
        path.write_text(f"dependencies:\n- openssl={ssl}\n- numpy=2.1.0\n")
    diff = dependency_diff(new, old)
    assert diff.rows == [
        {"package": "openssl", "champion": "==1.1.1w", "candidate": "==3.0.13",
         "change": "major", "verdict": "FAIL"}
    ]  # fmt: skip
    assert diff.compared == 2 and not diff.passed
    with pytest.raises(AssertionError, match="1 major change"):
        assert_dependencies_unchanged(new, old)
    assert assert_dependencies_unchanged(new, old, allow=["openssl"]).passed
    # MatchSpec forms: "name version build" and a build string after the version
    assert classify("==1.1.1w", "==1.1.1x") == "patch"
    assert classify("==1.1.1w", "==1.2.0") == "minor"
    assert classify("==3.0.13=h4ba_0", "==3.0.13=h123_1") == "patch"
    spaced = environment_of(["openssl 3.0.13 h4ba_0"])
    assert spaced.packages == {"openssl": "==3.0.13"}


def test_unparseable_pins_are_not_compared_and_fail(tmp_path) -> None:
    diff = dependency_diff(["foo===abc2", "numpy==2.1.0"], ["foo===abc1", "numpy==2.1.0"])
    assert diff.compared == 1 and diff.unchanged == 1
    assert diff.rows == [
        {"package": "foo", "champion": "===abc1", "candidate": "===abc2",
         "change": "not compared", "verdict": "FAIL"}
    ]  # fmt: skip
    assert not diff.passed
    assert "1 pin(s) whose versions cannot be compared, not allowed: foo" in diff.headline
    assert dependency_diff(
        ["foo===abc2", "numpy==2.1.0"], ["foo===abc1", "numpy==2.1.0"], allow=["foo"]
    ).passed
    only = dependency_diff(["numpy==abc"], ["numpy==def"])  # not even a valid requirement
    assert only.compared == 0 and not only.passed and "nothing to compare" in only.headline
    with pytest.raises(AssertionError, match="nothing to compare"):
        assert_dependencies_unchanged(["numpy==abc"], ["numpy==def"])


def test_two_conflicting_pins_in_one_file_fail_naming_both(tmp_path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("numpy==1.26.4\ntorch==2.13.0\nnumpy==2.1.0\n")
    diff = dependency_diff(path, CHAMPION)
    assert not diff.passed
    assert diff.headline == (
        f"dependencies not compared: {path} names a package twice with versions no release "
        "meets: numpy: ==1.26.4 and ==2.1.0; keep one line per package"
    )
    with pytest.raises(AssertionError, match=r"numpy: ==1\.26\.4 and ==2\.1\.0"):
        assert_dependencies_unchanged(path, CHAMPION)
    with pytest.raises(AssertionError, match=r"numpy: ==2\.1\.0 and >=2\.2"):
        assert_dependencies_unchanged(["numpy==2.1.0", "numpy>=2.2", "torch==2.13.0"], CHAMPION)


def test_repeated_lines_that_agree_are_combined_as_pip_combines_them() -> None:
    same = dependency_diff(
        ["numpy>=1.20", "numpy<3", "torch==2.13.0", "torch==2.13.0"],
        ["numpy>=1.20,<3", "torch==2.13.0"],
    )
    assert same.passed and same.rows == [] and same.unchanged == 2
    pinned = environment_of(["numpy>=2", "numpy==2.1.0"])
    assert pinned.packages == {"numpy": "==2.1.0"} and not pinned.conflicts
    # a line whose marker is false here gives way to the one that applies
    marked = environment_of(
        ['numpy==1.26.4; python_version < "3.0"', 'numpy==2.1.0; python_version >= "3.0"']
    )
    assert marked.packages == {"numpy": "==2.1.0"} and not marked.conflicts


# --- class 8: init --------------------------------------------------------------------------

REMOTE = ["--source", "acme/mlops-testkit", "--ref", "0123abc"]
GITHUB = ["--ci", "github", "--model-name", "demo", "--train-command", "python train.py"]
GITLAB = ["--ci", "gitlab", "--model-name", "demo", "--train-command", "python t.py"]


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return tmp_path


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): (
            p.read_text() if p.is_file() else "<dir>" if p.is_dir() else "<other>"
        )  # reading a FIFO would block
        for p in sorted(root.rglob("*"))
        if ".git" not in p.relative_to(root).parts[:1]
    }


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (
            lambda r: (r / ".pre-commit-config.yaml").mkdir(),
            ["--local"],
            "{root}/.pre-commit-config.yaml is a directory, where init reads and writes a file",
        ),
        (
            lambda r: (r / ".gitignore").mkdir(),
            ["--local"],
            "{root}/.gitignore is a directory, where init reads and writes a file",
        ),
        (
            lambda r: (r / ".github").write_text("not a folder\n"),
            [*GITHUB, *REMOTE, "--local"],
            "{root}/.github is a file, where init needs a folder to write "
            "{root}/.github/workflows/ml.yml",
        ),
        (
            lambda r: ((r / ".github").mkdir(), (r / ".github" / "workflows").write_text("x\n")),
            [*GITHUB, *REMOTE, "--local"],
            "{root}/.github/workflows is a file, where init needs a folder",
        ),
        (
            lambda r: (r / ".gitlab-ci.yml").mkdir(),
            [*GITLAB, *REMOTE, "--local"],
            "{root}/.gitlab-ci.yml is a directory",
        ),
        (
            lambda r: os.mkfifo(r / ".gitignore"),
            ["--local"],
            "{root}/.gitignore is not a regular file (a FIFO, socket, device or broken link)",
        ),
        (
            lambda r: (r / ".pre-commit-config.yaml").write_text("repos: [\n"),
            ["--local"],
            ".pre-commit-config.yaml:2: not valid YAML",
        ),
    ],
)
def test_init_refuses_paths_of_the_wrong_kind_with_one_line(
    repo, capsys, make, args, message
) -> None:
    make(repo)
    before = tree(repo)
    assert cli(["init", *args, "--model-paths", "m.py"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mlops-testkit init: REFUSED: " + message.format(root=repo))
    assert err.count("\n") == 1 and err.endswith("; nothing was written\n")
    assert tree(repo) == before


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pytest.ini", "[pytest]  # the test settings\naddopts = -ra\n"),
        ("pytest.ini", "[pytest] ; the test settings\naddopts = -ra\n"),
        ("tox.ini", "[tox]\nenv_list = py\n\n[pytest]   # settings\naddopts = -ra\n"),
        ("setup.cfg", "[metadata]\nname = x\n\n[tool:pytest] # settings\naddopts = -ra\n"),
    ],
)
def test_init_reads_a_comment_after_the_section_header(repo, capsys, name, text) -> None:
    from mlops_testkit.ci import config as pytest_config

    (repo / "pytest.ini").unlink()
    (repo / name).write_text(text)
    assert cli(["init", "--local", "--model-paths", "src/**"]) == 0
    merged = (repo / name).read_text()
    assert merged.startswith(text) and "mltk_model_paths = src/**\n" in merged
    found = pytest_config.find(repo)
    assert found.values["mltk_model_paths"] == "src/**" and found.values["addopts"] == "-ra"
    assert cli(["init", "--local"]) == 0  # idempotent
    assert "changed 0 file(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "hooks",
    [
        "  - id: black\n# - id: mltk-no-model-artifacts\n# - id: mltk-affected-tests\n",
        "  - id: black  # id: mltk-no-model-artifacts id: mltk-affected-tests\n",
        "  - id: black\n    name: 'id: mltk-no-model-artifacts, id: mltk-affected-tests'\n",
    ],
)
def test_hook_ids_in_comments_or_strings_are_not_installed_hooks(repo, hooks) -> None:
    import yaml

    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: https://github.com/psf/black\n  rev: 24.1.0\n  hooks:\n" + hooks
    )
    assert cli(["init", "--local", "--model-paths", "m.py"]) == 0
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    ids = [h["id"] for r in config["repos"] for h in r["hooks"]]
    assert ids == ["black", "mltk-no-model-artifacts", "mltk-affected-tests"]
    assert config["repos"][-1]["repo"] == "local"


def test_installed_hooks_are_left_alone(repo, capsys) -> None:
    text = (
        "default_install_hook_types: [pre-commit, pre-push]\nrepos:\n- repo: local\n  hooks:\n"
        "  - {id: mltk-no-model-artifacts, name: a, entry: a, language: system}\n"
        "  - {id: mltk-affected-tests, name: b, entry: b, language: system}\n"
    )
    (repo / ".pre-commit-config.yaml").write_text(text)
    assert cli(["init", "--local", "--model-paths", "m.py"]) == 0
    assert (repo / ".pre-commit-config.yaml").read_text() == text
    assert "unchanged .pre-commit-config.yaml" in capsys.readouterr().out


# --- class 9: change detection --------------------------------------------------------------


@pytest.fixture
def model_repo(tmp_path, monkeypatch):
    for key, value in {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }.items():
        monkeypatch.setenv(key, value)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "base.py").write_text("B = 1\n")
    (tmp_path / "other.py").write_text("O = 1\n")
    return tmp_path, git


NAMES = ["model/modèle.py", "model/tab\there.py", 'model/quo"te.py', "model/日本.py"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("how", ["modified", "committed", "untracked"])
def test_model_files_with_names_git_quotes_are_seen(model_repo, name, how) -> None:
    root, git = model_repo
    if how != "untracked":
        (root / name).write_text("1\n")
    git("add", ".")
    git("commit", "-qm", "start")
    (root / name).write_text("2\n")
    if how == "committed":
        git("commit", "-qam", "change")
    decision = decide("HEAD~1" if how == "committed" else "HEAD", ("model/**",), root)
    assert decision.run_model_tests and decision.matched == (name,)
    assert decision.reason.startswith("running model tests: 1 model file(s) changed since")


def test_a_data_only_change_still_deselects(model_repo) -> None:
    root, git = model_repo
    (root / "model" / "modèle.py").write_text("1\n")
    git("add", ".")
    git("commit", "-qm", "start")
    (root / "other.py").write_text("O = 2\n")
    decision = decide("HEAD", ("model/**",), root)
    assert not decision.run_model_tests and decision.matched == ()
    assert "1 other file(s) changed" in decision.reason


def test_the_plugin_runs_model_tests_when_a_non_ascii_model_file_changed(
    pytester, git_repo
) -> None:
    pytester.makeini("[pytest]\nmltk_model_paths = model/**\n")
    (pytester.path / "model").mkdir()
    (pytester.path / "model" / "modèle.py").write_text("W = 1\n")
    pytester.makepyfile(
        test_all="import pytest\n\n@pytest.mark.model\ndef test_train(): pass\n\n"
        "def test_plain(): pass\n"
    )
    git_repo("add", ".")
    git_repo("commit", "-q", "-m", "start")
    (pytester.path / "model" / "modèle.py").write_text("W = 2\n")
    result = pytester.runpytest("--mltk-changed-since", "HEAD")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*running model tests: 1 model file(s) changed since HEAD*"])


@pytest.mark.parametrize(
    ("glob", "message"),
    [
        ("../x/**", r"'\.\./x/\*\*' has a '\.\.' segment; .*it reaches outside the rootdir"),
        ("/elsewhere/model/**", r"'/elsewhere/model/\*\*' is an absolute path; .*outside"),
        ("{root}/model/**", r"'.*/model/\*\*' is an absolute path; .*\(write 'model/\*\*'\)"),
        (
            "model/../other.py",
            r"'model/\.\./other\.py' has a '\.\.' segment; .*\(write 'other\.py'\)",
        ),
    ],
)
def test_a_glob_that_can_never_match_is_named(model_repo, glob, message) -> None:
    root, git = model_repo
    git("add", ".")
    git("commit", "-qm", "start")
    glob = glob.format(root=root)
    with pytest.raises(ChangeError, match=rf"^mltk_model_paths: {message}"):
        decide("HEAD", (glob, "model/**"), root)


def test_the_changed_command_and_the_plugin_refuse_such_a_glob(
    pytester, git_repo, capsys, monkeypatch
) -> None:
    pytester.makeini("[pytest]\nmltk_model_paths = ../shared/model/**\n")
    pytester.makepyfile("def test_x(): pass")
    git_repo("add", ".")
    git_repo("commit", "-q", "-m", "start")
    result = pytester.runpytest("--mltk-changed-since", "HEAD")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--mltk-changed-since: mltk_model_paths: '../shared/model/**' has a '..' segment*"]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    monkeypatch.chdir(pytester.path)
    assert cli(["changed", "--since", "HEAD"]) == 1
    err = capsys.readouterr().err
    assert "mltk_model_paths: '../shared/model/**' has a '..' segment" in err
