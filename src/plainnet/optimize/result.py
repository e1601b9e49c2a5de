"""The result of an optimization: one dict-like object for every method."""

from __future__ import annotations

import numpy as np

STATUS = {
    0: "converged",
    1: "max_iter reached",
    2: "non-finite value or gradient",
    3: "stopped by the callback",
    4: "no further decrease found",
}
"""What each ``status`` code means. Only status 0 is a success."""


class OptimizeResult(dict):
    """What an optimizer found, as a dict whose keys are also attributes (like SciPy's).

    Keys
    ----
    x : numpy.ndarray
        The final point, shaped like ``x0`` (the last finite point visited).
    fun : float
        ``f(x)``.
    grad : numpy.ndarray
        The gradient at ``x``, shaped like ``x0`` (also available as ``jac``).
    nit : int
        Iterations (steps) taken.
    nfev, ngev, nhev : int
        Evaluations of ``f``, of its gradient and of its Hessian.
    success : bool
        Whether a stopping rule of convergence fired (``status == 0``).
    status : int
        0 converged, 1 ``max_iter`` reached, 2 non-finite value or gradient, 3 stopped by the
        callback, 4 no further decrease found (see `STATUS`).
    message : str
        Why the run stopped, in words.
    path : numpy.ndarray, shape (nit + 1, *x0.shape)
        Every visited point, ``x0`` first.
    values : numpy.ndarray, shape (nit + 1,)
        ``f`` along the path.
    best_x, best_fun
        The point with the lowest ``f`` seen, and that value.
    method : str
        The method that ran.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(
                f"OptimizeResult has no attribute {name!r}; it has {sorted(self)}"
            ) from err

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError as err:
            raise AttributeError(name) from err

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self))

    @property
    def values(self):
        """``f`` along the path (the key ``"values"``). This attribute hides the dict method;
        ``dict.values(result)`` still lists the dict's values."""
        return self["values"]

    @property
    def jac(self):
        """The gradient at ``x`` (SciPy's name for `grad`)."""
        return self["grad"]

    def __repr__(self) -> str:
        if not self:
            return f"{type(self).__name__}()"
        width = max(len(k) for k in self)
        lines = [f"{k.rjust(width)}: {_short(v)}" for k, v in self.items()]
        return "\n".join(lines)


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return f"{float(value):.10g}"
        if value.ndim > 1 or value.size > 6:
            return f"array of shape {value.shape}"
        return np.array2string(value, precision=8, separator=", ")
    if isinstance(value, float):
        return f"{value:.10g}"
    return repr(value) if not isinstance(value, str) else value
