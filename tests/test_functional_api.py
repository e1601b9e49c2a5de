"""``plainnet.nn.functional`` as ``torch.nn.functional``: names, arguments and values.

Values are compared with PyTorch where it is installed; the gradients of the wrappers are
checked against finite differences (float64); bad input gives a clear error.
"""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plainnet as pn
import plainnet.nn.functional as F
from fake_device import FakeArray, FakeBackend
from plainnet import backend

RNG = np.random.default_rng(7)
X = RNG.normal(size=(4, 5)) * 3  # some values past every activation's kinks and tails
LABELS = np.array([0, 3, 2, 4])
TARGET = RNG.random((4, 5))

ACTIVATIONS = [
    ("relu", {}), ("relu6", {}), ("sigmoid", {}), ("tanh", {}),
    ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.7}), ("selu", {}),
    ("celu", {"alpha": 1.5}), ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}),
    ("mish", {}), ("hardtanh", {"min_val": -2.0, "max_val": 1.5}), ("hardswish", {}),
    ("hardsigmoid", {}), ("softsign", {}), ("logsigmoid", {}), ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 3.0}), ("softmax", {"dim": 0}),
    ("softmax", {"dim": 1}), ("log_softmax", {"dim": 1}), ("log_softmax", {"dim": -2}),
]
SMOOTH = ["sigmoid", "tanh", "elu", "selu", "celu", "gelu", "silu", "mish", "softsign",
          "logsigmoid", "softplus", "softmax", "log_softmax"]


def _id(case) -> str:
    name, kw = case
    return name + "".join(f"-{k}={v}" for k, v in kw.items())


def grad_ok(f, x) -> bool:
    """The autodiff gradient of ``f`` at ``x`` equals the central finite differences."""
    np.testing.assert_allclose(pn.grad(f)(x), pn.numerical_grad(f, x), rtol=1e-6, atol=1e-8)
    return True


@pytest.fixture
def torch_f():
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


# --------------------------------------------------------------------------- the namespace
def test_every_torch_name_is_there_and_public():
    names = ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", "mish", "selu",
             "celu", "hardtanh", "relu6", "hardswish", "hardsigmoid", "softsign", "logsigmoid",
             "softplus", "softmax", "log_softmax", "dropout", "linear", "cross_entropy",
             "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
             "binary_cross_entropy", "binary_cross_entropy_with_logits", "one_hot", "pad",
             "normalize", "conv2d", "max_pool2d", "layer_norm", "scaled_dot_product_attention"]
    for name in names:
        assert name in F.__all__, name
        assert callable(getattr(F, name)), name
    shown = set(dir(F))
    for internal in ("np", "annotations", "ElementwiseKernel", "LINEAR_RELU", "apply", "Op"):
        assert internal not in shown and internal not in F.__all__
    from plainnet.nn.functional import LINEAR_RELU, linear_relu  # internals still import

    assert LINEAR_RELU.name == "linear_relu" and callable(linear_relu)


# --------------------------------------------------------------------------- values
@pytest.mark.parametrize("case", ACTIVATIONS, ids=_id)
def test_activation_equals_torch(case, torch_f):
    torch, tf = torch_f
    name, kw = case
    got = getattr(F, name)(pn.tensor(X), **kw)
    want = getattr(tf, name)(torch.tensor(X), **kw).numpy()
    assert isinstance(got, pn.Tensor)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", SMOOTH)
def test_activation_gradients_by_finite_differences(name):
    kw = {"dim": 1} if "softmax" in name else {}
    fn = getattr(F, name)
    assert grad_ok(lambda x: (fn(x, **kw) * TARGET).sum(), X)


def test_softplus_linear_tail_and_its_gradient():
    x = np.array([-4.0, 0.3, 1.4, 1.6, 9.0])
    y = F.softplus(pn.tensor(x), beta=2.0, threshold=3.0)
    tail = x * 2.0 > 3.0
    np.testing.assert_array_equal(y.numpy()[tail], x[tail])
    np.testing.assert_allclose(y.numpy()[~tail], np.log1p(np.exp(2 * x[~tail])) / 2)
    assert grad_ok(lambda t: (F.softplus(t, beta=2.0, threshold=3.0) ** 2).sum(), x)


def test_inplace_writes_into_the_input(torch_f):
    torch, tf = torch_f
    t = pn.tensor(X.copy())
    out = F.leaky_relu(t, 0.1, inplace=True)
    want = tf.leaky_relu(torch.tensor(X), 0.1).numpy()
    np.testing.assert_allclose(t.numpy(), want)
    np.testing.assert_allclose(out.numpy(), want)
    with pytest.raises(TypeError, match="inplace=True needs a Tensor input"):
        F.relu(X, inplace=True)


def test_softmax_without_dim_takes_torchs_legacy_axis(torch_f):
    torch, tf = torch_f
    for shape in [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)]:
        x = RNG.normal(size=shape)
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            got = F.softmax(x)
        with pytest.warns(UserWarning):
            want = tf.softmax(torch.tensor(x)).numpy()
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_float32_input_stays_float32():
    x = X.astype(np.float32)
    for fn in (F.relu, F.silu, lambda t: F.softmax(t, dim=1), lambda t: F.normalize(t)):
        assert fn(x).dtype == np.float32


def test_softmax_dtype_casts_first():
    y = F.softmax(pn.tensor(X), dim=1, dtype="float32")
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy().sum(axis=1), 1.0, rtol=1e-6)


def test_linear_takes_torchs_argument_names(torch_f):
    torch, tf = torch_f
    w, b = RNG.normal(size=(3, 5)), RNG.normal(size=3)
    got = F.linear(input=pn.tensor(X), weight=pn.tensor(w), bias=pn.tensor(b))
    want = tf.linear(input=torch.tensor(X), weight=torch.tensor(w), bias=torch.tensor(b))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


LOSS_CASES = [
    ("mse_loss", {}), ("mse_loss", {"reduction": "sum"}), ("l1_loss", {"reduction": "none"}),
    ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0}),
    ("huber_loss", {"delta": 0.7}), ("binary_cross_entropy_with_logits", {}),
    ("binary_cross_entropy_with_logits", {"reduction": "sum"}),
]


@pytest.mark.parametrize("case", LOSS_CASES, ids=_id)
def test_regression_losses_equal_torch(case, torch_f):
    torch, tf = torch_f
    name, kw = case
    got = getattr(F, name)(pn.tensor(X), TARGET, **kw)
    want = getattr(tf, name)(torch.tensor(X), torch.tensor(TARGET), **kw)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_weighted_binary_losses_equal_torch(torch_f):
    torch, tf = torch_f
    p = 1 / (1 + np.exp(-X))
    w, pw = RNG.random(5), RNG.random(5) + 0.5
    for reduction in ("mean", "sum", "none"):
        got = F.binary_cross_entropy(pn.tensor(p), TARGET, weight=w, reduction=reduction)
        want = tf.binary_cross_entropy(torch.tensor(p), torch.tensor(TARGET),
                                       weight=torch.tensor(w), reduction=reduction)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
        got = F.binary_cross_entropy_with_logits(X, TARGET, weight=w, pos_weight=pw,
                                                 reduction=reduction)
        want = tf.binary_cross_entropy_with_logits(
            torch.tensor(X), torch.tensor(TARGET), weight=torch.tensor(w),
            pos_weight=torch.tensor(pw), reduction=reduction)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("kw", [{}, {"weight": np.arange(1.0, 6.0)}, {"ignore_index": 2},
                                {"label_smoothing": 0.1}, {"reduction": "none"},
                                {"weight": np.arange(1.0, 6.0), "ignore_index": 3,
                                 "reduction": "sum"}], ids=str)
def test_classification_losses_equal_torch(kw, torch_f):
    torch, tf = torch_f
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    got = F.cross_entropy(pn.tensor(X), LABELS, **kw)
    want = tf.cross_entropy(torch.tensor(X), torch.tensor(LABELS), **tkw)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    if "label_smoothing" not in kw:
        logp = F.log_softmax(pn.tensor(X), dim=1)
        got = F.nll_loss(logp, LABELS, **kw)
        want = tf.nll_loss(tf.log_softmax(torch.tensor(X), dim=1), torch.tensor(LABELS), **tkw)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_loss_gradients_by_finite_differences():
    w, pw = RNG.random(5), RNG.random(5) + 0.5
    cases = [
        lambda x: F.binary_cross_entropy_with_logits(x, TARGET, weight=w, pos_weight=pw),
        lambda x: F.binary_cross_entropy(F.sigmoid(x), TARGET, weight=w, reduction="sum"),
        lambda x: F.mse_loss(x, TARGET, weight=w),
        lambda x: F.smooth_l1_loss(x, TARGET, beta=0.5),
        lambda x: F.cross_entropy(x, LABELS, weight=np.arange(1.0, 6.0), ignore_index=2),
    ]
    for f in cases:
        assert grad_ok(f, X)


# --------------------------------------------------------------------------- normalize
@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1), (float("inf"), 1)])
def test_normalize_equals_torch_and_its_gradient(p, dim, torch_f):
    torch, tf = torch_f
    got = F.normalize(pn.tensor(X), p=p, dim=dim)
    want = tf.normalize(torch.tensor(X), p=p, dim=dim).numpy()
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    if p != float("inf"):  # the max-norm has kinks wherever two entries tie
        assert grad_ok(lambda x: (F.normalize(x, p=p, dim=dim) * TARGET).sum(), X)


def test_normalize_without_torch():
    y = F.normalize(pn.tensor([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(y.numpy(), [[0.6, 0.8], [0.0, 0.0]])  # a zero row stays zero
    assert grad_ok(lambda x: (F.normalize(x, dim=0) * TARGET).sum(), X)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, max_side=5),
                  elements=st.floats(-1e6, 1e6)), st.sampled_from([1.0, 2.0, 3.0]))
def test_normalize_property_unit_rows_or_zero(x, p):
    y = F.normalize(x, p=p, dim=1).numpy()
    lengths = (np.abs(y) ** p).sum(axis=1) ** (1 / p)
    big = (np.abs(x) ** p).sum(axis=1) ** (1 / p) > 2e-12  # well above eps = 1e-12
    np.testing.assert_allclose(lengths[big], 1.0, rtol=1e-9)
    assert np.all(lengths <= 1.0 + 1e-9)  # below eps: divided by eps, so shorter than 1


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                  elements=st.integers(0, 9)))
def test_one_hot_property_round_trip(labels):
    out = F.one_hot(labels, 10).numpy()
    assert out.shape == labels.shape + (10,)
    np.testing.assert_array_equal(out.argmax(axis=-1), labels)
    np.testing.assert_array_equal(out.sum(axis=-1), 1)


# --------------------------------------------------------------------------- pad
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_equals_torch_and_its_gradient(mode, torch_f):
    torch, tf = torch_f
    x = RNG.normal(size=(2, 3, 4))
    got = F.pad(input=pn.tensor(x), pad=(1, 2, 2, 1), mode=mode)
    want = tf.pad(torch.tensor(x), (1, 2, 2, 1), mode=mode).numpy()
    np.testing.assert_allclose(got.numpy(), want)
    weights = RNG.normal(size=want.shape)
    assert grad_ok(lambda t: (F.pad(t, (1, 2, 2, 1), mode=mode) * weights).sum(), x)


def test_pad_constant_value_without_torch():
    y = F.pad([[1.0, 2.0]], (1, 0), value=-1.0)
    np.testing.assert_array_equal(y.numpy(), [[-1.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match="even number of ints"):
        F.pad(X, (1, 2, 3))


# --------------------------------------------------------------------------- one_hot
def test_one_hot(torch_f):
    torch, tf = torch_f
    labels = np.array([[0, 2], [1, 4]])
    for k in (-1, 6):
        got = F.one_hot(labels, k)
        want = tf.one_hot(torch.tensor(labels), k).numpy()
        assert got.dtype == np.int64 and not got.requires_grad
        np.testing.assert_array_equal(got.numpy(), want)


def test_one_hot_as_a_mask_passes_gradients_to_the_logits():
    mask = F.one_hot(pn.tensor(LABELS), num_classes=5)
    np.testing.assert_array_equal(mask.numpy().argmax(axis=1), LABELS)
    np.testing.assert_array_equal(mask.numpy().sum(axis=1), 1)

    def picked(x):
        return -(mask * F.log_softmax(x, dim=1)).sum() / len(LABELS)

    assert grad_ok(picked, X)
    np.testing.assert_allclose(picked(pn.tensor(X)).item(),
                               F.cross_entropy(pn.tensor(X), LABELS).item(), rtol=1e-12)


# --------------------------------------------------------------------------- dropout
def test_dropout_scales_survivors_and_is_identity_when_not_training():
    x = pn.tensor(np.ones((200, 50)))
    pn.seed(0)
    y = F.dropout(x, p=0.3).numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert abs(kept.mean() - 0.7) < 0.02
    assert F.dropout(x, p=0.3, training=False) is x
    assert F.dropout(x, p=0.0) is x


def test_dropout_gradient_by_finite_differences():
    def f(x):
        pn.seed(3)  # the same mask on every evaluation
        return (F.dropout(x, p=0.4) * TARGET).sum()

    assert grad_ok(f, X)
    pn.seed(3)
    mask = F.dropout(np.ones_like(X), p=0.4).numpy()
    np.testing.assert_allclose(pn.grad(f)(X), mask * TARGET)


def test_dropout_inplace():
    x = pn.tensor(np.ones((3, 4)))
    pn.seed(1)
    out = F.dropout(x, 0.5, inplace=True)
    np.testing.assert_array_equal(x.numpy(), out.numpy())
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}


# --------------------------------------------------------------------------- devices
def test_wrappers_run_on_the_simulated_device():
    backend.register_backend(FakeBackend("fake", FakeArray))
    try:
        x = pn.tensor(X, device="fake", requires_grad=True)
        loss = (F.normalize(F.silu(x), dim=1) * F.one_hot(pn.tensor(LABELS, device="fake"), 5)
                ).sum() + F.binary_cross_entropy_with_logits(x, pn.tensor(TARGET, device="fake"),
                                                             pos_weight=pn.tensor(
                                                                 np.ones(5), device="fake"))
        loss.backward()
        assert type(x.grad.data if isinstance(x.grad, pn.Tensor) else x.grad) is FakeArray

        def host_loss(x):
            return (F.normalize(F.silu(x), dim=1) * F.one_hot(LABELS, 5)).sum() + \
                F.binary_cross_entropy_with_logits(x, TARGET, pos_weight=np.ones(5))

        want = pn.grad(host_loss)(X)
        np.testing.assert_allclose(backend.to_numpy(x.grad), want, rtol=1e-10)
    finally:
        backend.unregister_backend("fake")


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, error, match", [
    (lambda: F.one_hot(np.array([0.5, 1.0])), TypeError, "integer class labels"),
    (lambda: F.one_hot(np.array([0, -1])), ValueError, ">= 0"),
    (lambda: F.one_hot(np.array([0, 3]), 3), ValueError, r"label \(3\) is >= num_classes"),
    (lambda: F.one_hot(np.array([], dtype=int)), ValueError, "empty"),
    (lambda: F.one_hot(np.array([1]), 2.0), TypeError, "num_classes must be an int"),
    (lambda: F.normalize(X, p=0), ValueError, "p must be > 0"),
    (lambda: F.normalize(X, p="2"), TypeError, "p must be a number"),
    (lambda: F.softmax(X, dim="1"), TypeError, "dim must be an int"),
    (lambda: F.relu("abc"), TypeError, "relu: input must be a number or an array of numbers"),
    (lambda: F.relu(None), TypeError, "relu: input must be a number"),
    (lambda: F.softmax(X, dim=2), ValueError, "dim 2 is out of range for an input with 2"),
    (lambda: F.log_softmax(X, dim=-3), ValueError, "dim -3 is out of range"),
    (lambda: F.normalize(X, dim=4), ValueError, "normalize: dim 4 is out of range"),
    (lambda: F.leaky_relu(X, negative_slope=None), TypeError, "negative_slope"),
    (lambda: F.softplus(X, beta=0), ValueError, "beta must be > 0"),
    (lambda: F.smooth_l1_loss(X, TARGET, beta=-1), ValueError, "beta must be >= 0"),
    (lambda: F.mse_loss(X, TARGET, reduction="avg"), ValueError, "reduction"),
    (lambda: F.mse_loss(X, TARGET, weight=np.ones(5), reduction="avg"), ValueError,
     "reduction"),
    (lambda: F.mse_loss(X, TARGET, weight=np.ones(3)), ValueError, "does not broadcast"),
    (lambda: F.cross_entropy(X, LABELS, size_average=True), ValueError, "deprecated"),
    (lambda: F.binary_cross_entropy_with_logits(X, TARGET[:2], pos_weight=np.ones(5)),
     ValueError, "target must have the input's shape"),
    (lambda: F.dropout(X, p=1.5), ValueError, "dropout probability"),
])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()
