"""Loss faults, installed by wrapping the loss functions of ``torch.nn.functional``
(which every ``nn.*Loss`` module calls)."""

from __future__ import annotations

from typing import Any

from mlops_testkit.mutation.loss_points import LOSSES
from mlops_testkit.mutation.registry import Operator, Patcher, register, wrap_functions


@register
class SoftmaxBeforeCrossEntropy(Operator):
    """Probabilities passed to a loss that expects logits: softmax before
    ``CrossEntropyLoss``, sigmoid before ``BCEWithLogitsLoss``."""

    name = "softmax_before_cross_entropy"
    area = "loss"
    catches = "assert_overfits_batch"
    example = (
        "def test_overfits_one_batch(model, batch):\n"
        "    assert_overfits_batch(model, batch, loss_fn)"
    )

    def install(self, patcher: Patcher) -> None:
        import torch
        import torch.nn.functional as F

        def make(name: str, original: Any) -> Any:
            def squashed(input: Any, *args: Any, **kwargs: Any) -> Any:
                self.ctx.fired(name)
                if name == "cross_entropy":
                    input = torch.softmax(input, dim=1 if input.dim() > 1 else 0)
                else:
                    input = torch.sigmoid(input)
                return original(input, *args, **kwargs)

            return squashed

        wrap_functions(patcher, F, ("cross_entropy", "binary_cross_entropy_with_logits"), make)


@register
class LossSignFlipped(Operator):
    """The loss's sign flipped (a reward maximised as a loss, ``-loss`` from a refactor)."""

    name = "loss_sign_flipped"
    area = "loss"
    catches = "assert_loss_decreases"
    example = (
        "def test_loss_decreases(model, batch):\n    assert_loss_decreases(model, batch, loss_fn)"
    )

    def install(self, patcher: Patcher) -> None:
        import torch.nn.functional as F

        def make(name: str, original: Any) -> Any:
            def flipped(*args: Any, **kwargs: Any) -> Any:
                self.ctx.fired(name)
                return -original(*args, **kwargs)

            return flipped

        wrap_functions(patcher, F, LOSSES, make)


@register
class ReductionSum(Operator):
    """Reduction ``sum`` instead of ``mean``: the effective learning rate grows with the
    batch size."""

    name = "reduction_sum"
    area = "loss"
    catches = "a loss-scale test (the two-line example)"
    example = (
        "def test_loss_does_not_grow_with_the_batch(model, x, y):\n"
        "    assert loss_fn(model(x), y) < 2 * loss_fn(model(x[:8]), y[:8])"
    )

    def install(self, patcher: Patcher) -> None:
        import torch.nn.functional as F

        def make(name: str, original: Any) -> Any:
            def summed(*args: Any, **kwargs: Any) -> Any:
                if kwargs.get("reduction", "mean") == "mean":
                    kwargs["reduction"] = "sum"
                    self.ctx.fired(name)
                return original(*args, **kwargs)

            return summed

        wrap_functions(patcher, F, LOSSES, make)
