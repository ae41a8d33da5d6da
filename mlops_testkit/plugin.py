"""The pytest plugin: thin hooks that wire the kit into pytest.

The run's state and end-of-run work live in :mod:`mlops_testkit.session`, the fixtures
in :mod:`mlops_testkit.fixtures`, the hooks other plugins can implement in
:mod:`mlops_testkit.hookspecs`, the terminal summary in
:mod:`mlops_testkit.reporting.summary`. Module top levels import only the standard
library and pytest, so loading the plugin costs nothing in a project that never touches
an ML framework.
"""

from __future__ import annotations

import contextlib
import sys
from importlib import metadata
from typing import Any

import pytest

from mlops_testkit import __version__, session
from mlops_testkit.devices import DeviceStatus, check_marker_names, devices_for_test
from mlops_testkit.fixtures import candidate, champion, device, seed
from mlops_testkit.gate_evidence import first_line
from mlops_testkit.reporting.results import (
    _CURRENT,
    ACTIVE,
    Recorder,
    renderer_for,
    safely,
    transportable,
)
from mlops_testkit.seeding import reseed, torch_deterministic
from mlops_testkit.session import CATEGORIES, STASH, MltkSession
from mlops_testkit.settings import RANDOM_SEED, add_options

__all__ = ["candidate", "champion", "device", "seed"]

MARKERS = (
    "data: a data test (schemas, drift, leakage, property tests); paths=[globs] ties it "
    "to datasets: --mltk-changed-since then runs it only when one of them changed. "
    "Example: @pytest.mark.data(paths=['data/train.csv'])",
    "model(deterministic=None): a model or training test; deselected by "
    "--mltk-changed-since when no model code changed, unless data=[globs] ties it to a "
    "dataset that changed (mltk_data_paths); deterministic=True turns on torch "
    "deterministic algorithms for it. Example: @pytest.mark.model(data=['data/train.csv'])",
    "behavioral: a behavioral test of a model (invariance, directional, minimum "
    "functionality). Example: @pytest.mark.behavioral",
    "gate(allow_skip=None): a quality gate deciding whether a model may be promoted; the "
    "gate report fails unless every gate test passed and recorded a gate. A skip fails it "
    "too, unless allow_skip is True or a text found in the skip's reason. Example: "
    "@pytest.mark.gate(allow_skip='first deployment')",
    "devices(*names): run the 'device' fixture only on these of cpu, cuda, mps. "
    "Example: @pytest.mark.devices('cpu', 'cuda')",
    "mlscore(*items): this test evidences these ML Test Score items when it passes "
    "(ids data-1..7, model-1..7, infra-1..7, mon-1..7). "
    "Example: @pytest.mark.mlscore('model-2', 'infra-3')",
)
FRAMEWORKS = ("numpy", "torch", "pandas", "pandera", "scipy", "hypothesis", "mlflow")
DETERMINISTIC_CTX = pytest.StashKey[contextlib.ExitStack]()
RECORDER = pytest.StashKey[Recorder]()
COLLECTOR_NAME = "mlops_testkit-session"


# --- configuration -------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    from mlops_testkit.mutation.options import add_options as add_mutation_options

    add_options(parser)
    add_mutation_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--mltk-mutate``: run the suite against each mutant instead of once."""
    import os

    from mlops_testkit.mutation.runtime import ENV_OUT

    if not config.getoption("mltk_mutate", False) or os.environ.get(ENV_OUT):
        return None
    if config.option.help or config.option.version:
        return None
    from mlops_testkit.mutation.driver import run

    return run(config)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from mlops_testkit import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    state = MltkSession.start(config)
    config.stash[session.STASH] = state
    config.pluginmanager.register(_Collector(state), COLLECTOR_NAME)
    ACTIVE.orphans = state.gate_evidence.orphans  # results recorded while no test runs
    import os

    from mlops_testkit.mutation.runtime import ENV_OUT, start

    if os.environ.get(ENV_OUT):  # a clean or mutant run started by --mltk-mutate
        start(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.pluginmanager.get_plugin(COLLECTOR_NAME)
    if collector is not None:
        config.pluginmanager.unregister(collector)
    state = config.stash.get(STASH, None)
    if state is not None and ACTIVE.orphans is state.gate_evidence.orphans:
        ACTIVE.orphans = None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: the controller sends its seed and change decision to each worker."""
    state = session.get(node.config)
    node.workerinput["mltk_seed"] = state.seed
    node.workerinput["mltk_changes"] = state.changes.to_dict() if state.changes else None


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: collect what each worker learnt (deselections, device probes, its
    gate tests); a worker that went down without its output makes the gate report
    incomplete."""
    output = getattr(node, "workeroutput", None)
    name = getattr(getattr(node, "gateway", None), "id", None) or "a worker"
    session.get(node.config).from_worker(output or {}, worker=name, error=error)


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = session.get(config)
    seed_line = f"seed {state.seed} ({state.where('seed')})"
    if state.value("seed") == RANDOM_SEED:
        seed_line = (
            f"seed {state.seed} (random, from {state.where('seed')}; "
            f"replay with --mltk-seed {state.seed})"
        )
    if not state.value("autoseed"):
        seed_line += "; autoseed off"
    lines = [f"mlops-testkit {__version__}: {seed_line}"]
    devices = state.value("devices")
    wanted = "auto (every available)" if devices is None else ",".join(devices)
    line = f"  devices: {wanted} (from {state.where('devices')})"
    if state.value("require_devices"):
        line += f"; missing ones fail ({state.where('require_devices')})"
    lines.append(line)
    if state.probed is not None:
        lines.append("  devices found: " + describe_probe(state.probed))
    else:
        lines.append("  devices found: listed after collection (probing imports torch)")
    if state.changes is not None:
        lines.append(f"  changed-since: {state.changes.reason}")
    if state.value("model_name") is not None:
        spec = state.value("candidate")
        line = (
            f"  model: {state.value('model_name')} (from {state.where('model_name')}), "
            f"candidate {spec.describe() if spec else '-'}"
        )
        if state.value("mlflow_log"):
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


def describe_probe(probed: dict[str, DeviceStatus]) -> str:
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
    state = session.get(metafunc.config)
    marker = metafunc.definition.get_closest_marker("devices")
    marker_names = None
    if marker is not None:
        try:
            marker_names = check_marker_names(marker.args, metafunc.definition.nodeid)
        except ValueError as exc:
            pytest.fail(str(exc), pytrace=False)
    requested = state.value("devices")
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
    state = session.get(config)
    if config.get_verbosity() < 0 or (state.probed is None and sys.modules.get("torch") is None):
        return []
    return ["mlops-testkit devices found: " + describe_probe(state.probe())]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Any:
    """Every collected gate test, before and after deselection (``-k``, ``-m``,
    ``--mltk-changed-since`` or another plugin): the gate report accounts for each."""
    from mlops_testkit.gate_evidence import gate_marker

    state = session.get(config)
    before = {}
    for item in items:
        try:
            allowed = gate_marker(item)
        except ValueError as exc:
            raise pytest.UsageError(f"mlops-testkit: {exc}") from None
        if allowed is not None:
            before[item.nodeid] = allowed
    result = yield
    _select(config, items)
    state.gate_evidence.collected(before, {item.nodeid for item in items})
    return result


def _select(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Check ``mlscore`` markers; deselect model tests when ``--mltk-changed-since`` says
    no model code changed."""
    from mlops_testkit.reporting.score import check_items

    for item in items:
        for marker in item.iter_markers("mlscore"):
            try:
                check_items(marker.args, f"@pytest.mark.mlscore on {item.nodeid}")
            except ValueError as exc:
                raise pytest.UsageError(f"mlops-testkit: {exc}") from None
    state = session.get(config)
    if state.changes is None:
        return
    from mlops_testkit.ci.data_changes import select

    try:
        keep, drop, drop_data = select(state.changes, items)
    except ValueError as exc:
        raise pytest.UsageError(f"mlops-testkit: {exc}") from None
    if drop or drop_data:
        config.hook.pytest_deselected(items=drop + drop_data)
        items[:] = keep
    state.deselected = len(drop)
    if drop_data:
        shown = ", ".join(item.nodeid for item in drop_data[:3])
        more = f" (+{len(drop_data) - 3} more)" if len(drop_data) > 3 else ""
        state.finish_notes.append(
            f"deselected {len(drop_data)} data test(s) whose datasets did not change: "
            f"{shown}{more}"
        )
    for line in state.changes.explain()[1:]:
        if line not in state.finish_notes:
            state.finish_notes.append(line.strip())


# --- running -------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    # Every check the test's setup, call and teardown (its fixtures) run records into the
    # test's recorder; ACTIVE.recorder lets threads the test starts record there too.
    recorder = item.stash.setdefault(RECORDER, Recorder(item.nodeid))
    token = _CURRENT.set(recorder)
    ACTIVE.recorder = recorder
    try:
        return (yield)
    finally:
        ACTIVE.recorder = None
        _CURRENT.reset(token)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = session.get(item.config)
    if state.value("autoseed"):
        reseed(state.seed)
    deterministic = state.value("deterministic")
    marker = item.get_closest_marker("model")
    if marker is not None and marker.kwargs.get("deterministic") is not None:
        deterministic = bool(marker.kwargs["deterministic"])
    if deterministic:
        stack = contextlib.ExitStack()
        stack.enter_context(torch_deterministic())
        item.stash[DETERMINISTIC_CTX] = stack


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
    recorder = item.stash.get(RECORDER, None) or Recorder(item.nodeid)
    report.mltk_results = transportable(recorder.take())  # what this phase recorded
    if call.excinfo is not None:
        report.mltk_message = first_line(call.excinfo)
    if call.when == "call":
        claimed = {i for m in item.iter_markers("mlscore") for i in m.args}
        if "champion" in getattr(item, "fixturenames", ()):  # reached the call: one exists
            claimed.add("infra-7")  # a registry champion, moved by promote and rollback
        report.mltk_evidence = sorted(recorder.evidence | claimed)
        _junit_properties(item, report, recorder)
    return report


def _junit_properties(item: pytest.Item, report: pytest.TestReport, recorder: Recorder) -> None:
    """What the test measured, as JUnit properties (like record_property: on the item,
    so that the teardown report, which JUnit XML reads, carries them)."""
    from mlops_testkit.reporting.results import counted
    from mlops_testkit.session import outcome_of

    outcome = outcome_of(report) or "passed"
    props = item.user_properties
    for result in counted(recorder.results, outcome):
        junit = renderer_for(result).junit
        if junit is not None:
            props.extend(
                safely(result, "make its JUnit properties", lambda r=result, j=junit: j(r), [])
            )
    if recorder.evidence and outcome == "passed":
        props.append(("mltk_score_items", ",".join(sorted(recorder.evidence))))


class _Collector:
    """Counts outcomes and results from every report, on the controller under xdist."""

    def __init__(self, state: MltkSession) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.collect(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(STASH, None)
    if state is None:
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is None:
        state.finish(session)
    else:
        workeroutput.update(state.worker_output())


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is not None:
        return
    state = config.stash.get(STASH, None)
    if state is None:
        return
    from mlops_testkit.reporting.summary import summary_lines

    lines = summary_lines(state)
    if not lines and state.value("seed") != RANDOM_SEED:
        return
    terminalreporter.write_sep("=", "mlops-testkit")
    seed_line = f"seed {state.seed}"
    if state.value("seed") == RANDOM_SEED:
        seed_line += f" (random); replay with --mltk-seed {state.seed}"
    terminalreporter.write_line(seed_line)
    for line in lines:
        terminalreporter.write_line(line)
