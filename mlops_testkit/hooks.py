"""What the pre-commit hooks run (``.pre-commit-hooks.yaml`` at the repository root).

- ``check_artifacts``: refuse to commit model artifacts (weights, pickles, checkpoints)
  or any file over a size, unless Git LFS stores it;
- ``check_data``: validate sample data files (CSV, Parquet) against a pandera schema;
- ``affected_tests``: before a push, run the data tests and, when model code changed,
  the model tests (``pytest -m "data or model" --mltk-changed-since REF``).

Each returns an exit status and prints what to do; the CLI exposes them as
``mlops-testkit check-artifacts``, ``check-data`` and ``affected-tests``.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Serialised models and checkpoints of the common frameworks.
ARTIFACT_SUFFIXES = (
    ".pt",
    ".pth",
    ".ckpt",
    ".pkl",
    ".pickle",
    ".joblib",
    ".h5",
    ".hdf5",
    ".keras",
    ".onnx",
    ".safetensors",
    ".pb",
    ".tflite",
    ".mlmodel",
    ".gguf",
)
DEFAULT_MAX_MB = 5.0


def _lfs_tracked(paths: Sequence[str]) -> set[str]:
    """The paths whose ``filter`` attribute is ``lfs`` (Git LFS stores them)."""
    if not paths:
        return set()
    try:
        out = subprocess.run(
            ["git", "check-attr", "filter", "--", *paths],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
    except OSError:
        return set()
    tracked = set()
    for line in out.splitlines():
        path, _, rest = line.rpartition(": filter: ")
        if rest.strip() == "lfs":
            tracked.add(path)
    return tracked


def check_artifacts(paths: Sequence[str], *, max_mb: float = DEFAULT_MAX_MB) -> int:
    """Exit 1 if any path is a model artifact or larger than ``max_mb``, unless Git LFS
    tracks it. DVC-tracked data never reaches git (only its small ``.dvc`` pointer does)."""
    found: list[tuple[str, str]] = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            continue
        size_mb = p.stat().st_size / 1e6
        if p.suffix.lower() in ARTIFACT_SUFFIXES:
            found.append((path, f"a model artifact ({p.suffix}, {size_mb:.1f} MB)"))
        elif size_mb > max_mb:
            found.append((path, f"{size_mb:.1f} MB, over the {max_mb:g} MB limit"))
    lfs = _lfs_tracked([p for p, _ in found])
    found = [(p, why) for p, why in found if p not in lfs]
    if not found:
        return 0
    print(f"mlops-testkit: {len(found)} file(s) should not be committed to git:")
    for path, why in found:
        print(f"  {path}: {why}")
    print(
        "Log models to a registry (mlflow.log_model) or track them with DVC "
        "(dvc add PATH) or Git LFS (git lfs track '*.pt'); unstage with git restore --staged."
    )
    return 1


def _load_schema(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"--schema {spec!r}: expected MODULE:NAME, e.g. myproj.schemas:Raw")
    if os.getcwd() not in sys.path:  # the repository's own modules, as pytest would see them
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"--schema {spec!r}: cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"--schema {spec!r}: {module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _read(path: Path) -> Any:
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ValueError(
        f"cannot read {suffix + ' files' if suffix else 'files without a suffix'}; "
        "expected CSV (.csv, .tsv) or Parquet (.parquet)"
    )


def check_data(paths: Sequence[str], *, schema: str, max_examples: int = 5) -> int:
    """Validate each CSV/Parquet file against ``schema`` (``module:Name``, a pandera
    DataFrameSchema or DataFrameModel); print every file's failures; exit 1 if any."""
    import copy

    from mlops_testkit import MltkUsageError
    from mlops_testkit.extras import require
    from mlops_testkit.schema import _as_schema, schema_report

    require("pandas", "mlops-testkit check-data")
    try:
        contract = copy.deepcopy(_as_schema(_load_schema(schema), "mlops-testkit check-data"))
    except (ValueError, MltkUsageError) as exc:
        print(f"mlops-testkit check-data: {exc}", file=sys.stderr)
        return 2
    # A file carries no dtypes: read every column as the type the schema declares, and
    # report the values that cannot be (coercion failures are schema failures too).
    contract.coerce = True
    failed = 0
    for path in paths:
        try:
            frame = _read(Path(path))
        except (ValueError, OSError) as exc:
            print(f"{path}: {exc}")
            failed += 1
            continue
        report = schema_report(frame, contract)
        if report.passed:
            continue
        failed += 1
        print(f"{path}: {report.headline}")
        for row in report.rows[:max_examples]:
            print(
                f"  column {row['column']!r}, check {row['check']}: {row['failure case']!r}"
                f" (row {row['row index']})"
            )
        if len(report.rows) > max_examples:
            print(f"  +{len(report.rows) - max_examples} more")
    if failed:
        print(f"mlops-testkit check-data: {failed} of {len(paths)} file(s) break {schema}")
    return 1 if failed else 0


def default_ref() -> str:
    """What a push is compared with: pre-commit's PRE_COMMIT_FROM_REF, else the upstream
    branch, else origin's default branch, else the previous commit."""
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF", "").strip()
    if from_ref and set(from_ref) != {"0"}:  # all zeros: a new branch
        return from_ref
    for ref in ("@{upstream}", "origin/HEAD"):
        probe = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", ref],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            return ref
    return "HEAD~1"


def affected_tests(ref: str | None, pytest_args: Sequence[str]) -> int:
    """Run the data tests, and the model tests if model code changed since ``ref``."""
    ref = ref or default_ref()
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-m",
        "data or model",
        f"--mltk-changed-since={ref}",
        *pytest_args,
    ]
    print("mlops-testkit affected-tests:", " ".join(cmd[1:]), flush=True)
    code = subprocess.run(cmd, check=False).returncode
    return 0 if code == 5 else code  # 5: no test selected, nothing to hold the push back
