"""Files: atomic writes, and bounded reads that never hang on a FIFO or a huge file."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class TooLarge(OSError):
    """The file is larger than the reader accepts, or is not a regular file."""


class NotRegularFile(OSError):
    """The path to write is a directory, a device, a FIFO or a socket: never replaced."""


def writable_target(path: Path) -> Path:
    """Where writing ``path`` goes: the path itself, or a symlink's target (the link is
    kept). Raise :class:`NotRegularFile` when that exists and is not a regular file."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise NotRegularFile(f"{path}: cannot be written: {exc}") from None
    if not stat.S_ISREG(info.st_mode):
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "a device, FIFO or socket"
        via = f" (through the symlink {path})" if target != path else ""
        raise NotRegularFile(
            f"{target}{via} is {what}, not a regular file: refused (it is never replaced; "
            "give the path of a file)"
        )
    return target


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: a reader never
    sees half a file. A symlink is written through to its target (the link stays); a
    directory, device or FIFO is refused with :class:`NotRegularFile`, never replaced."""
    target = writable_target(Path(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        writable_target(target)  # it may have changed while we wrote
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return Path(path)


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
