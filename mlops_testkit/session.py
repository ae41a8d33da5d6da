"""The run's state and end-of-run work: one :class:`MltkSession` per pytest run.

The plugin's hooks only wire; everything the run decides (seed, settings, the change
decision, the device probe) and collects (test outcomes, results, ML Test Score
evidence) lives here, in ``config.stash``. Under pytest-xdist the controller chooses the
seed and sends it to the workers, worker results come back on test reports and
through ``workeroutput``, and the summary, the reports and the gate verdict are made
once, on the controller (syrupy's SnapshotSession and pytest-xdist's DSession are the
models). Imports only the standard library and pytest at module level.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlops_testkit import MltkConfigWarning
from mlops_testkit.ci.changes import ChangeDecision, ChangeError, decide
from mlops_testkit.devices import DeviceStatus, probe
from mlops_testkit.gate_evidence import GateEvidence, TestTrack
from mlops_testkit.reporting.results import counted, is_gate, safely
from mlops_testkit.seeding import draw_seed
from mlops_testkit.settings import BY_NAME, RANDOM_SEED, SETTINGS, Resolved, resolve

CATEGORIES = ("data", "model", "behavioral", "gate")


def outcome_of(report: pytest.TestReport) -> str | None:
    """passed, failed, skipped, xfailed or xpassed; None for a passing setup/teardown."""
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.failed:
        return "failed"
    if report.skipped:
        return "skipped"
    return "passed" if report.when == "call" else None


@dataclass
class MltkSession:
    """Everything mlops-testkit decided and collected in this run."""

    config: pytest.Config
    settings: dict[str, Resolved]
    seed: int
    changes: ChangeDecision | None = None
    probed: dict[str, DeviceStatus] | None = None
    deselected: int = 0
    outcomes: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    results: list[dict[str, Any]] = field(default_factory=list)  # results that count
    evidence: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    worker_probes: dict[str, DeviceStatus] = field(default_factory=dict)
    registry: Any = None  # mlops_testkit.registry.tracking.Registry, made by the fixtures
    model_infos: list[dict[str, Any]] = field(default_factory=list)  # from xdist workers
    finish_notes: list[str] = field(default_factory=list)
    finish_errors: list[str] = field(default_factory=list)
    score: Any = None  # mlops_testkit.reporting.score.Score, made on the controller
    gate_report_path: str | None = None  # where the gate report was written
    tracks: dict[str, TestTrack] = field(default_factory=dict)  # tests whose reports came
    gate_evidence: GateEvidence = field(default_factory=GateEvidence)

    # --- settings ----------------------------------------------------------------------

    @classmethod
    def start(cls, config: pytest.Config) -> MltkSession:
        """Resolve every setting of the SETTINGS table, choose the seed, decide changes."""
        settings = {s.name: resolve(config, s.name) for s in SETTINGS}
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        if workerinput is not None and "mltk_seed" in workerinput:
            seed = int(workerinput["mltk_seed"])  # the controller chose it: every worker agrees
        elif settings["seed"].value == RANDOM_SEED:
            seed = draw_seed()
        else:
            seed = int(settings["seed"].value)
        session = cls(config, settings, seed)
        if "torch" in sys.modules:  # already paid for by the user's conftest: show what exists
            session.probe()
        if workerinput is not None and "mltk_changes" in workerinput:
            changes = workerinput["mltk_changes"]
            session.changes = ChangeDecision.from_dict(changes) if changes else None
        else:
            session.changes = session._decide_changes()
        return session

    def value(self, name: str) -> Any:
        return self.settings[name].value

    def where(self, name: str) -> str:
        """Which of flag, environment variable, ini key or default gave a setting."""
        return self.settings[name].describe(BY_NAME[name])

    @property
    def is_worker(self) -> bool:
        return getattr(self.config, "workerinput", None) is not None

    def _decide_changes(self) -> ChangeDecision | None:
        ref = self.value("changed_since")
        if ref is None:
            return None
        where = self.where("changed_since")
        globs = self.value("model_paths")
        if not globs:
            raise pytest.UsageError(
                f"mlops-testkit: {where}={ref} needs the globs of your model code: set the "
                "ini key mltk_model_paths (e.g. 'src/model/**'), --mltk-model-paths or "
                "MLTK_MODEL_PATHS"
            )
        try:
            decision = decide(
                ref, globs, Path(self.config.rootpath), data_globs=self.value("data_paths")
            )
        except ChangeError as exc:
            raise pytest.UsageError(f"mlops-testkit: {where}: {exc}") from None
        if decision.unmatched_globs:
            self.config.issue_config_time_warning(
                MltkConfigWarning(
                    f"mltk_model_paths: {', '.join(repr(g) for g in decision.unmatched_globs)} "
                    f"match(es) no file under {self.config.rootpath}; a change there can never "
                    "select the model tests"
                ),
                stacklevel=2,
            )
        if decision.data_unmatched_globs:
            self.config.issue_config_time_warning(
                MltkConfigWarning(
                    "mltk_data_paths: "
                    f"{', '.join(repr(g) for g in decision.data_unmatched_globs)} match(es) "
                    f"no file or DVC output under {self.config.rootpath}; a change there can "
                    "never select the tests tied to data"
                ),
                stacklevel=2,
            )
        return decision

    def probe(self) -> dict[str, DeviceStatus]:
        if self.probed is None:
            self.probed = probe()
        return self.probed

    # --- collecting --------------------------------------------------------------------

    def collect(self, report: pytest.TestReport) -> None:
        """Count one report (on the controller under xdist, where worker reports arrive
        with their ``mltk_*`` attributes)."""
        track = self.tracks.setdefault(report.nodeid, TestTrack(report.nodeid))
        track.add(report)
        if track.done:
            self._finish_test(track)
        outcome = outcome_of(report)
        if outcome is None:
            return
        if report.when == "call" and outcome == "passed":
            for item_id in getattr(report, "mltk_evidence", None) or []:
                self.evidence[item_id].append(report.nodeid)
        shown = {"xfailed": "skipped", "xpassed": "passed"}.get(outcome, outcome)
        categories = getattr(report, "mltk_categories", None) or []
        device = getattr(report, "mltk_device", None)
        for key in [*categories, *([f"device:{device}"] if device else [])]:
            if self.outcomes[key].get(report.nodeid) != "failed":
                self.outcomes[key][report.nodeid] = shown

    def _finish_test(self, track: TestTrack) -> None:
        """The test's results that count, once its last phase has reported."""
        for result in counted(track.results, track.outcome):
            self.results.append(result)
            self.config.hook.pytest_mltk_result(config=self.config, result=result)
        track.results = []

    def gate_entries(self) -> list[dict[str, Any]]:
        """Every gate test with its outcome, once every test has reported (a test that
        never finished, e.g. its worker died, is finished with what arrived)."""
        for track in self.tracks.values():
            if not track.done:
                track.done = True
                self._finish_test(track)
        return self.gate_evidence.entries(self.tracks, self.gates)

    @property
    def gates(self) -> list[dict[str, Any]]:
        """The gate results among the results that count."""
        return [
            r
            for r in self.results
            if safely(r, "tell whether it is a gate", lambda r=r: is_gate(r), False)
        ]

    def worker_output(self) -> dict[str, Any]:
        """What a worker sends back to the controller at the end."""
        out: dict[str, Any] = {"mltk_deselected": self.deselected}
        out.update(self.gate_evidence.to_worker())
        if self.registry is not None and self.registry.info() is not None:
            out["mltk_model"] = self.registry.info()
        if self.probed is not None:
            out["mltk_probed"] = {n: [s.available, s.detail] for n, s in self.probed.items()}
        return out

    def from_worker(
        self, output: dict[str, Any], worker: str = "a worker", error: Any = None
    ) -> None:
        """Take what one worker learnt (deselections, device probes, the model, its gate
        tests). A worker that went down with an error, or without its output, leaves the
        gate report unable to account for every gate test: that is a problem it shows."""
        self.gate_evidence.from_worker(output, worker, error)
        self.deselected = max(self.deselected, int(output.get("mltk_deselected", 0)))
        for name, (available, detail) in (output.get("mltk_probed") or {}).items():
            self.worker_probes[name] = DeviceStatus(name, bool(available), str(detail))
        if output.get("mltk_model"):
            self.model_infos.append(dict(output["mltk_model"]))

    def model_info(self) -> dict[str, Any] | None:
        """The model version the gates evaluated, agreed by every worker (or None)."""
        infos = list(self.model_infos)
        if self.registry is not None and self.registry.info() is not None:
            infos.append(self.registry.info())
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

    # --- the end of the run (controller only) ---------------------------------------------

    def finish(self, session: pytest.Session) -> None:
        """The gate report, the JSON and Markdown/HTML reports, MLflow logging. A failure
        here is reported and fails the run; it never becomes an INTERNALERROR."""
        wants_report = self.value("gate_report") is not None
        wants_log = bool(self.value("mlflow_log"))
        json_path, doc_path = self.value("json"), self.value("report")
        if not (wants_report or wants_log or json_path or doc_path or self.value("score")):
            return
        from mlops_testkit.gate_report import build_report, write_report
        from mlops_testkit.reporting.score import compute, parse_manual

        self.score = compute(self.evidence, parse_manual(self.value("manual_items") or ()))
        from mlops_testkit.gate_report import gate_key

        report = build_report(
            self.gates,
            gate_tests=self.gate_entries(),
            problems=self.gate_evidence.report_problems(),
            git_sha=(_git(self.config, "rev-parse", "HEAD") or "").strip() or None,
            git_dirty=_dirty(self.config),
            model=self.model_info(),
            invocation=[str(a) for a in self.config.invocation_params.args],
            key=gate_key(),
        )
        if json_path or doc_path:
            from mlops_testkit.reporting import report as documents

            data = documents.collect(self.outcomes, report, self.results, self.score)
            extra = self.config.hook.pytest_mltk_report_sections(
                config=self.config, results=list(self.results)
            )
            for path, write, what in (
                (json_path, documents.write_json, "results"),
                (doc_path, documents.write_report, "report"),
            ):
                if path:
                    try:
                        kwargs = (
                            {"extra": [s for part in extra for s in part]}
                            if what == "report"
                            else {}
                        )
                        written = write(self.out_path(path), data, **kwargs)
                        self.finish_notes.append(f"{what}: {written}")
                    except OSError as exc:
                        self.finish_errors.append(f"could not write {path}: {exc}")
        if wants_report:
            try:
                self.gate_report_path = str(
                    write_report(self.out_path(self.value("gate_report")), report)
                )
            except OSError as exc:
                self.finish_errors.append(f"could not write the gate report: {exc}")
        if wants_log:
            self._log_to_mlflow(report)
        if self.finish_errors and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _log_to_mlflow(self, report: dict[str, Any]) -> None:
        from mlops_testkit import MissingExtraError
        from mlops_testkit.registry.tracking import TrackingError, backend_error, log_results

        counts = {
            c: dict(Counter(self.outcomes.get(c, {}).values()))
            for c in CATEGORIES
            if self.outcomes.get(c)
        }
        model = report.get("model") or {}
        try:
            run_id = log_results(report, counts, run_id=model.get("run_id"))
            self.finish_notes.append(f"gate results logged to MLflow run {run_id}")
        except (TrackingError, MissingExtraError) as exc:
            self.finish_errors.append(f"--mltk-mlflow-log: {exc}")
        except Exception as exc:
            if not backend_error(exc):
                raise
            self.finish_errors.append(f"--mltk-mlflow-log: MLflow error: {exc}")

    def out_path(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else Path(self.config.invocation_params.dir) / path


def _git(config: pytest.Config, *args: str) -> str | None:
    """``git ARGS`` in the rootdir: its output, or None outside a repository."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", *args],
            cwd=config.rootpath,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _dirty(config: pytest.Config) -> list[str] | None:
    """The paths that differ from HEAD (tracked changes and untracked files), or None
    outside a repository. NUL-separated: any file name survives."""
    out = _git(config, "status", "--porcelain=v1", "-z", "--untracked-files=normal")
    if out is None:
        return None
    paths, entries = [], out.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        if len(entry) > 3:
            paths.append(entry[3:])
            if entry[0] in "RC":  # a rename's source follows as its own entry
                i += 1
        i += 1
    return sorted(paths)


STASH = pytest.StashKey[MltkSession]()


def get(config: pytest.Config) -> MltkSession:
    return config.stash[STASH]
