"""Batches, models and optimizers: the plumbing every training check shares.

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
import sys
from collections.abc import Callable, Mapping
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit.extras import require

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


def degenerate_inputs(batch: Any, where: str) -> str | None:
    """Why the model inputs of ``batch`` cannot be evidence, or None: an input tensor of
    0 rows, or floating inputs that hold no finite value at all. Outputs computed from
    them prove nothing about the model (partly missing inputs are left to the model)."""
    torch = sys.modules["torch"]
    args, kwargs, _, _ = _split(batch, where)
    inputs = [v for v in (*args, *kwargs.values()) if isinstance(v, torch.Tensor)]
    if any(t.dim() > 0 and t.shape[0] == 0 for t in inputs):
        return "the batch has 0 rows: the outputs on it prove nothing"
    floating = [t for t in inputs if t.is_floating_point() or t.is_complex()]
    if floating and not any(bool(t.detach().isfinite().any()) for t in floating):
        return "every input value of the batch is NaN or inf: the outputs on it prove nothing"
    return None


def _call_model(model: Any, args: Any, kwargs: Any, where: str) -> Any:
    """Run the model; an exception it raises becomes the kit's error naming it (a device
    mismatch stays a RuntimeError, which the checks turn into a device hint)."""
    try:
        return model(*args, **kwargs)
    except RuntimeError as exc:
        if any(s in str(exc).lower() for s in DEVICE_MISMATCH):
            raise
        raise MltkUsageError(
            f"{where}: the model raised {type(exc).__name__} on the batch: {exc}"
        ) from exc
    except Exception as exc:
        raise MltkUsageError(
            f"{where}: the model raised {type(exc).__name__} on the batch: {exc}"
        ) from exc


def select_output(outputs: Any, output: Any, where: str) -> Any:
    """The tensor the checks judge: the model's output, or ``outputs[output]`` when the
    model returns a tuple or dict. Several outputs without ``output=`` are refused."""
    torch = sys.modules["torch"]
    if output is None:
        if isinstance(outputs, torch.Tensor):
            return outputs
        if isinstance(outputs, Mapping):
            raise MltkUsageError(
                f"{where}: the model returns a dict with keys {list(outputs)[:8]}; pass "
                "output=<key> to choose the one the loss takes"
            )
        if isinstance(outputs, tuple | list):
            raise MltkUsageError(
                f"{where}: the model returns a {type(outputs).__name__} of {len(outputs)} "
                "outputs; pass output=<index> to choose the one the loss takes"
            )
        return outputs
    if isinstance(outputs, torch.Tensor):  # indexing it would pick a row, not an output
        raise MltkUsageError(
            f"{where}: output={output!r} selects among a tuple's or dict's outputs, but the "
            "model returns one tensor; leave output= out"
        )
    try:
        return outputs[output]
    except (KeyError, IndexError, TypeError):
        shown = list(outputs)[:8] if isinstance(outputs, Mapping) else type(outputs).__name__
        raise MltkUsageError(
            f"{where}: output={output!r} does not select an output of the model ({shown})"
        ) from None


def _forward(model: Any, batch: Any, where: str) -> Any:
    args, kwargs, _, _ = _split(batch, where)
    return _call_model(model, args, kwargs, where)


def check_device(device: Any, where: str) -> Any:
    """``device`` as a usable ``torch.device``, or the kit's error saying why not (an
    unknown name, or a device this machine does not have)."""
    if device is None:
        return None
    torch = _torch(where)
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise MltkUsageError(
            f"{where}: device={device!r} is not a torch device; expected cpu, cuda, cuda:N or "
            "mps, or the 'device' fixture"
        ) from None
    from mlops_testkit.devices import probe

    if parsed.type in ("cpu", "cuda", "mps"):
        status = probe([parsed.type])[parsed.type]
        if not status.available:
            raise MltkUsageError(
                f"{where}: device={device!r} is not available here: {status.detail} (use the "
                "'device' fixture, which skips missing devices with the reason)"
            )
    return parsed


def _compute_loss(
    model: Any,
    batch: Any,
    loss_fn: Callable[..., Any] | None,
    step: Step | None,
    where: str,
    output: Any = None,
) -> Any:
    torch = sys.modules["torch"]
    if step is not None:
        loss = _user_call(step, (model, batch), "step", where)
        origin = "step"
    else:
        args, kwargs, target, has_target = _split(batch, where)
        outputs = select_output(_call_model(model, args, kwargs, where), output, where)
        loss = _user_call(
            loss_fn, (outputs, target) if has_target else (outputs,), "loss_fn", where
        )
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


def _user_call(fn: Any, args: tuple[Any, ...], name: str, where: str) -> Any:
    try:
        return fn(*args)
    except RuntimeError as exc:
        if any(s in str(exc).lower() for s in DEVICE_MISMATCH):
            raise
        raise MltkUsageError(f"{where}: {name} raised {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise MltkUsageError(f"{where}: {name} raised {type(exc).__name__}: {exc}") from exc


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


def no_trainable(model: Any) -> str | None:
    """Why nothing of ``model`` can learn, or None."""
    if any(p.requires_grad for p in model.parameters()):
        return None
    if not any(True for _ in model.parameters()):
        return f"the model ({type(model).__name__}) has no parameter: nothing can learn"
    return f"every parameter of the model ({type(model).__name__}) is frozen (requires_grad=False)"


def _copy_with_optimizer(model: Any, optimizer: Any, where: str) -> tuple[Any, Any]:
    torch = sys.modules["torch"]
    if optimizer is None and no_trainable(model):
        return copy.deepcopy(model), torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.0)
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
    device = check_device(device, where)
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
