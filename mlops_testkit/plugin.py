"""The pytest plugin: options, markers, header, seeding, the device matrix, summaries.

This module only wires; each capability lives in its own module. Its top level
imports only the standard library and pytest, so loading the plugin costs nothing in
a project that never touches an ML framework.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from mlops_testkit import MltkConfigWarning, __version__
from mlops_testkit.changes import ChangeDecision, ChangeError, decide
from mlops_testkit.devices import (
    DeviceStatus,
    check_marker_names,
    devices_for_test,
    probe,
    torch_installed,
)
from mlops_testkit.extras import install_line
from mlops_testkit.seeding import draw_seed, reseed, torch_deterministic
from mlops_testkit.settings import BY_NAME, RANDOM_SEED, Resolved, add_options, resolve

CATEGORIES = ("data", "model", "behavioral", "gate")
MARKERS = (
    "data: a data test (schemas, drift, leakage, property tests). " "Example: @pytest.mark.data",
    "model(deterministic=None): a model or training test; deselected by "
    "--mltk-changed-since when no model code changed; deterministic=True turns on torch "
    "deterministic algorithms for it. Example: @pytest.mark.model(deterministic=True)",
    "behavioral: a behavioral test of a model (invariance, directional, minimum "
    "functionality). Example: @pytest.mark.behavioral",
    "gate: a quality gate deciding whether a model may be promoted. Example: @pytest.mark.gate",
    "devices(*names): run the 'device' fixture only on these of cpu, cuda, mps. "
    "Example: @pytest.mark.devices('cpu', 'cuda')",
    "mlscore(*items): this test evidences these ML Test Score items when it passes "
    "(ids data-1..7, model-1..7, infra-1..7, mon-1..7). "
    "Example: @pytest.mark.mlscore('model-2', 'infra-3')",
)
FRAMEWORKS = ("numpy", "torch", "pandas", "pandera", "scipy", "hypothesis", "mlflow")


@dataclass
class MltkState:
    """Everything the plugin decided for this run; lives in ``config.stash``."""

    seed: int
    seed_from: Resolved
    devices: Resolved
    require_devices: Resolved
    autoseed: bool
    deterministic: bool
    changes: ChangeDecision | None = None
    probed: dict[str, DeviceStatus] | None = None
    deselected: int = 0
    outcomes: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    worker_probes: dict[str, DeviceStatus] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)
    gate_report: Resolved | None = None
    model_name: Resolved | None = None
    candidate: Resolved | None = None
    mlflow_log: Resolved | None = None
    registry: Any = None  # mlops_testkit.tracking.Registry, made by the first fixture use
    model_infos: list[dict[str, Any]] = field(default_factory=list)  # from xdist workers
    finish_notes: list[str] = field(default_factory=list)  # report written, run logged...
    finish_errors: list[str] = field(default_factory=list)
    score: Resolved | None = None
    json_path: Resolved | None = None
    report_path: Resolved | None = None
    manual_items: Resolved | None = None
    evidence: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    results: list[dict[str, Any]] = field(default_factory=list)
    score_result: Any = None  # mlops_testkit.score.Score, made on the controller

    def probe(self) -> dict[str, DeviceStatus]:
        if self.probed is None:
            self.probed = probe()
        return self.probed


STATE = pytest.StashKey[MltkState]()
COLLECTOR_NAME = "mlops_testkit-results"
DETERMINISTIC_CTX = pytest.StashKey[contextlib.ExitStack]()
GATES = pytest.StashKey[list]()
EVIDENCE = pytest.StashKey[set]()  # ML Test Score items the test's helpers evidenced
RESULTS = pytest.StashKey[list]()  # drift rows, behavioral rates, loss curves


def _state(config: pytest.Config) -> MltkState:
    return config.stash[STATE]


# --- options and configuration -------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)

    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    seed_from = resolve(config, "seed")
    if workerinput is not None and "mltk_seed" in workerinput:
        seed = int(workerinput["mltk_seed"])  # the controller chose it: every worker agrees
    elif seed_from.value == RANDOM_SEED:
        seed = draw_seed()
    else:
        seed = int(seed_from.value)

    state = MltkState(
        seed=seed,
        seed_from=seed_from,
        devices=resolve(config, "devices"),
        require_devices=resolve(config, "require_devices"),
        autoseed=resolve(config, "autoseed").value,
        deterministic=resolve(config, "deterministic").value,
        gate_report=resolve(config, "gate_report"),
        model_name=resolve(config, "model_name"),
        candidate=resolve(config, "candidate"),
        mlflow_log=resolve(config, "mlflow_log"),
        score=resolve(config, "score"),
        json_path=resolve(config, "json"),
        report_path=resolve(config, "report"),
        manual_items=resolve(config, "manual_items"),
    )
    if "torch" in sys.modules:  # already paid for by the user's conftest: show what exists
        state.probe()
    config.stash[STATE] = state
    config.pluginmanager.register(_ResultCollector(state), COLLECTOR_NAME)

    if workerinput is not None and "mltk_changes" in workerinput:
        changes = workerinput["mltk_changes"]
        state.changes = ChangeDecision.from_dict(changes) if changes else None
    else:
        state.changes = _decide_changes(config)


def _decide_changes(config: pytest.Config) -> ChangeDecision | None:
    ref = resolve(config, "changed_since")
    if ref.value is None:
        return None
    where = ref.describe(BY_NAME["changed_since"])
    globs = resolve(config, "model_paths").value
    if not globs:
        raise pytest.UsageError(
            f"mlops-testkit: {where}={ref.value} needs the globs of your model code: set the "
            "ini key mltk_model_paths (e.g. 'src/model/**'), --mltk-model-paths or "
            "MLTK_MODEL_PATHS"
        )
    try:
        decision = decide(ref.value, globs, Path(config.rootpath))
    except ChangeError as exc:
        raise pytest.UsageError(f"mlops-testkit: {where}: {exc}") from None
    if decision.unmatched_globs:
        config.issue_config_time_warning(
            MltkConfigWarning(
                f"mltk_model_paths: {', '.join(repr(g) for g in decision.unmatched_globs)} "
                f"match(es) no file under {config.rootpath}; a change there can never "
                "select the model tests"
            ),
            stacklevel=2,
        )
    return decision


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: the controller sends its seed and change decision to each worker."""
    state = _state(node.config)
    node.workerinput["mltk_seed"] = state.seed
    node.workerinput["mltk_changes"] = state.changes.to_dict() if state.changes else None


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = _state(config)
    seed_line = f"seed {state.seed} ({state.seed_from.describe(BY_NAME['seed'])})"
    if state.seed_from.value == RANDOM_SEED:
        seed_line = (
            f"seed {state.seed} (random, from {state.seed_from.describe(BY_NAME['seed'])}; "
            f"replay with --mltk-seed {state.seed})"
        )
    if not state.autoseed:
        seed_line += "; autoseed off"
    lines = [f"mlops-testkit {__version__}: {seed_line}"]

    dev = state.devices
    wanted = "auto (every available)" if dev.value is None else ",".join(dev.value)
    line = f"  devices: {wanted} (from {dev.describe(BY_NAME['devices'])})"
    if state.require_devices.value:
        line += (
            f"; missing ones fail ({state.require_devices.describe(BY_NAME['require_devices'])})"
        )
    lines.append(line)
    if state.probed is not None:
        lines.append("  devices found: " + _describe_probe(state.probed))
    else:
        lines.append("  devices found: listed after collection (probing imports torch)")
    if state.changes is not None:
        lines.append(f"  changed-since: {state.changes.reason}")
    if state.model_name is not None and state.model_name.value is not None:
        spec = state.candidate.value if state.candidate is not None else None
        line = (
            f"  model: {state.model_name.value} "
            f"(from {state.model_name.describe(BY_NAME['model_name'])}), candidate "
            f"{spec.describe() if spec else '-'}"
        )
        if state.mlflow_log is not None and state.mlflow_log.value:
            line += "; results logged to MLflow"
        lines.append(line)
    versions = []
    for name in FRAMEWORKS:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} -")
    lines.append("  frameworks: " + ", ".join(versions))
    return lines


def _describe_probe(probed: dict[str, DeviceStatus]) -> str:
    found = [s.describe() for s in probed.values() if s.available]
    reasons = {s.detail for s in probed.values() if not s.available}
    if not found and len(reasons) == 1:  # e.g. torch is not installed
        return f"none ({reasons.pop()})"
    missing = [s.describe() for s in probed.values() if not s.available]
    text = ", ".join(found) if found else "none"
    if missing:
        text += "; missing: " + "; ".join(missing)
    return text


# --- collection ----------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" not in metafunc.fixturenames:
        return
    state = _state(metafunc.config)
    marker = metafunc.definition.get_closest_marker("devices")
    marker_names = None
    if marker is not None:
        try:
            marker_names = check_marker_names(marker.args, metafunc.definition.nodeid)
        except ValueError as exc:
            pytest.fail(str(exc), pytrace=False)
    requested = state.devices.value
    available = state.probe() if requested is None else None
    names, not_selected = devices_for_test(requested, marker_names, available)
    params = [
        pytest.param(
            n, id=n, marks=[pytest.mark.skip(reason=not_selected[n])] if n in not_selected else []
        )
        for n in names
    ]
    metafunc.parametrize("device", params, indirect=True)


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    # The header comes before test modules import torch; by now it is usually loaded.
    state = _state(config)
    if config.get_verbosity() < 0 or (state.probed is None and sys.modules.get("torch") is None):
        return []
    return ["mlops-testkit devices found: " + _describe_probe(state.probe())]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from mlops_testkit.score import check_items

    for item in items:
        for marker in item.iter_markers("mlscore"):
            try:
                check_items(marker.args, f"@pytest.mark.mlscore on {item.nodeid}")
            except ValueError as exc:
                raise pytest.UsageError(f"mlops-testkit: {exc}") from None
    state = _state(config)
    if state.changes is None or state.changes.run_model_tests:
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("model") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    state.deselected = len(drop)


# --- running -------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = _state(item.config)
    if state.autoseed:
        reseed(state.seed)
    deterministic = state.deterministic
    marker = item.get_closest_marker("model")
    if marker is not None and marker.kwargs.get("deterministic") is not None:
        deterministic = bool(marker.kwargs["deterministic"])
    if deterministic:
        stack = contextlib.ExitStack()
        stack.enter_context(torch_deterministic())
        item.stash[DETERMINISTIC_CTX] = stack


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    # Gates called by the test record their results here; the recorder is set only
    # while the test function runs. (mlops_testkit.gates imports only the standard library.)
    from mlops_testkit.gates import _RECORDER
    from mlops_testkit.results import _SINK
    from mlops_testkit.score import _EVIDENCE

    results: list[Any] = []
    item.stash[GATES] = results
    evidence = item.stash.setdefault(EVIDENCE, set())
    sink = item.stash.setdefault(RESULTS, [])
    tokens = (_RECORDER.set((item.nodeid, results)), _EVIDENCE.set(evidence), _SINK.set(sink))
    try:
        return (yield)
    finally:
        _RECORDER.reset(tokens[0])
        _EVIDENCE.reset(tokens[1])
        _SINK.reset(tokens[2])
        _junit_properties(item, results, evidence, sink)


def _junit_properties(
    item: pytest.Item, gates: list[Any], evidence: set[str], results: list[dict[str, Any]]
) -> None:
    """What the test measured, as JUnit properties (like record_property)."""
    props = item.user_properties
    for gate in gates:
        verdict = "pass" if gate.passed else "FAIL"
        props.append((f"mltk_gate:{gate.name}", f"{gate.value} ({gate.threshold}) {verdict}"))
    for result in results:
        if result["kind"] == "drift":
            props.append(("mltk_drifted", ",".join(result["drifted"]) or "-"))
        elif result["kind"] == "behavioral":
            props.append(
                (f"mltk_behavioral:{result['test']} {result['name']}".strip(), result["fail_rate"])
            )
    if evidence:
        props.append(("mltk_score_items", ",".join(sorted(evidence))))


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    stack = item.stash.get(DETERMINISTIC_CTX, None)
    if stack is not None:
        stack.close()
        del item.stash[DETERMINISTIC_CTX]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    # Plain attributes travel with the report to the xdist controller.
    report.mltk_categories = [c for c in CATEGORIES if item.get_closest_marker(c)]
    callspec = getattr(item, "callspec", None)
    report.mltk_device = callspec.params.get("device") if callspec is not None else None
    if call.when == "call":
        report.mltk_gates = [g.as_dict() for g in item.stash.get(GATES, [])]
        claimed = {i for m in item.iter_markers("mlscore") for i in m.args}
        if "champion" in getattr(item, "fixturenames", ()):  # reached the call: one exists
            claimed.add("infra-7")  # a registry champion, moved by promote and rollback
        report.mltk_evidence = sorted(item.stash.get(EVIDENCE, set()) | claimed)
        report.mltk_results = [dict(r, test_id=item.nodeid) for r in item.stash.get(RESULTS, [])]
    return report


class _ResultCollector:
    """Counts outcomes per category and device from every report (on the controller
    under xdist, where worker reports arrive with their ``mltk_*`` attributes)."""

    def __init__(self, state: MltkState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.gates.extend(getattr(report, "mltk_gates", None) or [])
        self.state.results.extend(getattr(report, "mltk_results", None) or [])
        categories = getattr(report, "mltk_categories", None) or []
        device = getattr(report, "mltk_device", None)
        if report.failed:
            outcome = "failed"
        elif report.skipped:
            outcome = "skipped"
        elif report.when == "call":
            outcome = "passed"
            for item_id in getattr(report, "mltk_evidence", None) or []:
                self.state.evidence[item_id].append(report.nodeid)
        else:
            return
        for key in [*categories, *([f"device:{device}"] if device else [])]:
            if self.state.outcomes[key].get(report.nodeid) != "failed":
                self.state.outcomes[key][report.nodeid] = outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    if STATE not in session.config.stash:
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    state = _state(session.config)
    if workeroutput is None:
        _finish_controller(session)
        return
    workeroutput["mltk_deselected"] = state.deselected
    if state.registry is not None and state.registry.info() is not None:
        workeroutput["mltk_model"] = state.registry.info()
    if state.probed is not None:
        workeroutput["mltk_probed"] = {n: [s.available, s.detail] for n, s in state.probed.items()}


def _model_info(state: MltkState) -> dict[str, Any] | None:
    """The model version the gates evaluated, agreed by every worker (or None)."""
    infos = list(state.model_infos)
    if state.registry is not None and state.registry.info() is not None:
        infos.append(state.registry.info())
    if not infos:
        return None
    seen = {(i["name"], i["version"], i["champion_version"]) for i in infos}
    if len(seen) == 1:
        return infos[0]
    # e.g. the challenger alias moved between two workers' lookups: certify nothing
    return {
        "name": infos[0]["name"],
        "version": None,
        "conflict": sorted(f"v{v} (champion {c})" for _, v, c in seen),
    }


def _finish_controller(session: pytest.Session) -> None:
    """On the controller (or a run without xdist): the gate report and MLflow logging.
    A failure here is reported and fails the run; it never becomes an INTERNALERROR."""
    config = session.config
    state = _state(config)
    wants_report = state.gate_report is not None and state.gate_report.value is not None
    wants_log = state.mlflow_log is not None and bool(state.mlflow_log.value)
    json_path = state.json_path.value if state.json_path is not None else None
    html_path = state.report_path.value if state.report_path is not None else None
    wants_score = state.score is not None and bool(state.score.value)
    if not (wants_report or wants_log or json_path or html_path or wants_score):
        return
    from mlops_testkit.gates import build_report
    from mlops_testkit.score import compute, parse_manual

    manual = parse_manual(state.manual_items.value if state.manual_items else ())
    state.score_result = compute(state.evidence, manual)
    report = build_report(state.gates, git_sha=_git_sha(config), model=_model_info(state))
    if json_path or html_path:
        from mlops_testkit.report import collect, write_json, write_report

        data = collect(state.outcomes, report, state.results, state.score_result)
        for path, write in ((json_path, write_json), (html_path, write_report)):
            if path:
                try:
                    written = write(_out_path(config, path), data)
                    state.finish_notes.append(
                        f"{'results' if write is write_json else 'report'}: {written}"
                    )
                except OSError as exc:
                    state.finish_errors.append(f"could not write {path}: {exc}")
    if wants_report:
        try:
            _write_gate_report(config, report)
        except OSError as exc:
            state.finish_errors.append(f"could not write the gate report: {exc}")
    if wants_log:
        from mlops_testkit import MissingExtraError
        from mlops_testkit.tracking import TrackingError, backend_error, log_results

        counts = {
            c: dict(Counter(state.outcomes.get(c, {}).values()))
            for c in CATEGORIES
            if state.outcomes.get(c)
        }
        model = report.get("model") or {}
        try:
            run_id = log_results(report, counts, run_id=model.get("run_id"))
            state.finish_notes.append(f"gate results logged to MLflow run {run_id}")
        except (TrackingError, MissingExtraError) as exc:
            state.finish_errors.append(f"--mltk-mlflow-log: {exc}")
        except Exception as exc:
            if not backend_error(exc):
                raise
            state.finish_errors.append(f"--mltk-mlflow-log: MLflow error: {exc}")
    if state.finish_errors and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _out_path(config: pytest.Config, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def _git_sha(config: pytest.Config) -> str | None:
    import subprocess

    try:
        sha = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=config.rootpath,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return sha


def _write_gate_report(config: pytest.Config, report: dict[str, Any]) -> None:
    import json
    import os

    state = _state(config)
    assert state.gate_report is not None
    path = Path(state.gate_report.value)
    if not path.is_absolute():
        path = Path(config.invocation_params.dir) / path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)  # atomic: a reader never sees half a report
    state.gate_report = Resolved(str(path), state.gate_report.source)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: collect what each worker learnt (deselections, device probes)."""
    state = _state(node.config)
    output = getattr(node, "workeroutput", {}) or {}
    state.deselected = max(state.deselected, int(output.get("mltk_deselected", 0)))
    for name, (available, detail) in (output.get("mltk_probed") or {}).items():
        state.worker_probes[name] = DeviceStatus(name, bool(available), str(detail))
    if output.get("mltk_model"):
        state.model_infos.append(dict(output["mltk_model"]))


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.pluginmanager.get_plugin(COLLECTOR_NAME)
    if collector is not None:
        config.pluginmanager.unregister(collector)


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The run's seed (``--mltk-seed``), for tests that build their own generators.

    Every RNG already imported is reseeded with it before each test; use it for
    generators you create yourself, so that ``--mltk-seed`` replays them too::

        def test_split(seed):
            rng = numpy.random.default_rng(seed)
            ...
    """
    return _state(request.config).seed


@pytest.fixture
def device(request: pytest.FixtureRequest) -> Any:
    """A ``torch.device``, one test per selected device: ``test_x[cpu]``, ``test_x[cuda]``.

    The devices come from ``--mltk-devices`` (default: every one available here);
    ``@pytest.mark.devices("cpu", "cuda")`` narrows them for one test. A device that
    is not available skips with the reason, or fails under
    ``--mltk-require-devices``. Without torch the test skips with the install line::

        def test_forward(device):
            model = Net().to(device)
            assert model(torch.zeros(2, 8, device=device)).shape == (2, 1)
    """
    state = _state(request.config)
    name = getattr(request, "param", None)
    if name is None:  # requested without parametrization (e.g. getfixturevalue)
        requested = state.devices.value
        name = requested[0] if requested else "cpu"
    if not torch_installed():
        status = DeviceStatus(name, False, f"torch is not installed: {install_line('torch')}")
    else:
        status = state.probe()[name]
    if not status.available:
        message = f"device {name} is not available: {status.detail}"
        if state.require_devices.value:
            pytest.fail(
                f"{message} (required by "
                f"{state.require_devices.describe(BY_NAME['require_devices'])})",
                pytrace=False,
            )
        pytest.skip(message)
    import torch

    return torch.device(name)


def _registry(request: pytest.FixtureRequest) -> Any:
    state = _state(request.config)
    if state.registry is None:
        if state.model_name is None or state.model_name.value is None:
            pytest.fail(
                f"mlops-testkit: the {request.fixturename!r} fixture needs the registered "
                "model's name: set --mltk-model-name, MLTK_MODEL_NAME or the ini key "
                "mltk_model_name",
                pytrace=False,
            )
        if importlib.util.find_spec("mlflow") is None:
            pytest.skip(
                f"the {request.fixturename!r} fixture needs mlflow: {install_line('mlflow')}"
            )
        from mlops_testkit.tracking import Registry

        assert state.candidate is not None
        state.registry = Registry(state.model_name.value, state.candidate.value)
    return state.registry


def _from_registry(request: pytest.FixtureRequest, get: Any) -> Any:
    from mlops_testkit.tracking import TrackingError, backend_error

    try:
        return get()
    except TrackingError as exc:
        problem = f"mlops-testkit: {exc}"
    except Exception as exc:
        if not backend_error(exc):
            raise
        problem = f"mlops-testkit: {request.fixturename}: MLflow error: {exc}"
    pytest.fail(problem, pytrace=False)  # outside the except: no chained traceback


@pytest.fixture(scope="session")
def candidate(request: pytest.FixtureRequest) -> Any:
    """The model version under test, from the MLflow registry (a ``RegistryModel``).

    Set the model with ``--mltk-model-name`` (or ini ``mltk_model_name``) and the
    version with ``--mltk-candidate`` (a number, an alias or a ``models:/`` URI; default
    the ``challenger`` alias). ``predict`` uses the MLflow pyfunc model, ``native`` the
    model's own flavour; the gate report records which version the gates evaluated::

        def test_auc(candidate, holdout):
            proba = candidate.predict(holdout.features)
            assert_metric("auc", roc_auc(holdout.y, proba), min=0.8)
    """
    registry = _registry(request)
    return _from_registry(request, registry.candidate)


@pytest.fixture(scope="session")
def champion(request: pytest.FixtureRequest) -> Any:
    """The model in production: the version behind the registry's ``champion`` alias when
    the candidate was resolved. Before the first deployment there is none, and tests
    that compare against it skip with that reason::

        def test_no_regression(candidate, champion, holdout):
            assert_no_regression("auc", auc(candidate, holdout), auc(champion, holdout))
    """
    registry = _registry(request)
    model = _from_registry(request, registry.champion)
    if model is None:
        pytest.skip(
            f"first deployment: model {registry.model_name!r} has no 'champion' alias yet, "
            "so there is nothing to compare against"
        )
    return model


# --- terminal summary ----------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is not None or STATE not in config.stash:
        return
    state = _state(config)
    lines = []
    for category in CATEGORIES:
        counts = Counter(state.outcomes.get(category, {}).values())
        if counts:
            lines.append(f"{category}: {_counts(counts)}")
    device_keys = sorted(k for k in state.outcomes if k.startswith("device:"))
    if device_keys:
        parts = [
            f"{k[len('device:') :]} {_counts(Counter(state.outcomes[k].values()))}"
            for k in device_keys
        ]
        lines.append("devices: " + "; ".join(parts))
        probed = state.probed or state.worker_probes
        used = {k[len("device:") :] for k in device_keys}
        missing = [s.describe() for s in probed.values() if not s.available and s.name in used]
        if missing:
            lines.append("devices missing here: " + "; ".join(missing))
    drifted = sorted({c for r in state.results if r["kind"] == "drift" for c in r["drifted"]})
    checked = sum(r["columns"] for r in state.results if r["kind"] == "drift")
    if checked:
        lines.append(
            f"drift: {len(drifted)} drifted column(s) of {checked} checked"
            + (
                ": " + ", ".join(drifted[:8]) + (" ..." if len(drifted) > 8 else "")
                if drifted
                else ""
            )
        )
    behavioral = [r for r in state.results if r["kind"] == "behavioral"]
    if behavioral:
        lines.append("behavioral failure rates:")
        for r in behavioral[:8]:
            label = f"{r['test']} {r['name']}".strip()
            verdict = "ok" if r["passed"] else "FAIL"
            lines.append(
                f"  {label}: {r['failures']}/{r['cases']} ({r['fail_rate']:.1%}, "
                f"threshold {r['max_fail_rate']:.1%}) {verdict}"
            )
        if len(behavioral) > 8:
            lines.append(f"  +{len(behavioral) - 8} more")
    if state.gates:
        failed = [g for g in state.gates if not g["passed"]]
        line = f"gates: {len(state.gates) - len(failed)} passed, {len(failed)} failed"
        shown_gates = [*failed, *(g for g in state.gates if g["passed"])][:8]
        for g in shown_gates:  # failures first, then passes: value vs threshold
            value = "-" if g["value"] is None else f"{g['value']:.4g}"
            verdict = "pass" if g["passed"] else "FAIL"
            line += f"\n  {verdict} {g['name']}: {value}, required {g['threshold']}"
        if len(state.gates) > len(shown_gates):
            line += f"\n  +{len(state.gates) - len(shown_gates)} more"
        lines.append(line)
    if state.gate_report is not None and state.gate_report.value is not None:
        model = _model_info(state)
        about = ""
        if model is not None:
            about = f" ({model['name']} v{model['version'] or '?'})"
        lines.append(f"gate report: {state.gate_report.value}{about}")
    if state.score_result is not None and state.score is not None and state.score.value:
        lines.extend(state.score_result.lines())
    lines.extend(state.finish_notes)
    lines.extend(f"ERROR {e}" for e in state.finish_errors)
    if state.changes is not None:
        if state.changes.run_model_tests:
            lines.append(state.changes.reason)
        else:
            lines.append(f"deselected {state.deselected} model test(s): {state.changes.reason}")
    if not lines and state.seed_from.value != RANDOM_SEED:
        return
    terminalreporter.write_sep("=", "mlops-testkit")
    seed_line = f"seed {state.seed}"
    if state.seed_from.value == RANDOM_SEED:
        seed_line += f" (random); replay with --mltk-seed {state.seed}"
    terminalreporter.write_line(seed_line)
    for line in lines:
        terminalreporter.write_line(line)


def _counts(counts: Counter[str]) -> str:
    order = ("passed", "failed", "skipped")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts[k])
