r"""Matrix products on a GPU while a CUDA graph is recorded: cuBLAS called directly.

CuPy refuses every cuBLAS call while its stream is being captured (``cublas.setStream``
raises ``NotImplementedError: calling cuBLAS API during stream capture is currently
unsupported``), although cuBLAS itself records into graphs (cuBLAS documentation, "CUDA
Graphs Support"). So while plainnet records a training step, its matrix products call
``cublas{S,D}gemm_v2`` through `ctypes`, on CuPy's own cuBLAS handle, with:

* the stream being captured (``cublasSetStream_v2``), and a workspace of the graph's own
  (``cublasSetWorkspace_v2``: without one, cuBLAS may allocate inside the graph; and a
  workspace shared with work outside the graph could be used by both at once);
* ``alpha = 1`` and ``beta = 0`` passed from host memory (the values go into the graph).

cuBLAS is column-major and plainnet's arrays are row-major, so $C = A B$ is computed
as $C^\top = B^\top A^\top$: the memory of a row-major ``C`` *is* a column-major
$C^\top$, with leading dimension its row length, and each operand is read as it lies in
memory (`layout()`), transposed by the call where needed: no copy for a transposed view
such as ``w.T``.

Only float32 and float64 matrices (and vectors, as 1-row or 1-column matrices) go this way;
`matmul()` returns ``None`` for anything else, and the caller's ``a @ b`` then meets CuPy's
refusal, which makes the step train without a graph.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

#: cublasOperation_t
_N, _T = 0, 1
#: cublasPointerMode_t: scalars read from host memory
_POINTER_MODE_HOST = 0
#: The workspace each graph gets: 8 blocks of 4 MiB, the size PyTorch's
#: ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` names.
WORKSPACE_BYTES = 32 * 1024 * 1024
_INT_MAX = 2**31 - 1

_lock = threading.Lock()
_library = None


def _find_library() -> ctypes.CDLL:
    """The cuBLAS that CuPy loaded (read from the process's memory map), so that CuPy's
    handles are handles of this library; else the one the loader finds."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "/libcublas.so" in line}
    except OSError:
        paths = set()
    candidates = sorted(paths) + [n for n in ("libcublas.so.13", "libcublas.so.12",
                                               ctypes.util.find_library("cublas")) if n]
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if hasattr(lib, "cublasSgemm_v2"):
            return lib
    raise RuntimeError("cuBLAS could not be loaded by name (tried "
                       + ", ".join(candidates) + ")")


def _cublas() -> ctypes.CDLL:
    global _library
    with _lock:
        if _library is None:
            lib = _find_library()
            vp, i, ip = ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)
            for name, scalar in (("cublasSgemm_v2", ctypes.c_float),
                                 ("cublasDgemm_v2", ctypes.c_double)):
                fn = getattr(lib, name)
                ptr = ctypes.POINTER(scalar)
                fn.argtypes = [vp, i, i, i, i, i, ptr, vp, i, vp, i, ptr, vp, i]
                fn.restype = i
            lib.cublasSetStream_v2.argtypes = [vp, vp]
            lib.cublasSetWorkspace_v2.argtypes = [vp, vp, ctypes.c_size_t]
            lib.cublasGetPointerMode_v2.argtypes = [vp, ip]
            lib.cublasSetPointerMode_v2.argtypes = [vp, i]
            for name in ("cublasSetStream_v2", "cublasSetWorkspace_v2",
                         "cublasGetPointerMode_v2", "cublasSetPointerMode_v2"):
                getattr(lib, name).restype = i
            _library = lib
    return _library


def _check(status: int, call: str) -> None:
    if status != 0:
        raise RuntimeError(f"{call} failed with cublasStatus_t {status}")


def layout(x) -> tuple[int, int] | None:
    """How the row-major matrix ``x`` (shape ``(r, c)``) lies in memory for cuBLAS:
    ``(_N, ld)`` when its rows are contiguous (the memory is the column-major
    $x^\\top$, leading dimension ``ld``), ``(_T, ld)`` when its columns are (the memory
    is the column-major ``x``, so $x^\\top$ is that transposed); ``None`` otherwise."""
    r, c = x.shape
    s0, s1 = x.strides
    size = x.itemsize
    if s0 % size or s1 % size:
        return None
    s0, s1 = s0 // size, s1 // size
    if (s1 == 1 or c == 1) and (r == 1 or s0 >= c):
        return _N, (s0 if r > 1 else max(c, 1))
    if (s0 == 1 or r == 1) and (c == 1 or s1 >= r):
        return _T, (s1 if c > 1 else max(r, 1))
    return None


def gemm_arguments(a, b, contiguous):
    """How to compute ``a @ b`` (arrays of one float dtype, 1-D or 2-D; ``a`` may have leading
    batch axes when ``b`` is 2-D) as one column-major GEMM, or ``None`` where it can't be.

    Returns ``(shape, (op_b, op_a, n, m, k, b2, ld_b, a2, ld_a))``: the result's shape, and
    the arguments of ``cublas?gemm`` after the handle, less the scalars and ``C`` (whose
    leading dimension is ``n``): ``b2`` and ``a2`` are the operands as matrices, copied by
    ``contiguous`` where their memory has no layout cuBLAS reads.
    """
    if a.dtype != b.dtype or a.dtype.type not in (np.float32, np.float64) or not (
        a.ndim >= 1 and 1 <= b.ndim <= 2 and (a.ndim <= 2 or b.ndim == 2)
    ) or a.size == 0 or b.size == 0:
        return None
    a2 = a.reshape(1, -1) if a.ndim == 1 else a.reshape(-1, a.shape[-1])
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    (m, k), n = a2.shape, b2.shape[1]
    if b2.shape[0] != k or max(m, n, k) > _INT_MAX:
        return None
    shape = (a.shape[:-1] if a.ndim > 1 else ()) + b.shape[1:]
    operands = []
    for x in (a2, b2):
        found = layout(x)
        if found is None:
            x = contiguous(x)
            found = layout(x)
        operands.append((x, *found))
    (a2, op_a, ld_a), (b2, op_b, ld_b) = operands
    return shape, (op_b, op_a, n, m, k, b2, ld_b, a2, ld_a)


def matmul(cupy, a, b, workspace):
    """``a @ b`` for CuPy arrays (as `gemm_arguments()` takes them), computed by one cuBLAS
    GEMM on the current stream with ``workspace`` (a CuPy array of at least
    `WORKSPACE_BYTES`); ``None`` for other operands."""
    found = gemm_arguments(a, b, cupy.ascontiguousarray)
    if found is None:
        return None
    shape, (op_b, op_a, n, m, k, b2, ld_b, a2, ld_a) = found
    out = cupy.empty((m, n), a.dtype)
    lib = _cublas()
    handle = ctypes.c_void_p(cupy.cuda.device.get_cublas_handle())
    scalar = ctypes.c_float if a.dtype.type is np.float32 else ctypes.c_double
    gemm = lib.cublasSgemm_v2 if a.dtype.type is np.float32 else lib.cublasDgemm_v2
    mode = ctypes.c_int()
    _check(lib.cublasGetPointerMode_v2(handle, ctypes.byref(mode)), "cublasGetPointerMode")
    _check(lib.cublasSetStream_v2(handle, cupy.cuda.get_current_stream().ptr),
           "cublasSetStream")  # (this also resets the workspace to cuBLAS's own)
    _check(lib.cublasSetWorkspace_v2(handle, workspace.data.ptr, workspace.nbytes),
           "cublasSetWorkspace")
    _check(lib.cublasSetPointerMode_v2(handle, _POINTER_MODE_HOST), "cublasSetPointerMode")
    try:
        one, zero = scalar(1.0), scalar(0.0)
        _check(gemm(handle, op_b, op_a, n, m, k, ctypes.byref(one), b2.data.ptr, ld_b,
                    a2.data.ptr, ld_a, ctypes.byref(zero), out.data.ptr, n), gemm.__name__)
    finally:
        lib.cublasSetPointerMode_v2(handle, mode.value)
    return out.reshape(shape)
