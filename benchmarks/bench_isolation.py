"""The cost of judging a champion with its own code: the credit_scoring model (logged with
``code_paths``) predicting in this process against in a process of its own
(``mlops_testkit.registry.isolation.IsolatedModel``: data and predictions pickled over
pipes). Target: batch prediction within 1.5x of in-process. Medians over --repeats calls,
one process, one model, MLflow's embedded store in a temporary folder.

    python benchmarks/bench_isolation.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "credit_scoring"
sys.path.insert(0, str(EXAMPLE))
TARGET = 1.5


def median_ms(fn, data, repeats: int) -> float:
    fn(data)  # warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
        import mlflow

        from credit_scoring.data import generate_applicants
        from credit_scoring.features import Scaler
        from credit_scoring.model import CreditNet
        from credit_scoring.serving import register, serving_rows
        from mlops_testkit.registry.isolation import IsolatedModel

        train = generate_applicants(2_000, seed=1)
        scaler = Scaler.fit(train)
        model = CreditNet(scaler.transform(serving_rows(train.head(1))).shape[1])
        version = register(model, scaler, train, name="bench", metrics={}, params={})
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/bench/{version}")
        in_process = mlflow.pyfunc.load_model(local)
        started = time.perf_counter()
        isolated = IsolatedModel(local, [], "bench")
        start_s = time.perf_counter() - started
        holdout = generate_applicants(4_000, seed=2024)
        print(
            f"isolation cost, credit_scoring model, median of {args.repeats} calls "
            f"(target: batch <= {TARGET:g}x in-process); the child started in {start_s:.2f} s"
        )
        for rows in (4_000, 256, 1):
            batch = serving_rows(holdout.head(rows))
            here = median_ms(in_process.predict, batch, args.repeats)
            there = median_ms(isolated.predict, batch, args.repeats)
            print(
                f"  {rows:5d} rows: in-process {here:7.2f} ms, isolated {there:7.2f} ms, "
                f"ratio {there / here:5.2f}, cost per call {there - here:+6.2f} ms"
            )
        isolated.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
