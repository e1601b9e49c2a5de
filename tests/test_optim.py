"""pn.optim optimizers: each update against PyTorch's documented algorithm, written out here.

The references below are independent NumPy transcriptions of the algorithm boxes of
``torch.optim.SGD/Adagrad/RMSprop/Adam/AdamW`` (PyTorch 2.x), computed in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plainnet as pn
from plainnet.optim import SGD, Adagrad, Adam, AdamW, RMSprop

# --------------------------------------------------------------------------- references


def ref_sgd(theta, grads, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
            nesterov=False, maximize=False):
    theta = np.array(theta, dtype=np.float64)
    b = None
    out = []
    for t, g in enumerate(grads, start=1):
        g = np.array(g, dtype=np.float64)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * theta
        if momentum:
            b = g.copy() if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        out.append(theta)
    return out


def ref_adagrad(theta, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    theta = np.array(theta, dtype=np.float64)
    s = np.full_like(theta, initial_accumulator_value)
    out = []
    for t, g in enumerate(grads, start=1):
        g = np.array(g, dtype=np.float64)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * theta
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g**2
        theta = theta - clr * g / (np.sqrt(s) + eps)
        out.append(theta)
    return out


def ref_rmsprop(theta, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False, maximize=False):
    theta = np.array(theta, dtype=np.float64)
    v = np.zeros_like(theta)
    gbar = np.zeros_like(theta)
    b = np.zeros_like(theta)
    out = []
    for g in grads:
        g = np.array(g, dtype=np.float64)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g**2
        vt = v
        if centered:
            gbar = alpha * gbar + (1 - alpha) * g
            vt = v - gbar**2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(vt) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (np.sqrt(vt) + eps)
        out.append(theta)
    return out


def ref_adam(theta, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
             amsgrad=False, maximize=False, decoupled=False):
    b1, b2 = betas
    theta = np.array(theta, dtype=np.float64)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    vmax = np.zeros_like(theta)
    out = []
    for t, g in enumerate(grads, start=1):
        g = np.array(g, dtype=np.float64)
        if maximize:
            g = -g
        if decoupled:
            theta = theta * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        mhat = m / (1 - b1**t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            vhat = vmax / (1 - b2**t)
        else:
            vhat = v / (1 - b2**t)
        theta = theta - lr * mhat / (np.sqrt(vhat) + eps)
        out.append(theta)
    return out


def ref_adamw(theta, grads, weight_decay=1e-2, **kw):
    return ref_adam(theta, grads, weight_decay=weight_decay, decoupled=True, **kw)


REFS = {SGD: ref_sgd, Adagrad: ref_adagrad, RMSprop: ref_rmsprop, Adam: ref_adam,
        AdamW: ref_adamw}

CASES = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.1, momentum=0.9)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.3)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.1, weight_decay=0.1)),
    (SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.2)),
    (SGD, dict(lr=0.1, momentum=0.5, maximize=True)),
    (Adagrad, dict()),
    (Adagrad, dict(lr=0.1, lr_decay=0.1)),
    (Adagrad, dict(lr=0.1, weight_decay=0.1)),
    (Adagrad, dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3)),
    (RMSprop, dict()),
    (RMSprop, dict(lr=0.01, alpha=0.9)),
    (RMSprop, dict(lr=0.01, momentum=0.9)),
    (RMSprop, dict(lr=0.01, centered=True)),
    (RMSprop, dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    (RMSprop, dict(lr=0.01, weight_decay=0.1)),
    (Adam, dict()),
    (Adam, dict(lr=0.1, betas=(0.5, 0.9))),
    (Adam, dict(lr=0.1, weight_decay=0.1)),
    (Adam, dict(lr=0.1, amsgrad=True)),
    (Adam, dict(lr=0.1, amsgrad=True, weight_decay=0.1, eps=1e-3)),
    (AdamW, dict()),
    (AdamW, dict(lr=0.1, weight_decay=0.5)),
    (AdamW, dict(lr=0.1, weight_decay=0.5, amsgrad=True)),
]


def _case_id(case):
    cls, kw = case
    return cls.__name__ + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


def _problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    theta0 = rng.normal(size=(3, 4)).astype(dtype)
    # magnitudes that differ a lot between steps, so amsgrad's running max matters
    scales = (3.0, 0.2, 1.0)
    grads = [(s * rng.normal(size=(3, 4))).astype(dtype) for s in scales]
    return theta0, grads


def _run(cls, kw, theta0, grads):
    p = pn.tensor(theta0.copy(), requires_grad=True)
    opt = cls([p], **kw)
    path = []
    for g in grads:
        p.grad = g.copy()
        opt.step()
        path.append(p.data.copy())
    return p, opt, path


# --------------------------------------------------------------------------- updates


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_three_steps_match_pytorch_algorithm(case, dtype):
    cls, kw = case
    theta0, grads = _problem(dtype)
    p, opt, path = _run(cls, kw, theta0, grads)
    expected = REFS[cls](theta0, grads, **kw)
    rtol, atol = (1e-12, 1e-14) if dtype == np.float64 else (2e-5, 2e-6)
    for step, (got, want) in enumerate(zip(path, expected, strict=True), start=1):
        assert got.dtype == dtype, f"step {step}"
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"step {step}")
    # every step moved the parameter
    assert not np.array_equal(path[0], theta0)
    assert not np.array_equal(path[1], path[0])
    for value in opt.state[p].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == dtype


def test_sgd_momentum_by_hand():
    # constant gradient 1 from 0, lr 0.1, momentum 0.9: b = 1, 1.9, 2.71
    w = pn.tensor([0.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    seen = []
    for _ in range(3):
        w.grad = np.array([1.0])
        opt.step()
        seen.append(w.data[0])
    np.testing.assert_allclose(seen, [-0.1, -0.29, -0.561], rtol=1e-14)


def test_sgd_nesterov_and_dampening_by_hand():
    # nesterov: b = 1, 1.9, 2.71; steps g + 0.9 b = 1.9, 2.71, 3.439
    w = pn.tensor([0.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    seen = []
    for _ in range(3):
        w.grad = np.array([1.0])
        opt.step()
        seen.append(w.data[0])
    np.testing.assert_allclose(seen, [-0.19, -0.461, -0.8049], rtol=1e-14)
    # dampening 0.5: b = 1 (first step undamped), 0.9 + 0.5 = 1.4, 1.26 + 0.5 = 1.76
    w = pn.tensor([0.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    seen = []
    for _ in range(3):
        w.grad = np.array([1.0])
        opt.step()
        seen.append(w.data[0])
    np.testing.assert_allclose(seen, [-0.1, -0.24, -0.416], rtol=1e-14)


def test_plain_sgd_is_the_notes_step_and_weight_decay_adds_lambda_theta():
    w = pn.tensor([2.0, -1.0], requires_grad=True)
    opt = SGD([w], lr=0.5, weight_decay=0.1)
    w.grad = np.array([1.0, 4.0])
    opt.step()
    # theta - lr (g + lambda theta) = [2 - 0.5*(1 + 0.2), -1 - 0.5*(4 - 0.1)]
    np.testing.assert_allclose(w.data, [1.4, -2.95], rtol=1e-15)


@pytest.mark.parametrize("g", [2.5, -0.3])
def test_adam_constant_gradient_steps_lr_times_sign(g):
    # m_hat = g and v_hat = g^2 exactly for a constant gradient: each step is lr g/(|g|+eps)
    w = pn.tensor([1.0], requires_grad=True)
    opt = Adam([w], lr=0.01)
    for t in range(1, 4):
        w.grad = np.array([g])
        opt.step()
        np.testing.assert_allclose(w.data[0], 1.0 - t * 0.01 * g / (abs(g) + 1e-8), rtol=1e-12)
    assert opt.state[w]["step"] == 3


def test_adamw_decay_is_decoupled():
    # one step with zero-free gradient: theta (1 - lr wd) - lr sign(g)
    w = pn.tensor([2.0], requires_grad=True)
    opt = AdamW([w], lr=0.1, weight_decay=0.5)
    w.grad = np.array([3.0])
    opt.step()
    np.testing.assert_allclose(w.data[0], 2.0 * (1 - 0.05) - 0.1 * 3 / (3 + 1e-8), rtol=1e-14)
    # Adam's L2 decay instead changes the gradient, which Adam's normalization then cancels
    v = pn.tensor([2.0], requires_grad=True)
    opt = Adam([v], lr=0.1, weight_decay=0.5)
    v.grad = np.array([3.0])
    opt.step()
    np.testing.assert_allclose(v.data[0], 2.0 - 0.1 * 4 / (4 + 1e-8), rtol=1e-14)


def test_adagrad_constant_gradient_by_hand():
    # s_t = t g^2: step t is lr g / (sqrt(t)|g| + eps)
    w = pn.tensor([0.0], requires_grad=True)
    opt = Adagrad([w], lr=0.1)
    expected = 0.0
    for t in range(1, 4):
        w.grad = np.array([2.0])
        opt.step()
        expected -= 0.1 * 2.0 / (np.sqrt(t) * 2.0 + 1e-10)
        np.testing.assert_allclose(w.data[0], expected, rtol=1e-14)


def test_rmsprop_constant_gradient_by_hand():
    # v_t = (1 - alpha^t) g^2: step t is lr g / (sqrt(1 - alpha^t)|g| + eps); first ~ 10 lr
    w = pn.tensor([0.0], requires_grad=True)
    opt = RMSprop([w], lr=0.01)
    expected = 0.0
    for t in range(1, 4):
        w.grad = np.array([1.0])
        opt.step()
        expected -= 0.01 / (np.sqrt(1 - 0.99**t) + 1e-8)
        np.testing.assert_allclose(w.data[0], expected, rtol=1e-13)
    assert opt.state[w]["step"] == 3


@settings(max_examples=40, deadline=None)
@given(
    lr=st.floats(1e-4, 1.0),
    momentum=st.floats(0.0, 0.99),
    weight_decay=st.floats(0.0, 1.0),
    nesterov=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_sgd_matches_reference_for_any_hyperparameters(lr, momentum, weight_decay, nesterov,
                                                        seed):
    nesterov = nesterov and momentum > 0
    kw = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    theta0, grads = _problem(np.float64, seed)
    _, _, path = _run(SGD, kw, theta0, grads)
    for got, want in zip(path, ref_sgd(theta0, grads, **kw), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@settings(max_examples=40, deadline=None)
@given(
    lr=st.floats(1e-4, 1.0),
    b1=st.floats(0.0, 0.99),
    b2=st.floats(0.0, 0.9999),
    weight_decay=st.floats(0.0, 1.0),
    amsgrad=st.booleans(),
    decoupled=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_adam_matches_reference_for_any_hyperparameters(lr, b1, b2, weight_decay, amsgrad,
                                                         decoupled, seed):
    kw = dict(lr=lr, betas=(b1, b2), weight_decay=weight_decay, amsgrad=amsgrad)
    theta0, grads = _problem(np.float64, seed)
    cls = AdamW if decoupled else Adam
    _, _, path = _run(cls, kw, theta0, grads)
    for got, want in zip(path, ref_adam(theta0, grads, decoupled=decoupled, **kw), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", [SGD, Adagrad, RMSprop, Adam, AdamW])
def test_maximize_equals_minimizing_the_negated_gradient(cls):
    theta0, grads = _problem(np.float64, 3)
    _, _, up = _run(cls, dict(lr=0.05, maximize=True), theta0, grads)
    _, _, down = _run(cls, dict(lr=0.05), theta0, [-g for g in grads])
    for a, b in zip(up, down, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


# --------------------------------------------------------------------------- mechanics


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_updates_in_place_and_keep_float32(case):
    cls, kw = case
    p = pn.nn.Parameter(np.ones((2, 3)), dtype=np.float32)
    data = p.data
    opt = cls([p], **kw)
    for _ in range(2):
        p.grad = np.full((2, 3), 0.5, dtype=np.float64)  # a float64 grad is cast, not spread
        opt.step()
    assert p.data is data
    assert p.data.dtype == np.float32
    assert not np.array_equal(p.data, np.ones((2, 3)))
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))


def test_params_without_grad_are_skipped_and_get_no_state():
    a = pn.tensor([1.0, 2.0], requires_grad=True)
    b = pn.tensor([3.0], requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    a.grad = np.array([1.0, -1.0])
    opt.step()
    assert b not in opt.state
    np.testing.assert_array_equal(b.data, [3.0])
    assert opt.state[a]["step"] == 1
    assert opt.state_dict()["state"].keys() == {0}


def test_zero_grad_sets_none_or_zeros_in_place():
    a = pn.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([a], lr=0.1)
    a.grad = np.array([1.0, 1.0])
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is g
    np.testing.assert_array_equal(g, [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None


def test_param_groups_have_pytorch_keys_and_own_learning_rates():
    a = pn.tensor([1.0], requires_grad=True)
    b = pn.tensor([1.0], requires_grad=True)
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    assert set(opt.param_groups[0]) == {
        "params", "lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"
    }
    assert opt.defaults["lr"] == 0.1
    a.grad = np.array([1.0])
    b.grad = np.array([1.0])
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5])
    # changing a group's lr takes effect on the next step
    opt.param_groups[0]["lr"] = 0.0
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5 - 0.5 * 1.9])


def test_add_param_group_and_its_checks():
    a = pn.tensor([1.0], requires_grad=True)
    b = pn.tensor([2.0], requires_grad=True)
    opt = Adam([a])
    opt.add_param_group({"params": b, "lr": 0.1})
    assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is b
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="-3"):
        opt.add_param_group({"params": [pn.tensor([0.0], requires_grad=True)], "lr": -3})
    with pytest.raises(ValueError, match="'params'"):
        opt.add_param_group({"lr": 0.1})
    with pytest.raises(TypeError, match="set"):
        opt.add_param_group({"params": {pn.tensor([0.0], requires_grad=True)}})
    assert len(opt.param_groups) == 2


def test_bad_params_are_refused():
    a = pn.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="single Tensor"):
        SGD(a)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([])
    with pytest.raises(TypeError, match="ndarray"):
        SGD([np.zeros(2)])
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([a * 2])
    with pytest.raises(ValueError, match="twice"):
        SGD([a, a])
    with pytest.raises(TypeError, match="int"):
        SGD(3)
    with pytest.raises(TypeError, match="floating-point"):
        SGD([pn.tensor([1, 2])])
    a.grad = np.zeros(3)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        SGD([a]).step()


BAD_VALUES = [
    (SGD, dict(lr=-0.1), "-0.1"),
    (SGD, dict(lr=float("nan")), "nan"),
    (SGD, dict(momentum=-0.5), "-0.5"),
    (SGD, dict(weight_decay=-1e-3), "-0.001"),
    (SGD, dict(nesterov=True), "momentum=0.0"),
    (SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "dampening=0.1"),
    (Adagrad, dict(lr=-1), "-1"),
    (Adagrad, dict(lr_decay=-0.25), "-0.25"),
    (Adagrad, dict(initial_accumulator_value=-2.0), "-2.0"),
    (Adagrad, dict(eps=-1e-10), "-1e-10"),
    (RMSprop, dict(alpha=1.5), "1.5"),
    (RMSprop, dict(alpha=-0.1), "-0.1"),
    (RMSprop, dict(eps=-1.0), "-1.0"),
    (RMSprop, dict(momentum=-0.9), "-0.9"),
    (Adam, dict(betas=(1.0, 0.999)), "1.0"),
    (Adam, dict(betas=(0.9, -0.2)), "-0.2"),
    (Adam, dict(betas=(0.9,)), "(0.9,)"),
    (Adam, dict(lr=-0.001), "-0.001"),
    (Adam, dict(eps=-0.5), "-0.5"),
    (AdamW, dict(weight_decay=-0.01), "-0.01"),
    (AdamW, dict(betas=(0.9, 1.0)), "1.0"),
]


@pytest.mark.parametrize("cls,kw,shown", BAD_VALUES)
def test_bad_hyperparameters_raise_with_the_value(cls, kw, shown):
    a = pn.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError) as info:
        cls([a], **kw)
    assert shown in str(info.value)
    assert cls.__name__ in str(info.value)


def test_non_numbers_raise_type_error():
    a = pn.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="'fast'"):
        SGD([a], lr="fast")
    with pytest.raises(TypeError, match="amsgrad"):
        Adam([a], amsgrad="yes")


def test_pytorch_defaults():
    a = pn.tensor([1.0], requires_grad=True)
    g = SGD([a]).param_groups[0]
    assert (g["lr"], g["momentum"], g["dampening"], g["weight_decay"], g["nesterov"]) == (
        1e-3, 0, 0, 0, False)
    g = Adagrad([a]).param_groups[0]
    assert (g["lr"], g["lr_decay"], g["weight_decay"], g["initial_accumulator_value"],
            g["eps"]) == (1e-2, 0, 0, 0, 1e-10)
    g = RMSprop([a]).param_groups[0]
    assert (g["lr"], g["alpha"], g["eps"], g["weight_decay"], g["momentum"], g["centered"]) == (
        1e-2, 0.99, 1e-8, 0, 0, False)
    g = Adam([a]).param_groups[0]
    assert (g["lr"], g["betas"], g["eps"], g["weight_decay"], g["amsgrad"]) == (
        1e-3, (0.9, 0.999), 1e-8, 0, False)
    g = AdamW([a]).param_groups[0]
    assert (g["lr"], g["betas"], g["eps"], g["weight_decay"], g["amsgrad"]) == (
        1e-3, (0.9, 0.999), 1e-8, 1e-2, False)


def test_step_with_closure_returns_the_loss():
    w = pn.tensor([3.0], requires_grad=True)
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss.data) == 9.0
    np.testing.assert_allclose(w.data, [3.0 - 0.25 * 6.0])


def test_repr_lists_groups():
    a = pn.tensor([1.0], requires_grad=True)
    text = repr(SGD([a], lr=0.1))
    assert text.startswith("SGD (")
    assert "Parameter Group 0" in text
    assert "lr: 0.1" in text


# --------------------------------------------------------------------------- registry


def test_get_optimizer_by_name_class_and_instance():
    a = pn.tensor([1.0], requires_grad=True)
    for name, cls in [("sgd", SGD), ("ADAM", Adam), ("AdamW", AdamW), (" rmsprop", RMSprop),
                      ("adagrad", Adagrad)]:
        opt = pn.optim.get_optimizer(name, [a], lr=0.25)
        assert type(opt) is cls
        assert opt.param_groups[0]["lr"] == 0.25
    assert type(pn.optim.get_optimizer(Adam, [a])) is Adam
    opt = SGD([a], lr=0.5)
    assert pn.optim.get_optimizer(opt, [a]) is opt
    assert pn.optim.get_optimizer(opt) is opt
    assert set(pn.optim.OPTIMIZERS) == {"sgd", "adagrad", "rmsprop", "adam", "adamw"}


def test_get_optimizer_errors():
    a = pn.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="'adamax'.*sgd, adagrad, rmsprop, adam, adamw"):
        pn.optim.get_optimizer("adamax", [a])
    with pytest.raises(ValueError, match="lr"):
        pn.optim.get_optimizer(SGD([a]), [a], lr=0.1)
    with pytest.raises(TypeError, match="needs the parameters"):
        pn.optim.get_optimizer("sgd")
    with pytest.raises(TypeError, match="int"):
        pn.optim.get_optimizer(3, [a])
    with pytest.raises(ValueError, match="-1"):
        pn.optim.get_optimizer("adam", [a], lr=-1)


# --------------------------------------------------------------------------- convergence


def _least_squares():
    rng = np.random.default_rng(7)
    A = rng.normal(size=(20, 3))
    b = A @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=20)
    return A, b, np.linalg.lstsq(A, b, rcond=None)[0]


@pytest.mark.parametrize(
    "cls,kw,steps",
    [
        (SGD, dict(lr=0.1), 200),
        (SGD, dict(lr=0.05, momentum=0.9, nesterov=True), 200),
        (Adagrad, dict(lr=0.5), 500),
        (RMSprop, dict(lr=0.01, momentum=0.5, centered=True), 600),
        (Adam, dict(lr=0.05), 600),
        (Adam, dict(lr=0.05, amsgrad=True), 600),
        (AdamW, dict(lr=0.05, weight_decay=0.0), 600),
    ],
)
def test_minimizes_a_quadratic_with_autodiff(cls, kw, steps):
    A, b, solution = _least_squares()
    At, bt = pn.tensor(A), pn.tensor(b)
    w = pn.tensor(np.zeros(3), requires_grad=True)
    opt = cls([w], **kw)
    for _ in range(steps):
        opt.zero_grad()
        r = At @ w - bt
        (r * r).mean().backward()
        opt.step()
    np.testing.assert_allclose(w.data, solution, atol=1e-6)
