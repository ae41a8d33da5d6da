"""The ML Test Score, the results JSON and the report: the rubric arithmetic, the evidence
helpers declare, the marker and ini key, and the files, as users run them."""

from __future__ import annotations

import json

import pytest

from mlops_testkit.reporting.score import (
    _EVIDENCE,
    BY_ID,
    RUBRIC,
    SECTIONS,
    compute,
    evidences,
    parse_manual,
)


def test_rubric_has_28_items_in_four_sections() -> None:
    assert len(RUBRIC) == 28 and len(BY_ID) == 28
    assert {s: sum(i.section == s for i in RUBRIC) for s in SECTIONS} == dict.fromkeys(SECTIONS, 7)


def test_score_arithmetic_and_bands() -> None:
    empty = compute({}, {})
    assert empty.final == 0 and empty.band.startswith("a research project")
    assert empty.weakest == "data" and empty.next_items()[0].section == "data"
    every = {i.id: ["t"] for i in RUBRIC}
    full = compute(every, {})
    assert full.sections == dict.fromkeys(SECTIONS, 7.0) and full.final == 7
    assert full.band.startswith("exceptional") and full.next_items() == []
    # automated counts 1, manual 0.5, the minimum over sections is the score
    evidence = {
        "data-1": ["t1"],
        "data-7": ["t2"],
        "model-6": ["t3"],
        "infra-1": ["t4"],
        "mon-5": ["t5"],
    }
    manual = {"data-6": "new features via the feature store", "model-1": "design review"}
    score = compute(evidence, manual)
    assert score.sections == {"data": 2.5, "model": 1.5, "infrastructure": 1.0, "monitoring": 1.0}
    assert score.final == 1.0 and score.band.startswith("not totally untested")
    assert compute({**evidence, "infra-2": ["t"], "mon-6": ["t"]}, manual).final == 1.5
    assert compute({**evidence, "infra-2": ["t"], "mon-6": ["t"]}, manual).band.startswith(
        "a first pass"
    )
    assert score.as_dict()["items"][0] == {
        "id": "data-1",
        "section": "data",
        "title": "Feature expectations are captured in a schema",
        "score": 1.0,
        "evidence": ["t1"],
        "manual": None,
    }


def test_helpers_record_evidence_only_when_they_pass() -> None:
    @evidences("model-6")
    def helper(ok: bool) -> str:
        if not ok:
            raise AssertionError("no")
        return "done"

    seen: set[str] = set()
    token = _EVIDENCE.set(seen)
    try:
        with pytest.raises(AssertionError):
            helper(False)
        assert seen == set()
        assert helper(True) == "done" and seen == {"model-6"}
    finally:
        _EVIDENCE.reset(token)
    assert helper(True) == "done"  # outside a test: nothing to record, no error
    with pytest.raises(ValueError, match="unknown ML Test Score item"):
        evidences("model-9")


def test_every_public_helper_declares_what_it_evidences() -> None:
    import mlops_testkit

    declared = {
        name: getattr(getattr(mlops_testkit, name), "mltk_evidences", None)
        for name in mlops_testkit.__all__
        if name.startswith("assert_")
    }
    undeclared = {n for n, items in declared.items() if items is None}
    # No rubric item is about split or target leakage, calibration, or devices agreeing
    # (mon-3, "training and serving features compute the same values", is assert_no_skew).
    no_item = {
        "assert_no_leakage",
        "assert_no_target_leakage",
        "assert_calibrated",
        "assert_devices_agree",
    }
    assert undeclared <= no_item, undeclared - no_item
    assert "assert_no_leakage" in undeclared and "assert_devices_agree" in undeclared


def test_manual_items_are_parsed_strictly() -> None:
    assert parse_manual(["model-1: reviewed in design docs", "", "mon-1 : dependabot"]) == {
        "model-1": "reviewed in design docs",
        "mon-1": "dependabot",
    }
    with pytest.raises(ValueError, match="needs a note"):
        parse_manual(["model-1"])
    with pytest.raises(ValueError, match="unknown ML Test Score item"):
        parse_manual(["model-8: nope"])


SUITE = """
import pytest
from mlops_testkit import assert_metric, assert_no_regression

@pytest.mark.gate
def test_bar():
    assert_metric("auc", 0.9, min=0.8)

@pytest.mark.gate
def test_regression_fails():
    assert_no_regression("auc", 0.5, 0.9)

@pytest.mark.mlscore("infra-3", "model-2")
def test_pipeline():
    pass

@pytest.mark.mlscore("model-4")
def test_claim_that_fails():
    assert False
"""


@pytest.mark.parametrize("workers", [None, "2"])
def test_score_json_and_report_from_a_run(pytester, workers) -> None:
    pytester.makepyfile(SUITE)
    pytester.makeini(
        "[pytest]\nmltk_manual_items =\n    model-1: design review\n    mon-1: dependabot\n"
    )
    args = ["--mltk-score", "--mltk-json=out/results.json", "--mltk-report=out/report.md"]
    result = pytester.runpytest_subprocess(*args, *(["-n", workers] if workers else []))
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "ML Test Score: 0 (a research project*); sections: data 0, model 1.5, infrastructure 2, monitoring 0.5 (of 7 each)",
            "weakest section: data; add next:",
            "  data-1 Feature expectations are captured in a schema: assert_schema on training data",
            "results: *results.json",
            "report: *report.md",
        ]
    )
    data = json.loads((pytester.path / "out" / "results.json").read_text())
    items = {i["id"]: i for i in data["score"]["items"]}
    assert items["infra-4"]["score"] == 1 and items["infra-4"]["evidence"] == [
        "test_score_json_and_report_from_a_run.py::test_bar"
    ]
    assert items["mon-7"]["score"] == 0  # its test failed: not evidence
    assert items["model-4"]["score"] == 0 and items["model-2"]["score"] == 1
    assert items["model-1"]["score"] == 0.5 and items["model-1"]["manual"] == "design review"
    assert data["tests"]["gate"]["counts"] == {"passed": 1, "failed": 1}
    assert [g["name"] for g in data["gates"]] == ["auc", "auc"]
    report = (pytester.path / "out" / "report.md").read_text()
    assert "## Gates: FAILED" in report and "## ML Test Score: 0" in report


def test_bad_mlscore_and_manual_items_are_usage_errors(pytester) -> None:
    pytester.makepyfile(
        "import pytest\n@pytest.mark.mlscore('model-99')\ndef test_x():\n    pass\n"
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown ML Test Score item(s) 'model-99'*"])
    pytester.makepyfile("def test_x():\n    pass\n")
    pytester.makeini("[pytest]\nmltk_manual_items = model-1\n")
    result = pytester.runpytest("--mltk-score")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini key mltk_manual_items: *needs a note*"])


def test_nothing_to_show_shows_nothing(pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest()
    result.stdout.no_fnmatch_line("*mlops-testkit ===*")
    result.stdout.no_fnmatch_line("*ML Test Score*")


def _data(with_score: bool = True) -> dict:
    from mlops_testkit.reporting.report import collect
    from mlops_testkit.reporting.results import histogram

    gate = {
        "name": "auc per region",
        "kind": "slices",
        "module": "mlops_testkit.gates.slices",
        "value": 0.7,
        "threshold": "each slice >= 0.65",
        "passed": True,
        "test_id": "t::slices",
        "details": {
            "metric": "roc_auc",
            "min": 0.65,
            "slices": [{"slice": "north", "roc_auc": 0.8}, {"slice": "south", "roc_auc": 0.7}],
        },
    }
    results = [
        {
            "kind": "drift",
            "module": "mlops_testkit.data.drift",  # recorded results name their module
            "drifted": ["income"],
            "columns": 3,
            "rows": [],
            "histograms": {"income": histogram([1, 2, 2, 3], [3, 4, 4, 5], bins=4)},
            "test_id": "t::drift",
        },
        {
            "kind": "behavioral",
            "module": "mlops_testkit.behavioral.harness",
            "test": "INV",
            "name": "names",
            "cases": 10,
            "failures": 1,
            "fail_rate": 0.1,
            "max_fail_rate": 0.05,
            "passed": False,
            "test_id": "t::inv",
        },
        {
            "kind": "loss_curve",
            "module": "mlops_testkit.training.fit",
            "losses": [1.0, 0.5, 0.1],
            "target": 0.2,
            "device": "cpu",
            "passed": True,
            "test_id": "t::overfit",
        },
    ]
    gates = {"gates": [gate], "passed": True, "git_sha": "abc", "created": "now", "model": None}
    outcomes = {"gate": {"t::slices": "passed"}}
    return collect(
        outcomes, gates, results, compute({"model-6": ["t::slices"]}, {}) if with_score else None
    )


def test_report_embeds_plots_and_falls_back_to_text(monkeypatch) -> None:
    pytest.importorskip("matplotlib")
    from mlops_testkit.reporting import report

    data = _data()
    md = report.markdown(data)
    for title in (
        "Drift of income",
        "Slices: auc per region",
        "Behavioral failure rates",
        "Loss curve: t::overfit (cpu)",
    ):
        assert f"## {title}" in md
    assert md.count('src="data:image/png;base64,') == 4 and "█" in md
    page = report.html_document(data)
    assert page.count("<img ") == 4 and "<h2>ML Test Score: 0</h2>" in page
    from mlops_testkit.reporting import plots

    monkeypatch.setattr(plots, "_matplotlib", lambda: None)  # no matplotlib: text bars
    md = report.markdown(data)
    assert "data:image" not in md and "threshold" in md and "█" in md
    page = report.html_document(_data(with_score=False))
    assert "<img" not in page and "<pre>" in page and "ML Test Score" not in page


def test_junit_gets_gates_and_evidence_as_properties(pytester) -> None:
    pytester.makepyfile(
        "from mlops_testkit import assert_metric\n"
        "def test_bar():\n    assert_metric('auc', 0.9, min=0.8)\n"
    )
    result = pytester.runpytest("--junitxml=junit.xml")
    result.assert_outcomes(passed=1)
    xml = (pytester.path / "junit.xml").read_text()
    assert '<property name="mltk_gate:auc" value="0.9 (&gt;= 0.8) pass"' in xml
    assert '<property name="mltk_score_items" value="infra-4"' in xml
