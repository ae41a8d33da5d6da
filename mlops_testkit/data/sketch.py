"""Drift statistics of numeric columns that live in an engine (polars, Parquet, Spark).

The engine never sends values to Python. It counts them, exactly, in the bins of a
:class:`Grid` that both sides share: ``CENTRAL_BINS`` equal bins over the middle of the
pooled distribution (its 0.1% to 99.9% quantiles, read off a small sample of each
side), plus geometric tail bins beyond it, so one outlier cannot squash the grid. The
bin of a value is plain arithmetic (:meth:`Grid.index`), so numpy, polars and Spark SQL
all put a value in the same bin.

From the two exact histograms:

* the KS statistic is the largest gap of the two CDFs at the bin boundaries (exact
  there); the true statistic is at most ``bound`` above it, where ``bound`` is the most a
  gap can grow inside one bin given both sides' counts in it (roughly one bin's mass,
  about 1 / 8,192 of the data for smooth data);
* the Wasserstein distance is the trapezoid integral of the CDF gap over the bins, within
  ``sum(bin width x bin growth bound)`` of the true distance;
* integer-valued columns get a grid with one bin per integer (while they span at most
  ``CENTRAL_BINS`` integers): every value sits on a bin boundary and both statistics are
  exact;
* PSI and Jensen-Shannon use exact counts in reference-decile bins read off the grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

CENTRAL_BINS = 8192
SAMPLE_SIZE = 65_536  # values per side and column used to place the grid
TAIL_QUANTILE = 0.001
MAX_Z = 1.7e308  # grid coordinates are clipped here: tail bin indices stay within +-1024


@dataclass(frozen=True)
class Grid:
    """Bins of a numeric column: index 1..bins over ``(a, a + bins * width]``, indices
    <= 0 below it and > bins above it, each tail bin twice as wide as the previous one."""

    a: float
    width: float
    bins: int = CENTRAL_BINS
    integer: bool = False  # one bin per integer: every integer sits on a right boundary

    def index(self, x: Any) -> Any:
        """Bin indices of a float array of finite values (numpy)."""
        import numpy as np

        with np.errstate(over="ignore"):
            # a finite value far out on a fine grid overflows z to +-inf: the last tail bin
            z = np.clip((x - self.a) / self.width, -MAX_Z, MAX_Z)
        out = np.ceil(z)
        low = z <= 0
        if low.any():
            out[low] = -np.floor(np.log2(1.0 - z[low]))
        high = z > self.bins
        if high.any():
            out[high] = self.bins + 1 + np.floor(np.log2(1.0 + (z[high] - self.bins)))
        return out.astype(np.int64)

    def upper(self, index: Any) -> Any:
        """The right boundary (in value units) of each bin index."""
        import numpy as np

        i = np.asarray(index, dtype=np.float64)
        with np.errstate(over="ignore"):  # the farthest tail bins end beyond the doubles
            z = np.where(
                i <= 0,
                -(np.exp2(-i) - 1.0),
                np.where(i > self.bins, self.bins + np.exp2(i - self.bins) - 1.0, i),
            )
            return self.a + z * self.width


def choose_grid(samples: list[Any]) -> Grid:
    """A grid for a column from samples (sorted finite values) of both sides."""
    import numpy as np

    pooled = (
        np.concatenate([s for s in samples if len(s)]) if any(len(s) for s in samples) else None
    )
    if pooled is None:
        return Grid(0.0, 1.0 / CENTRAL_BINS)
    lo_all, hi_all = float(pooled.min()), float(pooled.max())
    if np.all(pooled == np.round(pooled)) and hi_all - lo_all <= CENTRAL_BINS - 2:
        return Grid(math.floor(lo_all) - 1.0, 1.0, integer=True)
    lo, hi = (float(v) for v in np.quantile(pooled, [TAIL_QUANTILE, 1 - TAIL_QUANTILE]))
    if not hi > lo:
        lo, hi = lo_all, hi_all
    if not hi > lo:
        span = max(abs(lo), 1.0) * 1e-6
        lo, hi = lo - span, hi + span
    pad = (hi - lo) * 0.01
    return Grid(lo - pad, (hi - lo + 2 * pad) / CENTRAL_BINS)


@dataclass
class Binned:
    """Exact counts of one side's finite values in a grid's bins, and its moments."""

    counts: dict[int, int] = field(default_factory=dict)  # bin index -> count
    finite: int = 0
    missing: int = 0  # null, NaN and +-inf
    minimum: float = math.inf
    maximum: float = -math.inf
    std: float = math.nan  # population standard deviation of the finite values
    non_integer: int = 0  # finite values that are not whole numbers (integer grids only)


def bin_values(grid: Grid, values: Any) -> Binned:
    """Bin sorted (or unsorted) finite values in memory: what the pandas side sends."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return Binned()
    idx, counts = np.unique(grid.index(values), return_counts=True)
    return Binned(
        dict(zip(idx.tolist(), counts.tolist(), strict=True)),
        len(values),
        0,
        float(values.min()),
        float(values.max()),
        float(np.std(values)),
        int(np.count_nonzero(values != np.round(values))) if grid.integer else 0,
    )


def _aligned(grid: Grid, ref: Binned, cur: Binned) -> tuple[Any, Any, Any]:
    """CDFs of both sides at the upper boundary of every occupied bin, and the boundaries
    (clipped to the data's range)."""
    import numpy as np

    keys = np.array(sorted(set(ref.counts) | set(cur.counts)), dtype=np.int64)
    p = np.array([ref.counts.get(k, 0) for k in keys.tolist()], dtype=np.float64)
    q = np.array([cur.counts.get(k, 0) for k in keys.tolist()], dtype=np.float64)
    lo = min(ref.minimum, cur.minimum)
    hi = max(ref.maximum, cur.maximum)
    upper = np.clip(grid.upper(keys), lo, hi)
    return np.cumsum(p) / max(ref.finite, 1), np.cumsum(q) / max(cur.finite, 1), upper


def ks_wasserstein(grid: Grid, ref: Binned, cur: Binned) -> tuple[float, float, float, float]:
    """KS statistic, Wasserstein distance and a bound on the error of each."""
    import numpy as np

    f, g, upper = _aligned(grid, ref, cur)
    gap = f - g
    d = float(np.abs(gap).max())
    keys = sorted(set(ref.counts) | set(cur.counts))
    exact = (
        grid.integer
        and ref.non_integer == 0
        and cur.non_integer == 0
        and keys[0] >= 1
        and keys[-1] <= grid.bins
    )
    # width of each occupied bin: from the previous occupied bin's boundary (no mass between)
    lower = np.concatenate([[min(ref.minimum, cur.minimum)], upper[:-1]])
    width = np.maximum(upper - lower, 0.0)
    if exact:  # every value sits on a boundary: the CDFs are step functions we know
        return d, float(np.sum(np.abs(gap[:-1]) * np.diff(upper))), 0.0, 0.0
    g_left = np.concatenate([[0.0], gap[:-1]])
    p = np.diff(np.concatenate([[0.0], f]))
    q = np.diff(np.concatenate([[0.0], g]))
    # inside a bin each CDF rises by its own mass: the gap stays within these limits
    top = np.minimum(g_left + p, gap + q)
    bottom = np.maximum(g_left - q, gap - p)
    inside = np.maximum(top, -bottom)
    d_bound = float(max(0.0, (inside.max() if len(inside) else 0.0) - d))
    mid = (np.abs(g_left) + np.abs(gap)) / 2
    low = np.maximum(np.maximum(bottom, -top), 0.0)  # |gap| cannot go below this in the bin
    w_hat = float(np.sum(width * mid))
    w_bound = float(np.sum(width * np.maximum(inside - mid, mid - low)))
    return d, w_hat, d_bound, w_bound


def decile_counts(grid: Grid, ref: Binned, cur: Binned, bins: int = 10) -> tuple[Any, Any]:
    """Exact counts of both sides in (about) ``bins`` reference-quantile bins made of
    whole grid bins: what PSI and Jensen-Shannon compare."""
    import numpy as np

    keys = np.array(sorted(set(ref.counts) | set(cur.counts)), dtype=np.int64)
    p = np.array([ref.counts.get(k, 0) for k in keys.tolist()], dtype=np.float64)
    q = np.array([cur.counts.get(k, 0) for k in keys.tolist()], dtype=np.float64)
    cdf = np.cumsum(p) / max(p.sum(), 1.0)
    cuts = np.unique(np.searchsorted(cdf, np.linspace(0, 1, bins + 1)[1:-1], side="left"))
    group = np.searchsorted(cuts, np.arange(len(keys)), side="left")
    return (
        np.bincount(group, weights=p, minlength=len(cuts) + 1),
        np.bincount(group, weights=q, minlength=len(cuts) + 1),
    )


def binned_histogram(
    grid: Grid, ref: Binned, cur: Binned, bins: int = 20
) -> dict[str, Any] | None:
    """Reference and current shares on ``bins`` common display bins, drawn from the grid
    counts an engine sent (no values): the same shape as
    :func:`~mlops_testkit.reporting.results.histogram`. Each grid bin goes to the display
    bin of its right boundary, clipped to the pooled data range (tail bins land in the end
    bins), so a share is exact up to one grid bin at each display boundary."""
    import numpy as np

    if not ref.finite or not cur.finite:
        return None
    lo, hi = min(ref.minimum, cur.minimum), max(ref.maximum, cur.maximum)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    if lo == hi:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)

    def shares(side: Binned) -> list[float]:
        keys = np.array(sorted(side.counts), dtype=np.int64)
        counts = np.array([side.counts[k] for k in keys.tolist()], dtype=np.float64)
        upper = np.clip(grid.upper(keys), lo, hi)
        where = np.clip(np.searchsorted(edges, upper, side="left") - 1, 0, bins - 1)
        return (np.bincount(where, weights=counts, minlength=bins) / side.finite).tolist()

    return {"edges": edges.tolist(), "reference": shares(ref), "current": shares(cur)}
