"""``mlops_testkit.perturb``: the perturbation library of the behavioral tests.

It lives in :mod:`mlops_testkit.behavioral.perturb`; this name is kept so that
``from mlops_testkit import perturb`` reads the way the tests use it.
"""

from __future__ import annotations

from mlops_testkit.behavioral.perturb import *  # noqa: F403
from mlops_testkit.behavioral.perturb import __all__  # noqa: F401
