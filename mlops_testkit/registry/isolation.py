"""A registered model judged with its own code.

A model logged with ``code_paths=["textclf"]`` carries its own copy of ``textclf``. MLflow
loads it by putting that copy first on ``sys.path``, but a module the test process has
already imported (the working tree's ``textclf``, which the candidate's tests use) stays
in ``sys.modules``: the champion would run the candidate's code. So before loading, the
model's packaged modules are compared with what this process imported, or would import,
under the same names. When one differs (:func:`conflicts`), the model is loaded in a
process of its own (:class:`IsolatedModel`): a child Python with the model's code first
on the path, behind the same ``predict(data)``. Data and predictions travel as pickles
over the child's pipes; the child's own prints go to its stderr.

mlflow is imported only by the child and inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_COMPARED_BYTES = 64 * 1024 * 1024  # a code_paths tree larger than this is "different"
SKIPPED_PARTS = ("__pycache__",)


class IsolationError(RuntimeError):
    """The isolated model could not start or answer; the message says why."""


@dataclass(frozen=True)
class Conflict:
    """A module the model packages that this process imports from elsewhere, differently."""

    module: str
    packaged: Path  # the model's copy
    found: Path  # where this process has it (or would import it from)

    def describe(self) -> str:
        return f"{self.module!r}: the model's {self.packaged} vs this process's {self.found}"


def code_dirs(local_path: str | Path) -> list[Path]:
    """The ``code_paths`` folders the model's flavours name (``MLmodel``: ``code: code``)."""
    import yaml

    mlmodel = Path(local_path) / "MLmodel"
    try:
        conf = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    found = []
    for flavor in (conf.get("flavors") or {}).values():
        code = flavor.get("code") if isinstance(flavor, dict) else None
        if isinstance(code, str) and code and (Path(local_path) / code).is_dir():
            found.append(Path(local_path) / code)
    return list(dict.fromkeys(found))


def packaged_modules(local_path: str | Path) -> dict[str, Path]:
    """Top-level module name -> the model's copy (a package folder or a ``.py`` file)."""
    modules: dict[str, Path] = {}
    for code in code_dirs(local_path):
        for entry in sorted(code.iterdir()):
            if entry.is_dir() and entry.name.isidentifier() and entry.name not in SKIPPED_PARTS:
                modules.setdefault(entry.name, entry)
            elif entry.suffix == ".py" and entry.stem.isidentifier():
                modules.setdefault(entry.stem, entry)
    return modules


def _where_here(name: str) -> Path | None:
    """Where this process has ``name`` (imported), or would import it from; None if
    nowhere. A package is its folder, a module its file."""
    module = sys.modules.get(name)
    if module is not None:
        paths = list(getattr(module, "__path__", None) or [])
        if paths:
            return Path(paths[0])
        file = getattr(module, "__file__", None)
        return Path(file) if file else None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin) if spec.origin and spec.has_location else None


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    if root.is_file():
        yield root.name, root
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        cached = any(p in SKIPPED_PARTS for p in rel.parts) or path.suffix in (".pyc", ".pyo")
        if path.is_file() and not cached:
            yield rel.as_posix(), path


def same_code(a: Path, b: Path) -> bool:
    """The two copies hold the same files with the same bytes (caches ignored)."""
    if a.is_file() != b.is_file():
        return False
    files_a, files_b = dict(_files(a)), dict(_files(b))
    if files_a.keys() != files_b.keys():
        return False
    total = 0
    for rel, path in files_a.items():
        other = files_b[rel]
        try:
            size = path.stat().st_size
            if size != other.stat().st_size:
                return False
            total += size
            if total > MAX_COMPARED_BYTES or path.read_bytes() != other.read_bytes():
                return False
        except OSError:
            return False
    return True


def conflicts(local_path: str | Path) -> list[Conflict]:
    """The model's packaged modules that this process has, or would import, from
    elsewhere with other contents: loading the model here would run the wrong code."""
    found = []
    for name, packaged in packaged_modules(local_path).items():
        here = _where_here(name)
        if here is None or not here.exists():
            continue
        try:
            if here.resolve() == packaged.resolve():
                continue
        except OSError:
            pass
        if not same_code(packaged, here):
            found.append(Conflict(name, packaged, here))
    return found


# The child: loads the model with its code first on the path, then answers requests.
# Kept free of mlops_testkit imports so that it runs whatever the test process imported.
_CHILD = r"""
import os, pickle, struct, sys, traceback
proto_in = os.fdopen(os.dup(0), "rb")
proto_out = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)  # the model's own prints go to stderr, never into the protocol
devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(devnull, 0)

def send(message):
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    proto_out.write(struct.pack("<Q", len(data)))
    proto_out.write(data)
    proto_out.flush()

def receive():
    head = proto_in.read(8)
    if len(head) < 8:
        sys.exit(0)
    (size,) = struct.unpack("<Q", head)
    return pickle.loads(proto_in.read(size))

def error(exc):
    return ("error", type(exc).__name__, str(exc), traceback.format_exc())

local_path, expected = sys.argv[1], sys.argv[2:]
try:
    import mlflow.pyfunc
    model = mlflow.pyfunc.load_model(local_path)
    wrong = []
    for pair in expected:
        name, _, root = pair.partition("=")
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), None)
        if module is not None and where and not os.path.realpath(where).startswith(os.path.realpath(root)):
            wrong.append(f"{name} from {where}")
    if wrong:
        raise ImportError("the model's own code was not used: " + ", ".join(wrong))
    send(("ready", sorted(model.metadata.flavors)))
except BaseException as exc:
    send(error(exc))
    sys.exit(1)
while True:
    request = receive()
    if request[0] == "close":
        break
    try:
        send(("ok", model.predict(request[1], **request[2])))
    except BaseException as exc:
        send(error(exc))
"""


class IsolatedModel:
    """A model loaded in a child process with its own code first on the path.

    ``predict(data)`` sends ``data`` to the child and returns its prediction; an error
    in the model comes back as :class:`IsolationError` with the child's message and
    traceback. ``close()`` (or the end of the process) stops the child.
    """

    def __init__(self, local_path: str | Path, found: list[Conflict], label: str) -> None:
        import subprocess
        import tempfile
        import weakref

        self.label = label
        self.conflicts = list(found)
        self._cwd = tempfile.mkdtemp(prefix="mltk-isolated-")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        expected = [f"{c.module}={c.packaged.parent}" for c in found]
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(local_path), *expected],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self._cwd,
            env=env,
        )
        self._stderr: list[bytes] = []
        self._drain = _drain_stderr(self._proc, self._stderr)
        self._finalizer = weakref.finalize(self, _stop, self._proc, self._cwd)
        answer = self._receive("load the model")
        self.flavors: list[str] = list(answer[1])

    def predict(self, data: Any, **params: Any) -> Any:
        """The model's prediction for ``data``, computed by the model's own code."""
        self._send(("predict", data, params))
        return self._receive("predict")[1]

    def close(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(IsolationError):
                self._send(("close",))
        self._finalizer()

    def _send(self, message: Any) -> None:
        import pickle
        import struct

        if self._proc.poll() is not None or self._proc.stdin is None:
            raise IsolationError(f"{self.label}: its isolated process has exited{self._tail()}")
        try:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise IsolationError(
                f"{self.label}: the data cannot be sent to the model's own process "
                f"(not picklable: {type(exc).__name__}: {exc})"
            ) from None
        try:
            self._proc.stdin.write(struct.pack("<Q", len(data)))
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except OSError:
            raise IsolationError(
                f"{self.label}: its isolated process has exited{self._tail()}"
            ) from None

    def _receive(self, what: str) -> tuple[Any, ...]:
        import pickle
        import struct

        assert self._proc.stdout is not None
        head = self._proc.stdout.read(8)
        if len(head) < 8:
            self._proc.wait(timeout=30)
            raise IsolationError(
                f"{self.label}: its isolated process exited (code {self._proc.returncode}) "
                f"while trying to {what}{self._tail()}"
            )
        (size,) = struct.unpack("<Q", head)
        answer = pickle.loads(self._proc.stdout.read(size))
        if answer[0] == "error":
            _, name, text, trace = answer
            raise IsolationError(
                f"{self.label} (run with its own code in a separate process) could not "
                f"{what}: {name}: {text}\n\nIn the model's process:\n{trace}"
            )
        return tuple(answer)

    def _tail(self) -> str:
        self._drain.join(timeout=2)
        text = b"".join(self._stderr).decode(errors="replace").strip()
        return f"; its stderr ends:\n{text[-2000:]}" if text else ""


def _drain_stderr(proc: Any, sink: list[bytes]) -> Any:
    """Read the child's stderr in a thread (a full pipe would block it), keeping a tail."""
    import threading

    def run() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            sink.append(line)
            if len(sink) > 200:
                del sink[:100]

    thread = threading.Thread(target=run, name="mltk-isolated-stderr", daemon=True)
    thread.start()
    return thread


def _stop(proc: Any, cwd: str) -> None:
    import shutil
    import subprocess

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    shutil.rmtree(cwd, ignore_errors=True)
