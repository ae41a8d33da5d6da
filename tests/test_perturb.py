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
    from mlops_testkit import MltkUsageError

    with pytest.raises(MltkUsageError):  # the kit's own error (still a ValueError)
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


@pytest.mark.parametrize(
    ("values", "dtype", "what"),
    [
        (["a", "b"], None, "str values, not numbers"),
        (["a", 1.5], object, "holds values that are not numbers"),
        ([True, False], None, "bool values, not numbers"),
        ([1 + 1j, 2.0], None, "complex128 values, not numbers"),
        (["2024-01-01", "2024-01-02"], "datetime64[ns]", "datetime64.ns. values, not numbers"),
    ],
)
def test_numeric_perturbations_of_a_non_numeric_column_name_it(values, dtype, what) -> None:
    """Issue 21: increase("x") on a string column raised numpy's "could not convert
    string to float"; now a usage error naming the column and its type."""
    pd = pytest.importorskip("pandas")
    from mlops_testkit import MltkUsageError

    frame = pd.DataFrame({"x": pd.Series(values, dtype=dtype)})
    for p in (perturb.increase("x", by=1), perturb.decrease("x", factor=2), perturb.jitter("x")):
        with pytest.raises(MltkUsageError, match=f"column 'x'.*{what}"):
            p(frame, random.Random(0))
    twice = pd.DataFrame([[1.0, 2.0]], columns=["x", "x"])
    with pytest.raises(MltkUsageError, match="'x' appears 2 times"):
        perturb.increase("x", by=1)(twice, random.Random(0))


def test_numeric_perturbations_keep_missing_values_and_nullable_ints() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": pd.array([1, None, 3], dtype="Int64")})
    out = perturb.increase("x", by=1)(frame, random.Random(0))[0].value["x"]
    assert out.iloc[0] == 2.0 and out.isna().iloc[1] and out.iloc[2] == 4.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: perturb.increase("x", by="1"),
        lambda: perturb.increase("x", by=float("nan")),
        lambda: perturb.decrease("x", factor=True),
        lambda: perturb.decrease("x", factor=float("inf")),
        lambda: perturb.jitter("x", scale=0),
        lambda: perturb.jitter("x", scale=float("nan")),
        lambda: perturb.jitter("x", relative="no"),
    ],
)
def test_tabular_amounts_must_be_finite_positive_numbers(make) -> None:
    from mlops_testkit import MltkUsageError

    with pytest.raises(MltkUsageError):
        make()


def test_a_text_perturbation_refuses_what_is_not_a_text() -> None:
    """A text perturbation given a frame, a number or a list names itself and the type;
    a missing text (None, NaN) has nothing to perturb: no variant (not applicable)."""
    pd = pytest.importorskip("pandas")
    from mlops_testkit import MltkUsageError

    for p in (perturb.typos(), perturb.negate(), perturb.typos() | perturb.whitespace()):
        for value in (pd.DataFrame({"text": ["good movie"]}), 3, ["a list"]):
            with pytest.raises(MltkUsageError, match=r"changes one text \(a str\) at a time"):
                p(value, random.Random(0))
        assert p(None, random.Random(0)) == [] and p(float("nan"), random.Random(0)) == []
