"""``Sequential``: layers applied one after another, the output of each the input of the next."""

from __future__ import annotations

from collections.abc import Iterator

from ..functions.activations import Activation
from .activation import ACTIVATION_MODULES, ReLU
from .linear import Linear
from .module import Module, module_from_spec, module_to_spec


class Sequential(Module):
    """A chain of modules: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Children are named ``"0"``, ``"1"``, ... so parameters are named ``"0.weight"``,
    ``"2.bias"`` as in PyTorch, and a state dict loads into the same ``torch.nn.Sequential``.
    Supports ``len``, iteration, indexing (a slice gives a new ``Sequential`` sharing the
    layers) and :meth:`append`. An activation function such as ``pn.relu`` is accepted as a
    layer and becomes its module (``pn.nn.ReLU()``).

    A :class:`Linear` with ``init="auto"`` is initialized for the activation that follows it
    (skipping Dropout, BatchNorm1d, Flatten and Identity): He/Kaiming before the ReLU family,
    Glorot/Xavier before sigmoid, tanh, softmax or nothing. A ``Linear`` followed by a
    ``ReLU`` runs as one op (:func:`plainnet.nn.functional.linear_relu`: the same values and
    gradients, one graph node and, on a GPU, one kernel fewer).

    Examples
    --------
    >>> import plainnet as pn
    >>> model = pn.nn.Sequential(pn.nn.Linear(4, 8), pn.nn.ReLU(), pn.nn.Linear(8, 3))
    >>> list(model.state_dict())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *layers: Module):
        super().__init__()
        for layer in layers:
            self._add(layer)
        self._initialize_linears()

    def _add(self, layer: Module) -> None:
        if isinstance(layer, Activation):  # pn.relu -> pn.nn.ReLU()
            layer = ACTIVATION_MODULES[layer.name](**layer.params())
        if not isinstance(layer, Module):
            raise TypeError(
                f"Sequential holds Modules; got {type(layer).__name__} at position {len(self)}"
            )
        setattr(self, str(len(self._modules)), layer)

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
            if (
                type(layer) is Linear
                and i + 1 < n
                and type(layers[i + 1]) is ReLU
                and not layer._forward_hooks
                and not layers[i + 1]._forward_hooks
            ):
                x = layer.forward_relu(x)  # one op for the two: same values and gradients
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
        return {"layers": [module_to_spec(layer) for layer in self._modules.values()]}

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        specs = config.get("layers") if isinstance(config, dict) else None
        if not isinstance(specs, list):
            raise ValueError(
                f"a Sequential config is {{'layers': [spec, ...]}}; got {config!r:.80}"
            )
        return cls(*[module_from_spec(spec) for spec in specs])

    def extra_repr(self) -> str:
        return ""


def _following_rule(rest: list) -> tuple | None:
    """The ``init_rule`` of the first layer in ``rest`` that is not a pass-through layer."""
    for layer in rest:
        if getattr(layer, "init_passthrough", False):
            continue
        return getattr(layer, "init_rule", None)
    return None
