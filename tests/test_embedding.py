"""Embedding: lookup, accumulated gradients over repeated indices, padding row, checks."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet import nn
from plainnet.nn import functional as F
from plainnet.nn import sequence_ops

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("rows", [7, sequence_ops._ONE_HOT_MAX + 5])  # one-hot and sorted
def test_gradient_accumulates_over_repeats_and_matches_finite_differences(rows):
    idx = np.array([[0, 3, 3], [6, 0, 3]])
    seed = RNG.normal(size=(2, 3, 4))
    table = RNG.normal(size=(rows, 4))
    err = pn.check_grad(lambda w: (F.embedding(idx, w) * seed).sum(), table[:7]) \
        if rows == 7 else None
    if err is not None:
        assert err < 1e-8
    w = pn.tensor(table, requires_grad=True)
    (F.embedding(idx, w) * seed).sum().backward()
    expected = np.zeros_like(table)
    np.add.at(expected, idx.reshape(-1), seed.reshape(-1, 4))
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)
    assert np.all(w.grad[[1, 2, 4, 5]] == 0)


def test_padding_row_gets_no_gradient_and_starts_at_zero():
    layer = nn.Embedding(5, 3, padding_idx=-1, dtype=np.float64)
    assert layer.padding_idx == 4
    np.testing.assert_array_equal(layer.weight.data[4], 0)
    out = layer(np.array([4, 1, 4]))
    (out * RNG.normal(size=out.shape)).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad[4], 0)
    assert np.any(layer.weight.grad[1] != 0)


def test_values_and_gradients_equal_pytorch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(10, 4, padding_idx=2)
    ours = nn.Embedding(10, 4, padding_idx=2)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    idx = RNG.integers(0, 10, size=(3, 5))
    seed = RNG.normal(size=(3, 5, 4)).astype(np.float32)
    (theirs(torch.tensor(idx)) * torch.tensor(seed)).sum().backward()
    out = ours(idx)
    (out * seed).sum().backward()
    np.testing.assert_allclose(out.data, theirs(torch.tensor(idx)).detach().numpy())
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-6)


def test_second_derivative_through_the_lookup():
    idx = np.array([1, 1, 0])
    h = pn.hessian(lambda w: (F.embedding(idx, w.reshape(2, 2)) ** 3).sum())(
        np.array([0.5, -1.0, 2.0, 0.25]))
    # d^2/dw^2 of sum over lookups of w^3: 6 w times the number of lookups of the row
    np.testing.assert_allclose(np.diag(h), [6 * 0.5, 6 * -1.0, 2 * 6 * 2.0, 2 * 6 * 0.25])


def test_bad_indices_are_refused_clearly():
    layer = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match=r"got index 4; indices must be in \[0, 3\]"):
        layer(np.array([0, 4]))
    with pytest.raises(IndexError, match="got index -1"):
        layer(np.array([-1]))
    with pytest.raises(TypeError, match="not whole numbers"):
        layer(np.array([0.5]))
    with pytest.raises(TypeError, match="integer indices"):
        layer(np.array(["a"]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)


def test_float_whole_numbers_from_a_module_call_are_accepted():
    layer = nn.Embedding(4, 2)
    np.testing.assert_array_equal(layer(np.array([3.0, 1.0])).data, layer.weight.data[[3, 1]])
    assert "Embedding" in nn.MODULES
    rebuilt = nn.module_from_spec(nn.module_to_spec(nn.Embedding(4, 2, padding_idx=1)))
    assert rebuilt.padding_idx == 1
