"""Hooks other plugins can implement to observe results and add to the outputs.

Registered with ``pytest_addhooks`` (as pytest-xdist's ``newhooks.py``). Each is called
once, on the pytest-xdist controller (or in a run without xdist), after the results of
the run's tests have arrived. Results are recorded dicts (``CheckResult.to_dict()``):
``kind``, ``name``, ``passed``, ``headline``, ``rows``, ``items``, ``test_id`` and what
the kind adds. Results that the test caught (a check inside ``pytest.raises``) or of
xfail tests are not passed: they are not verdicts.

Example, in a ``conftest.py`` or a plugin::

    def pytest_mltk_result(config, result):
        if result["kind"] == "drift" and not result["passed"]:
            alert_team(result["headline"])

    def pytest_mltk_summary(config, results):
        return [f"checks recorded: {len(results)}"]
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_mltk_result(config: pytest.Config, result: dict[str, Any]) -> None:
    """Called for every result that counts, in the order the tests reported."""


def pytest_mltk_summary(config: pytest.Config, results: list[dict[str, Any]]) -> list[str]:
    """Return lines to add to the mlops-testkit terminal summary."""
    return []


def pytest_mltk_report_sections(config: pytest.Config, results: list[dict[str, Any]]) -> list[Any]:
    """Return :class:`~mlops_testkit.reporting.results.Section` objects to add to the
    ``--mltk-report`` document (before the ML Test Score)."""
    return []


def pytest_mltk_mutation_operators() -> list[Any]:
    """Return mutation operator classes (subclasses of
    :class:`mlops_testkit.mutation.Operator`) to add to ``--mltk-mutate``; a name equal
    to a built-in operator's replaces it. Called in the driver and in each mutant run.

    Example, in a ``conftest.py``::

        def pytest_mltk_mutation_operators():
            from mypkg.mutants import NoWarmup
            return [NoWarmup]
    """
    return []
