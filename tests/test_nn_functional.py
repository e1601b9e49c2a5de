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


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
def test_fused_linear_relu_matches_composed(shape):
    x, w, b = RNG.normal(size=shape), RNG.normal(size=(2, 3)), RNG.normal(size=2)
    seed = RNG.normal(size=shape[:-1] + (2,))
    assert_same(lambda x, w, b: (F.linear_relu(x, w, b) * seed).sum(),
                lambda x, w, b: ((x @ w.T + b).relu() * seed).sum(), x, w, b)
    assert_same(lambda x, w: (F.linear_relu(x, w) * seed).sum(),
                lambda x, w: ((x @ w.T).relu() * seed).sum(), x, w)


def test_fused_linear_relu_gradient_against_finite_differences():
    x, b = RNG.normal(size=(6, 3)), RNG.normal(size=2) * 0.1
    seed = RNG.normal(size=(6, 2))
    w0 = RNG.normal(size=6)

    def f(w):
        return (F.linear_relu(x, w.reshape(2, 3), b) * seed).sum()

    grad = pn.grad(f)(w0)
    h = 1e-6
    numeric = [(f(pn.tensor(w0 + h * e)).item() - f(pn.tensor(w0 - h * e)).item()) / (2 * h)
               for e in np.eye(6)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_fused_linear_relu_second_derivatives():
    x, b = RNG.normal(size=(4, 3)), RNG.normal(size=2)
    w = RNG.normal(size=6)

    def fused(w):
        return (F.linear_relu(x, w.reshape(2, 3), b) ** 2).sum()

    def composed(w):
        return ((x @ w.reshape(2, 3).T + b).relu() ** 2).sum()

    np.testing.assert_allclose(pn.hessian(fused)(w), pn.hessian(composed)(w), rtol=1e-10,
                               atol=1e-12)


def test_fused_linear_relu_keeps_nan_and_zeroes_minus_infinity():
    x = np.array([[np.nan, 1.0], [-np.inf, 0.0], [2.0, 0.0]])
    w, b = np.eye(2), np.array([0.0, -1.0])
    with np.errstate(invalid="ignore"):  # -inf * 0 in the product
        got = F.linear_relu(pn.tensor(x), pn.tensor(w), pn.tensor(b)).data
        want = np.maximum(x @ w.T + b, 0)  # NaN stays NaN (a diverged step must show)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[0, 0]) and got[1, 0] == 0.0


def test_sequential_runs_linear_then_relu_as_one_node():
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.ReLU(),
                          nn.Linear(4, 4, dtype=np.float64), nn.Tanh(),
                          nn.Linear(4, 2, dtype=np.float64), nn.ReLU())
    x = RNG.normal(size=(5, 3))
    out = model(x)
    assert out._op.name == "linear_relu"
    assert out._args[0]._op.name == "tanh" and out._args[0]._args[0]._op.name == "linear"
    assert out._args[0]._args[0]._args[0]._op.name == "linear_relu"
    layer_by_layer = pn.tensor(x)
    for layer in model:
        layer_by_layer = layer(layer_by_layer)
    np.testing.assert_array_equal(out.data, layer_by_layer.data)
    out.sum().backward()
    fused_grads = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    layer_by_layer.sum().backward()
    for got, want in zip(fused_grads, [p.grad for p in model.parameters()], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_sequential_leaves_subclasses_alone():
    class Clipped(nn.ReLU):
        def forward(self, x):
            return super().forward(x).clip(0.0, 0.5)

    model = nn.Sequential(nn.Linear(3, 4), Clipped())
    out = model(RNG.normal(size=(5, 3)).astype(np.float32))
    assert out._op.name != "linear_relu" and float(out.data.max()) <= 0.5


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
