"""``get_optimizer``: an optimizer by name ("adam"), class or instance, for fit and the CLI."""

from __future__ import annotations

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}
"""The optimizers `get_optimizer()` knows by (lower-case) name."""


def get_optimizer(name_or_instance, params=None, **kwargs) -> Optimizer:
    """An optimizer from its name, its class, or itself.

    Parameters
    ----------
    name_or_instance : str, Optimizer subclass or Optimizer
        ``"sgd"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"`` or ``"adamw"`` (any case), an
        optimizer class, or an optimizer already built (returned as it is).
    params : iterable of Tensor or of dict
        The parameters to optimize; needed unless an instance is given.
    **kwargs
        Hyperparameters for the constructor, e.g. ``lr=0.01``.

    Examples
    --------
    >>> import plainnet as pn
    >>> w = pn.tensor([1.0, 2.0], requires_grad=True)
    >>> pn.optim.get_optimizer("adam", [w], lr=0.01)
    Adam (
    Parameter Group 0
        amsgrad: False
        betas: (0.9, 0.999)
        eps: 1e-08
        lr: 0.01
        maximize: False
        weight_decay: 0.0
    )
    """
    if isinstance(name_or_instance, Optimizer):
        if kwargs:
            raise ValueError(
                "hyperparameters (" + ", ".join(sorted(kwargs)) + ") can only be given with an "
                "optimizer name or class, not with an optimizer instance"
            )
        return name_or_instance
    if isinstance(name_or_instance, str):
        cls = OPTIMIZERS.get(name_or_instance.strip().lower())
        if cls is None:
            raise ValueError(
                f"unknown optimizer {name_or_instance!r}; known: {', '.join(OPTIMIZERS)}"
            )
    elif isinstance(name_or_instance, type) and issubclass(name_or_instance, Optimizer):
        cls = name_or_instance
    else:
        raise TypeError(
            "optimizer must be a name (" + ", ".join(OPTIMIZERS) + "), an Optimizer class or "
            f"an Optimizer; got {type(name_or_instance).__name__} {name_or_instance!r:.60}"
        )
    if params is None:
        raise TypeError(f"get_optimizer({name_or_instance!r}) needs the parameters to optimize")
    return cls(params, **kwargs)
