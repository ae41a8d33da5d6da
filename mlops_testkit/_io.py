"""Files: atomic writes, and bounded reads that never hang on a FIFO or a huge file."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class TooLarge(OSError):
    """The file is larger than the reader accepts, or is not a regular file."""


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: a reader never
    sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def read_text_capped(path: Path, max_bytes: int) -> str:
    """Read a regular file of at most ``max_bytes``; raise :class:`TooLarge` for a FIFO,
    a device or a directory (reading one could block forever) or a larger file, and
    ``FileNotFoundError`` when it does not exist."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise TooLarge("is not a regular file (a pipe, device or directory): refused")
    if info.st_size > max_bytes:
        raise TooLarge(f"is {info.st_size:,} bytes, over the {max_bytes:,}-byte limit: refused")
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"grew over the {max_bytes:,}-byte limit while being read: refused")
    return data.decode("utf-8")
