"""Saving and loading models: safetensors weights plus the architecture as JSON metadata.

A plainnet model file is a standard safetensors file. Its tensors are the model's
``state_dict()`` under the same names (``"0.weight"``, ``"1.running_mean"``, ...), so PyTorch
and other safetensors readers load the weights directly. Its text metadata holds

* ``plainnet.format_version``: the layout version of this metadata (:data:`FORMAT_VERSION`),
* ``plainnet.version``: the plainnet that wrote it,
* ``plainnet.architecture``: ``json.dumps(module_to_spec(model))``,
* ``plainnet.metadata``: the user's JSON metadata (feature names, class labels, ...).

Loading parses that JSON, rebuilds the model from the classes plainnet knows
(:data:`plainnet.nn.MODULES`) and copies the weights in. No pickle, no code from the file.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .. import backend as _backend
from .._version import __version__
from ..nn import Module, module_from_spec, module_to_spec
from .files import atomic_write_bytes, read_bytes
from .format import ModelFileError, decode, encode, read_header

FORMAT_VERSION = 1
"""The version of the metadata layout this plainnet writes and the newest it reads."""

KEY_FORMAT = "plainnet.format_version"
KEY_VERSION = "plainnet.version"
KEY_ARCHITECTURE = "plainnet.architecture"
KEY_METADATA = "plainnet.metadata"


def save(model: Module, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Save ``model`` (architecture + weights + buffers) to ``path`` as safetensors.

    Parameters
    ----------
    model : Module
        Any plainnet module whose classes are importable when loading.
    path : str or PathLike
        The file to write (conventionally ``*.safetensors``). Written atomically: a temporary
        file in the same directory is fsynced and renamed onto ``path``, so an existing file
        is replaced whole or not at all.
    metadata : dict, optional
        JSON-able extras to keep with the model (string keys; NumPy arrays and scalars become
        lists and numbers). Read back with :func:`load_with_metadata`.

    Notes
    -----
    A model on a GPU is saved from a host copy of its weights (the model stays where it is);
    the file is the same as from the CPU.
    """
    if not isinstance(model, Module):
        raise TypeError(f"save expects a plainnet Module; got {type(model).__name__}")
    spec = module_to_spec(model)
    try:
        architecture = json.dumps(spec, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{type(model).__name__}.get_config() must return JSON-able values: {err}"
        ) from None
    header = {
        KEY_FORMAT: str(FORMAT_VERSION),
        KEY_VERSION: __version__,
        KEY_ARCHITECTURE: architecture,
        KEY_METADATA: _metadata_to_json(metadata),
    }
    state = {name: _backend.to_numpy(value) for name, value in model.state_dict().items()}
    atomic_write_bytes(path, encode(state, header))


def load(path: str | os.PathLike, device: str | None = None) -> Module:
    """The model saved at ``path`` by :func:`save`, rebuilt and in eval mode.

    Raises ``FileNotFoundError`` for a missing file and :class:`ModelFileError` (a
    ``ValueError``) for a truncated, foreign (pickle, zip, text, ...) or corrupt file, a
    safetensors file without plainnet's architecture, or an unknown module class. Nothing in
    the file is executed. ``device`` None or ``"cpu"`` keeps the model in host memory (NumPy);
    ``"cuda"`` or ``"cuda:N"`` moves it to that GPU after loading (``model.to(device)``).
    """
    return load_with_metadata(path, device=device)[0]


def load_with_metadata(
    path: str | os.PathLike, device: str | None = None
) -> tuple[Module, dict[str, Any]]:
    """``(model, metadata)``: the model as :func:`load` gives it and the user metadata dict."""
    source = repr(os.fspath(path))
    tensors, header = decode(read_bytes(path, "model file"), source)
    spec = _read_spec(header, source)
    metadata = _read_user_metadata(header, source)
    try:
        model = module_from_spec(spec)
    except (TypeError, ValueError, KeyError) as err:
        raise ModelFileError(f"{source}: cannot rebuild the model: {err}") from None
    if not isinstance(model, Module):  # a custom from_config returned something else
        raise ModelFileError(f"{source}: the architecture did not build a plainnet Module")
    _load_weights(model, tensors, source)
    model.eval()
    return _to_device(model, device), metadata


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The plainnet metadata of a model file without loading its weights.

    Returns ``{"format_version", "plainnet_version", "architecture", "metadata", "tensors"}``
    where ``tensors`` maps each name to ``{"dtype", "shape"}``.
    """
    source = repr(os.fspath(path))
    entries, header = read_header(read_bytes(path, "model file"), source)
    spec = _read_spec(header, source)
    return {
        "format_version": int(header[KEY_FORMAT]),
        "plainnet_version": header.get(KEY_VERSION),
        "architecture": spec,
        "metadata": _read_user_metadata(header, source),
        "tensors": {
            name: {"dtype": e.get("dtype"), "shape": e.get("shape")}
            for name, e in entries.items()
            if isinstance(e, dict)
        },
    }


# -- helpers ---------------------------------------------------------------------------
def _read_spec(header: dict[str, str], source: str) -> dict:
    if KEY_ARCHITECTURE not in header or KEY_FORMAT not in header:
        raise ModelFileError(
            f"{source} is a safetensors file without plainnet's architecture metadata, so the "
            "model cannot be rebuilt. To read its weights into a model you build yourself: "
            "model.load_state_dict(safetensors.numpy.load_file(path))"
        )
    try:
        version = int(header[KEY_FORMAT])
    except ValueError:
        raise ModelFileError(
            f"{source}: bad {KEY_FORMAT} {header[KEY_FORMAT]!r}; expected an integer"
        ) from None
    if version > FORMAT_VERSION or version < 1:
        raise ModelFileError(
            f"{source} has plainnet file format {version} (written by plainnet "
            f"{header.get(KEY_VERSION, '?')}); this plainnet {__version__} reads format "
            f"{FORMAT_VERSION}"
        )
    spec = _parse_json(header[KEY_ARCHITECTURE], "architecture", source)
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise ModelFileError(
            f"{source}: the architecture must be an object with a 'class' name; "
            f"got {str(spec)[:80]}"
        )
    if not isinstance(spec.get("config", {}), dict):
        raise ModelFileError(f"{source}: the architecture's 'config' must be an object")
    return spec


def _read_user_metadata(header: dict[str, str], source: str) -> dict[str, Any]:
    metadata = _parse_json(header.get(KEY_METADATA, "{}"), "metadata", source)
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{source}: the plainnet metadata must be a JSON object")
    return metadata


def _parse_json(text: str, what: str, source: str):
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise ModelFileError(f"{source}: the {what} metadata is not valid JSON ({err})") from None


def _load_weights(model: Module, tensors: dict[str, np.ndarray], source: str) -> None:
    try:
        model.load_state_dict(tensors)
    except (KeyError, ValueError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise ModelFileError(f"{source}: weights do not fit the architecture: {message}") from None
    # A layer whose config omits its dtype gets the file's dtype, so round trips stay exact.
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    for name, value in tensors.items():
        if name in params and params[name].data.dtype != value.dtype:
            params[name].data = value
        elif name in buffers and np.asarray(buffers[name]).dtype != value.dtype:
            owner, _, attr = name.rpartition(".")
            model.get_submodule(owner)._set_buffer(attr, value)


def _to_device(model: Module, device) -> Module:
    if device is None or str(device) == "cpu":
        return model
    to = getattr(model, "to", None)
    if to is None:
        raise ValueError(
            f"device must be None or 'cpu' for {type(model).__name__}; got {device!r}"
        )
    moved = to(device)
    return model if moved is None else moved


def _metadata_to_json(metadata) -> str:
    if metadata is None:
        return "{}"
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict; got {type(metadata).__name__}")
    bad_keys = [k for k in metadata if not isinstance(k, str)]
    if bad_keys:
        raise TypeError(f"metadata keys must be strings; got {bad_keys[:3]!r}")
    try:
        return json.dumps(metadata, default=_json_default)
    except (TypeError, ValueError) as err:
        raise TypeError(f"metadata must be JSON-able: {err}") from None


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON-able")
