"""The Spark aggregations that count a side: every numeric column's grid bins, its moments,
and each categorical column's categories. Nothing leaves the executors unaggregated.

Bins: each numeric column becomes its grid coordinate ``z = (x - a) / width``; the
coordinates of a row are exploded with their position (``posexplode``), and ONE bucket
expression, ``k = (position * 2**32 + bin) * 2 + f``, packs the column's position, the grid
bin of the value (the arithmetic of :meth:`~mlops_testkit.data.sketch.Grid.index`, so every
engine puts a value in the same bin) and whether ``z`` is not a whole number (on integer
grids: the value is not) into one long, counted by one ``groupBy``. One expression after the
explode, not one per column before it: twenty copies of the bucket expression make the
generated method too large for the JVM to compile, and the scan then runs interpreted, about
four times slower. Spark aggregates partially on each executor before the shuffle, so what
crosses the network is one row per occupied bin and partition, and what reaches the driver
one row per occupied bin (at most about 8,400 per column). Moments: one global aggregation,
the minimum, maximum, and sums of ``d`` and ``d**2`` where ``d`` is the distance to a pivot
near the grid's centre (the standard deviation, without the cancellation of raw sums).

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


def bin_counts(F: Any, frame: Any, grids: list[Any], n: int, raw: Any = None) -> list[Any]:
    """:class:`~mlops_testkit.data.sketch.Binned` histograms of ``frame``'s columns ``v0``,
    ``v1``... (doubles, NaN and infinities as null) in ``grids``: one aggregation for the
    bins, one for the moments. ``raw``, the same columns with NaN and infinities left in,
    spares the bins pass the nulling (a CASE per column): ``z + 0 * x`` is NaN exactly
    where ``x`` is not finite, and one ``isnan`` after the explode drops those."""
    from mlops_testkit.data.sketch import Binned

    if len({g.bins for g in grids}) > 1:
        raise RuntimeError("bin_counts: every grid must have the same number of central bins")
    moments = []
    for i, grid in enumerate(grids):
        x = F.col(f"v{i}")
        d = x - F.lit(grid.a + grid.width * grid.bins / 2)  # from a pivot near the centre
        moments += [F.min(x), F.max(x), F.sum(d), F.sum(d * d)]
    # Each column's grid coordinate z = (x - a) / width, exploded with its position, so that
    # ONE bin expression serves every column: twenty copies of it in one generated method
    # push the method past the size the JVM compiles, and the scan runs interpreted (4x).
    z = F.col("z")
    key = (_index(F, z, grids[0].bins) + F.col("p") * F.lit(SHIFT)) * 2
    # the last bit: z is not a whole number (``rint``, a double, not ``floor``: a far
    # outlier's z does not fit a long)
    key = key + (z != F.rint(z)).cast("long")
    source = frame if raw is None else raw
    coordinates = [
        (F.col(f"v{i}") - F.lit(g.a)) / F.lit(g.width) + F.lit(0.0) * F.col(f"v{i}")
        for i, g in enumerate(grids)
    ]
    rows = (
        source.select(F.posexplode(F.array(*coordinates)).alias("p", "z"))
        # missing values (null, NaN, +-inf) are counted apart: n minus the binned
        .where(z.isNotNull() & ~F.isnan(z))
        .select(key.alias("k"))
        .groupBy("k")
        .count()
        .collect()
    )
    stats = frame.agg(*moments).collect()[0]
    out = [Binned({}, 0, n) for _ in grids]
    for row in rows:
        key_, fraction = divmod(int(row["k"]), 2)
        i = (key_ + SHIFT // 2) // SHIFT
        b = out[i]
        count = int(row["count"])
        index = key_ - i * SHIFT
        b.counts[index] = b.counts.get(index, 0) + count
        b.finite += count
        # on an integer grid (width 1, a whole), z is whole exactly when the value is
        b.non_integer += count if fraction and grids[i].integer else 0
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
