"""MNIST (and Fashion-MNIST) from the standard IDX files, when you have them.

The IDX format is::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4·d bytes   each dimension as a big-endian uint32
    rest        the elements, big-endian, C order

Files may be gzip-compressed (recognized by their content, not their name).
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_KINDS = {"train": "train", "t10k": "t10k", "test": "t10k"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (optionally gzipped), in native byte order.

    The header is read first, then exactly the bytes it declares (and one more, to tell a
    file that is longer than declared): a small gzip file that would expand to gigabytes is
    refused after reading what its header promised, not decompressed whole.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a path that is not
    a regular file, a wrong magic number, an unknown element type or a size that does not
    match the header.
    """
    from .csv import check_regular_file

    path = Path(os.fspath(path))
    check_regular_file(path, "IDX file")
    source = repr(str(path))
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if compressed else raw
        try:
            return _read_idx_stream(stream, source, None if compressed else
                                    os.fstat(raw.fileno()).st_size)
        except (OSError, EOFError, zlib.error) as err:
            if not compressed:
                raise
            raise ValueError(f"{source} is a corrupt or truncated gzip file: {err}") from None


def _read_idx_stream(stream, source: str, file_size: int | None) -> np.ndarray:
    head = stream.read(4)
    if len(head) < 4:
        raise ValueError(f"{source} is truncated: {len(head)} bytes, no IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", head)
    if zero != 0 or type_code not in _IDX_TYPES or ndim == 0:
        raise ValueError(
            f"{source} is not an IDX file: magic number 0x{head.hex()} (expected "
            "0x0000 then a type code in 08 09 0B 0C 0D 0E and a dimension count)"
        )
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"{source} is truncated inside its header of {ndim} dimensions")
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = _IDX_TYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize
    if file_size is not None:
        actual = file_size - 4 - 4 * ndim
        _check_size(source, shape, dtype, expected, actual)
    data = stream.read(expected + 1)
    _check_size(source, shape, dtype, expected, len(data),
                more="" if len(data) <= expected else " (or more)")
    array = np.frombuffer(data, dtype=dtype, count=math.prod(shape)).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _check_size(source, shape, dtype, expected: int, actual: int, more: str = "") -> None:
    if actual != expected:
        problem = "truncated" if actual < expected else "longer than its header says"
        raise ValueError(
            f"{source} is {problem}: shape {shape} of {dtype.name} needs {expected} "
            f"bytes of data, the file has {actual}{more}"
        )


def load_mnist(
    path: str | os.PathLike | None = None,
    kind: str = "train",
    *,
    images: str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
    normalize: bool = True,
    flatten: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST images and labels from IDX files.

    Parameters
    ----------
    path : directory, optional
        Holds ``{kind}-images-idx3-ubyte`` and ``{kind}-labels-idx1-ubyte`` (also the
        ``.gz`` versions and the ``{kind}-images.idx3-ubyte`` spelling).
    kind : {"train", "t10k"}
        Which split ("test" is accepted for "t10k").
    images, labels : file paths, optional
        The two files given directly (instead of ``path``).
    normalize : bool
        True: ``X`` float32 in ``[0, 1]`` (pixel / 255). False: the raw uint8 pixels.
    flatten : bool
        True: ``X`` is ``(n, rows·cols)``; False: ``(n, rows, cols)``.

    Returns
    -------
    X : ndarray
    y : ndarray of int64, shape (n,)
    """
    if (images is None) != (labels is None):
        raise ValueError("give both images= and labels=, or a directory path")
    if images is None:
        if path is None:
            raise ValueError("load_mnist needs a directory path or images= and labels= files")
        if kind not in _KINDS:
            raise ValueError(f"kind must be 'train' or 't10k'; got {kind!r}")
        images = _find(Path(os.fspath(path)), _KINDS[kind], "images", 3)
        labels = _find(Path(os.fspath(path)), _KINDS[kind], "labels", 1)
    X = read_idx(images)
    y = read_idx(labels)
    if X.ndim != 3:
        raise ValueError(f"{str(images)!r} holds shape {X.shape}; MNIST images are (n, rows, cols)")
    if y.ndim != 1:
        raise ValueError(f"{str(labels)!r} holds shape {y.shape}; MNIST labels are (n,)")
    if len(X) != len(y):
        raise ValueError(
            f"{len(X)} images in {str(images)!r} but {len(y)} labels in {str(labels)!r}"
        )
    if flatten:
        X = X.reshape(len(X), -1)
    if normalize:
        X = X.astype(np.float32) / np.float32(255.0)
    return X, y.astype(np.int64)


def _find(directory: Path, kind: str, part: str, ndim: int) -> Path:
    if not directory.is_dir():
        raise FileNotFoundError(f"no MNIST directory at {str(directory)!r}")
    stems = [f"{kind}-{part}-idx{ndim}-ubyte", f"{kind}-{part}.idx{ndim}-ubyte"]
    candidates = [directory / (stem + ext) for stem in stems for ext in ("", ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no MNIST {part} file in {str(directory)!r}; looked for "
        f"{', '.join(c.name for c in candidates)}"
    )
