"""Files on disk: atomic writes and reads that say which path was missing.

An atomic write puts the bytes in a temporary file in the target's directory, flushes and
fsyncs it, then renames it onto the target with :func:`os.replace` (atomic on POSIX and
Windows). A crash or error at any point leaves either the old file or the new one, never a
half-written mix, and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename) and return the path.

    The new file keeps the permission bits of the file it replaces (or gets the usual
    ``0o666 & ~umask`` when it is new). Raises ``FileNotFoundError`` when the directory does
    not exist.
    """
    path = Path(os.fspath(path))
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot save to {str(path)!r}: directory {str(directory)!r} "
                                "does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot save to {str(path)!r}: it is a directory")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _set_mode(tmp_name, path)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(directory)
    return path


def read_bytes(path: str | os.PathLike, what: str = "file") -> bytes:
    """The bytes of ``path``; ``FileNotFoundError`` (naming the path) when there is none."""
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a {what}")
    return path.read_bytes()


def _set_mode(tmp_name: str, target: Path) -> None:
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    os.chmod(tmp_name, mode)


def _umask() -> int:
    try:  # Linux reports it without changing it
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX only; a no-op where directories can't be opened)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
