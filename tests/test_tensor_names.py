"""PyTorch's names on plainnet's Tensor (permute, unsqueeze, view, expand, repeat, float, ...)
and the constructors of ``plainnet.autodiff.creation`` (pn.zeros, pn.arange, pn.randn, ...):
values, dtypes, gradients and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn


# --------------------------------------------------------------------------- methods
def test_permute_unsqueeze_view_and_their_gradients():
    x0 = np.arange(24.0).reshape(2, 3, 4)
    x = pn.tensor(x0, requires_grad=True)
    p = x.permute(2, 0, 1)
    assert p.shape == (4, 2, 3)
    np.testing.assert_array_equal(p.data, x0.transpose(2, 0, 1))
    assert x.permute((1, 0, 2)).shape == (3, 2, 4)
    assert x.unsqueeze(1).shape == (2, 1, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert x.view(6, 4).shape == (6, 4) and x.view(-1).shape == (24,)
    w = np.arange(24.0).reshape(4, 2, 3)
    (p * w).sum().backward()
    np.testing.assert_array_equal(x.grad, w.transpose(1, 2, 0))


def test_expand_broadcasts_and_sums_the_gradient_back():
    x = pn.tensor([[1.0], [2.0]], requires_grad=True)
    e = x.expand(3, 2, 4)
    assert e.shape == (3, 2, 4)
    assert x.expand(-1, 5).shape == (2, 5)
    e.sum().backward()
    np.testing.assert_array_equal(x.grad, [[12.0], [12.0]])


def test_repeat_is_numpy_tile_and_repeat_interleave_is_numpy_repeat():
    x0 = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = pn.tensor(x0, requires_grad=True)
    np.testing.assert_array_equal(x.repeat(2, 3).data, np.tile(x0, (2, 3)))
    np.testing.assert_array_equal(x.repeat(2, 1, 1).data, np.tile(x0, (2, 1, 1)))
    np.testing.assert_array_equal(x.repeat_interleave(2, dim=0).data, np.repeat(x0, 2, 0))
    x.repeat(2, 3).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 6.0))


def test_dtype_conversions():
    x = pn.tensor([1.5, -2.5], requires_grad=True)
    f = x.float()
    assert f.dtype == np.float32 and f.requires_grad
    assert f.double().dtype == np.float64 and x.half().dtype == np.float16
    (f * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    n = x.long()
    assert n.dtype == np.int64 and not n.requires_grad
    np.testing.assert_array_equal(n.data, [1, -2])
    assert float(x[0]) == 1.5  # Python's float() still gives a number
    assert x.dim() == 1 and x.numel() == 2


def test_methods_of_the_new_ops_give_the_functions_results():
    x0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    x = pn.tensor(x0)
    for name in ("sin", "cos", "tan", "expm1", "square", "sign", "floor", "ceil"):
        np.testing.assert_allclose(getattr(x, name)().data, getattr(np, name)(x0))
    np.testing.assert_allclose(x.abs().log1p().data, np.log1p(np.abs(x0)))
    np.testing.assert_allclose(x.abs().rsqrt().data, 1 / np.sqrt(np.abs(x0)))
    np.testing.assert_allclose(x.std(dim=1).data, np.std(x0, axis=1))
    np.testing.assert_allclose(x.cumsum(1).data, np.cumsum(x0, 1))
    np.testing.assert_allclose(x.cumprod(dim=0).data, np.cumprod(x0, 0))
    np.testing.assert_allclose(x.prod().data, np.prod(x0))
    np.testing.assert_allclose(x.norm(1).data, np.abs(x0).sum())
    np.testing.assert_array_equal(x.argmin(dim=0).data, np.argmin(x0, 0))
    np.testing.assert_array_equal(x.flip(dims=(0, 1)).data, x0[::-1, ::-1])
    np.testing.assert_array_equal(x.roll(1, dims=1).data, np.roll(x0, 1, 1))
    assert [c.shape for c in x.chunk(3, dim=1)] == [(2, 1)] * 3
    np.testing.assert_array_equal(pn.cat([x, x], dim=1).data, np.concatenate([x0, x0], 1))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x: x.permute(0, 0, 1), ValueError, "each of the 3 axes once"),
        (lambda x: x.permute(0, 1.0, 2), TypeError, "takes ints"),
        (lambda x: x.expand(2, 3), ValueError, "2 sizes for a tensor of 3"),
        (lambda x: x.expand(2, 5, 4), ValueError, "only axes of length 1 grow"),
        (lambda x: x.expand(-1, 2, 3, 4), ValueError, "only allowed for existing axes"),
        (lambda x: x.repeat(2, 2), ValueError, "at least as many sizes"),
        (lambda x: x.cumsum(dim=0, axis=0), TypeError, "not both"),
    ],
)
def test_bad_method_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call(pn.tensor(np.ones((2, 3, 4))))


# --------------------------------------------------------------------------- constructors
def test_constructors_values_shapes_and_default_dtypes():
    assert pn.zeros(2, 3).shape == (2, 3) and pn.zeros((2, 3)).dtype == np.float64
    assert pn.ones([4]).tolist() == [1.0] * 4
    assert pn.zeros(()).shape == ()
    assert pn.full((2, 2), 7).dtype == np.int64 and pn.full(3, 0.5).tolist() == [0.5] * 3
    assert pn.arange(4).tolist() == [0, 1, 2, 3] and pn.arange(4).dtype == np.int64
    np.testing.assert_allclose(pn.arange(1.0, 2.0, 0.25).data, [1.0, 1.25, 1.5, 1.75])
    np.testing.assert_allclose(pn.linspace(0, 1, 5).data, np.linspace(0, 1, 5))
    np.testing.assert_array_equal(pn.eye(2, 3).data, np.eye(2, 3))
    assert pn.zeros(2, dtype=np.float32).dtype == np.float32
    assert pn.ones(2, dtype="float16").dtype == np.float16


def test_requires_grad_makes_leaves():
    w = pn.zeros(3, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    (w + pn.arange(3.0)).sum().backward()
    np.testing.assert_array_equal(w.grad, np.ones(3))
    with pytest.raises(TypeError, match="floating-point"):
        pn.arange(3, requires_grad=True)


def test_random_constructors_follow_the_seed():
    pn.seed(5)
    a = pn.randn(3, 2)
    pn.seed(5)
    assert np.array_equal(pn.randn(3, 2).data, a.data)
    assert a.dtype == np.float64 and pn.rand(2, dtype=np.float32).dtype == np.float32
    u = pn.rand(1000, generator=0)
    assert 0.0 <= float(u.min()) and float(u.max()) < 1.0
    assert np.array_equal(pn.rand(4, generator=1).data, pn.rand(4, generator=1).data)
    r = pn.randint(3, 7, (50,))
    assert r.dtype == np.int64 and r.shape == (50,)
    assert int(r.min()) >= 3 and int(r.max()) <= 6
    assert pn.randint(5, (2, 3)).shape == (2, 3)  # randint(high, size)


def test_like_constructors_and_from_numpy():
    x = pn.tensor(np.ones((2, 3), dtype=np.float32))
    z = pn.zeros_like(x)
    assert z.shape == (2, 3) and z.dtype == np.float32 and float(z.sum()) == 0.0
    assert pn.ones_like(x, dtype=np.float64).dtype == np.float64
    assert pn.ones_like(np.zeros(4, dtype=np.int32)).dtype == np.int32
    a = np.arange(3.0)
    t = pn.from_numpy(a)
    a[0] = 9.0
    assert float(t[0]) == 9.0  # shares memory, as torch.from_numpy


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: pn.zeros(2, -1), ValueError, "non-negative"),
        (lambda: pn.zeros(2.5), TypeError, "size must be ints"),
        (lambda: pn.ones("ab"), TypeError, "size must be ints"),
        (lambda: pn.full((2,), "x"), TypeError, "fill_value must be a number"),
        (lambda: pn.arange(0, 3, 0), ValueError, "step must not be 0"),
        (lambda: pn.arange("a"), TypeError, "must be a number"),
        (lambda: pn.linspace(0, 1, -2), ValueError, "non-negative int"),
        (lambda: pn.randn(2, dtype=np.int64), TypeError, "draws floats"),
        (lambda: pn.randint(5, 5, (2,)), ValueError, "below high"),
        (lambda: pn.from_numpy([1.0, 2.0]), TypeError, "expects a NumPy array"),
        (lambda: pn.zeros(2, device="tpu"), ValueError, "unknown device"),
    ],
)
def test_bad_constructor_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()
