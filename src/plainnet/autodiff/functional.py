"""Gradients as functions, in the style of JAX and HIPS autograd, and gradient checking."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from .engine import Tensor, backprop, enable_grad, no_grad


def _as_input(x) -> Tensor:
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.dtype.kind in "biu":
        data = data.astype(np.float64)
    elif data.dtype.kind != "f":
        raise TypeError(f"can only differentiate with respect to numbers; got dtype {data.dtype}")
    return Tensor(data, requires_grad=True)


def _scalar_output(y, fname: str) -> Tensor:
    if not isinstance(y, Tensor):
        y = Tensor(np.asarray(y, dtype=float))
    if y.size != 1:
        raise ValueError(
            f"{fname} needs f to return a scalar; it returned shape {y.shape}. "
            "Reduce it (e.g. .sum()) or use pn.jacobian"
        )
    return y


def _argnums_tuple(argnums, nargs):
    nums = (argnums,) if isinstance(argnums, numbers.Integral) else tuple(argnums)
    for k in nums:
        if not -nargs <= k < nargs:
            raise ValueError(f"argnums {argnums} out of range for {nargs} positional argument(s)")
    return nums


def _gradients(y: Tensor, inputs, create_graph=False):
    """d y / d input for each input, zeros where y does not depend on it."""
    if not y.requires_grad:
        return [np.zeros_like(t.data) if not create_graph else Tensor(np.zeros_like(t.data))
                for t in inputs]
    seed = np.ones_like(y.data)
    if create_graph:
        seed = Tensor(seed)
    found = backprop(y, seed, targets=inputs, create_graph=create_graph)
    out = []
    for t in inputs:
        g = found.get(id(t), (None, None))[1]
        if g is None:
            g = np.zeros_like(t.data)
            if create_graph:
                g = Tensor(g)
        elif g.shape != t.shape:
            g = g.reshape(t.shape)
        out.append(g)
    return out


def value_and_grad(f: Callable, argnums=0) -> Callable:
    """Return a function computing ``(f(*args), grad f(*args))``.

    ``f`` must return a scalar and may use Tensor methods and ``pn.*`` functions. The
    gradient is a NumPy array shaped like the argument (a tuple for several ``argnums``).
    """

    def wrapper(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args))
        args = list(args)
        inputs = []
        for k in nums:
            args[k] = _as_input(args[k])
            inputs.append(args[k])
        with enable_grad():
            y = _scalar_output(f(*args, **kwargs), "grad")
        grads = _gradients(y, inputs)
        value = y.data.reshape(()).item() if y.data.ndim else y.data.item()
        g = grads[0] if isinstance(argnums, numbers.Integral) else tuple(grads)
        return value, g

    wrapper.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return wrapper


def grad(f: Callable, argnums=0) -> Callable:
    r"""Return the gradient function of a scalar function ``f``.

    .. math:: \nabla f(x) = \left(\frac{\partial f}{\partial x_1}, \dots,
              \frac{\partial f}{\partial x_n}\right)

    the vector of partial derivatives, computed exactly by reverse-mode differentiation.

    Examples
    --------
    >>> import plainnet as pn
    >>> pn.grad(lambda x: (x ** 2).sum())([1.0, 2.0]).tolist()
    [2.0, 4.0]
    """
    vg = value_and_grad(f, argnums)

    def wrapper(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    wrapper.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return wrapper


def _jacobian_of_tensor(y: Tensor, x: Tensor, create_graph=False):
    rows = []
    flat_n = y.size
    for k in range(flat_n):
        seed = np.zeros(y.shape, dtype=y.dtype)
        seed.reshape(-1)[k] = 1
        if not y.requires_grad:
            rows.append(np.zeros_like(x.data))
            continue
        found = backprop(
            y, Tensor(seed) if create_graph else seed, targets=[x],
            create_graph=create_graph, retain_graph=True,
        )
        g = found.get(id(x), (None, None))[1]
        rows.append(np.zeros_like(x.data) if g is None else (g.data if create_graph else g))
    return np.stack(rows).reshape(y.shape + x.shape) if rows else np.zeros(y.shape + x.shape)


def jacobian(f: Callable) -> Callable:
    r"""Return the function ``x -> J``, :math:`J_{ij} = \partial f_i / \partial x_j`,
    shaped ``f(x).shape + x.shape`` (one backward pass per output element)."""

    def wrapper(x, *args, **kwargs):
        x = _as_input(x)
        with enable_grad():
            y = f(x, *args, **kwargs)
        if not isinstance(y, Tensor):
            y = Tensor(np.asarray(y, dtype=float))
        return _jacobian_of_tensor(y, x)

    return wrapper


def hessian(f: Callable) -> Callable:
    r"""Return the function ``x -> H``, :math:`H_{ij} = \partial^2 f / \partial x_i \partial x_j`.

    Exact: the backward pass that computes :math:`\nabla f` is itself recorded
    (``create_graph``) and differentiated once more. Shaped ``x.shape + x.shape``.
    """

    def wrapper(x, *args, **kwargs):
        x = _as_input(x)
        with enable_grad():
            y = _scalar_output(f(x, *args, **kwargs), "hessian")
            (g,) = _gradients(y, [x], create_graph=True)
        return _jacobian_of_tensor(g, x)

    return wrapper


def _call_scalar(f, x, args, kwargs) -> float:
    with no_grad():
        y = f(Tensor(x), *args, **kwargs)
    y = y.data if isinstance(y, Tensor) else np.asarray(y)
    if y.size != 1:
        raise ValueError(f"f must return a scalar; it returned shape {y.shape}")
    return float(y.reshape(()))


def numerical_grad(f: Callable, x, eps: float | None = None, *args, **kwargs) -> np.ndarray:
    r"""The gradient of a scalar ``f`` at ``x`` by central finite differences.

    .. math:: \frac{\partial f}{\partial x_i} \approx
              \frac{f(x + h e_i) - f(x - h e_i)}{2h}, \quad h = \epsilon \max(1, |x_i|)

    with :math:`\epsilon = \sqrt[3]{\text{machine eps}}` (about 6e-6 in float64) by default,
    which balances truncation and rounding error. Evaluated in float64.
    """
    x = np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
    if eps is None:
        eps = float(np.finfo(np.float64).eps ** (1 / 3))
    elif not eps > 0:
        raise ValueError(f"eps must be > 0; got {eps!r}")
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        h = eps * max(1.0, abs(orig))
        flat[i] = orig + h
        up = _call_scalar(f, x, args, kwargs)
        flat[i] = orig - h
        down = _call_scalar(f, x, args, kwargs)
        flat[i] = orig
        gflat[i] = (up - down) / (2 * h)
    return g


def check_grad(f: Callable, x, eps: float | None = None) -> float:
    r"""The largest relative error between the autodiff and the finite-difference gradient.

    .. math:: \max_i \frac{|a_i - n_i|}{\max(|a_i|, |n_i|, \tau)}, \quad
              \tau = 10^{-7} \max(1, \|a\|_\infty)

    where :math:`\tau` keeps entries that are both nearly zero from dividing noise by noise.
    Values around 1e-8 or less mean the gradient is right (in float64).
    """
    x64 = np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
    a = np.asarray(grad(f)(x64), dtype=np.float64)
    n = numerical_grad(f, x64, eps)
    if a.size == 0:
        return 0.0
    tau = 1e-7 * max(1.0, float(np.max(np.abs(a))))
    return float(np.max(np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), tau)))
