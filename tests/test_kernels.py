"""The fused kernels (:class:`plainnet.backend.ElementwiseKernel`): the optimizers' update
rules, ReLU's backward, cross-entropy's forward and backward, and the training loop's read of
the loss beside the gradients' sums of squares.

On a GPU each runs as one kernel written in C beside its NumPy form. Without a GPU the
kernels are checked two ways: the fake device of ``fake_device.py`` interprets their
statements with NumPy in the same order of operations, so the fused form must give the NumPy
form's numbers bit for bit, called by CuPy's rules; ``g++`` runs each body as C++ on the
CPU; and ``nvcc``, where installed, compiles each kernel as CUDA C++ for float and double,
and (where CuPy is installed, no GPU needed) as CuPy's own code generator writes it, which
``g++`` also runs on the CPU with the arguments of a training run.
``tests/test_gpu.py`` runs them on a real GPU.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
import types
import warnings

import numpy as np
import pytest

import plainnet as pn
from fake_device import Counts, FakeArray, FakeBackend, NoMultiArray, PlainArray
from optimizer_cases import CASES, IDS
from plainnet import backend, kernels, losses
from plainnet.autodiff import ops
from plainnet.nn import functional as F
from plainnet.optimize import rules
from plainnet.training import finite

KERNELS = (*rules.KERNELS, ops._RELU_BACKWARD, losses._CE_EXP, losses._CE_ROWS,
           losses._CE_BACKWARD, finite.pair_kernel(0), finite.pair_kernel(3), F._BIAS_RELU)
#: Each update rule's kernel over three tensors (7, 1 and 20 values) in one launch.
MULTI_SIZES = (7, 1, 20)
MULTI = tuple(kernels.multi_tensor(k, ("grad",), MULTI_SIZES) for k in rules.KERNELS)


@pytest.fixture
def devices():
    """ "fake" compiles kernels (as CUDA does); "plain" does not (NumPy's functions only);
    "no_multi" compiles all but the multi-tensor kernels."""
    kernels._RAN.clear()
    backend.register_backend(FakeBackend("fake", FakeArray))
    backend.register_backend(FakeBackend("plain", PlainArray, compiles=False))
    multi = {f"{k.name}_x3" for k in rules.KERNELS}
    backend.register_backend(FakeBackend("no_multi", NoMultiArray, fails=multi))
    yield
    for name in ("fake", "plain", "no_multi"):
        backend.unregister_backend(name)
    kernels._FAILED.clear()
    kernels._RAN.clear()
    Counts.log = None


def _train(make, device, steps=5):
    """``steps`` updates of three parameters (one large, two small) from fixed gradients;
    returns the host parameters and state, and the names of each step's launches."""
    rng = np.random.default_rng(0)
    shapes = [(40, 30), (30,), (3, 4)]
    params = [pn.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True,
                        device=device) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]
    opt = make(params)
    launched = []
    for step in grads:
        for p, g in zip(params, step, strict=True):
            p.grad = backend.to_device(g, device)
        Counts.log = []
        opt.step()
        launched.append(Counts.log)
    Counts.log = None
    state = [{k: backend.to_numpy(v) for k, v in opt.state[p].items()} for p in params]
    return [backend.to_numpy(p.data) for p in params], state, launched


def _fused(names) -> list:
    """The launches of fused update kernels among ``names`` (single or multi-tensor)."""
    rule_kernels = {k.name for k in rules.KERNELS}
    return [n for n in names if n in rule_kernels or n.split("_x")[0] in rule_kernels]


@pytest.mark.parametrize(("make", "kernels"), [case[1:] for case in CASES], ids=IDS)
def test_fused_update_equals_the_numpy_update_bit_for_bit(devices, make, kernels):
    cpu_params, cpu_state, _ = _train(make, "cpu")
    for device in ("fake", "plain", "no_multi"):
        if device == "no_multi":
            with pytest.warns(RuntimeWarning, match=r"_x3' failed to compile on 'no_multi'.*"
                                                    r"once per array instead"):
                params, state, launched = _train(make, device)
        else:
            params, state, launched = _train(make, device)
        for got, want in zip(params, cpu_params, strict=True):
            np.testing.assert_array_equal(got, want)
        for got, want in zip(state, cpu_state, strict=True):
            assert got.keys() == want.keys()
            for key in want:
                np.testing.assert_array_equal(got[key], want[key])
        first, *later = (_fused(step) for step in launched)
        if device == "plain":  # no compiler: array functions only
            assert first == [] and later == [[]] * len(later)
            continue
        # the first step compiles the kernel of this form and runs it per parameter; later
        # steps update the three parameters with one multi-tensor launch
        single = first[0]
        assert single in kernels and first == [single] * 3
        if device == "fake":
            assert later == [[f"{single}_x3"]] * len(later)
        else:  # the multi-tensor kernel fails to compile: one launch per parameter
            assert later == [[single] * 3] * len(later)


def test_the_cases_run_every_kernel():
    run = set().union(*(case[2] for case in CASES))
    assert run == {k.name for k in rules.KERNELS}


@pytest.mark.parametrize(
    ("smoothing", "reduction"), [(0.0, "mean"), (0.1, "mean"), (0.0, "sum"), (0.2, "none")]
)
def test_fused_relu_and_cross_entropy_equal_numpy(devices, smoothing, reduction):
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((16, 5)).astype(np.float32)
    x0[0, :2] = 0.0  # relu'(0) = 0
    x0[1] = [80.0, -80.0, 3.0, 0.0, 79.0]  # exp overflows without the shift by the max
    y = rng.integers(0, 5, 16)
    losses_, grads = {}, {}
    for device in ("cpu", "fake", "plain"):
        x = pn.tensor(x0, requires_grad=True, device=device)
        Counts.log = []
        loss = pn.losses.cross_entropy(x.relu() * 3.0, y, label_smoothing=smoothing,
                                       reduction=reduction)
        (loss.sum() if reduction == "none" else loss).backward()
        launched, Counts.log = Counts.log, None
        losses_[device] = backend.to_numpy(loss.data)
        grads[device] = backend.to_numpy(x.grad)
        if device == "fake":
            assert "relu_backward" in launched
            forward = {"cross_entropy_exp", "cross_entropy_rows"} <= set(launched)
            assert forward == (not smoothing)  # label smoothing: the array-function forward
            assert ("cross_entropy_backward" in launched) == (reduction != "none")
    for device in ("fake", "plain"):
        np.testing.assert_array_equal(losses_[device], losses_["cpu"])
        np.testing.assert_array_equal(grads[device], grads["cpu"])
    assert np.all(np.isfinite(losses_["cpu"])) and np.all(grads["cpu"][0, :2] == 0)
    if reduction == "mean" and not smoothing:  # against the definition, in float64
        z = np.maximum(x0.astype(np.float64), 0) * 3.0
        want = np.mean(np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
                       - z[np.arange(16), y])
        np.testing.assert_allclose(losses_["cpu"], want, rtol=1e-6)


def test_a_kernel_that_fails_to_compile_falls_back_once(devices):
    backend.register_backend(FakeBackend("broken", FakeArray, fails={"cross_entropy_rows"}))
    try:
        z0 = np.random.default_rng(2).standard_normal((8, 4)).astype(np.float32)
        y = np.arange(8) % 4
        want = pn.losses.cross_entropy(pn.tensor(z0), y).item()
        z = pn.tensor(z0, device="broken")
        with pytest.warns(RuntimeWarning, match="'cross_entropy_rows' failed to compile on "
                                                "'broken'.*array functions"):
            first = pn.losses.cross_entropy(z, y).item()
        Counts.log = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # warned once, not at every call
            again = pn.losses.cross_entropy(z, y).item()
        launched, Counts.log = Counts.log, None
        assert first == again == want
        assert "cross_entropy_exp" in launched and "cross_entropy_rows" not in launched
    finally:
        backend.unregister_backend("broken")
        kernels._FAILED.clear()


def test_run_fused_leaves_numpy_arrays_to_the_caller():
    param = np.ones(3, np.float32)
    done = backend.run_fused(rules.KERNELS[0], param, grad=np.ones(3, np.float32), lr=0.5,
                             param=param)
    assert done is False
    np.testing.assert_array_equal(param, 1.0)


_SHIFT = kernels.ElementwiseKernel("shift", ("x",), ("y",), "y = x + c;", integers=("c",))
_SGD_X1 = kernels.multi_tensor(rules._SGD, ("grad",), (3,))  # every array raw, size 3


def _fake(values, dtype=np.float32):
    return backend.to_device(np.asarray(values, dtype), "fake")


@pytest.mark.parametrize("kernel, args, error, match", [
    (rules._SGD, lambda: (np.ones(3, np.float32), 0.5, _fake([1, 1, 1])), TypeError,
     "grad is a host array"),
    (rules._SGD, lambda: (_fake([1, 1, 1]), 0.5, np.ones(3, np.float32)), TypeError,
     "param is not an array on this device"),
    (rules._SGD, lambda: (_fake([1, 1, 1]), [0.5], _fake([1, 1, 1])), TypeError,
     "lr is a list"),
    (rules._SGD, lambda: (_fake([1, 1, 1], np.float64), 0.5, _fake([1, 1, 1])), TypeError,
     "Type is mismatched"),
    (rules._SGD, lambda: (_fake(np.ones((2, 3))), 0.5, _fake([1, 1, 1])), ValueError,
     "Out shape is mismatched"),
    (rules._SGD, lambda: (_fake([1, 1]), 0.5, _fake([1, 1, 1])), ValueError, "broadcast"),
    (_SHIFT, lambda: (_fake([1, 1]), 2, _fake([1, 1])), TypeError, "numbers only"),
    (_SHIFT, lambda: (_fake([1, 1]), _fake([2, 3], np.int32), _fake([0, 0])), None, [3, 4]),
    (_SGD_X1, lambda: (_fake([1, 1, 1]), _fake([1, 1, 1]), _fake([1, 1, 1])), ValueError,
     "'size' can be used"),
    (_SGD_X1, lambda: (0.5, _fake([1, 2, 3]), _fake([1, 1, 1])), None, [0.5, 0, -0.5]),
])
def test_fake_kernels_refuse_what_cupy_refuses(devices, kernel, args, error, match):
    """The fake device calls kernels by CuPy's rules (``ElementwiseKernel.__call__``), so a
    call that would fail on a GPU fails in the tests of every machine (and one that CuPy
    takes runs: ``match`` is then the output's values)."""
    compiled = backend.get_backend("fake").elementwise(kernel)
    if error is None:
        values = args()
        compiled(*values)
        np.testing.assert_array_equal(backend.to_numpy(values[-1]), match)
    else:
        with pytest.raises(error, match=match):
            compiled(*args())


# --------------------------------------------------------------------------- as C++
def _c_source(kernel, cuda: bool) -> str:
    """The kernel as a C++ function template with the body as CuPy places it: each input a
    value at position ``i``, each raw input a whole array, each output a reference to the
    array's element; ``T`` the floating type, ``I`` the integer type. For CUDA a
    ``__global__`` function of one thread per position; for the CPU a loop over the
    positions, with a C entry point ``plainnet_<name>_<float|double>``."""
    params = [f"const T* {n}_in" for n in kernel.inputs]
    params += [f"const T* {n}" for n in kernel.raws]
    params += [f"const I* {n}_in" for n in kernel.integers]
    params += [f"T* {n}_out" for n in kernel.outputs]
    params += [f"T* {n}" for n in kernel.raw_outputs]
    loads = [f"const T {n} = {n}_in[i];" for n in kernel.inputs]
    loads += [f"const I {n} = {n}_in[i];" for n in kernel.integers]
    loads += [f"T& {n} = {n}_out[i];" for n in kernel.outputs]
    name = f"plainnet_{kernel.name}"
    signature = f"{name}(" + ", ".join(params) + ", long n)"
    if cuda:
        lines = ["template <typename T, typename I>", f"__global__ void {signature} {{",
                 "  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;",
                 "  if (i >= n) return;"]
    else:
        lines = ["template <typename T, typename I>", f"void {signature} {{",
                 "  for (long i = 0; i < n; ++i) {"]
    lines += ["    " + line for line in loads + kernel.body.split("\n")]
    lines.append("}" if cuda else "  }\n}")
    for t in ("float", "double"):
        types = [f"const {t}*"] * (len(kernel.inputs) + len(kernel.raws))
        types += ["const long long*"] * len(kernel.integers)
        types += [f"{t}*"] * (len(kernel.outputs) + len(kernel.raw_outputs))
        if cuda:
            lines.append(f"template __global__ void {name}<{t}, long long>("
                         + ", ".join(types) + ", long);")
        else:
            args = ", ".join(f"{ty} a{k}" for k, ty in enumerate(types))
            passed = ", ".join(f"a{k}" for k in range(len(types)))
            lines.append(f'extern "C" void {name}_{t}({args}, long n) '
                         f"{{ {name}<{t}, long long>({passed}, n); }}")
    return "\n".join(lines)


#: What CUDA gives device code and a CPU compiler needs spelled out.
_CPU_PRELUDE = """#include <cmath>
#include <cstddef>
using std::exp; using std::log; using std::sqrt;
template <typename T> T max(T a, T b) { return std::fmax(a, b); }  // CUDA's max of floats
"""


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (the CUDA compiler) is missing")
def test_every_kernel_compiles_as_cuda(tmp_path):
    source = tmp_path / "kernels.cu"
    source.write_text("\n\n".join(_c_source(k, cuda=True) for k in KERNELS + MULTI) + "\n")
    done = subprocess.run(
        ["nvcc", "-c", "-Werror", "all-warnings", "-o", str(tmp_path / "kernels.o"),
         str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr


def _cupy_or_skip():
    """CuPy (its code generator and headers: no GPU needed), or a skip saying why not."""
    try:
        import cupy
    except Exception as err:  # not installed, or a CuPy that fails to load here
        pytest.skip(f"CuPy is not available ({type(err).__name__}: {err})")
    return cupy


def _cupy_include(cupy):
    """The folder of CuPy's headers (``cupy/carray.cuh`` ...)."""
    import pathlib

    return pathlib.Path(cupy.__file__).parent / "_core" / "include"


#: CuPy's kinds of kernel argument (``_ArgKind`` in ``cupy/_core/_kernel.pxd``).
_NDARRAY, _INDEXER, _SCALAR = 1, 2, 3


def _cupy_call_in_cpp(cupy, kernel, values: dict, k: int) -> tuple[str, str, list[str]]:
    """C++ that runs ``kernel`` on ``values`` (host arrays and numbers by name) as CuPy
    runs it, on the CPU: the module CuPy's code generator writes for these arguments (the
    non-raw arrays broadcast to the loop's shape; CuPy would also merge contiguous
    dimensions, which moves no position), in namespace ``module<k>``; and
    ``extern "C" void call<k>(void** data)``, which builds CuPy's ``CArray`` of each array
    (``data`` holds their addresses, in the order of the returned names) and ``CIndexer``,
    and calls the kernel: one thread runs the whole loop."""
    from cupy._core import _carray, _kernel, _scalar

    made = cupy.ElementwiseKernel(*kernel.declarations(), kernel.body, f"kernel{k}")
    params = made.params[:-1]
    looped = [values[p.name].shape for p in params
              if not p.raw and isinstance(values[p.name], np.ndarray)]
    shape = (kernel.size,) if kernel.size is not None else np.broadcast_shapes(*looped)
    types_ = {p.ctype: values[p.name].dtype.type for p in params
              if isinstance(values[p.name], np.ndarray)}
    infos, lines, passed, names = [], [], [], []
    for j, p in enumerate(params):
        v = values[p.name]
        ctype = _kernel._get_typename(types_[p.ctype])
        if not isinstance(v, np.ndarray):  # a number, converted to the placeholder's type
            number = types_[p.ctype](v)
            infos.append(_kernel._ArgInfo(_SCALAR, _scalar.CScalar, types_[p.ctype], 0, True,
                                          True))
            literal = float(number).hex() if p.ctype == "T" else f"{int(number)}LL"
            passed.append(f"static_cast<{ctype}>({literal})")
            continue
        a = v if p.raw else np.broadcast_to(v, shape)
        infos.append(_kernel._ArgInfo(_NDARRAY, cupy.ndarray, a.dtype.type, a.ndim,
                                      a.flags.c_contiguous, True))
        dims = ", ".join(map(str, a.shape)) or "0"
        steps = ", ".join(map(str, a.strides)) or "0"
        lines += [f"const ptrdiff_t shape{j}[] = {{{dims}}}, strides{j}[] = {{{steps}}};",
                  f"CArray<{ctype}, {a.ndim}, {int(a.flags.c_contiguous)}, 1> a{j}("
                  f"static_cast<{ctype}*>(data[{len(names)}]), shape{j}, strides{j});"]
        passed.append(f"a{j}")
        names.append(p.name)
    infos.append(_kernel._ArgInfo(_INDEXER, _carray.Indexer, None, len(shape), True, True))
    lines += [f"const ptrdiff_t loop[] = {{{', '.join(map(str, shape))}}};",
              f"CIndexer<{len(shape)}, 1> indexer(loop);"]
    passed.append("indexer")
    code = _kernel._get_elementwise_kernel_code(
        tuple(infos), _kernel._TypeMap(tuple(sorted(types_.items()))), made.params,
        made.operation, made.name, "")
    return (f"namespace module{k} {{\n{code}\n}}\n",
            f'extern "C" void call{k}(void** data) {{\n' + "\n".join(lines)
            + f"\nmodule{k}::kernel{k}({', '.join(passed)});\n}}\n", names)


#: What CUDA gives device code and the host compiler needs in its place to build CuPy's
#: ``carray.cuh`` and its kernels for the CPU: one block of one thread.
_HOST_CUDA = """#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstring>
#define __host__
#define __device__
#define __global__
#define __forceinline__ inline
struct HostDim3 { unsigned int x, y, z; };
static const HostDim3 blockIdx = {0, 0, 0}, threadIdx = {0, 0, 0}, blockDim = {1, 1, 1},
    gridDim = {1, 1, 1};
static inline int __popc(unsigned int x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
#include <cupy/carray.cuh>
"""


def _recorded_calls() -> list:
    """The fused kernels' calls a training run makes on the fake device, each kernel with
    each form of its arguments once: ``pn.fit`` of a ReLU network with cross-entropy and
    Adam in float32 and float64 (bias+ReLU, the cross-entropy kernels, the step's read,
    Adam single and multi-tensor), and every update rule's steps."""
    Counts.calls = []
    try:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((64, 6))
        y = rng.integers(0, 3, 64)
        for dtype in (np.float32, np.float64):
            pn.seed(0)
            model = pn.nn.Sequential(pn.nn.Linear(6, 8, dtype=dtype), pn.nn.ReLU(),
                                     pn.nn.Linear(8, 3, dtype=dtype))
            pn.fit(model, X.astype(dtype), y, loss="cross_entropy", optimizer="adam",
                   epochs=2, batch_size=16, device="fake", verbose=0)
        for _, make, _ in CASES:
            _train(make, "fake", steps=2)
        recorded = Counts.calls
    finally:
        Counts.calls = None
    distinct = {}
    for kernel, before, after in recorded:
        if any(getattr(v, "ndim", 0) > 1 and v.shape[0] == 1 for v in before.values()):
            # a one-row batch (pn.fit checks the labels on one row first): CuPy lays out an
            # axis of length 1 its own way, which this host emulation of its array type does
            # not follow; the kernel's source is the same one the full batches run
            continue
        form = tuple((name, getattr(v, "shape", None), getattr(v, "dtype", type(v)))
                     for name, v in before.items())
        distinct.setdefault((kernel, form), (kernel, before, after))
    return list(distinct.values())


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (the CUDA compiler) is missing")
def test_every_kernel_compiles_as_cupy_writes_it(devices, tmp_path):
    """No GPU needed: for each call a training run makes of a fused kernel, CuPy's own code
    generator writes the module it would compile (the types ``CArray`` and ``CIndexer``, the
    bindings of each position's values), and ``nvcc`` compiles them against CuPy's headers,
    with every warning an error."""
    cupy = _cupy_or_skip()
    calls = _recorded_calls()
    try:
        modules = [_cupy_call_in_cpp(cupy, kernel, before, k)[0]
                   for k, (kernel, before, _) in enumerate(calls)]
    except (AttributeError, ImportError, TypeError) as err:  # private API of another CuPy
        pytest.skip(f"this CuPy ({cupy.__version__}) writes its kernels otherwise: {err}")
    from cupy._core import core

    path = tmp_path / "cupy_kernels.cu"
    path.write_text("".join(f"#include <{h}>\n" for h in core._cupy_header_list)
                    + "\n".join(modules))
    done = subprocess.run(
        ["nvcc", "-std=c++17", f"-I{_cupy_include(cupy)}", "-arch=sm_90", "-ftz=true", "-c",
         "-Werror", "all-warnings", "-o", str(tmp_path / "cupy_kernels.o"), str(path)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-5000:]


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is missing")
def test_every_kernel_runs_as_cupy_writes_it(devices, tmp_path):
    """No GPU needed: each call a training run makes of a fused kernel (recorded on the fake
    device) runs again on the CPU through the code CuPy writes for it (its ``CArray`` and
    ``CIndexer``, the binding of each position's values, the loop over ``i``, broadcast and
    raw arrays, numbers converted to the arrays' type), and gives what the fake device gave:
    the same numbers, within libm's ulps where ``exp`` and ``log`` are taken."""
    cupy = _cupy_or_skip()
    calls = _recorded_calls()
    assert {k.name for k, _, _ in calls} >= {
        "bias_relu", "cross_entropy_exp", "cross_entropy_rows", "cross_entropy_backward",
        "loss_and_squares_4", "adam", "adam_x4", *(k.name for k in rules.KERNELS)}
    try:
        sources = [_cupy_call_in_cpp(cupy, kernel, before, k)
                   for k, (kernel, before, _) in enumerate(calls)]
    except (AttributeError, ImportError, TypeError) as err:  # private API of another CuPy
        pytest.skip(f"this CuPy ({cupy.__version__}) writes its kernels otherwise: {err}")
    source = tmp_path / "cupy_calls.cpp"
    source.write_text(_HOST_CUDA + _CPU_PRELUDE
                      + "\n".join(module + wrapper for module, wrapper, _ in sources))
    library = tmp_path / "cupy_calls.so"
    done = subprocess.run(
        ["g++", "-std=c++17", "-O1", "-ffp-contract=off", "-shared", "-fPIC",
         f"-I{_cupy_include(cupy)}", "-Wall", "-Wno-unknown-pragmas", "-o", str(library),
         str(source)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    lib = ctypes.CDLL(str(library))
    for k, ((kernel, before, after), (*_, names)) in enumerate(zip(calls, sources, strict=True)):
        arrays = {n: np.array(before[n]) for n in names}  # copies, C-contiguous
        data = (ctypes.c_void_p * len(names))(*(arrays[n].ctypes.data for n in names))
        getattr(lib, f"call{k}")(data)
        transcendental = re.search(r"\b(exp|log)\(", kernel.body) is not None
        for name in (*kernel.outputs, *kernel.raw_outputs):
            got, want = arrays[name], after[name]
            if transcendental:
                tol = 4 * np.finfo(want.dtype).eps
                np.testing.assert_allclose(got, want, rtol=tol, atol=0, err_msg=kernel.name)
            else:
                np.testing.assert_array_equal(got, want, err_msg=kernel.name)


@pytest.fixture(scope="module")
def kernels_in_c(tmp_path_factory):
    """Every kernel compiled as C++ for the CPU (g++, no fused multiply-adds), loaded."""
    if shutil.which("g++") is None:
        pytest.skip("g++ is missing")
    folder = tmp_path_factory.mktemp("kernels")
    source = folder / "kernels.cpp"
    source.write_text(_CPU_PRELUDE
                      + "\n\n".join(_c_source(k, cuda=False) for k in KERNELS + MULTI))
    library = folder / "kernels.so"
    done = subprocess.run(
        ["g++", "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-Wall", "-Werror",
         "-o", str(library), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return ctypes.CDLL(str(library))


def _run_in_c(library, kernel, values: dict, dtype, n: int) -> dict:
    """``kernel`` run over ``n`` positions by its C++ entry point in ``library``, on copies of
    ``values`` (host arrays by name); returns the copies, as the kernel left them."""
    copies = {k: v.copy() for k, v in values.items()}
    c_type = {np.float32: "float", np.float64: "double"}[dtype]
    getattr(library, f"plainnet_{kernel.name}_{c_type}")(
        *(ctypes.c_void_p(copies[a].ctypes.data) for a in kernel.arguments), ctypes.c_long(n))
    return copies


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel", KERNELS, ids=[k.name for k in KERNELS])
def test_every_kernel_computes_in_c_what_the_fake_device_computes(
    devices, kernels_in_c, kernel, dtype
):
    """Run as compiled C++ (C's arithmetic, types and promotions), each kernel gives at
    every position what the fake device's interpretation gives (the form tested against
    the NumPy forms): to the last bit, but where exp or log are taken (C's libm against
    NumPy's, each within an ulp or two)."""
    rng = np.random.default_rng(7)
    n, c = 64, 5
    values = {}
    signed = not any(f in kernel.body for f in ("sqrt", "log", "/"))
    for name in kernel.inputs + kernel.outputs:
        if signed:  # both signs, zeros, infinities and NaN
            v = rng.uniform(-2.0, 2.0, n).astype(dtype)
            v[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0]
            values[name] = rng.permutation(v)
        else:  # positive: sqrt, log and / stay defined
            values[name] = rng.uniform(0.5, 2.0, n).astype(dtype)
    for name in kernel.integers:
        values[name] = np.full(n, c) if name == "c" else rng.integers(0, c, n)
    for name in kernel.raws:
        values[name] = rng.uniform(-3.0, 3.0, n * c).astype(dtype)
    in_c = _run_in_c(kernels_in_c, kernel, values, dtype, n)
    on_fake = {k: backend.to_device(v, "fake") for k, v in values.items()}
    backend.get_backend("fake").elementwise(kernel)(*(on_fake[a] for a in kernel.arguments))
    eps = np.finfo(dtype).eps
    for name in kernel.outputs:
        got, want = in_c[name], backend.to_numpy(on_fake[name])
        if "exp(" in kernel.body or "log(" in kernel.body:
            np.testing.assert_allclose(got, want, rtol=8 * eps, atol=8 * eps)
        else:
            np.testing.assert_array_equal(got, want)
        assert not np.array_equal(got, values[name], equal_nan=True)  # it wrote its output


def test_half_precision_takes_the_array_function_path(devices):
    w = pn.tensor(np.ones(4, np.float16), requires_grad=True, device="fake")
    w.grad = backend.to_device(np.full(4, 0.5, np.float16), "fake")
    Counts.log = []
    pn.optim.Adam([w], lr=0.1).step()
    launched, Counts.log = Counts.log, None
    assert "adam" not in launched
    assert backend.to_numpy(w.data).dtype == np.float16
    np.testing.assert_allclose(backend.to_numpy(w.data), 0.9, rtol=1e-3)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("bad name", ("x",), ("y",), "y = x;"), "identifiers"),
        (("k", ("x",), (), "x;"), "at least one output"),
        (("k", ("x",), ("x",), "x = x;"), "twice"),
        (("k", ("x", "i"), ("y",), "y = x;"), "reserved"),
        (("k", ("x",), ("y",), "y = x;", ("I",)), "reserved"),
        (("k", ("x",), ("y",), "y = x;", (), (), (), 4), "size is for kernels"),
        (("k", ("x",), (), "z[i] = x;", (), (), ("z",)), "needs the number of positions"),
    ],
)
def test_a_malformed_kernel_is_refused(args, match):
    with pytest.raises(ValueError, match=match):
        backend.ElementwiseKernel(*args)


def test_run_fused_names_a_missing_value(devices):
    y = backend.to_device(np.zeros(3, np.float32), "fake")
    kernel = backend.ElementwiseKernel("axpy", ("a", "x"), ("y",), "y += a * x;")
    with pytest.raises(TypeError, match=r"kernel 'axpy' needs a value for \['x'\]"):
        backend.run_fused(kernel, y, a=2.0, y=y)
    assert backend.run_fused(kernel, y, a=2.0, x=backend.to_device(np.ones(3, np.float32),
                                                                   "fake"), y=y)
    np.testing.assert_array_equal(backend.to_numpy(y), 2.0)


def test_cuda_compiles_kernels_with_cupys_declarations():
    """Without a GPU: the CUDA backend hands CuPy's ElementwiseKernel the declarations of
    every value (``T`` the arrays' type, ``raw`` whole arrays, ``I`` integers), the body and
    a name, once per kernel; and knows CuPy's compile error."""
    made = []

    class CompileException(Exception):
        pass

    class CuPy:
        cuda = types.SimpleNamespace(compiler=types.SimpleNamespace(
            CompileException=CompileException))

        @staticmethod
        def ElementwiseKernel(*args):
            made.append(args)
            return object()

    cuda = backend.CUDABackend()
    cuda._module = CuPy
    kernel = losses._CE_ROWS
    assert cuda.elementwise(kernel) is cuda.elementwise(kernel)
    assert made == [("T s, T m, raw T z, I label, I c", "T loss", kernel.body,
                     "plainnet_cross_entropy_rows")]
    assert kernel.arguments == ("s", "m", "z", "label", "c", "loss")
    assert CompileException in cuda.compile_errors()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("multi", MULTI, ids=[k.name for k in MULTI])
def test_every_multi_tensor_kernel_computes_in_c_each_tensors_update(
    devices, kernels_in_c, multi, dtype
):
    """Compiled as C++, the multi-tensor kernel's chain of branches gives every tensor, to the
    last bit, what the single kernel gives it alone (as the fake device computes it)."""
    rng = np.random.default_rng(8)
    values = {name: rng.uniform(0.5, 2.0, multi.size).astype(dtype)  # the same at each i
              for name in multi.inputs}
    for name in values:
        values[name][:] = values[name][0]
    for name in multi.raws + multi.raw_outputs:
        k = int(name.rsplit("_", 1)[1])
        values[name] = rng.uniform(0.5, 2.0, MULTI_SIZES[k]).astype(dtype)
    in_c = _run_in_c(kernels_in_c, multi, values, dtype, multi.size)
    single = backend.get_backend("fake").elementwise(multi.single)
    for k in range(len(MULTI_SIZES)):
        names = multi.values_of(k)
        on_fake = {}
        for name, ours in names.items():
            v = values[ours]
            on_fake[name] = backend.to_device(v if ours in multi.raws + multi.raw_outputs
                                              else v[: MULTI_SIZES[k]], "fake")
        single(*(on_fake[a] for a in multi.single.arguments))
        for name in multi.single.outputs:
            got = in_c[names[name]]
            np.testing.assert_array_equal(got, backend.to_numpy(on_fake[name]))
            assert not np.array_equal(got, values[names[name]])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((rules._ADAM, ("lr",), (3,)), "not all inputs"),
        ((rules._ADAM, ("grad",), (3, 0)), "positive sizes"),
    ],
)
def test_multi_tensor_refuses_what_it_cannot_make(args, match):
    with pytest.raises(ValueError, match=match):
        kernels.multi_tensor(*args)


# --------------------------------------------------------------------------- launched_together
AXPY = kernels.ElementwiseKernel("axpy", ("a", "x"), ("y",), "y += a * x;")


def _axpy_all(pairs, a=2.0):
    """``y += a x`` for each ``(x, y)`` on the fake device, inside one block; the launches'
    names."""
    Counts.log = []
    with kernels.launched_together():
        for x, y in pairs:
            assert backend.run_fused(AXPY, y, a=a, x=x, y=y)
    launched, Counts.log = Counts.log, None
    return launched


def _on_fake(*arrays):
    return [backend.to_device(np.asarray(v, np.float32), "fake") for v in arrays]


def test_launches_wait_and_go_together_in_chunks(devices):
    rng = np.random.default_rng(3)
    hosts = [(rng.standard_normal(s).astype(np.float32), rng.standard_normal(s).astype(np.float32))
             for s in [(3,), (2, 2)] + [(1,)] * 18]
    pairs = [tuple(_on_fake(x, y)) for x, y in hosts]
    assert _axpy_all([tuple(_on_fake([1.0], [1.0]))]) == ["axpy"]  # a first run: not held
    assert _axpy_all(pairs) == [f"axpy_x{kernels.MAX_TENSORS}", "axpy_x4"]
    for (x, y), (_, y_fake) in zip(hosts, pairs, strict=True):
        np.testing.assert_array_equal(backend.to_numpy(y_fake), y + np.float32(2.0) * x)


def test_waiting_launches_keep_their_order_and_their_numbers(devices):
    x, y, z, w = _on_fake([1.0, 2.0], [0.0, 0.0], [5.0, 5.0], [0.0, 0.0])
    _axpy_all([(x, y)])  # compiled; y = 2x
    # y is written twice: the first two launches go before the third waits
    assert _axpy_all([(x, y), (x, z), (x, y)]) == ["axpy_x2", "axpy"]
    np.testing.assert_array_equal(backend.to_numpy(y), [6.0, 12.0])
    np.testing.assert_array_equal(backend.to_numpy(z), [7.0, 9.0])
    Counts.log = []
    with kernels.launched_together():
        backend.run_fused(AXPY, y, a=1.0, x=x, y=y)
        backend.run_fused(AXPY, z, a=-1.0, x=x, y=z)
        with kernels.launched_together():  # nested: the outer block launches
            backend.run_fused(AXPY, w, a=1.0, x=x, y=w)
        assert Counts.log == []
    assert sorted(Counts.log) == ["axpy", "axpy_x2"]  # a = 1 (y and w) apart from a = -1
    Counts.log = None
    np.testing.assert_array_equal(backend.to_numpy(y), [7.0, 14.0])
    np.testing.assert_array_equal(backend.to_numpy(z), [6.0, 7.0])
    np.testing.assert_array_equal(backend.to_numpy(w), [1.0, 2.0])


def test_an_error_in_the_block_still_launches_what_waits(devices):
    x, y = _on_fake([1.0], [0.0])
    _axpy_all([(x, y)])
    with pytest.raises(RuntimeError, match="boom"), kernels.launched_together():
        backend.run_fused(AXPY, y, a=1.0, x=x, y=y)
        raise RuntimeError("boom")
    np.testing.assert_array_equal(backend.to_numpy(y), [3.0])


def test_only_plain_contiguous_launches_of_one_shape_wait(devices):
    x, y = _on_fake(np.ones((2, 3)), np.zeros((2, 3)))
    _axpy_all([(x, y)])
    Counts.log = []
    with kernels.launched_together():
        backend.run_fused(AXPY, y.T, a=1.0, x=x.T, y=y.T)  # not C-contiguous: now
        backend.run_fused(AXPY, y, a=1.0, x=x[0], y=y)  # broadcast input: now
        assert Counts.log == ["axpy", "axpy"]
    Counts.log = None
    np.testing.assert_array_equal(backend.to_numpy(y), 4.0)


def test_kernels_that_use_the_position_stay_single():
    assert rules._ADAM.plain and ops._RELU_BACKWARD.plain
    assert not finite.pair_kernel(2).plain  # reads i
    assert not losses._CE_BACKWARD.plain and not losses._CE_ROWS.plain
    with pytest.raises(ValueError, match="only plain elementwise"):
        kernels.multi_tensor(finite.pair_kernel(2), ("loss",), (3,))


def test_an_empty_array_does_not_wait(devices):
    x, y = _on_fake([1.0], [0.0])
    _axpy_all([(x, y)])
    empty = _on_fake(np.zeros(0), np.zeros(0))
    assert _axpy_all([(x, y), tuple(empty), (x, y)]) == ["axpy", "axpy", "axpy"]
    np.testing.assert_array_equal(backend.to_numpy(y), [6.0])


def test_a_launch_that_writes_what_a_waiting_one_reads_goes_after_it(devices):
    x, y, z = _on_fake([1.0], [0.0], [10.0])
    _axpy_all([(x, y)])  # compiled; y = 2
    Counts.log = []
    with kernels.launched_together():
        backend.run_fused(AXPY, y, a=1.0, x=x, y=y)  # waits: reads x
        backend.run_fused(AXPY, x, a=1.0, x=z, y=x)  # writes x: the first goes now
        assert Counts.log == ["axpy"]
    Counts.log = None
    np.testing.assert_array_equal(backend.to_numpy(y), [3.0])  # with x = 1, as written
    np.testing.assert_array_equal(backend.to_numpy(x), [11.0])
