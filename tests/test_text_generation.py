"""Sampling, generation, and a GPT-shaped model (examples/char_gpt.py): training lowers the
loss, gradients match finite differences, save/load round-trips, the simulated GPU agrees."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

import plainnet as pn
from plainnet.nn import functional as F

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "char_gpt.py"


def _char_gpt():
    spec = importlib.util.spec_from_file_location("char_gpt", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_follows_the_softmax_and_top_k():
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]))
    draws = np.stack([F.sample(logits, generator=np.random.default_rng(i)) for i in range(4000)])
    for row, probs in enumerate(np.exp(logits)):
        freq = np.bincount(draws[:, row], minlength=3) / len(draws)
        np.testing.assert_allclose(freq, probs, atol=0.03)
    top1 = {int(F.sample(logits, top_k=1, generator=i)[0]) for i in range(50)}
    assert top1 == {2}
    top2 = {int(F.sample(logits, top_k=2, generator=i)[0]) for i in range(200)}
    assert top2 == {1, 2}
    np.testing.assert_array_equal(F.sample(logits, temperature=0), [2, 0])
    with pytest.raises(ValueError, match="temperature"):
        F.sample(logits, temperature=-1)
    with pytest.raises(ValueError, match="top_k"):
        F.sample(logits, top_k=0)


def test_generate_extends_the_context_and_is_repeatable():
    gpt = _char_gpt()
    pn.seed(0)
    model = gpt.GPT(10, block_size=8, n_layer=1, n_head=2, n_embd=8)
    context = np.array([1, 2, 3])
    out = pn.nn.generate(model, context, 12, seed=5)
    assert out.shape == (15,) and np.all(out[:3] == context) and out.max() < 10
    np.testing.assert_array_equal(out, pn.nn.generate(model, context, 12, seed=5))
    assert model.training  # the mode is put back
    batch = pn.nn.generate(model, np.zeros((2, 1), int), 4, temperature=0)
    assert batch.shape == (2, 5) and np.all(batch[0] == batch[1])
    with pytest.raises(ValueError, match="context"):
        pn.nn.generate(model, np.array([0.5]), 2)


def test_gpt_gradients_match_finite_differences():
    gpt = _char_gpt()
    pn.seed(1)
    model = gpt.GPT(7, block_size=5, n_layer=1, n_head=2, n_embd=4, bias=True)
    for p in model.parameters():
        p.data = p.data.astype(np.float64) + np.random.default_rng(2).normal(
            size=p.shape) * 0.3
    x = np.array([[1, 2, 3, 4, 0], [6, 5, 4, 3, 2]])
    y = np.roll(x, -1, axis=1)
    w = model.h[0].attn.c_attn.weight
    base = w.data.copy()

    def loss_at(a):
        w.data = np.array(a.data if isinstance(a, pn.Tensor) else a)
        return gpt.loss_of(model, x, y)

    numeric = pn.numerical_grad(loss_at, base)
    w.data = base
    model.zero_grad()
    gpt.loss_of(model, x, y).backward()
    np.testing.assert_allclose(w.grad, numeric, rtol=1e-5, atol=1e-8)


def test_gpt_trains_saves_and_loads(tmp_path):
    gpt = _char_gpt()
    rng = np.random.default_rng(0)
    text = np.tile(np.arange(6), 200)  # a periodic "text": easy to learn
    pn.seed(0)
    model = gpt.GPT(6, block_size=8, n_layer=2, n_head=2, n_embd=16)
    opt = gpt.make_optimizer(model, lr=3e-3)
    first = None
    for _ in range(60):
        starts = rng.integers(0, len(text) - 9, 8)
        x = text[starts[:, None] + np.arange(8)]
        y = text[starts[:, None] + np.arange(1, 9)]
        loss = gpt.loss_of(model, x, y)
        first = float(loss.data) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.data) < 0.5 * first
    path = tmp_path / "gpt.safetensors"
    pn.save(model, path)
    loaded = pn.load(path, classes=[gpt.GPT])
    assert type(loaded).__name__ == "GPT" and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x[:2]), model.predict(x[:2]))
    # weight tying survives: one parameter for the embedding and the output layer
    assert len(loaded.parameters()) == len(model.parameters())


def test_gpt_on_the_simulated_device_equals_the_cpu():
    from fake_device import FakeArray, FakeBackend
    from plainnet import backend

    gpt = _char_gpt()
    backend.register_backend(FakeBackend("fake", FakeArray))
    try:
        pn.seed(3)
        cpu = gpt.GPT(9, block_size=6, n_layer=1, n_head=2, n_embd=8, bias=True)
        pn.seed(3)
        dev = gpt.GPT(9, block_size=6, n_layer=1, n_head=2, n_embd=8, bias=True).to("fake")
        x = np.random.default_rng(4).integers(0, 9, size=(3, 6))
        y = np.roll(x, -1, axis=1)
        for model, xs, ys in ((cpu, x, y), (dev, backend.to_device(x, "fake"),
                                             backend.to_device(y, "fake"))):
            model.zero_grad()
            gpt.loss_of(model, xs, ys).backward()
        for (name, p), q in zip(cpu.named_parameters(), dev.parameters(), strict=True):
            np.testing.assert_allclose(backend.to_numpy(q.grad), p.grad, rtol=1e-4,
                                       atol=1e-6, err_msg=name)
        out = backend.to_numpy(dev(backend.to_device(x, "fake")).data)
        np.testing.assert_allclose(out, cpu(x).data, rtol=1e-5, atol=1e-6)
    finally:
        backend.unregister_backend("fake")
