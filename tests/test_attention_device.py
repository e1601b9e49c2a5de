"""The sequence layers on the simulated GPU of ``tests/fake_device.py`` (as strict as CuPy: no
implicit transfers, no NumPy-only calls): each op and layer gives the CPU's values and
gradients."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from fake_device import FakeArray, FakeBackend
from plainnet import backend, nn
from plainnet.nn import functional as F
from plainnet.nn import sequence_ops

RNG = np.random.default_rng(9)


@pytest.fixture
def fake():
    backend.register_backend(FakeBackend("fake", FakeArray))
    yield "fake"
    backend.unregister_backend("fake")


def _both(fn, *arrays):
    """``fn``'s value and the gradients of its float inputs, on the CPU and on "fake"."""
    results = []
    for device in ("cpu", "fake"):
        ts = [pn.tensor(a, requires_grad=a.dtype.kind == "f", device=device) for a in arrays]
        out = fn(*ts)
        out.backward()
        grads = [backend.to_numpy(t.grad) for t in ts if t.requires_grad]
        results.append((backend.to_numpy(out.data), grads))
    (v1, g1), (v2, g2) = results
    np.testing.assert_allclose(v2, v1, rtol=1e-10, atol=1e-12)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
def test_attention_on_the_device(fake, mask):
    q, k, v = (RNG.normal(size=(2, 3, 4, 5)) for _ in range(3))
    seed = RNG.normal(size=(2, 3, 4, 5))
    m = {"none": None, "bool": RNG.random((4, 4)) > 0.3, "float": RNG.normal(size=(4, 4)),
         "causal": None}[mask]

    def fn(q, k, v):
        mm = None if m is None else backend.to_device(m, q.device)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mm, is_causal=mask == "causal")
        return (out * backend.to_device(seed, q.device)).sum()

    _both(fn, q, k, v)


@pytest.mark.parametrize("rows", [6, sequence_ops._ONE_HOT_MAX + 3])
def test_embedding_norms_and_gelu_on_the_device(fake, rows):
    table = RNG.normal(size=(rows, 4))
    idx = np.array([[0, 5, 5], [2, 0, 1]])
    w, b = RNG.normal(size=4), RNG.normal(size=4)

    def fn(table):
        d = table.device
        x = F.embedding(backend.to_device(idx, d), table, padding_idx=1)
        y = F.layer_norm(x, (4,), pn.tensor(w, device=d), pn.tensor(b, device=d))
        z = F.rms_norm(F.gelu(y), (4,), pn.tensor(w, device=d))
        return (F.gelu(z, approximate="tanh") ** 2).sum()

    _both(fn, table)


def test_losses_over_sequences_on_the_device(fake):
    z = RNG.normal(size=(2, 5, 3))
    y = RNG.integers(0, 3, size=(2, 5))
    y[0, 0] = -100

    def fn(z):
        labels = backend.to_device(y, z.device)
        weight = np.array([1.0, 2.0, 0.5])
        return (pn.losses.cross_entropy(z, labels, axis=-1, weight=weight)
                + pn.losses.nll(z.log_softmax(axis=-1), labels, axis=-1))

    _both(fn, z)


def test_multihead_attention_and_encoder_layer_on_the_device(fake):
    pn.seed(0)
    cpu = nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0, batch_first=True,
                                     activation="gelu", dtype=np.float64)
    pn.seed(0)
    dev = nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0, batch_first=True,
                                     activation="gelu", dtype=np.float64).to("fake")
    x = RNG.normal(size=(2, 5, 8))
    pad = np.zeros((2, 5), bool)
    pad[1, 3:] = True
    for layer, dev_name in ((cpu, "cpu"), (dev, "fake")):
        out = layer(pn.tensor(x, device=dev_name),
                    src_key_padding_mask=backend.to_device(pad, dev_name), is_causal=True)
        out.sum().backward()
    for (name, p), q in zip(cpu.named_parameters(), dev.parameters(), strict=True):
        np.testing.assert_allclose(backend.to_numpy(q.grad), p.grad, rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    mha = dev.self_attn
    xd = pn.tensor(x, device="fake")
    out, weights = mha(xd, xd, xd)  # the need_weights path
    assert out.device == "fake" and weights.shape == (2, 5, 5)


def test_sampling_and_generation_on_the_device(fake):
    logits = backend.to_device(np.log(np.array([[0.2, 0.8], [0.9, 0.1]])), "fake")
    draws = F.sample(logits, top_k=1, generator=0)
    assert backend.device_of(draws) == "fake"
    np.testing.assert_array_equal(backend.to_numpy(draws), [1, 0])
