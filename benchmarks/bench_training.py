"""Speed of assert_overfits_batch against the same hand-written loop.

A 2-layer MLP (8 -> 32 -> 2) on one 64-row batch with cross-entropy, Adam lr 1e-2, until
the loss is below 5% of its start (the helper's default target). Both variants run the
same number of steps; the helper also deep-copies the model and optimizer and checks
every loss for NaN/inf. Targets: converges in <= 1 s; overhead <= 10%.

    python benchmarks/bench_training.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from mlops_testkit import assert_overfits_batch

TARGET_SECONDS = 1.0
TARGET_OVERHEAD = 0.10


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))


def hand_loop(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    target = None
    value = float("nan")
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        value = loss.item()
        target = value * 0.05 if target is None else target
        if value <= target:
            break
        loss.backward()
        opt.step()
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.manual_seed(0)
    x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
    models = [make_model() for _ in range(args.repeats)]
    loss_fn = nn.CrossEntropyLoss()
    steps_taken = len(assert_overfits_batch(models[0], (x, y), loss_fn).losses)
    helper, loop = [], []
    for model in models:  # interleaved, same initial weights for both variants
        start = time.perf_counter()
        assert_overfits_batch(model, (x, y), loss_fn)
        helper.append(time.perf_counter() - start)
        clone = make_model()
        clone.load_state_dict(model.state_dict())
        start = time.perf_counter()
        hand_loop(clone, x, y, 200)
        loop.append(time.perf_counter() - start)
    med_helper, med_loop = statistics.median(helper), statistics.median(loop)
    overhead = med_helper / med_loop - 1
    print(
        f"bench_training: 2-layer MLP, 64-row batch, {args.repeats} repeats, torch {torch.__version__}"
    )
    print(f"  steps to converge (first model)  {steps_taken}")
    print(
        f"  assert_overfits_batch  median {med_helper * 1000:8.1f} ms  (target <= {TARGET_SECONDS * 1000:.0f} ms)"
    )
    print(f"  hand-written loop      median {med_loop * 1000:8.1f} ms")
    print(
        f"  ratio {med_helper / med_loop:.3f}, overhead {overhead:+.1%} (target <= {TARGET_OVERHEAD:.0%})  "
        f"{'OK' if overhead <= TARGET_OVERHEAD and med_helper <= TARGET_SECONDS else 'OVER'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
