"""The mutant's side of a mutation run: one pytest process, one mutant (or none, for a
clean run), started by :mod:`mlops_testkit.mutation.driver` with

- ``MLTK_MUTATE_OUT``: the JSON file this process writes at the end;
- ``MLTK_MUTANT``: ``name:seed`` of the operator to install (absent in a clean run);
- ``MLTK_MUTATE_SELECT``: a file of node ids; other tests are deselected.

It wraps ``nn.Module.__call__`` to give operators the outermost model calls, to record
which tests touch torch and to digest the outputs of the outermost calls (equivalence:
a mutant whose digests equal the clean run's changed nothing the tests could see). It
writes every test's outcome ("passed", "failed", "errored", "skipped") with its message,
the operator's trigger record and the in-process duration (no interpreter start-up).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

ENV_OUT = "MLTK_MUTATE_OUT"
ENV_MUTANT = "MLTK_MUTANT"
ENV_SELECT = "MLTK_MUTATE_SELECT"
PLUGIN_NAME = "mlops_testkit-mutation-runtime"


def start(config: pytest.Config) -> None:
    """Install the runtime (and the mutant) in this pytest process."""
    if config.pluginmanager.get_plugin(PLUGIN_NAME) is None:
        config.pluginmanager.register(Runtime(config), PLUGIN_NAME)


def parse_mutant(text: str) -> tuple[str, int]:
    name, _, seed = text.rpartition(":")
    if not name or not seed.isdigit():
        raise pytest.UsageError(
            f"mlops-testkit: {ENV_MUTANT}={text!r}; expected OPERATOR:SEED, e.g. frozen_layer:0"
        )
    return name, int(seed)


def _digest_into(hasher: Any, value: Any, depth: int = 0) -> bool:
    import torch

    if depth > 4:
        return False
    if isinstance(value, torch.Tensor):
        if not (value.is_floating_point() or value.dtype in (torch.int64, torch.bool)):
            return False
        array = value.detach().to("cpu", torch.float64).numpy().round(5) + 0.0
        hasher.update(str(tuple(array.shape)).encode())
        hasher.update(array.tobytes())
        return True
    if isinstance(value, (tuple, list)):
        return any([_digest_into(hasher, v, depth + 1) for v in value])
    if isinstance(value, dict):
        return any([_digest_into(hasher, value[k], depth + 1) for k in sorted(value, key=str)])
    return False


class _Depth:
    depth = 0


def wrap_module_call(patcher: Any, operator: Any, record: Any = None, state: Any = None) -> None:
    """Patch ``nn.Module.__call__`` so that the operator (``operator()``, or None) sees
    each outermost model call first and ``record`` sees its output."""
    import torch

    original = torch.nn.Module.__call__
    state = state if state is not None else _Depth()

    def __call__(module: Any, *args: Any, **kwargs: Any) -> Any:
        if state.depth:
            return original(module, *args, **kwargs)
        state.depth += 1
        try:
            # a model owns parameters; loss modules and activations called on their own
            # are not models: operators leave them alone and their outputs are not digested
            is_model = next(module.parameters(), None) is not None
            active = operator() if is_model else None
            if active is not None:
                changed = active.on_model(module, args, kwargs)
                if changed is not None:
                    args, kwargs = changed
            output = original(module, *args, **kwargs)
            if record is not None:
                record(output, is_model)
            return output
        finally:
            state.depth -= 1

    patcher.setattr(torch.nn.Module, "__call__", __call__)


@contextlib.contextmanager
def mutant(name: str, seed: int = 0, pluginmanager: Any = None) -> Iterator[Any]:
    """Install one mutant in this process inside the block; yields its
    :class:`~mlops_testkit.mutation.registry.Context` (``triggers``, ``targets``).

    Example::

        with mutant("frozen_layer") as ctx:
            with pytest.raises(AssertionError):
                assert_params_update(model, batch, loss_fn)
        assert ctx.triggers
    """
    from mlops_testkit import MltkUsageError
    from mlops_testkit.mutation.registry import Context, Patcher, available

    operators = available(pluginmanager)
    if name not in operators:
        raise MltkUsageError(
            f"name: unknown mutation operator {name!r}; known: {', '.join(operators)}"
        )
    ctx = Context(seed)
    patcher = Patcher()
    op = operators[name](ctx)
    try:
        op.install(patcher)
        wrap_module_call(patcher, lambda: op)
        yield ctx
    finally:
        patcher.undo()


class Runtime:
    def __init__(self, config: pytest.Config) -> None:
        from mlops_testkit.mutation.registry import Context, Patcher, available

        self.out = os.environ[ENV_OUT]
        select = os.environ.get(ENV_SELECT)
        self.select: set[str] | None = None
        if select:
            with open(select, encoding="utf-8") as f:
                self.select = set(json.load(f))
        self.tests: dict[str, dict[str, Any]] = {}
        self.current: str | None = None
        self.depth = 0
        self.patcher = Patcher()
        self.operator: Any = None
        self.ctx: Any = None
        self.error: str | None = None
        import torch

        mutant = os.environ.get(ENV_MUTANT)
        if mutant:
            name, seed = parse_mutant(mutant)
            operators = available(config.pluginmanager)
            if name not in operators:
                raise pytest.UsageError(
                    f"mlops-testkit: unknown mutation operator {name!r}; "
                    f"known: {', '.join(operators)}"
                )
            self.ctx = Context(seed)
            self.operator = operators[name](self.ctx)
            self.operator.install(self.patcher)
        self._wrap_call(torch)
        from torch.optim.optimizer import register_optimizer_step_post_hook

        handle = register_optimizer_step_post_hook(lambda *a: self._touch())
        self.patcher.on_undo(handle.remove)
        self.started = time.perf_counter()  # after torch's import, as in the clean runs

    def _wrap_call(self, torch: Any) -> None:
        wrap_module_call(self.patcher, lambda: self.operator, self._record, self)

    def _entry(self) -> dict[str, Any] | None:
        return self.tests.get(self.current) if self.current else None

    def _touch(self) -> None:
        entry = self._entry()
        if entry is not None:
            entry["torch"] = True

    def _record(self, output: Any, is_model: bool = True) -> None:
        entry = self._entry()
        if entry is None:
            return
        entry["torch"] = True
        if not is_model:
            return
        hasher = hashlib.sha256(entry["digest"].encode())
        if _digest_into(hasher, output):
            entry["digest"] = hasher.hexdigest()
            entry["calls"] += 1

    # --- pytest hooks ------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[Any]) -> None:
        if self.select is None:
            return
        keep = [i for i in items if i.nodeid in self.select]
        drop = [i for i in items if i.nodeid not in self.select]
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.current = nodeid
        self.tests.setdefault(
            nodeid, {"outcome": "passed", "message": "", "torch": False, "digest": "", "calls": 0}
        )

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.current = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
        report = yield
        entry = self.tests.get(item.nodeid)
        if entry is None or entry["outcome"] != "passed":
            return report
        markers = [
            m for m in ("model", "data", "behavioral", "gate") if item.get_closest_marker(m)
        ]
        entry["markers"] = markers
        if report.skipped and call.when in ("setup", "call"):
            entry["outcome"] = "skipped"
        elif report.failed:
            excinfo = call.excinfo
            assertion = excinfo is not None and (
                excinfo.errisinstance(AssertionError)
                or excinfo.errisinstance(pytest.fail.Exception)
            )
            entry["outcome"] = "failed" if assertion and call.when == "call" else "errored"
            if excinfo is not None:
                text = f"{excinfo.typename}: {excinfo.value}".strip()
            else:
                text = str(report.longrepr)
            entry["message"] = text.splitlines()[0][:300] if text else excinfo.typename
        return report

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.error = f"collection error in {report.nodeid}: " + str(report.longrepr)[-300:]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: Any, exitstatus: int) -> None:
        data = {
            "tests": self.tests,
            "duration": time.perf_counter() - self.started,
            "exitstatus": int(exitstatus),
            "operator": self.ctx.to_dict() if self.ctx is not None else None,
            "error": self.error,
        }
        tmp = self.out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, self.out)
        self.patcher.undo()
