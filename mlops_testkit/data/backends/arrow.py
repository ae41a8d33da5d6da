"""The PyArrow backend: a Table or Dataset goes to polars without a copy (a Table) or as
a lazy scan (a Dataset), and polars computes everything."""

from __future__ import annotations

from typing import Any

from mlops_testkit.data.backends import Backend, engine_guard
from mlops_testkit.extras import require


def arrow_backend(obj: Any, name: str, where: str) -> Backend:
    """A :class:`~mlops_testkit.data.backends.polars.PolarsBackend` over a PyArrow object."""
    pl = require("polars", where)
    from mlops_testkit.data.backends.polars import PolarsBackend

    with engine_guard(where, f"{name} (PyArrow)", "polars"):
        if type(obj).__name__ == "Table":
            frame = pl.from_arrow(obj)
        else:  # a pyarrow.dataset.Dataset: scanned lazily, never read whole
            frame = pl.scan_pyarrow_dataset(obj)
    files = list(getattr(obj, "files", None) or []) or None
    if files and not all(str(f).endswith(".parquet") for f in files):
        files = None
    backend = PolarsBackend(frame, name, where, files=files)
    backend.noun = "PyArrow " + ("Table" if type(obj).__name__ == "Table" else "Dataset")
    return backend
