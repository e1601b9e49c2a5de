"""The safetensors container: encoding tensors + text metadata, and refusing anything else.

A safetensors file is::

    8 bytes   N, the header length (unsigned little-endian)
    N bytes   a JSON header: {"__metadata__": {str: str}, name: {dtype, shape, data_offsets}}
    rest      the raw little-endian tensor bytes

Nothing in it is code: reading one parses JSON and copies bytes. Before the bytes reach the
safetensors parser, `decode` recognizes the common foreign formats (pickle, PyTorch's
zip ``.pt``, NumPy ``.npy``/``.npz``, HDF5, gzip, text) so the error says what the file is.
"""

from __future__ import annotations

import json
import math
import os
import struct

import numpy as np

from .files import open_regular

MAX_HEADER_BYTES = 100_000_000
"""The safetensors library's own limit on the JSON header."""


class ModelFileError(ValueError):
    """A file that is not a (valid) plainnet model file. Nothing in it was executed."""


_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (a PyTorch .pt/.pth file, an .npz or a Keras file?)"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (a Keras .h5 model?)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
)


def encode(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The safetensors bytes of ``tensors`` with text ``metadata``."""
    from safetensors.numpy import save

    # not np.ascontiguousarray: it turns 0-d arrays (e.g. a step counter) into shape (1,)
    contiguous = {k: np.asarray(v, order="C") for k, v in tensors.items()}
    return save(contiguous, metadata=metadata)


DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}
"""The safetensors dtypes and their sizes in bytes."""


def read_file(
    path: str | os.PathLike, what: str = "model file", header_only: bool = False
) -> tuple[dict, dict[str, str], bytes | None]:
    """``(tensor entries, metadata, bytes)`` of the safetensors file at ``path``.

    Only a regular file is opened (never a FIFO or device), and only the bytes its header
    declares are read, after the header has been checked against the file's size: a header
    that claims more than the file holds is refused before anything is allocated for it.
    ``header_only`` reads just the header (``bytes`` is None).
    """
    source = repr(os.fspath(path))
    f, size = open_regular(path, what)
    with f:
        head = f.read(min(size, 512))
        n = _header_length(head, size, source)
        f.seek(8)
        header_bytes = f.read(n)
        entries, metadata = _parse_header(header_bytes, source)
        end = check_entries(entries, source)
        if 8 + n + end != size:
            raise ModelFileError(
                f"{source} is truncated or has extra bytes: its header declares "
                f"{8 + n + end} bytes, the file has {size}"
            )
        if header_only:
            return entries, metadata, None
        return entries, metadata, head[:8] + header_bytes + f.read(end)


def read_header(data: bytes, source: str) -> tuple[dict, dict[str, str]]:
    """Parse and check the header of safetensors ``data``: ``(tensor entries, metadata)``.

    Raises [`ModelFileError`][plainnet.io.ModelFileError] naming ``source`` for anything
    that is not a complete safetensors header.
    """
    n = _header_length(data[:512], len(data), source)
    return _parse_header(data[8 : 8 + n], source)


def _header_length(head: bytes, size: int, source: str) -> int:
    """The header length ``N`` a file starting with ``head`` (of ``size`` bytes) declares."""
    if size == 0:
        raise ModelFileError(f"{source} is empty; expected a safetensors model file")
    foreign = None if _plausible_safetensors(head, size) else _foreign_format(head)
    if foreign is not None:
        raise ModelFileError(
            f"{source} is {foreign}, not a safetensors model file. plainnet reads only "
            "safetensors and never unpickles, so nothing in the file was run"
        )
    if size < 8:
        if _looks_like_text(head):
            raise ModelFileError(f"{source} looks like a text file, not a safetensors model file")
        raise ModelFileError(
            f"{source} is truncated: {size} bytes, shorter than a safetensors header"
        )
    (n,) = struct.unpack("<Q", head[:8])
    if n > size - 8 or n > MAX_HEADER_BYTES or n < 2:
        if _looks_like_text(head):
            raise ModelFileError(
                f"{source} looks like a text file, not a safetensors model file"
            )
        raise ModelFileError(
            f"{source} is truncated or not a safetensors file: its header claims {n} bytes "
            f"but the file has {size} bytes"
        )
    return n


def _parse_header(header_bytes: bytes, source: str) -> tuple[dict, dict[str, str]]:
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ModelFileError(
            f"{source} is not a safetensors file: its header is not valid JSON "
            f"({str(err)[:200]})"
        ) from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{source} is not a safetensors file: its header is not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise ModelFileError(f"{source}: the safetensors metadata must map text to text")
    return header, metadata


def check_entries(entries: dict, source: str) -> int:
    """Check each tensor entry (dtype, shape, byte range) and return the end of the data.

    Each tensor's byte range must hold exactly its declared shape, so sizes are known (and
    bounded by the file) before any tensor is read. Errors name one tensor, whatever their
    number.
    """
    end = 0
    for name, entry in entries.items():
        shown = repr(name)[:80]
        if not isinstance(entry, dict):
            raise ModelFileError(f"{source}: the entry of tensor {shown} is not an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in DTYPE_SIZES:
            raise ModelFileError(f"{source}: tensor {shown} has unknown dtype {dtype!r:.40}")
        if not (isinstance(shape, list) and all(_is_count(d) for d in shape)):
            raise ModelFileError(f"{source}: tensor {shown} has a bad shape {shape!r:.80}")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(_is_count(o) for o in offsets) and offsets[0] <= offsets[1]):
            raise ModelFileError(f"{source}: tensor {shown} has bad data_offsets {offsets!r:.80}")
        nbytes = math.prod(shape) * DTYPE_SIZES[dtype]
        if offsets[1] - offsets[0] != nbytes:
            raise ModelFileError(
                f"{source}: tensor {shown} declares shape {shape} ({nbytes} bytes of {dtype}) "
                f"but {offsets[1] - offsets[0]} bytes of data"
            )
        end = max(end, offsets[1])
    return end


def _is_count(x) -> bool:
    return type(x) is int and x >= 0


def decode(data: bytes, source: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors (writable copies) and text metadata of safetensors ``data``.

    Raises [`ModelFileError`][plainnet.io.ModelFileError] naming ``source`` for a
    truncated, foreign or corrupt file.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    _, metadata = read_header(data, source)
    try:
        views = load(data)
    except (SafetensorError, ValueError, TypeError) as err:
        raise ModelFileError(f"{source} is truncated or corrupt: {str(err)[:300]}") from None
    return {name: np.array(v, copy=True) for name, v in views.items()}, metadata


def _plausible_safetensors(head: bytes, size: int) -> bool:
    """Whether ``head`` starts as a safetensors file does: a header length that fits the file,
    then the JSON header's ``{``. (A header of 1,152 bytes starts with ``80 04``, which is also
    how a pickle starts: the safetensors reading wins.)"""
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= size - 8 and head[8:9] == b"{"


def _foreign_format(data: bytes) -> str | None:
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if data[:1] == b"\x80" and len(data) > 1 and 2 <= data[1] <= 5:
        return "a Python pickle"
    return None


def _looks_like_text(data: bytes) -> bool:
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)
