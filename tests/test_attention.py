"""Scaled dot-product attention, MultiheadAttention and TransformerEncoderLayer: finite
differences, masks, and values and gradients against PyTorch with the same weights."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plainnet as pn
from plainnet import nn
from plainnet.nn import functional as F

RNG = np.random.default_rng(3)


def _qkv(shape=(2, 3, 5, 4), source=6):
    q = RNG.normal(size=shape)
    k = RNG.normal(size=shape[:-2] + (source, shape[-1]))
    v = RNG.normal(size=shape[:-2] + (source, 3))
    return q, k, v


MASKS = {
    "none": None,
    "bool": RNG.random((5, 6)) > 0.3,
    "additive": RNG.normal(size=(3, 5, 6)),
}


@pytest.mark.parametrize("mask", sorted(MASKS))
@pytest.mark.parametrize("which", [0, 1, 2])
def test_attention_gradients_match_finite_differences(mask, which):
    arrays = list(_qkv())
    seed = RNG.normal(size=(2, 3, 5, 3))

    def loss(t):
        args = [pn.tensor(a) for a in arrays]
        args[which] = t
        return (F.scaled_dot_product_attention(*args, attn_mask=MASKS[mask]) * seed).sum()

    assert pn.check_grad(loss, arrays[which]) < 1e-6


def test_causal_attention_gradient_and_values():
    q, k, v = _qkv(source=5)
    seed = RNG.normal(size=(2, 3, 5, 3))
    assert pn.check_grad(
        lambda t: (F.scaled_dot_product_attention(t, pn.tensor(k), pn.tensor(v),
                                                  is_causal=True) * seed).sum(), q) < 1e-6
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True).data
    np.testing.assert_allclose(out[..., 0, :], v[..., 0, :])  # the first query sees key 0


def test_a_fully_masked_row_gives_zeros_not_nan():
    q, k, v = _qkv()
    mask = np.ones((5, 6), bool)
    mask[2] = False
    t = pn.tensor(q, requires_grad=True)
    out = F.scaled_dot_product_attention(t, k, v, attn_mask=mask)
    out.sum().backward()
    assert np.all(out.data[..., 2, :] == 0) and np.all(np.isfinite(t.grad))


def test_large_scores_stay_finite():
    q, k, v = _qkv()
    out = F.scaled_dot_product_attention(q * 1e4, k, v).data
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("mask", ["none", "bool", "additive", "causal"])
def test_attention_equals_pytorch(mask):
    torch = pytest.importorskip("torch")
    q, k, v = (a.astype(np.float32) for a in _qkv(source=5))
    m = None if mask in ("none", "causal") else MASKS[mask][..., :5]
    seed = RNG.normal(size=(2, 3, 5, 3)).astype(np.float32)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    ref = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=None if m is None else torch.tensor(m.astype(np.float32)
                                                                  if m.dtype != bool else m),
        is_causal=mask == "causal")
    (ref * torch.tensor(seed)).sum().backward()
    pq, pk, pv = (pn.tensor(a, requires_grad=True) for a in (q, k, v))
    out = F.scaled_dot_product_attention(pq, pk, pv, attn_mask=m, is_causal=mask == "causal")
    (out * seed).sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    for ours, theirs in ((pq, tq), (pk, tk), (pv, tv)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-3, atol=1e-4)


def test_packed_attention_equals_per_head_attention_and_finite_differences():
    n, length, e, heads = 2, 5, 8, 2
    qkv = RNG.normal(size=(n, length, 3 * e))
    seed = RNG.normal(size=(n, length, e))
    assert pn.check_grad(lambda t: (F.packed_attention(t, heads, is_causal=True) * seed).sum(),
                         qkv) < 1e-6
    split = qkv.reshape(n, length, 3, heads, e // heads).transpose(2, 0, 3, 1, 4)
    ref = F.scaled_dot_product_attention(*split, is_causal=True).data
    np.testing.assert_allclose(
        F.packed_attention(qkv, heads, is_causal=True).data,
        ref.transpose(0, 2, 1, 3).reshape(n, length, e), rtol=1e-12)
    h1 = pn.hessian(lambda t: (F.packed_attention(t.reshape(1, 2, 6), 1) ** 2).sum())(
        qkv[0, :2, :6].reshape(-1))
    h2 = pn.hessian(lambda t: (F.scaled_dot_product_attention(
        *[t.reshape(1, 2, 6)[..., j * 2:(j + 1) * 2] for j in range(3)]) ** 2).sum())(
        qkv[0, :2, :6].reshape(-1))
    np.testing.assert_allclose(h1, h2, rtol=1e-8, atol=1e-10)


def test_bad_attention_inputs_are_refused():
    q, k, v = _qkv()
    with pytest.raises(ValueError, match="same number of features"):
        F.scaled_dot_product_attention(q, k[..., :3], v)
    with pytest.raises(ValueError, match="does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=MASKS["bool"], is_causal=True)
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)


def _load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _compare_grads(ours, theirs, rtol=2e-3, atol=2e-4):
    named = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, named[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


@pytest.mark.parametrize(
    "case",
    ["self", "self-weights", "cross", "padding", "bool-mask", "seq-first", "causal"],
)
def test_multihead_attention_equals_pytorch(case):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    batch_first = case != "seq-first"
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _load_from_torch(ours, theirs)
    x = RNG.normal(size=(3, 5, 8)).astype(np.float32)
    y = x if case != "cross" else RNG.normal(size=(3, 5, 8)).astype(np.float32)
    kw = {"need_weights": case in ("self-weights", "cross")}
    if case == "padding":
        pad = np.zeros((3, 5), bool)
        pad[0, 3:] = True
        kw["key_padding_mask"] = pad
    if case == "bool-mask":
        kw["attn_mask"] = RNG.random((5, 5)) > 0.7
    if case == "causal":
        kw["is_causal"] = True
        kw["attn_mask"] = np.triu(np.ones((5, 5), bool), k=1)
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y, requires_grad=True) if case == "cross" else tx
    ref, ref_w = theirs(tx, ty, ty, **tkw)
    seed = RNG.normal(size=ref.shape).astype(np.float32)
    (ref * torch.tensor(seed)).sum().backward()
    px, py = pn.tensor(x, requires_grad=True), pn.tensor(y, requires_grad=True)
    if case == "cross":
        out, w = ours(px, py, py, **kw)
    else:
        out, w = ours(px, px, px, **kw)
    (out * seed).sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    if kw["need_weights"]:
        np.testing.assert_allclose(w.data, ref_w.detach().numpy(), rtol=1e-4, atol=1e-6)
    else:
        assert w is None
    np.testing.assert_allclose(px.grad, tx.grad.numpy(), rtol=1e-3, atol=1e-4)
    _compare_grads(ours, theirs)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer_equals_pytorch(activation, norm_first):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                              activation=activation, batch_first=True,
                                              norm_first=norm_first)
    ours = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                      activation=activation, batch_first=True,
                                      norm_first=norm_first)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    _load_from_torch(ours, theirs)
    x = RNG.normal(size=(3, 5, 8)).astype(np.float32)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    tx = torch.tensor(x, requires_grad=True)
    ref = theirs(tx, src_mask=mask, is_causal=True)
    seed = RNG.normal(size=ref.shape).astype(np.float32)
    (ref * torch.tensor(seed)).sum().backward()
    px = pn.tensor(x, requires_grad=True)
    out = ours(px, src_mask=mask.numpy(), is_causal=True)
    (out * seed).sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(px.grad, tx.grad.numpy(), rtol=1e-3, atol=2e-4)
    _compare_grads(ours, theirs)


def test_encoder_layer_gradient_matches_finite_differences():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0,
                                       activation="gelu", batch_first=True, norm_first=True,
                                       dtype=np.float64)
    x = RNG.normal(size=(2, 3, 4))
    seed = RNG.normal(size=(2, 3, 4))
    assert pn.check_grad(lambda t: (layer(t, is_causal=True) * seed).sum(), x) < 1e-6
    w = layer.self_attn.in_proj_weight
    base = w.data.copy()

    def of_weight(a):
        w.data = np.array(a.data if isinstance(a, pn.Tensor) else a)
        return (layer(pn.tensor(x)) * seed).sum()

    numeric = pn.numerical_grad(of_weight, base)
    w.data = base
    (layer(pn.tensor(x)) * seed).sum().backward()
    np.testing.assert_allclose(w.grad, numeric, rtol=1e-5, atol=1e-8)


def test_dropout_in_attention_is_active_in_training_only():
    mha = nn.MultiheadAttention(4, 1, dropout=0.5, batch_first=True)
    x = RNG.normal(size=(2, 6, 4)).astype(np.float32)
    pn.seed(0)
    a = mha(x, x, x, need_weights=False)[0].data
    pn.seed(1)
    b = mha(x, x, x, need_weights=False)[0].data
    assert not np.allclose(a, b)
    mha.eval()
    np.testing.assert_array_equal(mha(x, x, x, need_weights=False)[0].data,
                                  mha(x, x, x, need_weights=False)[0].data)


def test_plot_attention_draws_the_weights_with_token_labels():
    pytest.importorskip("matplotlib")
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    x = RNG.normal(size=(1, 5, 4)).astype(np.float32)
    _, weights = mha(x, x, x, is_causal=True)
    np.testing.assert_allclose(weights.data.sum(-1), 1.0, rtol=1e-5)
    assert np.all(np.triu(weights.data[0], k=1) == 0)
    fig = pn.plot.attention(weights, tokens=list("hello"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list("hello")
    np.testing.assert_allclose(ax.images[0].get_array(), weights.data[0])
    with pytest.raises(ValueError, match="one example and head"):
        pn.plot.attention(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="tokens has 2 labels for 5"):
        pn.plot.attention(weights, tokens=["a", "b"])


def test_forward_hooks_run_on_the_sequence_layers():
    seen = []
    emb = nn.Embedding(5, 4)
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, batch_first=True)
    for module in (emb, mha, layer):
        module.register_forward_hook(lambda m, inputs, out: seen.append(type(m).__name__))
    x = emb(np.array([[1, 2, 3]]))
    mha(x, x, x, need_weights=False)
    layer(x)
    assert seen == ["Embedding", "MultiheadAttention", "TransformerEncoderLayer"]


@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_cross_attention_gradients_match_finite_differences(need_weights):
    mha = nn.MultiheadAttention(4, 2, batch_first=True, dtype=np.float64)
    q = RNG.normal(size=(2, 3, 4))
    kv = RNG.normal(size=(2, 5, 4))
    pad = np.zeros((2, 5), bool)
    pad[0, 4] = True
    seed = RNG.normal(size=(2, 3, 4))

    def of_query(t):
        out, w = mha(t, kv, kv, key_padding_mask=pad, need_weights=need_weights)
        return (out * seed).sum() + (0.0 if w is None else (w * w).sum())

    def of_memory(t):
        out, w = mha(pn.tensor(q), t, t, key_padding_mask=pad, need_weights=need_weights)
        return (out * seed).sum() + (0.0 if w is None else (w * w).sum())

    assert pn.check_grad(of_query, q) < 1e-6
    assert pn.check_grad(of_memory, kv) < 1e-6


def test_post_norm_relu_encoder_layer_matches_finite_differences():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
                                       dtype=np.float64)
    x = RNG.normal(size=(2, 3, 4))
    seed = RNG.normal(size=(2, 3, 4))
    mask = RNG.random((3, 3)) > 0.8  # True: not allowed (PyTorch's MultiheadAttention)
    np.fill_diagonal(mask, False)
    assert pn.check_grad(lambda t: (layer(t, src_mask=mask) * seed).sum(), x) < 1e-6


def test_mismatched_shapes_are_refused_with_clear_messages():
    with pytest.raises(ValueError, match="does not broadcast"):
        F.packed_attention(np.ones((2, 3, 12)), 2, attn_mask=np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="normalized shape"):
        F.layer_norm(pn.tensor(np.ones((2, 4))), (4,), pn.tensor(np.ones(3)))
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    with pytest.raises(ValueError, match="same batch and length"):
        mha(np.ones((2, 3, 4)), np.ones((2, 5, 4)), np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="same batch and length"):
        mha(np.ones((2, 3, 4)), np.ones((3, 5, 4)), np.ones((3, 5, 4)))


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 4)),
               elements=st.floats(-1e3, 1e3)),
    st.integers(1, 5),
    st.booleans(),
)
def test_attention_output_is_a_convex_combination_of_the_values(q, n_keys, causal):
    rng = np.random.default_rng(n_keys)
    k = rng.normal(size=(n_keys, q.shape[1])) * 10
    v = rng.normal(size=(n_keys, 3))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal).data
    assert np.all(np.isfinite(out))
    # every output lies within the range of the values it may read
    for i in range(q.shape[0]):
        seen = v[: min(i + 1, n_keys)] if causal else v
        if causal and i >= n_keys:
            seen = v
        assert np.all(out[i] >= seen.min(axis=0) - 1e-9)
        assert np.all(out[i] <= seen.max(axis=0) + 1e-9)


def test_transformer_encoder_equals_pytorch_and_round_trips(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(2)
    layer_t = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                               batch_first=True, norm_first=True)
    theirs = torch.nn.TransformerEncoder(layer_t, 2, norm=torch.nn.LayerNorm(8),
                                         enable_nested_tensor=False)
    ours = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True,
                                   norm_first=True), 2, norm=nn.LayerNorm(8))
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    _load_from_torch(ours, theirs)
    x = RNG.normal(size=(2, 5, 8)).astype(np.float32)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    ref = theirs(torch.tensor(x), mask=mask, is_causal=True).detach().numpy()
    out = ours(x, mask.numpy(), is_causal=True)
    np.testing.assert_allclose(out.data, ref, rtol=1e-4, atol=1e-4)
    # the copies are independent
    ours.layers[0].linear1.weight.data[...] = 0
    assert np.any(ours.layers[1].linear1.weight.data != 0)
    path = tmp_path / "encoder.safetensors"
    pn.save(ours, path)
    loaded = pn.load(path)
    np.testing.assert_array_equal(loaded.predict(x), ours.predict(x))
