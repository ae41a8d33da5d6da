"""Optimiser faults, installed through torch's global optimizer step hooks (they see
every optimizer, the user's and the ones the kit's helpers build)."""

from __future__ import annotations

from typing import Any

from mlops_testkit.mutation.registry import Operator, Patcher, register


def _step_hooks(patcher: Patcher, pre: Any, post: Any) -> None:
    from torch.optim.optimizer import (
        register_optimizer_step_post_hook,
        register_optimizer_step_pre_hook,
    )

    patcher.on_undo(register_optimizer_step_pre_hook(pre).remove)
    patcher.on_undo(register_optimizer_step_post_hook(post).remove)


class _RestoreAfterStep(Operator):
    """Base: snapshot some parameters before ``step`` and put them back after it."""

    def chosen(self, optimizer: Any) -> tuple[str, list[Any]]:
        raise NotImplementedError

    def install(self, patcher: Patcher) -> None:
        import torch

        saved: dict[int, tuple[str, list[tuple[Any, Any]]]] = {}

        def pre(optimizer: Any, args: Any, kwargs: Any) -> None:
            target, params = self.chosen(optimizer)
            pairs = [(p, p.detach().clone()) for p in params if p.grad is not None]
            saved[id(optimizer)] = (target, pairs)

        def post(optimizer: Any, args: Any, kwargs: Any) -> None:
            target, pairs = saved.pop(id(optimizer), ("", []))
            with torch.no_grad():
                for param, old in pairs:
                    param.copy_(old)
            if pairs:
                self.ctx.fired(target)

        _step_hooks(patcher, pre, post)


@register
class StepDoesNothing(_RestoreAfterStep):
    """The optimiser step does nothing (a learning rate of 0, a scheduler decayed to 0)."""

    name = "step_does_nothing"
    area = "optimiser"
    catches = "assert_params_update, assert_loss_decreases"
    example = (
        "def test_every_parameter_trains(model, batch):\n"
        "    assert_params_update(model, batch, loss_fn, expect_trainable=True)"
    )

    def chosen(self, optimizer: Any) -> tuple[str, list[Any]]:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        return f"{type(optimizer).__name__}: every parameter", params


@register
class SkipsParameterGroup(_RestoreAfterStep):
    """The step skips a parameter group (a layer left out of ``optimizer(params)``)."""

    name = "skips_parameter_group"
    area = "optimiser"
    catches = "assert_params_update"
    example = (
        "def test_every_parameter_trains(model, batch):\n"
        "    assert_params_update(model, batch, loss_fn, expect_trainable=True)"
    )

    def chosen(self, optimizer: Any) -> tuple[str, list[Any]]:
        groups = optimizer.param_groups
        kind = type(optimizer).__name__
        if len(groups) > 1:  # skip one whole group
            i = self.ctx.rng_for(f"{kind}/groups/{len(groups)}").randrange(len(groups))
            return f"{kind}: parameter group {i} of {len(groups)}", list(groups[i]["params"])
        params = list(groups[0]["params"]) if groups else []
        if len(params) < 2:  # skipping the only tensor is the 'step does nothing' mutant
            return "", []
        i = self.ctx.rng_for(f"{kind}/params/{len(params)}").randrange(len(params))
        shape = "x".join(str(s) for s in params[i].shape)
        return f"{kind}: parameter {i} of {len(params)} (shape {shape})", [params[i]]


@register
class ZeroGradNeverCalled(Operator):
    """``zero_grad`` is never called: gradients accumulate across steps."""

    name = "zero_grad_never_called"
    area = "optimiser"
    catches = "assert_loss_decreases, assert_overfits_batch"
    example = (
        "def test_loss_decreases(model, batch):\n"
        "    assert_loss_decreases(model, batch, loss_fn, steps=50)"
    )

    def install(self, patcher: Patcher) -> None:
        import torch

        def skip_optimizer(optimizer: Any, set_to_none: bool = True) -> None:
            params = [p for g in optimizer.param_groups for p in g["params"]]
            if any(p.grad is not None for p in params):
                self.ctx.fired(f"{type(optimizer).__name__}.zero_grad")

        def skip_module(module: Any, set_to_none: bool = True) -> None:
            if any(p.grad is not None for p in module.parameters()):
                self.ctx.fired(f"{type(module).__name__}.zero_grad")

        patcher.setattr(torch.optim.Optimizer, "zero_grad", skip_optimizer)
        patcher.setattr(torch.nn.Module, "zero_grad", skip_module)
