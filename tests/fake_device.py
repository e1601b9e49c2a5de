"""A fake device for testing the GPU paths on a machine without a GPU.

The fake device ("fake") holds its data in NumPy, but its arrays are as strict as CuPy's: they
refuse implicit conversion to NumPy (``np.asarray`` raises), refuse NumPy arrays as operands of
ufuncs and array functions (``TypeError``, as CuPy), return 0-d arrays from reductions, do not
support ``np.add.at`` and live on their own device. So every path that would break on a GPU
(a NumPy call that does not dispatch, an implicit transfer) breaks here too. A second fake
device ("fake2") stands for a second GPU.

It also counts what a GPU would be asked to do (:class:`Counts`): kernel launches, and the
reads of values by the host, each of which makes the host wait for the device. And it runs the
library's fused kernels (:class:`plainnet.backend.ElementwiseKernel`): their C statements are
interpreted with NumPy in the same order of operations (:class:`FakeKernel`), so their
arithmetic is tested against the NumPy forms on any machine. Kernels are called by CuPy's
rules (:func:`check_call`), and each call can be recorded (``Counts.calls``) to be run again
through the code CuPy writes for it.

The fake devices record graphs as CUDA stream capture does (:class:`Capture`): while
recording, each operation is kept as a step to run again when the graph is launched, on the
same arrays; reading a value on the host or uploading host data is refused, as on a capturing
stream; and since a GPU does not run recorded work, arrays written while recording get their
values back when it ends, and arrays made while recording hold garbage until a launch.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from plainnet import backend
from plainnet.kernels import MultiTensorKernel


class Counts:
    """What the fake devices were asked to do: ``launches`` (ufunc, array-function and method
    calls: one kernel launch each on a GPU) and ``syncs`` (reads of a value by the host, each
    of which makes the host wait for the device)."""

    launches = 0
    syncs = 0
    log: list | None = None  # set to a list to record the names of the launches
    calls: list | None = None  # set to a list to record each fused kernel's call, as
    # (kernel, values before, values after): host copies of the arrays, by name

    @classmethod
    def reset(cls):
        cls.launches = cls.syncs = 0

    @classmethod
    def record(cls, kernel, values, run):
        """``run()``, the launch of ``kernel`` on ``values``, recorded where ``calls`` is a
        list."""
        if cls.calls is None:
            run()
            return
        before = _host_copies(values)
        run()
        cls.calls.append((kernel, before, _host_copies(values)))

    @classmethod
    def launch(cls, name):
        cls.launches += 1
        if cls.log is not None:
            cls.log.append(name)


def _host_copies(values: dict) -> dict:
    return {name: v.a.copy() if isinstance(v, DeviceArray) else v for name, v in values.items()}


class FakeCaptureError(RuntimeError):
    """What the fake device raises where CUDA refuses an operation on a capturing stream
    (``cudaErrorStreamCaptureUnsupported``): a read by the host, an upload of host data."""


def _sync():
    """The host reads a value: it waits for the device (refused while recording a graph)."""
    if _CAPTURES.stack:
        raise FakeCaptureError("operation not permitted when stream is capturing (the host "
                               "read a value)")
    Counts.syncs += 1


#: Functions and methods CuPy computes with cuBLAS, which CuPy refuses on a capturing stream.
_BLAS = frozenset({"matmul", "dot", "vdot", "inner", "tensordot", "einsum"})


def _refuse_blas(name):
    """Refuse a cuBLAS call while recording, as CuPy does (``cublas.setStream``)."""
    if _CAPTURES.stack and name in _BLAS:
        raise NotImplementedError(f"{name}: calling cuBLAS API during stream capture is "
                                  "currently unsupported (as CuPy says)")


def _upload():
    """Host data goes to the device (refused while recording a graph)."""
    if _CAPTURES.stack:
        raise FakeCaptureError("operation not permitted when stream is capturing (an upload "
                               "of host data)")


def _host_read(convert):
    """A method giving the array's value as ``convert`` makes it (``float``, ``int``,
    ``bool``): a read by the host, which waits for the device."""

    def read(self):
        _sync()
        return convert(self.a)

    return read


def _base(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _buffers(x) -> list:
    """The NumPy arrays inside ``x`` (device arrays, arrays, nested lists, tuples, dicts)."""
    if isinstance(x, DeviceArray):
        return [x.a]
    if isinstance(x, np.ndarray):
        return [x]
    if isinstance(x, (list, tuple)):
        return [b for v in x for b in _buffers(v)]
    if isinstance(x, dict):
        return [b for v in x.values() for b in _buffers(v)]
    return []


class Capture:
    """Graph capture on the fake devices, as CUDA's stream capture.

    Each operation still runs while recording (the results' shapes and dtypes are needed) and
    is kept as a step (:meth:`record`) that runs it again on the same arrays: a new array
    made by the operation gets the new values in place. As on a GPU, where nothing recorded
    runs until a launch, :meth:`end` puts back the values of the arrays that existed before
    and were written, and fills the arrays made while recording with garbage (NaN, or every
    bit set for integers)."""

    def __init__(self):
        self.steps: list = []
        self.saved: dict = {}  # id -> (array that existed before, its values)
        self.made: dict = {}  # id -> array made while recording

    def record(self, compute, wrap, inputs=(), written=()):
        """``wrap(compute())``, kept as a step: ``compute`` gives the raw result (and makes
        the writes into ``written``, the NumPy arrays it changes in place)."""
        for a in written:
            base = _base(a)
            if id(base) not in self.made and id(base) not in self.saved:
                self.saved[id(base)] = (base, base.copy())
        result = wrap(compute())
        read = {id(_base(b)) for b in _buffers(inputs)} | {id(_base(b)) for b in written}
        fresh = [(k, a) for k, a in enumerate(_buffers(result)) if id(_base(a)) not in read]
        for _, a in fresh:
            self.made[id(_base(a))] = _base(a)

        def step():
            values = _buffers(wrap(compute()))
            for k, a in fresh:
                a[...] = values[k]

        self.steps.append(step)
        return result

    def end(self) -> FakeGraph:
        for base, values in self.saved.values():
            base[...] = values
        for base in self.made.values():
            if base.flags.writeable:  # every bit set
                base[...] = np.nan if base.dtype.kind in "fc" else ~np.zeros((), base.dtype)
        return FakeGraph(self.steps, self.made)


class FakeGraph:
    """A graph recorded on a fake device: :meth:`launch` runs its steps, one launch."""

    def __init__(self, steps, made=None):
        self.steps = steps
        self.made = made or {}  # the arrays made while recording (the graph's memory on CUDA)
        self.launches = 0

    def owns(self, array) -> bool:
        """Whether ``array`` lies in memory made while recording."""
        return id(_base(array.a)) in self.made

    def launch(self):
        Counts.launch("graph")
        self.launches += 1
        for step in self.steps:
            step()


class _Captures(threading.local):
    """The captures under way in this thread (CUDA captures a stream; another thread's work
    goes on, in the relaxed mode that CuPy uses)."""

    def __init__(self):
        self.stack: list[Capture] = []


_CAPTURES = _Captures()


def _compute(compute, wrap, inputs=(), written=()):
    """``wrap(compute())``; recorded as a step of the graph being captured, if any."""
    if _CAPTURES.stack:
        return _CAPTURES.stack[-1].record(compute, wrap, inputs, written)
    return wrap(compute())


def _identity(x):
    return x


#: Methods of an array that read its values into host memory.
_HOST_READS = frozenset({"item", "tolist", "get"})
#: Methods that change the array itself.
_IN_PLACE = frozenset({"fill", "sort", "put", "partition", "resize"})
#: Methods and functions that make a view (no kernel launch) of a contiguous array.
_VIEWS = frozenset({"reshape", "ravel", "view", "transpose", "swapaxes", "squeeze",
                    "expand_dims", "broadcast_to", "moveaxis"})
#: Functions of the array module that launch nothing (a view, an allocation, an upload).
_NO_LAUNCH = _VIEWS | {"empty", "empty_like", "asarray"}
#: Functions that join arrays. CuPy copies each array with a kernel of its own when there are
#: at most 8 of them; for more, it uploads a table of their addresses and launches one kernel
#: (``cupy/_core/_routines_manipulation.pyx``, ``_concatenate``).
_JOINS = frozenset({"concatenate", "stack", "hstack", "vstack"})


def _count_call(name, args):
    """Count the launches of the array function ``name`` called with ``args``."""
    if name in _NO_LAUNCH:
        return
    if name in _JOINS and len(args[0]) <= 8:
        for _ in args[0]:
            Counts.launch(name)
    elif name in _JOINS:
        Counts.launch("upload")
        Counts.launch(name)
    else:
        Counts.launch(name)


class DeviceArray(np.lib.mixins.NDArrayOperatorsMixin):
    """An array on a fake device (NumPy inside, CuPy's manners outside)."""

    __slots__ = ("a",)
    device = ""

    def __init__(self, a):
        self.a = np.asarray(a) if isinstance(a, np.generic) else a

    # -- strictness, as CuPy --------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"implicit conversion of a {self.device} array to NumPy is not allowed")

    @classmethod
    def _operand(cls, x):
        if type(x) is cls:
            return x.a
        if isinstance(x, DeviceArray):
            raise TypeError(f"arrays on two devices: {cls.device} and {x.device}")
        if isinstance(x, np.ndarray):
            raise TypeError(f"Unsupported type {type(x)} (a host array on {cls.device})")
        if isinstance(x, (list, tuple)):
            return type(x)(cls._operand(v) for v in x)
        return x

    @classmethod
    def _wrap(cls, x):
        if isinstance(x, (np.ndarray, np.generic)):
            return cls(x)
        if isinstance(x, tuple):
            return tuple(cls._wrap(v) for v in x)
        if isinstance(x, list):
            return [cls._wrap(v) for v in x]
        return x

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":  # CuPy: no ufunc.at / reduce through NumPy
            return NotImplemented
        if any(getattr(type(x), "_plainnet_tensor", False) for x in inputs):
            return NotImplemented  # CuPy defers to the Tensor (its __array_priority__ is higher)
        _refuse_blas(ufunc.__name__)
        Counts.launch(ufunc.__name__)
        cls = type(self)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(cls._operand(o) for o in out)

        def compute():
            return ufunc(*(cls._operand(x) for x in inputs), **kwargs)

        if out is not None:
            _compute(compute, _identity, inputs, kwargs["out"])
            return out[0] if len(out) == 1 else out
        return _compute(compute, cls._wrap, inputs)

    def __array_function__(self, func, types, args, kwargs):
        _refuse_blas(func.__name__)
        _count_call(func.__name__, args)
        cls = type(self)

        def compute():
            return func(*cls._operand(args), **{k: cls._operand(v) for k, v in kwargs.items()})

        return _compute(compute, cls._wrap, (args, kwargs), _buffers(kwargs.get("out")))

    # -- indexing (like CuPy, NumPy index arrays are accepted; values must be on device) ----
    @classmethod
    def _index(cls, index):
        if isinstance(index, tuple):
            return tuple(cls._index(k) for k in index)
        if type(index) is cls:
            return index.a
        if isinstance(index, DeviceArray):
            raise TypeError("an index array on another device")
        return index

    def __getitem__(self, index):
        parts = index if isinstance(index, tuple) else (index,)
        if any(isinstance(k, (DeviceArray, np.ndarray, list)) for k in parts):
            Counts.launch("gather")  # basic indexing makes a view, no launch
        cls = type(self)
        return _compute(lambda: self.a[cls._index(index)], cls._wrap, (self, parts))

    def __setitem__(self, index, value):
        Counts.launch("setitem")
        cls = type(self)

        def compute():
            self.a[cls._index(index)] = cls._operand(value)

        _compute(compute, _identity, (index, value), [self.a])

    # -- the rest of the ndarray interface ---------------------------------------------------
    def __getattr__(self, name):
        if name.startswith("__"):  # e.g. __array_interface__: NumPy would read the data
            raise AttributeError(name)
        attr = getattr(self.a, name)
        cls = type(self)
        if callable(attr):
            def method(*args, **kwargs):
                _refuse_blas(name)
                if name in _HOST_READS:
                    _sync()
                    return cls._wrap(attr(*cls._operand(args), **kwargs))
                if name not in _VIEWS and not (
                    name == "astype" and np.dtype(args[0]) == self.a.dtype
                    and kwargs.get("copy") is False
                ):
                    Counts.launch(name)

                def compute():
                    return attr(*cls._operand(args),
                                **{k: cls._operand(v) for k, v in kwargs.items()})

                written = [self.a] if name in _IN_PLACE else _buffers(kwargs.get("out"))
                return _compute(compute, cls._wrap, (self, args, kwargs), written)

            return method
        return cls._wrap(attr) if isinstance(attr, np.ndarray) else attr

    def __len__(self):
        return len(self.a)

    def __iter__(self):
        return (type(self)._wrap(v) for v in self.a)

    __float__ = _host_read(float)
    __int__ = __index__ = _host_read(int)
    __bool__ = _host_read(bool)

    def __repr__(self):
        return f"{type(self).__name__}({self.a!r})"


class FakeArray(DeviceArray):
    __slots__ = ()
    device = "fake"


class Fake2Array(DeviceArray):
    __slots__ = ()
    device = "fake2"


class PlainArray(DeviceArray):
    __slots__ = ()
    device = "plain"


class NoMultiArray(DeviceArray):
    __slots__ = ()
    device = "no_multi"


class FakeModule:
    """The fake device's array module: NumPy's functions, returning fake arrays (host NumPy
    arrays are accepted as inputs, as ``cupy.asarray`` accepts them)."""

    def __init__(self, array_type):
        self.array_type = array_type
        self.ndarray = array_type

    def __getattr__(self, name):
        func = getattr(np, name)
        cls = self.array_type

        def unwrap(x):
            if isinstance(x, cls):
                return x.a
            if isinstance(x, (list, tuple)):
                return type(x)(unwrap(v) for v in x)
            return x

        def call(*args, **kwargs):
            if name in ("asarray", "array") and args and isinstance(args[0], np.ndarray):
                _upload()
            _refuse_blas(name)
            _count_call(name, args)

            def compute():
                return func(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()})

            return _compute(compute, cls._wrap, (args, kwargs), _buffers(kwargs.get("out")))

        return call


class FakeBackend(backend.Backend):
    """A device kind whose arrays are ``array_type``; counts the transfers. With ``compiles``
    it runs fused kernels (as CUDA does); without, the library computes with array functions
    there. The kernels named in ``fails`` raise :class:`FakeCompileError` at their first call,
    as a kernel that CUDA can't compile does."""

    def __init__(self, name, array_type, compiles=True, fails=()):
        super().__init__()
        self.name = name
        self.array_type = array_type
        self.compiles = compiles
        self.fails = set(fails)  # names of the kernels that fail to compile here
        self.kernels = {}
        self.uploads = 0
        self.downloads = 0

    def _load(self):
        return FakeModule(self.array_type)

    def array_types(self):
        return (self.array_type,)

    def to_host(self, array):
        _sync()
        self.downloads += 1
        return array.a.copy()

    def from_host(self, array, index):
        _upload()
        self.uploads += 1
        return self.array_type(np.array(array, copy=True))

    def add_at(self, target, index, values):
        cls = self.array_type

        def compute():
            np.add.at(target.a, cls._index(index), cls._operand(values))

        _compute(compute, _identity, (index, values), [target.a])

    def recorded_matmul(self, a, b):
        """Allowed while recording: plainnet's own way past CuPy's refusal (cuBLAS called
        directly), one launch."""
        cls = self.array_type
        Counts.launch("matmul")
        return _compute(lambda: np.matmul(cls._operand(a), cls._operand(b)), cls._wrap, (a, b))

    def erf(self, array):
        from scipy.special import erf

        return _compute(lambda: erf(array.a).astype(array.dtype), self.array_type, array)

    captures = True

    def capture(self, index, fn):
        capture = Capture()
        _CAPTURES.stack.append(capture)
        try:
            result = fn()
        finally:  # a capture that failed ran nothing either
            _CAPTURES.stack.pop()
            graph = capture.end()
        return graph, result

    def elementwise(self, kernel):
        if not self.compiles:
            return None
        found = self.kernels.get(kernel)
        if found is None:
            make = FakeMultiKernel if isinstance(kernel, MultiTensorKernel) else FakeKernel
            found = self.kernels[kernel] = make(kernel, self.array_type,
                                                fails=kernel.name in self.fails)
        return found

    def compile_errors(self):
        return (FakeCompileError,)


class MultiArray(DeviceArray):
    __slots__ = ("index",)
    device = "multi"


class MultiBackend(FakeBackend):
    """A kind with two numbered devices, "multi:0" and "multi:1" (as two GPUs)."""

    indexed = True

    def device_count(self):
        return 2

    def index_of(self, array):
        return getattr(array, "index", 0)

    def from_host(self, array, index):
        out = super().from_host(array, index)
        out.index = index
        return out


class FakeMultiKernel:
    """A :class:`~plainnet.kernels.MultiTensorKernel` run on fake arrays: its single kernel
    on each tensor's arrays in turn (what the branches of the compiled body do). One
    launch."""

    def __init__(self, multi, array_type, fails=False):
        self.multi = multi
        self.array_type = array_type
        self.fails = fails
        self.single = FakeKernel(multi.single, array_type)

    def __call__(self, *args):
        m = self.multi
        if len(args) != len(m.arguments):
            raise TypeError(f"{m.name} takes {len(m.arguments)} arguments")
        values = dict(zip(m.arguments, args, strict=True))
        check_call(m, values, self.array_type)
        for k, size in enumerate(m.sizes):
            for name in (*m.arrays, *m.single.outputs):
                a = values[f"{name}_{k}"]
                if type(a) is not self.array_type or a.size != size or not a.flags.c_contiguous:
                    raise TypeError(f"{m.name}: {name}_{k} is not a C-contiguous array of "
                                    f"{size} on this device")
        if self.fails:
            raise FakeCompileError(f"{m.name}: error: the fake compiler refuses this kernel")
        Counts.launch(m.name)

        def run():
            for k in range(len(m.sizes)):
                self.single.run({name: values[ours] for name, ours in m.values_of(k).items()})

        written = [values[f"{name}_{k}"].a for name in m.single.outputs
                   for k in range(len(m.sizes))]
        _compute(lambda: Counts.record(m, values, run), _identity, values, written)


def check_call(kernel, values: dict, array_type) -> None:
    """Refuse a call of ``kernel`` that CuPy's ``ElementwiseKernel`` refuses
    (``cupy/_core/_kernel.pyx``, ``ElementwiseKernel.__call__``): every array on this device
    (numbers are Python or NumPy scalars); outputs and raw arrays are arrays; the arrays of
    one type placeholder share one dtype (``Type is mismatched``), and a placeholder that
    only numbers use has none (CuPy can't type them); a loop ``size`` only where every array
    is raw (else the loop runs over the non-raw arrays, inputs and outputs, broadcast
    together: each output has that shape)."""
    placeholder = {n: "I" for n in kernel.integers}
    arrays_of = {"T": set(), "I": set()}
    for name in kernel.arguments:
        value = values[name]
        if type(value) is array_type:
            arrays_of[placeholder.get(name, "T")].add(value.dtype)
        elif name in (*kernel.outputs, *kernel.raws, *kernel.raw_outputs):
            raise TypeError(f"{kernel.name}: {name} is not an array on this device")
        elif isinstance(value, np.ndarray):
            raise TypeError(f"{kernel.name}: {name} is a host array (Unsupported type)")
        elif isinstance(value, DeviceArray):
            raise TypeError(f"{kernel.name}: {name} is an array on another device")
        elif not isinstance(value, (bool, int, float, np.number)):
            raise TypeError(f"{kernel.name}: {name} is a {type(value).__name__} "
                            "(Unsupported type)")
    for letter, dtypes in arrays_of.items():
        if len(dtypes) > 1:
            raise TypeError(f"{kernel.name}: Type is mismatched: {letter} is each of "
                            f"{sorted(map(str, dtypes))}")
    uses = {placeholder.get(name, "T") for name in kernel.arguments}
    if any(not arrays_of[letter] for letter in uses):
        raise TypeError(f"{kernel.name}: a type placeholder is given numbers only")
    looped = [values[name] for name in (*kernel.inputs, *kernel.integers, *kernel.outputs)
              if type(values[name]) is array_type]
    if kernel.size is not None and looped:
        raise ValueError(f"{kernel.name}: Specified 'size' can be used only if all of the "
                         "ndarray are 'raw'.")
    shape = np.broadcast_shapes(*(a.shape for a in looped))
    for name in kernel.outputs:
        if values[name].shape != shape:
            raise ValueError(f"{kernel.name}: Out shape is mismatched ({name} has shape "
                             f"{values[name].shape}; the loop runs over {shape})")


_STATEMENT = re.compile(r"^(?:T\s+)?([A-Za-z_]\w*)\s*([-+*/]?=)\s*(.+)$")
_C_FUNCTIONS = {"sqrt": np.sqrt, "exp": np.exp, "log": np.log,
                "max": np.fmax,  # CUDA's max of floats is fmaxf
                "_select": np.where}
_TERNARY = re.compile(r"^([^?:]+)\?([^?:]+):([^?:]+)$")


def _python(expression: str) -> str:
    """A C expression as Python: ``c ? a : b`` (one, outermost) becomes a selection."""
    if "?" not in expression:
        return expression
    match = _TERNARY.match(expression)
    if match is None:
        raise ValueError(f"the fake device can't run the expression {expression!r}")
    return "_select(({}), ({}), ({}))".format(*match.groups())


class FakeCompileError(Exception):
    """What a fake kernel raises at its first call where its backend is told it can't
    compile it (as CuPy's ``CompileException``)."""


class FakeKernel:
    """An :class:`~plainnet.backend.ElementwiseKernel` run on fake arrays: its statements
    are evaluated one after another on whole arrays with NumPy, in the arrays' dtype (each
    position is independent, so this is what the kernel computes at every position). One
    launch."""

    def __init__(self, kernel, array_type, fails=False):
        self.kernel = kernel
        self.array_type = array_type
        self.fails = fails
        self.statements = []
        for text in kernel.body.split(";"):
            text = text.strip()
            if text:
                match = _STATEMENT.match(text)
                if match is None:
                    raise ValueError(f"the fake device can't run the statement {text!r}")
                code = compile(_python(match[3]), kernel.name, "eval")
                self.statements.append((*match.groups(), code))

    def __call__(self, *args):
        k = self.kernel
        if len(args) != len(k.arguments):
            raise TypeError(f"{k.name} takes {len(k.arguments)} arguments")
        values = dict(zip(k.arguments, args, strict=True))
        check_call(k, values, self.array_type)
        if self.fails:
            raise FakeCompileError(f"{k.name}: error: the fake compiler refuses this kernel")
        Counts.launch(k.name)
        written = [values[name].a for name in (*k.outputs, *k.raw_outputs)]
        _compute(lambda: Counts.record(k, values, lambda: self.run(values)), _identity, values,
                 written)

    def run(self, values):
        """The kernel's work on ``values`` (by name), uncounted."""
        k = self.kernel
        out = values[k.outputs[0]].a
        dtype = out.dtype
        env = {**_C_FUNCTIONS, "i": np.arange(out.size).reshape(out.shape)}
        for name in k.inputs + k.integers:
            v = values[name]
            if isinstance(v, DeviceArray):
                env[name] = v.a
            elif name in k.integers:
                env[name] = np.int64(v)
            else:
                env[name] = dtype.type(v)
        for name in k.raws:  # read at positions the body computes: C order
            env[name] = values[name].a.reshape(-1)
        for name in k.outputs:
            env[name] = values[name].a
        with np.errstate(all="ignore"):
            for name, op, _, code in self.statements:
                value = np.asarray(eval(code, {"__builtins__": {}}, env), dtype=dtype)
                if name not in k.outputs:
                    env[name] = value  # a local
                    continue
                out = env[name]
                if op == "=":
                    out[...] = value
                else:
                    {"+=": np.add, "-=": np.subtract, "*=": np.multiply, "/=": np.divide}[op](
                        out, value, out=out)
