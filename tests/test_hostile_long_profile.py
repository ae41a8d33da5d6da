"""Inputs that the long contract profile (``make test-hostile``) found, pinned here so that
``make test`` checks them on every run: each one gave a raw error or a pass on
evidence that proves nothing before it was fixed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import mlops_testkit as mltk
from mlops_testkit import MltkUsageError

torch = pytest.importorskip("torch")


class Pair(torch.nn.Module):
    """Returns a tuple: a scalar side output survives a batch of 0 rows."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.lin(x), {"aux": x.sum()}


@pytest.mark.parametrize(
    "batch",
    [torch.zeros(0, 4), torch.full((8, 4), math.nan), torch.full((8, 4), math.inf)],
    ids=["0 rows", "all NaN", "all inf"],
)
def test_output_shape_on_a_batch_that_proves_nothing_fails(batch) -> None:
    report = mltk.output_shape_report(torch.nn.Linear(4, 2), batch, (None, 2))
    assert not report.passed
    assert "prove nothing" in report.headline
    with pytest.raises(AssertionError, match="prove nothing"):
        mltk.assert_output_shape(torch.nn.Linear(4, 2), batch, (None, 2))


def test_output_shape_still_passes_real_inputs_with_some_missing_values() -> None:
    x = torch.randn(8, 4)
    x[0, 0] = math.nan  # partly missing inputs are the model's business
    assert mltk.output_shape_report(torch.nn.Linear(4, 2), x, (8, 2)).passed
    assert mltk.output_shape_report(torch.nn.Linear(4, 2), torch.randn(8, 4), (8, 2)).passed


def test_checkpoint_of_a_tuple_model_on_an_empty_batch_fails(tmp_path) -> None:
    report = mltk.checkpoint_report(Pair(), torch.zeros(0, 4), tmp_path=tmp_path)
    assert not report.passed
    assert any("0 rows" in r["problem"] for r in report.rows)
    assert mltk.checkpoint_report(Pair(), torch.randn(3, 4), tmp_path=tmp_path).passed


@pytest.mark.parametrize("value", [3, "layer.*", [1], None.__class__])
def test_params_update_names_must_be_strings(value) -> None:
    batch = (torch.randn(8, 4), torch.randint(0, 2, (8,)))
    ce = torch.nn.functional.cross_entropy
    with pytest.raises(MltkUsageError, match="expect_trainable"):
        mltk.params_update_report(torch.nn.Linear(4, 2), batch, ce, expect_trainable=value)
    with pytest.raises(MltkUsageError, match="ignore"):
        mltk.params_update_report(torch.nn.Linear(4, 2), batch, ce, ignore=value)


def test_params_update_checks_its_names_before_running_the_loss() -> None:
    frozen = torch.nn.Linear(4, 2).requires_grad_(False)
    batch = (torch.randn(8, 4), torch.randint(0, 2, (8,)))
    with pytest.raises(MltkUsageError, match="expect_trainable"):
        mltk.params_update_report(frozen, batch, lambda o, y: 1 / 0, expect_trainable=3)


def test_leakage_compares_text_that_is_not_valid_unicode() -> None:
    train = pd.DataFrame({"x": pd.Series(["\ud800", "b", None], dtype=object), "y": [1, 2, 3]})
    test = pd.DataFrame({"x": pd.Series(["\ud800", "c", math.nan], dtype=object), "y": [1, 2, 3]})
    report = mltk.leakage_report(train, test)
    assert report.leaked == 2  # the surrogate row, and the missing-equals-missing row
    assert not report.passed
    clean = pd.DataFrame({"x": pd.Series(["\udfff", "d", "e"], dtype=object), "y": [1, 2, 3]})
    assert mltk.leakage_report(train, clean).leaked == 0


@pytest.mark.parametrize("decimals", [-1, {"x": -2}])
def test_leakage_round_must_be_decimals(decimals) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(MltkUsageError, match=">= 0"):
        mltk.leakage_report(frame, frame, round=decimals)


def test_drift_counts_a_nullable_boolean_na_as_missing() -> None:
    ref = pd.DataFrame({"a": pd.array([pd.NA] * 3 + [True, False] * 15, dtype="boolean")})
    row = mltk.drift_report(ref, ref.copy()).rows[0]
    assert row.missing_reference == pytest.approx(3 / 33)


def test_drift_of_one_missing_value_against_one_na_is_not_judged() -> None:
    ref = pd.DataFrame({"a": pd.array([pd.NA], dtype="boolean")})
    cur = pd.DataFrame({"a": np.array([np.nan])})
    with pytest.raises(MltkUsageError, match="no value in reference"):
        mltk.drift_report(ref, cur)
    ref = pd.DataFrame({"a": pd.array([True, False], dtype="boolean")})
    report = mltk.drift_report(ref, cur)
    assert not report.passed
    assert not report.rows[0].applicable


def test_drift_of_a_column_missing_in_all_of_a_real_current_sample_is_drift() -> None:
    ref = pd.DataFrame({"a": ["x", "y"] * 10})
    cur = pd.DataFrame({"a": pd.Series([None] * 20, dtype=object)})
    report = mltk.drift_report(ref, cur)
    assert not report.passed
    assert report.rows[0].drifted


def test_nan_column_names_repeated_are_refused() -> None:
    frame = pd.DataFrame([[1, 2, 3]], columns=[math.nan, math.nan, 0.0])
    with pytest.raises(MltkUsageError, match="duplicate column names"):
        mltk.pii_report(frame)
    with pytest.raises(MltkUsageError, match="duplicate column names"):
        mltk.drift_report(frame, frame)
