"""Tests of the losses: values against NumPy/SciPy closed forms, gradients against finite
differences, reductions and sample weights, extreme inputs, lookup by name, loss modules."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import plainnet as pn
from plainnet import losses, nn

RNG = np.random.default_rng(2024)
N, C = 6, 4
X = RNG.normal(size=(N, 3))
T = RNG.normal(size=(N, 3))
LOGITS = RNG.normal(size=(N, C)) * 2
LABELS = RNG.integers(0, C, size=N)
PROBS = scipy.special.softmax(RNG.normal(size=(N, C)), axis=1)
W = RNG.uniform(0.1, 2.0, size=N)
GRAD_TOL = 1e-5  # max relative error against central differences (float64)


def no_warnings(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def value(t) -> np.ndarray:
    assert isinstance(t, pn.Tensor)
    return t.data


def reduce_reference(elementwise, reduction, w=None):
    """The reductions of the module docstring, in NumPy."""
    if w is not None:
        wb = np.broadcast_to(w.reshape((-1,) + (1,) * (elementwise.ndim - 1)), elementwise.shape)
        if reduction == "mean":
            return (wb * elementwise).sum() / wb.sum()
        elementwise = wb * elementwise
    if reduction == "mean":
        return elementwise.mean()
    return elementwise.sum() if reduction == "sum" else elementwise


def huber_reference(d, delta):
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d**2, delta * (a - 0.5 * delta))


ELEMENTWISE = {
    "mse": (losses.mse, {}, lambda x, t: (x - t) ** 2),
    "mae": (losses.mae, {}, lambda x, t: np.abs(x - t)),
    "huber": (losses.huber, {}, lambda x, t: huber_reference(x - t, 1.0)),
    "huber-0.3": (losses.huber, {"delta": 0.3}, lambda x, t: huber_reference(x - t, 0.3)),
    "bce_with_logits": (
        losses.bce_with_logits, {},
        lambda x, t: -(t * scipy.special.log_expit(x) + (1 - t) * scipy.special.log_expit(-x)),
    ),
}
PROB_TARGET = {"bce_with_logits"}


def target_for(name):
    return scipy.special.expit(T) if name in PROB_TARGET else T


# --------------------------------------------------------------------------- elementwise
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_loss_values(name, weighted, reduction):
    fn, kw, reference = ELEMENTWISE[name]
    t = target_for(name)
    w = W if weighted else None
    out = fn(pn.tensor(X), t, reduction=reduction, sample_weight=w, **kw)
    expected = reduce_reference(reference(X, t), reduction, w)
    np.testing.assert_allclose(value(out), expected, rtol=1e-12)
    assert out.shape == np.shape(expected)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_loss_gradients(name, weighted, reduction):
    fn, kw, _ = ELEMENTWISE[name]
    t = target_for(name)
    w = W if weighted else None
    seed = RNG.normal(size=X.shape)

    def f(x):
        out = fn(x, t, reduction=reduction, sample_weight=w, **kw)
        return (out * seed).sum() if reduction == "none" else out

    assert pn.check_grad(f, X + 0.01) < GRAD_TOL


def test_gradient_closed_forms():
    x = pn.tensor(X, requires_grad=True)
    losses.mse(x, T).backward()
    np.testing.assert_allclose(x.grad, 2 * (X - T) / X.size)
    x.grad = None
    losses.huber(x, T, delta=0.5).backward()
    np.testing.assert_allclose(x.grad, np.clip(X - T, -0.5, 0.5) / X.size)
    x.grad = None
    y = scipy.special.expit(T)
    losses.bce_with_logits(x, y, reduction="sum").backward()
    np.testing.assert_allclose(x.grad, scipy.special.expit(X) - y)


def test_gradient_flows_to_a_target_that_requires_grad():
    x = pn.tensor(X, requires_grad=True)
    t = pn.tensor(T, requires_grad=True)
    losses.mse(x, t).backward()
    np.testing.assert_allclose(t.grad, -2 * (X - T) / X.size)
    for fn in (losses.huber, losses.mae, losses.bce_with_logits):
        assert pn.check_grad(lambda tt, fn=fn: fn(pn.tensor(X), tt), T * 0.3 + 0.5) < GRAD_TOL


def test_mae_is_l1_and_zero_gradient_at_zero():
    assert losses.l1 is losses.mae
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    losses.mae(x, [1.0, 3.0]).backward()
    np.testing.assert_allclose(x.grad, [0.0, -0.5])


def test_targets_may_be_tensors_lists_and_column_shapes():
    x = pn.tensor(X[:, :1])  # (N, 1) model output
    a = losses.mse(x, T[:, 0])  # (N,) target: reshaped, not broadcast to (N, N)
    b = losses.mse(x, pn.tensor(T[:, :1]))
    c = losses.mse(X[:, 0], list(T[:, 0]))
    np.testing.assert_allclose(value(a), np.mean((X[:, 0] - T[:, 0]) ** 2))
    np.testing.assert_allclose(value(b), value(a))
    np.testing.assert_allclose(value(c), value(a))
    with pytest.raises(ValueError, match=r"target of shape \(6,\) does not match input"):
        losses.mse(pn.tensor(X), T[:, 0])


def test_losses_keep_float32():
    x = pn.tensor(X.astype(np.float32), requires_grad=True)
    for fn in (losses.mse, losses.mae, losses.huber):
        out = fn(x, T)
        assert out.dtype == np.float32
    out = losses.cross_entropy(pn.tensor(LOGITS.astype(np.float32), requires_grad=True), LABELS)
    assert out.dtype == np.float32
    out.backward()


def test_reduction_and_sample_weight_errors():
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.mse(X, T, reduction="avg")
    with pytest.raises(ValueError, match=r"one weight per sample, shape \(6,\)"):
        losses.mse(X, T, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        losses.mse(X, T, sample_weight=-W)
    with pytest.raises(ValueError, match="sums to 0"):
        losses.mse(X, T, sample_weight=np.zeros(N))
    with pytest.raises(ValueError, match="sums to 0"):
        losses.cross_entropy(LOGITS, LABELS, sample_weight=np.zeros(N))
    with pytest.raises(ValueError, match="delta"):
        losses.huber(X, T, delta=0)
    with pytest.raises(TypeError, match="input"):
        losses.mse("abc", T)


def test_integer_sample_weights_are_a_repetition():
    """Weight 2 on a sample counts it twice in the weighted mean."""
    w = np.array([2, 1, 1, 0, 3, 1])
    repeated = np.repeat(np.arange(N), w)
    np.testing.assert_allclose(
        value(losses.mse(X, T, sample_weight=w)), value(losses.mse(X[repeated], T[repeated]))
    )
    np.testing.assert_allclose(
        value(losses.cross_entropy(LOGITS, LABELS, sample_weight=w)),
        value(losses.cross_entropy(LOGITS[repeated], LABELS[repeated])),
        rtol=1e-12,
    )


# --------------------------------------------------------------------------- bce
def test_bce_values_and_gradient():
    p = scipy.special.expit(X)
    y = (T > 0).astype(float)
    expected = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    for reduction in ("mean", "sum", "none"):
        np.testing.assert_allclose(
            value(losses.bce(p, y, reduction=reduction)), reduce_reference(expected, reduction)
        )
    np.testing.assert_allclose(
        value(losses.bce(p, y, sample_weight=W)), reduce_reference(expected, "mean", W)
    )
    assert pn.check_grad(lambda q: losses.bce(q, y), p) < GRAD_TOL
    q = pn.tensor(p, requires_grad=True)
    losses.bce(q, y, reduction="sum").backward()
    np.testing.assert_allclose(q.grad, (p - y) / (p * (1 - p)))


def test_bce_equals_bce_with_logits_of_the_sigmoid():
    y = scipy.special.expit(T)
    np.testing.assert_allclose(
        value(losses.bce(scipy.special.expit(X), y)), value(losses.bce_with_logits(X, y))
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_is_finite_at_zero_and_one(dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0], dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0], dtype)
    x = pn.tensor(p, requires_grad=True)
    out = no_warnings(losses.bce, x, y, reduction="none")
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(out.data, [-np.log(eps), -np.log(eps), 0, 0], rtol=1e-5,
                               atol=2 * eps)
    no_warnings(out.sum().backward)
    assert np.all(np.isfinite(x.grad))


def test_bce_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match="probabilities"):
        losses.bce(np.array([1.5, 0.5]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="target"):
        losses.bce(np.array([0.5, 0.5]), np.array([2.0, 0.0]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_finite_at_extreme_logits(dtype):
    z = np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype)
    x = pn.tensor(z, requires_grad=True)
    out = no_warnings(losses.bce_with_logits, x, y, reduction="none")
    np.testing.assert_allclose(out.data, [0.0, 0.0, 1e4, 1e4, np.log(2)], rtol=1e-6)
    no_warnings(out.sum().backward)
    np.testing.assert_allclose(x.grad, [0.0, 0.0, 1.0, -1.0, -0.5])


# --------------------------------------------------------------------------- cross-entropy
def ce_reference(z, q):
    return -(q * scipy.special.log_softmax(z, axis=1)).sum(axis=1)


def smoothed_onehot(labels, c, eps):
    q = np.full((len(labels), c), eps / c)
    q[np.arange(len(labels)), labels] += 1 - eps
    return q


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("kind", ["labels", "probabilities"])
def test_cross_entropy_values_and_gradients(kind, smoothing, weighted, reduction):
    w = W if weighted else None
    if kind == "labels":
        target, q = LABELS, smoothed_onehot(LABELS, C, smoothing)
    else:
        target, q = PROBS, PROBS * (1 - smoothing) + smoothing / C
    out = losses.cross_entropy(pn.tensor(LOGITS), target, label_smoothing=smoothing,
                               reduction=reduction, sample_weight=w)
    np.testing.assert_allclose(value(out), reduce_reference(ce_reference(LOGITS, q), reduction,
                                                            w), rtol=1e-12)
    seed = RNG.normal(size=N)

    def f(z):
        out = losses.cross_entropy(z, target, label_smoothing=smoothing, reduction=reduction,
                                   sample_weight=w)
        return (out * seed).sum() if reduction == "none" else out

    assert pn.check_grad(f, LOGITS) < GRAD_TOL


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    z = pn.tensor(LOGITS, requires_grad=True)
    losses.cross_entropy(z, LABELS).backward()
    onehot = np.eye(C)[LABELS]
    np.testing.assert_allclose(z.grad, (scipy.special.softmax(LOGITS, axis=1) - onehot) / N)


def test_cross_entropy_label_smoothing_is_pytorch_definition():
    """PyTorch: (1 - eps) * CE(z, y) + eps * mean_c(-log softmax(z)_c)."""
    eps = 0.1
    logp = scipy.special.log_softmax(LOGITS, axis=1)
    expected = (1 - eps) * -logp[np.arange(N), LABELS].mean() + eps * (-logp.mean(axis=1)).mean()
    np.testing.assert_allclose(value(losses.cross_entropy(LOGITS, LABELS, label_smoothing=eps)),
                               expected)


def test_cross_entropy_accepts_whole_float_labels_and_onehot_probabilities():
    base = value(losses.cross_entropy(LOGITS, LABELS))
    np.testing.assert_allclose(value(losses.cross_entropy(LOGITS, LABELS.astype(float))), base)
    np.testing.assert_allclose(value(losses.cross_entropy(LOGITS, pn.tensor(LABELS))), base)
    np.testing.assert_allclose(value(losses.cross_entropy(LOGITS, np.eye(C)[LABELS])), base)


def test_cross_entropy_gradient_to_a_probability_target():
    t = pn.tensor(PROBS, requires_grad=True)
    losses.cross_entropy(LOGITS, t, reduction="sum").backward()
    np.testing.assert_allclose(t.grad, -scipy.special.log_softmax(LOGITS, axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_finite_at_extreme_logits(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 0.0, 0.0]], dtype)
    y = np.array([0, 0, 2])
    x = pn.tensor(z, requires_grad=True)
    out = no_warnings(losses.cross_entropy, x, y, reduction="none")
    np.testing.assert_allclose(out.data, [0.0, 2e4, np.log(3)], rtol=1e-6)
    no_warnings(out.sum().backward)
    np.testing.assert_allclose(x.grad[1], [-1.0, 1.0, 0.0], atol=1e-7)
    probs = no_warnings(losses.cross_entropy, z, np.eye(3, dtype=dtype)[y], reduction="none")
    np.testing.assert_allclose(probs.data, out.data, rtol=1e-6)


@settings(max_examples=80, deadline=None)
@given(st.data(), st.sampled_from([np.int8, np.int32, np.int64, np.uint8, np.uint64]),
       st.integers(1, 5))
def test_check_labels_refuses_exactly_the_labels_out_of_range(data, dtype, n_classes):
    """Every integer dtype, both ends of the range, and each dtype's extremes."""
    info = np.iinfo(dtype)
    elements = (st.integers(max(int(info.min), -3), min(int(info.max), 6))
                | st.sampled_from([int(info.min), int(info.max)]))
    labels = data.draw(hnp.arrays(dtype, st.integers(1, 8), elements=elements))
    values = [int(v) for v in labels]
    if all(0 <= v < n_classes for v in values):
        np.testing.assert_array_equal(losses.check_labels(labels, n_classes), values)
    else:
        with pytest.raises(ValueError, match="out of range"):
            losses.check_labels(labels, n_classes)


def test_cross_entropy_and_nll_errors():
    with pytest.raises(ValueError, match="class label 4 is out of range for 4 classes"):
        losses.cross_entropy(LOGITS, np.array([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ValueError, match="out of range"):
        losses.nll(LOGITS, np.array([0, -1, 2, 3, 1, 0]))
    with pytest.raises(ValueError, match="whole numbers"):
        losses.cross_entropy(LOGITS, LABELS + 0.5)
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        losses.cross_entropy(LOGITS, LABELS[:3])
    with pytest.raises(ValueError, match=r"\(batch, classes\)"):
        losses.cross_entropy(LOGITS[0], LABELS[0])
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.cross_entropy(LOGITS, LABELS, label_smoothing=1.5)
    with pytest.raises(TypeError, match="integers"):
        losses.nll(LOGITS, np.array(["a"] * N))


@given(
    hnp.arrays(np.float64, (3, 5), elements=st.floats(-50, 50)),
    hnp.arrays(np.int64, (3,), elements=st.integers(0, 4)),
)
@settings(max_examples=40, deadline=None)
def test_cross_entropy_property_nonnegative_and_matches_scipy(z, y):
    out = value(losses.cross_entropy(z, y, reduction="none"))
    assert np.all(out >= 0)
    np.testing.assert_allclose(out, -scipy.special.log_softmax(z, axis=1)[np.arange(3), y],
                               rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- nll
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_values_gradients_and_relation_to_cross_entropy(reduction, weighted):
    w = W if weighted else None
    logp = scipy.special.log_softmax(LOGITS, axis=1)
    out = losses.nll(pn.tensor(logp), LABELS, reduction=reduction, sample_weight=w)
    np.testing.assert_allclose(value(out), reduce_reference(-logp[np.arange(N), LABELS],
                                                            reduction, w))
    via_log_softmax = losses.nll(pn.tensor(LOGITS).log_softmax(axis=1), LABELS,
                                 reduction=reduction, sample_weight=w)
    direct = losses.cross_entropy(LOGITS, LABELS, reduction=reduction, sample_weight=w)
    np.testing.assert_allclose(value(via_log_softmax), value(direct), rtol=1e-12)
    seed = RNG.normal(size=N)

    def f(x):
        out = losses.nll(x, LABELS, reduction=reduction, sample_weight=w)
        return (out * seed).sum() if reduction == "none" else out

    assert pn.check_grad(f, logp) < GRAD_TOL


# --------------------------------------------------------------------------- lookup
def test_get_by_name_and_callable():
    assert set(losses.LOSSES) >= {"mse", "mae", "huber", "bce", "bce_with_logits",
                                  "cross_entropy", "nll"}
    assert losses.get("cross_entropy") is losses.cross_entropy
    assert losses.get("Cross-Entropy") is losses.cross_entropy
    assert losses.get(losses.mse) is losses.mse
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'.*'bce'.*'nll'"):
        losses.get("hinge")
    with pytest.raises(TypeError, match="name or a callable"):
        losses.get(3)


def test_get_wraps_callables_without_sample_weight():
    def my_loss(input, target):
        return ((input - target) ** 2).sum()

    fn = losses.get(my_loss)
    assert fn.__name__ == "my_loss"
    np.testing.assert_allclose(value(fn(pn.tensor(X), T)), ((X - T) ** 2).sum())
    with pytest.raises(TypeError, match="takes no sample_weight"):
        fn(pn.tensor(X), T, sample_weight=W)
    module = nn.MSELoss()
    assert losses.get(module) is module


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_every_named_loss_returns_a_scalar_tensor(name):
    fn = losses.get(name)
    if name in ("cross_entropy", "nll"):
        args = (pn.tensor(LOGITS, requires_grad=True), LABELS)
    elif name == "bce":
        args = (pn.tensor(scipy.special.expit(X), requires_grad=True), (T > 0).astype(float))
    else:
        args = (pn.tensor(X, requires_grad=True), scipy.special.expit(T))
    out = fn(*args, sample_weight=W)
    assert isinstance(out, pn.Tensor) and out.shape == ()
    out.backward()
    assert args[0].grad.shape == args[0].shape


# --------------------------------------------------------------------------- modules
MODULE_CASES = [
    (nn.MSELoss(), losses.mse, {}),
    (nn.L1Loss(reduction="sum"), losses.mae, {"reduction": "sum"}),
    (nn.HuberLoss(delta=0.5), losses.huber, {"delta": 0.5}),
    (nn.BCEWithLogitsLoss(), losses.bce_with_logits, {}),
]


@pytest.mark.parametrize("module, fn, kw", MODULE_CASES, ids=lambda c: type(c).__name__)
def test_loss_modules_match_functions(module, fn, kw):
    y = scipy.special.expit(T)
    np.testing.assert_allclose(value(module(X, y)), value(fn(X, y, **kw)))
    np.testing.assert_allclose(value(module(X, y, sample_weight=W)),
                               value(fn(X, y, sample_weight=W, **kw)))


def test_classification_loss_modules_and_configs():
    ce = nn.CrossEntropyLoss(label_smoothing=0.1)
    np.testing.assert_allclose(value(ce(LOGITS, LABELS)),
                               value(losses.cross_entropy(LOGITS, LABELS, label_smoothing=0.1)))
    logp = scipy.special.log_softmax(LOGITS, axis=1)
    np.testing.assert_allclose(value(nn.NLLLoss()(logp, LABELS)), value(losses.nll(logp, LABELS)))
    p = scipy.special.expit(X)
    np.testing.assert_allclose(value(nn.BCELoss(reduction="none")(p, T > 0)),
                               value(losses.bce(p, T > 0, reduction="none")))
    assert repr(ce) == "CrossEntropyLoss(reduction='mean', label_smoothing=0.1)"
    spec = json.loads(json.dumps(nn.module_to_spec(nn.HuberLoss("sum", delta=2.0))))
    rebuilt = nn.module_from_spec(spec)
    assert isinstance(rebuilt, nn.HuberLoss) and rebuilt.delta == 2.0
    assert rebuilt.reduction == "sum"
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="max")


# --------------------------------------------------------------------------- (N, C, d) logits
SPATIAL = np.random.default_rng(21).normal(size=(3, 4, 5, 2))  # (N, C, d1, d2)
SPATIAL_LABELS = np.random.default_rng(22).integers(0, 4, size=(3, 5, 2))
SPATIAL_LABELS[0, :2, 0] = -100  # ignored positions
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll"])
def test_spatial_losses_with_ignore_index_and_weight_equal_pytorch(fn, weighted, reduction):
    torch = pytest.importorskip("torch")
    weight = CLASS_WEIGHT if weighted else None
    z = pn.tensor(SPATIAL, requires_grad=True)
    tz = torch.tensor(SPATIAL, requires_grad=True)
    if fn == "nll":
        ours = losses.nll(z.log_softmax(axis=1), SPATIAL_LABELS, weight=weight,
                          reduction=reduction)
        theirs = torch.nn.functional.nll_loss(
            tz.log_softmax(1), torch.tensor(SPATIAL_LABELS),
            weight=None if weight is None else torch.tensor(weight), reduction=reduction)
    else:
        ours = losses.cross_entropy(z, SPATIAL_LABELS, weight=weight, reduction=reduction)
        theirs = torch.nn.functional.cross_entropy(
            tz, torch.tensor(SPATIAL_LABELS),
            weight=None if weight is None else torch.tensor(weight), reduction=reduction)
    seed = np.random.default_rng(1).normal(size=theirs.shape)
    (ours * seed).sum().backward()
    (theirs * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_spatial_cross_entropy_gradient_matches_finite_differences():
    fd = pn.check_grad(
        lambda t: losses.cross_entropy(t, SPATIAL_LABELS, weight=CLASS_WEIGHT), SPATIAL)
    assert fd < 1e-7
    fd = pn.check_grad(
        lambda t: losses.nll(t, SPATIAL_LABELS, weight=CLASS_WEIGHT), SPATIAL)
    assert fd < 1e-7


def test_sequence_logits_with_axis_minus_one_equal_the_flattened_rows():
    z = np.random.default_rng(2).normal(size=(2, 5, 7))  # (N, T, C)
    y = np.random.default_rng(3).integers(0, 7, size=(2, 5))
    expected = value(losses.cross_entropy(z.reshape(-1, 7), y.reshape(-1)))
    np.testing.assert_allclose(value(losses.cross_entropy(z, y, axis=-1)), expected)
    moved = np.moveaxis(z, -1, 1)  # the same logits the PyTorch way
    np.testing.assert_allclose(value(losses.cross_entropy(moved, y)), expected)
    assert losses.cross_entropy(z, y, axis=-1, reduction="none").shape == (2, 5)
    probs = np.eye(7)[y]
    np.testing.assert_allclose(value(losses.cross_entropy(z, probs, axis=-1)), expected)


def test_ignore_index_alone_is_the_mean_over_the_rest_and_all_ignored_is_refused():
    y = LABELS.copy()
    y[:2] = 7
    kept = value(losses.cross_entropy(LOGITS[2:], LABELS[2:]))
    np.testing.assert_allclose(value(losses.cross_entropy(LOGITS, y, ignore_index=7)), kept)
    with pytest.raises(ValueError, match="sums to 0"):
        losses.cross_entropy(LOGITS, np.full(N, -100))
    with pytest.raises(ValueError, match=r"one weight per class, shape \(4,\)"):
        losses.cross_entropy(LOGITS, LABELS, weight=np.ones(3))
    with pytest.raises(ValueError, match="batch axis"):
        losses.cross_entropy(LOGITS, LABELS, axis=0)


def test_bce_with_logits_refuses_targets_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"bce_with_logits target must lie in \[0, 1\]"):
        losses.bce_with_logits(np.zeros(3), np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        losses.bce_with_logits(np.zeros(2), np.array([-0.5, 1.0]))


def test_loss_modules_take_weight_ignore_index_and_axis():
    z = np.random.default_rng(4).normal(size=(2, 5, 4))
    y = np.random.default_rng(5).integers(0, 4, size=(2, 5))
    y[0, 0] = -100
    crit = nn.CrossEntropyLoss(weight=CLASS_WEIGHT, axis=-1)
    np.testing.assert_allclose(
        value(crit(z, y)), value(losses.cross_entropy(z, y, weight=CLASS_WEIGHT, axis=-1)))
    rebuilt = nn.module_from_spec(nn.module_to_spec(crit))
    np.testing.assert_allclose(value(rebuilt(z, y)), value(crit(z, y)))
    nll = nn.NLLLoss(ignore_index=3)
    np.testing.assert_allclose(
        value(nll(LOGITS, LABELS)), value(losses.nll(LOGITS, LABELS, ignore_index=3)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_label_smoothing_with_class_weight_and_ignore_index_equals_pytorch(reduction):
    torch = pytest.importorskip("torch")
    z = pn.tensor(SPATIAL, requires_grad=True)
    tz = torch.tensor(SPATIAL, requires_grad=True)
    ours = losses.cross_entropy(z, SPATIAL_LABELS, weight=CLASS_WEIGHT, label_smoothing=0.2,
                                reduction=reduction)
    theirs = torch.nn.functional.cross_entropy(
        tz, torch.tensor(SPATIAL_LABELS), weight=torch.tensor(CLASS_WEIGHT),
        label_smoothing=0.2, reduction=reduction)
    seed = np.random.default_rng(6).normal(size=theirs.shape)
    (ours * seed).sum().backward()
    (theirs * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_label_smoothing_with_ignore_index_equals_pytorch():
    torch = pytest.importorskip("torch")
    ours = losses.cross_entropy(SPATIAL, SPATIAL_LABELS, label_smoothing=0.1)
    theirs = torch.nn.functional.cross_entropy(
        torch.tensor(SPATIAL), torch.tensor(SPATIAL_LABELS), label_smoothing=0.1)
    np.testing.assert_allclose(value(ours), theirs.item(), rtol=1e-10)


def test_bce_against_pytorch_where_its_docstring_says():
    torch = pytest.importorskip("torch")
    eps = np.finfo(np.float64).eps
    p = np.array([0.3, 1e-3, 1 - 1e-5, 1e-7, 1e-14, 0.0, 1.0])
    y = np.array([1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    x = pn.tensor(p, requires_grad=True)
    loss = pn.losses.bce(x, y, reduction="none")
    loss.sum().backward()
    pt = torch.tensor(p, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy(pt, torch.tensor(y), reduction="none")
    ref.sum().backward()
    inside = (p >= eps) & (p <= 1 - eps)
    np.testing.assert_allclose(loss.data[inside], ref.detach().numpy()[inside], rtol=1e-12)
    assert loss.data[5] == pytest.approx(-np.log(eps)) and ref[5].item() == 100.0
    big = p * (1 - p) >= 1e-12
    np.testing.assert_allclose(x.grad[big], pt.grad.numpy()[big], rtol=1e-10)
    assert abs(x.grad[4]) > abs(pt.grad[4].item())  # exact (p - y)/(p(1-p)) vs PyTorch's cap
    assert x.grad[5] == 0.0 and x.grad[6] == 0.0    # outside the clip range
