"""The engine's semantics: order, accumulation, freeing, no_grad, dtypes, kinks, the functional
API, gradient checking and debugging aids."""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np
import pytest

import plainnet as pn
from plainnet.autodiff.engine import Op, apply

# --------------------------------------------------------------------------- graph order


def test_chain_of_100000_ops_has_no_recursion_error():
    x = pn.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0001
        y = y + 0.5
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 50_000, rel=1e-9)


def test_functional_grad_through_a_long_chain():
    def f(x):
        for _ in range(100_000):
            x = x - 0.0
        return (x * x).sum()

    np.testing.assert_allclose(pn.grad(f)(np.array([1.5, -2.0])), [3.0, -4.0])


def test_diamond_graph_gets_every_path():
    x = pn.tensor(3.0, requires_grad=True)
    h = x * 2
    y = h * h + h  # dy/dx = (2h + 1) * 2
    y.backward()
    assert x.grad == pytest.approx((2 * 6 + 1) * 2)


def test_node_used_twice_gets_both_contributions():
    x = pn.tensor([1.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0])
    a = pn.tensor(2.0, requires_grad=True)
    (a + a + a).backward()
    assert a.grad == 3.0


# --------------------------------------------------------------------------- accumulation


def test_gradients_accumulate_until_zero_grad():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_leaf_gradients_are_separate_writable_arrays():
    a = pn.tensor([1.0, 2.0], requires_grad=True)
    b = pn.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad is not b.grad
    a.grad *= 10  # in place, as an optimizer would
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    g = pn.grad(lambda x: x.sum())(np.ones(3))
    g[0] = 5.0
    assert g.flags.writeable and g.shape == (3,)


def test_gradient_is_shaped_like_the_leaf():
    x = pn.tensor(np.ones((2, 1, 3)), requires_grad=True)
    (x * np.ones((4, 2, 5, 3))).sum().backward()
    assert x.grad.shape == (2, 1, 3)
    np.testing.assert_array_equal(x.grad, np.full((2, 1, 3), 20.0))
    s = pn.tensor(2.0, requires_grad=True)
    (s * s).backward()
    assert isinstance(s.grad, np.ndarray) and s.grad.shape == () and s.grad == 4.0


# --------------------------------------------------------------------------- seeds


def test_backward_on_non_scalar_needs_a_seed_and_suggests_sum():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"\.sum\(\)"):
        (x * 2).backward()


def test_backward_with_a_seed_gradient():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 40.0])
    with pytest.raises(ValueError, match="shape"):
        (x * x).backward(np.ones(3))


def test_backward_without_graph_raises():
    with pytest.raises(RuntimeError, match="requires_grad"):
        pn.tensor([1.0]).sum().backward()


# --------------------------------------------------------------------------- freeing


def test_graph_is_freed_after_backward():
    x = pn.tensor(2.0, requires_grad=True)
    y = x * x + 1
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = pn.tensor(2.0, requires_grad=True)
    y = x * x + 1
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad == 8.0
    with pytest.raises(RuntimeError, match="freed"):
        y.backward()


def test_freed_graph_releases_intermediates():
    x = pn.tensor(np.ones(4), requires_grad=True)
    h = x.exp()
    y = (h * 2).sum()
    y.backward()
    assert y._args is None and y._datas is None


# --------------------------------------------------------------------------- no_grad, detach


def test_no_grad_context_records_nothing():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    with pn.no_grad():
        assert not pn.is_grad_enabled()
        y = x * 2
        with pn.enable_grad():
            z = x * 2
    assert pn.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_no_grad_as_decorator():
    @pn.no_grad()
    def step(t):
        return t * 2

    y = step(pn.tensor([1.0], requires_grad=True))
    assert not y.requires_grad
    assert pn.is_grad_enabled()


def test_no_grad_restores_state_after_an_exception():
    with pytest.raises(KeyError):
        with pn.no_grad():
            raise KeyError("inside")
    assert pn.is_grad_enabled()


def test_grad_works_inside_no_grad():
    with pn.no_grad():
        g = pn.grad(lambda x: (x * x).sum())(np.array([1.0, 3.0]))
    np.testing.assert_array_equal(g, [2.0, 6.0])


def test_detach_cuts_the_graph_and_shares_data():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 3).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()  # d is a constant here
    y.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 6.0])
    assert np.shares_memory(x.detach().data, x.data)


# --------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_integer_tensors_cannot_require_grad(dtype):
    with pytest.raises(TypeError, match="floating-point"):
        pn.tensor(np.array([1, 0], dtype=dtype), requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        pn.tensor(np.array([1, 0], dtype=dtype)).requires_grad_()


def test_integer_data_is_rejected_and_floats_accepted():
    with pytest.raises(TypeError):
        pn.tensor([1, 2], requires_grad=True)
    assert pn.tensor([1, 2], requires_grad=True, dtype=float).requires_grad
    with pytest.raises(TypeError, match="numbers"):
        pn.tensor(["a", "b"])


F32_EXPRESSIONS = {
    "mul_py_float": lambda x: x * 2.5,
    "add_f64_array": lambda x: x + np.ones(3),
    "radd_f64_array": lambda x: np.ones(3) + x,
    "mul_np_float64": lambda x: x * np.float64(3.0),
    "rsub_np_float64": lambda x: np.float64(3.0) - x,
    "div_list": lambda x: x / [1.0, 2.0, 4.0],
    "rdiv_int_array": lambda x: np.array([1, 2, 3]) / (x + 2),
    "pow_f64": lambda x: x ** np.float64(2.0),
    "rpow": lambda x: 2.0 ** x,
    "matmul_f64": lambda x: x @ np.ones((3, 2)),
    "rmatmul_f64": lambda x: np.ones((2, 3)) @ x,
    "exp_log": lambda x: pn.log(pn.exp(x) + 1.0),
    "where_f64": lambda x: pn.where(np.array([True, False, True]), x, np.zeros(3)),
    "maximum_f64": lambda x: pn.maximum(x, np.full(3, 0.5)),
    "clip_np": lambda x: pn.clip(x, np.float64(-0.5), np.float64(0.5)),
    "concat_f64": lambda x: pn.concatenate([x, np.zeros(2)]),
    "stack_f64": lambda x: pn.stack([x, np.zeros(3)]),
    "mean_var": lambda x: x.mean() + x.var(),
    "softmax": lambda x: pn.log_softmax(x) * pn.softmax(x),
    "logsumexp": lambda x: pn.logsumexp(x),
    "activations": lambda x: pn.gelu(x) + pn.sigmoid(x) + pn.elu(x) + pn.tanh(x),
    "index": lambda x: x[np.array([0, 0, 2])],
}


@pytest.mark.parametrize("name", sorted(F32_EXPRESSIONS))
def test_float32_stays_float32_in_values_and_gradients(name):
    x = pn.tensor(np.array([0.5, -1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = F32_EXPRESSIONS[name](x)
    assert y.dtype == np.float32, y.dtype
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_float32_functional_gradients():
    x = np.array([0.5, -1.0], dtype=np.float32)
    assert pn.grad(lambda t: (t * np.ones(2) * 3.0).sum())(x).dtype == np.float32
    assert pn.hessian(lambda t: (t ** 3).sum())(x).dtype == np.float32


def test_mixed_tensors_promote_like_numpy():
    a = pn.tensor(np.ones(2, np.float32), requires_grad=True)
    b = pn.tensor(np.ones(2, np.float64), requires_grad=True)
    (a * b).sum().backward()
    assert (a * b).dtype == np.float64
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_astype_round_trip_keeps_each_dtype():
    x = pn.tensor(np.array([1.5, 2.5], dtype=np.float32), requires_grad=True)
    y = x.astype(np.float64) * np.array([2.0, 3.0])
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])


# --------------------------------------------------------------------------- mixing operands

OPERATORS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "**": operator.pow,
}
OTHERS = {
    "int": 2,
    "float": 1.5,
    "np.float64": np.float64(1.5),
    "np.int64": np.int64(2),
    "ndarray": np.array([1.5, 2.0, 0.5]),
    "list": [1.5, 2.0, 0.5],
    "0-d array": np.array(1.5),
}


@pytest.mark.parametrize("op", sorted(OPERATORS))
@pytest.mark.parametrize("kind", sorted(OTHERS))
@pytest.mark.parametrize("side", ["left", "right"])
def test_constants_on_either_side_of_every_operator(op, kind, side):
    fn = OPERATORS[op]
    other = OTHERS[kind]
    xv = np.array([0.5, 1.0, 2.0])

    def f(x):
        return fn(x, other) if side == "right" else fn(other, x)

    y = f(pn.tensor(xv, requires_grad=True))
    assert isinstance(y, pn.Tensor)
    np.testing.assert_allclose(y.data, f(xv) if side == "right" else fn(np.asarray(other), xv))
    assert pn.check_grad(lambda x: f(x).sum(), xv) < 1e-6


@pytest.mark.parametrize("other", [np.arange(6.0).reshape(2, 3), [[0.0, 1, 2], [3, 4, 5]]])
def test_matmul_with_constants_on_either_side(other):
    x = pn.tensor(np.ones((3, 2)), requires_grad=True)
    y = other @ x
    assert isinstance(y, pn.Tensor) and y.shape == (2, 2)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.asarray(other, float).sum(axis=0)[:, None]
                                  * np.ones((3, 2)))
    z = x.T @ np.asarray(other).T
    assert isinstance(z, pn.Tensor) and z.shape == (2, 2)


def test_ndarray_times_tensor_is_a_tensor():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x
    assert type(y) is pn.Tensor and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_comparisons_give_constant_tensors():
    x = pn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert isinstance(m, pn.Tensor) and not m.requires_grad
    np.testing.assert_array_equal(m.data, [False, True, True])
    np.testing.assert_array_equal((x == [1.0, 0.0, 3.0]).data, [True, False, True])
    np.testing.assert_array_equal((np.array([2.0, 2.0, 2.0]) <= x).data, [False, True, True])


def test_bad_operands_raise_type_error():
    x = pn.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="str"):
        x * "abc"
    with pytest.raises(TypeError):
        x + [1j, 2j]


# --------------------------------------------------------------------------- kinks


def test_relu_derivative_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(pn.grad(lambda t: pn.relu(t).sum())(x), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(pn.grad(lambda t: t.relu().sum())(x), [0.0, 0.0, 1.0])


def test_relu_passes_the_gradient_at_nan_as_pytorch():
    """PyTorch's ReLU backward zeroes the gradient where x <= 0 only: at a NaN it passes;
    so does the ReLU that Sequential runs inside a max pooling, and the two agree."""
    x = np.array([-1.0, np.nan, 2.0, 0.0])
    np.testing.assert_array_equal(pn.grad(lambda t: (pn.relu(t) * 3.0).sum())(x),
                                  [0.0, 3.0, 3.0, 0.0])
    images = np.array([[[[np.nan, 1.0], [2.0, -1.0]]], [[[-1.0, -2.0], [0.0, -3.0]]]])
    grads = []
    for fused in (True, False):
        model = pn.nn.Sequential(pn.nn.ReLU(), pn.nn.MaxPool2d(2))
        if not fused:
            model[0].register_forward_hook(lambda module, args, out: None)
        t = pn.tensor(images, requires_grad=True)
        model(t).sum().backward()
        grads.append(t.grad)
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[0][0, 0], [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(grads[0][1, 0], 0.0)


def test_abs_derivative_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(pn.grad(lambda t: pn.abs(t).sum())(x), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(pn.grad(lambda t: abs(t).sum())(x), [-1.0, 0.0, 1.0])


def test_max_and_min_ties_split_evenly():
    x = np.array([1.0, 3.0, 3.0, 3.0])
    np.testing.assert_allclose(pn.grad(lambda t: t.max())(x), [0, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(pn.grad(lambda t: pn.min(t))(-x), [0, 1 / 3, 1 / 3, 1 / 3])
    m = np.array([[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]])
    g = pn.grad(lambda t: (t.max(axis=1) * np.array([1.0, 10.0])).sum())(m)
    np.testing.assert_allclose(g, [[0.5, 0.5, 0.0], [0.0, 5.0, 5.0]])


def test_maximum_and_minimum_ties_split_evenly():
    gx, gy = pn.grad(lambda a, b: pn.maximum(a, b).sum(), argnums=(0, 1))(
        np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0]))
    np.testing.assert_array_equal(gx, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.5, 1.0, 0.0])
    gx, gy = pn.grad(lambda a, b: pn.minimum(a, b).sum(), argnums=(0, 1))(
        np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0]))
    np.testing.assert_array_equal(gx, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(gy, [0.5, 0.0, 1.0])


@pytest.mark.parametrize("name", sorted(pn.ACTIVATIONS))
def test_activation_gradients_on_tensors_match_their_derivative(name):
    act = pn.get_activation(name)
    x = np.array([-30.0, -2.0, -0.5, 0.0, 0.5, 2.0, 30.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow at +-30
        # the step's result is a constant (derivative 0): "+ 0 * t" keeps f connected to x
        g = pn.grad(lambda t: (act(t) + 0 * t).sum())(x)
    np.testing.assert_allclose(g, act.derivative(x), rtol=1e-12, atol=1e-300)


def test_clip_passes_gradient_on_the_bounds():
    g = pn.grad(lambda t: pn.clip(t, -1.0, 1.0).sum())(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])


UNSELECTED = {
    "log": (lambda x: pn.where(x.data > 0, pn.log(x), 0.0), [0.0, -1.0, 2.0], [0, 0, 0.5]),
    "sqrt": (lambda x: pn.where(x.data > 0, pn.sqrt(x), 0.0), [0.0, -1.0, 4.0], [0, 0, 0.25]),
    "reciprocal": (lambda x: pn.where(x.data != 0, 1 / x, 0.0), [0.0, 2.0, -1.0],
                   [0, -0.25, -1.0]),
    "pow_half": (lambda x: pn.where(x.data > 0, x ** 0.5, x), [-1.0, 0.0, 4.0], [1, 1, 0.25]),
    "exp_overflow": (lambda x: pn.where(x.data < 100, pn.exp(x), 1.0), [0.0, 1000.0],
                     [1.0, 0.0]),
    "x_log_x": (lambda x: pn.where(x.data > 0, x * pn.log(x), 0.0), [0.0, 1.0],
                [0.0, 1.0]),
    "tanh_of_log": (lambda x: pn.where(x.data > 0, pn.log(x).tanh(), 0.0), [-1.0, 1.0],
                    [0.0, 1.0]),
    "nan_branch": (lambda x: pn.where(x.data < 0, x, pn.sqrt(x - 1) * 2 + pn.log(x)),
                   [-3.0, 2.0], [1.0, 1.5]),
    "sigmoid_of_nan": (lambda x: pn.where(x.data > 0, pn.sigmoid(pn.log(x)) * x, -x),
                       [-2.0, 1.0], [-1.0, 0.75]),
}


@pytest.mark.parametrize("name", sorted(UNSELECTED))
def test_where_unselected_inf_or_nan_branch_does_not_poison(name):
    f, x, expected = UNSELECTED[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the forward computes log(0) etc.
        g = pn.grad(lambda t: f(t).sum())(np.array(x))
        t = pn.tensor(x, requires_grad=True)
        f(t).sum().backward()
    np.testing.assert_allclose(g, expected)
    np.testing.assert_allclose(t.grad, expected)


def test_where_guard_also_holds_for_second_derivatives():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        h = pn.hessian(lambda t: pn.where(t.data > 0, t * pn.log(t), 0.0).sum())(
            np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(h, np.diag([0.0, 1.0, 0.5]))


def test_a_real_singularity_still_shows():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = pn.grad(lambda t: pn.sqrt(t).sum())(np.array([0.0, 4.0]))
    assert g[0] == np.inf and g[1] == 0.25


def test_backward_emits_no_warnings_for_guarded_branches():
    x = pn.tensor([0.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = pn.where(x.data > 0, pn.log(x), 0.0).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y.backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5])


# --------------------------------------------------------------------------- functional API


def test_grad_and_value_and_grad():
    f = lambda x: (x ** 3).sum()  # noqa: E731
    x = np.array([1.0, -2.0])
    np.testing.assert_array_equal(pn.grad(f)(x), 3 * x ** 2)
    value, g = pn.value_and_grad(f)(x)
    assert isinstance(value, float) and value == -7.0
    np.testing.assert_array_equal(g, 3 * x ** 2)


def test_grad_argnums_int_negative_and_tuple():
    def f(a, b, c):
        return (a * b).sum() + (c ** 2).sum()

    a, b, c = np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0])
    np.testing.assert_array_equal(pn.grad(f, argnums=1)(a, b, c), a)
    np.testing.assert_array_equal(pn.grad(f, argnums=-1)(a, b, c), 2 * c)
    ga, gc = pn.grad(f, argnums=(0, 2))(a, b, c)
    np.testing.assert_array_equal(ga, b)
    np.testing.assert_array_equal(gc, 2 * c)
    value, (gb,) = pn.value_and_grad(f, argnums=(1,))(a, b, c)
    assert value == 36.0
    np.testing.assert_array_equal(gb, a)
    with pytest.raises(ValueError, match="argnums"):
        pn.grad(f, argnums=3)(a, b, c)
    with pytest.raises(TypeError, match="argnums"):
        pn.grad(f, argnums="a")


def test_grad_accepts_lists_ints_and_keyword_arguments():
    g = pn.grad(lambda x, scale=1.0: (x * x).sum() * scale)([1, 2], scale=2.0)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, [4.0, 8.0])
    assert pn.grad(lambda x: x * x)(3.0) == 6.0


def test_f_not_depending_on_one_of_several_arguments_gives_zeros_for_it():
    x = np.array([1.0, 2.0])
    _, (g0, g1) = pn.value_and_grad(lambda a, b: (b * 2).sum(), argnums=(0, 1))(x, x)
    np.testing.assert_array_equal(g0, [0.0, 0.0])
    np.testing.assert_array_equal(g1, [2.0, 2.0])
    np.testing.assert_array_equal(pn.hessian(lambda t: t.sum())(x), np.zeros((2, 2)))
    np.testing.assert_array_equal(pn.grad(lambda t: 0 * t.sum())(x), [0.0, 0.0])


@pytest.mark.parametrize(
    "f",
    [
        lambda t: 3.0,
        lambda t: pn.tensor(3.0),
        lambda t: math.exp(t[0].item()),
        lambda t: float(t.sum()),
        lambda t: t.sum().item() ** 2,
        lambda t: (t.data ** 2).sum(),
        lambda t: np.sum(np.asarray(t) ** 2),
        lambda t: t.detach().sum(),
    ],
    ids=["float", "constant", "math.exp", "float()", "item", "data", "asarray", "detach"],
)
def test_f_whose_output_left_the_graph_raises_instead_of_zeros(f):
    x = np.array([1.0, 2.0])
    for transform in (pn.grad, pn.value_and_grad, pn.hessian):
        with pytest.raises(TypeError, match="does not depend on its argument") as info:
            transform(f)(x)
        assert ".item()" in str(info.value) and "math" in str(info.value)


def test_gradient_descent_on_a_disconnected_function_fails_loudly():
    f = lambda x: math.exp(float(x[0].item()))  # noqa: E731
    with pytest.raises(TypeError, match="does not depend on its argument"):
        pn.optimize.gradient_descent(f, [1.0])
    with pytest.raises(TypeError, match="does not depend on its argument"):
        pn.optimize.minimize(f, [1.0], method="bfgs")


def test_non_scalar_output_raises_value_error():
    with pytest.raises(ValueError, match="scalar"):
        pn.grad(lambda t: t * 2)(np.ones(3))
    with pytest.raises(ValueError, match="scalar"):
        pn.value_and_grad(lambda t: t * 2)(np.ones(3))
    with pytest.raises(ValueError, match="scalar"):
        pn.hessian(lambda t: t * 2)(np.ones(3))


def test_jacobian_matches_closed_form():
    a = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]])
    x = np.array([0.3, -0.2, 0.9])
    np.testing.assert_allclose(pn.jacobian(lambda t: a @ t)(x), a)
    np.testing.assert_allclose(pn.jacobian(lambda t: t.exp())(x), np.diag(np.exp(x)))
    s = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(pn.jacobian(pn.softmax)(x), np.diag(s) - np.outer(s, s))
    j = pn.jacobian(lambda t: t.reshape(3, 1) * t)(x)
    assert j.shape == (3, 3, 3)


def test_hessian_closed_form_and_argnums():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(pn.hessian(lambda t: (t ** 3).sum())(x), np.diag(6 * x))
    h = pn.hessian(lambda c, t: (c * t ** 2).sum(), argnums=1)(np.array([1.0, 3.0]), x)
    np.testing.assert_allclose(h, np.diag([2.0, 6.0]))


def test_backward_create_graph_gives_differentiable_gradients():
    x = pn.tensor(2.0, requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    assert isinstance(x.grad, pn.Tensor)
    assert x.grad.data == 12.0
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad == pytest.approx(12.0)  # d/dx 3x^2 = 6x


# --------------------------------------------------------------------------- checking


def test_numerical_grad_matches_closed_form():
    x = np.array([0.5, -1.0, 2.0])
    num = pn.numerical_grad(lambda t: (t.exp() * t).sum(), x)
    np.testing.assert_allclose(num, np.exp(x) * (1 + x), rtol=1e-8)
    num = pn.numerical_grad(lambda t: (t ** 2).sum(), x, eps=1e-4)
    np.testing.assert_allclose(num, 2 * x, rtol=1e-8)
    with pytest.raises(ValueError, match="eps"):
        pn.numerical_grad(lambda t: t.sum(), x, eps=0.0)
    with pytest.raises(ValueError, match="scalar"):
        pn.numerical_grad(lambda t: t * 2, x)


def test_check_grad_is_small_for_right_and_large_for_wrong_gradients():
    x = np.array([0.3, -1.2, 2.0])
    assert pn.check_grad(lambda t: (t.tanh() * t.exp()).sum(), x) < 1e-7
    wrong = Op("sin_with_wrong_vjp", np.sin, lambda i, g, out, a: g * np.sin(a))
    assert pn.check_grad(lambda t: apply(wrong, t).sum(), x) > 0.1


# --------------------------------------------------------------------------- debugging


def test_detect_anomaly_names_the_forward_op():
    x = pn.tensor([-1.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError, match="forward of 'log'"):
            with pn.detect_anomaly():
                pn.log(x)
        pn.log(x)  # outside the context nothing is checked


def test_detect_anomaly_names_the_backward_op():
    x = pn.tensor([0.0, 1.0], requires_grad=True)
    y = (pn.sqrt(x) * 2).sum()  # the forward is finite; sqrt'(0) is not
    with pytest.raises(FloatingPointError, match="backward of 'sqrt'"):
        with pn.detect_anomaly():
            y.backward()


def test_detect_anomaly_as_decorator_and_quiet_when_finite():
    @pn.detect_anomaly()
    def run():
        x = pn.tensor([1.0, 2.0], requires_grad=True)
        (x.exp() * x).sum().backward()
        return x.grad

    np.testing.assert_allclose(run(), np.exp([1.0, 2.0]) * [2.0, 3.0])


def test_to_dot_names_every_op():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    x.name = "x"
    y = (x * 2 + pn.exp(x)).sum()
    dot = y.to_dot()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for label in ("mul", "add", "exp", "sum", '"x'):
        assert label in dot
    assert pn.to_dot(y) == dot
    assert dot.count("->") == 9  # 4 ops, each with an output edge; 5 input edges


def test_repr_shows_dtype_and_grad_fn():
    x = pn.tensor(np.ones(2, np.float32), requires_grad=True)
    assert "requires_grad=True" in repr(x) and "float32" in repr(x)
    assert "grad_fn=mul" in repr(x * 2)


def test_numpy_item_and_shape_helpers():
    x = pn.tensor([[1.0, 2.0]])
    assert isinstance(x.numpy(), np.ndarray) and x.shape == (1, 2) and x.ndim == 2
    assert x.sum().item() == 3.0 and math.isclose(float(x.sum()), 3.0)
    assert np.asarray(x).tolist() == [[1.0, 2.0]]


def test_no_grad_is_per_thread():
    import threading

    inside = threading.Event()
    release = threading.Event()

    def hold_no_grad():
        with pn.no_grad():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=hold_no_grad)
    worker.start()
    try:
        assert inside.wait(10)
        x = pn.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad, [2.0, 4.0])
        assert pn.is_grad_enabled()
    finally:
        release.set()
        worker.join()


# --------------------------------------------------------------------------- issue 16 fixes
@pytest.mark.parametrize("exponent", ["array", "tensor"])
def test_power_at_zero_to_the_zero_has_zero_gradient_not_nan(exponent):
    x = pn.tensor([0.0, 0.0, 2.0, 0.0], requires_grad=True)
    values = np.array([0.0, 1.0, 0.0, 2.0])
    y = pn.tensor(values, requires_grad=True) if exponent == "tensor" else values
    (x ** y).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0, 0.0])
    if exponent == "tensor":
        np.testing.assert_allclose(y.grad, [0.0, 0.0, np.log(2.0), 0.0], rtol=1e-15)


def test_power_with_tensor_exponent_second_derivative_is_finite():
    h = pn.hessian(lambda t: (t ** np.array([0.0, 3.0])).sum())(np.array([0.0, 2.0]))
    np.testing.assert_array_equal(h, [[0.0, 0.0], [0.0, 12.0]])


def _clip_grads(lo_value, hi_value):
    x = pn.tensor([-2.0, 0.0, 0.5, 1.0, 2.0, 3.0, 0.0, 1.0, 1.0], requires_grad=True)
    lo = None if lo_value is None else pn.tensor(lo_value, requires_grad=True)
    hi = None if hi_value is None else pn.tensor(hi_value, requires_grad=True)
    out = pn.clip(x, lo, hi)
    out.sum().backward()
    return out.data, x.grad, None if lo is None else lo.grad, None if hi is None else hi.grad


LO = [0.0, 0.0, 0.0, 0.0, 2.5, 2.0, 1.0, 1.0, 1.0]
HI = [1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 2.0]


def test_clip_with_tensor_bounds_gives_the_bounds_gradients():
    out, gx, glo, ghi = _clip_grads(LO, HI)
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.5, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(gx, [0, 1, 1, 1, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(glo, [1, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(ghi, [0, 0, 0, 0, 1, 1, 0, 0, 0])
    _, gx, glo, _ = _clip_grads(0.25, None)  # a 0-d Tensor bound: its gradient summed
    assert glo.shape == () and float(glo) == 3.0
    np.testing.assert_array_equal(gx, [0, 0, 1, 1, 1, 1, 0, 1, 1])


@pytest.mark.parametrize("bounds", [(LO, HI), (LO, None), (None, HI)])
def test_clip_with_tensor_bounds_equals_torch_clamp(bounds):
    torch = pytest.importorskip("torch")
    out, gx, glo, ghi = _clip_grads(*bounds)
    x = torch.tensor([-2.0, 0.0, 0.5, 1.0, 2.0, 3.0, 0.0, 1.0, 1.0], dtype=torch.float64,
                     requires_grad=True)
    lo, hi = (None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
              for b in bounds)
    ref = torch.clamp(x, lo, hi)
    ref.sum().backward()
    np.testing.assert_array_equal(out, ref.detach().numpy())
    np.testing.assert_array_equal(gx, x.grad.numpy())
    for ours, theirs in ((glo, lo), (ghi, hi)):
        if theirs is not None:
            np.testing.assert_array_equal(ours, theirs.grad.numpy())


def test_clip_gradient_check_with_broadcast_tensor_bounds():
    x = np.linspace(-2, 2, 12).reshape(3, 4) + 0.01
    lo = np.array([[-1.0], [-0.5], [0.1]])
    hi = np.array([1.3, 0.7, 1.1, 0.45])
    for k, arg in enumerate((x, lo, hi)):
        def f(v, k=k):
            args = [x, lo, hi]
            args[k] = v
            return (pn.clip(*args) * np.arange(12.0).reshape(3, 4)).sum()

        assert pn.check_grad(f, arg) < 1e-8


LARGE_TIED = [[1e17, 1e17], [-3e300, -3e300], [1e308, 1e308]]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_softmax_keeps_the_log_sum_term_at_large_tied_logits(dtype):
    rows = np.array([[1e17, 1e17], [-3e38, -3e38]] if dtype == np.float32 else LARGE_TIED, dtype)
    expected = np.full(rows.shape, -np.log(2.0))
    np.testing.assert_allclose(pn.log_softmax(rows), expected, rtol=1e-6)  # array path
    t = pn.tensor(rows, requires_grad=True)
    y = t.log_softmax()  # the op
    np.testing.assert_allclose(y.data, expected, rtol=1e-6)
    (y * np.array([1.0, 0.0], dtype)).sum().backward()
    np.testing.assert_allclose(t.grad, np.tile([0.5, -0.5], (len(rows), 1)), rtol=1e-6)
    np.testing.assert_allclose(pn.nn.LogSoftmax()(pn.tensor(rows)).data, expected, rtol=1e-6)
    assert y.dtype == dtype


def test_log_softmax_matches_the_shifted_formula_and_torch_at_large_logits():
    x = np.array([[1e17, 1e17, 1e17 - 2**10], [5e15, 5e15 + 2.0, 5e15 - 4.0]])
    m = x.max(axis=1, keepdims=True)
    expected = (x - m) - np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(pn.log_softmax(x), expected, rtol=1e-15)
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(pn.log_softmax(x), torch.log_softmax(torch.tensor(x), 1).numpy(),
                               rtol=1e-14)


def test_cross_entropy_with_probability_targets_at_large_tied_logits():
    logits = pn.tensor([[1e17, 1e17], [0.0, 0.0]], requires_grad=True)
    q = np.array([[0.5, 0.5], [1.0, 0.0]])
    loss = pn.losses.cross_entropy(logits, q, reduction="none")
    np.testing.assert_allclose(loss.data, [np.log(2.0), np.log(2.0)], rtol=1e-15)
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad, [[0.0, 0.0], [-0.5, 0.5]], atol=1e-15)
