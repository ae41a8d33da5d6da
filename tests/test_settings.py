from __future__ import annotations

import pytest

from mlops_testkit.settings import parse_bool, parse_devices, parse_globs, parse_seed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        (" 42 ", 42),
        ("4294967295", 4294967295),
        ("random", "random"),
        ("RANDOM", "random"),
    ],
)
def test_parse_seed_accepts(text: str, expected: object) -> None:
    assert parse_seed(text) == expected


@pytest.mark.parametrize("text", ["-1", "1.5", "abc", "", "4294967296", "0x10"])
def test_parse_seed_rejects_with_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected an integer from 0 to 4294967295 or 'random'"):
        parse_seed(text)


def test_parse_devices() -> None:
    assert parse_devices("cpu,cuda") == ("cpu", "cuda")
    assert parse_devices(" CUDA , cpu,cuda") == ("cuda", "cpu")
    assert parse_devices("auto") is None
    with pytest.raises(ValueError, match=r"unknown device 'gpu'.*cpu, cuda, mps"):
        parse_devices("cpu,gpu")


def test_parse_bool_and_globs() -> None:
    assert parse_bool("Yes") is True
    assert parse_bool("0") is False
    with pytest.raises(ValueError, match="not a boolean"):
        parse_bool("maybe")
    assert parse_globs("a/**, b/*.py  c") == ("a/**", "b/*.py", "c")
    assert parse_globs(["a/**", " "]) == ("a/**",)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--mltk-seed", "abc"],
            "*argument --mltk-seed: 'abc' is not a seed; expected an integer*",
        ),
        (
            ["--mltk-devices", "gpu"],
            "*argument --mltk-devices: unknown device 'gpu'*cpu, cuda, mps*",
        ),
    ],
)
def test_bad_option_is_a_usage_error(pytester: pytest.Pytester, args: list[str], message: str):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_bad_env_value_names_the_variable(pytester: pytest.Pytester, monkeypatch) -> None:
    pytester.makepyfile("def test_x(): pass")
    monkeypatch.setenv("MLTK_SEED", "seven")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*environment variable MLTK_SEED: 'seven' is not a seed*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_bad_ini_value_names_the_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmltk_devices = cpu,tpu\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini key mltk_devices: unknown device 'tpu'*"])


def test_bad_ini_bool(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmltk_autoseed = sometimes\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini key mltk_autoseed: 'sometimes' is not a boolean*"])


def test_precedence_option_over_env_over_ini(pytester: pytest.Pytester, monkeypatch) -> None:
    pytester.makeini("[pytest]\nmltk_seed = 11\n")
    pytester.makepyfile("def test_x(seed): print('SEED', seed)")

    result = pytester.runpytest("-s")
    result.stdout.fnmatch_lines(["mlops-testkit *: seed 11 (mltk_seed)", "*SEED 11"])

    monkeypatch.setenv("MLTK_SEED", "22")
    result = pytester.runpytest("-s")
    result.stdout.fnmatch_lines(["mlops-testkit *: seed 22 (MLTK_SEED)", "*SEED 22"])

    result = pytester.runpytest("-s", "--mltk-seed", "33")
    result.stdout.fnmatch_lines(["mlops-testkit *: seed 33 (--mltk-seed)", "*SEED 33"])


def test_default_source_and_versions_in_header(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "mlops-testkit 0.1.0: seed 0 (default)",
            "  devices: auto (every available) (from default)",
            "  frameworks: numpy *, torch *",
        ]
    )


def test_random_seed_is_drawn_and_printed_for_replay(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(seed): print('SEED', seed)")
    result = pytester.runpytest("-s", "--mltk-seed", "random")
    out = result.stdout.str()
    seed = int(out.split("SEED ", 1)[1].split()[0])
    result.stdout.fnmatch_lines(
        [
            f"mlops-testkit *: seed {seed} (random, from --mltk-seed; replay with --mltk-seed {seed})",
            f"seed {seed} (random); replay with --mltk-seed {seed}",
        ]
    )
