"""``minimize`` (every method behind one call) and the notes' ``gradient_descent``."""

from __future__ import annotations

from collections.abc import Callable

from .bfgs import run_bfgs
from .first_order import FIRST_ORDER, run_first_order
from .lbfgs import run_lbfgs
from .newton import run_newton
from .objective import Objective
from .options import check_method, resolve
from .result import OptimizeResult


def minimize(f: Callable, x0, method: str = "gd", jac=None, callback: Callable | None = None,
             hess: Callable | None = None, **options) -> OptimizeResult:
    r"""Minimize a scalar function ``f`` from the starting point ``x0``.

    Parameters
    ----------
    f : callable
        ``f(x) -> number``, ``x`` shaped like ``x0``. With ``jac=None`` it is differentiated by
        [`plainnet.value_and_grad()`][plainnet.value_and_grad], so write it with Tensor operations
        (operators, ``x.sum()``, ``pn.exp``, indexing, ...).
    x0 : number or array_like of any shape
        Starting point. The optimizers work in float64.
    method : {"gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "newton", "bfgs", \
"lbfgs"}
        ``gd`` is the notes' $x \leftarrow x - \eta \nabla f(x)$; ``momentum``, ``nesterov``,
        ``adagrad``, ``rmsprop`` and ``adam`` use the shared update rules of
        [`plainnet.optimize.rules`][plainnet.optimize.rules]; ``newton`` solves $\nabla f = 0$ with
        the exact Hessian (safeguarded); ``bfgs`` builds an inverse-Hessian estimate from gradients;
        ``lbfgs`` keeps that estimate as the last 10 steps and gradient changes (memory $O(n)$, for
        many variables, e.g. a network's weights).
    jac : None, True or callable
        ``None``: autodiff. A callable: ``jac(x)`` returns the gradient, shaped like ``x``.
        ``True``: ``f`` returns ``(value, gradient)``.
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration, with ``x``, ``fun``, ``grad``
        and ``nit``; raising ``StopIteration`` ends the run there (status 3).
    hess : callable, optional
        ``hess(x)`` returning the Hessian, for ``newton`` only. By default the Hessian is exact
        by autodiff (``jac=None``) or central differences of the gradient.
    **options
        One vocabulary for every method (each takes the ones that apply to it): ``learning_rate``,
        ``threshold`` (stop when $|f(x_{k+1}) - f(x_k)|$ is below it), ``gtol`` (stop when
        $\|\nabla f\|$ is below it), ``max_iter``, ``momentum``, ``betas`` (Adam's pair; RMSprop's
        decay rate), ``eps``, ``line_search`` (Armijo backtracking). Defaults:
        [`plainnet.optimize.DEFAULTS`][plainnet.optimize.DEFAULTS].

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``grad``, ``nit``, ``nfev``, ``success``, ``status``, ``message``,
        ``path``, ``values``, ``best_x``, ``best_fun``, ...

    Raises
    ------
    ValueError
        For an unknown method, an unknown or inapplicable option, a bad option value, an
        empty or non-finite ``x0``, or ``f`` not returning a scalar.

    Examples
    --------
    >>> import plainnet as pn
    >>> res = pn.optimize.minimize(lambda x: ((x - 3.0) ** 2).sum(), [0.0, 0.0], method="newton")
    >>> res.x.tolist(), res.nit
    ([3.0, 3.0], 1)
    """
    method = check_method(method)
    opts = resolve(method, options)
    if hess is not None and method != "newton":
        raise ValueError(f"hess is used by method 'newton' only; got it with {method!r}")
    objective = Objective(f, x0, jac=jac, hess=hess)
    if method in FIRST_ORDER:
        return run_first_order(objective, method, opts, callback)
    if method == "newton":
        return run_newton(objective, opts, callback)
    if method == "lbfgs":
        return run_lbfgs(objective, opts, callback)
    return run_bfgs(objective, opts, callback)


def gradient_descent(f: Callable, x0, learning_rate: float = 0.1, threshold: float = 1e-9,
                     max_iter: int = 10_000, grad: Callable | None = None,
                     callback: Callable | None = None, gtol: float = 1e-6,
                     line_search: bool = False) -> OptimizeResult:
    r"""The notes' gradient descent, iterative and safe.

    $$
    x_{k+1} = x_k - \eta\, \nabla f(x_k)
    $$

    where $\eta$ is the ``learning_rate`` (step size). It stops when the improvement
    becomes negligible, $|f(x_{k+1}) - f(x_k)| < \text{threshold}$ (the notes' rule),
    when $\|\nabla f(x_{k+1})\| < \text{gtol}$, after ``max_iter`` steps
    (``success=False``) or when ``f`` or its gradient turns NaN or infinite (``success=False``,
    the last finite point kept). Unlike the notes' recursive version it runs any number of
    steps and returns the point (``res.x``) as well as the value (``res.fun``).

    Parameters
    ----------
    f : callable
        Scalar function of a point shaped like ``x0``.
    x0 : number or array_like
        Starting point.
    learning_rate, threshold, max_iter, gtol, line_search
        As in `minimize()`.
    grad : callable, optional
        ``grad(x)``, the gradient; by default it comes from autodiff.
    callback : callable, optional
        ``callback(intermediate_result)`` after each step; ``StopIteration`` stops the run.

    Examples
    --------
    >>> import plainnet as pn
    >>> res = pn.optimize.gradient_descent(lambda x: (x - 2.0) ** 2, 0.0, learning_rate=0.25)
    >>> round(float(res.x), 4), res.nit, res.success
    (2.0, 17, True)
    """
    return minimize(
        f, x0, method="gd", jac=grad, callback=callback, learning_rate=learning_rate,
        threshold=threshold, max_iter=max_iter, gtol=gtol, line_search=line_search,
    )
