"""Checking an estimator's hyperparameters when ``fit`` starts (never in ``__init__``, as
scikit-learn requires), with errors that name the parameter, what it takes and what came."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .._validation import check_int, check_positive
from ..optim import OPTIMIZERS, Optimizer
from .network import ACTIVATION_ALIASES, activation_names


def hidden_sizes(value) -> tuple[int, ...]:
    """``hidden_layer_sizes`` as a tuple of positive ints (one int means one layer)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(
            f"hidden_layer_sizes must be an int or a sequence of ints; got {value!r}"
        )
    return tuple(check_int(v, "each hidden layer size", minimum=1) for v in value)


def per_layer(value, n_layers: int, name: str, check) -> tuple:
    """One value for every hidden layer: a single value is repeated, a sequence must have one
    entry per layer. ``check`` validates (and normalizes) each entry."""
    if isinstance(value, (str, numbers.Number)) and not isinstance(value, bool):
        return tuple(check(value) for _ in range(n_layers))
    if not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"{name} must be one value or one per hidden layer; got {value!r}")
    if len(value) != n_layers:
        raise ValueError(
            f"{name} has {len(value)} entries but there are {n_layers} hidden layers; give one "
            "value, or one per hidden layer"
        )
    return tuple(check(v) for v in value)


def activation(value) -> str:
    """An activation name (scikit-learn's ``"logistic"`` means ``"sigmoid"``)."""
    names = activation_names()
    if not isinstance(value, str) or value.lower() not in names:
        raise ValueError(f"unknown activation {value!r}; choose one of {names}")
    value = value.lower()
    return ACTIVATION_ALIASES.get(value, value)


def dropout(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"dropout must be a probability in [0, 1); got {value!r}")
    return float(value)


def solver(value):
    """``"lbfgs"``, an optimizer name of [`plainnet.optim.OPTIMIZERS`][plainnet.optim.OPTIMIZERS] or
    an Optimizer
    class."""
    if isinstance(value, type) and issubclass(value, Optimizer):
        return value
    names = sorted({*OPTIMIZERS, "lbfgs"})
    if not isinstance(value, str) or value.lower() not in names:
        raise ValueError(
            f"unknown solver {value!r}; choose one of {names} (or pass a "
            "plainnet.optim.Optimizer class)"
        )
    return value.lower()


def schedule(value) -> str:
    """``learning_rate``: ``"constant"``, ``"invscaling"`` or ``"adaptive"``."""
    choices = ("constant", "invscaling", "adaptive")
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"learning_rate must be one of {list(choices)}; got {value!r}")
    return value


def unit_interval(value, name: str, *, closed: bool) -> float:
    """A number in [0, 1] (``closed``) or [0, 1)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and (
        0 <= value <= 1 if closed else 0 <= value < 1)
    if not ok:
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must be a number in {interval}; got {value!r}")
    return float(value)


def batch_size(value, n_samples: int) -> int:
    """``"auto"`` is ``min(200, n_samples)``; an int larger than the data is clipped to it."""
    if isinstance(value, str) and value == "auto":
        return max(1, min(200, n_samples))
    size = check_int(value, "batch_size", minimum=1)
    return min(size, max(n_samples, 1))


def fraction(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number in (0, 1); got {value!r}")
    return float(value)


def flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def verbose(value) -> int:
    """``verbose`` for `plainnet.fit()`: falsy is silent, anything else one line per epoch."""
    if isinstance(value, bool) or (isinstance(value, numbers.Integral) and value >= 0):
        return 2 if value else 0
    raise TypeError(f"verbose must be True/False or an int >= 0; got {value!r}")


def device(value) -> str | None:
    """``device`` as a full device name (``"cuda"`` -> ``"cuda:0"``), or None (the CPU).

    An unknown name is a ``ValueError``; a device this machine lacks (``"cuda"`` without CuPy or a
    GPU) a [`plainnet.backend.DeviceUnavailableError`][plainnet.backend.DeviceUnavailableError]
    saying how to install it. """
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(
            f"device must be None, 'cpu', 'cuda' or 'cuda:N'; got {type(value).__name__} "
            f"{value!r}"
        )
    from ..backend import canonical_device

    return canonical_device(value)


def solver_options(est) -> dict:
    """The checked values of scikit-learn's solver hyperparameters; an estimator without them
    (``NeuronClassifier``) gets plain gradient descent and Adam's defaults."""
    return {
        "momentum": unit_interval(getattr(est, "momentum", 0.0), "momentum", closed=True),
        "nesterovs_momentum": flag(getattr(est, "nesterovs_momentum", False),
                                   "nesterovs_momentum"),
        "schedule": schedule(getattr(est, "learning_rate", "constant")),
        "power_t": check_positive(getattr(est, "power_t", 0.5), "power_t", allow_zero=True),
        "max_fun": check_int(getattr(est, "max_fun", 15000), "max_fun", minimum=1),
        "beta_1": unit_interval(getattr(est, "beta_1", 0.9), "beta_1", closed=False),
        "beta_2": unit_interval(getattr(est, "beta_2", 0.999), "beta_2", closed=False),
        "epsilon": check_positive(getattr(est, "epsilon", 1e-8), "epsilon"),
        "shuffle": flag(getattr(est, "shuffle", True), "shuffle"),
    }


def common(est) -> dict:
    """The checked values of the hyperparameters every network estimator has."""
    return {
        **solver_options(est),
        "device": device(est.device),
        "cuda_graph": flag(est.cuda_graph, "cuda_graph"),
        "solver": solver(est.solver),
        "lr": check_positive(est.learning_rate_init, "learning_rate_init"),
        "max_iter": check_int(est.max_iter, "max_iter", minimum=1),
        "alpha": check_positive(est.alpha, "alpha", allow_zero=True),
        "early_stopping": flag(est.early_stopping, "early_stopping"),
        "validation_fraction": fraction(est.validation_fraction, "validation_fraction"),
        "n_iter_no_change": check_int(est.n_iter_no_change, "n_iter_no_change", minimum=1),
        "tol": check_positive(est.tol, "tol", allow_zero=True),
        "warm_start": flag(est.warm_start, "warm_start"),
        "verbose": verbose(est.verbose),
    }
