from __future__ import annotations

import random

import pytest

from mlops_testkit import perturb
from mlops_testkit.behavioral.perturb.lexicon import FIRST_NAMES, KEY_NEIGHBOURS

TEXT = "Anna isn't happy with the 3 rooms in Paris, they are great!"


def test_every_text_perturbation_changes_the_text_and_describes_it() -> None:
    for p in (
        perturb.typos(n=3, count=2),
        perturb.change_case(),
        perturb.punctuation(),
        perturb.whitespace(),
        perturb.contractions(),
        perturb.change_names(n=2),
        perturb.change_location(),
        perturb.change_number(),
        perturb.synonyms({"great": ["excellent", "superb"]}),
        perturb.add_phrase(),
    ):
        variants = p(TEXT, random.Random(0))
        assert variants, p
        for v in variants:
            assert v.value != TEXT and v.description, (p, v)


def test_specific_perturbations() -> None:
    r = random.Random(1)
    assert perturb.contractions()("It is not bad", r)[0].value == "It's not bad"
    assert perturb.contractions()("It isn't bad", r)[0].value == "It is not bad"
    assert perturb.negate()("The food was good", r)[0].value == "The food was not good"
    assert perturb.negate()("I love it", r)[0].value == "I do not love it"
    assert perturb.negate()("It was not good", r) == []  # already negative
    number = perturb.change_number(share=0.2)("I waited 100 minutes", r)[0]
    assert 80 <= int(number.value.split()[2]) <= 120 and "100 ->" in number.description
    assert perturb.change_names()("no names here", r) == []


def test_typos_are_keyboard_realistic() -> None:
    assert set(KEY_NEIGHBOURS["a"]) == set("qwsz")
    variants = perturb.typos(n=50, kinds=["key"])("hello world", random.Random(2))
    for v in variants:
        diffs = [(a, b) for a, b in zip("hello world", v.value, strict=True) if a != b]
        assert len(diffs) == 1 and diffs[0][1] in KEY_NEIGHBOURS[diffs[0][0]]


def test_names_span_genders_and_swap_every_occurrence() -> None:
    assert len(FIRST_NAMES["female"]) >= 30 and len(FIRST_NAMES["male"]) >= 30
    v = perturb.change_names()("Anna met Anna", random.Random(0))[0]
    new = v.description.split("-> ")[1]
    assert v.value == f"{new} met {new}"


def test_composition() -> None:
    both = perturb.typos() + perturb.punctuation()
    v = both("hello there", random.Random(0))[0]
    assert "typo" in v.description and "'.'" in v.description
    either = perturb.change_case(["upper"]) | perturb.punctuation()
    assert [x.value for x in either("hi", random.Random(0))] == ["HI", "hi."]


def test_same_rng_same_variants() -> None:
    p = perturb.typos(n=5, count=3) | perturb.change_names(n=3)
    assert p(TEXT, random.Random(4)) == p(TEXT, random.Random(4))


@pytest.mark.parametrize(
    "make",
    [
        lambda: perturb.typos(n=0),
        lambda: perturb.typos(kinds=["nope"]),
        lambda: perturb.add_phrase(where="middle"),
        lambda: perturb.synonyms({}),
        lambda: perturb.change_case(["camel"]),
    ],
)
def test_bad_arguments(make) -> None:
    with pytest.raises(ValueError):
        make()


def test_tabular_perturbations() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"income": [10.0, 20.0], "region": pd.Categorical(["n", "s"])})
    r = random.Random(0)
    assert perturb.increase("income", by=5)(frame, r)[0].value["income"].tolist() == [15.0, 25.0]
    assert perturb.decrease("income", factor=2)(frame, r)[0].value["income"].tolist() == [
        5.0,
        10.0,
    ]
    swapped = perturb.swap_category("region")(frame, r)[0].value
    assert (
        swapped["region"].tolist() == ["s", "n"]
        and swapped["region"].dtype == frame["region"].dtype
    )
    jittered = perturb.jitter("income", 0.1)(frame, r)[0].value["income"]
    assert ((jittered - frame["income"]).abs() <= frame["income"] * 0.1).all()
    from mlops_testkit import MltkUsageError

    with pytest.raises(MltkUsageError, match="not in the frame"):
        perturb.increase("salary", by=1)(frame, r)
    with pytest.raises(MltkUsageError, match="exactly one of by="):
        perturb.increase("income")
