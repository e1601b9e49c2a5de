"""Containers: ``Sequential`` (layers applied one after another, the output of each the input
of the next), and ``ModuleList``, ``ModuleDict`` and ``ParameterList``, which hold sub-modules
or parameters for a custom ``forward`` (PyTorch's classes, names and state-dict keys)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from ..functions.activations import Activation
from .activation import ACTIVATION_MODULES, ReLU
from .linear import Linear
from .module import Module, Parameter, module_from_spec, module_to_spec
from .pooling import MaxPool1d, MaxPool2d


def _pair(layer: Module, kind: type, after: Module | None, next_kinds: tuple) -> bool:
    """Whether ``layer`` is exactly a ``kind`` followed by exactly one of ``next_kinds``
    (a subclass may compute something else), neither with a forward hook (a hook would see
    the wrong value in between), so the two may run as one."""
    return (type(layer) is kind and type(after) in next_kinds and not layer._forward_hooks
            and not after._forward_hooks)


class Sequential(Module):
    r"""A chain of modules: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Children are named ``"0"``, ``"1"``, ... so parameters are named ``"0.weight"``,
    ``"2.bias"`` as in PyTorch, and a state dict loads into the same ``torch.nn.Sequential``.
    Supports ``len``, iteration, indexing (a slice gives a new ``Sequential`` sharing the
    layers) and `append()`. An activation function such as ``pn.relu`` is accepted as a
    layer and becomes its module (``pn.nn.ReLU()``).

    A `Linear` with ``init="auto"`` is initialized for the activation that follows it (skipping
    Dropout, BatchNorm1d, Flatten and Identity): He/Kaiming before the ReLU family, Glorot/Xavier
    before sigmoid, tanh, softmax or nothing. A ``Linear`` followed by a ``ReLU`` runs as one op
    ([`plainnet.nn.functional.linear_relu()`][plainnet.nn.functional.linear_relu]: the same values
    and gradients, one graph node and, on a GPU, one kernel fewer). A ``ReLU`` followed by a
    max pooling runs as one pooling that starts each window's maximum at zero:
    $\max_k \mathrm{relu}(x_k) = \max(0, \max_k x_k)$, and the gradients agree too (the first
    maximum of the window wins in both, and where no value is positive both are zero), with no
    pass of its own for the ReLU.

    Examples
    --------
    >>> import plainnet as pn
    >>> model = pn.nn.Sequential(pn.nn.Linear(4, 8), pn.nn.ReLU(), pn.nn.Linear(8, 3))
    >>> list(model.state_dict())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *layers: Module):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], Mapping):  # Sequential(OrderedDict(...))
            for name, layer in layers[0].items():
                self._add(layer, _check_name(name))
        else:
            for layer in layers:
                self._add(layer)
        self._initialize_linears()

    def _add(self, layer: Module, name: str | None = None) -> None:
        if isinstance(layer, Activation):  # pn.relu -> pn.nn.ReLU()
            layer = ACTIVATION_MODULES[layer.name](**layer.params())
        if not isinstance(layer, Module):
            raise TypeError(
                f"Sequential holds Modules; got {type(layer).__name__} at position {len(self)}"
            )
        setattr(self, str(len(self._modules)) if name is None else name, layer)

    def _initialize_linears(self) -> None:
        layers = list(self._modules.values())
        for i, layer in enumerate(layers):
            if isinstance(layer, Linear):
                layer._initialize_for(_following_rule(layers[i + 1 :]))

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end (returns the Sequential itself)."""
        self._add(layer)
        self._initialize_linears()
        return self

    def forward(self, x):
        layers = tuple(self._modules.values())
        i, n = 0, len(layers)
        while i < n:
            layer = layers[i]
            after = layers[i + 1] if i + 1 < n else None
            if _pair(layer, Linear, after, (ReLU,)):
                x = layer.forward_relu(x)  # one op for the two: same values and gradients
                i += 2
            elif _pair(layer, ReLU, after, (MaxPool1d, MaxPool2d)):
                x = after.forward_relu(x)  # max(0, max_k x_k): the pooling takes the ReLU in
                i += 2
            else:
                x = layer(x)
                i += 1
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index):
        layers = list(self._modules.values())
        if isinstance(index, slice):
            part = Sequential()
            for layer in layers[index]:
                part._add(layer)
            return part
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"Sequential indices are ints or slices; got {index!r}")
        if not -len(layers) <= index < len(layers):
            raise IndexError(f"index {index} is out of range for a Sequential of {len(layers)}")
        return layers[index]

    def get_config(self) -> dict:
        config = {"layers": [module_to_spec(layer) for layer in self._modules.values()]}
        names = list(self._modules)
        if names != [str(i) for i in range(len(names))]:
            config["names"] = names
        return config

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        specs = config.get("layers") if isinstance(config, dict) else None
        if not isinstance(specs, list):
            raise ValueError(
                f"a Sequential config is {{'layers': [spec, ...]}}; got {config!r:.80}"
            )
        layers = [module_from_spec(spec) for spec in specs]
        names = config.get("names")
        if names is None:
            return cls(*layers)
        if not isinstance(names, list) or len(names) != len(layers):
            raise ValueError("a Sequential config's 'names' must list one name per layer")
        return cls(OrderedDict(zip(names, layers, strict=True)))

    def extra_repr(self) -> str:
        return ""


def _following_rule(rest: list) -> tuple | None:
    """The ``init_rule`` of the first layer in ``rest`` that is not a pass-through layer."""
    for layer in rest:
        if getattr(layer, "init_passthrough", False):
            continue
        return getattr(layer, "init_rule", None)
    return None


def _check_name(name) -> str:
    if not isinstance(name, str) or not name or "." in name:
        raise ValueError(f"a sub-module's name is a non-empty string without '.'; got {name!r}")
    return name


def _index(i, n: int, what: str) -> int:
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
        raise TypeError(f"{what} indices are ints or slices; got {i!r}")
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of range for a {what} of {n}")
    return int(i) % n


class ModuleList(Module):
    """A list of sub-modules, registered (their parameters are the container's) under the names
    ``"0"``, ``"1"``, ... as in PyTorch. It has no ``forward``: a custom module iterates it.

    Examples
    --------
    >>> import plainnet as pn
    >>> blocks = pn.nn.ModuleList([pn.nn.Linear(4, 4) for _ in range(3)])
    >>> len(blocks), list(blocks.state_dict())[:2]
    (3, ['0.weight', '0.bias'])
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _check(self, module) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules; got {type(module).__name__}")
        return module

    def _renumber(self, modules: list) -> None:
        self._modules.clear()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self)), self._check(module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        if not isinstance(modules, Iterable) or isinstance(modules, Module):
            raise TypeError(f"extend expects an iterable of Modules; got "
                            f"{type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, self._check(module))
        self._renumber(modules)

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_index(index, len(modules), "ModuleList")]

    def __setitem__(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules[_index(index, len(modules), "ModuleList")] = self._check(module)
        self._renumber(modules)

    def __delitem__(self, index) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_index(index, len(modules), "ModuleList")]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def forward(self, *args, **kwargs):
        raise TypeError("a ModuleList has no forward: iterate over it in your module's forward")

    def get_config(self) -> dict:
        return {"modules": [module_to_spec(m) for m in self]}

    @classmethod
    def from_config(cls, config: dict) -> ModuleList:
        return cls([module_from_spec(spec) for spec in config.get("modules", [])])

    def extra_repr(self) -> str:
        return ""


class ModuleDict(Module):
    """A dict of sub-modules, registered under their keys (a state-dict entry is
    ``"key.weight"``), in insertion order, as in PyTorch. It has no ``forward``."""

    def __init__(self, modules: Mapping[str, Module] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r}; keys: {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict holds Modules; got {type(module).__name__}")
        setattr(self, _check_name(key), module)

    def __delitem__(self, key: str) -> None:
        self[key]  # noqa: B018 - the KeyError names the keys
        delattr(self, key)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def keys(self):
        return list(self._modules.keys())

    def values(self):
        return list(self._modules.values())

    def items(self):
        return list(self._modules.items())

    def update(self, modules) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def forward(self, *args, **kwargs):
        raise TypeError("a ModuleDict has no forward: call its modules in your module's forward")

    def get_config(self) -> dict:
        return {"modules": {k: module_to_spec(m) for k, m in self._modules.items()}}

    @classmethod
    def from_config(cls, config: dict) -> ModuleDict:
        specs = config.get("modules", {})
        return cls(OrderedDict((k, module_from_spec(v)) for k, v in specs.items()))

    def extra_repr(self) -> str:
        return ""


class ParameterList(Module):
    """A list of Parameters, registered as ``"0"``, ``"1"``, ... (PyTorch's names)."""

    def __init__(self, values: Iterable | None = None):
        super().__init__()
        for v in values or ():
            self.append(v)

    def append(self, value) -> ParameterList:
        p = value if isinstance(value, Parameter) else Parameter(value)
        setattr(self, str(len(self)), p)
        return self

    def extend(self, values: Iterable) -> ParameterList:
        for v in values:
            self.append(v)
        return self

    def __getitem__(self, index: int) -> Parameter:
        values = list(self._parameters.values())
        return values[_index(index, len(values), "ParameterList")]

    def __setitem__(self, index: int, value) -> None:
        values = list(self._parameters.values())
        values[_index(index, len(values), "ParameterList")] = (
            value if isinstance(value, Parameter) else Parameter(value))
        self._parameters.clear()
        for i, p in enumerate(values):
            setattr(self, str(i), p)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(list(self._parameters.values()))

    def forward(self, *args, **kwargs):
        raise TypeError("a ParameterList has no forward: use its parameters in your forward")

    def get_config(self) -> dict:
        return {"shapes": [list(p.shape) for p in self], "dtypes": [p.dtype.name for p in self]}

    @classmethod
    def from_config(cls, config: dict) -> ParameterList:
        shapes, dtypes = config.get("shapes", []), config.get("dtypes", [])
        if len(shapes) != len(dtypes):
            raise ValueError("a ParameterList config lists as many shapes as dtypes")
        return cls(np.zeros(tuple(s), dtype=d) for s, d in zip(shapes, dtypes, strict=True))

    def extra_repr(self) -> str:
        return ", ".join(f"{tuple(p.shape)}" for p in self)
