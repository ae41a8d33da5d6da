"""Data faults. Labels are reached through the loss functions of
``torch.nn.functional`` (every loss sees the batch's targets, in the user's loop and in
the kit's helpers); features through the input of the outermost ``nn.Module`` call."""

from __future__ import annotations

from typing import Any

from mlops_testkit.mutation.loss_points import LOSSES
from mlops_testkit.mutation.registry import Operator, Patcher, register, wrap_functions


def _features(args: tuple[Any, ...]) -> Any:
    """The first positional input when it is a float matrix of features, else None."""
    import torch

    x = args[0] if args else None
    is_matrix = isinstance(x, torch.Tensor) and x.is_floating_point() and x.dim() >= 2
    return x if is_matrix and x.shape[-1] > 1 else None


@register
class LabelsShuffled(Operator):
    """Labels shuffled within each batch (features and labels joined out of order)."""

    name = "labels_shuffled"
    area = "data"
    catches = "assert_overfits_batch"
    example = (
        "def test_overfits_one_batch(model, batch):\n"
        "    assert_overfits_batch(model, batch, loss_fn)"
    )

    def install(self, patcher: Patcher) -> None:
        import torch
        import torch.nn.functional as F

        generator = torch.Generator().manual_seed(self.ctx.seed)

        def make(name: str, original: Any) -> Any:
            def shuffled(input: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
                if isinstance(target, torch.Tensor) and target.dim() >= 1 and len(target) > 1:
                    order = torch.randperm(len(target), generator=generator)
                    target = target[order.to(target.device)]
                    self.ctx.fired(name)
                return original(input, target, *args, **kwargs)

            return shuffled

        wrap_functions(patcher, F, LOSSES, make)


@register
class ConstantFeature(Operator):
    """One feature's column replaced by a constant (a join that fills a column with its
    default, a feature computed from an empty window)."""

    name = "constant_feature"
    area = "data"
    catches = "assert_directional on that feature, assert_no_drift on the features"
    example = (
        "def test_more_debt_raises_the_risk(model, x):\n"
        "    assert_directional(model, x, perturb=raise_debt, direction='increase')"
    )

    def on_model(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        x = _features(args)
        if x is None:
            return None
        width = x.shape[-1]
        column = self.ctx.rng_for(f"feature/{width}").randrange(width)
        x = x.clone()
        x[..., column] = 0.0
        self.ctx.fired(f"feature {column} of {width}")
        return (x, *args[1:]), kwargs


@register
class NormalisationSkipped(Operator):
    """Input normalisation skipped: features reach the model on their raw scale (each
    column multiplied by a seeded factor from 1 to 1000 and shifted off zero)."""

    name = "normalisation_skipped"
    area = "data"
    catches = "assert_schema on the model's input (mean and scale checks)"
    example = (
        "def test_features_are_standardised(features):\n"
        "    assert abs(features.mean()) < 0.5 and 0.5 < features.std() < 2"
    )

    def on_model(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import torch

        x = _features(args)
        if x is None:
            return None
        width = x.shape[-1]
        rng = self.ctx.rng_for(f"scale/{width}")
        scale = [10 ** rng.uniform(0.0, 3.0) for _ in range(width)]
        shift = [s * rng.uniform(0.0, 5.0) for s in scale]
        s = torch.tensor(scale, dtype=x.dtype, device=x.device)
        m = torch.tensor(shift, dtype=x.dtype, device=x.device)
        self.ctx.fired(f"{width} features")
        return (x * s + m, *args[1:]), kwargs
