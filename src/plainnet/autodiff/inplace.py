"""Changing a Tensor in place: ``t[index] = value``, ``add_``, ``zero_``, ``copy_``, ...

PyTorch's semantics, on plainnet's graph of Tensor objects:

* While gradients are recorded and ``t`` or ``value`` requires grad, ``t[index] = value``
  replaces ``t``'s graph node by an *index-put* of its old value and ``value``: gradients flow
  to both (to the old value except at ``index``, to ``value`` from ``index``). The result is a
  new array (copy on write): whatever saved ``t``'s old array for a backward pass, or holds a
  view of it, keeps the old values.
* Otherwise (under [`no_grad`][plainnet.no_grad], or when nothing requires grad) the values are
  written into ``t.data`` in place, as an optimizer step does.
* Either way ``t``'s version is set ([`next_version()`][plainnet.autodiff.engine.next_version]): a
  recorded op that used ``t`` before the change makes ``backward`` raise a clear
  ``RuntimeError`` naming the op, instead of computing with the new values.
* A leaf that requires grad cannot be changed in place while gradients are recorded (its
  ``.grad`` would describe a value it no longer has): change it under ``no_grad()``.

The in-place methods (``add_``, ``sub_``, ``mul_``, ``div_``, ``clamp_``, ``zero_``,
``fill_``, ``copy_``) are ``t[...] = f(t, other)`` and return ``t``.
"""

from __future__ import annotations

import numpy as np

from .. import backend as _backend
from . import ops
from .engine import STATE, Op, Tensor, apply, next_version

_EVERYTHING = Ellipsis


def _copy(a):
    """A writable copy of ``a`` on its device (a NumPy scalar becomes a 0-d array)."""
    if type(a) is np.ndarray or isinstance(a, np.generic):
        return np.array(a)
    return a.copy()


def _index_put_forward(a, v, index):
    out = _copy(a)
    out[index] = v
    return out


def _kept(g, index):
    """``g`` with zeros at ``index`` (the gradient of the old value): a product with a constant
    mask, so it is differentiable too."""
    r = ops._raw(g)
    xp = _backend.array_module(r)
    mask = xp.ones(r.shape, dtype=r.dtype)
    mask[index] = 0
    return g * mask


def _index_put_vjp(i, g, out, a, v, index):
    if i == 0:
        return _kept(g, index)
    return g[index]  # the engine sums it back to value's shape


INDEX_PUT = Op("index_put", _index_put_forward, _index_put_vjp)
"""``a`` with ``v`` written at ``index`` (a new array), the op behind ``t[index] = v``."""


def _leaf_error(what: str) -> RuntimeError:
    return RuntimeError(
        f"{what} on a leaf Tensor that requires grad while gradients are recorded: its .grad "
        "would describe values it no longer has. Change it under `with pn.no_grad():` (as an "
        "optimizer step does), or change a copy (t.clone())"
    )


def _needs_graph(t: Tensor, value) -> bool:
    return STATE.grad_enabled and (
        t.requires_grad or (isinstance(value, Tensor) and value.requires_grad)
    )


def _writable(t: Tensor):
    """``t.data``, replaced first by a copy if it cannot be written (a NumPy scalar, a
    read-only view such as a broadcast)."""
    data = t.data
    writeable = getattr(getattr(data, "flags", None), "writeable", True)  # CuPy: no such flag
    if isinstance(data, np.generic) or not writeable:
        data = t.data = _copy(data)
    return data


_SLOTS = ("data", "requires_grad", "_op", "_args", "_datas", "_kw", "_seq", "name", "_version")


def _old_self(t: Tensor, what: str) -> Tensor:
    """A new Tensor object that takes over ``t``'s value and graph node (``t``'s past)."""
    if t.requires_grad and t._op is None:
        raise _leaf_error(what)
    old = Tensor.__new__(Tensor)
    for slot in _SLOTS:
        setattr(old, slot, getattr(t, slot))
    old.grad = None
    return old


def _become(t: Tensor, new: Tensor, version: int) -> Tensor:
    """``t`` takes over ``new``'s value and node (``new`` is dropped)."""
    t.data, t.requires_grad = new.data, new.requires_grad
    t._op, t._args, t._datas, t._kw, t._seq = new._op, new._args, new._datas, new._kw, new._seq
    t._version = version
    return t


def setitem(t: Tensor, index, value) -> None:
    """``t[index] = value``: see the module's description."""
    index = ops._unwrap_index(index)
    if not isinstance(value, Tensor):
        value = ops._constant(value, t)
    if not _needs_graph(t, value):
        _writable(t)[index] = value.data if isinstance(value, Tensor) else value
        t._version = next_version()
        return
    old = _old_self(t, "t[index] = value")
    version = next_version()  # before the new node: t's new node is later than its version
    _become(t, apply(INDEX_PUT, old, value, index), version)


def _update(t: Tensor, what: str, compute, *others) -> Tensor:
    """``t``'s values replaced by ``compute(t, *others)``: written into ``t.data`` (on the
    arrays) when no graph is needed, else ``t`` takes over the node it makes."""
    if not any(_needs_graph(t, o) for o in others or (None,)):
        data = _writable(t)
        result = compute(data, *(o.data if isinstance(o, Tensor) else o for o in others))
        kind = getattr(result, "dtype", None)
        if kind is not None and not np.can_cast(kind, data.dtype, "same_kind"):
            raise TypeError(
                f"{what}: the result has dtype {kind}, which a Tensor of dtype {data.dtype} "
                "cannot hold; convert it first (t = t.astype(float))"
            )
        data[...] = result
        t._version = next_version()
        return t
    old = _old_self(t, what)
    version = next_version()
    return _become(t, compute(old, *others), version)


def add_(self: Tensor, other, alpha=1) -> Tensor:
    """``self += alpha * other`` in place; returns ``self``."""
    return _update(self, "add_", lambda t, o: t + (o if alpha == 1 else o * alpha), other)


def sub_(self: Tensor, other, alpha=1) -> Tensor:
    """``self -= alpha * other`` in place; returns ``self``."""
    return _update(self, "sub_", lambda t, o: t - (o if alpha == 1 else o * alpha), other)


def mul_(self: Tensor, other) -> Tensor:
    """``self *= other`` in place; returns ``self``."""
    return _update(self, "mul_", lambda t, o: t * o, other)


def div_(self: Tensor, other) -> Tensor:
    """``self /= other`` in place; returns ``self``."""
    return _update(self, "div_", lambda t, o: t / o, other)


def clamp_(self: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Clip ``self`` to ``[min, max]`` in place; returns ``self``."""
    return _update(self, "clamp_", ops.clip, min, max)


def zero_(self: Tensor) -> Tensor:
    """Set every element to 0 in place; returns ``self``."""
    setitem(self, _EVERYTHING, 0)
    return self


def fill_(self: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a 0-d Tensor) in place; returns ``self``."""
    setitem(self, _EVERYTHING, value)
    return self


def copy_(self: Tensor, src) -> Tensor:
    """Copy ``src`` (broadcast to ``self``'s shape) into ``self``; returns ``self``. The
    gradient flows to ``src``."""
    setitem(self, _EVERYTHING, src)
    return self


def clone(self: Tensor) -> Tensor:
    """A copy of ``self`` with its own memory, in the graph (its gradient flows back)."""
    return apply(CLONE, self)


CLONE = Op("clone", _copy, lambda i, g, out, a: g)
"""A copy with the identity gradient: change a clone in place, not a Tensor still needed."""

Tensor.__setitem__ = setitem
for _fn in (add_, sub_, mul_, div_, clamp_, zero_, fill_, copy_, clone):
    setattr(Tensor, _fn.__name__, _fn)
