"""Fused kernels: a computation of many array operations written once more as C statements,
which a device that compiles kernels (CUDA, through CuPy) runs as one launch.

On a GPU a small network is limited by how fast the host launches kernels, not by the
arithmetic: an Adam update written with array functions is a dozen launches, as one
`ElementwiseKernel` it is one. Whoever defines a kernel keeps beside it the same
computation in array functions, for devices without a compiler (NumPy):

.. code-block:: python

    if not run_fused(AXPY, y, a=a, x=x, y=y):
        y += a * x

Inside `launched_together()` (an optimizer's step), the launches of one kernel for several
parameters wait, and go as one *multi-tensor* launch (`multi_tensor()`), as PyTorch's
``foreach`` optimizers do.

These names are public as ``plainnet.backend.ElementwiseKernel`` and
``plainnet.backend.run_fused``.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from . import backend as _backend

#: The array types the kernels are written for.
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: The most arrays one multi-tensor launch updates (its body holds a branch per array).
MAX_TENSORS = 16
#: Names the compiled code uses itself (CuPy's loop index and size, the type placeholders,
#: the multi-tensor position).
RESERVED = frozenset({"i", "n", "T", "I", "position"})
_POSITION = re.compile(r"\bi\b")


@dataclass(frozen=True)
class ElementwiseKernel:
    """An elementwise computation written once as C statements, which a device that compiles
    kernels (CUDA) runs as one kernel launch instead of one launch per array operation.

    The body runs once per position ``i`` of the outputs (``i`` counts positions in C order).
    ``inputs`` and ``outputs`` are values of the arrays' floating type ``T`` at that position:
    ``inputs`` are read (arrays broadcast to the outputs' shape, or numbers); ``outputs`` are
    arrays updated in place, which the body may also read. ``integers`` are inputs of an
    integer type ``I`` (class labels, sizes), also at the position. ``raws`` are whole arrays
    of ``T``, read at any position the body computes: ``z[i * c + label]`` is row ``i``,
    column ``label`` of a C-contiguous ``z`` with ``c`` columns; ``raw_outputs`` are whole
    arrays written so. A kernel with no ``outputs`` runs over ``size`` positions. The body
    uses C arithmetic, ``sqrt``, ``exp``, ``log`` and ``max``, and declares its locals as
    ``T name = ...;``.

    A call follows CuPy's rules: the arrays of ``T`` share one dtype, as do those of ``I``
    (an integer given as a number needs an integer array beside it to take its type from);
    the non-raw arrays broadcast to the outputs' shape; where ``size`` is given, every array
    is raw (numbers may be anything).
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    body: str
    integers: tuple[str, ...] = ()
    raws: tuple[str, ...] = ()
    raw_outputs: tuple[str, ...] = ()
    size: int | None = None

    def __post_init__(self):
        names = (self.name, *self.arguments)
        if not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise ValueError(
                f"a kernel's name, inputs and outputs must be identifiers; got {names!r}"
            )
        if not (self.outputs or self.raw_outputs):
            raise ValueError(f"kernel {self.name!r} needs at least one output array")
        if self.outputs and self.size is not None:
            raise ValueError(
                f"kernel {self.name!r} runs over its outputs' positions: size is for kernels "
                f"whose arrays are all raw; got size={self.size!r}"
            )
        if not self.outputs and not (isinstance(self.size, int) and self.size > 0):
            raise ValueError(
                f"kernel {self.name!r} has only raw arrays: it needs the number of positions "
                f"(size > 0); got size={self.size!r}"
            )
        if len(set(names[1:])) != len(names) - 1:
            raise ValueError(f"kernel {self.name!r} names a value twice: {names[1:]!r}")
        if RESERVED & set(names[1:]):
            raise ValueError(
                f"kernel {self.name!r}: {sorted(RESERVED)} are reserved names; got {names[1:]!r}"
            )

    @property
    def arguments(self) -> tuple[str, ...]:
        """Every value's name, in the order the compiled kernel takes them."""
        return self.inputs + self.raws + self.integers + self.outputs + self.raw_outputs

    @property
    def plain(self) -> bool:
        """Whether each position's values are all the body uses: no integer or raw values, and
        no position ``i`` (such a kernel can run over several tensors in one launch)."""
        return not (self.integers or self.raws or self.raw_outputs or self.size is not None
                    or _POSITION.search(self.body))

    def declarations(self) -> tuple[str, str]:
        """The inputs' and the outputs' declarations, as CuPy's ``ElementwiseKernel`` takes
        them: ``("T grad, raw T z, I label", "T param")``."""
        ins = [f"T {n}" for n in self.inputs] + [f"raw T {n}" for n in self.raws]
        ins += [f"I {n}" for n in self.integers]
        outs = [f"T {n}" for n in self.outputs] + [f"raw T {n}" for n in self.raw_outputs]
        return ", ".join(ins), ", ".join(outs)


@dataclass(frozen=True)
class MultiTensorKernel(ElementwiseKernel):
    """``single`` run over several arrays of given ``sizes`` in one launch (made by
    `multi_tensor()`): tensor ``k``'s values are named ``<name>_<k>``."""

    single: ElementwiseKernel | None = None
    arrays: tuple[str, ...] = ()
    sizes: tuple[int, ...] = ()

    def values_of(self, k: int) -> dict[str, str]:
        """The single kernel's names -> this kernel's names, for tensor ``k``."""
        single = self.single
        per_tensor = set(self.arrays) | set(single.outputs)
        return {name: f"{name}_{k}" if name in per_tensor else name
                for name in single.arguments}


def multi_tensor(kernel: ElementwiseKernel, arrays: tuple[str, ...],
                 sizes: tuple[int, ...]) -> MultiTensorKernel:
    """``kernel`` applied to ``len(sizes)`` tensors in one launch.

    ``arrays`` names the inputs that are arrays (one per tensor, as the outputs); the other
    inputs are numbers shared by all. Every array is read as a whole (raw), so all must be
    C-contiguous with its tensor's size. The body runs once per position of the tensors laid
    end to end: a chain of branches finds the tensor and the position in it, binds the
    single kernel's names to that tensor's elements and runs the single kernel's body.
    """
    if not kernel.plain:
        raise ValueError(f"kernel {kernel.name!r}: only plain elementwise kernels go multi-tensor")
    if not set(arrays) <= set(kernel.inputs):
        raise ValueError(f"{arrays!r} are not all inputs of kernel {kernel.name!r}")
    if not sizes or any(not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"multi_tensor needs positive sizes; got {sizes!r}")
    count = len(sizes)
    shared = tuple(n for n in kernel.inputs if n not in arrays)
    branches = []
    for k, size in enumerate(sizes):
        if k == 0:
            head = f"if (position < {size}) {{" if count > 1 else "{"
        elif k < count - 1:
            head = f"}} else if ((position -= {sizes[k - 1]}) < {size}) {{"
        else:
            head = f"}} else {{\nposition -= {sizes[k - 1]};"
        binds = [f"const T {n} = {n}_{k}[position];" for n in arrays]
        binds += [f"T& {n} = {n}_{k}[position];" for n in kernel.outputs]
        branches.append("\n".join([head, *binds, *kernel.body.split("\n")]))
    return MultiTensorKernel(
        f"{kernel.name}_x{count}",
        shared,
        (),
        "ptrdiff_t position = i;\n" + "\n".join(branches) + "\n}",
        raws=tuple(f"{n}_{k}" for k in range(count) for n in arrays),
        raw_outputs=tuple(f"{n}_{k}" for k in range(count) for n in kernel.outputs),
        size=sum(sizes),
        single=kernel,
        arrays=tuple(arrays),
        sizes=tuple(sizes),
    )


_MULTI: dict = {}


def _multi_kernel(kernel: ElementwiseKernel, arrays: tuple[str, ...],
                  sizes: tuple[int, ...]) -> MultiTensorKernel:
    """`multi_tensor()`, made once per kernel, arrays and sizes (a model's parameters
    keep their sizes, so a training run makes one)."""
    key = (kernel, arrays, sizes)
    found = _MULTI.get(key)
    if found is None:
        if len(_MULTI) >= 256:
            _MULTI.clear()
        found = _MULTI[key] = multi_tensor(kernel, arrays, sizes)
    return found


#: (device kind, kernel) pairs whose kernel failed to compile: not tried again.
_FAILED: set = set()
#: (device kind, kernel, dtype) of the kernels that ran: their launches may wait.
_RAN: set = set()
_LOCAL = threading.local()


def run_fused(kernel: ElementwiseKernel, like, **values) -> bool:
    """Run ``kernel`` on the device of the array ``like`` in one launch, with ``values`` by
    name (every argument of the kernel); return False, having done nothing, where that device
    has no kernel compiler (NumPy), where ``like`` is not float32/float64 (the kernels are
    written for those), or where the kernel failed to compile there (once, with a
    ``RuntimeWarning``): the caller then computes with array functions.

    Inside `launched_together()` the launch of a plain elementwise kernel that has run
    before may wait until the end of the block (the outputs are not to be read before)."""
    if type(like) is np.ndarray or like.dtype not in KERNEL_DTYPES:
        return False
    backend = _backend._backend_of(like)
    if backend is None or (backend.name, kernel) in _FAILED:
        return False
    compiled = backend.elementwise(kernel)
    if compiled is None:
        return False
    try:
        args = [values[name] for name in kernel.arguments]
    except KeyError:
        missing = [name for name in kernel.arguments if name not in values]
        raise TypeError(f"kernel {kernel.name!r} needs a value for {missing}") from None
    ran = (backend.name, kernel, like.dtype)
    pending = getattr(_LOCAL, "pending", None)
    if pending is not None:
        if pending.conflicts(kernel, args):  # the waiting launches go first
            _launch_all(pending)
        if ran in _RAN and _can_wait(kernel, args, like, backend):
            pending.add(backend, kernel, like, args)
            return True
    if not _launch(backend, kernel, compiled, args):
        return False
    if pending is None:
        _RAN.add(ran)
    else:  # the block's other launches of it go now too: one compile, of the single kernel
        pending.ran.add(ran)
    return True


def _launch(backend, kernel, compiled, args,
            instead: str = "computes it with array functions there instead") -> bool:
    """``compiled(*args)``; False (with one warning, saying what is done ``instead``) where
    the kernel fails to compile."""
    try:
        compiled(*args)  # compiled on its first call (per dtype), before anything is written
    except backend.compile_errors() as err:
        _FAILED.add((backend.name, kernel))
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        warnings.warn(
            f"plainnet's fused kernel {kernel.name!r} failed to compile on {backend.name!r} "
            f"({first_line}); plainnet {instead} (same results, more kernel launches). "
            "Please report this with your CUDA and "
            "CuPy versions.",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


def _can_wait(kernel, args, like, backend) -> bool:
    """Whether the launch can wait for a multi-tensor launch: a plain elementwise kernel whose
    arrays are all C-contiguous, of ``like``'s shape, dtype and device, and not empty."""
    if not kernel.plain or like.size == 0:
        return False
    array_type, shape, dtype = type(like), like.shape, like.dtype
    index = backend.index_of(like)
    for a in args:
        if type(a) is array_type:
            if not (a.shape == shape and a.dtype == dtype and a.flags.c_contiguous
                    and backend.index_of(a) == index):
                return False
        elif not isinstance(a, (int, float, np.number)):
            return False
    return True


class _Pending:
    """The launches waiting in a `launched_together()` block, and the arrays they read and
    write (by identity: they hold them)."""

    def __init__(self):
        self.launches: list = []
        self.read: set[int] = set()
        self.written: set[int] = set()
        self.ran: set = set()  # kernels first run in this block: their launches may wait later

    @staticmethod
    def _split(kernel, args) -> tuple[list, list]:
        n_in = len(kernel.arguments) - len(kernel.outputs) - len(kernel.raw_outputs)
        return args[:n_in], args[n_in:]

    def conflicts(self, kernel, args) -> bool:
        """Whether a launch of ``kernel`` on ``args`` reads what a waiting launch writes, or
        writes what one reads or writes."""
        if not self.launches:
            return False
        ins, outs = self._split(kernel, args)
        return (any(id(a) in self.written for a in ins)
                or any(id(a) in self.written or id(a) in self.read for a in outs))

    def add(self, backend, kernel, like, args):
        self.launches.append((backend, kernel, like, args))
        ins, outs = self._split(kernel, args)
        self.read.update(id(a) for a in ins)
        self.written.update(id(a) for a in outs)


@contextlib.contextmanager
def launched_together():
    """A block whose fused launches (of kernels that have run before) wait until its end, where
    those of the same kernel, device, dtype and numbers go as one multi-tensor launch of up to
    `MAX_TENSORS` arrays. For a step of an optimizer: one launch updates every parameter
    instead of one launch per parameter. A fused launch in the block that reads what a
    waiting launch writes, or writes what one reads, makes those go first; other operations
    in the block must not read or write the arrays of a waiting launch. Nested blocks launch
    at the end of the outermost."""
    if getattr(_LOCAL, "pending", None) is not None:
        yield
        return
    pending = _LOCAL.pending = _Pending()
    try:
        yield
    finally:
        _LOCAL.pending = None
        if pending.launches:
            _launch_all(pending)
        if pending.ran:
            _RAN.update(pending.ran)


def _launch_all(pending: _Pending) -> None:
    """Launch what waits in ``pending``, grouped into multi-tensor launches."""
    groups: dict = {}
    for backend, kernel, like, args in pending.launches:
        n_in = len(kernel.inputs)
        arrays = tuple(name for name, a in zip(kernel.inputs, args[:n_in], strict=True)
                       if type(a) is type(like))
        numbers = tuple((name, a) for name, a in zip(kernel.inputs, args[:n_in], strict=True)
                        if type(a) is not type(like))
        key = (backend.name, backend.index_of(like), kernel, like.dtype, arrays, numbers)
        groups.setdefault(key, (backend, kernel, arrays, numbers, []))[4].append((like, args))
    pending.launches, pending.read, pending.written = [], set(), set()
    for backend, kernel, arrays, numbers, members in groups.values():
        for start in range(0, len(members), MAX_TENSORS):
            chunk = members[start:start + MAX_TENSORS]
            if len(chunk) > 1 and _launch_multi(backend, kernel, arrays, numbers, chunk):
                continue
            compiled = backend.elementwise(kernel)
            for _, args in chunk:
                compiled(*args)


def _launch_multi(backend, kernel, arrays, numbers, chunk) -> bool:
    """One launch of ``kernel`` over the tensors of ``chunk``; False where the multi-tensor
    kernel failed to compile (the caller launches them one by one)."""
    multi = _multi_kernel(kernel, arrays, tuple(like.size for like, _ in chunk))
    if (backend.name, multi) in _FAILED:
        return False
    values = dict(numbers)
    for k, (_, args) in enumerate(chunk):
        named = dict(zip(kernel.arguments, args, strict=True))
        for name in (*arrays, *kernel.outputs):
            values[f"{name}_{k}"] = named[name].reshape(-1)
    compiled = backend.elementwise(multi)
    return _launch(backend, multi, compiled, [values[name] for name in multi.arguments],
                   instead=f"launches {kernel.name!r} once per array instead")
