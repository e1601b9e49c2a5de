"""The weight gradient's fast path (plainnet._blas: small batches on one BLAS thread) gives the
product of the plain path, leaves the BLAS thread count as it was, and trains as before."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plainnet as pn
from plainnet import _blas


class FakeOpenBLAS:
    """Stands for threadpoolctl's handle on OpenBLAS: records the thread counts set."""

    def __init__(self, threads=2):
        self.threads, self.during, self.calls = threads, [], 0

    def get_num_threads(self):
        return self.threads

    def set_num_threads(self, n):
        self.calls += 1
        self.threads = n


@pytest.fixture
def fake_blas(monkeypatch):
    lib = FakeOpenBLAS()
    monkeypatch.setattr(_blas, "_openblas", [lib])
    return lib


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 300), n_out=st.integers(1, 300), n_in=st.integers(1, 400),
       dtype=st.sampled_from([np.float32, np.float64]), transposed=st.booleans())
def test_the_fast_path_is_the_plain_product(batch, n_out, n_in, dtype, transposed):
    rng = np.random.default_rng(batch * 1000 + n_out)
    g = rng.normal(size=(batch, n_out)).astype(dtype)
    x = rng.normal(size=(n_in, batch)).astype(dtype).T if transposed else \
        rng.normal(size=(batch, n_in)).astype(dtype)
    got = _blas.weight_gradient(g, x)
    want = g.astype(np.float64).T @ x.astype(np.float64)
    assert got.shape == (n_out, n_in) and got.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.sqrt(batch))


def test_one_thread_for_small_batches_and_the_count_restored(fake_blas, monkeypatch):
    seen = []
    product = _blas._product

    def watched(g, x):  # the BLAS thread count while the product runs
        seen.append(fake_blas.threads)
        return product(g, x)

    monkeypatch.setattr(_blas, "_product", watched)
    for batch, threads in ((32, [1]), (128, [1]), (129, [])):  # [] : the plain path
        seen.clear()
        g = np.ones((batch, 128), np.float32)
        x = np.ones((batch, 784), np.float32)
        np.testing.assert_array_equal(_blas.weight_gradient(g, x), np.full((128, 784), batch))
        assert seen == threads and fake_blas.threads == 2
    seen.clear()  # small outputs are left to OpenBLAS (it runs them on one thread itself)
    _blas.weight_gradient(np.ones((32, 10), np.float32), np.ones((32, 64), np.float32))
    assert seen == []
    # a Tensor (differentiating twice) goes the plain way
    t = pn.tensor(np.ones((32, 128)))
    assert isinstance(_blas.weight_gradient(t, np.ones((32, 784))), pn.Tensor) and seen == []


def test_the_count_is_restored_when_the_product_fails(fake_blas):
    with pytest.raises(ValueError):
        _blas.weight_gradient(np.ones((32, 128), np.float32), np.ones((31, 784), np.float32))
    assert fake_blas.threads == 2


def test_training_with_and_without_the_fast_path_agrees(monkeypatch):
    X = np.random.default_rng(0).random((256, 784)).astype(np.float32)
    y = np.arange(256) % 10

    def train():
        pn.seed(0)
        model = pn.nn.Sequential(pn.nn.Linear(784, 128), pn.nn.ReLU(), pn.nn.Linear(128, 10))
        pn.fit(model, X, y, epochs=2, batch_size=32, seed=0, verbose=0)
        return model.state_dict()

    fast = train()
    monkeypatch.setattr(_blas, "SMALL_K", 0)  # every product the plain way
    plain = train()
    for k in fast:
        np.testing.assert_allclose(fast[k], plain[k], rtol=1e-4, atol=1e-6, err_msg=k)
