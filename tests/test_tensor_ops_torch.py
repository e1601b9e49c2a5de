"""The tensor ops of issue 16 against PyTorch: the same values and gradients (float64), also at
the edge cases where conventions could differ (zeros in prod/cumprod, norms at 0, ties).
Skipped where PyTorch is not installed."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet.autodiff import ops

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(7)
IDX = np.array([[0, 2, 2, 1], [1, 1, 0, 0]])
MASK = RNG.standard_normal((3, 4)) > 0


def normal(*shape):
    return RNG.standard_normal(shape)


def with_zeros(*shape):
    x = normal(*shape)
    x.reshape(-1)[::3] = 0.0
    return x


def distinct(*shape):
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.1 - n * 0.05).reshape(shape) + 0.013


def _t(index):
    return torch.as_tensor(index)


# name: (plainnet fn, torch fn, inputs); each fn returns one tensor
CASES = {
    "std": (lambda x: x.std(axis=1, ddof=1), lambda x: x.std(dim=1), [normal(3, 4)]),
    "std_biased": (lambda x: ops.std(x, ddof=0), lambda x: x.std(correction=0), [normal(5)]),
    "prod": (lambda x: x.prod(axis=1), lambda x: x.prod(dim=1), [with_zeros(4, 5)]),
    "prod_all": (lambda x: ops.prod(x), lambda x: x.prod(), [with_zeros(1, 4)]),
    "cumsum": (lambda x: x.cumsum(0), lambda x: x.cumsum(0), [normal(3, 4)]),
    "cumprod": (lambda x: x.cumprod(1), lambda x: x.cumprod(1), [with_zeros(3, 5)]),
    "norm_2": (lambda x: x.norm(2, axis=1), lambda x: torch.linalg.vector_norm(x, 2, dim=1),
               [normal(3, 4)]),
    "norm_fro": (lambda x: x.norm(), lambda x: torch.norm(x), [normal(3, 4)]),
    "norm_1": (lambda x: ops.norm(x, 1, axis=0),
               lambda x: torch.linalg.vector_norm(x, 1, dim=0), [normal(3, 4)]),
    "norm_inf": (lambda x: ops.norm(x, np.inf, axis=1),
                 lambda x: torch.linalg.vector_norm(x, float("inf"), dim=1), [distinct(3, 4)]),
    "norm_2_at_zero": (lambda x: ops.norm(x, 2, axis=1),
                       lambda x: torch.linalg.vector_norm(x, 2, dim=1), [np.zeros((2, 3))]),
    "norm_1_at_zero": (lambda x: ops.norm(x, 1), lambda x: torch.linalg.vector_norm(x, 1),
                       [np.zeros(3)]),
    "sort": (lambda x: ops.sort(x, axis=1)[0], lambda x: torch.sort(x, dim=1, stable=True)[0],
             [distinct(3, 4)]),
    "sort_desc": (lambda x: x.sort(dim=0, descending=True)[0],
                  lambda x: torch.sort(x, dim=0, descending=True, stable=True)[0],
                  [distinct(3, 4)]),
    "topk": (lambda x: ops.topk(x, 2)[0], lambda x: torch.topk(x, 2)[0], [distinct(3, 5)]),
    "median": (lambda x: ops.median(x), lambda x: torch.median(x), [distinct(2, 3)]),
    "median_dim": (lambda x: x.median(dim=1)[0], lambda x: x.median(dim=1)[0],
                   [np.array([[2.0, 2.0, 1.0, 1.0], [3.0, np.nan, 1.0, 0.0]])]),
    "sin": (ops.sin, torch.sin, [normal(3, 2)]),
    "cos": (ops.cos, torch.cos, [normal(3, 2)]),
    "tan": (ops.tan, torch.tan, [normal(3, 2) * 0.5]),
    "log1p": (ops.log1p, torch.log1p, [np.abs(normal(4)) - 0.2]),
    "expm1": (ops.expm1, torch.expm1, [normal(4)]),
    "log2": (ops.log2, torch.log2, [np.abs(normal(4)) + 0.1]),
    "log10": (ops.log10, torch.log10, [np.abs(normal(4)) + 0.1]),
    "square": (ops.square, torch.square, [normal(4)]),
    "rsqrt": (ops.rsqrt, torch.rsqrt, [np.abs(normal(4)) + 0.1]),
    "reciprocal": (ops.reciprocal, torch.reciprocal, [normal(4)]),
    "sign": (ops.sign, torch.sign, [np.array([-1.5, 0.0, 2.0])]),
    "floor": (ops.floor, torch.floor, [normal(4) * 3]),
    "ceil": (ops.ceil, torch.ceil, [normal(4) * 3]),
    "round": (ops.round, torch.round, [np.array([0.5, 1.5, 2.5, -0.5, 1.2])]),
    "round_decimals": (lambda x: ops.round(x, 1), lambda x: torch.round(x, decimals=1),
                       [np.array([0.25, 1.34, -2.76])]),
    "gather": (lambda x: x.gather(0, IDX), lambda x: x.gather(0, _t(IDX)), [normal(3, 4)]),
    "gather_small": (lambda x: ops.gather(x, 1, IDX[:, :2]),
                     lambda x: torch.gather(x, 1, _t(IDX[:, :2])), [normal(3, 4)]),
    "index_select": (lambda x: ops.index_select(x, 1, [3, 0, 3]),
                     lambda x: torch.index_select(x, 1, _t([3, 0, 3])), [normal(2, 4)]),
    "masked_fill": (lambda x: x.masked_fill(MASK, 2.5),
                    lambda x: x.masked_fill(_t(MASK), 2.5), [normal(3, 4)]),
    "repeat": (lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3), [normal(3, 2)]),
    "tile": (lambda x: ops.tile(x, (2,)), lambda x: torch.tile(x, (2,)), [normal(3, 2)]),
    "repeat_interleave": (lambda x: x.repeat_interleave(2, dim=1),
                          lambda x: x.repeat_interleave(2, dim=1), [normal(3, 2)]),
    "repeat_interleave_counts": (lambda x: ops.repeat_interleave(x, [2, 0, 1], dim=0),
                                 lambda x: torch.repeat_interleave(x, _t([2, 0, 1]), dim=0),
                                 [normal(3, 2)]),
    "flip": (lambda x: x.flip(dims=(0,)), lambda x: x.flip(dims=(0,)), [normal(3, 4)]),
    "roll": (lambda x: ops.roll(x, (1, -1), (0, 1)), lambda x: torch.roll(x, (1, -1), (0, 1)),
             [normal(3, 4)]),
    "roll_flat": (lambda x: ops.roll(x, 5), lambda x: torch.roll(x, 5), [normal(3, 4)]),
    "split": (lambda x: ops.split(x, 2, 1)[1], lambda x: torch.split(x, 2, 1)[1],
              [normal(3, 5)]),
    "chunk": (lambda x: ops.chunk(x, 3, 1)[2], lambda x: torch.chunk(x, 3, 1)[2],
              [normal(3, 5)]),
    "pad_constant": (lambda x: pn.nn.functional.pad(x, (1, 2, 0, 1), value=0.5),
                     lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), [normal(2, 3)]),
    "pad_reflect": (lambda x: pn.nn.functional.pad(x, (2, 1), mode="reflect"),
                    lambda x: F.pad(x, (2, 1), mode="reflect"), [normal(2, 4)]),
    "pad_replicate": (lambda x: pn.nn.functional.pad(x, (2, 1, 1, 3), mode="replicate"),
                      lambda x: F.pad(x, (2, 1, 1, 3), mode="replicate"), [normal(1, 3, 4)]),
    "pad_circular": (lambda x: pn.nn.functional.pad(x, (2, 1), mode="circular"),
                     lambda x: F.pad(x, (2, 1), mode="circular"), [normal(1, 2, 4)]),
    "tril": (lambda x: x.tril(1), lambda x: x.tril(1), [normal(2, 3, 4)]),
    "triu": (lambda x: ops.triu(x, -1), lambda x: torch.triu(x, -1), [normal(4, 3)]),
    "diag_extract": (lambda x: ops.diag(x, 1), lambda x: torch.diag(x, 1), [normal(3, 4)]),
    "diag_embed": (lambda x: ops.diag(x, -2), lambda x: torch.diag(x, -2), [normal(3)]),
    "outer": (ops.outer, torch.outer, [normal(3), normal(2)]),
    "tensordot": (lambda a, b: ops.tensordot(a, b, ([0, 2], [1, 0])),
                  lambda a, b: torch.tensordot(a, b, ([0, 2], [1, 0])),
                  [normal(2, 3, 4), normal(4, 2, 5)]),
    "einsum_bmm": (lambda a, b: ops.einsum("bij,bjk->bik", a, b),
                   lambda a, b: torch.einsum("bij,bjk->bik", a, b),
                   [normal(2, 3, 4), normal(2, 4, 2)]),
    "einsum_ellipsis": (lambda a, b: ops.einsum("...ij,...j", a, b),
                        lambda a, b: torch.einsum("...ij,...j", a, b),
                        [normal(2, 3, 4), normal(4)]),
    "einsum_trace": (lambda a: ops.einsum("ii", a), lambda a: torch.einsum("ii", a),
                     [normal(3, 3)]),
    "einsum_diag": (lambda a: ops.einsum("ii->i", a), lambda a: torch.einsum("ii->i", a),
                    [normal(3, 3)]),
    "einsum_gram": (lambda a: ops.einsum("ij,kj->ik", a, a),
                    lambda a: torch.einsum("ij,kj->ik", a, a), [normal(3, 4)]),
    "einsum_diag_squared": (lambda a: ops.einsum("ii,ij->j", a, a),
                            lambda a: torch.einsum("ii,ij->j", a, a), [normal(3, 3)]),
    "tensordot_self": (lambda a: ops.tensordot(a, a, ([1], [1])),
                       lambda a: torch.tensordot(a, a, ([1], [1])), [normal(3, 4)]),
    "scatter_add": (lambda x, s: ops.scatter_add(x, 0, IDX, s),
                    lambda x, s: torch.scatter_add(x, 0, _t(IDX), s),
                    [normal(3, 4), normal(2, 4)]),
    "masked_fill_tensor": (lambda x, v: ops.masked_fill(x, MASK, v),
                           lambda x, v: x.masked_fill(_t(MASK), v), [normal(3, 4), normal()]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_equal_pytorchs(name):
    ours, theirs, arrays = CASES[name]
    xs = [pn.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = RNG.standard_normal(out.shape)
    (out * w).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts, strict=True):
        expected = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        np.testing.assert_allclose(x.grad, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["std", "prod", "cumprod", "norm_2", "norm_fro", "sin", "tan",
                                  "log1p", "rsqrt", "reciprocal", "einsum_gram",
                                  "einsum_diag_squared", "tensordot_self"])
def test_second_derivatives_equal_pytorchs(name):
    ours, theirs, arrays = CASES[name]
    v = [RNG.standard_normal(a.shape) for a in arrays]
    x = pn.tensor(arrays[0], requires_grad=True)
    others = [pn.tensor(a) for a in arrays[1:]]
    w = RNG.standard_normal(ours(x, *others).shape)
    (ours(x, *others) * w).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    (g * v[0]).sum().backward()
    t = torch.tensor(arrays[0], requires_grad=True)
    (tg,) = torch.autograd.grad((theirs(t, *map(torch.tensor, arrays[1:])) * torch.tensor(w))
                                .sum(), t, create_graph=True)
    (tg * torch.tensor(v[0])).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_argmax_argmin_equal_pytorchs_with_ties():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, -1.0]])
    for dim in (None, 0, 1):
        ours = ops.argmax(pn.tensor(x), dim=dim).data
        theirs = torch.argmax(torch.tensor(x), dim=dim).numpy()
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(ops.argmin(pn.tensor(x), dim=dim).data,
                                      torch.argmin(torch.tensor(x), dim=dim).numpy())


def test_sort_and_topk_indices_equal_pytorchs():
    x = np.array([[2.0, 1.0, 2.0, 1.0, 3.0], [0.0, 0.0, 0.0, 1.0, -1.0]])
    for descending in (False, True):
        ours = ops.sort(pn.tensor(x), dim=1, descending=descending)[1].data
        theirs = torch.sort(torch.tensor(x), dim=1, descending=descending, stable=True)[1]
        np.testing.assert_array_equal(ours, theirs.numpy())
    d = distinct(3, 6)
    np.testing.assert_array_equal(ops.topk(pn.tensor(d), 3, largest=False)[1].data,
                                  torch.topk(torch.tensor(d), 3, largest=False)[1].numpy())


def test_median_indices_equal_pytorchs():
    x = np.array([[3.0, 1.0, 2.0, 5.0], [np.nan, 1.0, 0.0, 2.0], [2.0, 2.0, 1.0, 1.0]])
    values, indices = ops.median(pn.tensor(x), dim=1)
    ref = torch.median(torch.tensor(x), dim=1)
    np.testing.assert_array_equal(values.data, ref.values.numpy())
    np.testing.assert_array_equal(indices.data, ref.indices.numpy())
    assert np.isnan(float(ops.median(pn.tensor(x)))) and np.isnan(float(torch.median(
        torch.tensor(x))))


def test_constructors_match_pytorchs_shapes_and_values():
    assert pn.zeros(2, 3).shape == tuple(torch.zeros(2, 3).shape)
    np.testing.assert_array_equal(pn.arange(1, 10, 3).data, torch.arange(1, 10, 3).numpy())
    np.testing.assert_allclose(pn.linspace(-1, 2, 7).data, torch.linspace(-1, 2, 7).numpy(),
                               rtol=1e-6)
    np.testing.assert_array_equal(pn.eye(3, 2).data, torch.eye(3, 2).numpy())
    np.testing.assert_array_equal(pn.full((2,), 3).data, torch.full((2,), 3).numpy())
    assert pn.arange(4).dtype == np.int64 and torch.arange(4).dtype == torch.int64
