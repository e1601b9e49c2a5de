"""Fitted estimators as files: ``est.save(path)``, ``MLPClassifier.load(path)``, ``est.to_onnx``.

An estimator file is a plainnet model file (safetensors: the network's weights, its
architecture as JSON; see [`plainnet.io`][plainnet.io]) whose metadata also holds the estimator: its
class, its hyperparameters (``get_params``) and its fitted attributes (``classes_``,
``n_features_in_``, ``loss_curve_``, ...) as JSON. No pickle: loading runs no code from the
file. The optimizer's state is not kept, so a loaded estimator predicts, scores and exports
exactly as the saved one; ``partial_fit`` or ``warm_start`` on it start a new optimizer.
"""

from __future__ import annotations

import functools
import math
import os
from typing import Any

import numpy as np

KEY = "plainnet.estimator"
"""The metadata field that holds the estimator (class, params, fitted attributes)."""


class EstimatorFilesMixin:
    """``save``, ``load`` and ``to_onnx`` for the network estimators (no pickle)."""

    def save(self, path: str | os.PathLike, metadata: dict | None = None) -> None:
        """Save the fitted estimator to ``path`` (``*.safetensors``); read it back with
        ``type(est).load(path)``. ``metadata``: JSON-able extras, as in
        [`plainnet.save`][plainnet.io.save].
        """
        save_estimator(self, path, metadata)

    def _save_to_file(self, path, metadata=None) -> None:  # pn.save(est, path)
        save_estimator(self, path, metadata)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None):
        """The estimator saved at ``path`` by ``save`` (or ``pn.save(est, path)``), fitted.

        Raises [`plainnet.io.ModelFileError`][plainnet.io.ModelFileError] for a file that
        holds no estimator or another estimator class.
        """
        return load_estimator(cls, path, device)

    def to_onnx(self, path: str | os.PathLike, *, opset: int | None = None,
                input_names=("input",), output_names=None):
        """Write the fitted estimator as ONNX (see [`plainnet.onnx.export`][plainnet.onnx.export]).

        The file's output is what ``predict_proba`` gives for a classifier (columns in
        ``classes_`` order, which the file's metadata lists) and what ``predict`` gives for a
        regressor; the input is ``(batch, n_features_in_)`` in the network's dtype.
        """
        from ..onnx import DEFAULT_OPSET, export

        _check_fitted(self)
        model = _PredictionNetwork(self.model_, self.out_activation_, self.n_outputs_,
                                   hasattr(self, "classes_"),
                                   bool(getattr(self, "_is_multilabel", False)))
        example = np.zeros((1, self.n_features_in_), dtype=self.model_.dtype)
        names = output_names or (["probabilities"] if hasattr(self, "classes_") else
                                 ["predictions"])
        info: dict[str, Any] = {"plainnet.estimator": type(self).__name__,
                                "plainnet.n_features_in": int(self.n_features_in_)}
        if hasattr(self, "classes_"):
            info["plainnet.classes"] = np.asarray(self.classes_).tolist()
        return export(model, path, example, opset=opset or DEFAULT_OPSET,
                      input_names=input_names, output_names=names, metadata=info)


# -- saving -----------------------------------------------------------------------------------
def save_estimator(est, path, metadata: dict | None = None) -> None:
    from ..io.models import save

    _check_fitted(est)
    params, tuples = _params(est)
    info = {"class": type(est).__name__, "params": params, "tuples": tuples,
            "fitted": _fitted(est)}
    meta = {"estimator": type(est).__name__, "out_activation": est.out_activation_}
    if hasattr(est, "classes_"):
        meta["classes"] = np.asarray(est.classes_).tolist()
    if hasattr(est, "feature_names_in_"):
        meta["feature_names"] = [str(c) for c in est.feature_names_in_]
    for key, value in (metadata or {}).items():
        if key in meta or key == KEY:
            raise ValueError(f"metadata key {key!r} is reserved for the estimator")
        meta[key] = value
    meta[KEY] = info
    save(est.model_, path, metadata=meta)


def _check_fitted(est) -> None:
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "model_")


def _params(est) -> tuple[dict, list[str]]:
    params, tuples = {}, []
    for key, value in est.get_params(deep=False).items():
        if isinstance(value, tuple):
            tuples.append(key)
            value = list(value)
        elif key == "random_state" and not _is_json(value):
            value = None  # a Generator or RandomState: the fitted weights are what matter
        if not _is_json(value):
            raise TypeError(
                f"cannot save {type(est).__name__}: its parameter {key}={value!r:.60} is not "
                "JSON (a callable loss?); save the network with pn.save(est.model_, path) "
                "instead"
            )
        params[key] = value
    return params, tuples


def _fitted(est) -> dict:
    fitted = {}
    for key, value in vars(est).items():
        public = key.endswith("_") and not key.startswith("_") and key != "model_"
        private_flag = key.startswith("_") and not key.startswith("__") and (
            value is None or isinstance(value, (bool, int, float, str)))
        if not (public or private_flag):
            continue
        encoded = _encode(value)
        if encoded is not _SKIP:
            fitted[key] = encoded
    return fitted


_SKIP = object()


def _encode(value):
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufUO":
            return _SKIP
        items = [_encode(v) for v in value.ravel().tolist()]
        if any(v is _SKIP for v in items):
            return _SKIP
        return {"__array__": items, "shape": list(value.shape),
                "dtype": value.dtype.str if value.dtype.kind != "O" else "O"}
    if isinstance(value, np.generic):
        return _encode(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_encode(v) for v in value]
        return _SKIP if any(v is _SKIP for v in items) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: _encode(v) for k, v in value.items()}
        return _SKIP if any(v is _SKIP for v in items.values()) else items
    return _SKIP


def _decode(value):
    if isinstance(value, dict):
        if "__array__" in value:
            dtype = value["dtype"]
            items = [_decode(v) for v in value["__array__"]]
            arr = np.array(items, dtype=object if dtype == "O" else np.dtype(dtype))
            return arr.reshape(value["shape"])
        if "__float__" in value:
            return float(value["__float__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _is_json(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return not (isinstance(value, float) and not math.isfinite(value))
    if isinstance(value, (list, tuple)):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


# -- loading ---------------------------------------------------------------------------------
def load_estimator(cls, path, device=None):
    from ..io.format import ModelFileError
    from ..io.models import load_with_metadata

    model, meta = load_with_metadata(path, device=device)
    source = repr(os.fspath(path))
    info = meta.get(KEY)
    if not isinstance(info, dict) or not isinstance(info.get("class"), str):
        raise ModelFileError(
            f"{source} holds a model, not a fitted estimator: load it with pn.load(path)"
        )
    target = _estimator_class(cls, info["class"], source)
    params = dict(info.get("params") or {})
    for key in info.get("tuples") or ():
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    try:
        est = target(**params)
    except TypeError as err:
        raise ModelFileError(f"{source}: cannot rebuild {info['class']}: {err}") from None
    for key, value in (info.get("fitted") or {}).items():
        if not isinstance(key, str) or not key.endswith("_") and not key.startswith("_"):
            raise ModelFileError(f"{source}: {key!r:.60} is not a fitted attribute")
        setattr(est, key, _decode(value))
    est.model_ = model
    return est


def _estimator_class(cls, name: str, source: str):
    from .. import estimators
    from ..io.format import ModelFileError

    if cls.__name__ == name:
        return cls
    known = {c.__name__: c for c in vars(estimators).values()
             if isinstance(c, type) and issubclass(c, cls) and c.__name__ == name}
    if name in known:
        return known[name]
    raise ModelFileError(f"{source} holds a {name}, not a {cls.__name__}: load it with "
                         f"{name}.load(path)")


# -- ONNX ------------------------------------------------------------------------------------
@functools.cache
def _prediction_network_class():
    from ..autodiff import ops
    from ..nn import Module

    class _EstimatorNetwork(Module):
        """The estimator's network followed by what turns outputs into predictions."""

        def __init__(self, net, kind: str, n_outputs: int, classifier: bool, multilabel: bool):
            super().__init__()
            self.net = net
            self.kind, self.n_outputs = kind, n_outputs
            self.classifier, self.multilabel = classifier, multilabel

        def forward(self, x):
            z = self.net(x)
            if not self.classifier:
                return z[:, 0] if self.n_outputs == 1 else z
            if self.kind == "softmax":
                return ops.softmax(z, axis=-1)
            if self.kind == "logistic" and not self.multilabel and self.n_outputs == 1:
                p = ops.sigmoid(z)
                return ops.concatenate([1.0 - p, p], axis=1)
            if self.kind == "logistic":
                return ops.sigmoid(z)
            return ops.softmax(-ops.softplus(-z), axis=-1)  # logistic_ovr, as predict_proba

    return _EstimatorNetwork


def _PredictionNetwork(*args):  # noqa: N802 - the class, made on first use (imports nn late)
    return _prediction_network_class()(*args)
