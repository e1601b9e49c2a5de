"""The one option vocabulary of `plainnet.optimize.minimize()`, and each method's defaults.

Every method takes the options in its row below and nothing else; a name outside the
vocabulary, or one the method does not use, is a ``ValueError`` that lists the choices.
"""

from __future__ import annotations

import numbers

from .._validation import check_int, check_positive

VOCABULARY = (
    "learning_rate", "threshold", "gtol", "max_iter", "momentum", "betas", "eps", "line_search",
)

_COMMON = {"threshold": 1e-9, "gtol": 1e-6, "max_iter": 10_000, "line_search": False}

DEFAULTS: dict[str, dict] = {
    "gd": {"learning_rate": 0.1, **_COMMON},
    "momentum": {"learning_rate": 0.01, "momentum": 0.9, **_COMMON},
    "nesterov": {"learning_rate": 0.01, "momentum": 0.9, **_COMMON},
    "adagrad": {"learning_rate": 0.1, "eps": 1e-10, **_COMMON},
    "rmsprop": {"learning_rate": 0.01, "betas": 0.99, "eps": 1e-8, "momentum": 0.0, **_COMMON},
    "adam": {"learning_rate": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, **_COMMON},
    "newton": {"learning_rate": 1.0, "threshold": 0.0, "gtol": 1e-8, "max_iter": 1000,
               "line_search": True},
    "bfgs": {"threshold": 0.0, "gtol": 1e-5, "max_iter": 10_000},
    "lbfgs": {"threshold": 0.0, "gtol": 1e-5, "max_iter": 10_000},
}
"""Each method's options and their default values. ``threshold`` is the notes' rule (stop when
``|f(new) - f(old)| < threshold``; 0 turns it off), ``gtol`` stops when the gradient's norm
falls below it."""

METHODS = tuple(DEFAULTS)


def check_method(method) -> str:
    """The method's name in lower case, or a ValueError listing the methods."""
    if not isinstance(method, str) or method.lower() not in DEFAULTS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    return method.lower()


def resolve(method: str, options: dict) -> dict:
    """``DEFAULTS[method]`` updated with ``options``, each checked."""
    allowed = DEFAULTS[method]
    for name in options:
        if name not in VOCABULARY:
            raise ValueError(
                f"unknown option {name!r}; the options are {list(VOCABULARY)} "
                f"(method {method!r} takes {list(allowed)})"
            )
        if name not in allowed:
            raise ValueError(
                f"method {method!r} does not take option {name!r}; it takes {list(allowed)}"
            )
    opts = {**allowed, **{k: v for k, v in options.items() if v is not None}}
    out = {}
    for name, value in opts.items():
        out[name] = _CHECKS[name](value, method)
    return out


def _learning_rate(value, method):
    return check_positive(value, "learning_rate")


def _threshold(value, method):
    return check_positive(value, "threshold", allow_zero=True)


def _gtol(value, method):
    return check_positive(value, "gtol", allow_zero=True)


def _max_iter(value, method):
    return check_int(value, "max_iter", minimum=0)


def _momentum(value, method):
    mu = check_positive(value, "momentum", allow_zero=True)
    if mu >= 1:
        raise ValueError(f"momentum must be in [0, 1); got {value!r}")
    return mu


def _betas(value, method):
    if method == "rmsprop":
        alpha = check_positive(value, "betas (RMSprop's decay rate alpha)")
        if alpha >= 1:
            raise ValueError(f"betas (RMSprop's decay rate alpha) must be in (0, 1); got {value!r}")
        return alpha
    if (
        isinstance(value, (str, bytes))
        or not hasattr(value, "__len__")
        or len(value) != 2
        or not all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in value)
    ):
        raise ValueError(f"betas must be a pair of numbers (beta1, beta2); got {value!r}")
    b1, b2 = float(value[0]), float(value[1])
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"betas must both be in [0, 1); got {value!r}")
    return (b1, b2)


def _eps(value, method):
    return check_positive(value, "eps")


def _line_search(value, method):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() == "armijo":
        return True
    raise ValueError(f"line_search must be True, False or 'armijo'; got {value!r}")


_CHECKS = {
    "learning_rate": _learning_rate,
    "threshold": _threshold,
    "gtol": _gtol,
    "max_iter": _max_iter,
    "momentum": _momentum,
    "betas": _betas,
    "eps": _eps,
    "line_search": _line_search,
}
