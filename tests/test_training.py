"""Every training helper catches the bug it exists for, and passes the clean version.

Each bug is a small, real PyTorch model or loop with the mistake people actually make.
"""

from __future__ import annotations

import copy
import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from mlops_testkit import (
    MltkUsageError,
    assert_checkpoint_roundtrip,
    assert_deterministic,
    assert_devices_agree,
    assert_finite,
    assert_loss_decreases,
    assert_output_shape,
    assert_overfits_batch,
    assert_params_update,
    overfit_batch,
)


class MLP(nn.Module):
    def __init__(self, n_in: int = 8, hidden: int = 32, n_out: int = 2) -> None:
        super().__init__()
        self.hidden = nn.Linear(n_in, hidden)
        self.out = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


class SoftmaxBeforeCE(MLP):
    """Bug: returns probabilities, then CrossEntropyLoss applies log-softmax again."""

    def forward(self, x):
        return torch.softmax(super().forward(x), dim=-1)


class DetachedHidden(MLP):
    """Bug: the hidden layer's output is detached, so the hidden layer never trains."""

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)).detach())


class BNNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 16)
        self.bn = nn.BatchNorm1d(16)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.fc(x))))


class DropoutNet(MLP):
    def __init__(self) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.out(self.drop(torch.relu(self.hidden(x))))


class CpuMaskNet(MLP):
    """Bug: a tensor created on the CPU inside forward; fails only on another device."""

    def forward(self, x):
        mask = torch.ones(x.shape[-1])  # should be torch.ones(..., device=x.device)
        return super().forward(x * mask)


class DeviceSafeMaskNet(MLP):
    def forward(self, x):
        return super().forward(x * torch.ones(x.shape[-1], device=x.device))


@pytest.fixture
def batch(seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 8, generator=gen)
    y = torch.randint(0, 2, (64,), generator=gen)
    return x, y


CE = nn.CrossEntropyLoss()


# --- overfit a batch -------------------------------------------------------------------------


def test_overfit_clean_model_passes(batch, device):
    curve = assert_overfits_batch(MLP(), batch, CE, device=device)
    assert curve.best <= curve.target < curve.start


def test_overfit_catches_softmax_before_cross_entropy(batch):
    with pytest.raises(AssertionError, match="did not overfit one batch") as exc:
        assert_overfits_batch(SoftmaxBeforeCE(), batch, CE)
    text = str(exc.value)
    assert "start" in text and "best" in text and "end" in text
    assert "no softmax or sigmoid before CrossEntropyLoss" in text


def test_overfit_names_nan_loss(batch):
    def nan_loss(outputs, target):
        return torch.log(outputs - 1e6).mean()  # log of negative numbers: NaN

    with pytest.raises(AssertionError, match="the loss became nan at step 1"):
        assert_overfits_batch(MLP(), batch, nan_loss)


def test_overfit_names_stale_optimizer(batch):
    model = MLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model = MLP()  # bug: re-created after the optimizer was built
    with pytest.raises(AssertionError, match="built over another model"):
        assert_overfits_batch(model, batch, CE, optimizer=optimizer)


def test_overfit_leaves_the_callers_model_alone(batch):
    model = MLP()
    before = copy.deepcopy(model.state_dict())
    assert_overfits_batch(model, batch, CE)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_overfit_accepts_optimizer_instance_factory_dict_batch_and_step(batch):
    x, y = batch
    model = MLP()
    assert_overfits_batch(model, batch, CE, optimizer=torch.optim.Adam(model.parameters(), 1e-2))
    assert_overfits_batch(MLP(), batch, CE, optimizer=lambda p: torch.optim.Adam(p, lr=1e-2))
    assert_overfits_batch(MLP(), {"x": x, "labels": y}, CE)
    assert_overfits_batch(MLP(), batch, step=lambda m, b: CE(m(b[0]), b[1]))


def test_overfit_result_is_structured(batch):
    curve = overfit_batch(MLP(), batch, CE, target_loss=0.0, steps=5)
    assert len(curve.losses) == 5 and curve.target == 0.0
    assert curve.best_step is not None


# --- loss decreases ---------------------------------------------------------------------------


def test_loss_decreases_clean_and_noisy(batch, device):
    assert_loss_decreases(MLP(), batch, CE, device=device)
    assert_loss_decreases(DropoutNet(), batch, CE, device=device)  # noisy, still decreasing


def test_loss_decreases_catches_zero_learning_rate(batch):
    with pytest.raises(AssertionError, match=r"no significant downward trend"):
        assert_loss_decreases(MLP(), batch, CE, optimizer=lambda p: torch.optim.SGD(p, lr=0.0))


# --- parameters update ------------------------------------------------------------------------


def test_params_update_clean_passes(batch, device):
    report = assert_params_update(MLP(), batch, CE, expect_trainable=True, device=device)
    assert report.total == 4 and report.rows == []


def test_params_update_catches_frozen_layer(batch):
    model = MLP()
    model.hidden.requires_grad_(False)  # bug: frozen for fine-tuning, never unfrozen
    with pytest.raises(AssertionError) as exc:
        assert_params_update(model, batch, CE, expect_trainable=True)
    text = str(exc.value)
    assert "2 of 4 parameter(s) did not train" in text
    assert "hidden.weight" in text and "frozen (requires_grad=False)" in text


def test_params_update_counts_frozen_when_not_expected(batch):
    model = MLP()
    model.hidden.requires_grad_(False)
    report = assert_params_update(model, batch, CE)  # frozen on purpose: passes, counted
    assert report.frozen == ["hidden.weight", "hidden.bias"]


def test_params_update_catches_detached_layer(batch):
    with pytest.raises(AssertionError, match=r"hidden\.weight .* no gradient: not connected"):
        assert_params_update(DetachedHidden(), batch, CE)


def test_params_update_catches_stale_optimizer(batch):
    model = MLP()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model = MLP()
    with pytest.raises(AssertionError) as exc:
        assert_params_update(model, batch, CE, optimizer=optimizer)
    text = str(exc.value)
    assert "stale optimizer" in text and "re-created after the optimizer" in text
    assert "unchanged after the optimizer step" in text


def test_params_update_ignore(batch):
    assert_params_update(DetachedHidden(), batch, CE, ignore=["hidden.*"])


# --- finite values ----------------------------------------------------------------------------


def test_finite_clean(batch):
    x, _ = batch
    assert_finite(MLP(), x, grads=True)
    assert_finite({"logits": torch.zeros(3), "loss": 0.5})


def test_finite_says_where_and_how_many(batch):
    x, _ = batch
    model = MLP()
    with torch.no_grad():
        model.out.weight[0, :3] = math.nan
    with pytest.raises(AssertionError) as exc:
        assert_finite(model, x)
    text = str(exc.value)
    assert "parameter out.weight" in text and "output" in text
    with pytest.raises(AssertionError, match=r"output\['loss'\]\s+0\s+1\s+1"):
        assert_finite({"logits": torch.zeros(3), "loss": math.inf})


# --- output shape -----------------------------------------------------------------------------


def test_output_shape_clean_and_wrong(batch):
    x, _ = batch
    assert_output_shape(MLP(), x, (None, 2), dtype=torch.float32)
    with pytest.raises(AssertionError, match=r"output\s+\(64, 2\)\s+\(\*, 1\)"):
        assert_output_shape(MLP(), x, (None, 1))  # bug: a 2-class head where 1 logit expected
    with pytest.raises(AssertionError, match=r"torch\.float64"):
        assert_output_shape(MLP(), x, (64, 2), dtype=torch.float64)


def test_output_shape_several_outputs(batch):
    x, _ = batch

    class TwoHeads(MLP):
        def forward(self, x):
            h = super().forward(x)
            return {"logits": h, "score": h[:, 0]}

    assert_output_shape(TwoHeads(), x, {"logits": (None, 2), "score": (None,)})
    with pytest.raises(AssertionError, match=r"output\['score'\]"):
        assert_output_shape(TwoHeads(), x, {"logits": (None, 2), "score": (None, 1)})


# --- determinism ------------------------------------------------------------------------------


def _train(batch, seed=None):
    x, y = batch
    gen = torch.Generator()
    if seed is None:
        gen.seed()  # bug: fresh entropy, whatever the global seed
    else:
        gen.manual_seed(seed)
    model = MLP()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        idx = torch.randperm(len(x), generator=gen)[:16]
        opt.zero_grad()
        CE(model(x[idx]), y[idx]).backward()
        opt.step()
    return model


def test_deterministic_training_clean(batch, seed):
    assert_deterministic(lambda: _train(batch, seed=seed), seed=seed)


def test_deterministic_catches_unseeded_training(batch, seed):
    with pytest.raises(AssertionError) as exc:
        assert_deterministic(lambda: _train(batch), seed=seed)
    text = str(exc.value)
    assert "is not deterministic" in text and "result['hidden.weight']" in text
    assert "generator created without a seed" in text


def test_deterministic_catches_dropout_at_prediction(batch):
    x, _ = batch
    model = DropoutNet()  # bug: never switched to eval() before predicting
    with pytest.raises(AssertionError, match=r"call model\.eval"):
        assert_deterministic(lambda: model(x), reseed=False)
    model.eval()
    assert_deterministic(lambda: model(x), reseed=False, runs=3)


def test_deterministic_compares_nested_results():
    import numpy as np

    assert_deterministic(lambda: {"a": [1, 2.5], "b": (np.arange(3), "x")})
    with pytest.raises(AssertionError, match=r"result\['b'\]\[0\]"):
        assert_deterministic(lambda: {"b": (np.random.default_rng().random(3),)})


# --- checkpoints ------------------------------------------------------------------------------


def _trained_bn(batch):
    model = BNNet()
    x, _ = batch
    model.train()
    for _ in range(3):
        model(x)  # moves the running statistics away from their defaults
    return model


def _save_params_only(model, path):
    torch.save({n: p.detach() for n, p in model.named_parameters()}, path)  # bug: no buffers


def _load_params_only(path):
    model = BNNet()
    model.load_state_dict(torch.load(path), strict=False)
    return model


def _save_full(model, path):
    torch.save(model.state_dict(), path)


def _load_full(path):
    model = BNNet()
    model.load_state_dict(torch.load(path))
    return model


def test_checkpoint_default_roundtrip(batch, tmp_path):
    assert_checkpoint_roundtrip(_trained_bn(batch), batch[0], tmp_path=tmp_path)


def test_checkpoint_user_code_clean(batch, tmp_path):
    model = _trained_bn(batch)
    assert_checkpoint_roundtrip(
        model, batch[0], save=_save_full, load=_load_full, tmp_path=tmp_path
    )


def test_checkpoint_catches_dropped_buffers(batch, tmp_path):
    model = _trained_bn(batch)
    with pytest.raises(AssertionError) as exc:
        assert_checkpoint_roundtrip(
            model, batch[0], save=_save_params_only, load=_load_params_only, tmp_path=tmp_path
        )
    text = str(exc.value)
    assert "bn.running_mean" in text and "buffer differs" in text
    assert "eval output differs" in text
    assert "buffers differ: save model.state_dict()" in text


class _Vocab(torch.nn.Module):
    """A model whose preprocessing (a scale) lives in a plain attribute, not its state."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(4, 1)
        self.scale = scale

    def forward(self, x):
        return self.lin(x * self.scale)


def test_checkpoint_names_outputs_only_differences(tmp_path):
    # issue 24: the message blamed BatchNorm buffers whatever the cause
    torch.manual_seed(0)
    model = _Vocab(scale=3.0)

    def load(path):
        fresh = _Vocab()  # the preprocessing file was never saved: the default comes back
        fresh.load_state_dict(torch.load(path))
        return fresh

    with pytest.raises(AssertionError) as exc:
        assert_checkpoint_roundtrip(
            model, torch.ones(2, 4), save=_save_full, load=load, tmp_path=tmp_path
        )
    text = str(exc.value)
    assert "The state dict round-trips, but the eval outputs differ" in text
    assert "vocabulary" in text and "BatchNorm" not in text


# --- devices ----------------------------------------------------------------------------------


@pytest.mark.devices("cuda")
def test_cpu_tensor_in_forward_is_caught_on_gpu(batch, device):
    with pytest.raises(AssertionError, match="created on the CPU inside forward"):
        assert_overfits_batch(CpuMaskNet(), batch, CE, device=device)
    assert_overfits_batch(DeviceSafeMaskNet(), batch, CE, device=device)
    with pytest.raises(AssertionError, match="results differ across devices"):
        assert_devices_agree(lambda d: CpuMaskNet().to(d)(batch[0].to(d)), ["cpu", device])


def test_devices_agree_skips_without_a_second_device():
    missing = "mps" if not torch.backends.mps.is_available() else "cuda"
    if torch.cuda.is_available() and missing == "cuda":
        pytest.skip("both accelerators present")
    with pytest.raises(pytest.skip.Exception, match="needs two available devices"):
        assert_devices_agree(lambda d: torch.ones(2, device=d), ["cpu", missing])


def test_devices_agree_on_two_cpu_devices():
    torch.manual_seed(0)
    model = MLP()
    x = torch.randn(4, 8)
    results = assert_devices_agree(
        lambda d: copy.deepcopy(model).to(d)(x.to(d)), ["cpu", torch.device("cpu", 0)]
    )
    assert len(results) == 2


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: assert_overfits_batch("not a model", b, CE), "model must be a torch.nn.Module"),
        (lambda b: assert_overfits_batch(MLP(), 42, CE), "batch must be a tensor, a tuple/list"),
        (
            lambda b: assert_overfits_batch(MLP(), b, nn.CrossEntropyLoss(reduction="none")),
            "returned a tensor of shape (64,); expected a scalar",
        ),
        (
            lambda b: assert_overfits_batch(MLP(), b, CE, steps=0),
            "steps must be a positive integer",
        ),
        (lambda b: assert_overfits_batch(MLP(), b), "pass loss_fn, or step="),
        (
            lambda b: assert_overfits_batch(MLP(), b, CE, optimizer="adam"),
            "optimizer must be a torch.optim.Optimizer",
        ),
        (lambda b: assert_loss_decreases(MLP(), b, CE, min_drop=2), "min_drop must be a share"),
        (lambda b: assert_output_shape(MLP(), b[0], "64x2"), "expected must be a shape"),
        (lambda b: assert_deterministic(lambda: 1, runs=1), "runs must be an integer >= 2"),
        (
            lambda b: assert_checkpoint_roundtrip(MLP(), b[0], save=_save_full),
            "pass both save(model, path) and load(path)",
        ),
        (lambda b: assert_devices_agree(lambda d: 1, ["cpu"]), "at least two devices"),
    ],
)
def test_bad_input_is_a_clear_usage_error(batch, call, message):
    with pytest.raises(MltkUsageError) as exc:
        call(batch)
    assert message in str(exc.value)


def test_without_torch_the_helpers_name_the_install_line(pytester):
    pytester.makepyfile("""
        import sys
        sys.modules["torch"] = None  # as if torch were not installed
        import pytest
        from mlops_testkit import MissingExtraError, assert_overfits_batch

        def test_x():
            with pytest.raises(MissingExtraError, match=r"pip install 'mlops-testkit\\[torch\\]'"):
                assert_overfits_batch(object(), None, None)
        """)
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)
