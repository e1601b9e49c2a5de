"""The notes' single artificial neuron, trained with a gradient derived by hand."""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array, check_int, check_positive
from .activations import Activation, Sigmoid, Step, get_activation
from .vectors import integrate


class Neuron:
    r"""One artificial neuron: an integration followed by an activation.

    $$
    y = f(v), \qquad v = x \cdot w + b
    $$

    With the sigmoid activation (the default) this is the *sigmoid neuron* of the notes: it
    outputs a number in (0, 1), and the bias sets how much input it takes to activate it.

    Parameters
    ----------
    n_inputs : int
        Length of an input vector.
    activation : str or Activation, default "sigmoid"
    seed : int, optional
        Seed of the small random initial weights (normal, standard deviation 0.01).

    Attributes
    ----------
    weights : numpy.ndarray, shape (n_inputs,)
    bias : float
    loss_history : list of float
        The training loss after each iteration of `fit()`.

    Examples
    --------
    >>> import plainnet as pn
    >>> neuron = pn.Neuron(2, seed=0)
    >>> neuron.weights = [1.0, -1.0]; neuron.bias = 0.0
    >>> float(neuron([2.0, 2.0]))
    0.5
    """

    def __init__(self, n_inputs: int, activation: str | Activation = "sigmoid", seed=None):
        self.n_inputs = check_int(n_inputs, "n_inputs", minimum=1)
        self.activation = get_activation(activation)
        rng = np.random.default_rng(seed)
        self._weights = rng.normal(0.0, 0.01, size=self.n_inputs)
        self.bias = 0.0
        self.loss_history: list[float] = []
        self.n_iter_ = 0
        self.converged_ = False

    @property
    def weights(self) -> np.ndarray:
        return self._weights

    @weights.setter
    def weights(self, value) -> None:
        w = as_float_array(value, "weights")
        if w.shape != (self.n_inputs,):
            raise ValueError(f"weights must have shape ({self.n_inputs},); got {w.shape}")
        self._weights = w.astype(np.float64)

    def integrate(self, x) -> np.ndarray:
        """The weighted sum ``x · w + b`` (see [`plainnet.integrate()`][plainnet.integrate])."""
        return integrate(x, self.weights, self.bias)

    def __call__(self, x) -> np.ndarray:
        """The neuron's output ``f(x · w + b)`` for one input ``(n,)`` or a batch ``(m, n)``."""
        return self.activation(self.integrate(x))

    def predict(self, X, threshold: float = 0.5) -> np.ndarray:
        """Class labels 0/1: output >= ``threshold`` (0.5 for sigmoid; use 1 for step)."""
        return (self(X) >= threshold).astype(int)

    def loss(self, X, y) -> float:
        r"""The training loss: log-loss for a sigmoid neuron, else half the mean squared error.

        $$
        L_{\log} = \frac1m \sum_i \log(1 + e^{v_i}) - y_i v_i, \qquad
        L_{\mathrm{sq}} = \frac{1}{2m} \sum_i (f(v_i) - y_i)^2
        $$
        """
        X, y = self._check_data(X, y)
        return self._loss(self.integrate(X), y)

    def _loss(self, v: np.ndarray, y: np.ndarray) -> float:
        if isinstance(self.activation, Sigmoid):
            return float(np.mean(np.logaddexp(0, v) - y * v))
        return float(0.5 * np.mean((self.activation.forward(v) - y) ** 2))

    def fit(
        self,
        X,
        y,
        learning_rate: float = 0.1,
        threshold: float = 1e-6,
        max_iter: int = 10_000,
    ) -> Neuron:
        r"""Train the weights and bias by gradient descent, as the notes describe.

        Each iteration moves ``(w, b)`` against the gradient of `loss()`,

        $$
        w \leftarrow w - \eta \nabla_w L, \qquad b \leftarrow b - \eta \partial_b L,
        $$

        and training stops when the loss changes by less than ``threshold`` between two
        iterations (``converged_`` is then True) or after ``max_iter`` iterations.

        The gradient is derived by hand. For the sigmoid neuron with log-loss, the chain rule
        with $\sigma' = \sigma(1-\sigma)$ collapses to $\partial L / \partial v_i
        = (\sigma(v_i) - y_i)/m$; for other activations with squared error it is
        $(f(v_i) - y_i) f'(v_i)/m$. Then $\nabla_w L = X^T \partial L/\partial v$.

        A *step* neuron has derivative 0 everywhere, so gradient descent cannot move it; it is
        trained with the perceptron rule instead, $w \leftarrow w + \eta (y_i - \hat y_i)
        x_i$ for each sample, until an epoch makes no mistake (``max_iter`` epochs at most).
        """
        X, y = self._check_data(X, y)
        learning_rate = check_positive(learning_rate, "learning_rate")
        threshold = check_positive(threshold, "threshold", allow_zero=True)
        max_iter = check_int(max_iter, "max_iter", minimum=1)
        if isinstance(self.activation, Step):
            return self._fit_perceptron(X, y, learning_rate, max_iter)
        self.loss_history = []
        self.converged_ = False
        m = X.shape[0]
        previous = self._loss(self.integrate(X), y)
        for it in range(1, max_iter + 1):
            v = X @ self._weights + self.bias
            if isinstance(self.activation, Sigmoid):
                dv = (self.activation.forward(v) - y) / m
            else:
                out = self.activation.forward(v)
                dv = (out - y) * self.activation._derivative(v, out) / m
            self._weights = self._weights - learning_rate * (X.T @ dv)
            self.bias = float(self.bias - learning_rate * dv.sum())
            current = self._loss(X @ self._weights + self.bias, y)
            self.loss_history.append(current)
            self.n_iter_ = it
            if not np.isfinite(current):
                raise FloatingPointError(
                    f"the loss became {current} at iteration {it}; lower the learning_rate "
                    f"(now {learning_rate}) or standardize X"
                )
            if abs(current - previous) < threshold:
                self.converged_ = True
                break
            previous = current
        return self

    def _fit_perceptron(self, X, y, learning_rate, max_iter) -> Neuron:
        self.loss_history = []
        self.converged_ = False
        for epoch in range(1, max_iter + 1):
            mistakes = 0
            for xi, yi in zip(X, y, strict=True):
                error = yi - float(xi @ self._weights + self.bias >= 0)
                if error:
                    mistakes += 1
                    self._weights = self._weights + learning_rate * error * xi
                    self.bias += learning_rate * error
            self.loss_history.append(mistakes / len(y))
            self.n_iter_ = epoch
            if mistakes == 0:
                self.converged_ = True
                break
        return self

    def _check_data(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        X = as_float_array(X, "X")
        y = as_float_array(y, "y")
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(
                f"X must have shape (n_samples, {self.n_inputs}); got shape {X.shape}"
            )
        if y.shape != (X.shape[0],):
            raise ValueError(
                f"y must have shape ({X.shape[0]},), one target per row of X; got {y.shape}"
            )
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise ValueError("X and y must be finite (no NaN or inf)")
        if isinstance(self.activation, (Sigmoid, Step)) and not np.all((y == 0) | (y == 1)):
            raise ValueError(
                f"a {self.activation.name} neuron learns 0/1 targets; y has values "
                f"{np.unique(y)[:5].tolist()}"
            )
        return X.astype(np.float64), y.astype(np.float64)

    def __repr__(self) -> str:
        return f"Neuron(n_inputs={self.n_inputs}, activation={self.activation.name!r})"
