from __future__ import annotations

import sys

import pytest

from mlops_testkit.devices import DeviceStatus, check_marker_names, devices_for_test

# A device that cannot exist here, so these tests do not depend on the hardware.
MISSING_DEVICE = "mps" if sys.platform != "darwin" else "cuda"

AVAILABLE = {
    "cpu": DeviceStatus("cpu", True, ""),
    "cuda": DeviceStatus("cuda", False, "no GPU"),
    "mps": DeviceStatus("mps", False, "no MPS"),
}


def test_default_selects_available_devices() -> None:
    assert devices_for_test(None, None, AVAILABLE) == (["cpu"], {})
    with_gpu = {**AVAILABLE, "cuda": DeviceStatus("cuda", True, "1 x GPU")}
    assert devices_for_test(None, None, with_gpu) == (["cpu", "cuda"], {})


def test_marker_narrows_the_selection() -> None:
    assert devices_for_test(("cpu", "cuda"), ("cuda",), None) == (["cuda"], {})
    assert devices_for_test(None, ("cpu", "cuda"), AVAILABLE) == (["cpu"], {})
    # nothing the marker wants is available: it runs them, so they skip with the reason
    assert devices_for_test(None, ("cuda",), AVAILABLE) == (["cuda"], {})
    names, skipped = devices_for_test(("cpu",), ("cuda",), None)
    assert names == ["cuda"]
    assert "not selected for this run (--mltk-devices=cpu)" in skipped["cuda"]


def test_bad_marker_names() -> None:
    with pytest.raises(ValueError, match=r"got 'gpu'; expected one or more of 'cpu', 'cuda'"):
        check_marker_names(("cpu", "gpu"), "t.py::test")
    with pytest.raises(ValueError, match="got no device"):
        check_marker_names((), "t.py::test")


DEVICE_TESTS = """
import pytest

def test_plain(device):
    import torch
    assert isinstance(device, torch.device)
    assert torch.zeros(1, device=device).device.type == device.type

@pytest.mark.devices("cpu")
def test_cpu_only(device):
    assert device.type == "cpu"
"""


def test_ids_per_device(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DEVICE_TESTS)
    result = pytester.runpytest_subprocess("-v", "--mltk-devices", "cpu")
    result.stdout.fnmatch_lines(
        ["*::test_plain[[]cpu[]] PASSED*", "*::test_cpu_only[[]cpu[]] PASSED*"]
    )
    result.stdout.fnmatch_lines(["devices: cpu 2 passed"])


def test_missing_device_skips_with_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DEVICE_TESTS)
    result = pytester.runpytest_subprocess("-v", "-rs", "--mltk-devices", f"cpu,{MISSING_DEVICE}")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            f"*::test_plain[[]{MISSING_DEVICE}[]] SKIPPED*",
            f"devices: cpu 2 passed; {MISSING_DEVICE} 1 skipped",
            f"devices missing here: {MISSING_DEVICE} (*",
            f"SKIPPED [[]1[]] *: device {MISSING_DEVICE} is not available: *",
        ]
    )


def test_require_devices_fails_instead(pytester: pytest.Pytester, monkeypatch) -> None:
    pytester.makepyfile(DEVICE_TESTS)
    result = pytester.runpytest_subprocess(
        "--mltk-devices", f"cpu,{MISSING_DEVICE}", "--mltk-require-devices"
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [f"*device {MISSING_DEVICE} is not available: * (required by --mltk-require-devices)"]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED

    monkeypatch.setenv("MLTK_REQUIRE_DEVICES", "1")
    result = pytester.runpytest_subprocess("--mltk-devices", f"cpu,{MISSING_DEVICE}")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*(required by MLTK_REQUIRE_DEVICES)"])


def test_marker_device_not_selected_is_skipped(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.devices("cuda")
        def test_gpu(device):
            raise AssertionError("must not run")
        """)
    result = pytester.runpytest_subprocess("-rs", "--mltk-devices", "cpu")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*not selected for this run (--mltk-devices=cpu)"])


def test_bad_marker_is_a_clear_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.devices("gpu")
        def test_x(device): pass
        """)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*@pytest.mark.devices got 'gpu'; expected one or more of*"])
    out = result.stdout.str()
    assert "INTERNALERROR" not in out
    assert "Traceback" not in out


def test_without_torch_skips_with_install_line(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\nsys.modules['torch'] = None  # as if not installed\n")
    pytester.makepyfile("def test_x(device): pass")
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*torch is not installed: pip install 'mlops-testkit[[]torch[]]'*"]
    )
