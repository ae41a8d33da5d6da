"""assert_batch_invariant catches predictions that depend on the batch (issue 23): a
serving loader that forgot .eval() (BatchNorm, dropout), per-batch feature scaling, and
passes the clean counterparts; hostile inputs get the kit's own errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pd = pytest.importorskip("pandas")

from mlops_testkit import MltkUsageError, assert_batch_invariant, batch_invariance_report


def _net(dropout: float = 0.0) -> torch.nn.Module:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 16),
        torch.nn.BatchNorm1d(16),
        torch.nn.ReLU(),
        torch.nn.Dropout(dropout),
        torch.nn.Linear(16, 1),
    )
    with torch.no_grad():  # trained running statistics, unlike a fresh batch's
        net[1].running_mean.fill_(0.3)
        net[1].running_var.fill_(2.0)
    return net


X = torch.randn(100, 6, generator=torch.Generator().manual_seed(1))


def test_a_module_left_in_training_mode_fails_naming_the_cause() -> None:
    net = _net()  # rebuilt from its state dict, .eval() forgotten
    with pytest.raises(AssertionError) as failed:
        assert_batch_invariant(net, X)
    text = str(failed.value)
    assert "depend on the batch" in text and "training mode" in text and ".eval()" in text
    report = batch_invariance_report(net, X)
    one = [r for r in report.rows if r["batching"] == "batch size 1"]
    assert one and "predict raised ValueError" in one[0]["difference"]  # a 1-row batch crashes
    assert one[0]["rows"] == "rows 0-0"
    seven = [r for r in report.rows if r["batching"] == "batch size 7"]
    assert seven and "max abs diff" in seven[0]["difference"]


def test_the_same_module_in_eval_mode_passes() -> None:
    net = _net(dropout=0.5).eval()
    report = assert_batch_invariant(net, X)
    assert report.passed and report.batch_sizes == [1, 7, 64] and report.shuffled


def test_dropout_left_on_in_a_predict_function_fails() -> None:
    net = _net(dropout=0.5).eval()
    net[3].train()  # only dropout on: every batch draws other units

    def predict(x):
        with torch.no_grad():
            return net(x)

    report = batch_invariance_report(predict, X, batch_sizes=(10,))
    assert not report.passed and not report.training_mode  # a function, not the module


def test_per_batch_feature_scaling_fails_and_global_scaling_passes() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(5, 2, size=(50, 3)), columns=["a", "b", "c"])
    weights = np.array([0.5, -1.0, 2.0])
    mean, std = frame.mean().to_numpy(), frame.std().to_numpy()

    def per_batch(batch):
        return ((batch - batch.mean()) / batch.std(ddof=0)).fillna(0).to_numpy() @ weights

    def global_scaling(batch):
        return ((batch.to_numpy() - mean) / std) @ weights

    with pytest.raises(AssertionError, match="batch size 1"):
        assert_batch_invariant(per_batch, frame)
    assert assert_batch_invariant(global_scaling, frame).passed


def test_texts_dicts_and_label_outputs() -> None:
    texts = [f"review number {i} " + "good " * (i % 5) for i in range(40)]

    def labels(batch):
        return np.array(["pos" if t.count("good") > 2 else "neg" for t in batch])

    def relative_length(batch):  # normalised by the batch's longest text
        lengths = np.array([len(t) for t in batch], dtype=float)
        return lengths / lengths.max()

    assert assert_batch_invariant(labels, texts).passed
    report = batch_invariance_report(relative_length, texts)
    assert not report.passed and report.rows[0]["batching"] == "batch size 1"
    inputs = {"ids": np.arange(30), "mask": np.ones((30, 4))}
    assert assert_batch_invariant(lambda d: d["ids"] * d["mask"].sum(axis=1), inputs).passed


def test_nan_predictions_fail_and_do_not_prove_invariance() -> None:
    report = batch_invariance_report(lambda x: np.full(len(x), np.nan), np.zeros((10, 2)))
    assert not report.passed and "NaN" in report.rows[0]["difference"]


@pytest.mark.parametrize(
    "call, needle",
    [
        (lambda: batch_invariance_report(lambda x: x, np.zeros((0, 2))), "0 row"),
        (lambda: batch_invariance_report(lambda x: x, np.zeros((1, 2))), "1 row"),
        (lambda: batch_invariance_report(lambda x: x, "text"), "X must be"),
        (lambda: batch_invariance_report(lambda x: x, np.float64(3.0)), "X must be"),
        (lambda: batch_invariance_report("not callable", np.zeros((4, 2))), "predict must"),
        (
            lambda: batch_invariance_report(lambda x: x, np.zeros((4, 2)), batch_sizes=0),
            "batch_sizes",
        ),
        (
            lambda: batch_invariance_report(lambda x: x, np.zeros((4, 2)), batch_sizes=[0]),
            "batch_sizes",
        ),
        (
            lambda: batch_invariance_report(lambda x: x, np.zeros((4, 2)), batch_sizes=[True]),
            "batch_sizes",
        ),
        (
            lambda: batch_invariance_report(lambda x: x, np.zeros((4, 2)), atol=float("inf")),
            "atol",
        ),
        (lambda: batch_invariance_report(lambda x: x, np.zeros((4, 2)), rtol=-1), "rtol"),
        (lambda: batch_invariance_report(lambda x: x, np.zeros((4, 2)), seed=-1), "seed"),
        (
            lambda: batch_invariance_report(lambda x: x, np.zeros((4, 2)), shuffle="false"),
            "shuffle",
        ),
        (
            lambda: batch_invariance_report(lambda x: x[:1], np.zeros((4, 2))),
            "one prediction per row",
        ),
        (lambda: batch_invariance_report(lambda x: (x, x), np.zeros((4, 2))), "returned a tuple"),
        (
            lambda: batch_invariance_report(lambda x: x, {"a": np.zeros(3), "b": np.zeros(4)}),
            "different lengths",
        ),
        (
            lambda: batch_invariance_report(
                lambda x: x, np.zeros((4, 2)), batch_sizes=[8], shuffle=False
            ),
            "nothing would be compared",
        ),
    ],
)
def test_hostile_inputs_are_usage_errors(call, needle) -> None:
    with pytest.raises(MltkUsageError, match=needle):
        call()


def test_predict_raising_on_the_whole_batch_fails_naming_it() -> None:
    def broken(x):
        raise KeyError("vocab")

    report = batch_invariance_report(broken, np.zeros((5, 2)))
    assert not report.passed and report.rows[0]["batching"] == "whole"
    assert "KeyError" in report.rows[0]["difference"]


def test_the_result_is_recorded_and_rendered(pytester) -> None:
    pytester.makepyfile("""
        import numpy as np
        from mlops_testkit import assert_batch_invariant

        def test_scaling():
            assert_batch_invariant(lambda b: b / b.max(), np.arange(1.0, 21.0))
        """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mltk-json", "r.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["batch_invariance: 0 passed, 1 failed", "*test_scaling*"])
