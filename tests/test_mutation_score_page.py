"""The ML mutation score on the ML Test Score page: each operator area mapped to the
rubric items it probes, rendered in the Markdown/HTML report when a mutation run's
results are in ``--mltk-json``, and the driver keeping a test run's results there."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_testkit.mutation.driver import _write_results
from mlops_testkit.mutation.options import MutateOptions
from mlops_testkit.reporting import report as documents
from mlops_testkit.reporting.score import (
    BY_ID,
    MUTATION_PROBES,
    compute,
    mutation_headline,
    mutation_rows,
)


def mutant(name: str, area: str, status: str) -> dict:
    return {"operator": name, "area": area, "status": status, "bug": f"{name} bug"}


MUTATION = {
    "score": 0.75,
    "killed": 3,
    "applicable": 5,
    "equivalent": 1,
    "mutants": [
        mutant("frozen_layer", "gradients", "killed"),
        mutant("loss_sign_flipped", "loss", "errored"),
        mutant("reduction_sum", "loss", "survived"),
        mutant("seed_not_applied", "randomness", "timeout"),
        mutant("workers_not_seeded", "randomness", "not applicable"),
        mutant("constant_feature", "data", "equivalent"),
    ],
}


def a_score():
    return compute({"infra-2": ["t::train"], "infra-1": ["t::det"]}, {})


def rows_by_item(rows):
    return {r[0]: r for r in rows}


def test_every_operator_area_maps_to_known_rubric_items():
    from mlops_testkit.mutation.registry import builtin

    areas = {cls.area for cls in builtin().values()}
    assert areas == set(MUTATION_PROBES)
    assert all(item in BY_ID for items in MUTATION_PROBES.values() for item in items)


def test_rows_count_killed_out_of_scored_and_name_the_survivors():
    rows = rows_by_item(mutation_rows(MUTATION, a_score().as_dict()))
    # infra-2 is probed by gradients and loss: 2 killed (killed, errored) of 3, one survivor
    assert rows["infra-2"][2:] == ["1", "2 of 3", "reduction_sum"]
    # infra-1: the timeout kills; the not-applicable mutant is not counted against it
    assert rows["infra-1"][2:] == ["1", "1 of 1", "-"]
    # data-2: only an equivalent mutant probed it: nothing scored, rubric score 0
    assert rows["data-2"][2:] == ["0", "0 of 0", "-"]
    # items no mutant probed are not listed
    assert "mon-1" not in rows and "infra-6" not in rows


def test_rows_without_a_rubric_score_and_with_an_unknown_area():
    data = {"mutants": [mutant("third_party", "tokeniser", "survived")]}
    (row,) = mutation_rows(data, None)
    assert row == ["(no item)", "operators of an unknown area", "-", "0 of 1", "third_party"]


def test_the_headline_never_invents_a_score():
    assert mutation_headline(MUTATION).startswith("0.75 (3 killed / (5 applicable - 1")
    for value in (None, float("nan"), float("inf"), "0.9", True):
        assert mutation_headline({**MUTATION, "score": value}).startswith("no score")


def collected(score=True):
    data = documents.collect({}, {}, [], a_score() if score else None)
    return data


@pytest.mark.parametrize("fmt", ["markdown", "html_document"])
def test_the_score_page_shows_the_mutation_section_only_when_results_are_present(fmt):
    render = getattr(documents, fmt)
    plain = render(collected())
    assert "ML Test Score" in plain and "ML mutation score" not in plain
    data = {**collected(), "mutation": MUTATION}
    text = render(data)
    # after the rubric, as part of its page
    assert text.index("ML mutation score: 0.75") > text.index("ML Test Score: ")
    assert "reduction_sum" in text and "2 of 3" in text
    assert "whether the tests would catch" in text


def test_the_mutation_section_stands_alone_without_a_rubric_score():
    text = documents.markdown({**collected(score=False), "mutation": MUTATION})
    assert "\n## ML mutation score: 0.75" in text and "## ML Test Score" not in text


def test_html_escapes_operator_names():
    data = {**collected(), "mutation": {"mutants": [mutant("<script>x", "loss", "survived")]}}
    text = documents.html_document(data)
    assert "<script>x" not in text and "&lt;script&gt;x" in text


JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
HOSTILE = st.one_of(
    JSONISH,
    st.fixed_dictionaries(
        {
            "score": JSONISH,
            "mutants": st.lists(
                st.dictionaries(st.sampled_from(["operator", "area", "status"]), JSONISH),
                max_size=4,
            )
            | JSONISH,
        }
    ),
)


@settings(max_examples=150, deadline=None)
@given(HOSTILE)
def test_a_hand_edited_mutation_section_never_breaks_the_report(mutation):
    data = {**collected(), "mutation": mutation}
    for render in (documents.markdown, documents.html_document):
        text = render(data)
        assert isinstance(text, str)
        if mutation:
            assert "ML mutation score" in text


# --- the driver's --mltk-json and --mltk-report ---------------------------------------


def options(json_path: Path | None) -> MutateOptions:
    return MutateOptions(None, 1, 1, 10.0, None, None, str(json_path) if json_path else None, 0)


def config(report: Path | None = None):
    values = {"mltk_report": str(report) if report else None}
    return SimpleNamespace(getoption=lambda name, default=None: values.get(name, default))


def test_the_driver_adds_its_results_to_a_test_runs_json_and_writes_the_report(tmp_path, capsys):
    out, md = tmp_path / "results.json", tmp_path / "report.md"
    earlier = collected()
    documents.write_json(out, {**earlier, "mutation": {"stale": True}})
    _write_results(config(md), options(out), MUTATION)
    merged = json.loads(out.read_text())
    assert merged["mutation"] == MUTATION  # the stale section replaced, not merged
    assert merged["score"] == json.loads(json.dumps(earlier["score"]))
    text = md.read_text()
    assert "## ML Test Score" in text and "### ML mutation score: 0.75" in text
    assert "beside the test run's results" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, "not json {", "[1, 2]"])
def test_without_a_test_run_the_json_holds_the_mutation_results_alone(tmp_path, content):
    out = tmp_path / "results.json"
    if content is not None:
        out.write_text(content)
    _write_results(config(), options(out), MUTATION)
    assert json.loads(out.read_text()) == {"mutation": MUTATION}


def test_a_report_without_a_json_still_shows_the_mutation_score(tmp_path):
    md = tmp_path / "r.html"
    _write_results(config(md), options(None), MUTATION)
    assert "ML mutation score: 0.75" in md.read_text()


# --- the whole path, on a real (tiny) torch project ------------------------------------

NET = """
import torch
from torch import nn

def train(steps=30):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return before, list(model.parameters())
"""

TEST = """
import pytest
import torch
from net import train

@pytest.mark.mlscore("infra-2")
def test_every_parameter_moves():
    before, after = train()
    assert all(not torch.equal(b, a) for b, a in zip(before, after))
"""


@pytest.mark.slow
def test_a_test_run_then_a_mutation_run_give_one_report_with_both(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "net.py").write_text(textwrap.dedent(NET))
    (tmp_path / "test_net.py").write_text(textwrap.dedent(TEST))
    (tmp_path / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
    env.pop("PYTEST_ADDOPTS", None)
    base = [sys.executable, "-m", "pytest", "-p", "no:randomly", "--mltk-json", "r.json"]
    first = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    ops = "--mltk-mutate-operators=frozen_layer,workers_not_seeded"
    second = subprocess.run(
        [*base, "--mltk-mutate", ops, "--mltk-mutate-workers=1", "--mltk-report", "r.md"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"]["sections"]["infrastructure"] >= 1  # the test run's rubric kept
    status = {m["operator"]: m["status"] for m in data["mutation"]["mutants"]}
    assert status == {"frozen_layer": "killed", "workers_not_seeded": "not applicable"}
    text = (tmp_path / "r.md").read_text()
    assert "### ML mutation score: 1.00 (1 killed / (1 applicable - 0 equivalent))" in text
    assert "| infra-2 | Model specification code is unit tested | 1 | 1 of 1 | - |" in text


def test_the_docs_table_is_the_mapping():
    text = (Path(__file__).resolve().parents[1] / "docs" / "mutation.md").read_text()
    section = text.split("Each operator area probes these rubric items:", 1)[1].split("\n\n")[1]
    table = {}
    for line in section.splitlines()[2:]:
        area, items = (c.strip() for c in line.strip("|").split("|"))
        table[area] = tuple(re.findall(r"\b(?:data|model|infra|mon)-\d\b", items))
    assert table == MUTATION_PROBES
