"""Hostile arrays, predict functions and tiny torch models against the gates, the
behavioral checks and the training checks: a result, a failure or MltkUsageError, and
never a pass on degenerate evidence (see tests/hostile.py)."""

from __future__ import annotations

import math
import os

import pytest

pytest.importorskip("hypothesis")
np = pytest.importorskip("numpy")

pytestmark = pytest.mark.hostile  # make test-hostile runs these with more examples

from hostile import check, examples, helper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BOUNDED = settings(
    max_examples=examples(40, hostile=200),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
NASTY = [float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1.5, 1e308]

# --- hostile arrays ----------------------------------------------------------------------------


@st.composite
def arrays(draw, n=None, kinds=("labels", "scores", "nasty", "proba", "strings", "objects")):
    n = draw(st.sampled_from([0, 1, 2, 3, 40])) if n is None else n
    kind = draw(st.sampled_from(kinds))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    if kind == "labels":
        return rng.integers(0, 2, size=n)
    if kind == "scores":
        return rng.random(n)
    if kind == "nasty":
        values = rng.random(n)
        for i in range(n):
            if draw(st.booleans()):
                values[i] = draw(st.sampled_from(NASTY))
        return values
    if kind == "proba":
        p = rng.random((n, draw(st.sampled_from([1, 2, 3]))))
        return p / p.sum(axis=1, keepdims=True)
    if kind == "strings":
        return np.array([["a", "b", ""][i % 3] for i in range(n)], dtype=object)
    return [[None, 1, "x", float("nan"), (1,)][i % 5] for i in range(n)]


def _nonfinite(*values) -> bool:
    for v in values:
        try:
            a = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            continue
        if a.size and not np.isfinite(a).all():
            return True
    return False


# --- gates -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*NASTY, "0.9", None, np.float32(0.9), np.array([0.9]), True])
@pytest.mark.parametrize("bars", [{"min": 0.5}, {"max": float("nan")}, {}, {"min": "x"}])
def test_metric_gate(value, bars) -> None:
    degenerate = _nonfinite(value) or value is None or isinstance(value, str)
    check("metric", helper("assert_metric"), "auc", value, degenerate=degenerate, **bars)


@pytest.mark.parametrize(
    ("candidate", "baseline", "kwargs"),
    [
        (float("nan"), 0.8, {}),
        (0.8, float("nan"), {}),
        (0.8, 0.8, {"tolerance": -1}),
        (0.8, 0.8, {"tolerance": float("inf")}),
        (0.8, 0.8, {"confidence": 1.5}),
        (0.8, 0.8, {"confidence": float("nan")}),
        (0.8, 0.8, {"n_boot": 0, "candidate_scores": [1, 0], "baseline_scores": [1, 1]}),
        (0.8, 0.8, {"candidate_scores": [1.0], "baseline_scores": [1.0]}),
        (0.8, 0.8, {"candidate_scores": [1.0, float("nan")], "baseline_scores": [1.0, 1.0]}),
        (0.8, 0.8, {"candidate_scores": [[1.0, 0.0]], "baseline_scores": [[1.0, 1.0]]}),
        (0.8, 0.8, {"candidate_scores": ["a", "b"], "baseline_scores": [1.0, 1.0]}),
        (0.8, 0.8, {"candidate_scores": [1.0, 0.0]}),
        (0.8, 0.8, {"seed": "x", "candidate_scores": [1.0, 0.0], "baseline_scores": [1, 1]}),
        (np.float64(0.8), np.float32(0.7), {}),
        ("0.8", 0.7, {}),
    ],
)
def test_regression_gate(candidate, baseline, kwargs) -> None:
    degenerate = _nonfinite(candidate, baseline)
    check(
        "regression",
        helper("assert_no_regression"),
        "auc",
        candidate,
        baseline,
        degenerate=degenerate,
        **kwargs,
    )


@BOUNDED
@given(
    arrays(n=40),
    arrays(n=40),
    st.one_of(
        st.just(["a", "b"] * 20),
        st.just([None, "a"] * 20),
        st.just([float("nan")] * 40),
        st.just({"all": np.ones(40, bool)}),
        st.just({"none": np.zeros(40, bool)}),
        st.just({"bad": True}),
        st.just({"short": np.ones(3, bool)}),
        st.just([[1, 2]] * 40),
        st.just(np.array([1, 2, 3])),
        st.just({}),
    ),
    st.sampled_from(["accuracy", "roc_auc", "mae", "f1", "precision", "nope"]),
    st.sampled_from([1, 30, 41, 0, -1]),
)
def test_slices_gate(y, pred, segments, metric, min_size) -> None:
    degenerate = _nonfinite(y, pred) or min_size > 40
    if isinstance(segments, dict) and "none" in segments:
        degenerate = True
    check(
        "slices",
        helper("assert_slices"),
        y,
        pred,
        segments,
        metric=metric,
        min=0.0,
        min_size=min_size,
        degenerate=degenerate,
    )


@BOUNDED
@given(arrays(), arrays(), st.sampled_from([None, 0.1, float("nan"), -1]))
def test_slices_gate_with_any_shapes(y, pred, max_gap) -> None:
    check(
        "slices-shapes",
        helper("assert_slices"),
        y,
        pred,
        ["s"] * len(y),
        metric="accuracy",
        max_gap=max_gap,
        min_size=1,
        degenerate=_nonfinite(y, pred) or len(y) == 0,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"p50_ms": float("nan")},
        {"p95_ms": -5},
        {"p50_ms": 1e9, "repeats": 0},
        {"p50_ms": 1e9, "rounds": -1},
        {"p50_ms": 1e9, "warmup": "x"},
        {},
        {"p95_ms": np.float64(1e9), "repeats": 5, "rounds": 1, "warmup": 0},
    ],
)
def test_latency_gate(kwargs) -> None:
    check("latency", helper("assert_latency"), lambda b: b, [1, 2], **kwargs)


def test_latency_gate_with_a_failing_predict() -> None:
    def boom(batch):
        raise RuntimeError("model exploded")

    check("latency", helper("assert_latency"), boom, [1], p95_ms=1e9, repeats=5, rounds=1)
    check("latency", helper("assert_latency"), "not callable", [1], p95_ms=1e9)


def test_model_size_gate(tmp_path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "empty").mkdir()
    (tmp_path / "model.bin").write_bytes(b"x" * 1000)
    cases = [
        (tmp_path / "missing", {"max_mb": 1}, False),
        (tmp_path / "empty", {"max_mb": 1}, True),
        (fifo, {"max_mb": 1}, True),
        (tmp_path / "model.bin", {"max_mb": float("nan")}, False),
        (tmp_path / "model.bin", {"max_mb": -1}, False),
        (tmp_path / "model.bin", {"max_mb": 0}, False),
        (tmp_path / "model.bin", {"max_params": 10}, True),
        (tmp_path / "model.bin", {}, False),
        (object(), {"max_mb": 1}, True),
        (None, {"max_mb": 1}, True),
        (str(tmp_path / "model.bin"), {"max_mb": np.float64(1)}, False),
    ]
    for target, kwargs, degenerate in cases:
        check("size", helper("assert_model_size"), target, degenerate=degenerate, **kwargs)


@pytest.mark.parametrize(
    ("fn", "max_mb"),
    [
        (lambda: None, float("nan")),
        (lambda: None, -1),
        (lambda: None, "x"),
        ("not callable", 1),
        (lambda: 1 / 0, 100),
        (lambda: None, np.float64(100)),
    ],
)
def test_peak_memory_gate(fn, max_mb) -> None:
    check("memory", helper("assert_peak_memory"), fn, max_mb=max_mb)


@pytest.mark.parametrize(
    ("url", "payload", "kwargs"),
    [
        ("not a url", {}, {"p95_ms": 10}),
        (
            "http://127.0.0.1:9/",
            {"x": np.arange(3)},
            {"p95_ms": 10, "requests": 1, "timeout_s": 0.2, "max_seconds": 1},
        ),
        ("http://127.0.0.1:9/", {"x": object()}, {"p95_ms": 10, "requests": 1}),
        ("http://127.0.0.1:9/", {}, {"p95_ms": float("nan")}),
        ("http://127.0.0.1:9/", {}, {"p95_ms": 10, "requests": 0}),
        ("http://127.0.0.1:9/", {}, {"p95_ms": 10, "concurrency": -1}),
        ("http://127.0.0.1:9/", {}, {}),
    ],
)
def test_endpoint_gate(url, payload, kwargs) -> None:
    check("endpoint", helper("assert_endpoint"), url, payload, degenerate=True, **kwargs)


# --- the newer gates, where this version has them ----------------------------------------------


@BOUNDED
@given(arrays(n=40, kinds=("labels", "nasty", "scores", "proba")), arrays(n=40))
def test_newer_gates(pred, y) -> None:
    groups = ["a", "b", None, "a"] * 10
    degenerate = _nonfinite(pred, y)
    for fn in (helper("fairness_report"), helper("assert_fairness")):
        check(
            "fairness",
            fn,
            y,
            pred,
            groups,
            max_gap=0.5,
            min_group_size=5,
            n_boot=200,
            degenerate=degenerate,
        )
    for fn in (helper("calibration_report"), helper("assert_calibrated")):
        check("calibration", fn, y, pred, n_boot=200, degenerate=degenerate)
    for fn in (helper("baseline_report"), helper("assert_beats_baseline")):
        check("baseline", fn, y, pred, metric="accuracy", n_boot=200, degenerate=degenerate)


# --- behavioral --------------------------------------------------------------------------------


def _predictors():
    return {
        "ok": lambda xs: np.array([len(str(x)) % 2 for x in xs]),
        "nan": lambda xs: np.full(len(xs), np.nan),
        "inf-proba": lambda xs: np.tile([np.inf, 0.0], (len(xs), 1)),
        "short": lambda xs: np.zeros(max(0, len(xs) - 1)),
        "scalar": lambda xs: 1.0,
        "3d": lambda xs: np.zeros((len(xs), 2, 2)),
        "strings": lambda xs: ["pos"] * len(xs),
        "none": lambda xs: None,
        "raises": lambda xs: (_ for _ in ()).throw(RuntimeError("model down")),
        "dict": lambda xs: {"label": [1] * len(xs)},
        "not callable": "predict",
    }


def _perturbations():
    from mlops_testkit import perturb

    typos = perturb.typos() if hasattr(perturb, "typos") else (lambda x: x + "!")
    return {
        "identity": lambda x: x,
        "none": lambda x: None,
        "empty": lambda x: [],
        "raises": lambda x: 1 / 0,
        "typos": typos,
        "bang": lambda x: f"{x}!",
        "not callable": 3,
    }


INPUTS = {
    "texts": ["good movie", "bad movie", "fine"],
    "empty": [],
    "one": [""],
    "array": np.zeros((3, 2)),
    "string": "just one text",
    "none": None,
    "nan-texts": [float("nan"), None, "x"],
}


@BOUNDED
@given(
    st.sampled_from(sorted(_predictors())),
    st.sampled_from(sorted(_perturbations())),
    st.sampled_from(sorted(INPUTS)),
    st.sampled_from([None, 0.95, 1.5, float("nan")]),
    st.sampled_from([0.0, 0.5, -1, float("nan")]),
)
def test_invariance_and_directional(predictor, perturbation, inputs, confidence, rate) -> None:
    predict = _predictors()[predictor]
    perturb = _perturbations()[perturbation]
    xs = INPUTS[inputs]
    degenerate = (
        predictor in ("nan", "inf-proba")
        or perturbation in ("identity", "none", "empty")
        or inputs in ("empty", "none")
    )
    common = {"max_fail_rate": rate, "confidence": confidence, "seed": 0}
    for fn in (helper("invariant_report"), helper("assert_invariant")):
        check("INV", fn, predict, xs, perturb, degenerate=degenerate, **common)
    for fn in (helper("directional_report"), helper("assert_directional")):
        check(
            "DIR", fn, predict, xs, perturb, expect="not_decrease", degenerate=degenerate, **common
        )


@BOUNDED
@given(
    st.sampled_from(sorted(_predictors())),
    st.sampled_from(
        [
            [("a", 1), ("b", 0)],
            [],
            [("a",)],
            "ab",
            [("a", [1, 2]), ("b", np.array([1]))],
            [(None, float("nan"))],
        ]
    ),
    st.sampled_from(
        [
            {},
            {"labels": [1, 0]},
            {"expect": lambda p: True},
            {"expect": 3},
            {"expect": lambda p: 1 / 0},
            {"expect": lambda p: np.array([1, 1])},
        ]
    ),
)
def test_mft(predictor, cases, extra) -> None:
    predict = _predictors()[predictor]
    degenerate = predictor in ("nan", "inf-proba") or not cases
    for fn in (helper("mft_report"), helper("assert_mft")):
        check("MFT", fn, predict, cases, degenerate=degenerate, **extra)


# --- training ----------------------------------------------------------------------------------


def _torch():
    return pytest.importorskip("torch")


def _models():
    torch = _torch()
    nn = torch.nn

    class NoParams(nn.Module):
        def forward(self, x):
            return x * 2

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, x):
            return self.lin(x), {"aux": x.sum()}

    class Dict(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, x):
            return {"logits": self.lin(x)}

    class Nan(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, x):
            return self.lin(x) * float("nan")

    class Frozen(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)
            self.lin.requires_grad_(False)

        def forward(self, x):
            return self.lin(x)

    return {
        "linear": lambda: nn.Linear(4, 2),
        "noparams": NoParams,
        "pair": Pair,
        "dict": Dict,
        "nan": Nan,
        "frozen": Frozen,
        "not a module": lambda: (lambda x: x),
    }


def _batches():
    torch = _torch()
    g = torch.Generator().manual_seed(0)
    return {
        "ok": (torch.randn(8, 4, generator=g), torch.randint(0, 2, (8,), generator=g)),
        "wrong-width": (torch.randn(8, 3, generator=g), torch.randint(0, 2, (8,), generator=g)),
        "empty": (torch.randn(0, 4), torch.zeros(0, dtype=torch.long)),
        "nan": (torch.full((8, 4), float("nan")), torch.zeros(8, dtype=torch.long)),
        "single": torch.randn(8, 4, generator=g),
        "none": None,
        "numpy": (np.zeros((8, 4), dtype=np.float32), np.zeros(8, dtype=np.int64)),
    }


def _losses():
    torch = _torch()
    ce = torch.nn.functional.cross_entropy
    return {
        "ce": ce,
        "flipped": lambda out, y: -ce(out, y),
        "nan": lambda out, y: ce(out, y) * float("nan"),
        "python float": lambda out, y: 0.5,
        "raises": lambda out, y: 1 / 0,
        "none": None,
    }


@settings(
    max_examples=examples(60, hostile=200),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(
    st.sampled_from(["linear", "noparams", "pair", "dict", "nan", "frozen", "not a module"]),
    st.sampled_from(["ok", "wrong-width", "empty", "nan", "single", "none", "numpy"]),
    st.sampled_from(["ce", "flipped", "nan", "python float", "raises", "none"]),
    st.sampled_from([None, "cpu", "cuda", "tpu", "cuda:7", 3]),
    st.sampled_from([{}, {"output": 0}, {"output": "logits"}, {"output": 9}]),
)
def test_training_checks(model, batch, loss, device, output) -> None:
    make = _models()[model]
    batch_value = _batches()[batch]
    loss_fn = _losses()[loss]
    degenerate = (
        model in ("noparams", "nan", "frozen")
        or batch in ("empty", "nan", "none")
        or loss in ("flipped", "nan", "python float")
    )
    for fn, kw in (
        (helper("overfit_batch"), {"steps": 5, **output}),
        (helper("assert_overfits_batch"), {"steps": 5, **output}),
        (helper("loss_curve"), {"steps": 6, **output}),
        (helper("assert_loss_decreases"), {"steps": 6, **output}),
        (helper("params_update_report"), {}),
        (helper("assert_params_update"), {}),
    ):
        # a flipped loss still updates every parameter: degenerate only for the fit checks
        params = fn is not None and "params" in fn.__name__
        check(
            "training",
            fn,
            make(),
            batch_value,
            loss_fn,
            device=device,
            degenerate=degenerate and not (params and loss == "flipped"),
            **kw,
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"steps": 0},
        {"steps": -1},
        {"steps": 2.5},
        {"steps": float("nan")},
        {"target_loss": float("nan")},
        {"target_loss": -1},
        {"optimizer": "adam"},
        {"optimizer": 3},
    ],
)
def test_overfit_arguments(kwargs) -> None:
    torch = _torch()
    batch = _batches()["ok"]
    for fn in (helper("overfit_batch"), helper("assert_overfits_batch")):
        check(
            "overfit-args",
            fn,
            torch.nn.Linear(4, 2),
            batch,
            torch.nn.functional.cross_entropy,
            **kwargs,
        )


@BOUNDED
@given(
    st.sampled_from(["linear", "noparams", "pair", "dict", "nan", "not a module"]),
    st.sampled_from(["ok", "wrong-width", "empty", "nan", "single", "none", "numpy"]),
    st.sampled_from([(8, 2), (8, 3), "x", (-1, 2), None, (8, None), 8]),
)
def test_output_checks(model, batch, expected) -> None:
    make = _models()[model]
    batch_value = _batches()[batch]
    nan = model == "nan" or batch in ("nan",)
    for fn in (helper("nonfinite_report"), helper("assert_finite")):
        check("finite", fn, make(), batch_value, degenerate=nan or batch in ("empty", "none"))
    check("shape", helper("assert_output_shape"), make(), batch_value, expected)


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (lambda: float("nan"), {}),
        (lambda: np.array([np.nan]), {}),
        (lambda: 1 / 0, {}),
        (lambda: None, {"runs": 1}),
        (lambda: None, {"runs": "x"}),
        (lambda: 1.0, {"atol": float("nan")}),
        (lambda: 1.0, {"atol": -1}),
        ("not callable", {}),
    ],
)
def test_determinism(fn, kwargs) -> None:
    degenerate = fn() is None if callable(fn) and kwargs == {"runs": 1} else False
    for check_fn in (helper("determinism_report"), helper("assert_deterministic")):
        if callable(fn):
            try:
                nan_output = _nonfinite(fn())
            except ZeroDivisionError:
                nan_output = False
        else:
            nan_output = False
        check("determinism", check_fn, fn, degenerate=degenerate or nan_output, **kwargs)


def test_checkpoint_and_devices(tmp_path) -> None:
    torch = _torch()
    models = _models()
    batch = _batches()["ok"][0]
    for name in ("linear", "noparams", "pair", "dict", "nan", "not a module"):
        for fn in (helper("checkpoint_report"), helper("assert_checkpoint_roundtrip")):
            check(
                "checkpoint",
                fn,
                models[name](),
                batch,
                tmp_path=tmp_path,
                degenerate=name in ("nan", "noparams"),
            )
    for devices in ([], ["cpu"], ["cpu", "cuda"], ["tpu", "cpu"], "cpu", [None, "cpu"]):
        check(
            "devices",
            helper("assert_devices_agree"),
            lambda d: torch.zeros(2, device=d),
            devices,
            degenerate=not isinstance(devices, list) or len(devices) < 2,
        )
    check(
        "devices",
        helper("assert_devices_agree"),
        lambda d: torch.full((2,), math.nan),
        ["cpu", "cpu"],
        degenerate=True,
    )
