"""A real Spark standalone cluster on 127.0.0.1 for the tests, and the driver they run on it.

:class:`SparkCluster` starts a master and two workers as separate JVMs through the
``spark-class`` launcher the pyspark wheel ships (``org.apache.spark.deploy.master.Master``
and ``org.apache.spark.deploy.worker.Worker``), waits until both workers are ALIVE in the
master's JSON status page, and stops every JVM it started by its pid (executors are in the
workers' process groups, which are stopped too).

Run as a script, this module is the *driver*: a fresh Python process that builds a session
on the master it is given (``local[2]`` or ``spark://127.0.0.1:PORT``), runs the data checks
on the Parquet inputs, and prints their verdicts as JSON. A separate process, because a
process has at most one SparkContext and the test process may already hold ``local[2]``;
and because nothing the test process holds can then reach the executors. The Parquet
inputs are paths on this machine: the workers run here, so they read the same paths. On a
real cluster the inputs must be on storage every executor reads (S3, HDFS, DBFS).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from mlops_testkit.ci.local import free_port

EXECUTOR_MEMORY = "512m"
WORKER_MEMORY = "1g"  # what a worker offers; one 512m executor each fits
DAEMON_MEMORY = "384m"  # heap of the master and worker JVMs themselves
DRIFT_COLUMNS = ["income", "score", "age", "region", "member"]


def spark_home() -> str:
    import pyspark

    return os.path.dirname(pyspark.__file__)


class SparkCluster:
    """A standalone master and ``workers`` workers (1 core, 1g each) on 127.0.0.1.

    Example::

        cluster = SparkCluster(tmp_path).start()
        try:
            run_driver(cluster.url, data_dir)
        finally:
            cluster.stop()
    """

    def __init__(self, root: Path, workers: int = 2) -> None:
        self.root = Path(root)
        self.workers = workers
        self.port = free_port()
        self.webui = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SPARK_HOME=spark_home(),
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_DAEMON_MEMORY=DAEMON_MEMORY,
            SPARK_LOG_DIR=str(self.root / "logs"),
            # executors start Python workers with the driver's interpreter
            PYSPARK_PYTHON=sys.executable,
        )
        return env

    def _launch(self, name: str, *args: str) -> None:
        log = self.root / f"{name}.log"
        self.logs.append(log)
        launcher = os.path.join(spark_home(), "bin", "spark-class")
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [launcher, *args],
                env=self._env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group: the executors it forks go with it
            )
        self.procs.append(proc)

    def status(self) -> dict[str, Any]:
        """The master's JSON status page (workers, their state, running applications)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.webui}/json/", timeout=5) as r:
            return dict(json.load(r))

    def alive_workers(self) -> int:
        try:
            workers = self.status().get("workers", [])
        except OSError:
            return 0
        return sum(1 for w in workers if w.get("state") == "ALIVE")

    def start(self, timeout: float = 120.0) -> SparkCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        self._launch(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--webui-port",
            str(self.webui),
        )
        self._wait(lambda: self.status() is not None, timeout, "the master to listen")
        for i in range(self.workers):
            self._launch(
                f"worker-{i}",
                "org.apache.spark.deploy.worker.Worker",
                "--host",
                "127.0.0.1",
                "--cores",
                "1",
                "--memory",
                WORKER_MEMORY,
                "--webui-port",
                str(free_port()),
                "--work-dir",
                str(self.root / f"work-{i}"),
                self.url,
            )
        self._wait(lambda: self.alive_workers() == self.workers, timeout, "the workers")
        return self

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [p for p in self.procs if p.poll() is not None]
            if dead:
                self.stop()
                raise RuntimeError(
                    f"a Spark daemon exited while waiting for {what}: {self.tail()}"
                )
            with contextlib.suppress(OSError):
                if ready():
                    return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"timed out waiting for {what}: {self.tail()}")

    def tail(self) -> str:
        out = []
        for log in self.logs:
            with contextlib.suppress(OSError):
                out.append(f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-15:]))
        return "\n".join(out)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        """SIGTERM each daemon's process group (the daemon and the executors it forked),
        then SIGKILL what is left after 20 s."""
        for proc in reversed(self.procs):  # workers first, then the master
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        for proc in self.procs:  # executors may outlive their worker for a moment
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)


def run_driver(
    master: str,
    data: Path,
    timeout: float = 540.0,
    worker_python: str = sys.executable,
    only_drift: bool = False,
) -> dict[str, Any]:
    """Run this module as the driver on ``master``; return the verdicts it printed. The
    executors' Python workers run ``worker_python``."""
    env = dict(os.environ, PYSPARK_PYTHON=worker_python, SPARK_LOCAL_IP="127.0.0.1")
    env.pop("PYTEST_CURRENT_TEST", None)
    proc = subprocess.run(
        [sys.executable, __file__, master, str(data), *(["drift"] if only_drift else [])],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"the driver on {master} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
            f"{proc.stderr[-3000:]}"
        )
    return dict(json.loads(lines[-1]))


# --- the driver --------------------------------------------------------------------------------


def verdicts(spark: Any, data: Path, only_drift: bool = False) -> dict[str, Any]:
    """The verdicts of drift, leakage, skew and schema on the Parquet inputs under ``data``
    (written by :func:`tests.test_spark_cluster.write_inputs`), as JSON-able values, and
    the kit's warnings during drift (one says the Arrow count could not run)."""
    import warnings

    from mlops_testkit import (
        MltkUsageError,
        MltkWarning,
        drift_report,
        leakage_report,
        schema_report,
        skew_report,
    )

    out: dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MltkWarning)
        for case in ("clean", "drifted"):
            ref = spark.read.parquet(str(data / f"{case}-ref"))
            cur = spark.read.parquet(str(data / f"{case}-cur"))
            report = drift_report(ref, cur, columns=DRIFT_COLUMNS)
            out[f"drift/{case}"] = [report.passed, sorted(report.drifted)]
    out["drift/warnings"] = [str(w.message) for w in caught if w.category is MltkWarning]
    if only_drift:
        return out
    train = spark.read.parquet(str(data / "clean-ref"))
    test = spark.read.parquet(str(data / "leak-test"))
    leak = leakage_report(train, test, on=["income", "age"], max_examples=3)
    out["leakage"] = [leak.leaked, leak.total, len(leak.examples)]
    # skew_report compares pandas or polars frames: the features of the two pipelines are
    # computed on the cluster, and only the keyed sample the check compares comes back
    raw = spark.read.parquet(str(data / "clean-ref")).where("id < 2000")
    training = raw.selectExpr("id", "log(income) AS log_income", "age * 12 AS age_months")
    serving = raw.selectExpr(
        "id",
        "log(income) AS log_income",
        "CASE WHEN id % 50 = 0 THEN age * 12 + 1 ELSE age * 12 END AS age_months",
    )
    skew = skew_report(training.toPandas(), serving.toPandas(), on="id", max_mismatch_rate=0.001)
    out["skew"] = [skew.passed, sorted(skew.skewed), skew.compared]
    try:  # a Spark DataFrame itself is refused by skew_report, on every master
        skew_report(training, serving, on="id")
        out["skew/spark-frame"] = "accepted"
    except MltkUsageError as exc:
        out["skew/spark-frame"] = str(exc).split(",")[0]
    out["schema"] = schema_verdicts(spark, data, schema_report, MltkUsageError)
    out["executors"] = executors(spark)
    return out


def schema_verdicts(spark: Any, data: Path, schema_report: Any, usage_error: Any) -> Any:
    """Schema verdicts where pandera's pyspark backend imports; else the refusal's message."""
    frame = spark.read.parquet(str(data / "clean-ref"))
    try:
        import pandera.pyspark as pa
        import pyspark.sql.types as T
    except (ImportError, SystemExit):
        try:
            schema_report(frame, _pandas_schema())
        except usage_error as exc:
            return {"refused": str(exc)}
        return {"refused": None}
    clean = pa.DataFrameSchema(
        {
            "age": pa.Column(T.LongType(), pa.Check.in_range(18, 89)),
            "region": pa.Column(T.StringType(), pa.Check.isin(["north", "south", "east"])),
        }
    )
    strict = pa.DataFrameSchema({"age": pa.Column(T.LongType(), pa.Check.ge(30))})
    good, bad = schema_report(frame, clean), schema_report(frame, strict)
    return {
        "clean": [good.passed, good.rows_checked],
        "violating": [bad.passed, sorted({(r["column"], r["check"]) for r in bad.rows})],
    }


def _pandas_schema() -> Any:
    import pandera.pandas as pa

    return pa.DataFrameSchema({"age": pa.Column(int)})


def executors(spark: Any) -> dict[str, Any]:
    """The executors the jobs ran in: their ids, and the JVM pids seen by tasks (Spark SQL's
    ``reflect``, so no Python closure is shipped), against the driver's own JVM pid."""
    jvm = spark.sparkContext._jvm
    driver = int(jvm.java.lang.ProcessHandle.current().pid())
    rows = (
        spark.range(0, 64, 1, 8)
        .selectExpr("reflect('java.lang.ProcessHandle', 'current') AS pid")
        .distinct()
        .collect()
    )
    seq = spark.sparkContext._jsc.sc().getExecutorIds()  # a Scala Seq
    ids = [seq.apply(i) for i in range(seq.size())]
    return {
        "driver pid": driver,
        "task pids": sorted(int(r["pid"]) for r in rows),
        "executor ids": sorted(str(i) for i in ids),
    }


def main(master: str, data: str, only_drift: bool = False) -> None:
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("mlops-testkit-cluster-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
    )
    if master.startswith("spark://"):
        builder = (
            builder.config("spark.executor.memory", EXECUTOR_MEMORY)
            .config("spark.executor.cores", "1")
            .config("spark.cores.max", "2")
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if master.startswith("spark://"):  # both executors up before the first job
        deadline = time.monotonic() + 120
        while spark.sparkContext._jsc.sc().getExecutorIds().size() < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not give the application 2 executors")
            time.sleep(0.5)
    try:
        out = verdicts(spark, Path(data), only_drift)
    finally:
        spark.stop()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:] == ["drift"])
