"""The ML Test Score (Breck et al., "The ML Test Score: A Rubric for ML Production
Readiness and Technical Debt Reduction", IEEE Big Data 2017), computed from a real run.

28 tests in four sections. Each scores 0; 0.5 when it is done by hand and the results
are written down (ini ``mltk_manual_items``); 1 when it is automated and ran: a test
evidencing it ran and passed in this session. A section sums its tests; the final score
is the minimum over the four sections.

Helpers declare the items they evidence with :func:`evidences`; a test claims items of
its own with ``@pytest.mark.mlscore("model-2", ...)``. Importing this module is free.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from math import isfinite
from typing import Any, TypeVar

SECTIONS = ("data", "model", "infrastructure", "monitoring")


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    title: str
    how: str  # what evidences it automatically, for the "add next" advice


RUBRIC: tuple[Item, ...] = (
    Item(
        "data-1",
        "data",
        "Feature expectations are captured in a schema",
        "assert_schema on training data",
    ),
    Item(
        "data-2",
        "data",
        "All features are beneficial",
        "assert_features_beneficial (permutation importance) on held-out data",
    ),
    Item(
        "data-3",
        "data",
        "No feature's cost is too much",
        "a latency/memory test per feature group, @pytest.mark.mlscore('data-3')",
    ),
    Item(
        "data-4",
        "data",
        "Features adhere to meta-level requirements",
        "a test of feature metadata (owner, source, description), @pytest.mark.mlscore('data-4')",
    ),
    Item(
        "data-5",
        "data",
        "The data pipeline has appropriate privacy controls",
        "assert_no_pii on the features (or the training table)",
    ),
    Item(
        "data-6",
        "data",
        "New features can be added quickly",
        "a manual practice: mltk_manual_items",
    ),
    Item(
        "data-7",
        "data",
        "All input feature code is tested",
        "a property test of feature code with frames(schema), @pytest.mark.mlscore('data-7')",
    ),
    Item(
        "model-1",
        "model",
        "Model specs are reviewed and submitted",
        "a manual practice: mltk_manual_items",
    ),
    Item(
        "model-2",
        "model",
        "Offline and online metrics correlate",
        "a test comparing offline and online metrics, @pytest.mark.mlscore('model-2')",
    ),
    Item(
        "model-3",
        "model",
        "All hyperparameters have been tuned",
        "a manual practice: mltk_manual_items",
    ),
    Item(
        "model-4",
        "model",
        "The impact of model staleness is known",
        "assert_staleness_impact: the model scored on successive time periods",
    ),
    Item(
        "model-5",
        "model",
        "A simpler model is not better",
        "assert_beats_baseline (majority, linear... baseline; paired bootstrap)",
    ),
    Item(
        "model-6",
        "model",
        "Model quality is sufficient on all important data slices",
        "assert_slices, assert_no_weak_slices",
    ),
    Item(
        "model-7",
        "model",
        "The model has been tested for considerations of inclusion",
        "assert_fairness, assert_invariant (e.g. perturb.names), assert_directional, assert_mft",
    ),
    Item(
        "infra-1", "infrastructure", "Training is reproducible", "assert_deterministic on training"
    ),
    Item(
        "infra-2",
        "infrastructure",
        "Model specification code is unit tested",
        "assert_overfits_batch, assert_loss_decreases, assert_params_update, assert_output_shape",
    ),
    Item(
        "infra-3",
        "infrastructure",
        "The full ML pipeline is integration tested",
        "a test of train -> register -> evaluate, @pytest.mark.mlscore('infra-3')",
    ),
    Item(
        "infra-4",
        "infrastructure",
        "Model quality is validated before attempting to serve it",
        "gate tests (assert_metric...) feeding --mltk-gate-report and mlops-testkit promote",
    ),
    Item(
        "infra-5",
        "infrastructure",
        "The model allows debugging by observing the computation on a single example",
        "a manual practice: mltk_manual_items",
    ),
    Item(
        "infra-6",
        "infrastructure",
        "Models are canaried before serving",
        "assert_endpoint against the served candidate",
    ),
    Item(
        "infra-7",
        "infrastructure",
        "Models can be quickly and safely rolled back",
        "the registry champion (champion fixture) with mlops-testkit promote/rollback",
    ),
    Item(
        "mon-1",
        "monitoring",
        "Dependency changes result in notification",
        "assert_dependencies_unchanged(candidate, champion) and mlops-testkit deps-diff in CI",
    ),
    Item(
        "mon-2",
        "monitoring",
        "Data invariants hold in training and serving inputs",
        "assert_schema / assert_no_drift on serving data",
    ),
    Item(
        "mon-3",
        "monitoring",
        "Training and serving features compute the same values",
        "assert_no_skew of the training and serving pipelines on the same raw rows",
    ),
    Item(
        "mon-4",
        "monitoring",
        "Models are not too stale",
        "assert_model_fresh on the champion, on a schedule (the monitor template)",
    ),
    Item("mon-5", "monitoring", "The model is numerically stable", "assert_finite"),
    Item(
        "mon-6",
        "monitoring",
        "Computing performance has not regressed",
        "assert_latency, assert_peak_memory, assert_model_size",
    ),
    Item(
        "mon-7",
        "monitoring",
        "Prediction quality has not regressed",
        "assert_no_regression against the champion",
    ),
)
BY_ID = {item.id: item for item in RUBRIC}
BANDS = (
    (0.0, "a research project, not a productionized system"),
    (1.0, "not totally untested, but serious holes in reliability are likely"),
    (2.0, "a first pass at productionization; more investment may be needed"),
    (3.0, "reasonably tested, but more automation may be possible"),
    (5.0, "strong levels of automated testing and monitoring"),
    (float("inf"), "exceptional levels of automated testing and monitoring"),
)

# The plugin sets this around each test call: the items the test's helpers evidenced.
_EVIDENCE: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "mltk_evidence", default=None
)

# Set by @evidences while the helper runs: the items its recorded results evidence.
_DECLARED: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "mltk_declared_items", default=()
)

F = TypeVar("F", bound=Callable[..., Any])


def declared_items() -> tuple[str, ...]:
    """The items declared by the ``@evidences`` helper running now (empty outside one)."""
    return _DECLARED.get()


def check_items(items: Iterable[str], where: str) -> tuple[str, ...]:
    """The item ids, or ValueError naming the unknown ones and the known ones."""
    items = tuple(items)
    unknown = [i for i in items if i not in BY_ID]
    if unknown:
        raise ValueError(
            f"{where}: unknown ML Test Score item(s) {', '.join(map(repr, unknown))}; "
            f"expected ids like data-1..data-7, model-1..model-7, infra-1..infra-7, "
            f"mon-1..mon-7"
        )
    return items


def note(*items: str) -> None:
    """Record that the running test evidences ``items`` (counted if the test passes)."""
    current = _EVIDENCE.get()
    if current is not None:
        current.update(items)


def evidences(*items: str) -> Callable[[F], F]:
    """Declare the rubric items a helper evidences when it passes::

    @evidences("model-6")
    def assert_slices(...): ...
    """
    check_items(items, "evidences")

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            token = _DECLARED.set(items)  # results recorded inside carry these items
            try:
                result = fn(*args, **kwargs)
            finally:
                _DECLARED.reset(token)
            note(*items)
            return result

        wrapper.mltk_evidences = items  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def parse_manual(lines: Iterable[str]) -> dict[str, str]:
    """Parse ``mltk_manual_items`` lines ``item-id: what is done and where it is written``."""
    manual: dict[str, str] = {}
    for line in lines:
        text = str(line).strip()
        if not text:
            continue
        item, sep, why = text.partition(":")
        item = item.strip()
        if not sep or not why.strip():
            raise ValueError(
                f"mltk_manual_items: {text!r} needs a note: 'ITEM: what is done by hand and "
                "where the results are written', e.g. 'model-1: specs reviewed in design docs'"
            )
        check_items([item], "mltk_manual_items")
        manual[item] = why.strip()
    return manual


@dataclass
class Score:
    """The rubric applied to one run."""

    items: dict[str, float]  # id -> 0, 0.5 or 1
    evidence: dict[str, list[str]]  # id -> the passed tests that evidence it
    manual: dict[str, str]
    sections: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sections = {
            s: sum(v for i, v in self.items.items() if BY_ID[i].section == s) for s in SECTIONS
        }

    @property
    def final(self) -> float:
        return min(self.sections.values())

    @property
    def band(self) -> str:
        for limit, text in BANDS:
            if self.final <= limit:
                return text
        return BANDS[-1][1]  # pragma: no cover

    @property
    def weakest(self) -> str:
        return min(SECTIONS, key=lambda s: (self.sections[s], SECTIONS.index(s)))

    def next_items(self, limit: int = 4) -> list[Item]:
        """Items of the weakest section still below 1, cheapest (automatable) first."""
        todo = [i for i in RUBRIC if i.section == self.weakest and self.items[i.id] < 1]
        todo.sort(key=lambda i: ("mltk_manual_items" in i.how, "mlscore" in i.how))
        return todo[:limit]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sections": self.sections,
            "final": self.final,
            "band": self.band,
            "items": [
                {
                    "id": i.id,
                    "section": i.section,
                    "title": i.title,
                    "score": self.items[i.id],
                    "evidence": self.evidence.get(i.id, []),
                    "manual": self.manual.get(i.id),
                }
                for i in RUBRIC
            ],
        }

    def lines(self) -> list[str]:
        parts = ", ".join(f"{s} {self.sections[s]:g}" for s in SECTIONS)
        out = [
            f"ML Test Score: {self.final:g} ({self.band}); sections: {parts} (of 7 each)",
        ]
        todo = self.next_items()
        if todo:
            out.append(f"weakest section: {self.weakest}; add next:")
            out.extend(f"  {i.id} {i.title}: {i.how}" for i in todo)
        return out


def compute(evidence: Mapping[str, Iterable[str]], manual: Mapping[str, str]) -> Score:
    """Score a run: ``evidence`` maps item ids to the passed tests evidencing them."""
    items: dict[str, float] = {}
    for item in RUBRIC:
        if evidence.get(item.id):
            items[item.id] = 1.0
        elif item.id in manual:
            items[item.id] = 0.5
        else:
            items[item.id] = 0.0
    return Score(items, {k: sorted(set(v)) for k, v in evidence.items() if v}, dict(manual))


# --- the ML mutation score beside the rubric -------------------------------------------
# The rubric asks whether a test exists for an item; the mutation score asks whether the
# tests would catch a planted fault. Each operator area probes the items whose tests are
# the ones meant to notice its faults.
MUTATION_PROBES: dict[str, tuple[str, ...]] = {
    "optimiser": ("infra-2",),
    "gradients": ("infra-2",),
    "loss": ("infra-2",),
    "mode": ("infra-2", "infra-4"),
    "state": ("infra-3", "infra-7"),
    "data": ("data-1", "data-2", "data-7"),
    "randomness": ("infra-1",),
}
_KILLED = ("killed", "errored", "timeout")
MUTATION_HEADER = ("item", "test", "rubric score", "mutants killed", "survivors")


def mutation_rows(mutation: Mapping[str, Any], score: Mapping[str, Any] | None) -> list[list[str]]:
    """One row per rubric item some operator probes: its rubric score (from ``score``,
    the JSON form of :class:`Score`, ``-`` without one), how many of the mutants probing
    it were killed out of those scored, and the survivors. Operators of an unknown area
    go on a last ``(no item)`` row. Tolerates malformed entries (a JSON file may be
    hand-edited): they are shown, never dropped and never an exception."""
    rubric = {}
    if isinstance(score, Mapping):
        for entry in score.get("items") or ():
            if isinstance(entry, Mapping):
                rubric[str(entry.get("id"))] = entry.get("score")
    probed: dict[str, list[tuple[str, str]]] = {}
    mutants = mutation.get("mutants") if isinstance(mutation, Mapping) else None
    for m in mutants if isinstance(mutants, list) else ():
        if not isinstance(m, Mapping):
            continue
        name, status = str(m.get("operator", "?")), str(m.get("status", "?"))
        for item in MUTATION_PROBES.get(str(m.get("area")), ("(no item)",)):
            probed.setdefault(item, []).append((name, status))
    rows = []
    for item in [i.id for i in RUBRIC if i.id in probed] + ["(no item)"] * ("(no item)" in probed):
        pairs = probed[item]
        scored = [s for _, s in pairs if s not in ("not applicable", "equivalent", "broken")]
        value = rubric.get(item)
        rows.append(
            [
                item,
                BY_ID[item].title if item in BY_ID else "operators of an unknown area",
                f"{value:g}" if isinstance(value, (int, float)) else "-",
                f"{sum(s in _KILLED for s in scored)} of {len(scored)}",
                ", ".join(n for n, s in pairs if s == "survived") or "-",
            ]
        )
    return rows


def mutation_headline(mutation: Mapping[str, Any]) -> str:
    """``0.94 (16 killed / (17 applicable - 0 equivalent))``, or why there is no score."""
    get = mutation.get if isinstance(mutation, Mapping) else {}.get
    value, killed = get("score"), get("killed")
    applicable, equivalent = get("applicable"), get("equivalent")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not isfinite(value):
        return "no score: no applicable, non-equivalent mutant"
    return f"{value:.2f} ({killed} killed / ({applicable} applicable - {equivalent} equivalent))"


MUTATION_NOTE = (
    "The rubric asks whether a test exists for each item; the mutation score asks whether "
    "the tests would catch the faults that item is about. An item scored 1 whose mutants "
    "survive has tests that run but do not look."
)
