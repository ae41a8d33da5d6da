from __future__ import annotations

import pytest


def test_markers_are_listed_with_an_example(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    out = result.stdout.str()
    for name in (
        "data",
        "model(deterministic=None)",
        "behavioral",
        "gate(allow_skip=None)",
        "devices(*names)",
    ):
        line = next(line for line in out.splitlines() if line.startswith(f"@pytest.mark.{name}:"))
        assert "Example: @pytest.mark." in line


def test_markers_pass_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.data
        def test_d(): pass

        @pytest.mark.model(deterministic=False)
        def test_m(): pass

        @pytest.mark.behavioral
        def test_b(): pass

        @pytest.mark.gate
        def test_g(): pass
        """)
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=4)


def test_options_are_in_one_group_with_defaults(pytester: pytest.Pytester) -> None:
    out = pytester.runpytest("--help").stdout.str()
    group = out.split("mlops-testkit:", 1)[1]
    for flag in (
        "--mltk-seed",
        "--mltk-devices",
        "--mltk-require-devices",
        "--mltk-changed-since",
        "--mltk-model-paths",
    ):
        assert flag in group
    assert "(default: 0)" in group
    for key in ("mltk_seed", "mltk_devices", "mltk_model_paths", "mltk_autoseed"):
        assert key in out


def test_terminal_summary_counts_per_category(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.data
        def test_ok(): pass

        @pytest.mark.data
        def test_bad(): assert False

        @pytest.mark.gate
        def test_gate(): pass
        """)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["*= mlops-testkit =*", "seed 0", "data: 1 passed, 1 failed", "gate: 1 passed"]
    )


def test_no_summary_when_nothing_to_show(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest()
    assert "= mlops-testkit =" not in result.stdout.str()


def test_fixtures_are_documented_with_examples(pytester: pytest.Pytester) -> None:
    out = pytester.runpytest("--fixtures", "-v").stdout.str()
    seed_doc = out.split("\nseed -- ", 1)[1].split("\ndevice -- ", 1)[0]
    assert "def test_split(seed):" in seed_doc
    device_doc = out.split("\ndevice -- ", 1)[1]
    assert "def test_forward(device):" in device_doc
