"""Reproducibility: determinism, checkpoint round trips, devices agree."""

from __future__ import annotations

import copy
import math
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_testkit import MltkUsageError, seeding
from mlops_testkit._args import flag
from mlops_testkit._args import seed as seed_arg
from mlops_testkit._format import message, table
from mlops_testkit.reporting.results import CheckResult, record
from mlops_testkit.reporting.score import evidences
from mlops_testkit.training.batches import (
    _check_module,
    _device_hint,
    _forward,
    _torch,
    degenerate_inputs,
)
from mlops_testkit.training.compare import (
    _differences,
    _snapshot,
    check_tolerances,
    element_count,
    nonfinite_paths,
)

# --- determinism ----------------------------------------------------------------------------


@dataclass
class DeterminismReport(CheckResult):
    """Every difference between the first run's result and the others'."""

    kind = "determinism"
    runs: int
    rows: list[dict[str, Any]] = field(default_factory=list)  # run, where, difference
    name: str = "deterministic"

    @property
    def passed(self) -> bool:
        return not self.rows

    @property
    def headline(self) -> str:
        if self.passed:
            return f"identical results across {self.runs} runs"
        return f"{len(self.rows)} difference(s) across {self.runs} runs"


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
    check_tolerances(atol, rtol, where)
    seed = 0 if seed is None else seed_arg(seed, where)
    reseed = flag(reseed, "reseed", where)
    results = []
    for _ in range(runs):
        if reseed:
            seeding.reseed(seed)
        try:
            results.append(_snapshot(fn()))
        except Exception as exc:
            raise MltkUsageError(f"{where}: fn raised {type(exc).__name__}: {exc}") from exc
    report = DeterminismReport(runs)
    if results[0] is None:  # None == None proves nothing about determinism
        report.rows.append(
            {"run": "1", "where": "result", "difference": "fn returned None: nothing to compare"}
        )
    for path in nonfinite_paths(results[0])[:10]:  # NaN == NaN would prove nothing
        report.rows.append(
            {"run": "1", "where": path, "difference": "NaN/inf: nothing to compare"}
        )
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
    report = record(
        determinism_report(fn, runs=runs, seed=seed, reseed=reseed, atol=atol, rtol=rtol)
    )
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
class CheckpointReport(CheckResult):
    """Every state entry or output that the save/load round trip lost or changed."""

    kind = "checkpoint"
    rows: list[dict[str, Any]] = field(default_factory=list)  # entry, problem
    name: str = "checkpoint round trip"

    @property
    def passed(self) -> bool:
        return not self.rows

    @property
    def headline(self) -> str:
        if self.passed:
            return "the checkpoint round trip kept every state entry and the eval outputs"
        return f"the checkpoint round trip lost state: {len(self.rows)} difference(s)"


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


def _checkpoint_folder(tmp_path: Any, where: str) -> Path:
    """``tmp_path`` as a folder the checkpoint can be written in (created when missing);
    a path, not a folder, is the kit's usage error."""
    if isinstance(tmp_path, bool) or not isinstance(tmp_path, str | Path):
        raise MltkUsageError(f"{where}: tmp_path must be a folder path, got {tmp_path!r}")
    folder = Path(tmp_path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MltkUsageError(
            f"{where}: tmp_path {str(folder)!r} cannot be used as a folder: {exc.strerror or exc}"
        ) from None
    return folder


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
    check_tolerances(atol, 0.0, where)
    folder = None if tmp_path is None else _checkpoint_folder(tmp_path, where)
    with tempfile.TemporaryDirectory(prefix="mltk-ckpt-") as tmp:
        path = (folder or Path(tmp)) / "mltk-checkpoint.pt"
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
    if not before:
        report.rows.append(
            {"entry": "-", "problem": "the model has no state: nothing round-trips"}
        )
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
    degenerate = degenerate_inputs(batch, where)
    if degenerate is not None:
        report.rows.append({"entry": "batch", "problem": f"{degenerate}: nothing compared"})
    for path in nonfinite_paths(out_before, "output")[:10]:
        report.rows.append({"entry": path, "problem": "eval output is NaN/inf: nothing compared"})
    if degenerate is None and element_count(out_before) == 0:
        report.rows.append(
            {
                "entry": "output",
                "problem": "eval output is empty (a batch of 0 rows?): nothing compared",
            }
        )
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
    report = record(
        checkpoint_report(model, batch, save=save, load=load, tmp_path=tmp_path, atol=atol)
    )
    if report.passed:
        return report
    raise AssertionError(
        message(
            f"the checkpoint round trip lost state: {len(report.rows)} difference(s)",
            table(report.rows, ["entry", "problem"]),
            _checkpoint_hint(report.rows),
        )
    )


def _checkpoint_hint(rows: list[dict[str, Any]]) -> str:
    """What the differences point at: the state dict (which part), or only the outputs."""
    problems = [str(r["problem"]) for r in rows]
    state = [p for p in problems if not p.startswith("eval output")]
    if not state:
        return (
            "The state dict round-trips, but the eval outputs differ: something the model "
            "uses is not in its state dict. Common causes: a vocabulary, tokenizer or "
            "preprocessing file (a scaler's statistics) saved beside the weights or not at "
            "all, a config (sizes, flags) rebuilt with other values, a plain tensor "
            "attribute that is neither a parameter nor a registered buffer."
        )
    parts = []
    if any(p.startswith("buffer") for p in state):
        parts.append(
            "buffers differ: save model.state_dict() (it includes buffers such as "
            "BatchNorm running_mean/running_var), not only named_parameters()"
        )
    if any(p.startswith("parameter") for p in state):
        parts.append("parameters differ: the checkpoint holds other (or older) weights")
    if any(p.startswith(("missing", "extra")) for p in state):
        parts.append(
            "entries are missing or extra: load with strict=True, and build the model "
            "from the same config (sizes, layers) it was saved with"
        )
    return "The state dict differs: " + "; ".join(parts) + "."


# --- devices agree -----------------------------------------------------------------------


@dataclass
class DevicesAgreeReport(CheckResult):
    """The results of ``fn(device)`` per device, and every difference between them."""

    kind = "devices_agree"
    devices: list[str]
    results: dict[str, Any] = field(default_factory=dict)  # CPU copies, by device
    rows: list[dict[str, Any]] = field(default_factory=list)  # device, difference
    skipped: str | None = None  # why fewer than two devices could run
    name: str = "devices agree"

    @property
    def passed(self) -> bool:
        return not self.rows and self.skipped is None and len(self.results) >= 2

    @property
    def headline(self) -> str:
        if self.skipped is not None:
            return self.skipped
        if self.passed:
            return f"results agree across {', '.join(self.devices)}"
        return f"results differ across devices ({', '.join(self.devices)}): {len(self.rows)} problem(s)"

    def extra(self) -> dict[str, Any]:
        return {"devices": self.devices}


def devices_agree_report(
    fn: Callable[[Any], Any],
    devices: Sequence[Any],
    *,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> DevicesAgreeReport:
    """Run ``fn(device)`` on each available device of ``devices`` and compare the results
    with the first one's. Devices missing here are left out; with fewer than two left,
    ``skipped`` says why (and the report does not pass).

    Example::

        report = devices_agree_report(lambda d: Net().to(d)(x.to(d)), ["cpu", "cuda"])
        print(report.passed, report.skipped, report.rows)
    """
    from mlops_testkit.devices import probe
    from mlops_testkit.settings import DEVICE_NAMES

    where = "assert_devices_agree"
    torch = _torch(where)
    if isinstance(devices, str) or not isinstance(devices, Sequence) or len(devices) < 2:
        raise MltkUsageError(f"{where}: devices must list at least two devices, got {devices!r}")
    if not callable(fn):
        raise MltkUsageError(f"{where}: fn must be a callable taking a device")
    check_tolerances(atol, rtol, where)
    parsed = []
    for d in devices:
        try:
            parsed.append(torch.device(d))
        except (RuntimeError, TypeError, ValueError):
            raise MltkUsageError(
                f"{where}: {d!r} is not a torch device; expected names like "
                f"{', '.join(DEVICE_NAMES)} or cuda:1"
            ) from None
    names = [str(d) for d in parsed]
    status = probe(sorted({d.type for d in parsed if d.type in DEVICE_NAMES}))
    usable = [
        n
        for n, d in zip(names, parsed, strict=True)
        if d.type in status and status[d.type].available
    ]
    report = DevicesAgreeReport(usable)
    if len(usable) < 2:
        missing = "; ".join(s.describe() for s in status.values() if not s.available)
        report.skipped = f"assert_devices_agree needs two available devices of {names}: {missing}"
        return report
    for name in usable:
        try:
            report.results[name] = _snapshot(fn(torch.device(name)))
        except RuntimeError as exc:
            hint = _device_hint(exc, name)
            if hint is None:
                raise MltkUsageError(
                    f"{where}: fn raised {type(exc).__name__} on {name}: {exc}"
                ) from exc
            report.rows.append({"device": name, "difference": hint.split("\n\n")[0]})
        except Exception as exc:
            raise MltkUsageError(
                f"{where}: fn raised {type(exc).__name__} on {name}: {exc}"
            ) from exc
    reference = usable[0]
    for path in nonfinite_paths(report.results.get(reference))[:10]:
        report.rows.append(
            {"device": reference, "difference": f"{path}: NaN/inf, nothing compared"}
        )
    for name in usable[1:]:
        if name in report.results and reference in report.results:
            for d in _differences(
                report.results[reference], report.results[name], atol, rtol, "result"
            ):
                report.rows.append(
                    {
                        "device": f"{reference} vs {name}",
                        "difference": f"{d['where']}: {d['difference']}",
                    }
                )
    return report


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
    the results by device. (It compares devices, not pipelines: training/serving skew is
    ``assert_no_skew``.)

    Example::

        def test_gpu_matches_cpu():
            assert_devices_agree(lambda d: Net().to(d)(x.to(d)), ["cpu", "cuda"])
    """
    __tracebackhide__ = True
    import pytest

    report = devices_agree_report(fn, devices, rtol=rtol, atol=atol)
    if report.skipped is not None:
        pytest.skip(report.skipped)
    record(report)
    if report.rows:
        raise AssertionError(
            message(
                report.headline,
                table(report.rows, ["device", "difference"]),
                "Create tensors with device=x.device (or as buffers), and compare with a "
                "tolerance suited to the dtype: GPUs use other kernels (TF32 for float32 matmul).",
            )
        )
    return report.results
