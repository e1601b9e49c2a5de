"""The safetensors container: encoding tensors + text metadata, and refusing anything else.

A safetensors file is::

    8 bytes   N, the header length (unsigned little-endian)
    N bytes   a JSON header: {"__metadata__": {str: str}, name: {dtype, shape, data_offsets}}
    rest      the raw little-endian tensor bytes

Nothing in it is code: reading one parses JSON and copies bytes. Before the bytes reach the
safetensors parser, :func:`decode` recognizes the common foreign formats (pickle, PyTorch's
zip ``.pt``, NumPy ``.npy``/``.npz``, HDF5, gzip, text) so the error says what the file is.
"""

from __future__ import annotations

import json
import struct

import numpy as np

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


def read_header(data: bytes, source: str) -> tuple[dict, dict[str, str]]:
    """Parse and check the header of safetensors ``data``: ``(tensor entries, metadata)``.

    Raises :class:`ModelFileError` naming ``source`` for anything that is not a complete
    safetensors header.
    """
    if len(data) == 0:
        raise ModelFileError(f"{source} is empty; expected a safetensors model file")
    foreign = _foreign_format(data)
    if foreign is not None:
        raise ModelFileError(
            f"{source} is {foreign}, not a safetensors model file. plainnet reads only "
            "safetensors and never unpickles, so nothing in the file was run"
        )
    if len(data) < 8:
        if _looks_like_text(data):
            raise ModelFileError(f"{source} looks like a text file, not a safetensors model file")
        raise ModelFileError(
            f"{source} is truncated: {len(data)} bytes, shorter than a safetensors header"
        )
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8 or n > MAX_HEADER_BYTES or n < 2:
        if _looks_like_text(data):
            raise ModelFileError(
                f"{source} looks like a text file, not a safetensors model file"
            )
        raise ModelFileError(
            f"{source} is truncated or not a safetensors file: its header claims {n} bytes "
            f"but the file has {len(data)} bytes"
        )
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ModelFileError(
            f"{source} is not a safetensors file: its header is not valid JSON ({err})"
        ) from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{source} is not a safetensors file: its header is not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise ModelFileError(f"{source}: the safetensors metadata must map text to text")
    return header, metadata


def decode(data: bytes, source: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors (writable copies) and text metadata of safetensors ``data``.

    Raises :class:`ModelFileError` naming ``source`` for a truncated, foreign or corrupt file.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    _, metadata = read_header(data, source)
    try:
        views = load(data)
    except (SafetensorError, ValueError, TypeError) as err:
        raise ModelFileError(f"{source} is truncated or corrupt: {err}") from None
    return {name: np.array(v, copy=True) for name, v in views.items()}, metadata


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
