"""Every differentiable op's gradient against central finite differences, in float64.

One table, ``CASES``: adding an op is one line there. Each case is checked on inputs that
hypothesis draws, over shapes that broadcast (scalar, (3,), (2, 3), (1, 3), (2, 1, 3)). The
scalar that is differentiated is ``sum(w * op(x...))`` with fixed, uneven weights ``w``, so
that a vjp that is only right for an all-ones upstream gradient (the classic softmax mistake)
fails. Ops with kinks draw values from a grid that keeps every value at least 1/16 away from
the kink, far beyond the finite-difference step.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import plainnet as pn

SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1, 3)]
PAIRS = list(itertools.product(SHAPES, SHAPES))

SMOOTH = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
POSITIVE = st.floats(0.3, 3.0)
NONZERO = st.one_of(st.floats(-2.0, -0.5), st.floats(0.5, 2.0))
# Two interleaved grids, 1/16 apart: values never sit on a kink at 0 or +-0.5, and a value
# from one grid never ties with a value from the other.
OFF_GRID = st.integers(-16, 15).map(lambda k: k / 8 + 1 / 16)
ON_GRID = st.integers(-16, 16).map(lambda k: k / 8)


@dataclass
class Case:
    """``fn(*tensors)`` on inputs of ``shapes`` whose entries come from ``elements``."""

    name: str
    fn: object
    shapes: tuple
    elements: tuple = ()
    unique: bool = False
    extra: dict = field(default_factory=dict)

    def strategy(self, k):
        return self.elements[k] if k < len(self.elements) else SMOOTH


def _id(shapes) -> str:
    return "|".join("x".join(map(str, s)) or "scalar" for s in shapes)


def unary(name, fn, elements=SMOOTH, shapes=SHAPES, unique=False):
    """One case per shape for an op of one input."""
    return [
        pytest.param(Case(name, fn, (s,), (elements,), unique), id=f"{name}[{_id((s,))}]")
        for s in shapes
    ]


def binary(name, fn, first=SMOOTH, second=SMOOTH, pairs=PAIRS):
    """One case per pair of shapes (all 25 broadcasting pairs by default)."""
    return [
        pytest.param(Case(name, fn, p, (first, second)), id=f"{name}[{_id(p)}]") for p in pairs
    ]


def single(name, fn, *shapes, elements=(), unique=False):
    """One case with the given input shapes."""
    return [pytest.param(Case(name, fn, shapes, tuple(elements), unique), id=name)]


def reductions(name, method, elements=SMOOTH, unique=False):
    """``x.<method>(axis, keepdims)`` for axis None, int, negative int and tuple."""
    cases = []
    for shape in SHAPES:
        axes = [None] + list(range(len(shape))) + ([-1] if shape else [])
        if len(shape) >= 2:
            axes += [(0, len(shape) - 1), tuple(range(len(shape)))]
        for axis, keep in itertools.product(axes, (False, True)):
            fn = (lambda a, k: lambda x: getattr(x, method)(axis=a, keepdims=k))(axis, keep)
            cid = f"{name}[{_id((shape,))},axis={axis},keepdims={keep}]"
            cases.append(pytest.param(Case(name, fn, (shape,), (elements,), unique), id=cid))
    return cases


def _pattern(shape):
    """A fixed boolean mask with both values (for where and masked indexing)."""
    n = int(np.prod(shape))
    return (np.arange(n) % 3 != 1).reshape(shape)


def _where(x, y):
    return pn.where(_pattern(np.broadcast_shapes(x.shape, y.shape)), x, y)


FULL = [(2, 3), (2, 1, 3), (3,)]

CASES = [
    # arithmetic, broadcasting over all pairs of shapes
    *binary("add", lambda x, y: x + y),
    *binary("sub", lambda x, y: x - y),
    *binary("mul", lambda x, y: x * y),
    *binary("div", lambda x, y: x / y, second=NONZERO),
    *binary("pow", lambda x, y: x ** y, first=POSITIVE),
    *binary("maximum", pn.maximum, first=OFF_GRID, second=ON_GRID),
    *binary("minimum", pn.minimum, first=OFF_GRID, second=ON_GRID),
    *binary("where", _where),
    *binary("add_fn", lambda x, y: pn.autodiff.ops.add(x, y)),
    # with constants on either side
    *unary("radd", lambda x: 1.5 + x),
    *unary("rsub", lambda x: 1.5 - x),
    *unary("rmul", lambda x: np.array([0.5, -2.0, 3.0]) * x),
    *unary("scale", lambda x: pn.autodiff.ops.scale(x, np.array([0.5, -2.0, 3.0]))),
    *unary("rdiv", lambda x: 2.0 / x, NONZERO),
    *unary("rpow", lambda x: 2.0 ** x),
    *unary("pow2", lambda x: x ** 2),
    *unary("pow3", lambda x: x ** 3),
    *unary("pow0", lambda x: x ** 0),
    *unary("pow1", lambda x: x ** 1),
    *unary("pow_half", lambda x: x ** 0.5, POSITIVE),
    *unary("pow_neg", lambda x: x ** -1.5, POSITIVE),
    *unary("pow_array", lambda x: x ** np.array([1.0, 2.0, 3.0]), POSITIVE),
    *unary("neg", lambda x: -x),
    *unary("pos", lambda x: +x),
    *unary("where_const", lambda x: pn.where(_pattern(x.shape), x, 0.25)),
    # matmul: 1-D, 2-D and batched (with broadcasting batch axes)
    *single("matmul[1d@1d]", lambda a, b: a @ b, (3,), (3,)),
    *single("matmul[2d@1d]", lambda a, b: a @ b, (2, 3), (3,)),
    *single("matmul[1d@2d]", lambda a, b: a @ b, (3,), (3, 2)),
    *single("matmul[2d@2d]", lambda a, b: a @ b, (2, 3), (3, 4)),
    *single("matmul[3d@2d]", lambda a, b: a @ b, (2, 2, 3), (3, 4)),
    *single("matmul[2d@3d]", lambda a, b: a @ b, (2, 3), (2, 3, 4)),
    *single("matmul[3d@3d]", lambda a, b: a @ b, (2, 2, 3), (2, 3, 4)),
    *single("matmul[bcast-batch]", lambda a, b: a @ b, (1, 2, 3), (2, 3, 4)),
    *single("matmul[1d@3d]", lambda a, b: a @ b, (3,), (2, 3, 4)),
    *single("matmul[3d@1d]", lambda a, b: a @ b, (2, 2, 3), (3,)),
    *single("rmatmul", lambda a: np.arange(6.0).reshape(2, 3) @ a, (3, 2)),
    # elementwise functions, as pn.* functions and as methods
    *unary("exp", pn.exp),
    *unary("exp_method", lambda x: x.exp()),
    *unary("log", pn.log, POSITIVE),
    *unary("log_method", lambda x: x.log(), POSITIVE),
    *unary("sqrt", pn.sqrt, POSITIVE),
    *unary("abs", pn.abs, OFF_GRID),
    *unary("abs_builtin", lambda x: abs(x), OFF_GRID),
    *unary("tanh_method", lambda x: x.tanh()),
    *unary("sigmoid_method", lambda x: x.sigmoid()),
    *unary("relu_method", lambda x: x.relu(), OFF_GRID),
    *unary("softplus_method", lambda x: x.softplus()),
    *unary("erf", pn.erf),
    *unary("clip", lambda x: pn.clip(x, -0.5, 0.5), OFF_GRID),
    *unary("clip_lo", lambda x: x.clip(-0.5, None), OFF_GRID),
    *unary("clip_hi", lambda x: x.clip(None, 0.5), OFF_GRID),
    # the foundation's activations, applied to Tensors
    *unary("act_sigmoid", pn.sigmoid),
    *unary("act_tanh", pn.tanh),
    *unary("act_relu", pn.relu, OFF_GRID),
    *unary("act_softplus", pn.softplus),
    *unary("act_gelu", pn.gelu),
    *unary("act_gelu_tanh", pn.get_activation("gelu", approximate="tanh")),
    *unary("act_elu", pn.elu, OFF_GRID),
    *unary("act_elu_alpha", pn.get_activation("elu", alpha=0.5), OFF_GRID),
    *unary("act_leaky_relu", pn.leaky_relu, OFF_GRID),
    *unary("act_leaky_relu_slope", pn.get_activation("leaky_relu", negative_slope=0.2),
           OFF_GRID),
    *unary("act_identity", pn.identity),
    *unary("act_step", lambda x: pn.step(x) * x, OFF_GRID),
    *unary("act_silu", pn.silu),
    *unary("act_mish", pn.mish),
    *unary("act_selu", pn.selu, OFF_GRID),
    *unary("act_celu", pn.get_activation("celu", alpha=0.7), OFF_GRID),
    *unary("act_hardtanh", pn.hardtanh, OFF_GRID),
    *unary("act_relu6", lambda x: pn.relu6(x * 4), OFF_GRID),
    *unary("act_hardswish", lambda x: pn.hardswish(x * 2), OFF_GRID),
    *unary("act_hardsigmoid", lambda x: pn.hardsigmoid(x * 2), OFF_GRID),
    *unary("act_softsign", pn.softsign),
    *unary("act_logsigmoid", pn.logsigmoid),
    # reductions
    *reductions("sum", "sum"),
    *reductions("mean", "mean"),
    *reductions("max", "max", OFF_GRID, unique=True),
    *reductions("min", "min", OFF_GRID, unique=True),
    *reductions("var", "var"),
    *unary("sum_fn", lambda x: pn.sum(x, axis=-1) if x.ndim else pn.sum(x), shapes=SHAPES),
    *unary("mean_fn", lambda x: pn.mean(x)),
    *unary("max_fn", lambda x: pn.max(x), OFF_GRID, unique=True),
    *unary("min_fn", lambda x: pn.min(x), OFF_GRID, unique=True),
    *unary("var_ddof", lambda x: pn.var(x, axis=-1, ddof=1), shapes=FULL),
    *unary("var_fn_tuple", lambda x: pn.var(x, axis=(0, -1), keepdims=True),
           shapes=[(2, 3), (2, 1, 3)]),
    # stable log-sum-exp family, axis-aware
    *unary("logsumexp", pn.logsumexp, shapes=FULL),
    *unary("logsumexp_axis0", lambda x: pn.logsumexp(x, axis=0), shapes=FULL),
    *unary("logsumexp_keepdims", lambda x: x.logsumexp(axis=-1, keepdims=True), shapes=FULL),
    *unary("logsumexp_all", lambda x: x.logsumexp(axis=None), shapes=FULL),
    *unary("softmax", pn.softmax, shapes=FULL),
    *unary("softmax_axis0", lambda x: pn.softmax(x, axis=0), shapes=FULL),
    *unary("softmax_method", lambda x: x.softmax(axis=-1), shapes=FULL),
    *unary("log_softmax", pn.log_softmax, shapes=FULL),
    *unary("log_softmax_axis0", lambda x: pn.log_softmax(x, axis=0), shapes=FULL),
    *unary("log_softmax_method", lambda x: x.log_softmax(axis=-1), shapes=FULL),
    # shapes
    *single("reshape", lambda x: x.reshape(3, 2), (2, 3)),
    *single("reshape_tuple", lambda x: pn.reshape(x, (6,)), (2, 1, 3)),
    *single("reshape_neg", lambda x: x.reshape((-1, 1)), (2, 3)),
    *single("flatten", lambda x: x.flatten(), (2, 1, 3)),
    *single("T", lambda x: x.T, (2, 3)),
    *single("T_3d", lambda x: x.T, (2, 1, 3)),
    *single("transpose", lambda x: pn.transpose(x), (2, 3)),
    *single("transpose_axes", lambda x: x.transpose((1, 2, 0)), (2, 1, 3)),
    *single("transpose_neg_axes", lambda x: x.transpose((-1, 0, 1)), (2, 1, 3)),
    *single("swapaxes", lambda x: pn.swapaxes(x, 0, -1), (2, 1, 3)),
    *single("squeeze", lambda x: x.squeeze(), (2, 1, 3)),
    *single("squeeze_axis", lambda x: pn.squeeze(x, axis=1), (2, 1, 3)),
    *single("squeeze_axis0", lambda x: x.squeeze(0), (1, 3)),
    *single("expand_dims", lambda x: pn.expand_dims(x, 0), (2, 3)),
    *single("expand_dims_neg", lambda x: x.expand_dims(-1), (3,)),
    *single("expand_dims_scalar", lambda x: x.expand_dims(0), ()),
    *single("broadcast_to", lambda x: x.broadcast_to((2, 2, 3)), (1, 3)),
    *single("concatenate", lambda a, b: pn.concatenate([a, b]), (2, 3), (1, 3)),
    *single("concatenate_axis", lambda a, b: pn.concatenate([a, b], axis=-1), (2, 3), (2, 1)),
    *single("concatenate_3", lambda a, b, c: pn.concatenate((a, b, c), axis=1),
            (2, 1, 3), (2, 2, 3), (2, 1, 3)),
    *single("concatenate_const", lambda a: pn.concatenate([a, np.ones((1, 3))]), (2, 3)),
    *single("stack", lambda a, b: pn.stack([a, b]), (2, 3), (2, 3)),
    *single("stack_axis", lambda a, b: pn.stack([a, b], axis=-1), (3,), (3,)),
    *single("stack_scalars", lambda a, b, c: pn.stack([a, b, c]), (), (), ()),
    # indexing: slices, integers, integer arrays (repeats accumulate), boolean masks
    *single("index_int", lambda x: x[1], (3,)),
    *single("index_neg_int", lambda x: x[-1], (2, 3)),
    *single("index_slice", lambda x: x[1:], (3,)),
    *single("index_step", lambda x: x[::-2], (3,)),
    *single("index_2d", lambda x: x[:, 1], (2, 3)),
    *single("index_tuple_int", lambda x: x[1, 2], (2, 3)),
    *single("index_ellipsis", lambda x: x[..., 0], (2, 1, 3)),
    *single("index_newaxis", lambda x: x[None, :, 0], (2, 1, 3)),
    *single("index_empty_tuple", lambda x: x[()], ()),
    *single("index_int_array", lambda x: x[np.array([2, 0])], (3,)),
    *single("index_repeated", lambda x: x[np.array([0, 0, 2, 0])], (3,)),
    *single("index_repeated_list", lambda x: x[[1, 0, 1]], (2, 3)),
    *single("index_repeated_2d", lambda x: x[np.array([0, 1, 1]), np.array([2, 0, 0])], (2, 3)),
    *single("index_mixed", lambda x: x[0, [0, 2, 2]], (2, 3)),
    *single("index_mask", lambda x: x[_pattern((2, 3))], (2, 3)),
    *single("index_mask_rows", lambda x: x[np.array([False, True])], (2, 3)),
    *single("index_mask_list", lambda x: x[[True, False, True]], (3,)),
    *single("index_tensor", lambda x: x[pn.tensor([1, 1])], (3,)),
    *single("index_twice", lambda x: x[0] * x[0] + x[1], (3,)),
]


settings.register_profile(
    "autodiff-ops",
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _weights(shape) -> np.ndarray:
    n = int(np.prod(shape))
    k = np.arange(n)
    return ((1.0 + 0.37 * (k % 5)) * np.where(k % 2, -1.0, 1.0)).reshape(shape)


def _draw_inputs(case: Case, data) -> list[np.ndarray]:
    return [
        data.draw(arrays(np.float64, s, elements=case.strategy(k), unique=case.unique),
                  label=f"x{k}")
        for k, s in enumerate(case.shapes)
    ]


@pytest.mark.parametrize("case", CASES)
@settings(settings.get_profile("autodiff-ops"))
@given(data=st.data())
def test_gradient_matches_finite_differences(case: Case, data):
    xs = _draw_inputs(case, data)
    out = case.fn(*(pn.tensor(x) for x in xs))
    w = _weights(np.shape(out.data))

    def f(*ts):
        return (case.fn(*ts) * w).sum()

    argnums = tuple(range(len(xs)))
    grads = pn.grad(f, argnums=argnums)(*xs)
    assert len(grads) == len(xs)
    for k, (x, g) in enumerate(zip(xs, grads, strict=True)):
        def f_k(xk, k=k):
            return f(*xs[:k], xk, *xs[k + 1:])

        num = pn.numerical_grad(f_k, x)
        assert isinstance(g, np.ndarray) and g.shape == x.shape and g.dtype == np.float64
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-6, err_msg=f"input {k}")


def test_table_covers_every_exported_op():
    names = " ".join(p.values[0].name for p in CASES)
    for op in ("add", "sub", "mul", "scale", "div", "pow", "matmul", "neg", "exp", "log", "sqrt",
               "abs", "tanh", "sigmoid", "relu", "softplus", "clip", "erf", "where", "maximum",
               "minimum", "sum", "mean", "max", "min", "var", "reshape", "transpose", "T",
               "squeeze", "expand_dims", "concatenate", "stack", "index", "logsumexp", "softmax",
               "log_softmax", "swapaxes", "broadcast_to", "act_gelu", "act_elu", "act_leaky_relu"):
        assert op in names, op


def test_every_activation_differentiates_on_tensors():
    covered = {p.values[0].name.removeprefix("act_").split("_")[0] for p in CASES}
    for name in pn.ACTIVATIONS:
        if name != "linear":
            assert name.split("_")[0] in covered, name


# --------------------------------------------------------------------------- second order
def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


A = np.array([[2.0, 0.5, -1.0], [0.3, 1.0, 0.2], [-0.4, 0.7, 3.0]])

SECOND_ORDER = {
    "cubic+cross": lambda x: (x ** 3).sum() + x[0] * x[1] * x[2],
    "rosenbrock": lambda x: _rosenbrock(x),
    "quadratic_form": lambda x: x @ (A @ x),
    "logsumexp": lambda x: pn.logsumexp(x),
    "log_softmax": lambda x: pn.log_softmax(x)[1],
    "softmax": lambda x: (pn.softmax(x) * np.array([1.0, -2.0, 0.5])).sum(),
    "tanh*sigmoid": lambda x: (x.tanh() * x.sigmoid()).sum(),
    "softplus": lambda x: (x.softplus() * x).sum(),
    "div": lambda x: (x / (1 + x * x)).sum(),
    "sqrt_log": lambda x: (pn.sqrt(x * x + 1) * pn.log(x * x + 2)).sum(),
    "exp_mean": lambda x: pn.exp(x * 0.5).mean() * x.sum(),
    "gelu": lambda x: pn.gelu(x).sum(),
    "gelu_tanh": lambda x: pn.get_activation("gelu", approximate="tanh")(x).sum(),
    "var": lambda x: pn.var(x) * x[0],
    "pow_tensor": lambda x: ((x * x + 1) ** (x * 0.3)).sum(),
    "index_concat": lambda x: pn.concatenate([x[1:], x[:1] ** 2]) @ x,
    "elu_where": lambda x: pn.elu(x * 3).sum() * x[0],
    "erf": lambda x: pn.erf(x).sum() ** 2,
}


def _fd_hessian(f, x, h=1e-5):
    g = pn.grad(f)
    cols = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        cols.append((g(x + e) - g(x - e)) / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
@settings(max_examples=5, deadline=None)
@given(x=arrays(np.float64, 3, elements=st.floats(-1.5, 1.5)
                .filter(lambda v: abs(v) > 0.05)))
def test_hessian_matches_finite_differences_of_grad(name, x):
    f = SECOND_ORDER[name]
    if name == "rosenbrock":
        x = x[:2]
    h = pn.hessian(f)(x)
    assert h.shape == x.shape + x.shape
    np.testing.assert_allclose(h, _fd_hessian(f, x), rtol=1e-5, atol=1e-5)


def test_hessian_of_rosenbrock_closed_form():
    x, y = 0.5, -0.25
    h = pn.hessian(_rosenbrock)(np.array([x, y]))
    expected = np.array([[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200.0]])
    np.testing.assert_allclose(h, expected, rtol=1e-12)


def test_hessian_of_quadratic_form_is_symmetric_part():
    x = np.array([0.3, -0.7, 1.1])
    np.testing.assert_allclose(pn.hessian(lambda v: v @ (A @ v))(x), A + A.T, rtol=1e-12)
