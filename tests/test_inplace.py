"""In-place changes of Tensors (issue 16): t[index] = value as an index-put in the graph, the
version counter that makes backward() refuse values changed after an op used them, the in-place
methods, and NumPy ufuncs on Tensors."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn

STALE = "was changed in place"


# --------------------------------------------------------------------------- t[index] = value


def test_index_put_gradients_flow_to_the_old_value_and_the_value():
    x = pn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = pn.tensor(10.0, requires_grad=True)
    t = x * 2
    t[1] = v * 3
    np.testing.assert_array_equal(t.data, [2.0, 30.0, 6.0])
    (t * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 6.0])  # overwritten: no gradient
    assert float(v.grad) == 6.0  # 3 * weight 2


@pytest.mark.parametrize(
    "index, value_shape",
    [((slice(None), 1), (3,)), ((slice(None), 1), ()), ((slice(0, 2), slice(1, 3)), (1, 2)),
     (np.array([True, False, True]), (4,)), ((np.array([0, 2]), np.array([3, 0])), (2,)),
     (Ellipsis, (4,))],
    ids=["column", "scalar", "block", "mask", "fancy", "all"],
)
def test_index_put_gradient_check(index, value_shape):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 4))
    value = rng.normal(size=value_shape)
    weights = rng.normal(size=(3, 4))

    def f(b, v):
        t = pn.tensor(np.zeros((3, 4))) + b  # a Tensor, whichever argument is differentiated
        t[index] = v * v
        return (t * t * weights).sum()

    assert pn.check_grad(lambda b: f(b, value), base) < 1e-7
    assert pn.check_grad(lambda v: f(base, v), value) < 1e-7


def test_index_put_equals_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    base, value = rng.normal(size=(3, 4)), rng.normal(size=(3,))
    b, v = pn.tensor(base, requires_grad=True), pn.tensor(value, requires_grad=True)
    t = b * b
    t[:, 2] = v.tanh()
    (t * t).sum().backward()
    tb = torch.tensor(base, requires_grad=True)
    tv = torch.tensor(value, requires_grad=True)
    tt = tb * tb
    tt[:, 2] = tv.tanh()
    (tt * tt).sum().backward()
    np.testing.assert_allclose(t.data, tt.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(v.grad, tv.grad.numpy(), rtol=1e-14)


def test_building_a_result_element_by_element_in_a_constant_tensor():
    w = pn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = pn.tensor(np.zeros(3))
    for i in range(3):
        out[i] = w[i] ** 2
    assert out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0, 6.0])


def test_second_derivatives_through_an_index_put():
    def f(x):
        t = x * 1.0
        t[0] = x[1] ** 3
        return (t * t).sum()

    x = np.array([0.7, -1.3])
    h = pn.hessian(f)(x)
    # f = x1^6 + x1^2
    np.testing.assert_allclose(h, [[0.0, 0.0], [0.0, 30 * x[1] ** 4 + 2]], rtol=1e-13)


def test_constant_tensor_is_written_in_place_and_keeps_its_dtype():
    data = np.zeros(3, np.float32)
    t = pn.tensor(data)
    t[1] = 2.5
    assert t.data is data and data[1] == 2.5  # nothing requires grad: in place, as PyTorch
    t[[0, 2]] = np.array([1.0, 3.0])
    np.testing.assert_array_equal(t.data, [1.0, 2.5, 3.0])
    assert t.dtype == np.float32


def test_recorded_write_leaves_arrays_taken_before_unchanged():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    t = x * 1.0
    before = t.data
    t[0] = 5.0
    assert before[0] == 1.0 and t.data[0] == 5.0  # copy on write inside a graph


def test_leaf_that_requires_grad_cannot_be_written_while_recording():
    w = pn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Tensor that requires grad"):
        w[0] = 3.0
    with pytest.raises(RuntimeError, match="leaf Tensor that requires grad"):
        w.add_(1.0)
    with pn.no_grad():
        w[0] = 3.0
        w.mul_(2.0)
    np.testing.assert_array_equal(w.data, [6.0, 4.0])
    assert w.requires_grad and w.is_leaf


# --------------------------------------------------------------------------- versions


def test_saved_tensor_changed_in_place_makes_backward_raise_naming_the_op():
    a = pn.tensor([1.0, 2.0], requires_grad=True)
    e = a.exp()
    y = (e * e).sum()
    e[0] = 0.0
    with pytest.raises(RuntimeError, match=f"'mul' {STALE}"):
        y.backward()


def test_constant_input_changed_after_use_makes_backward_raise():
    x = pn.tensor(np.ones((2, 3)))
    w = pn.tensor(np.ones((3, 1)), requires_grad=True)
    loss = (x @ w).sum()
    x[0, 0] = 5.0
    with pytest.raises(RuntimeError, match=f"'matmul' {STALE}") as info:
        loss.backward()
    assert "argument 0" in str(info.value) and "2x3" in str(info.value)


def test_change_under_no_grad_of_a_tensor_in_the_graph_is_detected():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    h = x.tanh()
    y = (h * 3).sum()
    with pn.no_grad():
        h.zero_()
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_optimizer_step_between_forward_and_backward_raises(optimizer):
    model = pn.nn.Sequential(pn.nn.Linear(3, 4), pn.nn.Tanh(), pn.nn.Linear(4, 1))
    opt = getattr(pn.optim, optimizer)(model.parameters(), lr=0.1)
    x = pn.tensor(np.ones((5, 3)))
    loss = (model(x) ** 2).mean()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=STALE):
        loss.backward()
    opt.zero_grad()  # the usual loop is untouched: forward, backward, step
    for _ in range(3):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
    assert np.isfinite(loss.item())


def test_changes_after_backward_or_before_the_op_are_fine():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    t = x * 1.0
    t[0] = 3.0  # before t is used
    y = (t * t).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [0.0, 4.0])
    with pn.no_grad():
        t.zero_()  # after backward: the graph is gone anyway
    assert t.data.tolist() == [0.0, 0.0]


def test_retain_graph_backward_twice_still_works_without_changes():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first)


# --------------------------------------------------------------------------- methods


def test_in_place_methods_return_self_and_compute_as_pytorch():
    t = pn.tensor(np.array([1.0, -2.0, 3.0]))
    assert t.add_(1.0) is t
    t.sub_(np.array([0.5, 0.5, 0.5]), alpha=2).mul_(2.0).div_(4.0)
    np.testing.assert_allclose(t.data, [0.5, -1.0, 1.5])
    t.clamp_(-0.5, 1.0)
    np.testing.assert_allclose(t.data, [0.5, -0.5, 1.0])
    t.fill_(7.0)
    np.testing.assert_array_equal(t.data, [7.0, 7.0, 7.0])
    t.copy_(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])
    t.zero_()
    np.testing.assert_array_equal(t.data, [0.0, 0.0, 0.0])


def test_in_place_methods_on_non_leaves_are_differentiable():
    def f(x):
        t = x * 1.0
        t.mul_(x).add_(x, alpha=3).sub_(1.0).div_(2.0)
        return (t * t).sum()

    assert pn.check_grad(f, np.array([0.3, -1.2, 2.0])) < 1e-8

    def g(x, src):
        t = pn.tensor(np.zeros(2)) + x * 2.0
        t.copy_(src * src)
        return (t * x).sum()

    x0, s0 = np.array([1.0, 2.0]), np.array([0.5, -1.5])
    assert pn.check_grad(lambda s: g(x0, s), s0) < 1e-8
    assert pn.check_grad(lambda x: g(x, s0), x0) < 1e-8


def test_clone_is_a_differentiable_copy():
    x = pn.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.data is not x.data
    c[0] = 0.0
    (c * c).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 4.0])
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_in_place_on_int_tensor_with_float_raises_type_error():
    t = pn.tensor(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="mul_"):
        t.mul_(0.5)


@pytest.fixture
def fake():
    from fake_device import FakeArray, FakeBackend

    pn.backend.register_backend(FakeBackend("fake", FakeArray))
    yield
    pn.backend.unregister_backend("fake")


def test_index_put_and_in_place_methods_on_the_simulated_device_stay_there(fake):
    x = pn.tensor(np.array([1.0, 2.0, 3.0]), device="fake", requires_grad=True)
    t = x * 2.0
    t[1] = 0.0
    t.mul_(pn.tensor(np.array([1.0, 1.0, 2.0]), device="fake"))
    (t * t).sum().backward()
    assert t.device == "fake" and x.grad.__class__ is t.data.__class__
    np.testing.assert_array_equal(pn.backend.to_numpy(x.grad), [8.0, 0.0, 96.0])
    c = pn.tensor(np.zeros(2), device="fake")
    c[0] = 1.0
    c.add_(1.0)
    np.testing.assert_array_equal(pn.backend.to_numpy(c.data), [2.0, 1.0])
    d = pn.tensor(np.array([1.0, 2.0]), device="fake")
    y = (d * x[:2]).sum()
    d[0] = 5.0
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


# --------------------------------------------------------------------------- NumPy ufuncs


def test_numpy_ufuncs_dispatch_to_plainnet_ops_with_gradients():
    t = pn.tensor([0.5, 1.5], requires_grad=True)
    y = np.exp(t) + np.log(t) + np.sqrt(t) + np.tanh(t) + np.abs(-t)
    assert isinstance(y, pn.Tensor)
    y.sum().backward()
    x = np.array([0.5, 1.5])
    expected = np.exp(x) + 1 / x + 0.5 / np.sqrt(x) + 1 - np.tanh(x) ** 2 + 1
    np.testing.assert_allclose(t.grad, expected, rtol=1e-14)


def test_arrays_and_numpy_scalars_on_the_left_of_operators_give_tensors():
    t = pn.tensor([1.0, 2.0], requires_grad=True)
    for y in (np.array([2.0, 3.0]) * t, np.float64(2.0) + t, np.array([1.0, 1.0]) - t,
              np.array([4.0, 4.0]) / t, np.float64(2.0) ** t, np.ones((1, 2)) @ t,
              np.maximum(np.array([1.5, 1.5]), t)):
        assert isinstance(y, pn.Tensor) and y.requires_grad


def test_numpy_comparisons_on_tensors_give_boolean_tensors():
    t = pn.tensor([1.0, np.nan, 3.0])
    np.testing.assert_array_equal((np.array([2.0, 2.0, 2.0]) < t).data, [False, False, True])
    np.testing.assert_array_equal(np.isnan(t).data, [False, True, False])


@pytest.mark.parametrize(
    "call, match",
    [(lambda t: np.arctan2(t, t), "plainnet has no differentiable 'arctan2'"),
     (lambda t: np.add.reduce(t), "np.add.reduce"),
     (lambda t: np.exp(t, out=np.empty(2)), "out"),
     (lambda t: np.cbrt(t), "t.numpy")],
)
def test_unsupported_numpy_ufuncs_raise_type_error_saying_what_to_call(call, match):
    with pytest.raises(TypeError, match=match):
        call(pn.tensor([1.0, 2.0], requires_grad=True))


def test_augmented_assignment_of_a_tensor_into_an_array_says_what_to_write():
    a = np.zeros(2)
    with pytest.raises(TypeError, match="array = array \\+ tensor"):
        a += pn.tensor([1.0, 2.0], requires_grad=True)
    assert a.tolist() == [0.0, 0.0]


def test_asarray_still_gives_the_values():
    t = pn.tensor([1.0, 2.0], requires_grad=True)
    a = np.asarray(t)
    assert type(a) is np.ndarray and a.tolist() == [1.0, 2.0]
    assert np.array(t, dtype=np.float32).dtype == np.float32


def test_a_tensor_from_another_process_trains_here():
    """Version stamps count one process's ops: a Parameter pickled after many ops (as joblib
    and Dask send models to workers) must not look changed after the new process's ops."""
    import pickle
    import subprocess
    import sys

    w = pn.nn.Parameter(np.ones(3))
    x = pn.tensor(1.0, requires_grad=True)
    for _ in range(1000):  # this process's counter well past a fresh one's
        x = x * 1.0
    with pn.no_grad():
        for _ in range(3):
            w.add_(1.0)  # an in-place change: a version stamp from this process's counter
    assert w._version > 1000
    blob = pickle.dumps(w)
    assert pickle.loads(blob)._version == 0
    code = (
        "import pickle, sys, numpy as np, plainnet as pn\n"
        "w = pickle.loads(sys.stdin.buffer.read())\n"
        "loss = (w * w).sum()\n"
        "loss.backward()\n"
        "print(w.grad.tolist())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == str([8.0, 8.0, 8.0])
