"""MLflow: the registry's candidate and champion, reachability, and logging a run's gates.

The tracking store is MLflow's own choice: ``MLFLOW_TRACKING_URI`` when set, otherwise
the embedded local store (``sqlite:///<cwd>/mlflow.db``), so everything works with no
server. Registry positions are *aliases* (``champion``, ``challenger``,
``previous_champion``), never the deprecated stages.

mlflow is imported inside the functions that need it: importing this module is free.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit.extras import require

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"
DEFAULT_CANDIDATE = CHALLENGER
DEFAULT_TIMEOUT_S = 10.0

_ALIAS = re.compile(r"[A-Za-z0-9_-]+")
_VERSION = re.compile(r"v?(\d+)")


class TrackingError(RuntimeError):
    """MLflow is unreachable, or the model, version or alias asked for does not exist."""


# --- parsing what the user names --------------------------------------------------------


@dataclass(frozen=True)
class CandidateSpec:
    """How the candidate is named: a version number, an alias, or a ``models:/`` URI."""

    text: str
    version: str | None = None
    alias: str | None = None
    model_name: str | None = None  # only from a models:/ URI

    def describe(self) -> str:
        return f"version {self.version}" if self.version else f"alias {self.alias!r}"


def parse_candidate(text: str) -> CandidateSpec:
    """Parse ``--mltk-candidate``: ``7`` or ``v7`` (a version), ``challenger`` (an
    alias), ``models:/NAME/7`` or ``models:/NAME@alias``."""
    value = str(text).strip()
    expected = (
        "expected a version number (7), an alias (challenger), models:/NAME/7 or "
        "models:/NAME@alias"
    )
    if value.startswith("models:/"):
        rest = value[len("models:/") :]
        if "@" in rest:
            name, _, alias = rest.rpartition("@")
            if name and _ALIAS.fullmatch(alias):
                return CandidateSpec(value, alias=alias, model_name=name)
        else:
            name, _, version = rest.rpartition("/")
            if name and version.isdigit():
                return CandidateSpec(value, version=str(int(version)), model_name=name)
        raise ValueError(f"{text!r} is not a model URI; {expected}")
    match = _VERSION.fullmatch(value)
    if match:
        return CandidateSpec(value, version=str(int(match.group(1))))
    if _ALIAS.fullmatch(value) and value != "latest":
        return CandidateSpec(value, alias=value)
    raise ValueError(f"{text!r} names no model version; {expected}")


def parse_model_name(text: str) -> str:
    """Parse a registered model name: non-empty, without '/' or ':' (MLflow's rule)."""
    value = str(text).strip()
    if not value or "/" in value or ":" in value:
        raise ValueError(
            f"{text!r} is not a registered model name; expected a non-empty name "
            "without '/' or ':', e.g. credit-scoring"
        )
    return value


# --- reaching the store -----------------------------------------------------------------


def tracking_uri() -> str:
    """The tracking URI in force: ``MLFLOW_TRACKING_URI`` or MLflow's local default."""
    mlflow = require("mlflow", "the MLflow registry")
    return str(mlflow.get_tracking_uri())


def redact(uri: str) -> str:
    """A URI fit to print: credentials (``user:password@``) removed."""
    return re.sub(r"//[^/@]*@", "//***@", uri)


def check_reachable(uri: str, timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """For an HTTP tracking server, ask ``/health`` within ``timeout`` seconds; raise
    :class:`TrackingError` saying why it cannot be reached. Other stores pass."""
    if not uri.startswith(("http://", "https://")):
        return
    import urllib.error
    import urllib.request

    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            if response.status != 200:
                raise TrackingError(
                    f"the MLflow server at {redact(uri)} answered /health with HTTP "
                    f"{response.status}"
                )
    except urllib.error.HTTPError as exc:
        raise TrackingError(
            f"the MLflow server at {redact(uri)} answered /health with HTTP {exc.code}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingError(
            f"the MLflow tracking server at {redact(uri)} is unreachable (waited at most "
            f"{timeout:g} s): {reason}; check MLFLOW_TRACKING_URI and that the server runs"
        ) from None


def connect(timeout: float = DEFAULT_TIMEOUT_S) -> Any:
    """An ``MlflowClient`` for the store in force, after checking that it answers.

    HTTP calls are bounded: MLflow's own retries (minutes by default) are cut to one
    retry with ``timeout`` seconds each, unless ``MLFLOW_HTTP_REQUEST_*`` say otherwise.
    """
    require("mlflow", "the MLflow registry")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, round(timeout))))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    from mlflow import MlflowClient

    uri = tracking_uri()
    check_reachable(uri, timeout)
    return MlflowClient(tracking_uri=uri)


def backend_error(exc: BaseException) -> bool:
    """An error raised by MLflow or its HTTP stack (REST, database): something to report
    as a refusal with its message, not a bug of the kit."""
    return type(exc).__module__.split(".")[0] in ("mlflow", "requests", "urllib3")


def _mlflow_error(exc: BaseException) -> bool:
    from mlflow.exceptions import MlflowException

    return isinstance(exc, MlflowException)


def aliases(client: Any, name: str) -> dict[str, str]:
    """The registered model's aliases (alias -> version); TrackingError if unknown."""
    try:
        model = client.get_registered_model(name)
    except Exception as exc:
        if _mlflow_error(exc) and getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            raise TrackingError(
                f"no registered model named {name!r} in {redact(tracking_uri())}; "
                "register one first (mlflow.register_model) or check the name"
            ) from None
        raise
    return {str(k): str(v) for k, v in (model.aliases or {}).items()}


def get_version(client: Any, name: str, version: str) -> Any:
    """The ``ModelVersion``; TrackingError naming the versions that do exist."""
    try:
        return client.get_model_version(name, str(version))
    except Exception as exc:
        if not _mlflow_error(exc):
            raise
        aliases(client, name)  # an unknown model says so
        known = sorted(
            (int(v.version) for v in client.search_model_versions(f"name = '{name}'")),
        )
        shown = ", ".join(str(v) for v in known[-10:]) or "none"
        raise TrackingError(
            f"model {name!r} has no version {version} (versions: {shown})"
        ) from None


def resolve(
    client: Any, name: str, spec: CandidateSpec, known: Mapping[str, str] | None = None
) -> Any:
    """The ``ModelVersion`` a candidate spec names (``known``: the aliases, if fetched)."""
    if spec.model_name is not None and spec.model_name != name:
        raise TrackingError(
            f"--mltk-candidate {spec.text} names model {spec.model_name!r}, but the model "
            f"under test is {name!r} (--mltk-model-name)"
        )
    if known is None:
        known = aliases(client, name)
    version = spec.version
    if version is None:
        version = known.get(str(spec.alias))
        if version is None:
            shown = ", ".join(f"{a} -> v{v}" for a, v in sorted(known.items())) or "none"
            raise TrackingError(
                f"model {name!r} has no alias {spec.alias!r} (aliases: {shown}); set it "
                f"when you register the candidate, or pass --mltk-candidate VERSION"
            )
    return get_version(client, name, version)


# --- the models the fixtures hand out ---------------------------------------------------


@dataclass
class RegistryModel:
    """A model version from the registry, loaded on first use, with its own code.

    ``predict`` goes through the MLflow pyfunc model (the default); ``native`` is the
    model in its own flavour (the torch module, the sklearn estimator, or the
    ``PythonModel`` of a pyfunc-only model)::

        def test_auc(candidate, holdout):
            proba = candidate.predict(holdout.drop(columns="y"))
            assert_metric("auc", roc_auc(holdout.y, proba), min=0.8)

    A version logged with ``code_paths`` whose modules differ from the ones this test
    process imports under the same names (the champion, registered from older code)
    runs in a process of its own with its packaged code first on the path
    (:mod:`mlops_testkit.registry.isolation`): ``predict`` works the same, and
    ``isolated`` / ``conflicts`` say why. Its ``pyfunc`` and ``native`` objects cannot
    cross into this process and say so.
    """

    name: str
    version: str
    run_id: str | None = None
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    _pyfunc: Any = field(default=None, repr=False)
    _native: Any = field(default=None, repr=False)
    _isolated: Any = field(default=None, repr=False)
    _local: str | None = field(default=None, repr=False)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def local_path(self) -> str:
        """The version's artifacts, downloaded once."""
        if self._local is None:
            mlflow = require("mlflow", "RegistryModel")
            try:
                self._local = str(mlflow.artifacts.download_artifacts(artifact_uri=self.uri))
            except Exception as exc:
                if not _mlflow_error(exc) and not backend_error(exc):
                    raise
                raise TrackingError(
                    f"cannot load {self.uri} (run {self.run_id or '-'}) from "
                    f"{redact(tracking_uri())}: {exc}; were its artifacts moved or deleted?"
                ) from None
        return self._local

    def _load(self) -> None:
        if self._pyfunc is not None or self._isolated is not None:
            return
        from mlops_testkit.registry.isolation import IsolatedModel, conflicts

        local = self.local_path
        found = conflicts(local)
        if found:
            self._isolated = IsolatedModel(local, found, self.describe())
            return
        mlflow = require("mlflow", "RegistryModel.pyfunc")
        try:
            self._pyfunc = mlflow.pyfunc.load_model(local)
        except Exception as exc:
            if not _mlflow_error(exc):
                raise
            raise TrackingError(
                f"cannot load {self.uri} (run {self.run_id or '-'}): {exc}"
            ) from None

    @property
    def isolated(self) -> bool:
        """True when the version runs in its own process (its code differs from ours)."""
        self._load()
        return self._isolated is not None

    @property
    def conflicts(self) -> list[Any]:
        """The packaged modules that differ from this process's (``isolation.Conflict``)."""
        self._load()
        return list(self._isolated.conflicts) if self._isolated is not None else []

    def _in_process_only(self, what: str) -> None:
        if self._isolated is not None:
            shown = "; ".join(c.describe() for c in self._isolated.conflicts)
            raise TrackingError(
                f"{self.describe()} runs in a process of its own because its packaged code "
                f"differs from this process's ({shown}): its {what} cannot be used here. "
                "Use .predict(data), which runs the model's own code"
            )

    @property
    def pyfunc(self) -> Any:
        """The version loaded as an MLflow pyfunc model (loaded once)."""
        self._load()
        self._in_process_only("pyfunc model")
        return self._pyfunc

    @property
    def flavors(self) -> list[str]:
        """The flavours the version was logged with, e.g. ['python_function', 'pytorch']."""
        self._load()
        if self._isolated is not None:
            return list(self._isolated.flavors)
        return list(self.pyfunc.metadata.flavors)

    @property
    def native(self) -> Any:
        """The version in its native flavour (loaded once)."""
        if self._native is None:
            import importlib

            self._load()
            self._in_process_only("native object")
            native = [f for f in self.flavors if f != "python_function"]
            if native:
                module = importlib.import_module(f"mlflow.{native[0]}")
                self._native = module.load_model(self.local_path)
            else:  # a pyfunc-only model: its PythonModel is the native object
                self._native = self.pyfunc.unwrap_python_model()
        return self._native

    def predict(self, data: Any) -> Any:
        """Predict with the pyfunc model (in the model's own process when isolated)."""
        self._load()
        if self._isolated is not None:
            return self._isolated.predict(data)
        return self._pyfunc.predict(data)

    def close(self) -> None:
        """Stop the model's own process, if it has one."""
        if self._isolated is not None:
            self._isolated.close()

    def describe(self) -> str:
        shown = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.name} v{self.version}{shown}"


class Registry:
    """The registry as one pytest session sees it: the candidate and the champion,
    resolved once, and what the gate report should say about them."""

    def __init__(self, model_name: str, spec: CandidateSpec, timeout: float = DEFAULT_TIMEOUT_S):
        self.model_name = model_name
        self.spec = spec
        self.timeout = timeout
        self._client: Any = None
        self._candidate: RegistryModel | None = None
        self._champion_version: str | None = None
        self._resolved = False

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect(self.timeout)
        return self._client

    def _handle(self, version: Any, known: Mapping[str, str]) -> RegistryModel:
        return RegistryModel(
            name=self.model_name,
            version=str(version.version),
            run_id=version.run_id or None,
            aliases=tuple(sorted(a for a, v in known.items() if v == str(version.version))),
            tags=dict(version.tags or {}),
        )

    def _resolve(self) -> None:
        if self._resolved:
            return
        known = aliases(self.client, self.model_name)
        version = resolve(self.client, self.model_name, self.spec, known)
        if version.status != "READY":
            raise TrackingError(
                f"{self.model_name} v{version.version} is {version.status}, not READY"
            )
        self._candidate = self._handle(version, known)
        self._champion_version = known.get(CHAMPION)
        self._resolved = True

    def candidate(self) -> RegistryModel:
        self._resolve()
        assert self._candidate is not None
        return self._candidate

    def champion(self) -> RegistryModel | None:
        """The champion as it was when the candidate was resolved; None before the first
        deployment."""
        self._resolve()
        if self._champion_version is None:
            return None
        return self._handle(
            get_version(self.client, self.model_name, self._champion_version),
            {CHAMPION: self._champion_version},
        )

    def info(self) -> dict[str, Any] | None:
        """What the gate report records: the model, its version and the champion the
        gates compared against (None: no champion yet). None if never resolved."""
        if not self._resolved or self._candidate is None:
            return None
        return {
            "name": self.model_name,
            "version": self._candidate.version,
            "run_id": self._candidate.run_id,
            "candidate": self.spec.text,
            "champion_version": self._champion_version,
        }


# --- logging a run's results ------------------------------------------------------------


def _metric_key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", name)[:240]


def log_results(
    report: Mapping[str, Any],
    counts: Mapping[str, Mapping[str, int]],
    *,
    run_id: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> str:
    """Log gate results and summary metrics to ``run_id`` (the candidate's training run)
    or to a new run; tag it with the git sha. Returns the run id."""
    import time

    client = connect(timeout)
    from mlflow.entities import Metric, RunTag

    if run_id is None:
        mlflow = require("mlflow", "--mltk-mlflow-log")
        experiment = mlflow.get_experiment_by_name(
            os.environ.get("MLFLOW_EXPERIMENT_NAME", "Default")
        )
        experiment_id = experiment.experiment_id if experiment else "0"
        run = client.create_run(experiment_id, run_name="mlops-testkit", tags={})
        run_id = run.info.run_id
        created = True
    else:
        created = False
    now = int(time.time() * 1000)
    metrics: dict[str, float] = {}
    gates: Sequence[Mapping[str, Any]] = report.get("gates", [])
    for gate in gates:
        value = gate.get("value")
        if isinstance(value, int | float) and value == value and abs(value) != float("inf"):
            key = _metric_key(f"mltk.gate.{gate['name']}")
            suffix, n = key, 1
            while suffix in metrics:
                n += 1
                suffix = f"{key}.{n}"
            metrics[suffix] = float(value)
    metrics["mltk.gates_passed"] = float(sum(1 for g in gates if g["passed"]))
    metrics["mltk.gates_failed"] = float(sum(1 for g in gates if not g["passed"]))
    for category, outcome in counts.items():
        for verdict, n in outcome.items():
            metrics[_metric_key(f"mltk.tests.{category}.{verdict}")] = float(n)
    tags = {
        "mltk.git_sha": str(report.get("git_sha") or ""),
        "mltk.gates_verdict": "passed" if report.get("passed") else "failed",
        "mltk.gate_report_hash": str(report.get("content_hash", "")),
    }
    items = [Metric(k, v, now, 0) for k, v in metrics.items()]
    for start in range(0, len(items), 900):  # MLflow takes up to 1000 metrics a batch
        client.log_batch(run_id, metrics=items[start : start + 900])
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    client.log_dict(run_id, dict(report), "mltk/gate-report.json")
    if created:
        client.set_terminated(run_id)
    return str(run_id)
