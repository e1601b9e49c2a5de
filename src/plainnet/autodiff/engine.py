"""The reverse-mode engine: the Tensor, how operations are recorded, and backpropagation.

An operation is an `Op`: a ``forward`` on plain arrays and a ``vjp`` (vector-Jacobian
product) that, given the gradient ``g`` of the output, returns the gradient of one input. Ops
are defined in [`plainnet.autodiff.ops`][plainnet.autodiff.ops], each forward beside its vjp.

Engine semantics
----------------
* Each result of an op on Tensors that require grad records the op, its arguments and a
  creation number. Inputs always exist before the result, so taking the recorded nodes by
  creation number, latest first (from a heap), is a topological order: ``backward`` needs no
  recursion and no separate sorting pass, and chains of any length work.
* ``backward`` sums the gradient of a node used several times, and sums a broadcast gradient
  back to its input's shape here, once, not in each op.
* Leaf gradients accumulate into ``.grad`` across calls until ``zero_grad()`` or
  ``t.grad = None``. Gradients have the dtype of their tensor (float32 stays float32).
* After ``backward`` the graph is freed (``retain_graph=True`` keeps it).
* Each Tensor carries a version, the creation number of its last in-place change (0 if
  none): ``t[index] = v``, the in-place methods (``add_``, ``zero_``, ...) and optimizer
  steps set it. A recorded op whose argument (or own result) changed after the op was
  recorded makes ``backward`` raise a ``RuntimeError`` naming the op, instead of using the new
  values: one integer comparison per argument while backpropagating, nothing per forward op.
* ``create_graph=True`` runs the vjps on Tensors, so the gradient is itself differentiable:
  this is how [`plainnet.hessian()`][plainnet.hessian] differentiates the backward pass.
* A Tensor computes with the array module of its data (NumPy on ``"cpu"``, CuPy on
  ``"cuda"``; see [`plainnet.backend`][plainnet.backend]). Data never moves implicitly: an op whose
  operands are on two devices raises [`DeviceMismatchError`][plainnet.backend.DeviceMismatchError]
  naming both. The check costs nothing when the op succeeds: it runs only when a forward fails.
* A zero upstream gradient stays zero through every elementwise vjp, even where the op is
  singular or its value is inf/NaN, so the unselected branch of ``where`` cannot poison a
  gradient. The fast pass does not pay for this: only when a gradient comes out with a NaN is
  the backward pass run again in *careful* mode (``STATE.careful``), in which the elementwise
  vjps guard their products. The gradients are looked at only when a vjp that the careful mode
  changes ran (``STATE.guarded``): a graph of matrix products, ReLUs and fused losses, a
  typical network's, is never checked, so the check makes neither extra passes over the
  gradients nor the host wait for a GPU.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from heapq import heappop, heappush

import numpy as np

from .. import backend as _backend


class Op:
    """A differentiable operation: ``forward(*arrays, **kw)`` and ``vjp(i, g, out, *args, **kw)``.

    ``vjp`` returns the gradient with respect to argument ``i`` given the gradient ``g`` of the
    output ``out``. It is written with operators and `plainnet` functions only, so the same
    code runs on arrays (plain backward) and on Tensors (``create_graph=True``).
    """

    __slots__ = ("name", "forward", "vjp")

    def __init__(self, name: str, forward, vjp=None):
        self.name = name
        self.forward = forward
        self.vjp = vjp

    def __repr__(self) -> str:
        return f"Op({self.name})"


class _State(threading.local):
    """Grad mode and debugging flags, one set per thread (like PyTorch's), so that a
    ``no_grad`` block in one thread never switches off recording in another."""

    def __init__(self):
        self.grad_enabled = True
        self.detect_anomaly = False
        self.careful = False
        self.guarded = False  # whether a vjp that the careful pass changes ran in this pass


STATE = _State()
_creation = itertools.count()


class _Setting(contextlib.ContextDecorator):
    """A context manager (and decorator) that sets one field of `STATE` for its block
    and puts the old value back after."""

    field = ""
    value = False

    def __enter__(self):
        self._prev = getattr(STATE, self.field)
        setattr(STATE, self.field, self.value)
        return self

    def __exit__(self, *exc):
        setattr(STATE, self.field, self._prev)
        return False


class no_grad(_Setting):
    """Context manager (and decorator) in which operations record no graph.

    Results computed inside never require grad; use it for evaluation and for parameter
    updates.
    """

    field, value = "grad_enabled", False


class enable_grad(no_grad):
    """Context manager that turns graph recording back on (inside `no_grad`)."""

    value = True


def is_grad_enabled() -> bool:
    """Whether operations currently record a graph."""
    return STATE.grad_enabled


class careful_backward(_Setting):
    """Context in which backward passes run in careful mode from the start: each guarded
    product keeps a zero upstream gradient exactly zero, so the gradients are never read to
    decide on a second pass. For work recorded as a device graph, which can't read values;
    it costs a few elementwise kernels per guarded product."""

    field, value = "careful", True


class detect_anomaly(_Setting):
    """Context in which the first op whose forward or backward makes NaN/inf raises.

    The ``FloatingPointError`` names the operation, so the source of a NaN is found at once.
    Checking costs a pass over every result: use it for debugging only.
    """

    field, value = "detect_anomaly", True


def _check_finite(value, what: str) -> None:
    arr = value.data if isinstance(value, Tensor) else value
    if (
        isinstance(arr, (np.ndarray, np.generic)) or _backend.is_device_array(arr)
    ) and arr.dtype.kind in "fc":
        if not np.all(np.isfinite(arr)):
            raise FloatingPointError(f"detect_anomaly: {what} produced NaN or inf")


def _forward_failed(op: Op, datas, kw) -> None:
    """Called when ``op``'s forward raised: if its operands are on different devices, raise
    the clear error naming them (the caller re-raises the original error otherwise)."""
    devices = _backend.devices_in([list(datas), list(kw.values())])
    if len(devices) > 1:
        raise _backend.mismatch_error(f"the operation '{op.name}'", devices)


_new_object = object.__new__


def apply(op: Op, *args, **kw):
    """Run ``op`` on ``args`` (Tensors or constants) and record it when a gradient is needed."""
    needs = False
    datas = []
    for a in args:
        if isinstance(a, Tensor):
            datas.append(a.data)
            if a.requires_grad:
                needs = True
        else:
            datas.append(a)
    out = _new_object(Tensor)
    try:
        out.data = op.forward(*datas, **kw)
    except Exception:
        _forward_failed(op, datas, kw)
        raise
    return _finish(out, op, args, datas, kw, needs and STATE.grad_enabled and op.vjp is not None)


_NO_KW: dict = {}


def _finish(out: Tensor, op: Op, args: tuple, datas, kw: dict, record: bool) -> Tensor:
    """Fill in a new result of ``op``: recorded in the graph when ``record``, else a constant."""
    out.grad = None
    out.name = None
    out._version = 0
    if record:
        out.requires_grad = True
        out._op = op
        out._args = args
        out._datas = datas
        out._kw = kw
        out._seq = next(_creation)
    else:
        out.requires_grad = False
        out._op = None
        out._args = None
        out._datas = None
        out._kw = None
        out._seq = 0
    if STATE.detect_anomaly:
        _check_finite(out.data, f"the forward of '{op.name}'")
    return out


def apply_unary(op: Op, a: Tensor) -> Tensor:
    """`apply()` for an op of one Tensor and no keywords (the fast path of methods)."""
    if not a.requires_grad:
        return apply(op, a)
    data = a.data
    out = _new_object(Tensor)
    out.data = op.forward(data)
    return _finish(out, op, (a,), (data,), _NO_KW, STATE.grad_enabled)


def apply_binary(op: Op, a, b) -> Tensor:
    """`apply()` for an op of two operands, at least one a Tensor, and no keywords (the
    fast path of operators)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            datas = (a.data, b.data)
            needs = a.requires_grad or b.requires_grad
        else:
            datas = (a.data, b)
            needs = a.requires_grad
    else:
        datas = (a, b.data)
        needs = b.requires_grad
    if not needs:
        return apply(op, a, b)
    out = _new_object(Tensor)
    try:
        out.data = op.forward(*datas)
    except Exception:
        _forward_failed(op, datas, _NO_KW)
        raise
    return _finish(out, op, (a, b), datas, _NO_KW, STATE.grad_enabled)


def apply_or_array(op: Op, *args, **kw):
    """Like `apply()` when any argument is a Tensor; on plain arrays, just the forward."""
    for a in args:
        if isinstance(a, Tensor):
            return apply(op, *args, **kw)
    return op.forward(*args, **kw)


def unbroadcast(g, shape: tuple):
    """Sum a gradient ``g`` back to ``shape``: undo NumPy broadcasting (arrays or Tensors)."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        if g.size != int(np.prod(shape)):
            raise ValueError(f"a gradient of shape {gshape} does not fit an input of {shape}")
        return g.reshape(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _freed(node) -> RuntimeError:
    return RuntimeError(
        f"the graph behind '{node._op.name}' was already freed by an earlier backward(); "
        "pass retain_graph=True to the first backward to run it twice"
    )


def next_version() -> int:
    """A version stamp for a Tensor changed in place now: later than every recorded op."""
    return next(_creation)


def _modified(node, changed, i=None) -> RuntimeError:
    """The error for a Tensor changed in place after ``node``'s op recorded it."""
    name = node._op.name
    what = "its result" if i is None else f"its argument {i}"
    shape = "x".join(map(str, changed.shape)) or "scalar"
    label = f" '{changed.name}'" if changed.name else ""
    return RuntimeError(
        f"one of the Tensors needed to compute the gradient of '{name}' was changed in place: "
        f"{what}, a Tensor{label} of shape {shape} ({changed.dtype}), was modified after "
        f"'{name}' used it (by t[...] = v, an in-place method such as add_ or zero_, or an "
        "optimizer step), so the gradient would be computed with the wrong values: change "
        "a copy instead (t = t.clone(), or t * 1), or make the change after backward()"
    )


def _any_nan(grads) -> bool:
    """Whether some gradient has a NaN entry, with one read per device: the sum of the
    gradients' sums of squares is NaN exactly when some entry is (an infinite entry, or an
    overflow, makes it inf)."""
    totals = {}
    for g in grads:
        d = g.data if isinstance(g, Tensor) else g
        if d.dtype.kind not in "fc":
            continue
        v = d.reshape(-1)
        square = _backend.matmul(v, v)
        kind = type(d)
        totals[kind] = square if kind not in totals else totals[kind] + square
    return any(bool(t != t) for t in totals.values())


def _backward_pass(root, seed, wanted, create_graph, visited):
    """One sweep from ``root``; returns ``id -> (tensor, gradient)`` for the requested ones.

    Recorded nodes wait in a heap keyed by creation number and are taken latest first: an
    input is always created before the op that uses it, so when a node is taken every node
    that used it has already passed its gradient on (a topological order, found on the way).
    Each node taken is appended to ``visited``.
    """
    grads = {id(root): seed}
    heap = [(-root._seq, root)]
    leaves = {}
    found = {}
    anomaly = STATE.detect_anomaly
    pop, get, taken = grads.pop, grads.get, visited.append
    while heap:
        node = heappop(heap)[1]
        nid = id(node)
        g = pop(nid)
        taken(node)
        if wanted is not None and nid in wanted:
            found[nid] = (node, g)
        args = node._args
        if args is None:
            raise _freed(node)
        kw = node._kw
        vjp = node._op.vjp
        seq = node._seq
        if node._version > seq:
            raise _modified(node, node)
        if create_graph:
            vjp_args, out = args, node
        else:
            vjp_args, out = node._datas, node.data
        for i, a in enumerate(args):
            if not isinstance(a, Tensor):
                continue
            if a._version > seq:  # changed in place after this op used it
                raise _modified(node, a, i)
            if not a.requires_grad:
                continue
            gi = vjp(i, g, out, *vjp_args, **kw) if kw else vjp(i, g, out, *vjp_args)
            if gi is None:
                continue
            data = a.data
            if gi.shape != data.shape:
                gi = unbroadcast(gi, data.shape)
            dtype = gi.dtype
            if dtype is not data.dtype and dtype != data.dtype:
                gi = gi.astype(data.dtype)
            if anomaly:
                _check_finite(gi, f"the backward of '{node._op.name}'")
            key = id(a)
            prev = get(key)
            if prev is not None:
                grads[key] = prev + gi
            elif a._op is None:
                grads[key] = gi
                leaves[key] = a
            else:
                grads[key] = gi
                heappush(heap, (-a._seq, a))
    for key, t in leaves.items():
        if wanted is None or key in wanted:
            found[key] = (t, grads[key])
    return found


def backprop(root: Tensor, seed, *, targets=None, create_graph=False, retain_graph=False):
    """Propagate ``seed`` (the gradient of ``root``) back through the graph.

    Returns a dict ``id(tensor) -> (tensor, gradient)`` for ``targets`` (any tensors in the
    graph), or for every leaf that requires grad when ``targets`` is None.
    """
    wanted = None if targets is None else {id(t) for t in targets}
    if root._op is None:  # a leaf: its gradient is the seed
        if wanted is None or id(root) in wanted:
            return {id(root): (root, seed)}
        return {}
    if root._args is None:
        raise _freed(root)
    visited = []
    prev_enabled, prev_careful, prev_guarded = STATE.grad_enabled, STATE.careful, STATE.guarded
    STATE.grad_enabled = create_graph
    try:
        with np.errstate(all="ignore"):
            STATE.careful = prev_careful or STATE.detect_anomaly
            STATE.guarded = False
            found = _backward_pass(root, seed, wanted, create_graph, visited)
            if STATE.guarded and not STATE.careful and _any_nan(
                [g for _, g in found.values()]
            ):
                # Perhaps 0 * inf from a branch that where() did not select: run again, with
                # every elementwise vjp keeping zero upstream gradients exactly zero.
                STATE.careful = True
                found = _backward_pass(root, seed, wanted, create_graph, [])
    finally:
        STATE.grad_enabled, STATE.careful = prev_enabled, prev_careful
        STATE.guarded = prev_guarded
    if not (retain_graph or create_graph):  # a graph made by create_graph refers to this one
        for node in visited:
            node._args = None
            node._datas = None
            node._kw = None
    return found


def _fresh_array(g, taken: set, seed) -> np.ndarray:
    """``g`` as an array the caller may own: copied if it is a view, the seed, read-only or
    already handed out (a device array stays on its device)."""
    if type(g) is not np.ndarray:
        if not _backend.is_device_array(g):
            g = np.array(g)
        elif g is seed or g.base is not None or id(g) in taken:
            g = g.copy()
    elif g is seed or g.base is not None or id(g) in taken or not g.flags.writeable:
        g = g.copy()
    taken.add(id(g))
    return g


class Tensor:
    """An array that records the operations applied to it, for reverse-mode differentiation.

    Make one with [`plainnet.tensor()`][plainnet.tensor]. Arithmetic operators, ``@``, indexing and
    the methods below build new Tensors; `backward()` fills ``.grad`` on the leaves.

    Attributes
    ----------
    data : numpy.ndarray or cupy.ndarray
        The values (a NumPy scalar for some 0-d results, as NumPy itself returns); a CuPy
        array on a GPU (see `device`).
    grad : numpy.ndarray or None
        The gradient accumulated by `backward()`, shaped and typed like ``data``.
    requires_grad : bool
    name : str or None
        A label for `to_dot()` and error messages.
    """

    __slots__ = (
        "data", "grad", "requires_grad", "_op", "_args", "_datas", "_kw", "_seq", "name",
        "_version", "__weakref__",
    )
    # NumPy ufuncs (np.sin(t), array * t) go to plainnet's op or raise a TypeError saying what
    # to call: plainnet.autodiff.interop replaces this (None: NumPy defers to the operators)
    __array_ufunc__ = None
    __array_priority__ = 1000
    _plainnet_tensor = True

    def __init__(
        self, data, requires_grad: bool = False, dtype=None, name: str | None = None,
        device: str | None = None,
    ):
        if isinstance(data, Tensor):
            data = data.data
        if type(data) is np.ndarray or not _backend.is_device_array(data):
            arr = np.asarray(data, dtype=dtype)
        else:  # an array of another device stays there
            arr = data if dtype is None or data.dtype == dtype else data.astype(dtype)
        if device is not None:
            arr = _backend.to_device(arr, device)
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"a Tensor holds numbers; got data of dtype {arr.dtype} ({type(data).__name__})"
            )
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require grad; got dtype {arr.dtype}. "
                "Pass dtype=float or use float data"
            )
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._op = None
        self._args = None
        self._datas = None
        self._kw = None
        self._seq = 0
        self._version = 0
        self.name = name

    def __setstate__(self, state) -> None:
        """Unpickling (also in another process: joblib, Dask workers): the slots as saved, but
        the in-place version stamp reset. Stamps count this process's ops, so one from another
        process would make every op here look older than the Tensor's last change."""
        instance, slots = state if isinstance(state, tuple) else (state, None)
        for mapping in (instance, slots):
            for key, value in (mapping or {}).items():
                object.__setattr__(self, key, value)
        self._version = 0

    # -- basic properties ---------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def device(self) -> str:
        """Where the data lives: ``"cpu"`` (NumPy) or ``"cuda:N"`` (CuPy on GPU ``N``)."""
        data = self.data
        return "cpu" if type(data) is np.ndarray else _backend.device_of(data)

    def to(self, device: str) -> Tensor:
        """This tensor on ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...).

        Returns ``self`` when it is already there, else a copy (through host memory) that
        stays in the graph: gradients flow back to this tensor's device.
        """
        target = _backend.canonical_device(device)
        if self.device == target:
            return self
        return apply(TO_DEVICE, self, device=target)

    def cpu(self) -> Tensor:
        """This tensor in host memory: ``self.to("cpu")``."""
        return self.to("cpu")

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (no copy; shares memory with the tensor).

        A tensor on a GPU has no NumPy view: ``t.to("cpu").numpy()`` copies it to the host.
        """
        data = self.data
        if type(data) is not np.ndarray and _backend.is_device_array(data):
            raise TypeError(self._on_device_message("numpy()"))
        return np.asarray(data)

    def _on_device_message(self, what: str) -> str:
        return (
            f"{what} needs the data in host memory, but this tensor is on {self.device!r}: "
            "call .to('cpu') (or .cpu()) first, which copies it to the host"
        )

    def item(self) -> float:
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        data = self.data
        if type(data) is not np.ndarray and _backend.is_device_array(data):
            raise TypeError(self._on_device_message("conversion to a NumPy array"))
        data = np.asarray(data)
        return data if dtype is None else data.astype(dtype)

    def __len__(self) -> int:
        return len(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(_backend.to_numpy(self.data), separator=", ", prefix="tensor(")
        extra = ""
        if self.device != "cpu":
            extra += f", device={self.device!r}"
        if self.data.dtype != np.float64 and self.data.dtype.kind == "f":
            extra += f", dtype={self.data.dtype}"
        if self._op is not None:
            extra += f", grad_fn={self._op.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- gradient bookkeeping -------------------------------------------------------------
    def detach(self) -> Tensor:
        """A Tensor sharing this one's data, cut from the graph (requires no grad)."""
        return Tensor(self.data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad; got {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (sets ``.grad`` to None)."""
        self.grad = None

    def backward(self, grad=None, retain_graph: bool = False, create_graph: bool = False):
        """Backpropagate from this tensor, adding d(self)/d(leaf) into each leaf's ``.grad``.

        Parameters
        ----------
        grad : array_like, optional
            The gradient of some scalar with respect to this tensor (the *seed*). Needed
            when this tensor is not a scalar.
        retain_graph : bool
            Keep the graph so that backward can run through it again.
        create_graph : bool
            Record the backward pass itself, so the gradients are differentiable Tensors.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "this tensor does not require grad and has no graph: create its leaves with "
                "requires_grad=True (and not inside no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() on a tensor of shape {self.shape} needs a seed gradient; "
                    "reduce it to a scalar first, e.g. t.sum().backward()"
                )
            data = self.data
            if type(data) is np.ndarray or not _backend.is_device_array(data):
                seed = np.ones(data.shape, data.dtype)
            else:
                seed = _backend.array_module(data).ones(data.shape, data.dtype)
        else:
            if isinstance(grad, Tensor):
                seed = grad.data
            elif _backend.is_device_array(grad):
                seed = grad
            else:
                seed = np.asarray(grad, self.dtype)
            seed = _backend.match_device(seed, self.data, "backward(grad)",
                                         strict=isinstance(grad, Tensor))
            if seed.shape != self.shape:
                raise ValueError(
                    f"the seed gradient must have this tensor's shape {self.shape}; "
                    f"got {seed.shape}"
                )
            if seed.dtype != self.dtype:
                seed = seed.astype(self.dtype)
        if create_graph:
            seed = grad if isinstance(grad, Tensor) else Tensor(seed)
        leaves = backprop(self, seed, create_graph=create_graph, retain_graph=retain_graph)
        taken = set()
        for node, g in leaves.values():
            if create_graph:
                if not isinstance(g, Tensor):
                    g = Tensor(g)
            else:
                g = _fresh_array(g, taken, seed)
            node.grad = g if node.grad is None else node.grad + g

    # -- operators and methods are attached in plainnet.autodiff.methods -------------------


def leaf(data: np.ndarray, requires_grad: bool = True) -> Tensor:
    """A leaf Tensor around a float ndarray, without `Tensor`'s checks (internal)."""
    t = _new_object(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t._op = None
    t._args = None
    t._datas = None
    t._kw = None
    t._seq = 0
    t._version = 0
    t.name = None
    return t


def tensor(data, requires_grad: bool = False, dtype=None, device: str | None = None) -> Tensor:
    """Make a `Tensor` from a number, list, NumPy or CuPy array, or Tensor.

    Parameters
    ----------
    data : array_like
    requires_grad : bool, default False
        Record operations on this tensor so that `Tensor.backward()` fills its ``.grad``.
        Only floating-point tensors can require grad.
    dtype : numpy dtype, optional
        Python floats become float64 and ints int64 unless a dtype is given.
    device : str, optional
        Where the data lives: ``"cpu"`` (NumPy), ``"cuda"`` or ``"cuda:N"`` (CuPy; see
        [`plainnet.backend`][plainnet.backend]). By default, where ``data`` is (host data: the CPU).

    Examples
    --------
    >>> import plainnet as pn
    >>> x = pn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def _to_device_vjp(i, g, out, a, device):
    source = _backend.device_of(a)
    if isinstance(g, Tensor):
        return apply(TO_DEVICE, g, device=source)
    return _backend.to_device(g, source)


TO_DEVICE = Op("to_device", lambda a, device: _backend.to_device(a, device), _to_device_vjp)
"""A copy to another device; its vjp copies the gradient back to the input's device."""
