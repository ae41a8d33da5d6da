"""Seeding: one seed per run, applied to every RNG already imported, before every test.

Only RNGs whose modules are already in ``sys.modules`` are seeded: seeding must never
be the reason numpy or torch gets imported (HOUSE_RULES 2).
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import sys
from collections.abc import Iterator

from mlops_testkit.settings import SEED_MAX

CUBLAS_WORKSPACE_CONFIG = ":4096:8"


def draw_seed() -> int:
    """A fresh seed from the OS entropy pool, for ``--mltk-seed random``."""
    return secrets.randbelow(SEED_MAX + 1)


def reseed(seed: int) -> list[str]:
    """Seed Python's ``random`` and, when already imported, numpy's and torch's global RNGs.

    Returns the names of the generators it seeded.

    >>> reseed(7)[0]
    'random'
    """
    random.seed(seed)
    seeded = ["random"]
    np = sys.modules.get("numpy")
    if np is not None and hasattr(getattr(np, "random", None), "seed"):
        np.random.seed(seed)
        seeded.append("numpy")
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "manual_seed"):
        torch.manual_seed(seed)  # also seeds every CUDA device, lazily
        seeded.append("torch")
    return seeded


@contextlib.contextmanager
def torch_deterministic() -> Iterator[bool]:
    """Turn on torch's deterministic algorithms inside the block, then restore.

    Sets ``CUBLAS_WORKSPACE_CONFIG`` (needed by deterministic cuBLAS on CUDA >= 10.2)
    unless the user set it, and makes cuDNN deterministic without autotuning. Yields
    False, doing nothing, when torch is not installed.
    """
    try:
        import torch
    except ImportError:
        yield False
        return
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    env_was = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    if env_was is None:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE_CONFIG
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    try:
        yield True
    finally:
        enabled, warn_only, cudnn_det, cudnn_bench = previous
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
        torch.backends.cudnn.deterministic = cudnn_det
        torch.backends.cudnn.benchmark = cudnn_bench
        if env_was is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
