"""The kit's mutation operators, one module per area; importing this package registers
them. A new operator is a new class in the module of its area (or a new module imported
here), decorated with :func:`mlops_testkit.mutation.registry.register`."""

from __future__ import annotations

from mlops_testkit.mutation.operators import (  # noqa: F401  (each module registers)
    data,
    gradients,
    loss,
    mode,
    optimiser,
    randomness,
    state,
)
