"""Tests of pn.Neuron: its output, its hand-derived gradient, its stopping rule, its checks."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn


@pytest.fixture(scope="module")
def cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y.astype(float)


@pytest.fixture(scope="module")
def cancer_fit(cancer):
    X, y = cancer
    neuron = pn.Neuron(X.shape[1], seed=0).fit(X, y, learning_rate=0.1, threshold=1e-6)
    return neuron


def _small_problem(seed=0, m=30, n=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = (X @ rng.normal(size=n) + 0.3 * rng.normal(size=m) > 0).astype(float)
    return X, y


AND_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
AND_Y = np.array([0.0, 0.0, 0.0, 1.0])


# --------------------------------------------------------------------------- construction, call


def test_init_defaults():
    neuron = pn.Neuron(4, seed=1)
    assert neuron.weights.shape == (4,)
    assert neuron.bias == 0.0
    assert neuron.loss_history == []
    assert neuron.activation == pn.sigmoid
    # Small random initial weights (standard deviation 0.01), reproducible from the seed.
    assert np.all(np.abs(neuron.weights) < 0.1)
    np.testing.assert_array_equal(neuron.weights, pn.Neuron(4, seed=1).weights)
    assert not np.array_equal(neuron.weights, pn.Neuron(4, seed=2).weights)


def test_call_single_and_batch_equals_sigmoid_of_integrate():
    rng = np.random.default_rng(3)
    neuron = pn.Neuron(3, seed=0)
    neuron.weights = rng.normal(size=3)
    neuron.bias = -0.4
    x = rng.normal(size=3)
    out = neuron(x)
    assert np.shape(out) == ()
    np.testing.assert_allclose(
        out, pn.sigmoid(pn.integrate(x, neuron.weights, neuron.bias)), rtol=1e-15
    )
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-(x @ neuron.weights - 0.4))), rtol=1e-14)
    X = rng.normal(size=(5, 3))
    batch = neuron(X)
    assert batch.shape == (5,)
    np.testing.assert_allclose(
        batch, pn.sigmoid(pn.integrate(X, neuron.weights, neuron.bias)), rtol=1e-15
    )
    for row, value in zip(X, batch, strict=True):
        np.testing.assert_allclose(value, neuron(row), rtol=1e-15)


def test_call_uses_its_activation():
    neuron = pn.Neuron(2, activation="tanh", seed=0)
    neuron.weights = [1.0, -2.0]
    neuron.bias = 0.5
    X = np.array([[0.3, 0.1], [-1.0, 2.0]])
    np.testing.assert_allclose(neuron(X), np.tanh(X @ [1.0, -2.0] + 0.5), rtol=1e-15)


def test_predict_thresholds_output():
    neuron = pn.Neuron(1, seed=0)
    neuron.weights = [1.0]
    X = np.array([[-2.0], [-0.1], [0.0], [0.1], [2.0]])
    np.testing.assert_array_equal(neuron.predict(X), (X[:, 0] >= 0).astype(int))


# --------------------------------------------------------------------------- training


def test_fit_breast_cancer_reaches_97_percent(cancer, cancer_fit):
    X, y = cancer
    assert np.mean(cancer_fit.predict(X) == y) >= 0.97


def test_loss_history_recorded_once_per_iteration(cancer, cancer_fit):
    X, y = cancer
    history = cancer_fit.loss_history
    assert len(history) == cancer_fit.n_iter_ >= 2
    assert all(isinstance(v, float) for v in history)
    # The last entry is the loss of the trained neuron.
    np.testing.assert_allclose(history[-1], cancer_fit.loss(X, y), rtol=1e-12)
    # Entry k is the loss after exactly k+1 iterations: stop a fresh fit early and compare.
    for k in (1, 2, 10):
        short = pn.Neuron(X.shape[1], seed=0).fit(
            X, y, learning_rate=0.1, threshold=1e-6, max_iter=k
        )
        assert len(short.loss_history) == short.n_iter_ == k
        np.testing.assert_allclose(short.loss_history, history[:k], rtol=1e-12)
        np.testing.assert_allclose(short.loss(X, y), history[k - 1], rtol=1e-12)


def test_log_loss_non_increasing_with_small_learning_rate(cancer, cancer_fit):
    X, y = cancer
    history = np.array(cancer_fit.loss_history)
    initial = pn.Neuron(X.shape[1], seed=0).loss(X, y)
    assert history[0] <= initial
    assert np.all(np.diff(history) <= 0)
    assert history[-1] < 0.5 * initial


def test_loss_is_log_loss_for_sigmoid():
    X, y = _small_problem()
    neuron = pn.Neuron(3, seed=0)
    neuron.weights = [0.5, -0.25, 1.0]
    neuron.bias = 0.2
    p = 1 / (1 + np.exp(-(X @ neuron.weights + neuron.bias)))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(neuron.loss(X, y), expected, rtol=1e-12)


def test_loss_is_half_mse_for_other_activations():
    X, _ = _small_problem()
    y = np.random.default_rng(1).normal(size=len(X))
    neuron = pn.Neuron(3, activation="tanh", seed=0)
    neuron.weights = [0.5, -0.25, 1.0]
    expected = 0.5 * np.mean((np.tanh(X @ neuron.weights) - y) ** 2)
    np.testing.assert_allclose(neuron.loss(X, y), expected, rtol=1e-12)


@pytest.mark.parametrize("threshold", [1e-3, 1e-4])
def test_threshold_stopping_rule_exact(cancer, threshold):
    X, y = cancer
    neuron = pn.Neuron(X.shape[1], seed=0)
    initial = neuron.loss(X, y)
    neuron.fit(X, y, learning_rate=0.1, threshold=threshold, max_iter=10_000)
    history = np.array(neuron.loss_history)
    assert neuron.converged_
    assert 2 <= neuron.n_iter_ == len(history) < 10_000
    steps = np.abs(np.diff(np.concatenate([[initial], history])))
    # Stopped at the first change below threshold, and not one iteration earlier.
    assert steps[-1] < threshold
    assert abs(history[-1] - history[-2]) < threshold
    assert np.all(steps[:-1] >= threshold)


def test_not_converged_when_max_iter_hit_first(cancer):
    X, y = cancer
    neuron = pn.Neuron(X.shape[1], seed=0).fit(X, y, learning_rate=0.1, threshold=1e-6, max_iter=25)
    assert not neuron.converged_
    assert neuron.n_iter_ == len(neuron.loss_history) == 25
    assert np.all(np.abs(np.diff(neuron.loss_history)) >= 1e-6)


@pytest.mark.parametrize("max_iter", [1, 7, 50])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "identity"])
def test_max_iter_respected(max_iter, activation):
    X, y = _small_problem(seed=2)
    neuron = pn.Neuron(3, activation=activation, seed=0)
    neuron.fit(X, y, learning_rate=0.05, threshold=0.0, max_iter=max_iter)
    assert neuron.n_iter_ == max_iter
    assert len(neuron.loss_history) == max_iter
    assert not neuron.converged_


def test_refit_resets_history():
    X, y = _small_problem(seed=4)
    neuron = pn.Neuron(3, seed=0).fit(X, y, threshold=0.0, max_iter=5)
    neuron.fit(X, y, threshold=0.0, max_iter=3)
    assert len(neuron.loss_history) == neuron.n_iter_ == 3


def _numeric_gradient(neuron, X, y, h=1e-6):
    w0, b0 = neuron.weights.copy(), neuron.bias
    grad_w = np.empty_like(w0)
    for k in range(w0.size):
        e = np.zeros_like(w0)
        e[k] = h
        neuron.weights = w0 + e
        up = neuron.loss(X, y)
        neuron.weights = w0 - e
        down = neuron.loss(X, y)
        grad_w[k] = (up - down) / (2 * h)
    neuron.weights = w0
    neuron.bias = b0 + h
    up = neuron.loss(X, y)
    neuron.bias = b0 - h
    down = neuron.loss(X, y)
    neuron.bias = b0
    return grad_w, (up - down) / (2 * h)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "identity", "softplus", "elu", "gelu"])
def test_one_fit_step_follows_finite_difference_gradient(activation):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 4))
    if activation == "sigmoid":
        y = (rng.random(40) < 0.5).astype(float)
    else:
        y = rng.normal(size=40)
    neuron = pn.Neuron(4, activation=activation, seed=0)
    neuron.weights = rng.normal(size=4)
    neuron.bias = 0.3
    w0, b0 = neuron.weights.copy(), neuron.bias
    grad_w, grad_b = _numeric_gradient(neuron, X, y)
    assert np.linalg.norm(grad_w) > 1e-3  # a step that could visibly go wrong
    lr = 0.2
    neuron.fit(X, y, learning_rate=lr, threshold=0.0, max_iter=1)
    assert neuron.n_iter_ == 1
    np.testing.assert_allclose(neuron.weights, w0 - lr * grad_w, rtol=0, atol=1e-8)
    np.testing.assert_allclose(neuron.bias, b0 - lr * grad_b, rtol=0, atol=1e-8)
    np.testing.assert_allclose(neuron.loss_history[0], neuron.loss(X, y), rtol=1e-12)


@pytest.mark.parametrize("activation", ["identity", "linear"])
def test_identity_neuron_does_linear_regression(activation):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.7 + 0.1 * rng.normal(size=200)
    neuron = pn.Neuron(3, activation=activation, seed=0)
    neuron.fit(X, y, learning_rate=0.3, threshold=0.0, max_iter=2000)
    coef, *_ = np.linalg.lstsq(pn.augment(X), y, rcond=None)
    np.testing.assert_allclose(neuron.weights, coef[:3], rtol=0, atol=1e-8)
    np.testing.assert_allclose(neuron.bias, coef[3], rtol=0, atol=1e-8)
    np.testing.assert_allclose(neuron(X), pn.augment(X) @ coef, rtol=0, atol=1e-7)


def test_diverging_fit_raises_floating_point_error():
    X, y = _small_problem(seed=7)
    neuron = pn.Neuron(3, activation="identity", seed=0)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="learning_rate"):
        neuron.fit(X, y, learning_rate=1e3, threshold=0.0, max_iter=10_000)


# --------------------------------------------------------------------------- perceptron


def test_step_neuron_learns_and_with_perceptron_rule():
    neuron = pn.Neuron(2, activation="step", seed=0)
    neuron.fit(AND_X, AND_Y, learning_rate=0.1, max_iter=100)
    assert neuron.converged_
    assert neuron.n_iter_ == len(neuron.loss_history) < 100
    assert neuron.loss_history[-1] == 0.0
    assert all(v > 0 for v in neuron.loss_history[:-1])
    # The losses are fractions of misclassified samples.
    assert all(v * 4 == int(v * 4) for v in neuron.loss_history)
    np.testing.assert_array_equal(neuron(AND_X), AND_Y)
    np.testing.assert_array_equal(neuron.predict(AND_X), AND_Y)
    np.testing.assert_array_equal(neuron.predict(AND_X, threshold=1), AND_Y)


def test_perceptron_epoch_matches_rule_by_hand():
    neuron = pn.Neuron(2, activation="step", seed=0)
    neuron.weights = [0.0, 0.0]
    neuron.bias = 0.0
    lr = 0.25
    w, b, mistakes = np.zeros(2), 0.0, 0
    for xi, yi in zip(AND_X, AND_Y, strict=True):
        error = yi - (1.0 if xi @ w + b >= 0 else 0.0)
        mistakes += error != 0
        w, b = w + lr * error * xi, b + lr * error
    neuron.fit(AND_X, AND_Y, learning_rate=lr, max_iter=1)
    np.testing.assert_allclose(neuron.weights, w, rtol=0, atol=1e-15)
    np.testing.assert_allclose(neuron.bias, b, rtol=0, atol=1e-15)
    assert neuron.loss_history == [mistakes / 4]
    assert mistakes > 0


def test_perceptron_cannot_learn_xor():
    y_xor = np.array([0.0, 1.0, 1.0, 0.0])
    neuron = pn.Neuron(2, activation="step", seed=0).fit(AND_X, y_xor, max_iter=50)
    assert not neuron.converged_
    assert neuron.n_iter_ == len(neuron.loss_history) == 50
    assert min(neuron.loss_history) > 0


# --------------------------------------------------------------------------- bad input


def test_wrong_x_shape_raises():
    neuron = pn.Neuron(3, seed=0)
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 3\); got shape \(5, 2\)"):
        neuron.fit(np.ones((5, 2)), np.zeros(5))
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 3\); got shape \(3,\)"):
        neuron.fit(np.ones(3), np.zeros(1))
    with pytest.raises(ValueError, match=r"X must have shape"):
        neuron.loss(np.ones((2, 2, 3)), np.zeros(2))


def test_wrong_y_length_raises():
    neuron = pn.Neuron(2, seed=0)
    with pytest.raises(ValueError, match=r"y must have shape \(4,\).*got \(3,\)"):
        neuron.fit(np.ones((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match=r"y must have shape \(4,\).*got \(4, 1\)"):
        neuron.fit(np.ones((4, 2)), np.zeros((4, 1)))


@pytest.mark.parametrize("activation", ["sigmoid", "step"])
def test_non_binary_targets_rejected_for_classifiers(activation):
    neuron = pn.Neuron(2, activation=activation, seed=0)
    with pytest.raises(ValueError, match=rf"a {activation} neuron learns 0/1 targets.*2\.0"):
        neuron.fit(np.ones((3, 2)), [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="0/1 targets"):
        neuron.fit(np.ones((3, 2)), [0.0, 0.5, 1.0])


def test_real_targets_allowed_for_regression_activations():
    neuron = pn.Neuron(2, activation="identity", seed=0)
    neuron.fit(np.eye(2), [2.5, -1.0], max_iter=3)
    assert len(neuron.loss_history) == 3


@pytest.mark.parametrize("where", ["X", "y"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data_rejected(where, bad):
    X, y = np.ones((3, 2)), np.array([0.0, 1.0, 0.0])
    if where == "X":
        X[1, 0] = bad
    else:
        y[1] = bad
    with pytest.raises(ValueError, match=r"must be finite \(no NaN or inf\)"):
        pn.Neuron(2, seed=0).fit(X, y)


@pytest.mark.parametrize("lr", [-0.1, 0.0, np.nan, np.inf])
def test_bad_learning_rate_value(lr):
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number > 0"):
        pn.Neuron(2, seed=0).fit(AND_X, AND_Y, learning_rate=lr)


@pytest.mark.parametrize("lr", ["0.1", None, True, [0.1]])
def test_bad_learning_rate_type(lr):
    with pytest.raises(TypeError, match=r"learning_rate must be a real number"):
        pn.Neuron(2, seed=0).fit(AND_X, AND_Y, learning_rate=lr)


def test_bad_threshold_and_max_iter():
    neuron = pn.Neuron(2, seed=0)
    with pytest.raises(ValueError, match=r"threshold must be a finite number >= 0"):
        neuron.fit(AND_X, AND_Y, threshold=-1e-6)
    with pytest.raises(ValueError, match=r"max_iter must be an integer >= 1; got 0"):
        neuron.fit(AND_X, AND_Y, max_iter=0)
    with pytest.raises(TypeError, match=r"max_iter must be an integer; got float"):
        neuron.fit(AND_X, AND_Y, max_iter=2.5)


def test_non_numeric_data_raises_type_error():
    neuron = pn.Neuron(2, seed=0)
    with pytest.raises(TypeError, match=r"X must be a number or an array of numbers"):
        neuron.fit([["a", "b"]], [0.0])
    with pytest.raises(TypeError, match=r"y must be a number or an array of numbers"):
        neuron.fit(np.ones((1, 2)), ["a"])


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"n_inputs must be an integer >= 1"):
        pn.Neuron(0)
    with pytest.raises(TypeError, match=r"n_inputs must be an integer"):
        pn.Neuron(2.0)
    with pytest.raises(ValueError, match=r"unknown activation 'nope'"):
        pn.Neuron(2, activation="nope")
    neuron = pn.Neuron(2, seed=0)
    with pytest.raises(ValueError, match=r"weights must have shape \(2,\); got \(3,\)"):
        neuron.weights = [1.0, 2.0, 3.0]
    with pytest.raises(TypeError, match=r"weights must be a number"):
        neuron.weights = ["a", "b"]


def test_repr():
    assert repr(pn.Neuron(3, activation="tanh")) == "Neuron(n_inputs=3, activation='tanh')"
