"""Regression tests for the wrong verdicts and raw errors the hostile-input tests found
(issue 13): each failed on the code before the fix."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

import mlops_testkit as mltk
from mlops_testkit import MltkUsageError

# --- data --------------------------------------------------------------------------------------


def test_leakage_compares_columns_whatever_their_names() -> None:
    train = pd.DataFrame([[0.1, "a"], [0.2, "b"]]).set_axis([None, 3], axis=1)
    test = pd.DataFrame([[0.1, "a"], [0.9, "c"]]).set_axis([None, 3], axis=1)
    report = mltk.leakage_report(train, test)
    assert report.leaked == 1 and len(report.on) == 2


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"on": []}, "on= is empty"),
        ({"on": ["a", "a"]}, "more than once"),
        ({"round": {"a": "x"}}, "round must be"),
        ({"max_examples": "x"}, "max_examples"),
    ],
)
def test_leakage_arguments_are_usage_errors(kwargs, says) -> None:
    train, test = pd.DataFrame({"a": [1.0, 2.0]}), pd.DataFrame({"a": [1.0]})
    with pytest.raises(MltkUsageError, match=says):
        mltk.leakage_report(train, test, **kwargs)


def test_drift_counts_unhashable_cells() -> None:
    ref = pd.DataFrame({"c": [[i % 3] for i in range(40)]})
    cur = pd.DataFrame({"c": [{"k": i % 3} for i in range(40)]})
    report = mltk.drift_report(ref, cur)
    assert not report.passed and report.rows[0].kind == "categorical"


def test_drift_refuses_a_column_of_infinities() -> None:
    ref = pd.DataFrame({"x": [math.inf] * 30})
    with pytest.raises(MltkUsageError, match="no value in reference"):
        mltk.drift_report(ref, ref.copy())


def test_drift_counts_infinities_as_missing() -> None:
    ref = pd.DataFrame({"x": np.linspace(0, 1, 200)})
    cur = ref.copy()
    cur.loc[::2, "x"] = math.inf
    report = mltk.drift_report(ref, cur)
    assert not report.passed and report.rows[0].missing_current == 0.5


@pytest.mark.parametrize("p_values", [["x"], None, [1.5]])
def test_adjust_p_values_refuses_what_is_not_a_p_value(p_values) -> None:
    with pytest.raises(MltkUsageError, match="adjust_p_values"):
        mltk.adjust_p_values(p_values)


def test_schema_on_an_empty_frame_does_not_pass() -> None:
    pa = pytest.importorskip("pandera.pandas")
    schema = pa.DataFrameSchema({"a": pa.Column(float)})
    report = mltk.schema_report(pd.DataFrame({"a": []}, dtype=float), schema)
    assert not report.passed and "0 rows" in report.rows[0]["failure case"]


def test_pii_scan_of_no_rows_does_not_pass() -> None:
    pii_report = getattr(mltk, "pii_report", None)
    if pii_report is None:
        pytest.skip("this version has no pii_report")
    report = pii_report(pd.DataFrame({"note": pd.Series([], dtype=object)}))
    assert not report.passed and "0 rows" in report.headline


# --- gates -------------------------------------------------------------------------------------


def test_slices_refuse_a_mask_that_is_not_1d() -> None:
    with pytest.raises(MltkUsageError, match="1-D array of booleans"):
        mltk.assert_slices([1, 0], [1, 0], {"all": True}, metric="accuracy", min=0.5, min_size=1)


def test_slices_gap_of_a_single_slice_judges_nothing() -> None:
    with pytest.raises(AssertionError, match="only one slice judged"):
        mltk.assert_slices([1, 0], [0, 0], ["s", "s"], metric="accuracy", max_gap=0.1, min_size=1)


def test_model_size_of_nothing_is_a_usage_error(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(MltkUsageError, match="holds no file"):
        mltk.assert_model_size(tmp_path / "empty", max_mb=1)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(MltkUsageError, match="not a regular file"):
        mltk.assert_model_size(fifo, max_mb=1)
    with pytest.raises(MltkUsageError, match="max_mb must be > 0"):
        mltk.assert_model_size(tmp_path, max_mb=-1)


def test_latency_and_memory_wrap_the_callers_exception() -> None:
    def boom(*args):
        raise RuntimeError("model down")

    with pytest.raises(MltkUsageError, match="predict raised RuntimeError"):
        mltk.assert_latency(boom, [1], p95_ms=10, repeats=5, rounds=1)
    with pytest.raises(MltkUsageError, match="fn raised RuntimeError"):
        mltk.assert_peak_memory(boom, max_mb=10)
    with pytest.raises(MltkUsageError, match="p95_ms must be > 0"):
        mltk.assert_latency(len, [1], p95_ms=-5)


def test_regression_refuses_a_seed_that_is_not_an_integer() -> None:
    with pytest.raises(MltkUsageError, match="seed must be an integer"):
        mltk.assert_no_regression(
            "auc", 0.8, 0.8, candidate_scores=[1.0, 0.0], baseline_scores=[1.0, 1.0], seed="x"
        )


# --- behavioral --------------------------------------------------------------------------------


def test_invariance_of_an_array_perturbed_into_text_is_a_usage_error() -> None:
    with pytest.raises(MltkUsageError, match="inputs must be"):
        mltk.invariant_report(lambda x: np.zeros(len(x)), np.zeros((3, 2)), lambda x: f"{x}!")


def test_mft_predicate_that_cannot_answer_is_a_usage_error() -> None:
    with pytest.raises(MltkUsageError, match="could not judge"):
        mltk.mft_report(lambda xs: np.zeros(len(xs)), ["a", "b"], expect=lambda p: 1 / 0)
    with pytest.raises(MltkUsageError, match="could not judge"):
        mltk.mft_report(lambda xs: np.zeros(len(xs)), ["a"], expect=lambda p: np.array([1, 1]))


# --- training ----------------------------------------------------------------------------------


def test_determinism_of_nan_proves_nothing() -> None:
    report = mltk.determinism_report(lambda: float("nan"))
    assert not report.passed and "NaN/inf" in report.rows[0]["difference"]
    with pytest.raises(MltkUsageError, match="atol must be"):
        mltk.determinism_report(lambda: 1.0, atol=-1)


def test_checkpoint_of_a_model_without_state_does_not_pass() -> None:
    torch = pytest.importorskip("torch")

    class NoState(torch.nn.Module):
        def forward(self, x):
            return x * 2

    report = mltk.checkpoint_report(NoState(), torch.ones(2, 3))
    assert not report.passed and "no state" in report.rows[0]["problem"]


def test_output_index_on_a_single_tensor_is_a_usage_error() -> None:
    torch = pytest.importorskip("torch")
    batch = (torch.randn(8, 4), torch.randint(0, 2, (8,)))
    with pytest.raises(MltkUsageError, match="returns one tensor"):
        mltk.loss_curve(
            torch.nn.Linear(4, 2), batch, torch.nn.functional.cross_entropy, steps=8, output=0
        )


# --- CLI ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", ["-5", "nan", "inf"])
def test_cli_timeout_must_be_a_positive_number(timeout) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_testkit", "aliases", "--model", "m", "--timeout", timeout],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "positive number of seconds" in proc.stderr
