"""The Spark aggregations that count a side: every numeric column's grid bins, its moments,
and each categorical column's categories. Nothing leaves the executors unaggregated.

Bins: one bucket expression per column, ``k = (column * 2**32 + bin) * 2 + f``, packs the
column's position, the grid bin of the value (the arithmetic of
:meth:`~mlops_testkit.data.sketch.Grid.index`, so every engine puts a value in the same bin)
and, on integer grids, whether the value is not a whole number, into one long; the keys of
all columns are exploded and counted by one ``groupBy``. Spark aggregates partially on each
executor before the shuffle, so what crosses the network is one row per occupied bin and
partition, and what reaches the driver one row per occupied bin (at most about 8,400 per
column). Moments: one global aggregation, the minimum, maximum, and sums of ``d`` and
``d**2`` where ``d`` is the distance to a pivot near the grid's centre (the standard
deviation, without the cancellation of raw sums).

Categories: one ``groupBy`` per column, which reads only that column (Parquet) and keys a
hash aggregate by its value; at most ``MAX_CATEGORIES + 1`` rows come back, and a column
with more is counted with ``countDistinct`` instead.
"""

from __future__ import annotations

import math
from typing import Any

from mlops_testkit.data.backends import MAX_CATEGORIES, TooMany
from mlops_testkit.data.drift_stats import MISSING

SHIFT = 2**32  # k = column * SHIFT + bin; |bin| < 2**31


def bin_counts(F: Any, frame: Any, grids: list[Any], n: int) -> list[Any]:
    """:class:`~mlops_testkit.data.sketch.Binned` histograms of ``frame``'s columns ``v0``,
    ``v1``... (doubles, NaN and infinities as null) in ``grids``: one aggregation for the
    bins, one for the moments."""
    from mlops_testkit.data.sketch import Binned

    keyed, moments = [], []
    for i, grid in enumerate(grids):
        x, z = F.col(f"v{i}"), F.col(f"z{i}")
        key = (_index(F, z, grid.bins) + F.lit(i * SHIFT)) * 2
        if grid.integer:  # the key's last bit: a value that is not a whole number
            key = key + (x != F.floor(x)).cast("long")
        keyed.append(key.alias(f"k{i}"))
        d = x - F.lit(grid.a + grid.width * grid.bins / 2)  # from a pivot near the centre
        moments += [F.min(x), F.max(x), F.sum(d), F.sum(d * d)]
    scaled = frame.select(
        *[F.col(f"v{i}") for i in range(len(grids))],
        *[
            ((F.col(f"v{i}") - F.lit(g.a)) / F.lit(g.width)).alias(f"z{i}")
            for i, g in enumerate(grids)
        ],
    )
    # the keys in a projection of their own: each generated method stays small enough for
    # the JIT to compile it (one huge method would run interpreted)
    rows = (
        scaled.select(*keyed)
        .select(F.explode(F.array(*[F.col(f"k{i}") for i in range(len(grids))])).alias("k"))
        .where(F.col("k").isNotNull())  # missing values (null, NaN, +-inf) are counted apart
        .groupBy("k")
        .count()
        .collect()
    )
    stats = frame.agg(*moments).collect()[0]
    out = [Binned({}, 0, n) for _ in grids]
    for row in rows:
        key, fraction = divmod(int(row["k"]), 2)
        i = (key + SHIFT // 2) // SHIFT
        b = out[i]
        count = int(row["count"])
        index = key - i * SHIFT
        b.counts[index] = b.counts.get(index, 0) + count
        b.finite += count
        b.non_integer += count if fraction else 0
    for i, b in enumerate(out):
        lo, hi, s1, s2 = stats[4 * i : 4 * i + 4]
        b.missing = n - b.finite
        if b.finite:
            b.minimum, b.maximum = float(lo), float(hi)
            mean = s1 / b.finite
            b.std = math.sqrt(max(s2 / b.finite - mean * mean, 0.0))
    return out


def _index(F: Any, z: Any, bins: int) -> Any:
    """:meth:`~mlops_testkit.data.sketch.Grid.index` of ``z = (x - a) / width`` (the common
    case, a central bin, tested first)."""
    return (
        F.when((z > 0) & (z <= bins), F.ceil(z))
        .when(z <= 0, -F.floor(F.log2(1.0 - z)))
        .otherwise(bins + 1 + F.floor(F.log2(1.0 + (z - bins))))
        .cast("long")
    )


def category_counts(F: Any, df: Any, column: Any) -> dict[Any, int] | TooMany:
    """Exact counts per category (missing values under ``MISSING``) of one column, or
    :class:`TooMany`."""
    col = F.col(f"`{column}`")
    rows = df.groupBy(col.alias("k")).count().limit(MAX_CATEGORIES + 1).collect()
    if len(rows) > MAX_CATEGORIES:
        return TooMany(int(df.select(F.countDistinct(col)).collect()[0][0]))
    counts: dict[Any, int] = {}
    for row in rows:
        key = row["k"]
        label = MISSING if key is None or key != key else _hashable(key)
        counts[label] = counts.get(label, 0) + int(row["count"])
    return counts


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
