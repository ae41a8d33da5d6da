"""The ML mutation score: plant the faults ML teams ship into the user's own model and
training code at run time, run the user's tests against each, and report which faults
the suite lets through.

``pytest --mltk-mutate`` (or ``mlops-testkit mutate``) runs it; see docs/mutation.md.
Operators live in :mod:`mlops_testkit.mutation.operators`, one module per area; a new
operator subclasses :class:`Operator` and is registered with :func:`register`, or comes
from another plugin's ``pytest_mltk_mutation_operators`` hook.
"""

from __future__ import annotations

from mlops_testkit.mutation.registry import Context, Operator, Patcher, available, register
from mlops_testkit.mutation.runtime import mutant

__all__ = ["Context", "Operator", "Patcher", "available", "mutant", "register"]
