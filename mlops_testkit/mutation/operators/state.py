"""State faults, installed by patching ``nn.Module.state_dict`` / ``load_state_dict``
(the outermost call only: they recurse into children)."""

from __future__ import annotations

from typing import Any

from mlops_testkit.mutation.registry import Operator, Patcher, register

CHECKPOINT_TEST = (  # the test that kills both state faults
    "def test_checkpoint_round_trip(trained, x, tmp_path):\n"
    "    assert_checkpoint_roundtrip(trained, x, save=save, load=load, tmp_path=tmp_path)"
)


@register
class BuffersDropped(Operator):
    """Buffers dropped from ``state_dict`` (a checkpoint of ``named_parameters()`` only:
    BatchNorm running statistics are lost)."""

    name = "buffers_dropped"
    area = "state"
    catches = "assert_checkpoint_roundtrip"
    example = CHECKPOINT_TEST

    def install(self, patcher: Patcher) -> None:
        import torch

        original = torch.nn.Module.state_dict
        depth = [0]

        def state_dict(module: Any, *args: Any, **kwargs: Any) -> Any:
            depth[0] += 1
            try:
                result = original(module, *args, **kwargs)
            finally:
                depth[0] -= 1
            if depth[0] == 0 and not args and kwargs.get("destination") is None:
                prefix = kwargs.get("prefix", "")
                dropped = [prefix + n for n, _ in module.named_buffers() if prefix + n in result]
                for key in dropped:
                    del result[key]
                if dropped:
                    self.ctx.fired(f"{type(module).__name__}: {len(dropped)} buffers")
            return result

        patcher.setattr(torch.nn.Module, "state_dict", state_dict)


@register
class LoadNotStrict(Operator):
    """``load_state_dict(strict=False)`` silently ignoring a key (a renamed layer keeps
    its random initial weights)."""

    name = "load_not_strict"
    area = "state"
    catches = "assert_checkpoint_roundtrip"
    example = CHECKPOINT_TEST

    def install(self, patcher: Patcher) -> None:
        import torch

        original = torch.nn.Module.load_state_dict

        def load_state_dict(module: Any, state_dict: Any, *args: Any, **kwargs: Any) -> Any:
            keys = sorted(
                k
                for k, v in state_dict.items()
                if isinstance(v, torch.Tensor) and v.is_floating_point()
            )
            if not keys:
                return original(module, state_dict, *args, **kwargs)
            rng = self.ctx.rng_for(f"{type(module).__qualname__}/load/{len(keys)}")
            key = keys[rng.randrange(len(keys))]
            kept = {k: v for k, v in state_dict.items() if k != key}
            self.ctx.fired(f"{type(module).__name__}: {key} ignored")
            if args:
                args = args[1:]
            kwargs["strict"] = False
            return original(module, kept, *args, **kwargs)

        patcher.setattr(torch.nn.Module, "load_state_dict", load_state_dict)
