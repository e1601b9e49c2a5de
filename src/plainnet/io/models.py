"""Saving and loading models: safetensors weights plus the architecture as JSON metadata.

A plainnet model file is a standard safetensors file. Its tensors are the model's
``state_dict()`` under the same names (``"0.weight"``, ``"1.running_mean"``, ...), so PyTorch
and other safetensors readers load the weights directly. Its text metadata holds

* ``plainnet.format_version``: the layout version of this metadata
  ([`FORMAT_VERSION`][plainnet.io.FORMAT_VERSION]),
* ``plainnet.version``: the plainnet that wrote it,
* ``plainnet.architecture``: ``json.dumps(module_to_spec(model))``,
* ``plainnet.metadata``: the user's JSON metadata (feature names, class labels, ...).

Loading reads only a regular file and only the bytes its header declares, parses that JSON,
rebuilds the model (without drawing random weights) from the classes the reader allows
(plainnet's layers, ``@pn.nn.register``, ``classes=``, ``trust_classes=``; see
[`plainnet.nn.registry`][plainnet.nn.registry]), checks the declared tensors against it
(names, shapes, floating dtypes) and only then reads the weights, refusing NaN and inf. No
pickle, no code from the file. ``pn.save(state_dict, path)`` /
[`load_state_dict`][plainnet.io.load_state_dict] handle plain weights.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend as _backend
from .._version import __version__
from ..autodiff import Tensor
from ..nn import Module, module_to_spec
from ..nn.init import skip_init
from ..nn.registry import allow_classes, build, check_classes, refusal
from ..random import get_rng
from .files import atomic_write_bytes
from .format import ModelFileError, decode, encode, read_file

FORMAT_VERSION = 1
"""The version of the metadata layout this plainnet writes and the newest it reads."""

KEY_FORMAT = "plainnet.format_version"
KEY_VERSION = "plainnet.version"
KEY_ARCHITECTURE = "plainnet.architecture"
KEY_METADATA = "plainnet.metadata"
KEY_CONTENT = "plainnet.content"
"""``"state_dict"`` in a file of plain weights written by ``pn.save(state_dict, path)``."""

_SHOWN = 5  # names listed in an error message, however many there are


def save(model, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Save ``model`` (architecture + weights + buffers) to ``path`` as safetensors.

    Parameters
    ----------
    model : Module, state dict or fitted estimator
        A plainnet module; a mapping of names to arrays (``model.state_dict()``: plain
        weights, read back with [`load_state_dict`][plainnet.io.load_state_dict] or
        ``safetensors.torch.load_file``); or a fitted plainnet estimator (the same as
        ``est.save(path)``).
    path : str or PathLike
        The file to write, conventionally ``*.safetensors`` (another extension gets a warning:
        the file is safetensors anyway). It must be a new path or a regular file. Written
        atomically: a temporary file in the same directory is fsynced and renamed onto
        ``path``, so an existing file is replaced whole or not at all.
    metadata : dict, optional
        JSON-able extras to keep with the model (string keys; NumPy arrays and scalars become
        lists and numbers). Read back with [`load_with_metadata`][plainnet.io.load_with_metadata].

    Raises
    ------
    TypeError
        For a module that [`load`][plainnet.io.load] could not rebuild: a custom module
        whose constructor arguments are not known as JSON (give it a ``get_config()``, or
        save its ``state_dict``); the message says both ways out.
    ValueError
        For NaN or infinite weights, or a path that is a directory, device node or FIFO.

    Notes
    -----
    A custom module class is stored by name and Python module; loading it needs the class
    passed (``pn.load(path, classes=[Net])``), registered (``@pn.nn.register``) or trusted.
    A model on a GPU is saved from a host copy of its weights (the model stays where it is);
    the file is the same as from the CPU.
    """
    if isinstance(model, Mapping):
        save_state_dict(model, path, metadata)
        return
    if not isinstance(model, Module):
        saver = getattr(model, "_save_to_file", None)
        if saver is not None:
            saver(path, metadata)
            return
        raise TypeError(
            "save expects a plainnet Module, a state dict (name -> array) or a fitted plainnet "
            f"estimator; got {type(model).__name__}"
        )
    architecture = _architecture_json(model)
    header = {
        KEY_FORMAT: str(FORMAT_VERSION),
        KEY_VERSION: __version__,
        KEY_ARCHITECTURE: architecture,
        KEY_METADATA: _metadata_to_json(metadata),
    }
    state = {name: _backend.to_numpy(value) for name, value in model.state_dict().items()}
    _refuse_nonfinite(state, "save")
    atomic_write_bytes(path, encode(state, header))
    _warn_extension(path)


def save_state_dict(
    state_dict: Mapping, path: str | os.PathLike, metadata: dict | None = None
) -> None:
    """Save plain weights (``{name: array}``) as a safetensors file, no architecture.

    The file is what ``safetensors.torch.load_file`` / ``safetensors.numpy.load_file`` read;
    [`load_state_dict`][plainnet.io.load_state_dict] reads it back as NumPy arrays.
    """
    state = {}
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"state dict keys must be strings; got {name!r:.80}")
        arr = value.data if isinstance(value, Tensor) else value
        arr = _backend.to_numpy(arr) if _backend.is_device_array(arr) else np.asarray(arr)
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"state dict entry {name!r} must be a numeric array; got dtype {arr.dtype}"
            )
        state[name] = arr
    _refuse_nonfinite(state, "save")
    header = {KEY_CONTENT: "state_dict", KEY_VERSION: __version__,
              KEY_METADATA: _metadata_to_json(metadata)}
    atomic_write_bytes(path, encode(state, header))
    _warn_extension(path)


def load_state_dict(path: str | os.PathLike) -> OrderedDict:
    """The tensors of a safetensors file as ``{name: NumPy array}`` (plain weights).

    Reads files from [`save`][plainnet.io.save] (model or state dict) and from ``safetensors.torch``
    (float16/32/64 and integer tensors). Use it as ``model.load_state_dict(load_state_dict(p))``.
    Raises [`ModelFileError`][plainnet.io.ModelFileError] for a foreign, corrupt or non-finite file.
    """
    source = repr(os.fspath(path))
    _, _, data = read_file(path, "weights file")
    tensors, _ = decode(data, source)
    _refuse_nonfinite(tensors, "load", source)
    return OrderedDict(tensors)


def load(
    path: str | os.PathLike,
    device: str | None = None,
    *,
    classes: Iterable[type] = (),
    trust_classes: bool | Iterable[str] = False,
) -> Module:
    """The model saved at ``path`` by [`save`][plainnet.io.save], rebuilt and in eval mode.

    Parameters
    ----------
    path : str or PathLike
        A regular file (a FIFO, device or directory is refused; only the bytes the header
        declares are read).
    device : str, optional
        None or ``"cpu"`` keeps the model in host memory (NumPy); ``"cuda"`` or ``"cuda:N"``
        moves it to that GPU after loading (``model.to(device)``).
    classes : iterable of Module subclasses
        Custom classes the file may name (besides plainnet's layers and classes registered
        with ``@pn.nn.register``).
    trust_classes : bool or iterable of str
        Allow importing classes by the dotted path in the file: ``True`` for any, or a list of
        paths or package prefixes (``["mypkg.models"]``). Off by default: nothing is imported
        from a name in the file.

    Returns
    -------
    Module
        The model, in eval mode. Nothing in the file is executed.

    Raises
    ------
    FileNotFoundError
        For a missing file.
    ModelFileError
        (a ``ValueError``) for a truncated, foreign (pickle, zip, text, ...) or corrupt
        file, a safetensors file without plainnet's architecture, an unknown module class,
        weights that do not fit the architecture (checked before any weight is allocated or
        drawn), integer weights, or NaN/inf in weights or metadata.
    ValueError
        For a FIFO, device or other file that is not a regular file.
    """
    return load_with_metadata(path, device=device, classes=classes,
                              trust_classes=trust_classes)[0]


def load_with_metadata(
    path: str | os.PathLike,
    device: str | None = None,
    *,
    classes: Iterable[type] = (),
    trust_classes: bool | Iterable[str] = False,
) -> tuple[Module, dict[str, Any]]:
    """``(model, metadata)``: the model as [`load`][plainnet.io.load] gives it and the user
    metadata dict."""
    check_classes(classes)
    source = repr(os.fspath(path))
    entries, header, data = read_file(path, "model file")
    spec = _read_spec(header, source)
    metadata = _read_user_metadata(header, source)
    model = _build(spec, source, classes, trust_classes)
    _check_entries_fit(model, entries, source)
    tensors, _ = decode(data, source)
    _load_weights(model, tensors, source)
    model.eval()
    return _to_device(model, device), metadata


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The plainnet metadata of a model file without loading its weights (only its header
    is read).

    Returns ``{"format_version", "plainnet_version", "architecture", "metadata", "tensors"}``
    where ``tensors`` maps each name to ``{"dtype", "shape"}``.
    """
    source = repr(os.fspath(path))
    entries, header, _ = read_file(path, "model file", header_only=True)
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


# -- saving ------------------------------------------------------------------------------
def _architecture_json(model: Module) -> str:
    """The architecture as JSON, after checking that it rebuilds ``model``'s exact weights."""
    spec = module_to_spec(model)  # ConfigError (a TypeError) with the two ways out
    try:
        architecture = json.dumps(spec, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(refusal(type(model), f"its config is not JSON ({err})")) from None
    classes = {type(m) for m in model.modules()}
    try:
        rebuilt = _rebuild(json.loads(architecture), classes, ())
    except Exception as err:  # a user's constructor may raise anything
        raise TypeError(
            refusal(type(model), f"rebuilding it from the saved arguments failed ({err})")
        ) from None
    want, got = _shapes(model), _shapes(rebuilt)
    if want != got:
        diff = sorted(set(want.items()) ^ set(got.items()))
        raise TypeError(refusal(
            type(model),
            "rebuilt from the saved arguments it has other weights "
            f"({_names([f'{k} {list(v)}' for k, v in diff])})",
        ))
    return architecture


def _shapes(model: Module) -> dict[str, tuple]:
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    shapes.update((name, tuple(np.shape(b))) for name, b in model.named_buffers())
    return shapes


def _rebuild(spec: dict, classes, trust) -> Module:
    """Build ``spec`` without drawing weights (and without moving the global generator)."""
    rng = get_rng()
    state = rng.bit_generator.state
    try:
        with allow_classes(classes, trust), skip_init():
            return build(spec)
    finally:
        rng.bit_generator.state = state


def _refuse_nonfinite(state: Mapping, doing: str, source: str | None = None) -> None:
    bad = [name for name, arr in state.items()
           if np.asarray(arr).dtype.kind == "f" and not np.all(np.isfinite(arr))]
    if not bad:
        return
    if doing == "save":
        raise ValueError(
            f"cannot save: weights {_names(bad)} hold NaN or inf (did training diverge?); a "
            "model with them predicts garbage, and plainnet refuses to load such a file"
        )
    raise ModelFileError(
        f"{source}: weights {_names(bad)} hold NaN or inf; refusing a model that would "
        "silently predict garbage"
    )


def _warn_extension(path) -> None:
    suffix = Path(os.fspath(path)).suffix
    if suffix.lower() != ".safetensors":
        what = f"the extension {suffix!r}" if suffix else "no extension"
        warnings.warn(
            f"{os.fspath(path)!r} has {what} but is a safetensors file (what plainnet always "
            "writes), which other tools will not read as anything else; name it *.safetensors",
            UserWarning,
            stacklevel=3,
        )


def _names(names: list) -> str:
    """``names`` for a message: the first few and how many more, never thousands."""
    shown = ", ".join(repr(n)[:60] for n in names[:_SHOWN])
    more = len(names) - _SHOWN
    return f"[{shown}{f', ... and {more} more' if more > 0 else ''}]"


# -- loading -----------------------------------------------------------------------------
def _build(spec: dict, source: str, classes, trust) -> Module:
    try:
        model = _rebuild(spec, classes, trust)
    except (TypeError, ValueError, KeyError) as err:
        raise ModelFileError(f"{source}: cannot rebuild the model: {str(err)[:1000]}") from None
    except MemoryError:
        raise ModelFileError(
            f"{source}: the architecture declares layers too large for memory"
        ) from None
    if not isinstance(model, Module):  # a custom from_config returned something else
        raise ModelFileError(f"{source}: the architecture did not build a plainnet Module")
    return model


def _check_entries_fit(model: Module, entries: dict, source: str) -> None:
    """Refuse a file whose declared tensors do not match the model, before reading them."""
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    expected = set(params) | set(buffers)
    missing = sorted(expected - set(entries))
    unexpected = sorted(set(entries) - expected)
    if missing or unexpected:
        raise ModelFileError(
            f"{source}: weights do not fit the architecture: missing {_names(missing)}, "
            f"unexpected {_names(unexpected)}"
        )
    for name, entry in entries.items():
        own = params[name].data if name in params else np.asarray(buffers[name])
        if tuple(entry["shape"]) != tuple(own.shape):
            raise ModelFileError(
                f"{source}: weights do not fit the architecture: {name!r:.80} has shape "
                f"{tuple(entry['shape'])} in the file; the model expects {tuple(own.shape)}"
            )
        kind = entry["dtype"][0]
        if name in params and kind != "F":
            raise ModelFileError(
                f"{source}: weight {name!r:.80} has dtype {entry['dtype']}; weights must be "
                "floating point (F16, F32 or F64)"
            )
        if name in buffers and (kind == "F") != (own.dtype.kind == "f"):
            raise ModelFileError(
                f"{source}: buffer {name!r:.80} has dtype {entry['dtype']}; the model keeps "
                f"it as {own.dtype}"
            )


def _read_spec(header: dict[str, str], source: str) -> dict:
    if header.get(KEY_CONTENT) == "state_dict":
        raise ModelFileError(
            f"{source} holds plain weights (a state dict), not a model: read them with "
            "pn.load_state_dict(path) into a model you build in code"
        )
    if KEY_ARCHITECTURE not in header or KEY_FORMAT not in header:
        raise ModelFileError(
            f"{source} is a safetensors file without plainnet's architecture metadata, so the "
            "model cannot be rebuilt. To read its weights into a model you build yourself: "
            "model.load_state_dict(pn.load_state_dict(path))"
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
        return json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, RecursionError) as err:
        raise ModelFileError(
            f"{source}: the {what} metadata is not valid JSON ({str(err)[:200]})"
        ) from None
    except ValueError as err:
        raise ModelFileError(f"{source}: the {what} metadata {err}") from None


def _refuse_constant(name: str):
    raise ValueError(f"holds {name}; plainnet writes only finite numbers")


def _load_weights(model: Module, tensors: dict[str, np.ndarray], source: str) -> None:
    _refuse_nonfinite(tensors, "load", source)
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
        return json.dumps(metadata, default=_json_default, allow_nan=False)
    except ValueError as err:
        raise ValueError(f"metadata must hold finite numbers only (no NaN or inf): {err}") from None
    except TypeError as err:
        raise TypeError(f"metadata must be JSON-able: {err}") from None


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON-able")
