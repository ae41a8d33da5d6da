"""Parameter checks: one training step updates every trainable parameter."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.reporting.results import CheckResult, record
from mlops_testkit.reporting.score import evidences
from mlops_testkit.training.batches import (
    Step,
    _check_loss_args,
    _check_module,
    _compute_loss,
    _device_hint,
    _prepare,
    _stale_optimizer,
    _torch,
    no_trainable,
)

# --- parameters update ------------------------------------------------------------------


@dataclass
class ParamsUpdateReport(CheckResult):
    """What one training step did to each parameter."""

    kind = "params_update"
    rows: list[dict[str, Any]] = field(default_factory=list)  # parameter, shape, problem
    frozen: list[str] = field(default_factory=list)
    total: int = 0  # parameters considered (after ``ignore``)
    stale_optimizer: str | None = None
    name: str = "parameters update"

    @property
    def passed(self) -> bool:
        return not self.rows and self.stale_optimizer is None and self.total > 0

    @property
    def headline(self) -> str:
        if self.total == 0 and not self.rows:
            return "no parameter was checked (every one ignored?): nothing was judged"
        if self.passed:
            return f"all {self.total} parameter(s) trained in one step"
        parts = []
        if self.stale_optimizer:
            parts.append(f"stale optimizer: {self.stale_optimizer}")
        if self.rows:
            parts.append(f"{len(self.rows)} of {self.total} parameter(s) did not train")
        return "; ".join(parts)


def _matches_any(name: str, patterns: Iterable[str]) -> bool:
    return any(name == p or fnmatch.fnmatchcase(name, p) for p in patterns)


def _check_names(names: Any, arg: str, where: str) -> None:
    """``names`` must be a list or tuple of parameter names or globs."""
    if isinstance(names, str) or not isinstance(names, list | tuple | set | frozenset):
        raise MltkUsageError(
            f"{where}: {arg} takes a list of parameter names or globs (e.g. ['encoder.*'])"
            f"{' or True' if arg == 'expect_trainable' else ''}, got {names!r}"
        )
    wrong = [n for n in names if not isinstance(n, str)]
    if wrong:
        raise MltkUsageError(
            f"{where}: {arg} takes parameter names or globs as strings; got {wrong[0]!r}"
        )


def params_update_report(
    model: Any,
    batch: Any,
    loss_fn: Callable[..., Any] | None = None,
    *,
    optimizer: Any = None,
    ignore: Sequence[str] = (),
    expect_trainable: bool | Sequence[str] | None = None,
    device: Any = None,
    step: Step | None = None,
) -> ParamsUpdateReport:
    """Take one training step on a copy of ``model`` and report every parameter that did
    not get a finite non-zero gradient or did not change. ``ignore`` and
    ``expect_trainable`` take parameter names or globs (``encoder.*``).

    Example::

        report = params_update_report(Net(), (x, y), loss, ignore=["embedding.*"])
        for row in report.rows:
            print(row["parameter"], row["problem"])
    """
    torch = _torch("params_update_report")
    where = "params_update_report"
    _check_module(model, where)
    _check_loss_args(loss_fn, step, where)
    _check_names(ignore, "ignore", where)
    if expect_trainable is not None and not isinstance(expect_trainable, bool):
        _check_names(expect_trainable, "expect_trainable", where)
    clone, opt, batch = _prepare(model, batch, optimizer, device, where)
    report = ParamsUpdateReport(stale_optimizer=_stale_optimizer(clone, opt))
    nothing = no_trainable(clone)
    named = [(n, p) for n, p in clone.named_parameters() if not _matches_any(n, ignore)]
    report.total = len(named)
    before = {n: p.detach().clone() for n, p in named}
    if nothing is not None and expect_trainable is not None:
        names = [n for n, _ in named]
        report.rows = [
            {"parameter": n, "shape": tuple(p.shape), "problem": "frozen (requires_grad=False)"}
            for n, p in named
            if expect_trainable is True or _matches_any(n, expect_trainable or ())
        ] or [{"parameter": "(model)", "shape": "", "problem": nothing}]
        report.frozen = [n for n in names if not any(r["parameter"] == n for r in report.rows)]
        return report
    if nothing is not None:
        report.rows.append({"parameter": "(model)", "shape": "", "problem": nothing})
        return report
    clone.train()
    opt.zero_grad(set_to_none=True)
    try:
        loss = _compute_loss(clone, batch, loss_fn, step, where)
    except RuntimeError as exc:
        hint = _device_hint(exc, device)
        if hint is None:
            raise
        report.rows.append({"parameter": "(forward)", "shape": "", "problem": hint})
        return report
    if not torch.isfinite(loss):
        report.rows.append(
            {"parameter": "(loss)", "shape": "", "problem": f"the loss is {loss.item()}"}
        )
        return report
    loss.backward()
    grads = {n: (None if p.grad is None else p.grad.detach().clone()) for n, p in named}
    opt.step()
    must_train = (
        (lambda n: True)
        if expect_trainable is True
        else (lambda n: _matches_any(n, expect_trainable or ()))
    )
    for name, param in named:
        shape = tuple(param.shape)
        if not param.requires_grad:
            if must_train(name):
                report.rows.append(
                    {"parameter": name, "shape": shape, "problem": "frozen (requires_grad=False)"}
                )
            else:
                report.frozen.append(name)
            continue
        grad = grads[name]
        if grad is None:
            problem = "no gradient: not connected to the loss (detached, or unused in forward)"
        elif not torch.isfinite(grad).all():
            n_nan, n_inf = int(grad.isnan().sum()), int(grad.isinf().sum())
            problem = f"non-finite gradient ({n_nan} nan, {n_inf} inf)"
        elif not grad.any():
            problem = "zero gradient"
        elif torch.equal(param.detach(), before[name]):
            problem = "unchanged after the optimizer step (not in the optimizer, or lr=0?)"
        else:
            continue
        report.rows.append({"parameter": name, "shape": shape, "problem": problem})
    return report


@evidences("infra-2")
def assert_params_update(
    model: Any,
    batch: Any,
    loss_fn: Callable[..., Any] | None = None,
    *,
    optimizer: Any = None,
    ignore: Sequence[str] = (),
    expect_trainable: bool | Sequence[str] | None = None,
    device: Any = None,
    step: Step | None = None,
) -> ParamsUpdateReport:
    """Assert that one training step gives every trainable parameter a finite, non-zero
    gradient and changes it.

    Names each parameter that did not train: detached from the graph, unused, frozen by
    mistake, or held by a stale optimizer. Parameters with ``requires_grad=False`` fail
    when ``expect_trainable`` names them (``True`` means all); otherwise they are
    counted in the message. ``ignore`` skips names or globs.

    Example::

        def test_every_layer_trains():
            assert_params_update(Net(), (x, y), nn.CrossEntropyLoss(), expect_trainable=True)
    """
    __tracebackhide__ = True
    report = params_update_report(
        model,
        batch,
        loss_fn,
        optimizer=optimizer,
        ignore=ignore,
        expect_trainable=expect_trainable,
        device=device,
        step=step,
    )
    record(report)
    if report.passed:
        return report
    parts = [] if report.total else [report.headline]
    if report.stale_optimizer:
        parts.append(f"stale optimizer: {report.stale_optimizer}")
    if report.rows:
        parts.append(f"{len(report.rows)} of {report.total} parameter(s) did not train")
    frozen_note = (
        f"{len(report.frozen)} parameter(s) are frozen (requires_grad=False) and were not "
        f"checked: {', '.join(report.frozen[:5])}" + (" ..." if len(report.frozen) > 5 else "")
        if report.frozen
        else None
    )
    hints = []
    if report.stale_optimizer:
        hints.append(
            "Build the optimizer after creating (and moving) the model, over model.parameters()."
        )
    problems = " ".join(r["problem"] for r in report.rows)
    if "frozen" in problems:
        hints.append(
            "Unfreeze what must train (module.requires_grad_(True)), or leave it out of "
            "expect_trainable if it is frozen on purpose."
        )
    if "no gradient" in problems or "zero gradient" in problems:
        hints.append(
            "A parameter without gradient is not on the path to the loss: look for .detach(), "
            ".item(), .numpy(), torch.no_grad() or a layer never called in forward."
        )
    hint = " ".join(hints) or None
    body = table(report.rows, ["parameter", "shape", "problem"]) if report.rows else None
    if frozen_note:
        body = f"{body}\n\n{frozen_note}" if body else frozen_note
    raise AssertionError(message("; ".join(parts), body, hint))
