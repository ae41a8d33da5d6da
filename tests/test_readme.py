"""The Python blocks of README.md and docs/*.md run as they are.

The rule for every page (HOUSE_RULES 15):

- A Python block is fenced ```` ```python ```` (```` ```py ```` is the same). It is a test
  file of its own: pytest runs it as it is in an empty directory, with the kit's plugin,
  `--strict-markers` and the dev environment's packages, so its imports, data and
  fixtures are in the block. A block with no test functions still runs (on import).
- A block that cannot run as it is (it needs your data, a registry, a server) is a
  *fragment* and says so on its first line: `# fragment` (with the reason after a colon,
  e.g. `# fragment: needs a registered model`). Fragments are compiled, not run.
- The blocks of one page run together, in one pytest process per page.
- The README's five-minute tour is `examples/tour/test_tour.py`, verbatim;
  tests/test_wheel.py runs that file against the built wheel in a fresh virtualenv.

Shell, TOML, YAML and text blocks are not run here (the CLI, options, templates and
hooks have tests of their own).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TOUR = ROOT / "examples" / "tour" / "test_tour.py"
# An opening fence (maybe indented in a list), its language, the body, the same fence.
BLOCK = re.compile(r"^([ \t]*)```(python|py)[ \t]*\n(.*?)^\1```[ \t]*$", re.M | re.S)


def pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(page: Path = README) -> list[str]:
    return [textwrap.dedent(m.group(3)) for m in BLOCK.finditer(page.read_text())]


def is_fragment(block: str) -> bool:
    return block.lstrip("\n").startswith("# fragment")


def runnable(page: Path) -> list[str]:
    return [b for b in python_blocks(page) if not is_fragment(b)]


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_block_rules(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nx = 1\n```\n\n"
        "- an item:\n\n  ```py\n  # fragment: needs your data\n  y = data\n  ```\n\n"
        "```bash\nls\n```\n"
    )
    assert python_blocks(page) == ["x = 1\n", "# fragment: needs your data\ny = data\n"]
    assert runnable(page) == ["x = 1\n"]


def test_readme_has_examples() -> None:
    assert len(runnable(README)) >= 4


@pytest.mark.parametrize("page", pages(), ids=page_id)
def test_fragments_compile(page: Path) -> None:
    for i, block in enumerate(python_blocks(page)):
        compile(block, f"{page_id(page)} block {i}", "exec")


@pytest.mark.parametrize("page", [p for p in pages() if runnable(p)], ids=page_id)
def test_page_examples_pass(page: Path, pytester: pytest.Pytester) -> None:
    stem = re.sub(r"\W", "_", page.stem.lower())
    for i, block in enumerate(runnable(page)):
        pytester.makepyfile(**{f"test_{stem}_{i}": block})
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    # 5: only blocks without test functions, all of which imported cleanly
    assert result.ret in (0, 5), result.stdout.str()


def test_readme_tour_is_the_example_file() -> None:
    assert TOUR.read_text() in python_blocks(README), (
        "the README's five-minute tour must be examples/tour/test_tour.py verbatim: "
        "copy the file into the README's block"
    )
