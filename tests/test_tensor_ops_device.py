"""The tensor ops of issue 16 on the simulated GPU (``fake_device.py``): the same values and
gradients as on the CPU, results and gradients kept on the device, no implicit copies."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from fake_device import Counts, FakeArray, FakeBackend
from plainnet import backend
from plainnet.autodiff import ops


@pytest.fixture
def fake():
    device = FakeBackend("fake", FakeArray)
    backend.register_backend(device)
    yield device
    backend.unregister_backend("fake")


RNG = np.random.default_rng(3)
IDX = np.array([[0, 2, 2, 1], [1, 1, 0, 0]])

PROGRAMS = {
    "reductions": lambda x: (x.std(axis=1) + ops.prod(x, axis=1) + x.norm(axis=1)
                             + ops.norm(x, 1, axis=1) + ops.norm(x, np.inf, axis=1)).sum()
    + ops.cumsum(x, 0).sum() + (ops.cumprod(x, 1) * 0.5).sum(),
    "sort": lambda x: (ops.sort(x, axis=1)[0] * pn.tensor(np.arange(4.0), device=x.device)).sum()
    + ops.topk(x, 2, axis=0)[0].sum() + (ops.median(x, dim=1)[0] ** 2).sum() + ops.median(x),
    "elementwise": lambda x: (x.sin() + x.cos() + ops.tan(x * 0.3) + x.abs().log1p()
                              + x.expm1() + (x.abs() + 1).log2() + (x.abs() + 1).log10()
                              + x.square() + (x.abs() + 1).rsqrt() + (x.abs() + 1).reciprocal()
                              + x.sign() + x.floor() + x.ceil() + x.round()).sum(),
    "indexing": lambda x: (ops.gather(x, 0, IDX).sum() + ops.take_along_axis(x, IDX[:1], 0).sum()
                           + ops.index_select(x, 1, [3, 0, 3]).sum()
                           + ops.masked_fill(x, x.data > 0, 2.0).sum()
                           + (ops.scatter_add(x, 0, IDX, x[:2] * 2) ** 2).sum()),
    "assembly": lambda x: (x.repeat(2, 1).sum() + ops.repeat_interleave(x, 2, axis=1).sum()
                           + (ops.flip(x, 1) * x).sum() + (ops.roll(x, 1, 0) * x).sum()
                           + (ops.split(x, 3, 1)[1] ** 2).sum() + ops.chunk(x, 2)[0].sum()),
    "pad": lambda x: ((ops.pad(x, 1, mode="reflect") ** 2).sum()
                      + (ops.pad(x, ((0, 1), (2, 0)), mode="edge") ** 2).sum()
                      + (ops.pad(x, 1) ** 2).sum()
                      + (pn.nn.functional.pad(x, (1, 1), mode="circular") ** 2).sum()),
    "linear_algebra": lambda x: ((ops.tril(x) ** 2).sum() + (ops.triu(x, 1) ** 2).sum()
                                 + (ops.diag(x) ** 2).sum() + (ops.diag(x[0]) ** 2).sum()
                                 + (ops.outer(x[0], x[1]) ** 2).sum()
                                 + (ops.tensordot(x, x, ([1], [1])) ** 2).sum()
                                 + ops.einsum("ij,kj->", x, x) + ops.einsum("ii", x[:, :3])
                                 + (ops.einsum("...j,j->...", x, x[0]) ** 2).sum()),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_new_ops_match_the_cpu_on_the_device(fake, name):
    x0 = RNG.standard_normal((3, 4)) + 0.01
    results = []
    for device in ("cpu", "fake"):
        x = pn.tensor(x0, requires_grad=True, device=device)
        value = PROGRAMS[name](x)
        assert value.device == device
        value.backward()
        assert type(x.grad) is (np.ndarray if device == "cpu" else FakeArray)
        results.append((float(value), backend.to_numpy(x.grad)))
    (v0, g0), (v1, g1) = results
    assert v1 == pytest.approx(v0, rel=1e-12)
    np.testing.assert_allclose(g1, g0, rtol=1e-12, atol=1e-12)


def test_second_derivatives_on_the_device(fake):
    x = pn.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True, device="fake")
    y = (ops.einsum("ij,jk->ik", x, x).sin().sum() + ops.cumprod(x, 1).sum())
    y.backward(create_graph=True)
    g = x.grad
    assert g.device == "fake"
    x.grad = None
    g.sum().backward()
    on_cpu = pn.tensor(backend.to_numpy(x.data), requires_grad=True)
    y = (ops.einsum("ij,jk->ik", on_cpu, on_cpu).sin().sum() + ops.cumprod(on_cpu, 1).sum())
    y.backward(create_graph=True)
    g = on_cpu.grad
    on_cpu.grad = None
    g.sum().backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad), on_cpu.grad, rtol=1e-12)


def test_constructors_make_tensors_on_the_device(fake):
    for t in (pn.zeros(2, 3, device="fake"), pn.ones(2, device="fake"),
              pn.full((2,), 3.0, device="fake"), pn.arange(4, device="fake"),
              pn.linspace(0, 1, 3, device="fake"), pn.eye(2, device="fake"),
              pn.rand(2, device="fake"), pn.randn(2, device="fake"),
              pn.randint(0, 3, (2,), device="fake")):
        assert t.device == "fake" and type(t.data) is FakeArray
    x = pn.tensor([1.0, 2.0], device="fake")
    assert pn.zeros_like(x).device == "fake" and pn.ones_like(x).device == "fake"
    pn.seed(0)
    a = pn.randn(3, device="fake")
    pn.seed(0)
    np.testing.assert_array_equal(backend.to_numpy(a.data), pn.randn(3).data)


def test_a_device_index_from_another_device_is_refused(fake):
    x = pn.tensor(np.ones((2, 2)), device="fake")
    with pytest.raises(backend.DeviceMismatchError):
        ops.einsum("ij,jk", x, pn.tensor(np.ones((2, 2))))


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_forward_never_waits_for_the_device(fake, name):
    """No op reads a value back to the host (each read would make the host wait for the
    GPU): shapes, indices and masks all stay on the device."""
    x = pn.tensor(RNG.standard_normal((3, 4)), requires_grad=True, device="fake")
    Counts.reset()
    PROGRAMS[name](x)
    assert Counts.syncs == 0
