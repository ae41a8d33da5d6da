"""Gradient faults: a layer that never receives a gradient. The layer is picked once per
model class, from the mutant's seed, and recorded."""

from __future__ import annotations

import weakref
from typing import Any

from mlops_testkit.mutation.registry import (
    Operator,
    Patcher,
    pick_layer,
    register,
    trainable_layers,
)


@register
class FrozenLayer(Operator):
    """One layer frozen (``requires_grad=False`` left over from fine-tuning)."""

    name = "frozen_layer"
    area = "gradients"
    catches = "assert_params_update"
    example = (
        "def test_every_parameter_trains(model, batch):\n"
        "    assert_params_update(model, batch, loss_fn, expect_trainable=True)"
    )

    def install(self, patcher: Patcher) -> None:
        self._frozen: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def on_model(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import torch

        if self.first_time(module):
            picked = pick_layer(self.ctx, module)
            if picked is not None:
                target, layer = picked
                for param in layer.parameters(recurse=False):
                    param.requires_grad_(False)
                self._frozen[module] = target
        target = self._frozen.get(module)
        if target is not None and torch.is_grad_enabled() and module.training:
            self.ctx.fired(target)
        return None


@register
class DetachedOutput(Operator):
    """A module's output detached from the graph (``.detach()``, ``.item()``, a numpy
    round trip), so every layer before it stops learning."""

    name = "detached_output"
    area = "gradients"
    catches = "assert_params_update"
    example = (
        "def test_every_parameter_trains(model, batch):\n"
        "    assert_params_update(model, batch, loss_fn, expect_trainable=True)"
    )

    def on_model(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import torch

        if not self.first_time(module):
            return None
        layers = trainable_layers(module)
        if len(layers) > 1:  # detaching the last layer's output breaks backward() outright
            layers = layers[:-1]
        if not layers:
            return None
        rng = self.ctx.rng_for(type(module).__qualname__ + f"/detach/{len(layers)}")
        name, layer = layers[rng.randrange(len(layers))]
        target = f"{type(module).__name__}.{name} ({type(layer).__name__})"

        def detach(mod: Any, inputs: Any, output: Any) -> Any:
            if isinstance(output, torch.Tensor) and output.requires_grad:
                self.ctx.fired(target)
                return output.detach()
            return None

        layer.register_forward_hook(detach)
        return None
