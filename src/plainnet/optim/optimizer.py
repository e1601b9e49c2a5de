"""``Optimizer``: parameter groups, per-parameter state, ``step``, ``zero_grad``, state dicts.

An optimizer holds a list of *parameter groups* (dicts with ``"params"`` and the hyperparameters, as
in PyTorch) and a ``state`` dict per parameter. ``step()`` hands each parameter that has a gradient
to the subclass's `Optimizer._update()`, which changes ``param.data`` in place through a rule of
[`plainnet.optimize.rules`][plainnet.optimize.rules]. State arrays live on their parameter's device
(the rules make them with ``zeros_like``). """

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np

from .. import backend as _backend
from .._malloc import retain_freed_memory
from ..autodiff import Tensor, enable_grad
from ..autodiff.engine import next_version
from ..kernels import launched_together
from . import _flat


class Optimizer:
    """Base class of the optimizers of [`plainnet.optim`][plainnet.optim].

    Parameters
    ----------
    params : iterable of Tensor, or iterable of dict
        The parameters to optimize (e.g. ``model.parameters()``), or parameter groups: dicts
        with ``"params"`` and any hyperparameters that differ from ``defaults`` for them.
    defaults : dict
        The hyperparameters of a group that does not set its own.

    Attributes
    ----------
    param_groups : list of dict
        Each group's ``"params"`` (a list of Tensors) and hyperparameters (``"lr"``, ...).
        Change ``group["lr"]`` to change the learning rate (schedulers do).
    state : dict
        Per-parameter state (momentum buffers, moment estimates, step counts), keyed by the
        parameter Tensor; filled on the parameter's first step.
    defaults : dict
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self._check_hyperparameters(self.defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        self._flat_batches: dict = {}  # the fast path's buffers, by parameters (see step)
        if isinstance(params, (Tensor, np.ndarray)):
            raise TypeError(
                f"{type(self).__name__} expects an iterable of Tensors or of parameter-group "
                f"dicts; got a single {type(params).__name__} (wrap it in a list)"
            )
        try:
            groups = list(params)
        except TypeError:
            hint = " (pass model.parameters())" if hasattr(params, "parameters") else ""
            raise TypeError(
                f"{type(self).__name__} expects an iterable of Tensors or of parameter-group "
                f"dicts; got {type(params).__name__}{hint}"
            ) from None
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        retain_freed_memory()  # a training loop: each step's temporaries reuse the last's pages

    #: Subclasses whose `_update()` is elementwise (each entry of the parameter, gradient
    #: and state arrays updated from the same entries only) set this: `step()` may then
    #: update several small parameters at once, concatenated (`plainnet.optim._flat`).
    _elementwise = False

    # -- hooks for subclasses ------------------------------------------------------------
    def _check_hyperparameters(self, group: dict) -> None:
        """Raise ``ValueError``/``TypeError`` for a bad hyperparameter value in ``group``."""

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        """Update the array ``param`` in place from its gradient (overridden per algorithm)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    # -- parameter groups ----------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters, each with its own hyperparameters (defaults fill in).

        Useful to give some layers another learning rate, or to start training a layer that
        was frozen.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{name}: a parameter group is a dict; got {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: parameters must be given in a fixed order (a list), not a set"
            )
        else:
            params = list(params)
        seen: set[int] = set()
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize Tensors; got {type(p).__name__}")
            if p.dtype.kind != "f":
                raise TypeError(f"{name} can only optimize floating-point Tensors; got {p.dtype}")
            if not p.is_leaf:
                raise ValueError(
                    f"{name} can't optimize a non-leaf Tensor (the result of an operation); "
                    "optimize the leaf tensors it was computed from"
                )
            if id(p) in seen:
                raise ValueError(f"{name}: a parameter group lists the same parameter twice")
            seen.add(id(p))
        for other in self.param_groups:
            if any(id(q) in seen for q in other["params"]):
                raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group = dict(param_group)
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_hyperparameters(group)
        self.param_groups.append(group)

    # -- the loop ------------------------------------------------------------------------
    def step(self, closure: Callable[[], object] | None = None):
        """Take one optimization step on every parameter that has a gradient.

        Parameters whose ``.grad`` is None are skipped (and get no state). Parameters are
        updated in place: ``param.data`` stays the same array.

        Parameters
        ----------
        closure : callable, optional
            Recomputes the loss (zero the grads, forward, ``backward()``) and returns it; it is
            called first, with gradient recording on.

        Returns
        -------
        The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with launched_together():  # on a GPU: one launch updates many parameters
            version = next_version()
            for group in self.param_groups:
                pending = [(p, p.grad) for p in group["params"] if p.grad is not None]
                for p, _ in pending:  # a graph that used p before this step is now stale
                    p._version = version
                if self._elementwise:
                    pending = self._step_flat(pending, group)
                for p, grad in pending:
                    state = self.state[p]
                    try:
                        self._update(p.data, _as_grad_array(p, grad), state, group)
                    except Exception:
                        _check_state_device(p, state, type(self).__name__)
                        raise
        return loss

    def _step_flat(self, pending: list, group: dict) -> list:
        """The fast path of `step()` (see [`plainnet.optim._flat`][plainnet.optim._flat]): update
        the small
        host parameters of ``pending`` by one call of `_update()` on flat arrays; return
        the ``(param, grad)`` pairs left to the plain path."""
        small, rest = [], []
        for p, grad in pending:
            data = p.data
            if type(data) is np.ndarray and data.size <= _flat.FLAT_MAX_SIZE and (
                not small or data.dtype == small[0][0].data.dtype
            ):
                small.append((p, _as_grad_array(p, grad)))
            else:
                rest.append((p, grad))
        if len(small) < 2 or any(type(g) is not np.ndarray for _, g in small):
            return pending
        params = [p for p, _ in small]
        key = tuple((id(p), p.data.shape) for p in params)
        batches = self._flat_batches
        batch = batches.get(key)
        if batch is None:
            if len(batches) >= 8:  # the set of parameters with gradients keeps changing
                batches.clear()
            batch = batches[key] = _flat.FlatBatch(params, params[0].data.dtype)
        states = [self.state[p] for p in params]
        if not batch.step([g for _, g in small], states, self._update, group):
            return pending
        return rest

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: ``.grad = None`` (or zeros, in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
                    g[...] = 0

    # -- saving and resuming -------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimizer's state as ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are named by their index in the order of the groups (as in PyTorch);
        arrays are copies, so the dict does not change as training goes on.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            saved["params"] = ids
            groups.append(saved)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {
                        k: (
                            np.array(v, copy=True) if isinstance(v, np.ndarray)
                            else v.copy() if _backend.is_device_array(v) else v
                        )
                        for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state saved by `state_dict()`; training then continues exactly.

        The optimizer must have the same groups with the same numbers of parameters. Arrays
        are copied (and cast to each parameter's dtype) to each parameter's device; nothing
        changes if a check fails.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{name}: a state dict has 'state' and 'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: the state dict has {len(saved_groups)} parameter groups; this "
                f"optimizer has {len(self.param_groups)}"
            )
        id_map = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}: parameter group {i} of the state dict has {len(saved['params'])} "
                    f"parameters; this optimizer's has {len(group['params'])}"
                )
            id_map.update(zip(saved["params"], group["params"], strict=True))
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            self._check_hyperparameters(new)
            new_groups.append(new)
        new_state: defaultdict = defaultdict(dict)
        for key, values in state_dict["state"].items():
            if key not in id_map:
                raise ValueError(f"{name}: the state dict has state for unknown parameter {key!r}")
            p = id_map[key]
            new_state[p] = {k: _restore(v, p, k, name) for k, v in values.items()}
        self.param_groups = new_groups
        self.state = new_state

    # -- description ---------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def move_state(optimizer: Optimizer, device: str) -> None:
    """Move every state array of ``optimizer`` to ``device`` (after ``model.to(device)``)."""
    for state in optimizer.state.values():
        for key, value in state.items():
            if isinstance(value, np.ndarray) or _backend.is_device_array(value):
                state[key] = _backend.to_device(value, device)


def _check_state_device(p: Tensor, state: dict, owner: str) -> None:
    """After an update failed: raise a clear error if the state is on another device."""
    devices = _backend.devices_in([p.data, list(state.values())])
    if len(devices) > 1:
        raise _backend.DeviceMismatchError(
            f"{owner}: a parameter is on {p.device!r} but its optimizer state is on "
            f"{[d for d in devices if d != p.device][0]!r} (the model was moved after the "
            "optimizer took steps). Make the optimizer after model.to(...), or train with "
            "pn.fit(..., device=...), which moves both"
        )


def _as_grad_array(p: Tensor, grad) -> np.ndarray:
    if isinstance(grad, Tensor):
        g = grad.data
    elif type(grad) is np.ndarray or _backend.is_device_array(grad):
        g = grad
    else:
        g = np.asarray(grad)
    if g.shape != p.data.shape:
        raise ValueError(f"a gradient of shape {g.shape} was set on a parameter of shape {p.shape}")
    if g.dtype != p.data.dtype:
        g = g.astype(p.data.dtype)
    return g


def _restore(value, p: Tensor, key: str, owner: str):
    on_host = isinstance(value, np.ndarray)
    if not (on_host or _backend.is_device_array(value)):
        return copy.deepcopy(value)
    if value.shape != p.data.shape:
        raise ValueError(
            f"{owner}: state {key!r} has shape {value.shape}; its parameter has shape {p.shape}"
        )
    dtype = p.data.dtype if value.dtype.kind == "f" else value.dtype
    if on_host and type(p.data) is np.ndarray:
        return np.array(value, dtype=dtype, copy=True)
    moved = _backend.to_device(value, p.device)
    return moved.astype(dtype, copy=moved is value)


def params_list(params: Iterable | Tensor) -> list[Tensor]:
    """The Tensors of ``params`` (one Tensor, or any iterable of them) as a list."""
    if isinstance(params, Tensor):
        return [params]
    out = list(params)
    for p in out:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected Tensors (parameters); got {type(p).__name__}")
    return out
