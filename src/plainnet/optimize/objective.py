"""The function being minimized: evaluated on flat float64 points, counted, and checked.

The optimizers work on a flat vector ``x`` of ``n`` numbers; the user's ``f`` always sees a
point shaped like ``x0``. Gradients come from autodiff (``jac=None``), from a gradient function
(``jac=callable``) or from ``f`` itself (``jac=True``: ``f`` returns ``(value, gradient)``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._validation import as_float_array
from ..autodiff import Tensor, hessian, no_grad, value_and_grad


class Objective:
    """``f`` (and its gradient and Hessian) as functions of a flat float64 vector.

    Evaluation counts are kept in ``nfev``, ``ngev`` and ``nhev``. Floating-point warnings
    (overflow, invalid) are silenced during evaluation: optimizers check finiteness themselves
    and report a run that diverged with ``success=False``.
    """

    def __init__(self, f: Callable, x0, jac=None, hess=None):
        if not callable(f):
            raise TypeError(f"f must be a callable returning a number; got {type(f).__name__}")
        if not (jac is None or jac is True or callable(jac)):
            raise TypeError(
                "jac must be None (autodiff), True (f returns (value, gradient)) or a callable "
                f"returning the gradient; got {type(jac).__name__} {jac!r}"
            )
        if not (hess is None or callable(hess)):
            raise TypeError(
                f"hess must be None or a callable returning the Hessian; got {type(hess).__name__}"
            )
        x0 = as_float_array(x0, "x0")
        if x0.size == 0:
            raise ValueError(f"x0 must hold at least one number; got shape {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise ValueError(f"x0 must be finite; got {x0.tolist()}")
        self.f, self.jac, self.hess = f, jac, hess
        self.shape = x0.shape
        self.x0 = np.array(x0, dtype=np.float64).reshape(-1)
        self.nfev = self.ngev = self.nhev = 0
        self._vg = value_and_grad(f) if jac is None else None

    @property
    def n(self) -> int:
        return self.x0.size

    def point(self, x: np.ndarray) -> np.ndarray:
        """A flat vector reshaped like ``x0`` (a copy, safe to hand to the user)."""
        return np.array(x, dtype=np.float64).reshape(self.shape)

    def value(self, x: np.ndarray) -> float:
        """``f(x)`` without a gradient."""
        self.nfev += 1
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.jac is None:
                with no_grad():
                    out = self._call(lambda: self.f(Tensor(self.point(x))))
            elif self.jac is True:
                out = self._pair(self.f(self.point(x)))[0]
            else:
                out = self.f(self.point(x))
        return _scalar(out)

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``(f(x), grad f(x))``, the gradient flat."""
        self.nfev += 1
        self.ngev += 1
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.jac is None:
                value, g = self._call(lambda: self._vg(self.point(x)))
            elif self.jac is True:
                value, g = self._pair(self.f(self.point(x)))
            else:
                value, g = self.f(self.point(x)), self.jac(self.point(x))
        return _scalar(value), self._flat_grad(g)

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """The ``(n, n)`` Hessian: ``hess`` if given, exact autodiff when ``jac`` is None, else
        central differences of the gradient (symmetrized)."""
        self.nhev += 1
        n = self.n
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.hess is not None:
                H = as_float_array(self.hess(self.point(x)), "hess(x)")
            elif self.jac is None:
                H = self._call(lambda: hessian(self.f)(self.point(x)))
            else:
                H = self._fd_hessian(x)
        H = np.asarray(H, dtype=np.float64)
        if H.size != n * n:
            raise ValueError(
                f"the Hessian must have {n}x{n} entries for x0 of shape {self.shape}; "
                f"got shape {H.shape}"
            )
        return H.reshape(n, n)

    def _fd_hessian(self, x: np.ndarray) -> np.ndarray:
        n = self.n
        H = np.empty((n, n))
        for i in range(n):
            h = 1e-5 * max(1.0, abs(x[i]))
            up, down = x.copy(), x.copy()
            up[i] += h
            down[i] -= h
            H[i] = (self.value_and_grad(up)[1] - self.value_and_grad(down)[1]) / (2 * h)
        return (H + H.T) / 2

    def _call(self, thunk):
        try:
            return thunk()
        except TypeError as err:
            raise TypeError(
                f"could not differentiate f: {err}. Write f with Tensor operations "
                "(operators, x.sum(), pn.exp, ...) or pass its gradient as jac"
            ) from err

    def _pair(self, out):
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(
                "with jac=True, f must return a pair (value, gradient); "
                f"it returned {type(out).__name__}"
            )
        return out

    def _flat_grad(self, g) -> np.ndarray:
        g = as_float_array(g.data if isinstance(g, Tensor) else g, "the gradient")
        if g.size != self.n:
            raise ValueError(
                f"the gradient must have the shape of x0, {self.shape}; got shape {g.shape}"
            )
        return np.array(g, dtype=np.float64).reshape(-1)


def _scalar(out) -> float:
    data = out.data if isinstance(out, Tensor) else out
    try:
        arr = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"f must return a number; it returned {type(out).__name__}") from err
    if arr.size != 1:
        raise ValueError(f"f must return a scalar; it returned shape {arr.shape}")
    return float(arr.reshape(()))
