"""frames(schema): every frame satisfies the schema, and a property test built on it
catches a real bug in feature code."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pandera.pandas")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings

from mlops_testkit import MltkUsageError, assert_schema, frames

SCHEMAS = {
    "bounds": pa.DataFrameSchema(
        {
            "gt": pa.Column(float, pa.Check.gt(0)),
            "lt": pa.Column(int, pa.Check.lt(3)),
            "half_open": pa.Column(int, pa.Check.in_range(0, 2, include_max=False)),
            "eq": pa.Column(int, pa.Check.equal_to(7)),
            "notin": pa.Column(int, [pa.Check.in_range(0, 5), pa.Check.notin([2, 3])]),
            "unique": pa.Column(int, pa.Check.in_range(0, 200), unique=True),
            "f32": pa.Column(np.float32, pa.Check.in_range(-1, 1)),
        }
    ),
    "nullable": pa.DataFrameSchema(
        {
            "Int64": pa.Column("Int64", pa.Check.ge(0), nullable=True),
            "float": pa.Column(float, pa.Check.lt(5), nullable=True),
            "str": pa.Column(str, pa.Check.str_startswith("id-"), nullable=True),
            "datetime": pa.Column("datetime64[ns]", nullable=True),
            "category": pa.Column(pd.CategoricalDtype(["x", "y"]), nullable=True),
            "boolean": pa.Column("boolean", nullable=True),
            "int64": pa.Column(int, nullable=True),  # cannot hold missing values: gets none
        }
    ),
    "strings_and_custom": pa.DataFrameSchema(
        {
            "regex": pa.Column(str, pa.Check.str_matches(r"[A-Z]{2}\d{3}")),
            "length": pa.Column(str, pa.Check.str_length(2, 4)),
            "exact": pa.Column(str, pa.Check.str_length(exact_value=3)),
            "suffix": pa.Column(str, pa.Check.str_endswith(".csv")),
            "even": pa.Column(int, pa.Check(lambda s: s % 2 == 0)),
            "unique_text": pa.Column(str, unique=True),
        }
    ),
    "frame_check": pa.DataFrameSchema(
        {
            "lo": pa.Column(int, pa.Check.in_range(0, 10)),
            "hi": pa.Column(int, pa.Check.in_range(0, 10)),
        },
        checks=pa.Check(lambda df: df["lo"] <= df["hi"]),
        strict=True,
    ),
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_frame_satisfies_the_schema(name: str) -> None:
    schema = SCHEMAS[name]
    sizes = []

    @settings(max_examples=40, deadline=None, database=None)
    @given(frames(schema, size=(0, 25)))
    def check(df):
        schema.validate(df, lazy=True)
        sizes.append(len(df))

    check()
    assert len(sizes) == 40 and max(sizes) > 1


def test_fixed_size_and_data_frame_model() -> None:
    class Model(pa.DataFrameModel):
        age: int = pa.Field(ge=18, le=99)
        region: str = pa.Field(isin=["n", "s"])

    @settings(max_examples=10, deadline=None, database=None)
    @given(frames(Model, size=7))
    def check(df):
        assert len(df) == 7 and list(df.columns) == ["age", "region"]
        Model.validate(df)

    check()


RAW = pa.DataFrameSchema(
    {
        "income": pa.Column(float, pa.Check.ge(0)),
        "debt": pa.Column(float, pa.Check.ge(0)),
    }
)
FEATURES = pa.DataFrameSchema({"debt_to_income": pa.Column(float, pa.Check(np.isfinite))})


def buggy_features(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"debt_to_income": raw["debt"] / raw["income"]})  # income may be 0


def fixed_features(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"debt_to_income": raw["debt"] / raw["income"].clip(lower=1.0)})


def test_property_test_catches_a_feature_bug_and_passes_the_fix() -> None:
    @settings(max_examples=100, deadline=None, database=None)
    @given(frames(RAW))
    def features_keep_their_contract(feature_fn, raw):
        assert_schema(feature_fn(raw), FEATURES)

    with pytest.raises(AssertionError, match="isfinite"):
        features_keep_their_contract(buggy_features)
    features_keep_their_contract(fixed_features)


@pytest.mark.parametrize(
    ("schema", "size", "message"),
    [
        ({"a": int}, 5, "schema must be a pandera DataFrameSchema"),
        (RAW, -1, "size must be >= 0"),
        (RAW, (5, 2), r"size must be an int or a \(min, max\) tuple"),
        (pa.DataFrameSchema({"c": pa.Column(complex)}), 5, "cannot generate"),
        (
            pa.DataFrameSchema({"c": pa.Column(int, pa.Check.isin([1]))}).update_column(
                "c", checks=[pa.Check.isin([1]), pa.Check.notin([1])]
            ),
            5,
            "allows no value",
        ),
    ],
)
def test_bad_input(schema, size, message) -> None:
    with pytest.raises(MltkUsageError, match=message):
        frames(schema, size=size).example()
