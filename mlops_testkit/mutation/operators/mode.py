"""Mode faults, installed by patching ``nn.Module.train`` (``eval()`` calls it)."""

from __future__ import annotations

from typing import Any

from mlops_testkit.mutation.registry import Operator, Patcher, register


@register
class TrainModeAtInference(Operator):
    """``model.train()`` left on at inference: ``eval()`` forgotten, so dropout stays on
    and BatchNorm normalises each request by itself."""

    name = "train_mode_at_inference"
    area = "mode"
    catches = "assert_deterministic(reseed=False), assert_batch_invariant"
    example = (
        "def test_prediction_is_deterministic(model, x):\n"
        "    assert_deterministic(lambda: predict(model, x), reseed=False, runs=3)"
    )

    def install(self, patcher: Patcher) -> None:
        import torch

        original = torch.nn.Module.train

        def train(module: Any, mode: bool = True) -> Any:
            if mode:
                return original(module, mode)
            if module.training:
                self.ctx.fired(f"{type(module).__name__}.eval() ignored")
            return module

        patcher.setattr(torch.nn.Module, "train", train)


@register
class EvalModeDuringTraining(Operator):
    """``model.eval()`` left on during training: dropout off, BatchNorm statistics frozen
    at their initial values."""

    name = "eval_mode_during_training"
    area = "mode"
    catches = "assert_params_update (BatchNorm buffers), assert_checkpoint_roundtrip"
    example = (
        "def test_training_moves_batchnorm_statistics(model, batch):\n"
        "    assert_params_update(model, batch, loss_fn, expect_trainable=True)"
    )

    def install(self, patcher: Patcher) -> None:
        import torch

        self._original = original = torch.nn.Module.train

        def train(module: Any, mode: bool = True) -> Any:
            if mode:
                self.ctx.fired(f"{type(module).__name__}.train() ignored")
            return original(module, False)

        patcher.setattr(torch.nn.Module, "train", train)

    def on_model(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import torch

        # a new module starts in training mode without anyone calling train()
        if module.training and torch.is_grad_enabled():
            self.ctx.fired(f"{type(module).__name__} trained in eval mode")
            self._original(module, False)
        return None
