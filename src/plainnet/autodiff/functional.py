"""Gradients as functions, in the style of JAX and HIPS autograd, and gradient checking.

Arguments may be arrays or Tensors on any device (NumPy, CuPy): each gradient, Jacobian and
Hessian is computed on the argument's device and returned there.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from .. import backend as _backend
from .engine import STATE, Tensor, _fresh_array, backprop, leaf, no_grad


def _as_input(x) -> Tensor:
    data = x.data if isinstance(x, Tensor) else x
    if type(data) is not np.ndarray and not _backend.is_device_array(data):
        data = np.asarray(data)
    kind = data.dtype.kind
    if kind in "biu":
        data = data.astype(np.float64)
    elif kind != "f":
        raise TypeError(f"can only differentiate with respect to numbers; got dtype {data.dtype}")
    return leaf(data)


def _scalar_output(y, fname: str) -> Tensor:
    if not isinstance(y, Tensor):
        y = _output_tensor(y)
    if y.data.size != 1:
        raise ValueError(
            f"{fname} needs f to return a scalar; it returned shape {y.shape}. "
            "Reduce it (e.g. .sum()) or use pn.jacobian"
        )
    return y


def _require_graph(y, x_count: int, fname: str) -> None:
    """Raise when ``f``'s output ``y`` has no graph back to the arguments: its gradient would
    be silently zero. (tensor-safety, issue 16)"""
    if isinstance(y, Tensor) and y.requires_grad:
        return
    what = "a constant Tensor" if isinstance(y, Tensor) else f"a {type(y).__name__}"
    args = "its argument" if x_count == 1 else "any of the arguments differentiated"
    raise TypeError(
        f"{fname}: f's output does not depend on {args}: f returned {what} with no graph "
        "back to x. Something in f turned the Tensor into plain numbers, which carry no "
        "gradient: math.exp and other math functions, float(), int(), .item(), .tolist(), "
        ".data, .numpy() or np.asarray(x). Use Tensor operations instead (operators, x.sum(), "
        "pn.exp, pn.sin, ...). If f is meant to be constant, return e.g. 0 * x.sum()"
    )


def _output_tensor(y) -> Tensor:
    """A non-Tensor result of ``f`` as a constant Tensor (a device array stays there)."""
    if type(y) is not np.ndarray and _backend.is_device_array(y):
        return Tensor(y if y.dtype.kind == "f" else y.astype(np.float64))
    return Tensor(np.asarray(y, dtype=float))


def _argnums_tuple(argnums) -> tuple:
    if isinstance(argnums, numbers.Integral):
        return (int(argnums),)
    try:
        nums = tuple(argnums)
    except TypeError:
        nums = None
    if not nums or not all(isinstance(k, numbers.Integral) for k in nums):
        raise TypeError(f"argnums must be an int or a non-empty tuple of ints; got {argnums!r}")
    return tuple(int(k) for k in nums)


def _call_recording(f, args, kwargs):
    """``f(*args, **kwargs)`` with graph recording on (also inside ``no_grad``)."""
    prev = STATE.grad_enabled
    STATE.grad_enabled = True
    try:
        return f(*args, **kwargs)
    finally:
        STATE.grad_enabled = prev


_ONES = {}


def _unit_seed(y: Tensor):
    """A gradient of ones shaped like the scalar ``y`` (a NumPy scalar when 0-d: fastest),
    on ``y``'s device."""
    data = y.data
    dtype = data.dtype
    if data.ndim == 0 and (isinstance(data, np.generic) or type(data) is np.ndarray):
        one = _ONES.get(dtype)
        if one is None:
            one = _ONES[dtype] = dtype.type(1)
        return one
    return _backend.array_module(data).ones(data.shape, dtype)


def _gradients(y: Tensor, inputs, create_graph=False):
    """d y / d input for each input, zeros where y does not depend on it.

    Returns fresh arrays the caller owns (Tensors when ``create_graph``).
    """
    if not y.requires_grad:
        zeros = [np.zeros_like(t.data) for t in inputs]
        return [Tensor(z) for z in zeros] if create_graph else zeros
    seed = _unit_seed(y)
    if create_graph:
        seed = Tensor(seed if _backend.is_device_array(seed) else np.asarray(seed))
    # the graph is unreachable once this returns: no need to spend time freeing it
    found = backprop(y, seed, targets=inputs, create_graph=create_graph, retain_graph=True)
    out = []
    taken = set()
    for t in inputs:
        entry = found.get(id(t))
        if entry is None:
            g = np.zeros_like(t.data)
            if create_graph:
                g = Tensor(g)
        elif create_graph:
            g = entry[1] if isinstance(entry[1], Tensor) else Tensor(entry[1])
            if g.shape != t.shape:
                g = g.reshape(t.shape)
        else:
            g = _fresh_array(entry[1], taken, seed)
            if g.shape != t.shape:
                g = g.reshape(t.shape)
        out.append(g)
    return out


def value_and_grad(f: Callable, argnums=0) -> Callable:
    """Return a function computing ``(f(*args), grad f(*args))``.

    ``f`` must return a scalar and may use Tensor methods and ``pn.*`` functions. The
    gradient is a NumPy array shaped like the argument (a tuple for several ``argnums``); the
    value is a Python float.
    """
    nums = _argnums_tuple(argnums)
    single = isinstance(argnums, numbers.Integral)

    def wrapper(*args, **kwargs):
        nargs = len(args)
        args = list(args)
        inputs = []
        for k in nums:
            if not -nargs <= k < nargs:
                raise ValueError(
                    f"argnums {argnums} out of range for {nargs} positional argument(s)"
                )
            t = _as_input(args[k])
            args[k] = t
            inputs.append(t)
        y = _call_recording(f, args, kwargs)
        _require_graph(y, len(inputs), "grad")
        y = _scalar_output(y, "grad")
        grads = _gradients(y, inputs)
        value = y.data.item()
        return value, (grads[0] if single else tuple(grads))

    wrapper.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return wrapper


def grad(f: Callable, argnums=0) -> Callable:
    r"""Return the gradient function of a scalar function ``f``.

    $$
    \nabla f(x) = \left(\frac{\partial f}{\partial x_1}, \dots,
    \frac{\partial f}{\partial x_n}\right)
    $$

    the vector of partial derivatives, computed exactly by reverse-mode differentiation.
    ``argnums`` (an int or a tuple of ints) picks the positional arguments to differentiate;
    with a tuple the result is a tuple of arrays. If ``f`` does not depend on one of several
    arguments its gradient is zeros; if its output does not depend on any of them (it left
    the Tensors: ``math.exp``, ``float()``, ``.item()``, ``.data``), ``TypeError`` says so
    instead of returning a gradient of zeros.

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


def _jacobian_of_tensor(y: Tensor, x: Tensor) -> np.ndarray:
    """The Jacobian of ``y`` with respect to ``x``: one backward pass per element of ``y``."""
    shape = y.shape + x.shape
    xp = _backend.array_module(x.data)
    if not y.requires_grad:
        return xp.zeros(shape, dtype=x.data.dtype)
    xp = _backend.array_module(y.data)
    rows = []
    for k in range(y.data.size):
        seed = xp.zeros(y.shape, dtype=y.dtype)
        seed.reshape(-1)[k] = 1
        found = backprop(y, seed, targets=[x], retain_graph=True)
        entry = found.get(id(x))
        rows.append(np.zeros_like(x.data) if entry is None else entry[1])
    return np.stack(rows).reshape(shape)


def _differentiable_input(args, argnums: int):
    if not isinstance(argnums, numbers.Integral):
        raise TypeError(f"argnums must be an int here; got {argnums!r}")
    if not -len(args) <= argnums < len(args):
        raise ValueError(f"argnums {argnums} out of range for {len(args)} positional argument(s)")
    args = list(args)
    x = args[argnums] = _as_input(args[argnums])
    return x, args


def jacobian(f: Callable, argnums: int = 0) -> Callable:
    r"""Return the function ``x -> J``, $J_{ij} = \partial f_i / \partial x_j$,
    shaped ``f(x).shape + x.shape`` (one backward pass per output element).

    ``argnums`` picks the positional argument to differentiate (default the first).
    """

    def wrapper(*args, **kwargs):
        x, args = _differentiable_input(args, argnums)
        y = _call_recording(f, args, kwargs)
        if not isinstance(y, Tensor):
            y = _output_tensor(y)
        return _jacobian_of_tensor(y, x)

    wrapper.__name__ = f"jacobian({getattr(f, '__name__', 'f')})"
    return wrapper


def hessian(f: Callable, argnums: int = 0) -> Callable:
    r"""Return the function ``x -> H``, $H_{ij} = \partial^2 f / \partial x_i \partial x_j$.

    Exact: the backward pass that computes $\nabla f$ is itself recorded
    (``create_graph``) and differentiated once more. Shaped ``x.shape + x.shape``; ``f`` must
    return a scalar (``ValueError`` otherwise).
    """

    def wrapper(*args, **kwargs):
        x, args = _differentiable_input(args, argnums)
        prev = STATE.grad_enabled
        STATE.grad_enabled = True
        try:
            y = f(*args, **kwargs)
            _require_graph(y, 1, "hessian")
            y = _scalar_output(y, "hessian")
            (g,) = _gradients(y, [x], create_graph=True)
        finally:
            STATE.grad_enabled = prev
        return _jacobian_of_tensor(g, x)

    wrapper.__name__ = f"hessian({getattr(f, '__name__', 'f')})"
    return wrapper


def _call_scalar(f, x, args, kwargs, device: str = "cpu") -> float:
    if device != "cpu":
        x = _backend.to_device(x, device)
    with no_grad():
        y = f(Tensor(x), *args, **kwargs)
    if isinstance(y, Tensor):
        y = y.data
    elif not _backend.is_device_array(y):
        y = np.asarray(y)
    if y.size != 1:
        raise ValueError(f"f must return a scalar; it returned shape {y.shape}")
    return float(y.reshape(()))


def numerical_grad(f: Callable, x, eps: float | None = None, *args, **kwargs) -> np.ndarray:
    r"""The gradient of a scalar ``f`` at ``x`` by central finite differences.

    $$
    \frac{\partial f}{\partial x_i} \approx
    \frac{f(x + h e_i) - f(x - h e_i)}{2h}, \quad h = \epsilon \max(1, |x_i|)
    $$

    with $\epsilon = \sqrt[3]{\text{machine eps}}$ (about 6e-6 in float64) by default,
    which balances truncation and rounding error. Evaluated in float64.

    For ``x`` on a device (a CuPy array or Tensor), the steps are taken on a float64 host
    copy, each shifted point is copied to ``x``'s device for ``f`` (so ``f`` computes where
    ``x`` lives: two transfers per element), and the gradient is returned on that device.
    """
    data = x.data if isinstance(x, Tensor) else x
    device = "cpu"
    if type(data) is not np.ndarray and _backend.is_device_array(data):
        device = _backend.device_of(data)
        data = _backend.to_numpy(data)
    x = np.array(data, dtype=np.float64)
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
        up = _call_scalar(f, x, args, kwargs, device)
        flat[i] = orig - h
        down = _call_scalar(f, x, args, kwargs, device)
        flat[i] = orig
        gflat[i] = (up - down) / (2 * h)
    return g if device == "cpu" else _backend.to_device(g, device)


def check_grad(f: Callable, x, eps: float | None = None) -> float:
    r"""The largest relative error between the autodiff and the finite-difference gradient.

    $$
    \max_i \frac{|a_i - n_i|}{\max(|a_i|, |n_i|, \tau)}, \quad
    \tau = 10^{-7} \max(1, \|a\|_\infty)
    $$

    where $\tau$ keeps entries that are both nearly zero from dividing noise by noise.
    Values around 1e-8 or less mean the gradient is right (in float64). For ``x`` on a device
    both gradients are computed there, in float64 (see `numerical_grad()`), and compared
    on the host.
    """
    data = x.data if isinstance(x, Tensor) else x
    if type(data) is not np.ndarray and _backend.is_device_array(data):
        x64 = data.astype(np.float64)
        a = _backend.to_numpy(grad(f)(x64))
        n = _backend.to_numpy(numerical_grad(f, x64, eps))
    else:
        x64 = np.array(data, dtype=np.float64)
        a = np.asarray(grad(f)(x64), dtype=np.float64)
        n = numerical_grad(f, x64, eps)
    if a.size == 0:
        return 0.0
    tau = 1e-7 * max(1.0, float(np.max(np.abs(a))))
    return float(np.max(np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), tau)))
