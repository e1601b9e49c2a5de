"""The fused ops (linear, batch norm, cross-entropy, huber, bce-with-logits) agree with the
same math composed from plain autodiff ops: values, gradients, and second derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet import losses, nn
from plainnet.nn import functional as F

RNG = np.random.default_rng(77)


def grads_of(fn, *arrays):
    """Values and gradients of the scalar ``fn(*tensors)`` for each array."""
    tensors = [pn.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward()
    return out.data, [t.grad for t in tensors]


def assert_same(fused, composed, *arrays, rtol=1e-10, atol=1e-12):
    v1, g1 = grads_of(fused, *arrays)
    v2, g2 = grads_of(composed, *arrays)
    np.testing.assert_allclose(v1, v2, rtol=rtol, atol=atol)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- linear
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
def test_fused_linear_matches_composed(shape):
    x, w, b = RNG.normal(size=shape), RNG.normal(size=(2, 3)), RNG.normal(size=2)
    seed = RNG.normal(size=shape[:-1] + (2,))
    assert_same(lambda x, w, b: (F.linear(x, w, b) * seed).sum(),
                lambda x, w, b: ((x @ w.T + b) * seed).sum(), x, w, b)
    assert_same(lambda x, w: (F.linear(x, w) * seed).sum(),
                lambda x, w: ((x @ w.T) * seed).sum(), x, w)


def test_linear_layer_is_one_node_and_skips_unneeded_gradients():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = pn.tensor(RNG.normal(size=(4, 3)))  # a constant input: no gradient for it
    out = layer(x)
    assert out._op.name == "linear"
    out.sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(layer.bias.grad, [4.0, 4.0])
    np.testing.assert_allclose(layer.weight.grad, np.tile(x.data.sum(0), (2, 1)))


def test_fused_linear_second_derivatives():
    x, b = RNG.normal(size=(4, 3)), RNG.normal(size=2)

    def fused(w):
        return F.linear(x, w.reshape(2, 3), b).tanh().sum()

    def composed(w):
        return (x @ w.reshape(2, 3).T + b).tanh().sum()

    w = RNG.normal(size=6)
    np.testing.assert_allclose(pn.hessian(fused)(w), pn.hessian(composed)(w), rtol=1e-10,
                               atol=1e-12)


# --------------------------------------------------------------------------- batch norm
def composed_batch_norm(x, gamma, beta, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=axes, keepdims=True)
    shape = mean.shape
    return xc / (var + eps).sqrt() * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize("shape, axes", [((6, 3), (0,)), ((4, 3, 5), (0, 2))])
def test_fused_batch_norm_matches_composed(shape, axes):
    x = RNG.normal(size=shape) * 3 + 1
    gamma, beta = RNG.normal(size=3), RNG.normal(size=3)
    seed = RNG.normal(size=shape)
    assert_same(lambda x, g, b: (F.batch_norm_train(x, g, b, axes=axes) * seed).sum(),
                lambda x, g, b: (composed_batch_norm(x, g, b, axes) * seed).sum(),
                x, gamma, beta, rtol=1e-9)


def test_fused_batch_norm_reports_batch_statistics():
    x = RNG.normal(size=(8, 2))
    cache = {}
    F.batch_norm_train(pn.tensor(x), axes=(0,), cache=cache)
    np.testing.assert_allclose(cache["mean"].ravel(), x.mean(0))
    np.testing.assert_allclose(cache["var"].ravel(), x.var(0))


def test_fused_batch_norm_second_derivatives():
    gamma, beta = RNG.normal(size=2), RNG.normal(size=2)
    seed = RNG.normal(size=(5, 2))

    def fused(x):
        return ((F.batch_norm_train(x.reshape(5, 2), gamma, beta) * seed) ** 2).sum()

    def composed(x):
        return ((composed_batch_norm(x.reshape(5, 2), gamma, beta, (0,)) * seed) ** 2).sum()

    x = RNG.normal(size=10)
    np.testing.assert_allclose(pn.hessian(fused)(x), pn.hessian(composed)(x), rtol=1e-7,
                               atol=1e-9)


# --------------------------------------------------------------------------- losses
N, C = 7, 5
LOGITS = RNG.normal(size=(N, C)) * 2
LABELS = RNG.integers(0, C, size=N)
W = RNG.uniform(0.5, 2.0, size=N)


def composed_cross_entropy(z, y, smoothing=0.0, w=None):
    logp = z.log_softmax(axis=1)
    loss = -(1 - smoothing) * logp[np.arange(len(y)), y] - smoothing * logp.mean(axis=1)
    return loss.mean() if w is None else (loss * w).sum() / w.sum()


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("w", [None, W])
def test_fused_cross_entropy_matches_composed(smoothing, w):
    assert_same(
        lambda z: losses.cross_entropy(z, LABELS, label_smoothing=smoothing, sample_weight=w),
        lambda z: composed_cross_entropy(z, LABELS, smoothing, w),
        LOGITS,
    )


def test_cross_entropy_on_labels_is_one_node():
    out = losses.cross_entropy(pn.tensor(LOGITS, requires_grad=True), LABELS)
    assert out._op.name == "cross_entropy"
    assert out._args[0].requires_grad and not out._args[0]._op  # straight to the logits


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_fused_cross_entropy_second_derivatives(reduction):
    seed = RNG.normal(size=N) if reduction == "none" else 1.0

    def fused(z):
        out = losses.cross_entropy(z.reshape(N, C), LABELS, label_smoothing=0.1,
                                   reduction=reduction, sample_weight=W)
        return (out * seed).sum()

    def composed(z):
        logp = z.reshape(N, C).log_softmax(axis=1)
        loss = -0.9 * logp[np.arange(N), LABELS] - 0.1 * logp.mean(axis=1)
        loss = loss * W
        return (loss.sum() / W.sum()) if reduction == "mean" else (loss * seed).sum()

    z = LOGITS.ravel()
    np.testing.assert_allclose(pn.hessian(fused)(z), pn.hessian(composed)(z), rtol=1e-9,
                               atol=1e-12)


def test_fused_elementwise_losses_match_composed_to_second_order():
    x, t = RNG.normal(size=8) * 2, RNG.uniform(size=8)

    def huber_composed(x):
        a = (x - t).abs()
        q = pn.minimum(a, 1.0)
        return (0.5 * q * q + (a - q)).mean()

    def bce_logits_composed(x):
        return (x.softplus() - x * t).mean()

    for fused, composed in (
        (lambda x: losses.huber(x, t), huber_composed),
        (lambda x: losses.bce_with_logits(x, t), bce_logits_composed),
    ):
        assert_same(fused, composed, x)
        np.testing.assert_allclose(pn.hessian(fused)(x), pn.hessian(composed)(x), atol=1e-12)
