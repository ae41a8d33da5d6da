"""Counterexample search: hypothesis explores a perturbation's choices and shrinks a failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit.behavioral.harness import Predictions, _concat, _kind, _predict_all, _row, _show
from mlops_testkit.behavioral.perturb.base import HypothesisChooser, Perturbation
from mlops_testkit.extras import require

# --- counterexample search ------------------------------------------------------------------


def _search(
    predict: Callable[[Any], Any],
    inputs: Any,
    perturb: Any,
    judge: Callable[[Predictions, Any, Any], Any],
    seed: int | None,
    examples: int,
) -> dict[str, Any] | None:
    """Let hypothesis explore the perturbation's choices; return the minimal failure."""
    import numpy as np

    where = "assert_invariant(search=True)"
    if not isinstance(perturb, Perturbation):
        raise MltkUsageError(
            f"{where}: the search needs a perturbation from mlops_testkit.perturb (its random "
            "choices are what hypothesis explores)"
        )
    hypothesis = require("hypothesis", where)
    st = require("hypothesis.strategies", where)
    kind = _kind(inputs, where)
    n = len(inputs)
    found: list[dict[str, Any]] = []

    def check(data: Any) -> None:
        i = data.draw(st.integers(0, n - 1), label="input")
        original = inputs.iloc[[i]] if kind == "frame" else inputs[i : i + 1]
        item = original if perturb.tabular else _row(inputs, i)
        variants = perturb.variants(item, HypothesisChooser(data))
        hypothesis.assume(variants)
        values = [v.value for v in variants]
        stream = _concat([original, *values], kind) if perturb.tabular else [item, *values]
        preds, _ = _predict_all(predict, stream, _kind(stream, where), len(stream), where)
        owner = np.zeros(len(values), dtype=np.int64)
        bad = judge(preds, owner, 1 + np.arange(len(values)))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            found.append(
                {
                    "original": _show(_row(stream, 0)),
                    "perturbed": _show(_row(stream, 1 + j)),
                    "perturbation": variants[j].description,
                    "before": preds.labels[0] if preds.kind != "proba" else int(preds.labels[0]),
                    "after": (
                        preds.labels[1 + j] if preds.kind != "proba" else int(preds.labels[1 + j])
                    ),
                }
            )
            raise AssertionError("counterexample")

    test = hypothesis.given(st.data())(check)
    test = hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.generate, hypothesis.Phase.shrink],
        verbosity=hypothesis.Verbosity.quiet,
    )(test)
    if seed is not None:
        test = hypothesis.seed(seed)(test)
    try:
        test()
    except AssertionError:
        return found[-1] if found else None  # hypothesis replays the shrunk example last
    except require("hypothesis.errors", where).Unsatisfiable:
        return None
    return None
