"""promote and rollback against a local MLflow server (sqlite backend, 127.0.0.1).
Target: <= 3 s each. Measures, over --rounds promote/rollback pairs:

- the operation (``promote()``/``rollback()`` in this process: report checks, lock,
  alias moves, audit tags, unlock), and
- the whole command (``mlops-testkit promote ...`` as CI runs it: Python start-up and
  ``import mlflow`` included).

    python benchmarks/bench_registry.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from mlflow_server import MlflowServer

from mlops_testkit.gate_report import build_report, gate_test_entry

TARGET_S = 3.0
GATE = {"name": "auc", "kind": "metric", "value": 0.8, "threshold": ">= 0.7", "passed": True}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    cli = Path(sys.executable).with_name("mlops-testkit")
    with tempfile.TemporaryDirectory() as tmp, MlflowServer(Path(tmp) / "server") as server:
        os.environ["MLFLOW_TRACKING_URI"] = server.uri
        from mlflow import MlflowClient

        from mlops_testkit.registry.promotion import promote, rollback

        client = MlflowClient(server.uri)
        client.create_registered_model("bench")
        run = client.create_run("0")
        versions = 2 + 2 * args.rounds
        for _ in range(versions):
            client.create_model_version(
                "bench", source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
            )

        def report(version: int, champion: int | None) -> str:
            model = {"name": "bench", "version": str(version), "champion_version": champion}
            model["champion_version"] = None if champion is None else str(champion)
            path = Path(tmp) / f"r{version}.json"
            tests = [gate_test_entry("t", "passed", gates=1)]
            report = build_report([dict(GATE, test_id="t")], gate_tests=tests, model=model)
            path.write_text(json.dumps(report))
            return str(path)

        promote("bench", "1", report(1, None))  # warm the server's code paths
        timings: dict[str, list[float]] = {
            k: [] for k in ("promote", "rollback", "promote CLI", "rollback CLI")
        }
        champion = 1
        for i in range(args.rounds):
            new = 2 + 2 * i
            started = time.perf_counter()
            promote("bench", str(new), report(new, champion))
            timings["promote"].append(time.perf_counter() - started)
            started = time.perf_counter()
            rollback("bench")
            timings["rollback"].append(time.perf_counter() - started)
            cli_new = new + 1
            started = time.perf_counter()
            subprocess.run(
                [
                    str(cli),
                    "promote",
                    "--model",
                    "bench",
                    "--version",
                    str(cli_new),
                    "--gate-report",
                    report(cli_new, champion),
                ],
                check=True,
                capture_output=True,
            )
            timings["promote CLI"].append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run(
                [str(cli), "rollback", "--model", "bench"], check=True, capture_output=True
            )
            timings["rollback CLI"].append(time.perf_counter() - started)
    print(
        f"registry operations against a local MLflow server, {args.rounds} rounds (target <= {TARGET_S:g} s)"
    )
    for name, values in timings.items():
        med = statistics.median(values)
        print(
            f"  {name:13} median {med:5.2f} s  (min {min(values):.2f}, max {max(values):.2f}); "
            f"{med / TARGET_S:.2f}x of the target"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
