"""``Module`` and ``Parameter``: the base of every layer and model.

A Module registers the Parameters and sub-Modules assigned to its attributes, so
``parameters()``, ``state_dict()`` and ``zero_grad()`` find them all. Every Module can describe
itself as JSON (``get_config()`` gives its constructor arguments), which is how
`plainnet.save()` stores architectures without pickle. ``model.to(device)`` moves every
parameter and buffer to a device (see [`plainnet.backend`][plainnet.backend]).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from .. import backend as _backend
from .._validation import as_float_array
from ..autodiff import Tensor, no_grad
from . import init as _init

MODULES: dict[str, type] = {}
"""Every Module subclass by class name, for rebuilding models from their config."""


class Parameter(Tensor):
    """A Tensor that is a learnable parameter of a Module: it always requires grad."""

    __slots__ = ()

    def __init__(self, data, dtype=None):
        src = data.data if isinstance(data, Tensor) else data
        if _backend.is_device_array(src):  # a copy on the same device
            arr = src.astype(src.dtype if dtype is None else dtype, copy=True)
        elif _init.skipping():  # weights about to be overwritten (loading): no copy
            arr = np.asarray(src, dtype=dtype)
        else:
            arr = np.array(src, dtype=dtype)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float32)
        super().__init__(arr, requires_grad=True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models.

    Subclasses set attributes in ``__init__`` (after ``super().__init__()``) and implement
    ``forward``. Calling a module calls ``forward`` on a Tensor (arrays are wrapped).
    """

    def __new__(cls, *args, **kwargs):
        # the constructor's arguments, so that pn.save can rebuild a custom module without a
        # get_config (plainnet.nn.registry.config_of)
        self = super().__new__(cls)
        object.__setattr__(self, "_init_args", (args, kwargs))
        return self

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        MODULES[cls.__name__] = cls

    # -- registration ------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"call super().__init__() in {type(self).__name__}.__init__ before assigning "
                "attributes"
            )
        if name in self._buffers and (
            isinstance(value, (np.ndarray, np.generic)) or _backend.is_device_array(value)
        ):
            self._set_buffer(name, _as_buffer(value))  # assigning updates the buffer (PyTorch)
            return
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value) -> None:
        """Keep an array that is state but not a parameter (e.g. BatchNorm's running mean).

        Buffers are saved in the ``state_dict`` but not returned by ``parameters()``.
        """
        arr = _as_buffer(value)
        object.__setattr__(self, name, arr)
        self._buffers[name] = arr

    def _set_buffer(self, name: str, value) -> None:
        object.__setattr__(self, name, value)
        self._buffers[name] = value

    # -- traversal ---------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, e.g. ``("0.weight", ...)`` in a Sequential."""
        seen = set()
        for mod_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> list[Parameter]:
        """All learnable parameters, each once, in registration order."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for mod_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                yield (f"{mod_name}.{name}" if mod_name else name), b

    # -- state -------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """Copies of every parameter and buffer by dotted name (PyTorch's names)."""
        state = OrderedDict()
        seen = set()
        for mod_name, module in self.named_modules():
            prefix = f"{mod_name}." if mod_name else ""
            for name, p in module._parameters.items():
                if id(p) not in seen:  # a shared parameter is saved once, as named_parameters
                    seen.add(id(p))
                    state[prefix + name] = p.data.copy()
            for name, b in module._buffers.items():
                state[prefix + name] = b.copy() if _backend.is_device_array(b) else np.array(
                    b, copy=True
                )
        return state

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        Values may be on any device; each is copied to the device of the entry it fills.
        Raises ``KeyError`` for missing or unexpected names (when ``strict``) and
        ``ValueError`` for a mis-shaped entry, before changing anything.
        """
        own = dict(self.named_parameters())
        own_buffers = dict(self.named_buffers())
        expected = set(own) | set(own_buffers)
        given = set(state_dict)
        missing, unexpected = sorted(expected - given), sorted(given - expected)
        if strict and (missing or unexpected):
            raise KeyError(
                f"state_dict does not match {type(self).__name__}: missing {missing}, "
                f"unexpected {unexpected}"
            )
        for name in sorted(expected & given):
            value = _as_buffer(state_dict[name])
            target = own[name].data if name in own else own_buffers[name]
            if value.shape != target.shape:
                raise ValueError(
                    f"state_dict entry {name!r} has shape {value.shape}; the module expects "
                    f"{target.shape}"
                )
        for name in sorted(expected & given):
            value = _as_buffer(state_dict[name])
            target = own[name].data if name in own else own_buffers[name]
            if type(value) is not type(target) or _backend.is_device_array(value):
                value = _backend.to_device(value, _backend.device_of(target))
            if name in own:
                own[name].data[...] = value
            else:
                module_name, _, attr = name.rpartition(".")
                module = self.get_submodule(module_name)
                module._set_buffer(attr, value.astype(target.dtype))

    def get_submodule(self, target: str) -> Module:
        """The sub-module at a dotted path, e.g. ``"0"`` or ``"encoder.1"``."""
        module = self
        if not target:
            return module
        for part in target.split("."):
            if part not in module._modules:
                raise KeyError(f"{type(module).__name__} has no sub-module {part!r}")
            module = module._modules[part]
        return module

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (sets ``.grad`` to None)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics)."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: the same as ``train(False)``."""
        return self.train(False)

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every sub-module (children first) and on this module, as in
        PyTorch (e.g. to initialize weights); returns the module."""
        if not callable(fn):
            raise TypeError(f"apply expects a callable; got {type(fn).__name__}")
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter; returns the module."""
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
            if not requires_grad:
                p.grad = None
        return self

    def float(self) -> Module:
        """Convert every floating parameter and buffer to float32, in place."""
        return self._cast(np.float32)

    def double(self) -> Module:
        """Convert every floating parameter and buffer to float64, in place (for gradient
        checks)."""
        return self._cast(np.float64)

    def _cast(self, dtype) -> Module:
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            if p.grad is not None and not isinstance(p.grad, Tensor):
                p.grad = p.grad.astype(dtype)
        for m in self.modules():
            for name, b in list(m._buffers.items()):
                if b.dtype.kind == "f":
                    m._set_buffer(name, b.astype(dtype))
        return self

    @property
    def dtype(self):
        """The dtype of the first parameter (float32 unless chosen otherwise)."""
        p = self._first_parameter()
        return np.dtype(np.float32) if p is None else p.dtype

    @property
    def device(self) -> str:
        """Where the module computes: the device of its first parameter (or buffer);
        ``"cpu"`` for a module with neither."""
        p = self._first_parameter()
        if p is not None:
            return p.device
        for _, b in self.named_buffers():
            return _backend.device_of(b)
        return "cpu"

    def to(self, device: str) -> Module:
        """Move every parameter, gradient and buffer to ``device`` (``"cpu"``, ``"cuda"``,
        ``"cuda:N"``), in place, and return the module.

        Parameters stay the same objects (an optimizer made before still holds them), but an
        optimizer's existing state is not moved: make the optimizer after ``to``, or use
        `plainnet.fit()` with ``device=``, which moves both.
        """
        target = _backend.canonical_device(device)
        for p in self.parameters():
            p.data = _backend.to_device(p.data, target)
            g = p.grad
            if g is not None:
                p.grad = g.to(target) if isinstance(g, Tensor) else _backend.to_device(g, target)
        for m in self.modules():
            for name, b in list(m._buffers.items()):
                m._set_buffer(name, _backend.to_device(b, target))
        return self

    def cpu(self) -> Module:
        """Move the module to host memory: ``self.to("cpu")``."""
        return self.to("cpu")

    def _first_parameter(self) -> Parameter | None:
        for _, p in self.named_parameters():
            return p
        return None

    # -- running -----------------------------------------------------------------------
    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def __call__(self, x, *args, **kwargs):
        if not isinstance(x, Tensor):
            x = Tensor(self._as_input(x))
        out = self.forward(x, *args, **kwargs)
        if self._forward_hooks:
            for hook in tuple(self._forward_hooks.values()):
                result = hook(self, (x, *args), out)
                if result is not None:
                    out = result
        return out

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward pass of this module.

        As in PyTorch: ``inputs`` is the tuple of positional inputs, and a hook that returns
        something other than None replaces the output. Returns a handle whose ``remove()``
        unregisters the hook. A [`Sequential`][plainnet.nn.Sequential] does not fuse a Linear with a
        hooked ReLU (the hook sees the ReLU's own output).
        """
        if not callable(hook):
            raise TypeError(f"hook must be callable; got {type(hook).__name__}")
        return RemovableHandle(self._forward_hooks, hook)

    def _as_input(self, x):
        """``x`` as a float array of the parameters' dtype (a module without parameters keeps
        the input's float dtype). A device array stays on its device."""
        if type(x) is not np.ndarray and _backend.is_device_array(x):
            arr = x if x.dtype.kind == "f" else x.astype(np.float64)
        else:
            arr = as_float_array(x, "input")
        p = self._first_parameter()
        return arr if p is None or arr.dtype == p.dtype else arr.astype(p.dtype)

    def predict(self, X, batch_size: int | None = None):
        """The model's output on ``X`` as an array, in eval mode, without building a graph.

        ``batch_size`` bounds memory on large inputs (None: all at once). On a module that
        lives on a GPU, host data ``X`` (NumPy, lists) is copied over batch by batch and the
        output comes back as a NumPy array; a device array ``X`` gives output on its device.
        """
        X = self._as_input(X)
        device = self.device
        host_input = type(X) is np.ndarray or not _backend.is_device_array(X)
        if device == "cpu" or not host_input:
            move = back = None
        else:
            move = _backend.to_device
            back = _backend.to_numpy
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                if batch_size is None or len(X) <= batch_size:
                    batches = [X]
                else:
                    batches = [X[i : i + batch_size] for i in range(0, len(X), batch_size)]
                parts = []
                for batch in batches:
                    out = self(Tensor(batch if move is None else move(batch, device))).data
                    parts.append(out if back is None else back(out))
                return parts[0] if len(parts) == 1 else np.concatenate(parts)
        finally:
            self.train(was_training)

    # -- description -------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments as JSON-able values: ``type(m)(**m.get_config())``
        rebuilds the module (with fresh parameters)."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Module:
        return cls(**config)

    def summary(self, input_shape: tuple | None = None, print_fn=print) -> None:
        """Print a table of the layers, their output shapes and parameter counts (see
        `plainnet.nn.summary.summary()`; ``input_shape`` is one sample's shape)."""
        from .summary import summary

        print_fn(summary(self, input_shape))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if not self._modules:
            return lines[0] + ")"
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        return "\n".join(lines) + "\n)"


class RemovableHandle:
    """What `Module.register_forward_hook()` returns: ``remove()`` unregisters the hook
    (also as a context manager, on exit)."""

    _next_id = 0

    def __init__(self, hooks: dict, hook):
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id
        self._hooks = hooks
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _as_buffer(value):
    """A buffer value as an array: device arrays stay on their device."""
    return value if _backend.is_device_array(value) else np.asarray(value)


def module_to_spec(module: Module) -> dict:
    """``{"class": name, "config": {...}}``: a module's architecture as JSON-able data (custom
    classes add ``"module"``; see [`plainnet.nn.registry`][plainnet.nn.registry])."""
    from .registry import spec_of

    return spec_of(module)


def module_from_spec(spec: dict) -> Module:
    """Rebuild a module from `module_to_spec()` output (parameters freshly initialized)."""
    if not isinstance(spec, dict) or "class" not in spec:
        raise ValueError(f"a module spec is a dict with 'class' and 'config'; got {spec!r:.80}")
    from .registry import build

    return build(spec)  # only classes plainnet trusts; see plainnet.nn.registry
