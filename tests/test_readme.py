"""The README's Python examples run as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples() -> None:
    assert python_blocks()


def test_readme_examples_pass(pytester: pytest.Pytester) -> None:
    for i, block in enumerate(python_blocks()):
        pytester.makepyfile(**{f"test_readme_{i}": block})
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    assert result.parseoutcomes()["passed"] >= 3
