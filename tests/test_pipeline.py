"""One result pipeline: a kind registered from outside the package shows everywhere; the
hook specs see every result; caught checks and xfail tests are not verdicts; a result
that cannot be rendered is a warning, never a broken run."""

from __future__ import annotations

import json

import pytest

import mlops_testkit

NEW_KIND = """
from dataclasses import dataclass, field

from mlops_testkit.reporting.results import CheckResult, Renderer, Section, record, register


@dataclass
class ThroughputResult(CheckResult):
    kind = "throughput"
    name: str
    rows_per_s: float
    minimum: float
    rows: list = field(default_factory=list)

    @property
    def passed(self):
        return self.rows_per_s >= self.minimum

    @property
    def headline(self):
        return f"{self.rows_per_s:.0f} rows/s (minimum {self.minimum:g})"

    def extra(self):
        return {"rows_per_s": self.rows_per_s}


register(
    Renderer(
        "throughput",
        summary=lambda results: [f"throughput: {r['name']} {r['rows_per_s']:.0f} rows/s" for r in results],
        junit=lambda r: [("mltk_throughput", str(r["rows_per_s"]))],
        sections=lambda results: [Section("Throughput", text="fast enough")],
    )
)


def assert_throughput(name, rows_per_s, minimum):
    result = record(ThroughputResult(name, rows_per_s, minimum))
    assert result.passed, result.headline
    return result
"""


def test_a_kind_registered_outside_the_package_shows_everywhere(pytester) -> None:
    pytester.makepyfile(throughput=NEW_KIND)
    pytester.makeconftest(
        "def pytest_mltk_result(config, result):\n"
        "    config._seen = getattr(config, '_seen', []) + [result['kind']]\n"
        "def pytest_mltk_summary(config, results):\n"
        "    return [f'observer saw: {sorted(set(getattr(config, \"_seen\", [])))}']\n"
    )
    pytester.makepyfile(
        test_it="from throughput import assert_throughput\n\n"
        "def test_fast():\n    assert_throughput('scoring', 5000.0, 1000)\n"
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--mltk-json",
        "out.json",
        "--mltk-report",
        "out.md",
        "--junitxml",
        "junit.xml",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["throughput: scoring 5000 rows/s", "observer saw: ['throughput']"]
    )
    data = json.loads((pytester.path / "out.json").read_text())
    assert [r["kind"] for r in data["results"]] == ["throughput"]
    assert data["throughput"][0]["rows_per_s"] == 5000.0
    assert "## Throughput" in (pytester.path / "out.md").read_text()
    assert 'name="mltk_throughput" value="5000.0"' in (pytester.path / "junit.xml").read_text()


def test_a_result_of_an_unknown_kind_uses_the_default_renderer(pytester) -> None:
    pytester.makepyfile(test_it="""
from dataclasses import dataclass, field
from mlops_testkit.reporting.results import CheckResult, record

@dataclass
class Odd(CheckResult):
    kind = "odd"
    name: str = "odd one"
    passed: bool = False
    rows: list = field(default_factory=list)

def test_odd():
    record(Odd())
    raise AssertionError("odd failed")
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["odd: 0 passed, 1 failed", "  test_odd odd one: odd odd one: FAILED"]
    )


def test_caught_checks_and_xfail_tests_are_not_verdicts(pytester) -> None:
    pytester.makepyfile(test_demo="""
import numpy as np
import pandas as pd
import pytest
from mlops_testkit import assert_metric, assert_no_drift

rng = np.random.default_rng(0)
ref = pd.DataFrame({"x": rng.normal(size=500)})

@pytest.mark.data
def test_drift_is_caught_when_it_happens():
    with pytest.raises(AssertionError):
        assert_no_drift(ref, ref + 3)

@pytest.mark.gate
def test_a_failing_gate_is_shown_to_fail():
    with pytest.raises(AssertionError):
        assert_metric("demo", 0.1, min=0.5)

@pytest.mark.xfail(reason="known bad")
@pytest.mark.gate
def test_expected_to_fail():
    assert_metric("xfail gate", 0.1, min=0.5)

@pytest.mark.gate
def test_real_gate():
    assert_metric("auc", 0.9, min=0.8)
""")
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--mltk-gate-report",
        "gates.json",
        "--mltk-json",
        "r.json",
    )
    result.assert_outcomes(passed=3, xfailed=1)
    summary = result.stdout.str().split("= mlops-testkit =")[-1]
    assert "drift" not in summary and "demo" not in summary and "xfail gate" not in summary
    assert "gates: 1 passed, 0 failed" in summary
    report = json.loads((pytester.path / "gates.json").read_text())
    assert [g["name"] for g in report["gates"]] == ["auc"]
    # the gate report accounts for every gate test: a caught gate is no evidence, an
    # xfail gate test proves nothing, so the report fails while pytest passes
    outcomes = {t["test_id"].rsplit("::", 1)[1]: t["outcome"] for t in report["gate_tests"]}
    assert outcomes == {
        "test_a_failing_gate_is_shown_to_fail": "no gate recorded",
        "test_expected_to_fail": "xfailed",
        "test_real_gate": "passed",
    }
    assert report["passed"] is False
    data = json.loads((pytester.path / "r.json").read_text())
    assert data["drift"] == [] and [r["name"] for r in data["results"]] == ["auc"]


def test_a_result_that_cannot_be_rendered_is_a_warning_and_the_verdict_stands(pytester) -> None:
    pytester.makepyfile(test_it="""
from dataclasses import dataclass, field
from mlops_testkit.reporting.results import CheckResult, Renderer, record, register

def broken(results):
    raise RuntimeError("renderer bug")

register(Renderer("fragile", summary=broken, junit=lambda r: 1 / 0))

@dataclass
class Fragile(CheckResult):
    kind = "fragile"
    name: str = "fragile"
    passed: bool = True
    rows: list = field(default_factory=list)

def test_fragile():
    record(Fragile())
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--junitxml", "j.xml")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*could not*fragile*renderer bug*the verdict stands*"])
    assert "INTERNALERROR" not in result.stdout.str()


def test_every_public_assert_has_a_report_twin() -> None:
    twins = {
        "assert_schema": "schema_report",
        "assert_no_drift": "drift_report",
        "assert_no_leakage": "leakage_report",
        "assert_overfits_batch": "overfit_batch",
        "assert_loss_decreases": "loss_curve",
        "assert_params_update": "params_update_report",
        "assert_finite": "nonfinite_report",
        "assert_output_shape": "output_shape_report",
        "assert_deterministic": "determinism_report",
        "assert_checkpoint_roundtrip": "checkpoint_report",
        "assert_devices_agree": "devices_agree_report",
        "assert_batch_invariant": "batch_invariance_report",
        "assert_mft": "mft_report",
        "assert_invariant": "invariant_report",
        "assert_directional": "directional_report",
        "assert_metric": "metric_report",
        "assert_no_regression": "regression_report",
        "assert_slices": "slices_report",
        "assert_latency": "latency_report",
        "assert_model_size": "model_size_report",
        "assert_peak_memory": "peak_memory_report",
        "assert_endpoint": "endpoint_report",
    }
    twins |= {
        "assert_fairness": "fairness_report",
        "assert_calibrated": "calibration_report",
        "assert_beats_baseline": "baseline_report",
        "assert_no_weak_slices": "find_weak_slices",
        "assert_model_fresh": "freshness_report",
        "assert_staleness_impact": "staleness_report",
        "assert_no_skew": "skew_report",
        "assert_no_target_leakage": "target_leakage_report",
        "assert_features_beneficial": "feature_importance_report",
        "assert_no_pii": "pii_report",
        "assert_dependencies_unchanged": "dependency_diff",
    }
    public = set(mlops_testkit.__all__)
    for name in sorted(n for n in public if n.startswith("assert_")):
        assert name in twins, f"{name}: add its report twin to this table"
        assert twins[name] in public, f"{name}'s report twin {twins[name]} is not public"
        assert callable(getattr(mlops_testkit, twins[name]))


def test_report_twins_of_gates_return_results_without_recording_or_raising() -> None:
    from mlops_testkit import metric_report, slices_report
    from mlops_testkit.gates.result import GateResult
    from mlops_testkit.reporting.results import _CURRENT, Recorder

    recorder = Recorder("t")
    token = _CURRENT.set(recorder)
    try:
        result = metric_report("auc", 0.5, min=0.8)
        slices = slices_report(
            [0, 1, 0, 1], [0, 1, 1, 1], ["a"] * 4, metric="accuracy", min=0.9, min_size=1
        )
    finally:
        _CURRENT.reset(token)
    assert isinstance(result, GateResult) and result.passed is False and result.value == 0.5
    assert slices.passed is False and recorder.results == []


@pytest.mark.parametrize("api", ["mlops_testkit", "mlops_testkit.data", "mlops_testkit.perturb"])
def test_the_public_api_still_imports(api: str) -> None:
    import importlib

    module = importlib.import_module(api)
    for name in getattr(module, "__all__", []):
        assert getattr(module, name) is not None, f"{api}.{name}"


def test_results_with_numpy_values_travel_to_the_xdist_controller(pytester) -> None:
    # string labels come back from numpy as numpy.str_, which execnet cannot send
    pytester.makepyfile(test_it="""
import numpy as np
from mlops_testkit import assert_mft

def predict(texts):
    return np.array(["pos" if "good" in t else "neg" for t in texts])

def test_labels():
    assert_mft(predict, [("good", "pos"), ("bad", "pos")], max_fail_rate=0.6)
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=1)
    assert "INTERNALERROR" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*test_labels MFT: 1/2 (50.0%, threshold 60.0%) ok"])
