"""The tensor ops of issue 16 (reductions and scans, elementwise, indexing and assembly,
einsum): gradients and second derivatives against central finite differences in float64,
float32 kept, their conventions at ties, zeros and kinks, and clear errors for bad input.

Each case in ``CASES`` is ``fn(*tensors)`` on inputs of odd (and, for ops of two inputs,
broadcasting) shapes. The scalar that is differentiated is ``sum(w * fn(x...))`` with fixed
uneven weights ``w``, so a vjp that is only right for an all-ones upstream gradient fails.
"""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet.autodiff import ops

RNG = np.random.default_rng(16)


def normal(*shape):
    return RNG.standard_normal(shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def with_zeros(*shape):
    x = normal(*shape)
    x.reshape(-1)[:: 3] = 0.0  # zeros in several places, two in some slices
    return x


def distinct(*shape):
    """Values at least 0.05 apart (sort, max and topk have no ties to break)."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.1 - n * 0.05).reshape(shape) + 0.013


IDX = np.array([[0, 2, 2, 1], [1, 1, 0, 0]])
MASK = normal(3, 4) > 0

CASES = {
    # reductions and scans
    "std": (lambda x: ops.std(x), [normal(2, 3, 1)]),
    "std_axis_ddof": (lambda x: ops.std(x, axis=(0, 2), ddof=1, keepdims=True),
                      [normal(3, 2, 4)]),
    "std_dim": (lambda x: x.std(dim=-1), [normal(4, 5)]),
    "prod": (lambda x: ops.prod(x, axis=1), [normal(3, 4)]),
    "prod_zeros": (lambda x: ops.prod(x, axis=-1), [with_zeros(3, 5)]),
    "prod_all_zeros": (lambda x: ops.prod(x), [with_zeros(2, 3)]),
    "prod_tuple_axis": (lambda x: x.prod(axis=(0, 2), keepdims=True), [with_zeros(2, 3, 2)]),
    "cumsum": (lambda x: ops.cumsum(x, 1), [normal(2, 4, 1)]),
    "cumsum_flat": (lambda x: x.cumsum(), [normal(2, 3)]),
    "cumprod": (lambda x: ops.cumprod(x, dim=0), [normal(4, 3)]),
    "cumprod_zeros": (lambda x: ops.cumprod(x, axis=1), [with_zeros(3, 5)]),
    "cumprod_three_zeros": (lambda x: ops.cumprod(x), [np.array([1.2, 0.0, 1.5, 0.0, 2.0, 0.0,
                                                                 -1.0])]),
    "prod_three_zeros": (lambda x: ops.prod(x), [np.array([0.0, 1.5, 0.0, -2.0, 0.0])]),
    "norm_2": (lambda x: ops.norm(x, 2, axis=1), [normal(3, 4)]),
    "norm_fro": (lambda x: x.norm(), [normal(2, 3, 1)]),
    "norm_1": (lambda x: ops.norm(x, 1, axis=0, keepdims=True), [distinct(3, 4)]),
    "norm_inf": (lambda x: ops.norm(x, np.inf, axis=-1), [distinct(3, 4)]),
    "norm_-inf": (lambda x: ops.norm(x, -np.inf), [distinct(5)]),
    "sort": (lambda x: ops.sort(x, axis=1)[0], [distinct(3, 4)]),
    "sort_descending": (lambda x: x.sort(dim=0, descending=True)[0], [distinct(3, 4)]),
    "topk": (lambda x: ops.topk(x, 2)[0], [distinct(2, 5)]),
    "median": (lambda x: ops.median(x), [distinct(2, 3)]),
    "median_dim": (lambda x: x.median(dim=0, keepdims=True)[0], [distinct(4, 3)]),
    "topk_smallest": (lambda x: x.topk(3, dim=0, largest=False)[0], [distinct(4, 2)]),
    # elementwise
    "sin": (ops.sin, [normal(2, 3)]),
    "cos": (lambda x: x.cos(), [normal(3, 1)]),
    "tan": (ops.tan, [RNG.uniform(-1.2, 1.2, (2, 3))]),
    "log1p": (lambda x: x.log1p(), [positive(3, 2) - 0.4]),
    "expm1": (ops.expm1, [normal(4)]),
    "log2": (ops.log2, [positive(2, 3)]),
    "log10": (lambda x: x.log10(), [positive(3)]),
    "square": (lambda x: x.square(), [normal(2, 1, 3)]),
    "rsqrt": (ops.rsqrt, [positive(2, 3)]),
    "reciprocal": (lambda x: x.reciprocal(), [positive(3) * np.array([1, -1, 1])]),
    # indexing and assembly
    "gather": (lambda x: ops.gather(x, 0, IDX), [normal(3, 4)]),
    "gather_smaller": (lambda x: x.gather(1, IDX[:, :2]), [normal(3, 4)]),
    "take_along_axis": (lambda x: ops.take_along_axis(x, IDX[:1, :3], 1), [normal(3, 4)]),
    "scatter_add": (lambda x, s: ops.scatter_add(x, 0, IDX, s), [normal(3, 4), normal(3, 5)]),
    "scatter_add_dim1": (lambda x, s: x.scatter_add(1, IDX[:, :3], s), [normal(2, 4),
                                                                         normal(2, 3)]),
    "index_select": (lambda x: ops.index_select(x, 1, [3, 0, 3]), [normal(2, 4)]),
    "masked_fill": (lambda x: ops.masked_fill(x, MASK, -1.5), [normal(3, 4)]),
    "masked_fill_tensor": (lambda x, v: x.masked_fill(MASK[0], v), [normal(3, 4), normal()]),
    "tile": (lambda x: ops.tile(x, (2, 1, 3)), [normal(3, 2)]),
    "repeat": (lambda x: x.repeat(2, 1, 3), [normal(3, 2)]),
    "repeat_interleave": (lambda x: ops.repeat_interleave(x, [1, 0, 2], axis=0),
                          [normal(3, 2)]),
    "repeat_interleave_flat": (lambda x: x.repeat_interleave(2), [normal(2, 2)]),
    "flip": (lambda x: ops.flip(x, 1), [normal(3, 4)]),
    "flip_all": (lambda x: x.flip(), [normal(2, 3, 1)]),
    "roll": (lambda x: ops.roll(x, (1, -2), (0, 1)), [normal(3, 4)]),
    "roll_flat": (lambda x: x.roll(2), [normal(2, 3)]),
    "split": (lambda x: ops.split(x, 3, 1)[1], [normal(2, 5)]),
    "split_sizes": (lambda x: x.split([1, 3], dim=0)[1], [normal(4, 2)]),
    "chunk": (lambda x: ops.chunk(x, 2, 0)[1], [normal(3, 2)]),
    "pad_constant": (lambda x: ops.pad(x, ((1, 2), (2, 1)), constant_values=0.5),
                     [normal(3, 4)]),
    "pad_reflect": (lambda x: ops.pad(x, 2, mode="reflect"), [normal(3, 4)]),
    "pad_edge": (lambda x: ops.pad(x, ((0, 0), (3, 1)), mode="edge"), [normal(2, 3)]),
    "pad_wrap": (lambda x: ops.pad(x, (1, 2), mode="wrap"), [normal(3, 2)]),
    "torch_pad_replicate": (lambda x: pn.nn.functional.pad(x, (1, 2, 0, 1), "replicate"),
                            [normal(2, 3, 4)]),
    "torch_pad_reflect": (lambda x: pn.nn.functional.pad(x, (2, 1), mode="reflect"),
                          [normal(2, 4)]),
    "tril": (lambda x: ops.tril(x, 1), [normal(2, 3, 4)]),
    "triu": (lambda x: x.triu(-1), [normal(4, 3)]),
    "diag_extract": (lambda x: ops.diag(x, -1), [normal(3, 4)]),
    "diag_embed": (lambda x: x.diag(1), [normal(3)]),
    "outer": (ops.outer, [normal(3), normal(2, 2)]),
    "tensordot": (lambda a, b: ops.tensordot(a, b, ([0], [1])), [normal(3, 4), normal(2, 3)]),
    "tensordot_int": (lambda a, b: ops.tensordot(a, b, 2), [normal(2, 3, 4), normal(3, 4)]),
    # einsum
    "einsum_matmul": (lambda a, b: ops.einsum("ij,jk", a, b), [normal(3, 4), normal(4, 2)]),
    "einsum_trace": (lambda a: ops.einsum("ii", a), [normal(3, 3)]),
    "einsum_diagonal": (lambda a: ops.einsum("ii->i", a), [normal(3, 3)]),
    "einsum_ellipsis": (lambda a, b: ops.einsum("...ij,...j->...i", a, b),
                        [normal(2, 1, 3, 4), normal(5, 4)]),
    "einsum_broadcast_one": (lambda a, b: ops.einsum("ij,ij->ij", a, b),
                             [normal(2, 1), normal(2, 3)]),
    "einsum_summed_alone": (lambda a, b: ops.einsum("ij,k->i", a, b), [normal(3, 2), normal(2)]),
    "einsum_repeated_kept": (lambda a: ops.einsum("iij->ji", a), [normal(3, 3, 2)]),
    "einsum_three": (lambda a, b, c: ops.einsum("ab,bc,cd->ad", a, b, c),
                     [normal(2, 3), normal(3, 4), normal(4, 2)]),
    "einsum_implicit_sorted": (lambda a: ops.einsum("ba", a), [normal(2, 3)]),
}


def _weights(out):
    return RNG.standard_normal(np.shape(out))


def _scalar(fn, w):
    def f(*xs):
        return (fn(*xs) * w).sum()

    return f


def _numeric(f, arrays, k):
    def fk(xk):
        xs = [pn.tensor(a) for a in arrays]
        xs[k] = pn.tensor(xk)
        return float(f(*xs))

    return pn.numerical_grad(fk, arrays[k])


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_match_finite_differences(name):
    fn, arrays = CASES[name]
    w = _weights(fn(*[pn.tensor(a) for a in arrays]))
    f = _scalar(fn, w)
    grads = pn.grad(f, argnums=tuple(range(len(arrays))))(*arrays)
    for k, a in enumerate(arrays):
        assert grads[k].shape == a.shape
        np.testing.assert_allclose(grads[k], _numeric(f, arrays, k), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(CASES))
def test_second_derivatives_match_finite_differences(name):
    """The vjps are written with ops: the Hessian (the gradient of the gradient) is right."""
    fn, arrays = CASES[name]
    w = _weights(fn(*[pn.tensor(a) for a in arrays]))
    f = _scalar(fn, w)
    x0 = arrays[0]

    def f0(x):
        return f(x, *[pn.tensor(a) for a in arrays[1:]])

    hess = pn.hessian(f0)(x0).reshape(x0.size, x0.size)
    grad = pn.grad(f0)
    h = 1e-5
    numeric = np.empty_like(hess)
    for j in range(x0.size):
        step = np.zeros(x0.size)
        step[j] = h
        up = grad(x0 + step.reshape(x0.shape)).reshape(-1)
        down = grad(x0 - step.reshape(x0.shape)).reshape(-1)
        numeric[:, j] = (up - down) / (2 * h)
    np.testing.assert_allclose(hess, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_float32_stays_float32(name):
    fn, arrays = CASES[name]
    xs = [pn.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    out = fn(*xs)
    assert out.dtype == np.float32
    (out * 1.5).sum().backward()
    for x in xs:
        assert x.grad.dtype == np.float32


ARRAY_CASES = [
    "std", "std_axis_ddof", "prod", "prod_zeros", "cumsum", "cumprod", "norm_2", "norm_1",
    "sort", "topk", "sin", "tan", "expm1", "log2", "rsqrt", "gather", "take_along_axis",
    "scatter_add", "index_select", "masked_fill", "tile", "repeat_interleave", "flip", "roll",
    "split", "chunk", "pad_constant", "pad_reflect", "tril", "diag_extract", "outer",
    "tensordot", "einsum_matmul", "einsum_ellipsis",
]


@pytest.mark.parametrize("name", ARRAY_CASES)
def test_arrays_give_the_tensor_values(name):
    """On plain arrays each function computes the same values, without a graph."""
    fn, arrays = CASES[name]
    on_arrays = fn(*arrays)
    assert not isinstance(on_arrays, pn.Tensor)
    np.testing.assert_allclose(on_arrays, fn(*[pn.tensor(a) for a in arrays]).data)


# --------------------------------------------------------------------------- conventions
@pytest.mark.parametrize("op", [ops.sign, ops.floor, ops.ceil, ops.round])
def test_piecewise_constant_ops_have_zero_gradient(op):
    x = pn.tensor([-1.5, -0.2, 0.0, 0.5, 2.5], requires_grad=True)
    y = op(x)
    np.testing.assert_array_equal(y.data, getattr(np, op.__name__)(x.data))
    with np.errstate(invalid="ignore"):  # sign(0) * inf in the forward
        (y * np.array([1.0, 2.0, np.inf, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(5))  # zero, even under an inf gradient


def test_round_decimals_and_halves_to_even():
    x = pn.tensor([0.5, 1.5, 2.5, 1.2345])
    np.testing.assert_allclose(x.round().data, [0.0, 2.0, 2.0, 1.0])
    np.testing.assert_allclose(ops.round(x, decimals=2).data, [0.5, 1.5, 2.5, 1.23])


def test_prod_gradient_with_zeros_is_the_product_of_the_others():
    x = pn.tensor([[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 1.0], [1.0, 2.0, 3.0, 4.0]],
                  requires_grad=True)
    x.prod(axis=1).sum().backward()
    expected = [[0.0, 24.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [24.0, 12.0, 8.0, 6.0]]
    np.testing.assert_array_equal(x.grad, expected)


def test_cumprod_gradient_with_a_zero():
    x = pn.tensor([2.0, 0.0, 3.0], requires_grad=True)
    ops.cumprod(x).sum().backward()  # y = (2, 0, 0): dy/dx0 = 1, dy/dx1 = 2 + 2*3, dy/dx2 = 0
    np.testing.assert_array_equal(x.grad, [1.0, 8.0, 0.0])


@pytest.mark.parametrize("p", [1, 2, "fro", np.inf, -np.inf])
def test_norm_gradient_at_zero_is_zero(p):
    x = pn.tensor(np.zeros((2, 3)), requires_grad=True)
    n = ops.norm(x, p, axis=1)
    np.testing.assert_array_equal(n.data, [0.0, 0.0])
    n.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


def test_norm_values_match_numpy():
    x = normal(3, 4)
    for p, ord_ in [(1, 1), (2, 2), ("fro", 2), (np.inf, np.inf), (-np.inf, -np.inf),
                    (0, 0)]:
        np.testing.assert_allclose(ops.norm(pn.tensor(x), p, axis=1).data,
                                   np.linalg.norm(x, ord_, axis=1))
    np.testing.assert_allclose(ops.norm(x), np.linalg.norm(x))


def test_std_of_a_constant_slice_has_zero_gradient():
    x = pn.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]], requires_grad=True)
    s = x.std(axis=1)
    np.testing.assert_allclose(s.data, np.std(x.data, axis=1))
    s.sum().backward()
    np.testing.assert_array_equal(x.grad[0], [0.0, 0.0, 0.0])
    assert np.all(np.isfinite(x.grad))


def test_argmax_argmin_are_integer_and_take_the_first_tie():
    x = pn.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 0.0]], requires_grad=True)
    a = x.argmax(dim=1)
    assert isinstance(a, pn.Tensor) and a.dtype.kind == "i" and not a.requires_grad
    np.testing.assert_array_equal(a.data, [1, 0])
    np.testing.assert_array_equal(ops.argmin(x, axis=1).data, [0, 1])
    assert int(x.argmax()) == 1
    assert ops.argmax(x, axis=0, keepdims=True).shape == (1, 3)
    np.testing.assert_array_equal(ops.argmax(x.data, axis=1), [1, 0])  # arrays stay arrays


def test_sort_is_stable_in_both_directions():
    x = pn.tensor([2.0, 1.0, 2.0, 1.0, 3.0])
    values, indices = ops.sort(x)
    np.testing.assert_array_equal(values.data, [1, 1, 2, 2, 3])
    np.testing.assert_array_equal(indices.data, [1, 3, 0, 2, 4])
    values, indices = x.sort(descending=True)
    np.testing.assert_array_equal(values.data, [3, 2, 2, 1, 1])
    np.testing.assert_array_equal(indices.data, [4, 0, 2, 1, 3])
    _, ints = ops.sort(pn.tensor(np.array([5, -9223372036854775808, 5])), descending=True)
    np.testing.assert_array_equal(ints.data, [0, 2, 1])  # no overflow at the int64 minimum


def test_sort_gradient_follows_the_values():
    x = pn.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, _ = ops.sort(x)
    (values * pn.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [100.0, 1.0, 10.0])


def test_topk_values_and_indices():
    x = pn.tensor([[1.0, 5.0, 3.0, 5.0], [0.0, -1.0, 2.0, 1.0]])
    values, indices = ops.topk(x, 2)
    np.testing.assert_array_equal(values.data, [[5.0, 5.0], [2.0, 1.0]])
    np.testing.assert_array_equal(indices.data, [[1, 3], [2, 3]])
    assert ops.topk(x, 0)[0].shape == (2, 0)


def test_repeated_gather_indices_accumulate():
    x = pn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ops.gather(x, 0, [0, 0, 2, 0]).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


def test_scatter_add_matches_a_loop():
    x, src = normal(3, 4), normal(2, 4)
    out = ops.scatter_add(pn.tensor(x), 0, IDX, pn.tensor(src)).data
    expected = x.copy()
    for i in range(2):
        for j in range(4):
            expected[IDX[i, j], j] += src[i, j]
    np.testing.assert_allclose(out, expected)


def test_split_and_chunk_pieces():
    x = pn.tensor(np.arange(10.0))
    assert [p.shape for p in ops.split(x, 4)] == [(4,), (4,), (2,)]
    assert [p.shape for p in ops.chunk(x, 3)] == [(4,), (4,), (2,)]
    assert [p.shape for p in ops.chunk(pn.tensor(np.arange(6.0)), 4)] == [(2,), (2,), (2,)]
    np.testing.assert_array_equal(ops.cat(ops.split(x, [3, 7]), dim=0).data, x.data)


@pytest.mark.parametrize(("mode", "numpy_mode"), [("constant", "constant"), ("reflect", "reflect"),
                                                   ("replicate", "edge"), ("edge", "edge"),
                                                   ("circular", "wrap")])
def test_pad_values_match_numpy(mode, numpy_mode):
    x = normal(3, 4)
    widths = ((1, 2), (2, 0))
    np.testing.assert_array_equal(ops.pad(pn.tensor(x), widths, mode=mode).data,
                                  np.pad(x, widths, mode=numpy_mode))


def test_torch_pad_reads_the_last_axis_first():
    x = pn.tensor(np.ones((2, 3)))
    assert pn.nn.functional.pad(x, (1, 2)).shape == (2, 6)
    assert pn.nn.functional.pad(x, (1, 2, 3, 0), value=7.0).shape == (5, 6)
    assert float(pn.nn.functional.pad(x, (0, 0, 1, 0), value=7.0)[0, 0]) == 7.0


def test_diag_and_triangles_match_numpy():
    m = normal(3, 4)
    for k in (-2, 0, 1, 5):
        np.testing.assert_array_equal(ops.diag(pn.tensor(m), k).data, np.diag(m, k))
        np.testing.assert_array_equal(ops.tril(pn.tensor(m), k).data, np.tril(m, k))
        np.testing.assert_array_equal(ops.triu(pn.tensor(m), k).data, np.triu(m, k))
    np.testing.assert_array_equal(ops.diag(pn.tensor(m[0]), -1).data, np.diag(m[0], -1))


@pytest.mark.parametrize(
    ("subscripts", "shapes"),
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("ij,jk", [(2, 3), (3, 4)]),
        ("i,i", [(3,), (3,)]),
        ("i,j", [(3,), (2,)]),
        ("ii", [(3, 3)]),
        ("ii->i", [(3, 3)]),
        ("ij->", [(2, 3)]),
        ("ji", [(2, 3)]),
        ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
        ("...i,...i", [(2, 1, 3), (4, 3)]),
        ("b...,b->...", [(2, 3, 4), (2,)]),
        ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
        (" i j , j k -> i k ", [(2, 3), (3, 4)]),
        ("iij->j", [(3, 3, 2)]),
        ("ab,cd,bc->ad", [(2, 3), (4, 2), (3, 4)]),
    ],
)
def test_einsum_values_match_numpy(subscripts, shapes):
    arrays = [normal(*s) for s in shapes]
    np.testing.assert_allclose(ops.einsum(subscripts, *[pn.tensor(a) for a in arrays]).data,
                               np.einsum(subscripts, *arrays), rtol=1e-12, atol=1e-12)


def test_tensordot_matches_numpy():
    a, b = normal(2, 3, 4), normal(4, 3, 5)
    for axes in (0, 1, ([1, 2], [1, 0]), (2, 0)):
        np.testing.assert_allclose(ops.tensordot(pn.tensor(a), pn.tensor(b), axes).data
                                   if axes != 1 else
                                   ops.tensordot(pn.tensor(a), pn.tensor(b), 1).data,
                                   np.tensordot(a, b, axes), rtol=1e-12)


# --------------------------------------------------------------------------- bad input
BAD = [
    (lambda: ops.cumsum(pn.tensor([1.0, 2.0]), axis=2), ValueError, "axis 2 is out of range"),
    (lambda: ops.cumsum(pn.tensor([1.0]), axis=1.5), TypeError, "axis must be an int"),
    (lambda: ops.sort(pn.tensor(1.0)), ValueError, "at least one dimension"),
    (lambda: ops.std(pn.tensor([1.0]), axis=0, dim=0), TypeError, "not both"),
    (lambda: ops.norm(pn.tensor([1.0]), p=3), ValueError, "p must be"),
    (lambda: ops.norm(pn.tensor([1.0]), p="nuc"), ValueError, "p must be"),
    (lambda: ops.topk(pn.tensor([1.0, 2.0]), 3), ValueError, "k must be an int in"),
    (lambda: ops.gather(pn.tensor(np.ones((2, 2))), 0, [[0.5, 1.0]]), TypeError,
     "must hold integers"),
    (lambda: ops.gather(pn.tensor(np.ones((2, 2))), 0, [0, 1]), ValueError, "dimensions"),
    (lambda: ops.gather(pn.tensor(np.ones((2, 2))), 0, np.zeros((1, 3), int)), ValueError,
     "no larger"),
    (lambda: ops.take_along_axis(pn.tensor(np.ones((2, 3))), np.zeros((3, 1), int), 1),
     ValueError, "do not broadcast"),
    (lambda: ops.scatter_add(pn.tensor(np.ones((2, 2))), 0, [[0, 1]], np.ones((1, 1))),
     ValueError, "at least as large"),
    (lambda: ops.scatter_add(pn.tensor(np.ones(2)), 0, [1]), TypeError, "needs src"),
    (lambda: ops.index_select(pn.tensor(np.ones((2, 2))), 0, [[0]]), ValueError, "1-D"),
    (lambda: ops.masked_fill(pn.tensor(np.ones(3)), [1, 0, 1], 0.0), TypeError, "boolean"),
    (lambda: ops.masked_fill(pn.tensor(np.ones(3)), np.ones((2, 3), bool), 0.0), ValueError,
     "does not broadcast"),
    (lambda: ops.tile(pn.tensor([1.0]), (-1,)), ValueError, "non-negative"),
    (lambda: pn.tensor(np.ones((2, 3))).repeat(2), ValueError, "at least as many"),
    (lambda: ops.repeat_interleave(pn.tensor([1.0, 2.0]), [1, 2, 3]), ValueError,
     "2 non-negative int counts"),
    (lambda: ops.split(pn.tensor(np.ones(4)), [1, 2]), ValueError, "add up to 4"),
    (lambda: ops.split(pn.tensor(np.ones(4)), 0), ValueError, "positive"),
    (lambda: ops.chunk(pn.tensor(np.ones(4)), 0), ValueError, "positive int"),
    (lambda: ops.pad(pn.tensor(np.ones(4)), 1, mode="mirror"), ValueError, "mode must be"),
    (lambda: ops.pad(pn.tensor(np.ones(4)), -1), ValueError, "non-negative"),
    (lambda: ops.pad(pn.tensor(np.ones(4)), ((1, 2), (3, 4), (5, 6))), ValueError,
     "one pair per axis"),
    (lambda: pn.nn.functional.pad(pn.tensor(np.ones(4)), (1,)), ValueError, "even number"),
    (lambda: pn.nn.functional.pad(pn.tensor(np.ones(4)), (1, 1), mode="edge"), ValueError,
     "'replicate'"),
    (lambda: ops.tril(pn.tensor(np.ones(3))), ValueError, "needs a matrix"),
    (lambda: ops.diag(pn.tensor(np.ones((2, 2, 2)))), ValueError, "1-D or 2-D"),
    (lambda: ops.einsum("ij,jk", pn.tensor(np.ones((2, 2)))), ValueError, "name 2 operands"),
    (lambda: ops.einsum("ijk", pn.tensor(np.ones((2, 2)))), ValueError, "does not fit"),
    (lambda: ops.einsum("i1", pn.tensor(np.ones((2, 2)))), ValueError, "letters"),
    (lambda: ops.einsum("ij->ii", pn.tensor(np.ones((2, 2)))), ValueError, "at most once"),
    (lambda: ops.einsum("ij->k", pn.tensor(np.ones((2, 2)))), ValueError, "at most once"),
    (lambda: ops.einsum(3, pn.tensor(np.ones((2, 2)))), TypeError, "must be a str"),
    (lambda: ops.tensordot(pn.tensor(np.ones(2)), pn.tensor(np.ones(2)), 2), ValueError,
     "can't sum 2 axes"),
    (lambda: ops.tensordot(pn.tensor(np.ones(2)), pn.tensor(np.ones(2)), ([0], [0, 0])),
     ValueError, "differ in length"),
    (lambda: ops.sin("x"), TypeError, "expected numbers"),
    (lambda: ops.gather(pn.tensor(np.ones((2, 2))), 0, [[0, 2]]), IndexError,
     "index 2 is out of range for an axis of length 2"),
    (lambda: ops.index_select(pn.tensor(np.ones((2, 2))), 1, [-3]), IndexError,
     "index -3 is out of range"),
    (lambda: ops.scatter_add(pn.tensor(np.ones(2)), 0, [5], [1.0]), IndexError,
     "index 5 is out of range"),
    (lambda: ops.take_along_axis(pn.tensor(np.ones(2)), [7], 0), IndexError,
     "index 7 is out of range"),
    (lambda: ops.einsum("ij,jk", pn.tensor(np.ones((2, 3))), pn.tensor(np.ones((4, 2)))),
     ValueError, "'j' of 'ij,jk' stands for axes of lengths 3 and 4"),
    (lambda: ops.tensordot(pn.tensor(np.ones((2, 3))), pn.tensor(np.ones((2, 3))), 1),
     ValueError, "lengths 3 and 2"),
    (lambda: ops.round(pn.tensor([1.0]), 1.5), TypeError, "decimals must be an int"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD, ids=[b[2] for b in BAD])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()
