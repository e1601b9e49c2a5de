"""Files on disk: atomic writes and reads that say which path was missing.

An atomic write puts the bytes in a temporary file in the target's directory, flushes and
fsyncs it, then renames it onto the target with `os.replace` (atomic on POSIX and
Windows). A crash or error at any point leaves either the old file or the new one, never a
half-written mix, and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename) and return the path.

    ``path`` must be new or a regular file: a directory, device node, FIFO or socket (or a
    link to one) is refused, never replaced. Temporary files that earlier saves to the same
    target left behind when their process was killed are removed first. The new file keeps
    the permission bits of the file it replaces (or gets the usual ``0o666 & ~umask`` when
    it is new). Raises ``FileNotFoundError`` when the directory does not exist.
    """
    path = Path(os.fspath(path))
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot save to {str(path)!r}: directory {str(directory)!r} "
                                "does not exist")
    check_save_target(path)
    remove_stale_temp_files(path)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=directory
    )
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


def check_save_target(path: Path) -> None:
    """Refuse to replace anything at ``path`` that is not a regular file (following links)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:  # a new path (or a dangling link, which is replaced)
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"cannot save to {str(path)!r}: it is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(
            f"cannot save to {str(path)!r}: it is {file_kind(st.st_mode)}, not a regular file; "
            "plainnet writes only to a new path or replaces a regular file"
        )


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Remove the temporary files of killed saves to ``path`` and return them.

    A save's temp file is ``.{name}.{pid}.{random}.tmp``; it is stale when that process no
    longer exists (and, where processes can't be asked, or for the ``.{name}.{random}.tmp``
    of older plainnets, after an hour). A save in progress in a living process is left alone.
    """
    prefix = f".{path.name}."
    removed = []
    try:
        candidates = [c for c in os.scandir(path.parent)
                      if c.name.startswith(prefix) and c.name.endswith(".tmp")]
    except OSError:
        return removed
    for entry in candidates:
        middle = entry.name[len(prefix): -len(".tmp")]
        pid_text, _, rest = middle.partition(".")
        if not rest:  # an older plainnet's name, without the pid: stale after an hour
            pid_text = ""
        if not _is_stale(pid_text, entry):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _is_stale(pid_text: str, entry: os.DirEntry) -> bool:
    if pid_text.isdigit() and os.name == "posix":
        pid = int(pid_text)
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # exists, owned by someone else
            return False
        return False
    try:
        return time.time() - entry.stat(follow_symlinks=False).st_mtime > 3600
    except OSError:
        return False


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in (
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike, what: str = "file"):
    """``(binary file object, size)`` of the regular file at ``path``.

    A FIFO, device, socket or directory (or a link to one) is refused before it is opened,
    and the file is opened without blocking and checked again, so nothing can hang or feed
    endless bytes. ``FileNotFoundError`` names a missing path.
    """
    path = Path(os.fspath(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no {what} at {str(path)!r}") from None
    _check_regular(st.st_mode, path, what)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)  # what was opened, in case the path changed in between
        _check_regular(st.st_mode, path, what)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb"), st.st_size


def _check_regular(mode: int, path: Path, what: str) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a {what}")
    if not stat.S_ISREG(mode):
        raise ValueError(
            f"{str(path)!r} is {file_kind(mode)}, not a regular file; a {what} must be a "
            "regular file"
        )


def read_bytes(path: str | os.PathLike, what: str = "file") -> bytes:
    """The bytes of the regular file ``path`` (see `open_regular`)."""
    f, size = open_regular(path, what)
    with f:
        return f.read(size)


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
