"""Loading the plugin must not import any ML framework (HOUSE_RULES 2)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "pandas", "pandera", "scipy", "hypothesis", "torch", "mlflow", "sklearn")


def _imported_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_plugin_imports_no_ml_framework() -> None:
    assert _imported_after("import mlops_testkit.plugin, mlops_testkit.cli") == []


def test_a_pytest_run_without_ml_imports_no_ml_framework(pytester) -> None:
    # Other installed plugins (hypothesis's own) may import things; ours must not add any.
    pytester.makepyfile(
        "import json, sys\n\n"
        "def test_record():\n"
        f"    heavy = {HEAVY!r}\n"
        '    print("HEAVY", json.dumps(sorted(m for m in heavy if m in sys.modules)))\n'
    )
    with_plugin = pytester.runpytest_subprocess("-s", "-p", "no:hypothesispytest")
    without = pytester.runpytest_subprocess(
        "-s", "-p", "no:hypothesispytest", "-p", "no:mlops_testkit"
    )
    pick = lambda r: next(ln for ln in r.outlines if "HEAVY" in ln)  # noqa: E731
    assert pick(with_plugin) == pick(without)
    assert "mlops-testkit" in with_plugin.stdout.str()  # it really was loaded
