"""The polars backend reads a Parquet dataset in row ranges cut on its row-group boundaries,
so memory stays flat (benchmarks/bench_scale.py measures it): every row is read exactly
once, no range spans two row groups, none exceeds the batch size, and the counts are the
same as from the frame in memory."""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")

from mlops_testkit import drift_report
from mlops_testkit.data.backends import polars as backend


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    """Files with row groups of 700 rows (the last short, one file of a single group) and
    one of 100-row groups, a batch size of 300: large groups are cut in equal parts of at
    most 300 rows, small neighbours are read together."""
    monkeypatch.setattr(backend, "PARQUET_BATCH_ROWS", 300)
    rng = np.random.default_rng(0)
    frames = []
    for k, (rows, group) in enumerate(((2_000, 700), (700, 700), (1_234, 700), (450, 100))):
        frame = pd.DataFrame(
            {"x": rng.normal(size=rows), "n": rng.integers(0, 50, rows), "k": np.full(rows, k)}
        )
        pq.write_table(pa.Table.from_pandas(frame), tmp_path / f"part-{k}.parquet", group)
        frames.append(frame)
    return str(tmp_path), pd.concat(frames, ignore_index=True)


def test_row_ranges_cover_every_row_once_within_row_groups(dataset) -> None:
    path, frame = dataset
    b = backend.from_path(path, "current", "test")
    ranges = b._row_ranges()
    groups = []
    for file in b.files:
        meta = pq.read_metadata(file)
        start = 0
        for g in range(meta.num_row_groups):
            rows = meta.row_group(g).num_rows
            groups.append((file, start, start + rows))
            start += rows
    covered = {}
    for file, lo, rows in ranges:
        assert 0 < rows <= 300
        inside = any(f == file and a <= lo and lo + rows <= b_ for f, a, b_ in groups)
        starts = {a for f, a, _ in groups if f == file}
        ends = {b_ for f, _, b_ in groups if f == file}
        assert inside or (lo in starts and lo + rows in ends)  # part of one, or whole groups
        covered.setdefault(file, []).append((lo, rows))
    for parts in covered.values():  # contiguous, in order, each row once
        ends = [lo + rows for lo, rows in parts]
        assert [lo for lo, _ in parts] == [0, *ends[:-1]]
    assert sum(rows for _, _, rows in ranges) == len(frame)
    assert [rows for file, _, rows in ranges if file.endswith("part-3.parquet")] == [300, 150]


def test_binned_counts_from_ranges_equal_the_frame_in_memory(dataset) -> None:
    path, frame = dataset
    mem = backend.PolarsBackend(pl.from_pandas(frame), "current", "test")
    disk = backend.from_path(path, "current", "test")
    from mlops_testkit.data.sketch import choose_grid

    sample = mem.sample(["x", "n"], 10_000)
    grids = {c: choose_grid([sample[c]]) for c in ("x", "n")}
    a, b = mem.binned(grids), disk.binned(grids)
    for c in grids:
        assert a[c].counts == b[c].counts and a[c].finite == b[c].finite == len(frame)
        assert a[c].std == pytest.approx(b[c].std, rel=1e-12)
    assert drift_report(frame, path).passed  # the same data on both sides
