r"""The solvers of the estimators: an optimizer of [`plainnet.optim`][plainnet.optim] for the
stochastic
ones, and full-batch L-BFGS through `plainnet.optimize.minimize()` for ``"lbfgs"``.

``"adam"`` is Adam with scikit-learn's ``beta_1``, ``beta_2`` and ``epsilon``; ``"sgd"`` is
`ScikitSGD`, scikit-learn's stochastic gradient descent with momentum (its velocity in parameter
units, so a learning-rate schedule acts as it does there). ``"lbfgs"`` minimizes the objective on
the whole training set, $J(\theta)$ of
[`plainnet.estimators.objective`][plainnet.estimators.objective], as a function of the flattened
parameters. """

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from .. import backend
from ..autodiff import Tensor
from ..optim import Adam, Optimizer, get_optimizer
from ..optimize.lbfgs import run_lbfgs
from ..optimize.objective import Objective
from ..optimize.options import resolve


class ScikitSGD(Optimizer):
    r"""Stochastic gradient descent with momentum as scikit-learn's MLPs define it.

    With gradient $g$, learning rate $\eta$ (which a schedule may change between
    steps) and momentum $\mu$, the velocity $v$ (0 at first) and parameter
    $\theta$ are updated as

    $$
    v \leftarrow \mu v - \eta g, \qquad
    \theta \leftarrow \theta + \mu v - \eta g \ \text{(nesterov)}
    \quad\text{or}\quad \theta \leftarrow \theta + v.
    $$

    For a constant $\eta$ this is [`plainnet.optim.SGD`][plainnet.optim.SGD] (whose buffer is
    $-v/\eta$); when $\eta$ changes, the velocity keeps the steps already
    taken at their old size, as scikit-learn's does.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.9, nesterov: bool = True):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov))

    def _check_hyperparameters(self, group: dict) -> None:
        if not group["lr"] >= 0:
            raise ValueError(f"ScikitSGD: lr must be >= 0; got {group['lr']!r}")
        if not 0 <= group["momentum"] <= 1:
            raise ValueError(f"ScikitSGD: momentum must be in [0, 1]; got {group['momentum']!r}")

    def _update(self, param, grad, state: dict, group: dict) -> None:
        lr, mu = group["lr"], group["momentum"]
        v = state.get("velocity")
        if v is None:
            v = state["velocity"] = np.zeros_like(param)
        v *= mu
        v -= lr * grad
        if group["nesterov"]:
            param += mu * v - lr * grad
        else:
            param += v


def stochastic_optimizer(opts: dict, params: list):
    """The optimizer of a stochastic solver over ``params``, from the checked options."""
    solver, lr = opts["solver"], opts["lr"]
    if solver == "adam":
        return Adam(params, lr=lr, betas=(opts["beta_1"], opts["beta_2"]), eps=opts["epsilon"])
    if solver == "sgd":
        return ScikitSGD(params, lr=lr, momentum=opts["momentum"],
                         nesterov=opts["nesterovs_momentum"])
    return get_optimizer(solver, params, lr=lr)


class FlatParameters:
    """The parameters of ``model`` as one float64 vector: read with `get()`, written
    back with `set()`, and their gradients gathered by `grad()`."""

    def __init__(self, model):
        self.params = model.parameters()
        self.sizes = [int(np.prod(p.shape)) for p in self.params]

    def get(self) -> np.ndarray:
        return np.concatenate([backend.to_numpy(p.data).ravel() for p in self.params]
                              ).astype(np.float64)

    def set(self, x: np.ndarray) -> None:
        start = 0
        for p, size in zip(self.params, self.sizes, strict=True):
            part = x[start:start + size].reshape(p.shape).astype(p.dtype, copy=False)
            p.data[...] = backend.to_device(part, p.device)
            start += size

    def grad(self) -> np.ndarray:
        parts = [np.zeros(size) if p.grad is None
                 else backend.to_numpy(p.grad.data if isinstance(p.grad, Tensor) else p.grad
                                       ).ravel()
                 for p, size in zip(self.params, self.sizes, strict=True)]
        return np.concatenate(parts).astype(np.float64)


def fit_lbfgs(model, X, targets, sample_weight, objective: Callable, max_iter: int,
              max_fun: int, tol: float, verbose: bool = False):
    r"""Minimize ``objective(model(X), targets, sample_weight)`` over the model's parameters
    with plainnet's L-BFGS (`plainnet.optimize.minimize()`'s ``method="lbfgs"``), full
    batch, without keeping the path of iterates.

    Stops when the gradient norm falls below ``tol`` (``gtol``), after ``max_iter``
    iterations, or once the objective has been evaluated ``max_fun`` times (checked after
    each iteration, as scikit-learn's L-BFGS-B does). The model is left at the final point.
    With ``verbose``, each iteration prints its loss to stderr.

    Returns
    -------
    (OptimizeResult, list of float, bool)
        The result, the objective after each iteration (the first entry at the start), and
        whether ``max_fun`` ended the run.
    """
    flat = FlatParameters(model)
    device = model.device
    if device != "cpu":  # the data goes to the model's device once
        X, targets = backend.to_device(X, device), backend.to_device(targets, device)
        if sample_weight is not None:
            sample_weight = backend.to_device(sample_weight, device)
    xb = Tensor(X)
    calls = [0]

    def value_and_grad(x):
        calls[0] += 1
        flat.set(x)
        model.zero_grad()
        if sample_weight is None:
            loss = objective(model(xb), targets)
        else:
            loss = objective(model(xb), targets, sample_weight=sample_weight)
        value = float(backend.to_numpy(loss.data))
        if not np.isfinite(value):
            return value, np.full(sum(flat.sizes), np.nan)
        loss.backward()
        return value, flat.grad()

    out_of_calls = [False]

    def stop_at_max_fun(result):
        if verbose:
            print(f"iteration {result.nit}: loss={result.fun:.6g} "
                  f"|grad|={np.linalg.norm(result.grad):.3g}", file=sys.stderr)
        if calls[0] >= max_fun:
            out_of_calls[0] = True
            raise StopIteration

    model.train()
    try:  # pn.optimize's L-BFGS, keeping no path of iterates (one weight vector each)
        result = run_lbfgs(Objective(value_and_grad, flat.get(), jac=True),
                           resolve("lbfgs", {"gtol": tol, "max_iter": max_iter}),
                           stop_at_max_fun, keep_path=False)
    finally:
        model.zero_grad()
    flat.set(result.x)
    return result, [float(v) for v in result.values], out_of_calls[0]
