"""Fit checks: overfit one batch, and the loss decreases.

Overfitting one batch
    The loss must reach the target (default: 5% of the first step's loss) within
    ``steps``. A loss is expected to be bounded below by 0: with the default target, a
    loss that goes negative fails (a flipped sign runs the loss towards minus infinity,
    far "below" any target, without learning anything). For a batch whose target is
    class indices, the fitted model must also predict the batch's labels (at least
    ``LABELS_REQUIRED`` of them): reaching a low loss while predicting other labels is
    a wrong loss, not a fit.

The loss decreases
    A trend test, not a fixed drop: the Mann-Kendall statistic of the losses over the
    steps is compared with its spread under "no trend" (ties included), and the check
    passes only when the downward trend is significant at ``alpha`` (default 0.05). So a
    healthy model on noisy labels, whose loss falls slowly through step-to-step noise,
    passes; a stuck one (learning rate 0, a detached graph, a frozen model) fails: its
    losses are flat or pure noise. ``min_drop`` optionally also asks for a relative drop
    of the mean loss between the first and the last quarter of the steps. Tested over
    fixed seeds in ``tests/test_training_stats.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.reporting.results import CheckResult, Renderer, Section, record, register
from mlops_testkit.reporting.score import evidences
from mlops_testkit.training.batches import (
    DEFAULT_STEPS,
    DEFAULT_TARGET_SHARE,
    Step,
    _check_loss_args,
    _check_module,
    _check_positive,
    _compute_loss,
    _device_hint,
    _prepare,
    _split,
    _stale_optimizer,
    no_trainable,
    select_output,
)

LABELS_REQUIRED = 0.95  # share of the batch's labels an overfitted classifier must predict
DEFAULT_ALPHA = 0.05


@dataclass
class TrainingCurve(CheckResult):
    """Losses of a short training run on one batch, and the check's verdict."""

    kind = "loss_curve"
    losses: list[float]
    steps: int
    target: float | None = None
    nonfinite_step: int | None = None
    problem: str | None = None
    name: str = ""  # the check: "overfit one batch" or "loss decreases"
    passed: bool = False
    device: str = "cpu"
    label_accuracy: float | None = None  # share of the batch's labels the model predicts
    trend_p: float | None = None  # one-sided Mann-Kendall p-value of a downward trend
    rows: list[dict[str, Any]] = field(default_factory=list)

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

    @property
    def headline(self) -> str:
        verdict = "passed" if self.passed else "failed"
        text = f"{self.name or 'training'} {verdict} on {self.device}: loss {self.start:.4g} -> "
        text += f"best {self.best:.4g} in {len(self.losses)} steps"
        return text + (f" ({self.problem})" if self.problem else "")

    def extra(self) -> dict[str, Any]:
        return {"losses": self.losses, "target": self.target, "device": self.device}


def _losses_table(curve: TrainingCurve) -> list[dict[str, Any]]:
    return [
        {"": "start", "loss": curve.start, "step": 1},
        {"": "best", "loss": curve.best, "step": curve.best_step},
        {"": "end", "loss": curve.end, "step": len(curve.losses)},
    ]


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
    output: Any = None,
    stop_below: float | None = None,
    target_share: float | None = None,
) -> tuple[TrainingCurve, Any, Any]:
    _check_module(model, where)
    _check_loss_args(loss_fn, step, where)
    _check_positive(steps, "steps", where)
    clone, opt, batch = _prepare(model, batch, optimizer, device, where)
    curve = TrainingCurve([], steps, device=str(device or "cpu"))
    frozen = no_trainable(clone)
    if frozen is not None:
        curve.problem = frozen
        return curve, clone, batch
    stale = _stale_optimizer(clone, opt)
    if stale is not None:
        curve.problem = stale
    clone.train()
    try:
        for i in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = _compute_loss(clone, batch, loss_fn, step, where, output)
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
            raise MltkUsageError(f"{where}: training raised {type(exc).__name__}: {exc}") from exc
        curve.problem = hint
    curve.rows = _losses_table(curve)
    return curve, clone, batch


def _label_accuracy(clone: Any, batch: Any, output: Any, where: str) -> float | None:
    """Share of the batch's class-index labels the trained copy predicts (None when the
    target is not class indices of the outputs' classes)."""
    import torch

    args, kwargs, target, has_target = _split(batch, where)
    if not has_target or not isinstance(target, torch.Tensor):
        return None
    if target.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8):
        return None
    clone.eval()
    with torch.no_grad():
        outputs = select_output(clone(*args, **kwargs), output, where)
    if not isinstance(outputs, torch.Tensor) or outputs.dim() != target.dim() + 1:
        return None
    if outputs.shape[0] != target.shape[0] or outputs.shape[1] < 2:
        return None
    predicted = outputs.argmax(dim=1)
    return float((predicted == target).float().mean())


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
    output: Any = None,
) -> TrainingCurve:
    """Train a copy of ``model`` on one batch; stop once the loss reaches the target, and
    judge the fit (see the module documentation). ``output`` selects the output the loss
    takes when the model returns a tuple or dict.

    ``target_loss=None`` means 5% of the first step's loss (scale-free, so it suits
    cross-entropy and squared errors alike).

    Example::

        curve = overfit_batch(Net(), (x, y), nn.CrossEntropyLoss())
        print(curve.passed, curve.start, curve.best, curve.best_step)
    """
    where = "overfit_batch"
    if target_loss is not None:
        if hasattr(target_loss, "item"):
            target_loss = target_loss.item()
        if isinstance(target_loss, bool) or not (
            isinstance(target_loss, int | float) and math.isfinite(target_loss)
        ):
            raise MltkUsageError(
                f"{where}: target_loss must be a finite number, got {target_loss!r}"
            )
    curve, clone, moved = _train(
        model,
        batch,
        loss_fn,
        optimizer=optimizer,
        steps=steps,
        device=device,
        step=step,
        where=where,
        output=output,
        stop_below=target_loss,
        target_share=None if target_loss is not None else DEFAULT_TARGET_SHARE,
    )
    curve.name = "overfit one batch"
    if target_loss is not None:
        curve.target = float(target_loss)
    if curve.problem is None and curve.nonfinite_step is None:
        if target_loss is None and curve.losses and min(curve.losses) < 0:
            step_at = next(i for i, v in enumerate(curve.losses) if v < 0) + 1
            curve.problem = (
                f"the loss went negative ({min(curve.losses):.4g}; below 0 from step "
                f"{step_at}): a loss bounded below by 0 was expected, and one that falls "
                "without bound (a flipped sign?) proves no fit; pass target_loss= for a "
                "loss that can be negative"
            )
        elif step is None and curve.best <= (curve.target or 0.0):
            curve.label_accuracy = _label_accuracy(clone, moved, output, where)
            if curve.label_accuracy is not None and curve.label_accuracy < LABELS_REQUIRED:
                curve.problem = (
                    f"the loss reached its target, but the fitted model predicts only "
                    f"{curve.label_accuracy:.0%} of the batch's labels (at least "
                    f"{LABELS_REQUIRED:.0%} expected): the loss does not measure the fit "
                    "(a flipped sign, or a loss on the wrong outputs?)"
                )
    curve.passed = _curve_problem(curve) is None and curve.best <= (curve.target or 0.0)
    return curve


def _curve_problem(curve: TrainingCurve) -> str | None:
    if curve.problem:
        return curve.problem
    if curve.nonfinite_step is not None:
        kind = "nan" if math.isnan(curve.end) else "inf"
        return f"the loss became {kind} at step {curve.nonfinite_step}"
    if not curve.losses:
        return "no training step ran"
    return None


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
    output: Any = None,
) -> TrainingCurve:
    """Assert that training on one small batch drives the loss toward zero.

    A model that cannot memorise 32-64 examples has a bug: a loss on the wrong outputs
    (softmax before ``CrossEntropyLoss``), a frozen or detached layer, a learning rate
    of zero, a stale optimizer, a flipped sign. Returns the :class:`TrainingCurve`.

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
        output=output,
    )
    record(curve)
    if curve.passed:
        return curve
    problem = _curve_problem(curve)
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
    body = table(curve.rows, ["", "loss", "step"]) if curve.losses else None
    raise AssertionError(message(headline, body, hint))


def _overfit_hint(curve: TrainingCurve) -> str:
    if curve.nonfinite_step is not None:
        return (
            "Look for log/sqrt/division of values that can be 0 or negative in the model or "
            "the loss, a learning rate that is too high, or inputs containing NaN."
        )
    if (curve.losses and min(curve.losses) < 0) or curve.label_accuracy is not None:
        return (
            "Check the loss's sign and what it is computed on: minimising it must make the "
            "model predict the targets."
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


# --- the loss decreases -----------------------------------------------------------------


def mann_kendall_p(values: Sequence[float]) -> float:
    """One-sided p-value of a *downward* trend (Mann-Kendall, normal approximation with
    the tie correction and a continuity correction). 1.0 for a flat series.

    >>> mann_kendall_p([5, 4, 3, 2, 1, 0, -1, -2]) < 0.01
    True
    >>> mann_kendall_p([1.0] * 10)
    1.0
    """
    from collections import Counter

    n = len(values)
    if n < 3:
        return 1.0
    s = 0
    for i in range(n - 1):
        for j in range(i + 1, n):
            diff = values[j] - values[i]
            s += (diff > 0) - (diff < 0)
    ties = Counter(values).values()
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties)) / 18
    if var <= 0 or s >= 0:
        return 1.0 if s >= 0 or var <= 0 else 0.0
    z = (s + 1) / math.sqrt(var)  # continuity correction towards 0
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _window_means(losses: Sequence[float]) -> tuple[float, float, int]:
    window = max(1, len(losses) // 4)
    return sum(losses[:window]) / window, sum(losses[-window:]) / window, window


def loss_curve(
    model: Any,
    batch: Any,
    loss_fn: Callable[..., Any] | None = None,
    *,
    steps: int = 20,
    optimizer: Any = None,
    min_drop: float = 0.0,
    alpha: float = DEFAULT_ALPHA,
    device: Any = None,
    step: Step | None = None,
    output: Any = None,
) -> TrainingCurve:
    """Train a copy of ``model`` on one batch for ``steps`` steps, record the losses, and
    judge the trend (the report twin of :func:`assert_loss_decreases`).

    Example::

        curve = loss_curve(Net(), (x, y), nn.MSELoss(), steps=50)
        print(curve.passed, curve.trend_p, curve.losses[:3])
    """
    where = "loss_curve"
    if (
        isinstance(min_drop, bool)
        or not isinstance(min_drop, int | float)
        or not 0 <= min_drop < 1
    ):
        raise MltkUsageError(f"{where}: min_drop must be a share in [0, 1), got {min_drop!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise MltkUsageError(f"{where}: alpha must be in (0, 1), got {alpha!r}")
    if isinstance(steps, int) and not isinstance(steps, bool) and 0 < steps < 8:
        raise MltkUsageError(f"{where}: steps must be >= 8 for a trend test, got {steps}")
    curve, _, _ = _train(
        model,
        batch,
        loss_fn,
        optimizer=optimizer,
        steps=steps,
        device=device,
        step=step,
        where=where,
        output=output,
    )
    curve.name = "loss decreases"
    if _curve_problem(curve) is not None:
        return curve
    curve.trend_p = mann_kendall_p(curve.losses)
    first, last, window = _window_means(curve.losses)
    drop = (first - last) / abs(first) if first else 0.0
    curve.rows.append({"": "trend p", "loss": curve.trend_p, "step": f"alpha {alpha:g}"})
    if curve.trend_p >= alpha:
        curve.problem = (
            f"no significant downward trend (Mann-Kendall p = {curve.trend_p:.3g} >= "
            f"alpha {alpha:g}): the losses are flat or noise"
        )
    elif drop < min_drop:
        curve.problem = (
            f"mean loss of the last {window} step(s) is {last:.4g} vs {first:.4g} for the "
            f"first {window}: a {drop:.1%} drop, {min_drop:.0%} required"
        )
    curve.passed = curve.problem is None
    return curve


@evidences("infra-2")
def assert_loss_decreases(
    model: Any,
    batch: Any,
    loss_fn: Callable[..., Any] | None = None,
    *,
    steps: int = 20,
    optimizer: Any = None,
    min_drop: float = 0.0,
    alpha: float = DEFAULT_ALPHA,
    device: Any = None,
    step: Step | None = None,
    output: Any = None,
) -> TrainingCurve:
    """Assert that a few training steps lower the loss: a significant downward trend.

    The losses of ``steps`` steps are judged against their own step-to-step noise
    (Mann-Kendall trend test at ``alpha``), so noisy but healthy training passes and a
    stuck model fails; ``min_drop`` (default 0) optionally also asks for a relative drop
    between the first and last quarter of the steps. See the module documentation.

    Example::

        def test_learns(device):
            assert_loss_decreases(Net(), (x, y), nn.CrossEntropyLoss(), device=device)
    """
    __tracebackhide__ = True
    curve = loss_curve(
        model,
        batch,
        loss_fn,
        steps=steps,
        optimizer=optimizer,
        min_drop=min_drop,
        alpha=alpha,
        device=device,
        step=step,
        output=output,
    )
    record(curve)
    if curve.passed:
        return curve
    problem = _curve_problem(curve) or "no decrease"
    raise AssertionError(
        message(
            f"the loss did not decrease over {len(curve.losses)} steps: {problem}",
            table(curve.rows, ["", "loss", "step"]) if curve.losses else None,
            None if "device" in problem else _overfit_hint(curve),
        )
    )


# --- how loss curves show ---------------------------------------------------------------


def _sections(results: list[dict[str, Any]]) -> list[Section]:
    from mlops_testkit.reporting.plots import line

    out = []
    for curve in results[:6]:
        losses = curve.get("losses") or []
        if not losses:
            continue
        image, text = line(losses, xlabel="step", ylabel="loss")
        title = f"Loss curve: {curve.get('test_id')} ({curve.get('device')})"
        out.append(Section(title, text=text, image=image, note=curve.get("name") or None))
    return out


def _junit(result: dict[str, Any]) -> list[tuple[str, str]]:
    verdict = "pass" if result.get("passed") else "FAIL"
    return [(f"mltk_training:{result.get('name')}", f"{verdict}: {result.get('headline')}")]


register(Renderer("loss_curve", junit=_junit, sections=_sections, json_key="loss_curves"))
