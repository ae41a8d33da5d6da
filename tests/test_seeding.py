from __future__ import annotations

import json
import subprocess
import sys

import pytest

DRAWS = """
import json, os, random
import numpy as np
import torch

def test_draw(seed):
    out = {
        "seed": seed,
        "random": random.random(),
        "numpy": float(np.random.rand()),
        "torch": float(torch.rand(1)),
    }
    with open(os.environ["DRAWS_OUT"], "a") as fh:
        fh.write(json.dumps(out) + "\\n")
"""


def _draws(pytester: pytest.Pytester, monkeypatch, *args: str) -> list[dict[str, float]]:
    out = pytester.path / "draws.jsonl"
    out.unlink(missing_ok=True)
    monkeypatch.setenv("DRAWS_OUT", str(out))
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == 0, result.stdout.str()
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_same_seed_same_draws_across_runs(pytester: pytest.Pytester, monkeypatch) -> None:
    pytester.makepyfile(DRAWS)
    first = _draws(pytester, monkeypatch, "--mltk-seed", "123")
    second = _draws(pytester, monkeypatch, "--mltk-seed", "123")
    other = _draws(pytester, monkeypatch, "--mltk-seed", "124")
    assert first == second
    for rng in ("random", "numpy", "torch"):
        assert first[0][rng] != other[0][rng]


def test_every_test_starts_from_the_seed(pytester: pytest.Pytester, monkeypatch) -> None:
    pytester.makepyfile(DRAWS + "\n\ndef test_again(seed):\n    test_draw(seed)\n")
    first, again = _draws(pytester, monkeypatch, "--mltk-seed", "5")
    assert first == again


def test_random_seed_replays(pytester: pytest.Pytester, monkeypatch) -> None:
    pytester.makepyfile(DRAWS)
    drawn = _draws(pytester, monkeypatch, "--mltk-seed", "random")[0]
    replayed = _draws(pytester, monkeypatch, "--mltk-seed", str(drawn["seed"]))[0]
    assert drawn == replayed


def test_autoseed_off_leaves_rngs_alone(pytester: pytest.Pytester, monkeypatch) -> None:
    pytester.makeini("[pytest]\nmltk_autoseed = false\n")
    pytester.makepyfile(DRAWS + "\n\ndef test_again(seed):\n    test_draw(seed)\n")
    first, again = _draws(pytester, monkeypatch)
    assert first["torch"] != again["torch"]


def test_reseed_never_imports_numpy_or_torch() -> None:
    code = (
        "import sys, mlops_testkit.seeding as s; seeded = s.reseed(3); "
        "assert seeded == ['random'], seeded; "
        "assert 'numpy' not in sys.modules and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_deterministic_marker_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import os
        import pytest
        import torch

        @pytest.mark.model(deterministic=True)
        def test_on():
            assert torch.are_deterministic_algorithms_enabled()
            assert torch.backends.cudnn.deterministic
            assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"

        def test_off_again_afterwards():
            assert not torch.are_deterministic_algorithms_enabled()
            assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
        """)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2)

    pytester.makeini("[pytest]\nmltk_deterministic = true\n")
    pytester.makepyfile(test_ini="""
        import pytest
        import torch

        def test_on_for_all():
            assert torch.are_deterministic_algorithms_enabled()

        @pytest.mark.model(deterministic=False)
        def test_marker_turns_it_off():
            assert not torch.are_deterministic_algorithms_enabled()
        """)
    result = pytester.runpytest_subprocess("test_ini.py")
    result.assert_outcomes(passed=2)
