"""Randomness faults: seeding calls that do not follow the run's seed."""

from __future__ import annotations

import random
from typing import Any

from mlops_testkit.mutation.registry import Operator, Patcher, register


@register
class SeedNotApplied(Operator):
    """The run's seed not applied to torch, numpy or ``random``: every seeding call
    seeds from a fresh value instead, so two runs with one seed differ."""

    name = "seed_not_applied"
    area = "randomness"
    catches = "assert_deterministic"
    example = (
        "def test_training_is_reproducible(data, seed):\n"
        "    assert_deterministic(lambda: train(data, seed=seed).model, seed=seed)"
    )

    def install(self, patcher: Patcher) -> None:
        import torch

        def make(what: str, original: Any) -> Any:
            def ignored(*args: Any, **kwargs: Any) -> Any:
                self.ctx.fired(what)
                return original(self.ctx.rng.randrange(2**32))

            return ignored

        patcher.setattr(random, "seed", make("random.seed", random.seed))
        patcher.setattr(torch, "manual_seed", make("torch.manual_seed", torch.manual_seed))
        patcher.setattr(
            torch.random, "manual_seed", make("torch.manual_seed", torch.random.manual_seed)
        )
        try:
            import numpy as np
        except ImportError:  # pragma: no cover - numpy is a dependency of the kit
            return
        patcher.setattr(np.random, "seed", make("numpy.random.seed", np.random.seed))


@register
class WorkersNotSeeded(Operator):
    """``DataLoader`` workers and shuffling not seeded: the loader's ``generator`` and
    ``worker_init_fn`` are dropped and it draws from a fresh seed."""

    name = "workers_not_seeded"
    area = "randomness"
    catches = "assert_deterministic"
    example = (
        "def test_loader_order_is_reproducible(dataset, seed):\n"
        "    assert_deterministic(lambda: list(make_loader(dataset, seed)), seed=seed)"
    )

    def install(self, patcher: Patcher) -> None:
        import torch
        from torch.utils.data import DataLoader

        original = DataLoader.__init__

        def init(loader: Any, *args: Any, **kwargs: Any) -> None:
            shuffle = kwargs.get("shuffle", args[2] if len(args) > 2 else False)
            workers = kwargs.get("num_workers", 0) or 0
            if shuffle or workers > 0:
                kwargs.pop("worker_init_fn", None)
                fresh = torch.Generator().manual_seed(self.ctx.rng.randrange(2**63))
                kwargs["generator"] = fresh
                self.ctx.fired("DataLoader(shuffle)" if shuffle else "DataLoader(num_workers)")
            original(loader, *args, **kwargs)

        patcher.setattr(DataLoader, "__init__", init)
