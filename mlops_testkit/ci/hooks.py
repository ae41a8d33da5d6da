"""What the pre-commit hooks run (``.pre-commit-hooks.yaml`` at the repository root).

- ``check_artifacts``: refuse to commit model artifacts (weights, pickles, checkpoints),
  the local MLflow store (``mlflow.db``, ``mlruns/``, ``mlartifacts/``) or any file over
  a size, unless Git LFS stores it (:data:`ARTIFACT_PATTERNS`, extensible by the hook's
  arguments);
- ``check_data``: validate sample data files (CSV, Parquet) against a pandera schema;
- ``affected_tests``: before a push, run the data tests and, when model code changed,
  the model tests (``pytest -m "data or model" --mltk-changed-since REF``); with
  ``mltk_data_paths``, a changed dataset (a plain file or a DVC pointer's output) runs
  the data and model tests tied to it (:mod:`mlops_testkit.ci.data_changes`);
- ``changed``: the same decision for a CI job, ``true``/``false`` and the reason.

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

# What must not be committed: serialised models, framework checkpoints and the local
# MLflow store (the README's default set-up writes mlflow.db and mlruns/ into the
# repository). A pattern without "/" matches a file name anywhere; one ending in "/"
# matches everything below a folder of that name; others match the path from the root.
# Extend with the hook's args: [--pattern, "*.npz"]; exempt with [--allow, "tests/*.pkl"].
ARTIFACT_PATTERNS = (
    # pickles and the formats of scikit-learn, XGBoost, LightGBM, CatBoost
    "*.pkl",
    "*.pickle",
    "*.joblib",
    "*.skops",  # MLflow 3 saves scikit-learn models as skops by default
    "*.cbm",
    "*.ubj",
    # PyTorch, Lightning, TorchScript, TorchServe
    "*.pt",
    "*.pth",
    "*.ckpt",
    "*.mar",
    # Keras / TensorFlow (SavedModel, checkpoints), ONNX, TFLite, Core ML
    "*.h5",
    "*.hdf5",
    "*.keras",
    "*.pb",
    "*.index",
    "*.data-?????-of-?????",
    "*.onnx",
    "*.tflite",
    "*.mlmodel",
    # Hugging Face and LLM weights
    "*.safetensors",
    "pytorch_model*.bin",
    "flax_model.msgpack",
    "*.gguf",
    # PaddlePaddle, Caffe, TensorRT
    "*.pdparams",
    "*.caffemodel",
    "*.engine",
    # the local MLflow store
    "mlflow.db",
    "mlruns/",
    "mlartifacts/",
)
DEFAULT_MAX_MB = 5.0


def artifact_match(path: str, patterns: Sequence[str]) -> str | None:
    """The first pattern that ``path`` matches, or None; ``!pattern`` entries exempt.

    >>> artifact_match("models/mlruns/1/model.skops", ARTIFACT_PATTERNS)
    '*.skops'
    >>> artifact_match("notes/mlruns/README.md", ARTIFACT_PATTERNS)
    'mlruns/'
    """
    import fnmatch

    from mlops_testkit.ci.changes import glob_to_regex

    rel = path.replace("\\", "/").removeprefix("./")
    parts = rel.split("/")

    def hit(pattern: str) -> bool:
        if pattern.endswith("/"):
            folder = pattern.rstrip("/")
            if "/" in folder:
                return bool(glob_to_regex(pattern).match(rel))
            return any(fnmatch.fnmatchcase(part, folder) for part in parts[:-1])
        if "/" not in pattern:
            return fnmatch.fnmatchcase(parts[-1].lower(), pattern.lower())
        return bool(glob_to_regex(pattern).match(rel))

    if any(hit(p[1:]) for p in patterns if p.startswith("!")):
        return None
    return next((p for p in patterns if not p.startswith("!") and hit(p)), None)


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


def check_artifacts(
    paths: Sequence[str],
    *,
    max_mb: float = DEFAULT_MAX_MB,
    patterns: Sequence[str] = (),
    allow: Sequence[str] = (),
) -> int:
    """Exit 1 if any path is a model artifact, part of the local MLflow store, or larger
    than ``max_mb``, unless Git LFS tracks it. ``patterns`` extend
    :data:`ARTIFACT_PATTERNS`; ``allow`` exempts paths. DVC-tracked data never reaches
    git (only its small ``.dvc`` pointer does)."""
    every = (*ARTIFACT_PATTERNS, *patterns)
    exempt = tuple(f"!{a}" for a in allow)
    store = ("mlflow.db", "mlruns/", "mlartifacts/")
    found: list[tuple[str, str]] = []
    for path in paths:
        p = Path(path)
        if not p.is_file() or (exempt and artifact_match(path, ("*", *exempt)) is None):
            continue
        size_mb = p.stat().st_size / 1e6
        pattern = artifact_match(path, every)
        if pattern is not None:
            what = "the local MLflow store" if pattern in store else "a model artifact"
            found.append((path, f"{what} ({pattern}, {size_mb:.1f} MB)"))
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
        "(dvc add PATH) or Git LFS (git lfs track '*.pt'); keep the local MLflow store out "
        "of git (add mlflow.db, mlruns/ and mlartifacts/ to .gitignore); unstage with "
        "git restore --staged. A false alarm: args: [--allow, 'GLOB']."
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
    from mlops_testkit.data.schema import _as_schema, schema_report
    from mlops_testkit.extras import require

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


def _git_out(*args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _is_commit(ref: str) -> bool:
    return _git_out("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") is not None


def default_ref() -> tuple[str | None, str]:
    """What a push is compared with, and why: the remote's default branch (the merge
    base with it is what a merge request shows), else the branch's old tip on the remote
    (pre-commit's PRE_COMMIT_FROM_REF), else a local main/master when pushing another
    branch. None when there is nothing to compare with (the first push of a repository):
    then every model test runs."""
    remote = os.environ.get("PRE_COMMIT_REMOTE_NAME", "").strip() or "origin"
    candidates = []
    head = _git_out("symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD")
    if head:
        candidates.append(head)
    candidates += [f"{remote}/main", f"{remote}/master"]
    for ref in candidates:
        if _is_commit(f"refs/remotes/{ref}"):
            return ref, f"the default branch {ref}"
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF", "").strip()
    if from_ref and set(from_ref) != {"0"} and _is_commit(from_ref):
        return from_ref, "the branch's tip on the remote (PRE_COMMIT_FROM_REF)"
    branch = _git_out("symbolic-ref", "--quiet", "--short", "HEAD")
    for local in ("main", "master"):
        if branch != local and _is_commit(f"refs/heads/{local}"):
            return local, f"the local branch {local} (no remote default branch yet)"
    return None, (
        f"nothing to compare with (no {remote}/HEAD, {remote}/main or {remote}/master: "
        "a first push?)"
    )


def affected_tests(ref: str | None, pytest_args: Sequence[str]) -> int:
    """Run the data tests, and the model tests if model code changed since ``ref``
    (default: :func:`default_ref`). With nothing to compare with, run every model test:
    a push is never blocked for want of a base, and never skips a test it cannot judge."""
    if ref is None:
        ref, why = default_ref()
        if ref is None:
            print(f"mlops-testkit affected-tests: {why}; running all model tests", flush=True)
        else:
            print(f"mlops-testkit affected-tests: comparing with {why}", flush=True)
    cmd = [sys.executable, "-m", "pytest", "-m", "data or model"]
    if ref is not None:
        cmd.append(f"--mltk-changed-since={ref}")
    cmd += list(pytest_args)
    print("mlops-testkit affected-tests:", " ".join(cmd[1:]), flush=True)
    code = subprocess.run(cmd, check=False).returncode
    return 0 if code == 5 else code  # 5: no test selected, nothing to hold the push back


def changed(since: str, paths: str | None, data_paths: str | None) -> int:
    """``mlops-testkit changed``: print ``true`` when model tests may need to run (model
    code or a dataset changed since ``since``), else ``false``; the reason, each changed
    dataset with the ``.dvc`` / ``dvc.lock`` entry that changed it, and each DVC pointer
    that changed without changing data go to stderr. Exit 1 when it cannot decide."""
    from mlops_testkit.ci import config as pytest_config
    from mlops_testkit.ci.changes import ChangeError, decide
    from mlops_testkit.settings import parse_globs

    def say(text: str) -> None:
        print(f"mlops-testkit changed: {text}", file=sys.stderr)

    rootdir = Path.cwd()
    try:
        if paths is not None:
            globs = parse_globs(paths)
        else:
            globs, rootdir, where = pytest_config.model_paths(rootdir)
            say(f"model paths from {where}")
        if data_paths is not None:
            data_globs, data_where = parse_globs(data_paths), "--data-paths"
        else:
            data_globs, data_where = pytest_config.data_paths(rootdir)
    except pytest_config.ConfigError as exc:
        say(str(exc))
        return 1
    if not globs:
        say("--paths names no glob")
        return 1
    if data_globs:
        say(f"data paths from {data_where}")
    try:
        decision = decide(since, globs, rootdir, data_globs=data_globs)
    except ChangeError as exc:
        say(str(exc))
        return 1
    print("true" if decision.run_any else "false")
    lines = decision.explain()
    say(lines[0])
    for line in lines[1:]:
        print(f"mlops-testkit changed: {line.strip()}", file=sys.stderr)
    return 0
