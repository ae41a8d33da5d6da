"""Model and training tests for PyTorch models.

Each check takes your own model, a batch and a loss function, works on a deep copy (your
model is never mutated by a check), and explains a failure in model terms. Each has a
pure function returning a result (``overfit_batch``, ``loss_curve``,
``params_update_report``, ``nonfinite_report``, ``determinism_report``,
``checkpoint_report``) and an ``assert_*`` wrapper that turns a failing result into a
test failure.

Batches
    * a tensor ``x``: ``outputs = model(x)``, ``loss = loss_fn(outputs)``;
    * a tuple or list ``(x, y)``: ``loss = loss_fn(model(x), y)``; longer tuples pass all
      but the last element to the model: ``model(*batch[:-1])``;
    * a dict: the target is the first of the keys ``y``, ``target``, ``targets``,
      ``label``, ``labels``; the other entries are keyword arguments of the model
      (``model(**inputs)``); without a target key, ``loss = loss_fn(outputs)``.

    For anything else (a custom loop, several losses, a model that returns its loss),
    pass ``step=lambda model, batch: loss`` instead of ``loss_fn``. With ``device=``,
    the model copy and every tensor of the batch are moved there.

Optimizers
    ``optimizer=None`` uses Adam with ``lr=DEFAULT_LR`` (1e-2): it makes small models
    overfit a small batch within the default 200 steps. A factory ``params -> optimizer``
    is called on the copy's parameters. An optimizer *instance* is deep-copied together
    with the model, so a wrong relation between them (an optimizer built over a model
    that was then re-created) is preserved and reported as the stale-optimizer bug.
"""

from __future__ import annotations

import copy
import fnmatch
import math
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_testkit import MltkUsageError, seeding
from mlops_testkit._format import message, table
from mlops_testkit.extras import require
from mlops_testkit.score import evidences

DEFAULT_LR = 1e-2
DEFAULT_STEPS = 200
DEFAULT_TARGET_SHARE = 0.05  # overfitting must bring the loss below 5% of its start
TARGET_KEYS = ("y", "target", "targets", "label", "labels")
DEVICE_MISMATCH = ("same device", "expected device", "device type", "is on cpu", "on different")

Step = Callable[[Any, Any], Any]


def _torch(needed_by: str) -> Any:
    return require("torch", needed_by)


# --- batches, models, optimizers ----------------------------------------------------


def _check_module(model: Any, where: str) -> None:
    torch = _torch(where)
    if not isinstance(model, torch.nn.Module):
        raise MltkUsageError(
            f"{where}: model must be a torch.nn.Module, got {type(model).__name__}"
        )


def _to_device(obj: Any, device: Any) -> Any:
    torch = sys.modules["torch"]
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, Mapping):
        return type(obj)((k, _to_device(v, device)) for k, v in obj.items())
    if isinstance(obj, tuple | list):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def _split(batch: Any, where: str) -> tuple[tuple[Any, ...], dict[str, Any], Any, bool]:
    """Split a batch into (model args, model kwargs, target, has_target)."""
    torch = sys.modules["torch"]
    if isinstance(batch, torch.Tensor):
        return (batch,), {}, None, False
    if isinstance(batch, tuple | list):
        if len(batch) == 0:
            raise MltkUsageError(f"{where}: batch is an empty {type(batch).__name__}")
        if len(batch) == 1:
            return (batch[0],), {}, None, False
        return tuple(batch[:-1]), {}, batch[-1], True
    if isinstance(batch, Mapping):
        key = next((k for k in TARGET_KEYS if k in batch), None)
        inputs = {k: v for k, v in batch.items() if k != key}
        if not inputs:
            raise MltkUsageError(f"{where}: batch dict has no input entries besides {key!r}")
        return (), inputs, (batch[key] if key else None), key is not None
    raise MltkUsageError(
        f"{where}: batch must be a tensor, a tuple/list (x, y) or a dict of tensors, "
        f"got {type(batch).__name__}"
    )


def _forward(model: Any, batch: Any, where: str) -> Any:
    args, kwargs, _, _ = _split(batch, where)
    return model(*args, **kwargs)


def _compute_loss(
    model: Any, batch: Any, loss_fn: Callable[..., Any] | None, step: Step | None, where: str
) -> Any:
    torch = sys.modules["torch"]
    if step is not None:
        loss = step(model, batch)
        origin = "step"
    else:
        args, kwargs, target, has_target = _split(batch, where)
        outputs = model(*args, **kwargs)
        loss = loss_fn(outputs, target) if has_target else loss_fn(outputs)  # type: ignore[misc]
        origin = "loss_fn"
    if not isinstance(loss, torch.Tensor):
        raise MltkUsageError(
            f"{where}: {origin} returned {type(loss).__name__}; expected a scalar tensor"
        )
    if loss.numel() != 1:
        raise MltkUsageError(
            f"{where}: {origin} returned a tensor of shape {tuple(loss.shape)}; expected a "
            "scalar: reduce it (e.g. reduction='mean')"
        )
    if not loss.requires_grad:
        raise MltkUsageError(
            f"{where}: the loss does not require grad: it is not connected to any trainable "
            "parameter (computed under torch.no_grad(), detached, or every parameter frozen)"
        )
    return loss.reshape(())


def _check_loss_args(loss_fn: Any, step: Any, where: str) -> None:
    if step is None and loss_fn is None:
        raise MltkUsageError(f"{where}: pass loss_fn, or step=lambda model, batch: loss")
    if step is not None and not callable(step):
        raise MltkUsageError(f"{where}: step must be callable (model, batch) -> loss")
    if step is None and not callable(loss_fn):
        raise MltkUsageError(f"{where}: loss_fn must be callable, got {type(loss_fn).__name__}")


def _check_positive(value: Any, name: str, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MltkUsageError(f"{where}: {name} must be a positive integer, got {value!r}")


def _copy_with_optimizer(model: Any, optimizer: Any, where: str) -> tuple[Any, Any]:
    torch = sys.modules["torch"]
    if optimizer is None:
        clone = copy.deepcopy(model)
        return clone, torch.optim.Adam(clone.parameters(), lr=DEFAULT_LR)
    if isinstance(optimizer, torch.optim.Optimizer):
        return copy.deepcopy((model, optimizer))
    if callable(optimizer):
        clone = copy.deepcopy(model)
        made = optimizer(clone.parameters())
        if not isinstance(made, torch.optim.Optimizer):
            raise MltkUsageError(
                f"{where}: the optimizer factory returned {type(made).__name__}; expected a "
                "torch.optim.Optimizer"
            )
        return clone, made
    raise MltkUsageError(
        f"{where}: optimizer must be a torch.optim.Optimizer, a factory params -> optimizer, "
        f"or None, got {type(optimizer).__name__}"
    )


def _prepare(model: Any, batch: Any, optimizer: Any, device: Any, where: str):
    clone, opt = _copy_with_optimizer(model, optimizer, where)
    if device is not None:
        clone.to(device)  # in place: the optimizer keeps pointing at the same parameters
        batch = _to_device(batch, device)
    return clone, opt, batch


def _stale_optimizer(model: Any, optimizer: Any) -> str | None:
    """Describe an optimizer that does not hold the model's trainable parameters."""
    in_opt = {id(p) for group in optimizer.param_groups for p in group["params"]}
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    foreign = len(in_opt - {id(p) for _, p in model.named_parameters()})
    missing = [n for n, p in trainable if id(p) not in in_opt]
    if not missing:
        return None
    if len(missing) == len(trainable) and foreign:
        return (
            f"the optimizer holds {foreign} parameter tensor(s), none of them the model's: it "
            "was built over another model (was the model re-created after the optimizer?)"
        )
    return (
        f"{len(missing)} trainable parameter(s) are not in the optimizer: "
        + ", ".join(missing[:8])
        + (f" (+{len(missing) - 8} more)" if len(missing) > 8 else "")
    )


def _device_hint(exc: BaseException, device: Any) -> str | None:
    text = str(exc)
    if isinstance(exc, RuntimeError) and any(s in text.lower() for s in DEVICE_MISMATCH):
        return (
            f"on device {device} the model raised {type(exc).__name__}: {text.splitlines()[0]}"
            "\n\nA tensor is probably created on the CPU inside forward (torch.zeros(...), "
            "torch.tensor(...)); create it with device=x.device or register it as a buffer."
        )
    return None


# --- overfit a batch, loss decreases ---------------------------------------------------


@dataclass
class TrainingCurve:
    """Losses of a short training run on one batch."""

    losses: list[float]
    steps: int
    target: float | None = None
    nonfinite_step: int | None = None
    problem: str | None = None

    @property
    def start(self) -> float:
        return self.losses[0] if self.losses else math.nan

    @property
    def end(self) -> float:
        return self.losses[-1] if self.losses else math.nan

    @property
    def best(self) -> float:
        finite = [v for v in self.losses if math.isfinite(v)]
        return min(finite) if finite else math.nan

    @property
    def best_step(self) -> int | None:
        finite = [(v, i) for i, v in enumerate(self.losses) if math.isfinite(v)]
        return min(finite)[1] + 1 if finite else None


def _train(
    model: Any,
    batch: Any,
    loss_fn: Callable[..., Any] | None,
    *,
    optimizer: Any,
    steps: int,
    device: Any,
    step: Step | None,
    where: str,
    stop_below: float | None = None,
    target_share: float | None = None,
) -> TrainingCurve:
    _check_module(model, where)
    _check_loss_args(loss_fn, step, where)
    _check_positive(steps, "steps", where)
    clone, opt, batch = _prepare(model, batch, optimizer, device, where)
    curve = TrainingCurve([], steps)
    stale = _stale_optimizer(clone, opt)
    if stale is not None:
        curve.problem = stale
    clone.train()
    try:
        for i in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = _compute_loss(clone, batch, loss_fn, step, where)
            value = loss.item()
            curve.losses.append(value)
            if not math.isfinite(value):
                curve.nonfinite_step = i + 1
                break
            if i == 0 and target_share is not None:
                stop_below = value * target_share
                curve.target = stop_below
            if stop_below is not None and value <= stop_below:
                break
            loss.backward()
            opt.step()
    except RuntimeError as exc:
        hint = _device_hint(exc, device)
        if hint is None:
            raise
        curve.problem = hint
    return curve


def overfit_batch(
    model: Any,
    batch: Any,
    loss_fn: Callable[..., Any] | None = None,
    *,
    optimizer: Any = None,
    steps: int = DEFAULT_STEPS,
    target_loss: float | None = None,
    device: Any = None,
    step: Step | None = None,
) -> TrainingCurve:
    """Train a copy of ``model`` on one batch; stop once the loss reaches the target.

    ``target_loss=None`` means 5% of the first step's loss (scale-free, so it suits
    cross-entropy and squared errors alike).

    Example::

        curve = overfit_batch(Net(), (x, y), nn.CrossEntropyLoss())
        print(curve.start, curve.best, curve.best_step)
    """
    where = "overfit_batch"
    if target_loss is not None and not (
        isinstance(target_loss, int | float) and math.isfinite(target_loss)
    ):
        raise MltkUsageError(f"{where}: target_loss must be a finite number, got {target_loss!r}")
    curve = _train(
        model,
        batch,
        loss_fn,
        optimizer=optimizer,
        steps=steps,
        device=device,
        step=step,
        where=where,
        stop_below=target_loss,
        target_share=None if target_loss is not None else DEFAULT_TARGET_SHARE,
    )
    if target_loss is not None:
        curve.target = float(target_loss)
    return curve


def _curve_problem(curve: TrainingCurve) -> str | None:
    if curve.problem:
        return curve.problem
    if curve.nonfinite_step is not None:
        kind = "nan" if math.isnan(curve.end) else "inf"
        return f"the loss became {kind} at step {curve.nonfinite_step}"
    return None


def _curve_table(curve: TrainingCurve) -> str:
    rows = [
        {"": "start", "loss": curve.start, "step": 1},
        {"": "best", "loss": curve.best, "step": curve.best_step},
        {"": "end", "loss": curve.end, "step": len(curve.losses)},
    ]
    return table(rows, ["", "loss", "step"])


@evidences("infra-2")
def assert_overfits_batch(
    model: Any,
    batch: Any,
    loss_fn: Callable[..., Any] | None = None,
    *,
    optimizer: Any = None,
    steps: int = DEFAULT_STEPS,
    target_loss: float | None = None,
    device: Any = None,
    step: Step | None = None,
) -> TrainingCurve:
    """Assert that training on one small batch drives the loss toward zero.

    A model that cannot memorise 32-64 examples has a bug: a loss on the wrong outputs
    (softmax before ``CrossEntropyLoss``), a frozen or detached layer, a learning rate
    of zero, a stale optimizer. Returns the :class:`TrainingCurve`.

    Example::

        def test_overfits(device):
            x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
            assert_overfits_batch(Net(), (x, y), nn.CrossEntropyLoss(), device=device)
    """
    __tracebackhide__ = True
    curve = overfit_batch(
        model,
        batch,
        loss_fn,
        optimizer=optimizer,
        steps=steps,
        target_loss=target_loss,
        device=device,
        step=step,
    )
    problem = _curve_problem(curve)
    from mlops_testkit.results import record

    passed = problem is None and curve.best <= (curve.target or 0.0)
    record(
        "loss_curve",
        losses=curve.losses,
        target=curve.target,
        device=str(device or "cpu"),
        passed=passed,
    )
    if passed:
        return curve
    where = f" on {device}" if device is not None else ""
    if problem is not None:
        headline = f"the model did not overfit one batch{where}: {problem}"
        hint = None if "device" in problem else _overfit_hint(curve)
    else:
        headline = (
            f"the model did not overfit one batch{where}: best loss {curve.best:.4g} after "
            f"{len(curve.losses)} steps, target {curve.target:.4g}"
        )
        hint = _overfit_hint(curve)
    raise AssertionError(message(headline, _curve_table(curve) if curve.losses else None, hint))


def _overfit_hint(curve: TrainingCurve) -> str:
    if curve.nonfinite_step is not None:
        return (
            "Look for log/sqrt/division of values that can be 0 or negative in the model or "
            "the loss, a learning rate that is too high, or inputs containing NaN."
        )
    if curve.losses and curve.best >= curve.start * 0.9:
        return (
            "The loss barely moved: check that every layer trains (assert_params_update), "
            "that the optimizer holds this model's parameters, and the learning rate."
        )
    return (
        "The loss fell but plateaued: check that the loss gets raw logits (no softmax or "
        "sigmoid before CrossEntropyLoss/BCEWithLogitsLoss), that labels match the outputs, "
        "and that the model has enough capacity; or raise steps= for a larger model."
    )


def loss_curve(
    model: Any,
    batch: Any,
    loss_fn: Callable[..., Any] | None = None,
    *,
    steps: int = 20,
    optimizer: Any = None,
    device: Any = None,
    step: Step | None = None,
) -> TrainingCurve:
    """Train a copy of ``model`` on one batch for ``steps`` steps and record the losses.

    Example::

        losses = loss_curve(Net(), (x, y), nn.MSELoss(), steps=50).losses
    """
    return _train(
        model,
        batch,
        loss_fn,
        optimizer=optimizer,
        steps=steps,
        device=device,
        step=step,
        where="loss_curve",
    )


def _window_means(losses: Sequence[float]) -> tuple[float, float, int]:
    window = max(1, len(losses) // 4)
    return (
        sum(losses[:window]) / window,
        sum(losses[-window:]) / window,
        window,
    )


@evidences("infra-2")
def assert_loss_decreases(
    model: Any,
    batch: Any,
    loss_fn: Callable[..., Any] | None = None,
    *,
    steps: int = 20,
    optimizer: Any = None,
    min_drop: float = 0.1,
    device: Any = None,
    step: Step | None = None,
) -> TrainingCurve:
    """Assert that a few training steps lower the loss by at least ``min_drop`` (relative).

    Robust to noisy losses (dropout, augmentation): it compares the *mean* loss of the
    first quarter of the steps with the mean of the last quarter, so one unlucky step
    cannot flip the verdict. ``min_drop=0.1`` asks for a 10% drop.

    Example::

        def test_learns(device):
            assert_loss_decreases(Net(), (x, y), nn.CrossEntropyLoss(), device=device)
    """
    __tracebackhide__ = True
    where = "assert_loss_decreases"
    if not isinstance(min_drop, int | float) or not 0 <= min_drop < 1:
        raise MltkUsageError(f"{where}: min_drop must be a share in [0, 1), got {min_drop!r}")
    curve = _train(
        model,
        batch,
        loss_fn,
        optimizer=optimizer,
        steps=steps,
        device=device,
        step=step,
        where=where,
    )
    problem = _curve_problem(curve)
    if problem is None:
        first, last, window = _window_means(curve.losses)
        drop = (first - last) / abs(first) if first else 0.0
        if drop >= min_drop:
            return curve
        problem = (
            f"mean loss of the last {window} step(s) is {last:.4g} vs {first:.4g} for the "
            f"first {window}: a {drop:.1%} drop, {min_drop:.0%} required"
        )
    raise AssertionError(
        message(
            f"the loss did not decrease over {len(curve.losses)} steps: {problem}",
            _curve_table(curve) if curve.losses else None,
            None if "device" in problem else _overfit_hint(curve),
        )
    )


# --- parameters update ------------------------------------------------------------------


@dataclass
class ParamsUpdateReport:
    """What one training step did to each parameter."""

    rows: list[dict[str, Any]] = field(default_factory=list)  # parameter, shape, problem
    frozen: list[str] = field(default_factory=list)
    total: int = 0  # parameters considered (after ``ignore``)
    stale_optimizer: str | None = None

    @property
    def passed(self) -> bool:
        return not self.rows and self.stale_optimizer is None


def _matches_any(name: str, patterns: Iterable[str]) -> bool:
    return any(name == p or fnmatch.fnmatchcase(name, p) for p in patterns)


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
    if isinstance(ignore, str) or (
        expect_trainable is not None
        and not isinstance(expect_trainable, bool)
        and isinstance(expect_trainable, str)
    ):
        raise MltkUsageError(f"{where}: ignore and expect_trainable take a list of names/globs")
    clone, opt, batch = _prepare(model, batch, optimizer, device, where)
    report = ParamsUpdateReport(stale_optimizer=_stale_optimizer(clone, opt))
    named = [(n, p) for n, p in clone.named_parameters() if not _matches_any(n, ignore)]
    report.total = len(named)
    before = {n: p.detach().clone() for n, p in named}
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
    if report.passed:
        return report
    parts = []
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


# --- finite values ---------------------------------------------------------------------


def _walk(obj: Any, path: str = "output") -> Iterator[tuple[str, Any]]:
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    is_tensor = torch is not None and isinstance(obj, torch.Tensor)
    if is_tensor or (np is not None and isinstance(obj, np.ndarray)):
        yield path, obj
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _walk(v, f"{path}[{k!r}]")
    elif isinstance(obj, tuple | list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")
    elif isinstance(obj, float):
        yield path, obj


def _count_nonfinite(value: Any) -> tuple[int, int, int]:
    torch = sys.modules.get("torch")
    if isinstance(value, float):
        return int(math.isnan(value)), int(math.isinf(value)), 1
    if torch is not None and isinstance(value, torch.Tensor):
        if not (value.is_floating_point() or value.is_complex()):
            return 0, 0, value.numel()
        v = value.detach()
        return int(v.isnan().sum()), int(v.isinf().sum()), v.numel()
    import numpy as np

    if not np.issubdtype(value.dtype, np.inexact):
        return 0, 0, int(value.size)
    return int(np.isnan(value).sum()), int(np.isinf(value).sum()), int(value.size)


def nonfinite_report(
    model_or_outputs: Any, batch: Any = None, *, grads: bool = False
) -> list[dict[str, Any]]:
    """Rows (where, nan, inf, of) for every tensor holding NaN or inf.

    With a model and a batch: its outputs on the batch (computed on a copy, so batch
    norm statistics of yours do not move), its parameters and buffers, and with
    ``grads=True`` the gradients of ``outputs.sum()``. With anything else: that object
    (tensors, arrays, floats, nested lists/tuples/dicts).

    Example::

        rows = nonfinite_report(model, x, grads=True)   # [] when everything is finite
    """
    torch = sys.modules.get("torch")
    where = "nonfinite_report"
    items: list[tuple[str, Any]] = []
    if torch is not None and isinstance(model_or_outputs, torch.nn.Module):
        if batch is None:
            raise MltkUsageError(f"{where}: pass a batch to check a model's outputs")
        clone = copy.deepcopy(model_or_outputs)
        if grads:
            outputs = _forward(clone, batch, where)
        else:
            with torch.no_grad():
                outputs = _forward(clone, batch, where)
        items += list(_walk(outputs))
        items += [(f"parameter {n}", p) for n, p in clone.named_parameters()]
        items += [(f"buffer {n}", b) for n, b in clone.named_buffers()]
        if grads:
            tensors = [t for _, t in _walk(outputs) if isinstance(t, torch.Tensor)]
            total = sum(t.float().sum() for t in tensors if t.requires_grad)
            if isinstance(total, torch.Tensor):
                total.backward()
            items += [
                (f"gradient {n}", p.grad)
                for n, p in clone.named_parameters()
                if p.grad is not None
            ]
    else:
        if grads:
            raise MltkUsageError(f"{where}: grads=True needs a torch.nn.Module and a batch")
        items = list(_walk(model_or_outputs))
        if not items:
            raise MltkUsageError(
                f"{where}: found no tensor, array or float in {type(model_or_outputs).__name__}"
            )
    rows = []
    for path, value in items:
        n_nan, n_inf, total = _count_nonfinite(value)
        if n_nan or n_inf:
            rows.append({"where": path, "nan": n_nan, "inf": n_inf, "of": total})
    return rows


@evidences("mon-5")
def assert_finite(model_or_outputs: Any, batch: Any = None, *, grads: bool = False) -> None:
    """Assert no NaN or inf in outputs (and parameters, buffers, gradients); say where.

    Example::

        def test_no_nan(device):
            assert_finite(Net().to(device), x.to(device), grads=True)
            assert_finite({"logits": logits, "loss": loss})
    """
    __tracebackhide__ = True
    rows = nonfinite_report(model_or_outputs, batch, grads=grads)
    if rows:
        total = sum(r["nan"] + r["inf"] for r in rows)
        raise AssertionError(
            message(
                f"{total} non-finite value(s) in {len(rows)} place(s)",
                table(rows, ["where", "nan", "inf", "of"]),
                "The first place in forward order is usually the cause: look for log/sqrt of "
                "values <= 0, division by zero, exp overflow, or NaN in the inputs.",
            )
        )


# --- output shape ------------------------------------------------------------------------


def _is_shape(obj: Any) -> bool:
    return isinstance(obj, tuple | list) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in obj
    )


def _check_expected_shape(expected: Any) -> None:
    if _is_shape(expected):
        return
    if isinstance(expected, Mapping) and expected:
        for sub in expected.values():
            _check_expected_shape(sub)
        return
    if isinstance(expected, tuple | list) and expected:
        for sub in expected:
            _check_expected_shape(sub)
        return
    raise MltkUsageError(
        "assert_output_shape: expected must be a shape like (None, 10) (None is a wildcard), "
        f"or a tuple/dict of shapes for several outputs, got {expected!r}"
    )


def _shape_problems(out: Any, expected: Any, dtype: Any, path: str) -> list[dict[str, Any]]:
    torch = sys.modules["torch"]
    if _is_shape(expected):
        if not isinstance(out, torch.Tensor):
            return [{"output": path, "got": type(out).__name__, "expected": str(tuple(expected))}]
        got = tuple(out.shape)
        rows = []
        if len(got) != len(expected) or any(
            e is not None and g != e for g, e in zip(got, expected, strict=False)
        ):
            dims = ["*" if e is None else str(e) for e in expected]
            shown = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
            rows.append({"output": path, "got": str(got), "expected": shown})
        if dtype is not None and out.dtype != dtype:
            rows.append({"output": path, "got": str(out.dtype), "expected": str(dtype)})
        return rows
    if isinstance(expected, Mapping):
        if not isinstance(out, Mapping):
            return [{"output": path, "got": type(out).__name__, "expected": "a mapping"}]
        rows = []
        for key, sub in expected.items():
            if key not in out:
                rows.append({"output": f"{path}[{key!r}]", "got": "missing", "expected": sub})
            else:
                rows += _shape_problems(out[key], sub, dtype, f"{path}[{key!r}]")
        return rows
    if isinstance(expected, tuple | list):
        if not isinstance(out, tuple | list) or len(out) != len(expected):
            got = f"{len(out)} outputs" if isinstance(out, tuple | list) else type(out).__name__
            return [{"output": path, "got": got, "expected": f"{len(expected)} outputs"}]
        rows = []
        for i, (o, e) in enumerate(zip(out, expected, strict=True)):
            rows += _shape_problems(o, e, dtype, f"{path}[{i}]")
        return rows
    _check_expected_shape(expected)
    return []


@evidences("infra-2")
def assert_output_shape(model: Any, batch: Any, expected: Any, *, dtype: Any = None) -> Any:
    """Assert the shape (and dtype) of the model's output on ``batch``; ``None`` is a
    wildcard. For several outputs, give a tuple or dict of shapes. Runs a copy of the
    model in eval mode without gradients; returns the outputs.

    Example::

        def test_shape():
            assert_output_shape(Net(), torch.zeros(4, 8), (None, 2), dtype=torch.float32)
    """
    __tracebackhide__ = True
    torch = _torch("assert_output_shape")
    where = "assert_output_shape"
    _check_module(model, where)
    _check_expected_shape(expected)
    clone = copy.deepcopy(model).eval()
    with torch.no_grad():
        outputs = _forward(clone, batch, where)
    rows = _shape_problems(outputs, expected, dtype, "output")
    if rows:
        raise AssertionError(
            message(
                f"the model's output does not match the expected shape in {len(rows)} place(s)",
                table(rows, ["output", "got", "expected"]),
                "Look for a missing squeeze/flatten/reshape, a wrong out_features, or a "
                "reduction over the wrong dim.",
            )
        )
    return outputs


# --- determinism ----------------------------------------------------------------------------


def _snapshot(obj: Any) -> Any:
    """A detached CPU copy of a result, so later runs cannot alias it."""
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    if torch is not None:
        if isinstance(obj, torch.nn.Module):
            return _snapshot(obj.state_dict())
        if isinstance(obj, torch.Tensor):
            return obj.detach().to("cpu", copy=True)
    if np is not None and isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, Mapping):
        return {k: _snapshot(v) for k, v in obj.items()}
    if isinstance(obj, tuple | list):
        items = [_snapshot(v) for v in obj]
        return items if isinstance(obj, list) else tuple(items)
    return copy.deepcopy(obj)


def _differences(a: Any, b: Any, atol: float, rtol: float, path: str) -> list[dict[str, Any]]:
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    if torch is not None and isinstance(a, torch.Tensor):
        if not isinstance(b, torch.Tensor):
            return [{"where": path, "difference": f"tensor vs {type(b).__name__}"}]
        if a.shape != b.shape or a.dtype != b.dtype:
            return [
                {
                    "where": path,
                    "difference": f"{tuple(a.shape)} {a.dtype} vs {tuple(b.shape)} {b.dtype}",
                }
            ]
        if a.is_floating_point() or a.is_complex():
            close = torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
        else:
            close = a == b
        n_diff = int((~close).sum())
        if n_diff == 0:
            return []
        diff = (a.double() - b.double()).abs() if not a.is_complex() else (a - b).abs()
        return [
            {
                "where": path,
                "difference": f"{n_diff} of {a.numel()} values differ, max |diff| "
                f"{float(diff.nan_to_num(nan=math.inf).max()):.3g}",
            }
        ]
    if np is not None and isinstance(a, np.ndarray):
        b_arr = np.asarray(b)
        if a.shape != b_arr.shape:
            return [{"where": path, "difference": f"shape {a.shape} vs {b_arr.shape}"}]
        if np.issubdtype(a.dtype, np.inexact):
            close = np.isclose(a, b_arr, rtol=rtol, atol=atol, equal_nan=True)
        else:
            close = a == b_arr
        n_diff = int((~close).sum())
        return (
            [{"where": path, "difference": f"{n_diff} of {a.size} values differ"}]
            if n_diff
            else []
        )
    if isinstance(a, Mapping):
        if not isinstance(b, Mapping) or set(a) != set(b):
            return [{"where": path, "difference": "different keys"}]
        rows = []
        for k in a:
            rows += _differences(a[k], b[k], atol, rtol, f"{path}[{k!r}]")
        return rows
    if isinstance(a, tuple | list):
        if not isinstance(b, tuple | list) or len(a) != len(b):
            return [{"where": path, "difference": "different lengths"}]
        rows = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            rows += _differences(x, y, atol, rtol, f"{path}[{i}]")
        return rows
    if isinstance(a, float) and isinstance(b, float):
        same = (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
        return [] if same else [{"where": path, "difference": f"{a!r} vs {b!r}"}]
    return [] if a == b else [{"where": path, "difference": f"{a!r} vs {b!r}"}]


@dataclass
class DeterminismReport:
    runs: int
    rows: list[dict[str, Any]] = field(default_factory=list)  # run, where, difference

    @property
    def passed(self) -> bool:
        return not self.rows


def determinism_report(
    fn: Callable[[], Any],
    *,
    runs: int = 2,
    seed: int | None = None,
    reseed: bool = True,
    atol: float = 0.0,
    rtol: float = 0.0,
) -> DeterminismReport:
    """Call ``fn`` ``runs`` times and compare every result with the first.

    Example::

        report = determinism_report(lambda: train(data, seed=0).model, seed=0)
        print(report.passed, report.rows[:3])
    """
    where = "determinism_report"
    if not callable(fn):
        raise MltkUsageError(f"{where}: fn must be a callable taking no argument")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 2:
        raise MltkUsageError(f"{where}: runs must be an integer >= 2, got {runs!r}")
    seed = 0 if seed is None else seed
    results = []
    for _ in range(runs):
        if reseed:
            seeding.reseed(seed)
        results.append(_snapshot(fn()))
    report = DeterminismReport(runs)
    for i, result in enumerate(results[1:], start=2):
        for row in _differences(results[0], result, atol, rtol, "result"):
            report.rows.append({"run": f"1 vs {i}", **row})
    return report


@evidences("infra-1")
def assert_deterministic(
    fn: Callable[[], Any],
    *,
    runs: int = 2,
    seed: int | None = None,
    reseed: bool = True,
    atol: float = 0.0,
    rtol: float = 0.0,
) -> DeterminismReport:
    """Assert that ``fn()`` returns the same thing every time it is called.

    Results may be tensors, arrays, modules (their state_dicts), numbers and nested
    lists/tuples/dicts of them. With ``reseed=True`` (for training) Python's, numpy's
    and torch's global RNGs are reseeded with ``seed`` (default 0; pass the ``seed``
    fixture to follow ``--mltk-seed``) before each call, so a difference means
    randomness the seed does not control: fresh entropy, an unseeded generator, a
    non-deterministic kernel. With ``reseed=False`` (for inference) RNGs are left
    alone, so any randomness at all shows up, e.g. dropout left on at prediction.

    Example::

        def test_training_is_reproducible(seed):
            assert_deterministic(lambda: train(data, seed=seed).model, seed=seed)

        def test_prediction_is_deterministic():
            assert_deterministic(lambda: predict(model, x), reseed=False)
    """
    __tracebackhide__ = True
    report = determinism_report(fn, runs=runs, seed=seed, reseed=reseed, atol=atol, rtol=rtol)
    if report.passed:
        return report
    hint = (
        "Something draws randomness the seed does not control: a generator created without "
        "a seed (torch.Generator(), np.random.default_rng()), os.urandom/uuid, a DataLoader "
        "worker without worker_init_fn, or a non-deterministic kernel "
        "(@pytest.mark.model(deterministic=True) turns on torch's deterministic algorithms)."
        if reseed
        else "Inference should not be random: call model.eval() before predicting (dropout "
        "and batch norm behave differently in train mode), and avoid sampling."
    )
    raise AssertionError(
        message(
            f"{fn.__name__ if hasattr(fn, '__name__') else 'fn'} is not deterministic: "
            f"{len(report.rows)} difference(s) across {runs} runs"
            + (f" (each reseeded with {0 if seed is None else seed})" if reseed else ""),
            table(report.rows, ["run", "where", "difference"]),
            hint,
        )
    )


# --- checkpoints ----------------------------------------------------------------------------


@dataclass
class CheckpointReport:
    rows: list[dict[str, Any]] = field(default_factory=list)  # entry, problem

    @property
    def passed(self) -> bool:
        return not self.rows


def _scrambled_copy(model: Any) -> Any:
    """A copy whose every parameter and buffer is garbage, so state the checkpoint fails
    to restore cannot hide behind the original's values."""
    torch = sys.modules["torch"]
    clone = copy.deepcopy(model)
    with torch.no_grad():
        for tensor in clone.state_dict().values():
            if tensor.is_floating_point():
                tensor.fill_(math.nan)
            elif tensor.dtype != torch.bool:
                tensor.fill_(-7)
    return clone


def checkpoint_report(
    model: Any,
    batch: Any,
    *,
    save: Callable[[Any, Path], Any] | None = None,
    load: Callable[[Path], Any] | None = None,
    tmp_path: Path | str | None = None,
    atol: float = 0.0,
) -> CheckpointReport:
    """Save ``model``, load it back, and list every state entry or output that differs.

    Example::

        rows = checkpoint_report(model, x, save=save_ckpt, load=load_ckpt).rows
    """
    torch = _torch("checkpoint_report")
    where = "checkpoint_report"
    _check_module(model, where)
    if (save is None) != (load is None):
        raise MltkUsageError(f"{where}: pass both save(model, path) and load(path) -> model")
    with tempfile.TemporaryDirectory(prefix="mltk-ckpt-") as tmp:
        path = Path(tmp_path if tmp_path is not None else tmp) / "mltk-checkpoint.pt"
        original = copy.deepcopy(model)
        if save is None:
            torch.save(original.state_dict(), path)
            loaded = _scrambled_copy(original)
            state = torch.load(path, weights_only=True)
            result = loaded.load_state_dict(state, strict=False)
            rows = [
                {"entry": k, "problem": "missing from the checkpoint"} for k in result.missing_keys
            ]
            rows += [
                {"entry": k, "problem": "unexpected in the checkpoint"}
                for k in result.unexpected_keys
            ]
        else:
            save(original, path)
            loaded = load(path)
            rows = []
            if not isinstance(loaded, torch.nn.Module):
                raise MltkUsageError(
                    f"{where}: load(path) returned {type(loaded).__name__}; "
                    "expected a torch.nn.Module"
                )
    report = CheckpointReport(rows)
    before, after = original.state_dict(), loaded.state_dict()
    for key in before:
        if key not in after:
            if not any(r["entry"] == key for r in report.rows):
                report.rows.append({"entry": key, "problem": "missing after loading"})
            continue
        diffs = _differences(_snapshot(before[key]), _snapshot(after[key]), atol, 0.0, key)
        kind = "buffer" if key not in dict(original.named_parameters()) else "parameter"
        for d in diffs:
            report.rows.append({"entry": key, "problem": f"{kind} differs: {d['difference']}"})
    for key in after:
        if key not in before:
            report.rows.append({"entry": key, "problem": "extra after loading"})
    original.eval()
    loaded.eval()
    device = next((t.device for t in before.values()), None)
    if device is not None:
        loaded.to(device)
    with torch.no_grad():
        out_before = _snapshot(_forward(original, batch, where))
        out_after = _snapshot(_forward(loaded, batch, where))
    for d in _differences(out_before, out_after, atol, 0.0, "output"):
        report.rows.append(
            {"entry": d["where"], "problem": f"eval output differs: {d['difference']}"}
        )
    return report


@evidences("infra-2")
def assert_checkpoint_roundtrip(
    model: Any,
    batch: Any,
    *,
    save: Callable[[Any, Path], Any] | None = None,
    load: Callable[[Path], Any] | None = None,
    tmp_path: Path | str | None = None,
    atol: float = 0.0,
) -> CheckpointReport:
    """Assert that saving and loading ``model`` loses nothing: an identical state_dict,
    buffers included (batch norm running statistics), and identical eval-mode outputs.

    Without ``save``/``load`` it round-trips ``model.state_dict()`` through
    ``torch.save``/``torch.load`` into a copy whose values were first overwritten, so
    anything not restored shows up. With your own ``save(model, path)`` and
    ``load(path) -> model`` it tests your checkpoint code.

    Example::

        def test_checkpoint(tmp_path):
            assert_checkpoint_roundtrip(trained, x, save=save_ckpt, load=load_ckpt,
                                        tmp_path=tmp_path)
    """
    __tracebackhide__ = True
    report = checkpoint_report(model, batch, save=save, load=load, tmp_path=tmp_path, atol=atol)
    if report.passed:
        return report
    raise AssertionError(
        message(
            f"the checkpoint round trip lost state: {len(report.rows)} difference(s)",
            table(report.rows, ["entry", "problem"]),
            "Save model.state_dict() (it includes buffers such as BatchNorm running_mean/"
            "running_var), not only named_parameters(), and load with strict=True.",
        )
    )


# --- devices agree -----------------------------------------------------------------------


@evidences("mon-3")
def assert_devices_agree(
    fn: Callable[[Any], Any],
    devices: Sequence[Any],
    *,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> dict[str, Any]:
    """Assert that ``fn(device)`` gives matching results on every device.

    Devices that are not available here are skipped (with their reason); fewer than two
    available devices skip the test. An error raised on one device (typically a tensor
    created on the CPU inside ``forward``) fails with a hint. Returns the CPU copies of
    the results by device.

    Example::

        def test_gpu_matches_cpu():
            assert_devices_agree(lambda d: Net().to(d)(x.to(d)), ["cpu", "cuda"])
    """
    __tracebackhide__ = True
    import pytest

    from mlops_testkit.devices import probe

    torch = _torch("assert_devices_agree")
    if isinstance(devices, str) or len(devices) < 2:
        raise MltkUsageError(
            f"assert_devices_agree: devices must list at least two devices, got {devices!r}"
        )
    names = [str(torch.device(d)) for d in devices]
    status = probe(sorted({torch.device(d).type for d in devices}))
    usable = [n for n in names if status[torch.device(n).type].available]
    if len(usable) < 2:
        missing = "; ".join(s.describe() for s in status.values() if not s.available)
        pytest.skip(f"assert_devices_agree needs two available devices of {names}: {missing}")
    results: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for name in usable:
        try:
            results[name] = _snapshot(fn(torch.device(name)))
        except RuntimeError as exc:
            hint = _device_hint(exc, name)
            if hint is None:
                raise
            rows.append({"device": name, "difference": hint.split("\n\n")[0]})
    reference = usable[0]
    for name in usable[1:]:
        if name in results and reference in results:
            for d in _differences(results[reference], results[name], atol, rtol, "result"):
                rows.append(
                    {
                        "device": f"{reference} vs {name}",
                        "difference": f"{d['where']}: {d['difference']}",
                    }
                )
    if rows:
        raise AssertionError(
            message(
                f"results differ across devices ({', '.join(usable)}): {len(rows)} problem(s)",
                table(rows, ["device", "difference"]),
                "Create tensors with device=x.device (or as buffers), and compare with a "
                "tolerance suited to the dtype: GPUs use other kernels (TF32 for float32 matmul).",
            )
        )
    return results
