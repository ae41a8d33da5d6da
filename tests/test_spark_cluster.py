"""The data checks on a real Spark standalone cluster: a master and two workers, separate
JVMs on 127.0.0.1 started by the pyspark wheel's ``spark-class`` (tests/spark_cluster.py).

A driver process runs drift, leakage, skew and schema against ``spark://127.0.0.1:PORT``
with two executors (1 core, 512m each), and again on ``local[2]``; the verdicts equal each
other and pandas' on the same seeded data. The inputs are Parquet written to this machine's
tmp folder, which the workers (on the same machine) read. The only Python shipped is the
drift bins' counting function, a self-contained closure Spark serialises (numpy and
pyarrow on the executors, not mlops-testkit); nothing else needs a driver-local object.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark")
np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
pytest.importorskip("pandera")

from spark_cluster import DRIFT_COLUMNS, SparkCluster, run_driver

from mlops_testkit import drift_report, leakage_report, skew_report

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark-cluster")]

ROWS = 20_000  # above the exact-values limit (8,192): engines send histograms, not values


def dataset(seed: int, shift: float = 0.0, rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    x[rng.random(rows) < 0.02] = np.nan
    p = [0.5, 0.3, 0.2] if not shift else [0.35, 0.35, 0.3]
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "income": rng.lognormal(10, 0.5, rows) * (1 + shift),
            "score": x + shift,
            "age": rng.integers(18, 90, rows),
            "region": rng.choice(np.array(["north", "south", "east"], dtype=object), rows, p=p),
            "member": rng.random(rows) < 0.4,
        }
    )


def write_inputs(root: Path) -> dict[str, Any]:
    """The Parquet inputs of the driver (one folder each, as Spark writes them), and the
    verdicts pandas gives on the same frames."""
    frames = {}
    for case, (seed_ref, seed_cur, shift) in {
        "clean": (1, 2, 0.0),
        "drifted": (3, 4, 0.3),
    }.items():
        frames[f"{case}-ref"], frames[f"{case}-cur"] = dataset(seed_ref), dataset(seed_cur, shift)
    ref = frames["clean-ref"]
    test = ref.sample(500, random_state=0).reset_index(drop=True)
    test.loc[:199, "age"] += 100  # 200 rows no longer match
    frames["leak-test"] = test
    for name, frame in frames.items():
        (root / name).mkdir()
        half = len(frame) // 2
        frame.iloc[:half].to_parquet(root / name / "part-0.parquet", index=False)
        frame.iloc[half:].to_parquet(root / name / "part-1.parquet", index=False)
        (root / name / "_SUCCESS").write_text("")
    expected: dict[str, Any] = {}
    for case in ("clean", "drifted"):
        report = drift_report(frames[f"{case}-ref"], frames[f"{case}-cur"], columns=DRIFT_COLUMNS)
        expected[f"drift/{case}"] = [report.passed, sorted(report.drifted)]
    leak = leakage_report(ref, test, on=["income", "age"], max_examples=3)
    expected["leakage"] = [leak.leaked, leak.total, len(leak.examples)]
    raw = ref[ref["id"] < 2000]
    training = pd.DataFrame(
        {"id": raw["id"], "log_income": np.log(raw["income"]), "age_months": raw["age"] * 12}
    )
    serving = training.assign(
        age_months=np.where(raw["id"] % 50 == 0, raw["age"] * 12 + 1, raw["age"] * 12)
    )
    skew = skew_report(training, serving, on="id", max_mismatch_rate=0.001)
    expected["skew"] = [skew.passed, sorted(skew.skewed), skew.compared]
    return expected


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A standalone master and two workers on 127.0.0.1 for the session, stopped at the end.
    Its tests are in the xdist group "spark-cluster" (one worker starts it); its ports are
    free ports, so two sessions on one machine do not collide."""
    if shutil.which("java") is None:
        pytest.skip(
            "Spark needs Java: make install-java (apt-get install openjdk-17-jre-headless)"
        )
    cluster = SparkCluster(tmp_path_factory.mktemp("spark-cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def runs(spark_cluster, tmp_path_factory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("spark-cluster-inputs")
    expected = write_inputs(data)
    cluster = run_driver(spark_cluster.url, data)
    apps = spark_cluster.status().get("completedapps", [])
    local = run_driver("local[2]", data)
    return {
        "data": data,
        "pandas": expected,
        "cluster": cluster,
        "local": local,
        "apps": apps,
        "daemons": spark_cluster.pids(),
    }


def test_the_cluster_is_a_master_and_two_workers(spark_cluster) -> None:
    status = spark_cluster.status()
    alive = [w for w in status["workers"] if w["state"] == "ALIVE"]
    assert len(alive) == 2 and all(w["cores"] == 1 for w in alive)
    assert status["url"] == spark_cluster.url
    assert len(set(spark_cluster.pids())) == 3  # three JVMs


def test_jobs_ran_in_two_executors_outside_the_driver(runs) -> None:
    cluster, local = runs["cluster"]["executors"], runs["local"]["executors"]
    assert cluster["executor ids"] == ["0", "1"]
    pids = set(cluster["task pids"])
    assert len(pids) == 2, cluster  # one JVM per executor
    assert cluster["driver pid"] not in pids
    assert not pids & set(runs["daemons"])  # executors, not the worker daemons
    # the contrast: on local[2] every task runs in the driver's JVM
    assert local["executor ids"] == [] and local["task pids"] == [local["driver pid"]]
    [app] = runs["apps"]
    assert app["name"] == "mlops-testkit-cluster-tests" and app["cores"] == 2
    assert app["memoryperexecutor"] == 512


@pytest.mark.parametrize("case", ["clean", "drifted"])
def test_drift_verdicts_equal_local_and_pandas(runs, case) -> None:
    key = f"drift/{case}"
    assert runs["cluster"][key] == runs["local"][key] == runs["pandas"][key]
    assert runs["pandas"][key][0] == (case == "clean")  # the data does what it says


def test_the_executors_counted_the_bins_with_numpy(runs) -> None:
    # the Arrow count ran in the executors' Python workers: no fallback to Spark SQL
    assert runs["cluster"]["drift/warnings"] == runs["local"]["drift/warnings"] == []


def test_executors_without_pyarrow_count_with_spark_sql(runs, tmp_path) -> None:
    # the executors' Python cannot import pyarrow: the same verdicts, from the SQL count,
    # and one warning that says why and how to fix it (then SQL for the session)
    hidden = tmp_path / "hidden"
    (hidden / "pyarrow").mkdir(parents=True)
    (hidden / "pyarrow" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'pyarrow'\")\n"
    )
    python = tmp_path / "python-without-pyarrow"
    python.write_text(
        f'#!/bin/sh\nPYTHONPATH={shlex.quote(str(hidden))}:"$PYTHONPATH" '
        f'exec {shlex.quote(sys.executable)} "$@"\n'
    )
    python.chmod(0o755)
    plain = run_driver("local[2]", runs["data"], worker_python=str(python), only_drift=True)
    for case in ("clean", "drifted"):
        assert plain[f"drift/{case}"] == runs["pandas"][f"drift/{case}"]
    [warning] = plain["drift/warnings"]
    assert "could not count reference's bins with numpy over Arrow" in warning
    assert "No module named 'pyarrow'" in warning and "PYSPARK_PYTHON" in warning


def test_leakage_verdicts_equal_local_and_pandas(runs) -> None:
    assert runs["cluster"]["leakage"] == runs["local"]["leakage"] == runs["pandas"]["leakage"]
    assert runs["pandas"]["leakage"] == [300, 500, 3]


def test_skew_verdicts_equal_local_and_pandas(runs) -> None:
    # the serving pipeline's bug (age_months + 1 on every 50th id) is found on each
    assert runs["cluster"]["skew"] == runs["local"]["skew"] == runs["pandas"]["skew"]
    assert runs["pandas"]["skew"] == [False, ["age_months"], 2000]
    # skew_report takes pandas or polars frames: a Spark DataFrame is refused on both
    refused = runs["cluster"]["skew/spark-frame"]
    assert refused == runs["local"]["skew/spark-frame"]
    assert refused.startswith("skew_report: training_features must be a pandas")


def test_schema_verdicts_equal_local(runs) -> None:
    cluster, local = runs["cluster"]["schema"], runs["local"]["schema"]
    assert cluster == local
    if "refused" in cluster:  # pandas 3: pandera.pyspark cannot run (make test-spark-schema)
        assert "does not import under pandas 3" in cluster["refused"]
        return
    assert cluster["clean"] == [True, ROWS]
    assert cluster["violating"][0] is False
    assert [column for column, _ in cluster["violating"][1]] == ["age"]
