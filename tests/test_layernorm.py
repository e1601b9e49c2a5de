"""LayerNorm, RMSNorm and the fused GELU: finite differences, PyTorch, second derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet import nn
from plainnet.nn import functional as F

RNG = np.random.default_rng(5)


def _fd_error(fn, x):
    return pn.check_grad(lambda t: (fn(t) * SEED[: t.shape[0]]).sum(), x)


SEED = RNG.normal(size=(6, 3, 4))


@pytest.mark.parametrize("rms", [False, True])
def test_norm_gradients_match_finite_differences(rms):
    x = RNG.normal(size=(6, 3, 4))
    w, b = RNG.normal(size=4), RNG.normal(size=4)
    if rms:
        def fn(t):
            return F.rms_norm(t, (4,), pn.tensor(w), eps=1e-6)
    else:
        def fn(t):
            return F.layer_norm(t, (4,), pn.tensor(w), pn.tensor(b))
    assert _fd_error(fn, x) < 1e-6
    # the weight's and bias's gradients
    if rms:
        assert pn.check_grad(
            lambda v: (F.rms_norm(pn.tensor(x), (4,), v, eps=1e-6) * SEED).sum(), w) < 1e-6
    else:
        assert pn.check_grad(
            lambda v: (F.layer_norm(pn.tensor(x), (4,), v, pn.tensor(b)) * SEED).sum(), w
        ) < 1e-6
        assert pn.check_grad(
            lambda v: (F.layer_norm(pn.tensor(x), (4,), pn.tensor(w), v) * SEED).sum(), b
        ) < 1e-6


def test_layer_norm_over_two_axes_and_without_affine():
    x = RNG.normal(size=(6, 3, 4))
    assert _fd_error(lambda t: F.layer_norm(t, (3, 4)), x) < 1e-6
    y = nn.LayerNorm((3, 4), elementwise_affine=False, dtype=np.float64)(x).data
    np.testing.assert_allclose(y.reshape(6, -1).mean(1), 0, atol=1e-12)
    np.testing.assert_allclose(y.reshape(6, -1).var(1), 1, rtol=1e-4)
    assert nn.LayerNorm((3, 4), elementwise_affine=False).parameters() == []


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_the_activation_and_finite_differences(approximate):
    x = RNG.normal(size=(5, 7))  # the tails cancel in 1 + tanh: finite differences blur
    assert pn.check_grad(lambda t: (F.gelu(t, approximate) * SEED[0, 0, 0]).sum(), x) < 1e-5
    expected = pn.tensor(x).activation(pn.functions.activations.GELU(approximate)).data
    np.testing.assert_allclose(F.gelu(pn.tensor(x), approximate).data, expected, rtol=1e-12)


@pytest.mark.parametrize("which", ["layer", "rms", "gelu"])
def test_second_derivatives_equal_the_composed_ops(which):
    w = RNG.normal(size=4)
    v = RNG.normal(size=(3, 4))

    def composed_layer(t):
        c = t - t.mean(axis=-1, keepdims=True)
        return c / ((c * c).mean(axis=-1, keepdims=True) + 1e-5).sqrt() * w

    def composed_rms(t):
        eps = float(np.finfo(np.float64).eps)
        return t / ((t * t).mean(axis=-1, keepdims=True) + eps).sqrt() * w

    fused = {
        "layer": lambda t: F.layer_norm(t, (4,), pn.tensor(w)),
        "rms": lambda t: F.rms_norm(t, (4,), pn.tensor(w)),
        "gelu": lambda t: F.gelu(t),
    }[which]
    composed = {
        "layer": composed_layer,
        "rms": composed_rms,
        "gelu": lambda t: t.activation(pn.functions.activations.GELU()),
    }[which]
    x = RNG.normal(size=12)
    h1 = pn.hessian(lambda t: (fused(t.reshape(3, 4)).tanh() * v).sum())(x)
    h2 = pn.hessian(lambda t: (composed(t.reshape(3, 4)).tanh() * v).sum())(x)
    np.testing.assert_allclose(h1, h2, rtol=1e-8, atol=1e-10)


def test_layer_norm_and_rms_norm_equal_pytorch():
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(2, 5, 8)).astype(np.float32)
    g = RNG.normal(size=(2, 5, 8)).astype(np.float32)
    for ours, theirs in [
        (nn.LayerNorm(8, eps=1e-5), torch.nn.LayerNorm(8, eps=1e-5)),
        (nn.RMSNorm(8), torch.nn.RMSNorm(8)),
        (nn.LayerNorm((5, 8), bias=False), torch.nn.LayerNorm((5, 8), bias=False)),
    ]:
        with torch.no_grad():
            for p in theirs.parameters():
                p.copy_(torch.randn(p.shape))
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        xt = torch.tensor(x, requires_grad=True)
        (theirs(xt) * torch.tensor(g)).sum().backward()
        xp = pn.tensor(x, requires_grad=True)
        y = ours(xp)
        (y * g).sum().backward()
        np.testing.assert_allclose(y.data, theirs(xt).detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(xp.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
        for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters(),
                                          strict=True):
            assert name == tname
            np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_bad_normalized_shapes_are_refused():
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(4)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="positive"):
        nn.LayerNorm(0)
    with pytest.raises(TypeError, match="normalized_shape"):
        nn.RMSNorm("x")
    with pytest.raises(ValueError, match="eps"):
        nn.LayerNorm(3, eps=-1.0)


def test_norm_layers_keep_float32_and_describe_themselves():
    layer = nn.LayerNorm(6)
    y = layer(np.ones((2, 6)))
    assert y.dtype == np.float32
    rebuilt = nn.module_from_spec(nn.module_to_spec(nn.RMSNorm(6, eps=1e-3)))
    assert rebuilt.eps == 1e-3 and rebuilt.weight.shape == (6,)


def test_float32_gelu_is_within_float32_accuracy_of_the_exact_one():
    x = np.linspace(-12, 12, 20001)
    exact = F.gelu(pn.tensor(x)).data  # float64: scipy's erf
    fast = F.gelu(pn.tensor(x.astype(np.float32))).data
    assert fast.dtype == np.float32
    np.testing.assert_allclose(fast, exact, rtol=0, atol=2e-6)
    from plainnet.nn.sequence_ops import _erf_float32

    scipy = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(_erf_float32(x.astype(np.float32)), scipy.erf(x), atol=4e-7)
