"""NumPy's ufuncs on Tensors (``np.sin(t)``, ``array * t``): plainnet's op, or a clear error.

NumPy hands a ufunc call with a Tensor operand to ``Tensor.__array_ufunc__``. There:

* arithmetic operators (``array + t``, ``np.multiply(a, t)``, ...) run as the Tensor's own
  reflected operator, so they are recorded as if written ``t.__radd__(array)``;
* a ufunc that [`plainnet.autodiff.ops`][plainnet.autodiff.ops] has under the same name
  (``np.exp`` -> ``pn.exp``, ``np.absolute`` -> ``pn.abs``, ...) runs as that op, with its gradient;
* comparisons and tests (``np.less``, ``np.isnan``, ...) return a Tensor of booleans, like the
  comparison operators (no gradient);
* any other ufunc, a ufunc method (``np.add.reduce``, ``np.add.at``) or ``out=`` raises a
  ``TypeError`` that says what to call instead. Nothing is silently computed on the values
  without the gradient.

``np.asarray(t)`` and ``np.array(t)`` still give the values (through ``__array__``).
"""

from __future__ import annotations

from . import ops
from .engine import Tensor

_REFLECTED = {
    "add": ("__add__", "__radd__"),
    "subtract": ("__sub__", "__rsub__"),
    "multiply": ("__mul__", "__rmul__"),
    "divide": ("__truediv__", "__rtruediv__"),
    "true_divide": ("__truediv__", "__rtruediv__"),
    "power": ("__pow__", "__rpow__"),
    "matmul": ("__matmul__", "__rmatmul__"),
}
_ALIASES = {"absolute": "abs", "true_divide": "divide", "rint": "round", "conjugate": None}
_PREDICATES = {
    "less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "isnan", "isinf",
    "isfinite", "signbit", "logical_not", "logical_and", "logical_or", "logical_xor",
}


def _values(x):
    return x.data if isinstance(x, Tensor) else x


def _plainnet_function(name: str):
    """The public function of [`plainnet.autodiff.ops`][plainnet.autodiff.ops] called ``name``, or
    None."""
    name = _ALIASES.get(name, name)
    if name is None or name.startswith("_"):
        return None
    fn = getattr(ops, name, None)
    if fn is None or not callable(fn) or isinstance(fn, type) or fn.__module__ != ops.__name__:
        return None
    return fn


def _refuse(ufunc, method: str, why: str) -> TypeError:
    name = ufunc.__name__
    call = f"np.{name}" if method == "__call__" else f"np.{name}.{method}"
    return TypeError(
        f"{call} on a plainnet Tensor: {why}. To compute on the values without a gradient, "
        f"call it on t.numpy() (or t.data) instead"
    )


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """``Tensor.__array_ufunc__``: see the module's description."""
    name = ufunc.__name__
    if method != "__call__":
        raise _refuse(ufunc, method, "ufunc methods are not recorded; use the Tensor's "
                                     "reductions instead (t.sum(), t.max(), ...)")
    if kwargs:
        hint = f"call np.{name}(...) without them"
        out = kwargs.get("out")
        if out is not None and len(inputs) == 2 and out[0] is inputs[0]:
            hint = "for `array += tensor` write `array = array + tensor` (a Tensor)"
        raise _refuse(ufunc, method, f"the keyword(s) {sorted(kwargs)} are not supported "
                                     f"(NumPy cannot write into a Tensor's graph); {hint}")
    if name in _PREDICATES:
        return Tensor(ufunc(*(_values(x) for x in inputs)))
    if name in _REFLECTED and len(inputs) == 2:
        a, b = inputs
        forward, reflected = _REFLECTED[name]
        if isinstance(a, Tensor):
            return getattr(a, forward)(b)
        return getattr(b, reflected)(a)
    fn = _plainnet_function(name)
    if fn is None:
        raise _refuse(ufunc, method, f"plainnet has no differentiable '{name}'; write it with "
                                     "plainnet's functions (pn.exp, pn.log, pn.where, ...)")
    return fn(*inputs)


Tensor.__array_ufunc__ = array_ufunc
