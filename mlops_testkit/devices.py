"""The device matrix: which torch devices exist here, and which a test runs on.

Probing imports torch, so it happens only when something needs it (a test that uses
the ``device`` fixture, or ``mlops-testkit devices``), never when the plugin loads.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mlops_testkit.extras import install_line
from mlops_testkit.settings import DEVICE_NAMES


@dataclass(frozen=True)
class DeviceStatus:
    """Whether one device can be used here, and why (not)."""

    name: str
    available: bool
    detail: str

    def describe(self) -> str:
        return f"{self.name} ({self.detail})" if self.detail else self.name


def torch_installed() -> bool:
    """True if torch can be imported, without importing it."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    return importlib.util.find_spec("torch") is not None


def probe(names: Iterable[str] = DEVICE_NAMES) -> dict[str, DeviceStatus]:
    """Probe each named device with torch; imports torch if it is installed.

    >>> probe(["cpu"])["cpu"].available  # doctest: +SKIP
    True
    """
    try:
        import torch
    except ImportError:
        reason = f"torch is not installed: {install_line('torch')}"
        return {n: DeviceStatus(n, False, reason) for n in names}
    return {n: _probe_one(torch, n) for n in names}


def _probe_one(torch, name: str) -> DeviceStatus:
    if name == "cpu":
        return DeviceStatus("cpu", True, "")
    if name == "cuda":
        if torch.version.cuda is None:
            return DeviceStatus(
                "cuda", False, f"torch {torch.__version__} is a CPU-only build without CUDA"
            )
        if not torch.cuda.is_available():
            return DeviceStatus(
                "cuda", False, "torch.cuda.is_available() is False: no usable NVIDIA GPU or driver"
            )
        count = torch.cuda.device_count()
        return DeviceStatus("cuda", True, f"{count} x {torch.cuda.get_device_name(0)}")
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_built():
            return DeviceStatus("mps", False, "torch was built without MPS (Apple silicon only)")
        if not mps.is_available():
            return DeviceStatus("mps", False, "torch.backends.mps.is_available() is False")
        return DeviceStatus("mps", True, "Apple Metal")
    raise ValueError(f"unknown device {name!r}; expected one of {', '.join(DEVICE_NAMES)}")


def check_marker_names(names: Sequence[object], where: str) -> tuple[str, ...]:
    """Validate the arguments of ``@pytest.mark.devices(...)``."""
    bad = [n for n in names if n not in DEVICE_NAMES]
    if bad or not names:
        shown = ", ".join(repr(b) for b in bad) if bad else "no device"
        raise ValueError(
            f"{where}: @pytest.mark.devices got {shown}; expected one or more of "
            f"{', '.join(repr(d) for d in DEVICE_NAMES)}, e.g. @pytest.mark.devices('cpu', 'cuda')"
        )
    return tuple(dict.fromkeys(str(n) for n in names))


def devices_for_test(
    requested: tuple[str, ...] | None,
    marker_names: tuple[str, ...] | None,
    available: dict[str, DeviceStatus] | None,
) -> tuple[list[str], dict[str, str]]:
    """Decide the parameters of one test's ``device`` fixture.

    Returns the device names to parametrize with and, for names that must not run,
    the reason they are skipped. ``requested`` is the run's explicit selection (None
    means "every available device"); ``marker_names`` narrows it for one test;
    ``available`` is the probe result (needed only when ``requested`` is None).
    """
    if requested is None:
        assert available is not None
        selected = [n for n in DEVICE_NAMES if available[n].available] or ["cpu"]
    else:
        selected = list(requested)
    if marker_names is None:
        return selected, {}
    chosen = [n for n in marker_names if n in selected]
    if chosen:
        return chosen, {}
    if requested is None:
        # Nothing the test asks for is available: run its names so each skips with the
        # probe's reason (or fails under --mltk-require-devices).
        return list(marker_names), {}
    why = f"not selected for this run (--mltk-devices={','.join(requested)})"
    return list(marker_names), {n: why for n in marker_names}
