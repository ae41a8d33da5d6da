"""The README's API table names only what exists: every name in it imports, and every
public helper is in it."""

from __future__ import annotations

import re
from pathlib import Path

import mlops_testkit

README = Path(__file__).resolve().parent.parent / "README.md"


def table_names() -> dict[str, list[str]]:
    text = README.read_text()
    section = text.split("## API at a glance", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] not in ("area", "---"):
            rows[cells[0]] = re.findall(r"`([^`]+)`", cells[1])
    return rows


def test_every_name_in_the_api_table_imports() -> None:
    import importlib

    rows = table_names()
    assert {"data", "model/training", "behavioral", "gates", "fixtures"} <= set(rows)
    for area in set(rows) - {"fixtures", "markers", "command"}:
        for name in rows[area]:
            if name.startswith("mlops_testkit."):
                importlib.import_module(name)
            else:
                assert getattr(mlops_testkit, name) is not None, f"{area}: {name}"


def test_every_public_helper_is_in_the_api_table() -> None:
    listed = {n for names in table_names().values() for n in names}
    helpers = {n for n in mlops_testkit.__all__ if not n[0].isupper() and not n.startswith("_")}
    assert helpers - listed == set(), "add these to the README's API table"


def test_the_fixtures_and_markers_in_the_table_exist(pytester) -> None:
    rows = table_names()
    result = pytester.runpytest("--fixtures", "-p", "no:cacheprovider")
    for fixture in rows["fixtures"]:
        result.stdout.fnmatch_lines([f"{fixture}*"])
    markers = pytester.runpytest("--markers", "-p", "no:cacheprovider").stdout.str()
    for marker in rows["markers"]:
        assert f"@pytest.mark.{marker.split('(')[0]}" in markers
