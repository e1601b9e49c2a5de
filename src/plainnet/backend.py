"""Where arrays live: a small registry of devices, each an array module and a way to and from
the host.

Every [`Tensor`][plainnet.Tensor] computes with the array module of its own data: NumPy for
``"cpu"`` arrays, CuPy for ``"cuda"`` / ``"cuda:N"`` arrays. Operations never move data
between devices; `to_device()` (and ``Tensor.to``, ``Module.to``) is the only way across,
always through the host.

A device *kind* is a `Backend`: its name (``"cpu"``, ``"cuda"``), its array module
(loaded on first use, so ``import plainnet`` never imports CuPy), the array types it owns, and
how arrays go to and come from host memory. ``"cpu"`` and ``"cuda"`` are registered here;
`register_backend()` adds another kind (the tests register a fake device this way, to test
every transfer on a machine without a GPU).

Device names: ``"cpu"``; ``"cuda"`` (the current GPU) and ``"cuda:N"`` (GPU ``N``). Functions
that report a device give the full name, e.g. ``"cuda:0"``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from types import ModuleType

import numpy as np

__all__ = [
    "Backend",
    "DeviceMismatchError",
    "DeviceUnavailableError",
    "ElementwiseKernel",
    "GraphCaptureError",
    "array_module",
    "canonical_device",
    "capture",
    "device_context",
    "device_count",
    "device_of",
    "get_backend",
    "graph_stream",
    "is_available",
    "is_device_array",
    "matmul",
    "register_backend",
    "run_fused",
    "synchronize",
    "to_device",
    "to_numpy",
    "unregister_backend",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)


INSTALL_HINT = (
    'pip install "plainnet[cuda12]" (CUDA 12.x) or pip install "plainnet[cuda13]" (CUDA 13.x), '
    "whichever matches your NVIDIA driver (nvidia-smi shows its CUDA version)"
)


class DeviceUnavailableError(ValueError, RuntimeError):
    """A device was named that this machine cannot use: CuPy is missing, no GPU is visible,
    or the GPU index does not exist. The message says how to fix it."""


class DeviceMismatchError(ValueError):
    """One operation was given arrays on two devices; plainnet never moves data implicitly."""


class GraphCaptureError(RuntimeError):
    """Work could not be recorded as a device graph (`capture()`): the device kind does
    not record graphs, or the work moved data between the host and the device."""


class Backend:
    """One kind of device: its array module and how its arrays move to and from the host.

    Subclasses set `name` (and `indexed` when devices are numbered, as
    ``"cuda:0"``) and implement `_load()`, `to_host()` and `from_host()`; the other
    methods have defaults that suit a device kind with a single device.
    """

    name: str = ""
    indexed: bool = False
    """Whether devices of this kind are numbered (``"cuda:1"``) or there is one (``"cpu"``)."""

    def __init__(self):
        self._module: ModuleType | None = None

    # -- loading -------------------------------------------------------------------------
    def _load(self):
        """Import and check the array module; raise `DeviceUnavailableError` if it
        cannot be used here."""
        raise NotImplementedError

    def module(self):
        """The array module (e.g. ``numpy`` or ``cupy``), loaded on first use."""
        if self._module is None:
            self._module = self._load()
            _TYPES.clear()  # types that were unknown may be this backend's arrays now
        return self._module

    @property
    def loaded(self) -> bool:
        return self._module is not None

    def array_types(self) -> tuple[type, ...]:
        """The array types this backend owns (empty until loaded)."""
        return ()

    # -- devices -------------------------------------------------------------------------
    def device_count(self) -> int:
        return 1

    def current_index(self) -> int:
        """The device that ``name`` alone (without ``:N``) means."""
        return 0

    def index_of(self, array) -> int:
        """The device number ``array`` lives on."""
        return 0

    def device_name(self, index: int) -> str:
        return f"{self.name}:{index}" if self.indexed else self.name

    def device_context(self, index: int):
        """A context manager in which new arrays and kernels go to device ``index``."""
        return contextlib.nullcontext()

    def synchronize(self, index: int) -> None:
        """Wait until the device has finished all queued work (for timing)."""

    # -- transfers -----------------------------------------------------------------------
    def to_host(self, array) -> np.ndarray:
        """A NumPy copy of ``array`` in host memory."""
        raise NotImplementedError

    def from_host(self, array: np.ndarray, index: int):
        """A copy of the host array ``array`` on device ``index``."""
        raise NotImplementedError

    def move(self, array, index: int):
        """``array`` (of this kind, on another device number) copied to device ``index``."""
        return self.from_host(self.to_host(array), index)

    # -- the few operations NumPy's dispatch does not reach -------------------------------
    def add_at(self, target, index, values) -> None:
        """``target[index] += values`` with repeated indices accumulating (``np.add.at``)."""
        self.module().add.at(target, index, values)

    def erf(self, array):
        """The error function, elementwise."""
        raise NotImplementedError(f"erf is not available on {self.name!r} arrays")

    def elementwise(self, kernel: ElementwiseKernel):
        """``kernel`` compiled for this device: a callable taking ``kernel.arguments``
        positionally; or None where the device has no kernel compiler (the default)."""
        return None

    def compile_errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions by which a kernel of `elementwise()` says, at its first call,
        that it could not be compiled here (nothing has run then)."""
        return ()

    # -- graphs: work recorded once and launched again ---------------------------------------
    captures: bool = False
    """Whether this kind records work as graphs (`capture()`)."""

    def graph_stream(self, index: int):
        """A context manager in which device ``index``'s work goes to a queue (stream) of its
        own, where graphs are captured and launched; work queued before it is done first."""
        return contextlib.nullcontext()

    def capture(self, index: int, fn):
        """``(graph, fn())``: the device work of ``fn()`` recorded, not run; ``graph.launch()``
        runs it, on the same arrays. Called inside `graph_stream()`."""
        raise GraphCaptureError(f"device kind {self.name!r} does not record graphs")

    def recorded_matmul(self, a, b):
        """``a @ b`` while this device's work is recorded as a graph (`matmul()`); the
        plain product by default."""
        return a @ b


class CPUBackend(Backend):
    """NumPy in host memory: always available."""

    name = "cpu"

    def _load(self):
        return np

    def array_types(self) -> tuple[type, ...]:
        return (np.ndarray, np.generic)

    def to_host(self, array) -> np.ndarray:
        return np.asarray(array)

    def from_host(self, array: np.ndarray, index: int) -> np.ndarray:
        return np.asarray(array)

    def erf(self, array):
        try:
            from scipy.special import erf
        except ImportError:  # pragma: no cover - scipy is optional
            import math

            erf = np.frompyfunc(math.erf, 1, 1)
        return np.asarray(erf(array), dtype=array.dtype)


class CUDABackend(Backend):
    """CuPy on NVIDIA GPUs (``"cuda"``, ``"cuda:N"``). CuPy is imported on first use."""

    name = "cuda"
    indexed = True

    def __init__(self):
        super().__init__()
        self._kernels: dict = {}  # ElementwiseKernel -> cupy.ElementwiseKernel (compiled once)
        self._streams: dict = {}  # (device number, thread) -> the stream graphs are captured on
        self._recording = threading.local()  # .workspace: cuBLAS's, in the graph being recorded

    def _load(self):
        try:
            import cupy
        except Exception as err:  # ImportError, or a CuPy whose CUDA libraries fail to load
            raise DeviceUnavailableError(
                f"device 'cuda' needs CuPy, which could not be imported ({type(err).__name__}: "
                f"{err}). Install the CuPy wheel for your CUDA version: {INSTALL_HINT}. "
                "Without it, device must be None or 'cpu'."
            ) from None
        try:
            count = int(cupy.cuda.runtime.getDeviceCount())
        except Exception as err:  # no driver, or a driver older than CuPy's CUDA
            raise DeviceUnavailableError(
                f"device 'cuda' needs an NVIDIA GPU, but CuPy cannot reach one "
                f"({type(err).__name__}: {err}). Check the driver with nvidia-smi and that the "
                f"CuPy wheel matches its CUDA version: {INSTALL_HINT}. Without a GPU, device "
                "must be None or 'cpu'."
            ) from None
        if count == 0:
            raise DeviceUnavailableError(
                "device 'cuda' needs an NVIDIA GPU, but CuPy sees none (is CUDA_VISIBLE_DEVICES "
                "empty?). Without a GPU, device must be None or 'cpu'."
            )
        self._count = count
        return cupy

    def array_types(self) -> tuple[type, ...]:
        return (self._module.ndarray,) if self._module is not None else ()

    def device_count(self) -> int:
        self.module()
        return self._count

    def current_index(self) -> int:
        return int(self.module().cuda.runtime.getDevice())

    def index_of(self, array) -> int:
        return array.data.device_id  # an int already, cheaper than array.device (an object)

    def device_context(self, index: int):
        return self.module().cuda.Device(index)

    def synchronize(self, index: int) -> None:
        self.module().cuda.Device(index).synchronize()

    def to_host(self, array) -> np.ndarray:
        return array.get()

    def from_host(self, array: np.ndarray, index: int):
        cupy = self.module()
        with cupy.cuda.Device(index):
            return cupy.asarray(array)

    def move(self, array, index: int):
        cupy = self.module()
        with cupy.cuda.Device(index):
            return cupy.array(array, copy=True)  # a peer-to-peer copy when the GPUs allow it

    def add_at(self, target, index, values) -> None:
        cupy = self.module()
        at = getattr(cupy.add, "at", None)
        if at is not None:
            at(target, index, values)
        else:  # CuPy < 13
            import cupyx

            cupyx.scatter_add(target, index, values)

    def erf(self, array):
        from cupyx.scipy.special import erf

        return erf(array)

    def elementwise(self, kernel: ElementwiseKernel):
        compiled = self._kernels.get(kernel)
        if compiled is None:
            compiled = self.module().ElementwiseKernel(
                *kernel.declarations(), kernel.body, f"plainnet_{kernel.name}"
            )
            if kernel.size is not None:  # only raw arrays: the loop's size is given
                compiled = functools.partial(compiled, size=kernel.size)
            self._kernels[kernel] = compiled
        return compiled

    captures = True

    @contextlib.contextmanager
    def graph_stream(self, index: int):
        # One stream per GPU and thread, kept: the memory pool keeps freed blocks per stream,
        # for that stream alone, so a stream made for each call would strand them; and a
        # thread capturing on a stream would record another thread's work queued there.
        cupy = self.module()
        with cupy.cuda.Device(index):
            before = cupy.cuda.get_current_stream()
            key = (index, threading.get_ident())
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = cupy.cuda.Stream(non_blocking=True)
            stream.wait_event(before.record())
            try:
                with stream:
                    yield
            finally:
                before.wait_event(stream.record())

    def capture(self, index: int, fn):
        # CUDA stream capture records the kernels and copies queued on the current stream.
        # Its arrays come from a memory pool of its own, which the graph keeps: no later
        # allocation can be handed a block the graph writes when it is launched. (A CuPy
        # pool owns the memory it hands out: it is freed with the pool, whatever still
        # points into it.)
        # The matrix products' cuBLAS workspace is the graph's too (see recorded_matmul).
        from . import _cublas

        cupy = self.module()
        pool = cupy.cuda.MemoryPool()
        with cupy.cuda.Device(index), cupy.cuda.using_allocator(pool.malloc):
            stream = cupy.cuda.get_current_stream()
            workspace = cupy.empty(_cublas.WORKSPACE_BYTES, np.uint8)  # made before recording
            self._recording.workspace = workspace
            stream.begin_capture()
            try:
                result = fn()
            except BaseException:
                with contextlib.suppress(Exception):  # the capture is invalid by now
                    stream.end_capture()
                raise
            finally:
                self._recording.workspace = None
            graph = stream.end_capture()
        return _CUDAGraph(graph, pool, workspace), result

    def recorded_matmul(self, a, b):
        # CuPy refuses cuBLAS while a stream is captured; plainnet calls it itself.
        from . import _cublas

        workspace = getattr(self._recording, "workspace", None)
        if workspace is not None:
            out = _cublas.matmul(self.module(), a, b, workspace)
            if out is not None:
                return out
        return a @ b

    def compile_errors(self) -> tuple[type[BaseException], ...]:
        cupy = self.module()
        errors = [cupy.cuda.compiler.CompileException]
        try:  # NVRTC itself missing or failing
            from cupy_backends.cuda.libs.nvrtc import NVRTCError
        except ImportError:
            pass
        else:
            errors.append(NVRTCError)
        return tuple(errors)


class _CUDAGraph:
    """A captured ``cupy.cuda.Graph``, the memory pool its arrays came from and the cuBLAS
    workspace its matrix products use."""

    def __init__(self, graph, pool, workspace=None):
        self.graph = graph
        self.pool = pool
        self.workspace = workspace

    def launch(self) -> None:
        """Run the recorded work on the current stream."""
        self.graph.launch()


_TYPES: dict[type, Backend | None] = {}
"""Array type -> its backend (None: not an array of any loaded backend), filled on lookup."""
_PARSED: dict[str, tuple[Backend, int]] = {}
CPU = CPUBackend()
CPU.module()
_BACKENDS: dict[str, Backend] = {"cpu": CPU, "cuda": CUDABackend()}


# -- the registry ------------------------------------------------------------------------
def register_backend(backend: Backend) -> Backend | None:
    """Add a device kind (or replace the one of the same name); returns the one replaced.

    ``backend.name`` becomes a device name: ``"name"``, or ``"name:N"`` when
    ``backend.indexed``.
    """
    if not isinstance(backend, Backend):
        raise TypeError(f"register_backend expects a Backend; got {type(backend).__name__}")
    if not isinstance(backend.name, str) or not backend.name.isidentifier():
        raise ValueError(f"a backend's name must be an identifier; got {backend.name!r}")
    previous = _BACKENDS.get(backend.name)
    _BACKENDS[backend.name] = backend
    _TYPES.clear()
    _PARSED.clear()
    return previous


def unregister_backend(name: str) -> Backend | None:
    """Remove the device kind ``name`` (not ``"cpu"``); returns it, or None if absent."""
    if name == "cpu":
        raise ValueError("the 'cpu' backend cannot be removed")
    backend = _BACKENDS.pop(name, None)
    _TYPES.clear()
    _PARSED.clear()
    return backend


def get_backend(device) -> Backend:
    """The `Backend` of a device name (``"cpu"``, ``"cuda:1"``, ...), loaded."""
    return _parse(device)[0]


def _parse(device) -> tuple[Backend, int]:
    """``(backend, device number)`` for a device name; loads the backend (so errors about a
    missing CuPy or GPU come from here) and checks the number."""
    found = _PARSED.get(device) if type(device) is str else None
    if found is not None:
        return found
    if not isinstance(device, str):
        raise TypeError(
            f"device must be a string such as 'cpu' or 'cuda'; got {type(device).__name__} "
            f"{device!r}"
        )
    kind, sep, number = device.strip().lower().partition(":")
    backend = _BACKENDS.get(kind)
    if backend is None:
        raise ValueError(f"unknown device {device!r}; known devices: {_known()}")
    if sep and not backend.indexed:
        raise ValueError(f"device {kind!r} has no numbered devices; use {kind!r}, not {device!r}")
    if sep and not (number.isdigit() and number.isascii()):
        raise ValueError(f"bad device {device!r}; expected {kind!r} or '{kind}:N' with N >= 0")
    backend.module()
    index = int(number) if sep else backend.current_index()
    count = backend.device_count()
    if index >= count:
        names = ", ".join(backend.device_name(i) for i in range(count))
        raise DeviceUnavailableError(
            f"device {device!r} does not exist: this machine has {count} {kind} "
            f"device{'s' if count != 1 else ''} ({names})"
        )
    _PARSED[device] = (backend, index)
    return backend, index


def _known() -> str:
    names = []
    for name, backend in _BACKENDS.items():
        names += [repr(name), repr(f"{name}:N")] if backend.indexed else [repr(name)]
    return ", ".join(names)


def canonical_device(device) -> str:
    """The full name of a device, checked: ``"cuda"`` -> ``"cuda:0"``, ``"CPU"`` -> ``"cpu"``.

    Raises ``ValueError`` for an unknown name and `DeviceUnavailableError` (a
    ``ValueError``) for a device this machine lacks, e.g. ``"cuda"`` without CuPy or a GPU.
    """
    backend, index = _parse(device)
    return backend.device_name(index)


def is_available(device: str = "cuda") -> bool:
    """Whether ``device`` can be used here (True for ``"cpu"``; for ``"cuda"``: CuPy imports
    and sees a GPU). Never raises for a known device name."""
    try:
        _parse(device)
    except DeviceUnavailableError:
        return False
    return True


def device_count(kind: str = "cuda") -> int:
    """The number of devices of ``kind`` (0 when it is unavailable)."""
    backend = _BACKENDS.get(kind)
    if backend is None:
        raise ValueError(f"unknown device kind {kind!r}; known: {sorted(_BACKENDS)}")
    try:
        backend.module()
    except DeviceUnavailableError:
        return 0
    return backend.device_count()


# -- arrays ------------------------------------------------------------------------------
def _backend_of(x) -> Backend | None:
    """The backend owning array ``x``, or None when ``x`` is not an array (a list, a
    number, ...). NumPy arrays and scalars belong to ``"cpu"``."""
    t = type(x)
    try:
        return _TYPES[t]
    except KeyError:
        pass
    found = None
    if issubclass(t, (np.ndarray, np.generic)):
        found = CPU
    else:
        loaded = [b for b in _BACKENDS.values() if b.loaded]
        found = next((b for b in loaded if t in b.array_types()), None) or next(
            (b for b in loaded if issubclass(t, b.array_types())), None
        )
        cuda = _BACKENDS.get("cuda")
        if (
            found is None and cuda is not None and not cuda.loaded
            and t.__module__.partition(".")[0] == "cupy"
        ):
            cuda.module()  # a CuPy array made outside plainnet
            return _backend_of(x)
    _TYPES[t] = found
    return found


def _data(x):
    """The array of a Tensor (anything with ``_plainnet_tensor``), else ``x`` itself."""
    return x.data if getattr(type(x), "_plainnet_tensor", False) else x


def is_device_array(x) -> bool:
    """Whether ``x`` is an array of a device other than the CPU (e.g. a CuPy array)."""
    t = type(x)
    if t is np.ndarray:
        return False
    backend = _TYPES.get(t, False)
    if backend is False:
        backend = _backend_of(x)
    return backend is not None and backend is not CPU


def device_of(x) -> str:
    """The device of an array or Tensor: ``"cpu"`` for NumPy data (and numbers, lists),
    ``"cuda:N"`` for a CuPy array on GPU ``N``."""
    x = _data(x)
    if type(x) is np.ndarray:
        return "cpu"
    backend = _backend_of(x)
    if backend is None or backend is CPU:
        return "cpu"
    return backend.device_name(backend.index_of(x) if backend.indexed else 0)


def array_module(x):
    """The array module that computes on ``x``: ``numpy`` or ``cupy`` (NumPy for anything
    that is not a device array)."""
    x = _data(x)
    if type(x) is np.ndarray:
        return np
    backend = _backend_of(x)
    return np if backend is None else backend.module()


def to_device(x, device):
    """``x`` (an array, number or nested list) on ``device``; ``x`` itself when it is already
    there, else a copy made through host memory."""
    target, index = _parse(device)
    source = _backend_of(x)
    if source is None:
        x, source = np.asarray(x), CPU
    if source is target:
        if not target.indexed or target.index_of(x) == index:
            return x
        return target.move(x, index)
    _refuse_while_capturing(f"a copy from {device_of(x)!r} to {target.device_name(index)!r}")
    host = x if source is CPU else source.to_host(x)
    return target.from_host(host, index)


def to_numpy(x) -> np.ndarray:
    """``x`` (an array of any device, a Tensor, a number or a list) as a NumPy array in host
    memory: a copy for device arrays, NumPy data unchanged."""
    x = _data(x)
    if type(x) is np.ndarray:
        return x
    backend = _backend_of(x)
    if backend is None or backend is CPU:
        return np.asarray(x)
    _refuse_while_capturing(f"a copy from {device_of(x)!r} to the host")
    return backend.to_host(x)


def match_device(x, like, what: str, *, strict: bool = False):
    """``x`` on the device of the array ``like``, for data that accompanies an input (loss
    targets, sample weights, dropout masks).

    Host data (NumPy arrays, lists, numbers) is copied to ``like``'s device unless ``strict``;
    a device array must already be on ``like``'s device, else `DeviceMismatchError`
    naming ``what`` and both devices.
    """
    if type(x) is type(like) and type(x) is np.ndarray:
        return x
    source, target = _backend_of(x), _backend_of(like)
    if source is None:
        x, source = np.asarray(x), CPU
    if target is None:
        target = CPU
    if source is target and (
        not target.indexed or target.index_of(x) == target.index_of(like)
    ):
        return x
    here, there = device_of(x), device_of(like)
    if source is not CPU or strict:
        raise mismatch_error(what, [there, here])
    return to_device(x, there)


def mismatch_error(what: str, devices) -> DeviceMismatchError:
    """The error for one operation given arrays on several ``devices``."""
    seen = list(dict.fromkeys(devices))
    names = " and ".join(repr(d) for d in seen)
    return DeviceMismatchError(
        f"{what} got arrays on different devices, {names}: plainnet never moves data "
        f"implicitly. Move them to one device first, e.g. x.to({seen[-1]!r}) or "
        f"model.to({seen[-1]!r})."
    )


def devices_in(values) -> list[str]:
    """The distinct devices of the arrays among ``values`` (Tensors, arrays; nested lists and
    tuples are searched). NumPy scalars are left out: every backend accepts them as numbers."""
    found: dict[str, None] = {}

    def visit(v):
        if isinstance(v, (list, tuple)):
            for item in v:
                visit(item)
            return
        v = _data(v)
        if isinstance(v, np.generic):
            return
        backend = _backend_of(v)
        if backend is not None:
            found[device_of(v)] = None

    visit(values)
    return list(found)


def add_at(target, index, values) -> None:
    """``target[index] += values`` where repeated indices accumulate, on any device."""
    backend = _backend_of(target)
    (backend or CPU).add_at(target, index, values)


def erf(x):
    """The error function of the array ``x``, on its device."""
    backend = _backend_of(x)
    return (backend or CPU).erf(x)


def device_context(device):
    """A context manager making ``device`` current (which GPU new arrays and kernels use);
    does nothing for ``"cpu"``."""
    backend, index = _parse(device)
    return backend.device_context(index)


class _Capturing(threading.local):
    devices: tuple[str, ...] = ()  # the devices whose work this thread is recording


_CAPTURING = _Capturing()


def _refuse_while_capturing(what: str) -> None:
    if _CAPTURING.devices:
        raise GraphCaptureError(
            f"{what} was asked for while work on {_CAPTURING.devices[-1]!r} was being "
            "recorded as a graph: a graph runs on the device alone, so the recorded work can "
            "neither read values on the host nor take data from it (Dropout's masks, for one, "
            "are drawn on the host)"
        )


def graph_stream(device):
    """A context manager in which ``device``'s work goes to a stream of its own, where graphs
    are captured (`capture()`) and launched. Work queued before starts first, and work
    queued after waits for it. Does nothing where the device kind records no graphs."""
    backend, index = _parse(device)
    return backend.graph_stream(index)


def capture(device, fn):
    """Record the device work of ``fn()`` as a graph, without running it.

    Returns ``(graph, fn())``. ``graph.launch()`` runs the recorded work again, with no
    Python and one launch: the same kernels, on the same arrays, with the same numbers, so
    new inputs go in by copying them into the arrays the work reads. On ``"cuda"`` this is
    CUDA stream capture (a ``cupy.cuda.Graph``); call it inside `graph_stream()`. The
    arrays made while recording belong to the graph: until it is launched they hold no
    values, and on CUDA their memory is the graph's own and goes with it, so copy any you
    keep longer than the graph. ``fn`` must not move data between the host and the device
    (`GraphCaptureError`).
    """
    backend, index = _parse(device)
    if not backend.captures:
        raise GraphCaptureError(
            f"device {backend.device_name(index)!r} does not record graphs (only 'cuda' does)"
        )
    outer = _CAPTURING.devices
    _CAPTURING.devices = (*outer, backend.device_name(index))
    try:
        return backend.capture(index, fn)
    finally:
        _CAPTURING.devices = outer


def matmul(a, b):
    """``a @ b`` of two arrays (or Tensors) of one device, as `numpy.matmul()`.

    Every matrix product of plainnet's layers and ops goes through here, so that one recorded
    as part of a graph (`capture()`) runs the device's own way: on CUDA, cuBLAS called
    directly (CuPy refuses cuBLAS while a stream is captured; `plainnet._cublas`).
    Otherwise it is just ``a @ b``.
    """
    if _CAPTURING.devices:
        found = _backend_of(a)
        if found is not None:
            return found.recorded_matmul(a, b)
    return a @ b


def synchronize(device) -> None:
    """Wait until ``device`` has finished its queued work (GPU kernels run asynchronously;
    time a GPU only after this)."""
    backend, index = _parse(device)
    backend.synchronize(index)


# The fused kernels' public names, at home in plainnet.kernels (which imports this module).
from .kernels import ElementwiseKernel, run_fused  # noqa: E402
