from __future__ import annotations

import json

import pytest

pytest.importorskip("xdist")


def test_workers_share_the_controllers_seed_and_devices(pytester, monkeypatch) -> None:
    out = pytester.path / "seen.jsonl"
    monkeypatch.setenv("SEEN_OUT", str(out))
    pytester.makepyfile("""
        import json, os, random
        import pytest

        @pytest.mark.parametrize("i", range(8))
        @pytest.mark.model
        def test_seed(seed, device, i):
            with open(os.environ["SEEN_OUT"], "a") as fh:
                fh.write(json.dumps({"worker": os.environ["PYTEST_XDIST_WORKER"],
                                     "seed": seed, "draw": random.random()}) + "\\n")
        """)
    result = pytester.runpytest_subprocess("-n", "2", "--mltk-seed", "random")
    result.assert_outcomes(passed=8)
    seen = [json.loads(line) for line in out.read_text().splitlines()]
    assert {s["worker"] for s in seen} == {"gw0", "gw1"}
    assert len({s["seed"] for s in seen}) == 1
    assert len({s["draw"] for s in seen}) == 1  # reseeded before every test, on every worker
    seed = seen[0]["seed"]
    # the summary is made once, on the controller, from all workers' reports
    result.stdout.fnmatch_lines(
        [
            f"seed {seed} (random); replay with --mltk-seed {seed}",
            "model: 8 passed",
            "devices: cpu 8 passed",
        ]
    )
    assert result.stdout.str().count("= mlops-testkit =") == 1


def test_changed_since_under_xdist(pytester, git_repo) -> None:
    pytester.makeini("[pytest]\nmltk_model_paths = model/**\n")
    (pytester.path / "model").mkdir()
    (pytester.path / "model/net.py").write_text("X = 1\n")
    pytester.makepyfile("""
        import pytest

        @pytest.mark.model
        def test_m(): pass

        def test_other(): pass
        """)
    git_repo("add", ".")
    git_repo("commit", "-q", "-m", "start")
    result = pytester.runpytest_subprocess("-n", "2", "--mltk-changed-since", "HEAD")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["deselected 1 model test(s): no file matching mltk_model_paths*"])
