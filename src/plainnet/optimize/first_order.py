r"""Gradient descent and its first-order relatives, one loop for all of them.

Each iteration asks the method's update rule (from
[`plainnet.optimize.rules`][plainnet.optimize.rules], the same code the neural-network optimizers
use) for a step from the current gradient, optionally shortens it by Armijo backtracking, moves, and
applies the stopping rules:

* the notes' rule: $|f(x_{k+1}) - f(x_k)| < \text{threshold}$;
* the gradient rule: $\|\nabla f(x_{k+1})\| < \text{gtol}$;
* ``max_iter`` steps without either (``success=False``);
* a NaN or infinite value or gradient (``success=False``; the last finite point is kept).

With ``line_search``, a step that does not point downhill ($\nabla f \cdot d \ge 0$,
which momentum can cause) restarts the rule: its state (momentum, running averages) is
cleared and the step recomputed, which makes it a descent direction.
"""

from __future__ import annotations

from collections.abc import Callable

from . import rules
from .line_search import backtrack, is_descent
from .objective import Objective
from .result import OptimizeResult
from .trace import (
    Trace,
    diverged_message,
    grad_norm,
    is_finite,
    max_iter_message,
)

FIRST_ORDER = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def make_rule(method: str, opts: dict) -> Callable:
    """``update(x, g, state)``: the method's rule with its options bound, updating ``x`` in
    place."""
    lr = opts["learning_rate"]
    if method == "gd":
        return lambda x, g, state: rules.sgd(x, g, state, lr)
    if method in ("momentum", "nesterov"):
        mu, nesterov = opts["momentum"], method == "nesterov"
        return lambda x, g, state: rules.sgd(x, g, state, lr, momentum=mu, nesterov=nesterov)
    if method == "adagrad":
        eps = opts["eps"]
        return lambda x, g, state: rules.adagrad(x, g, state, lr, eps=eps)
    if method == "rmsprop":
        alpha, eps, mu = opts["betas"], opts["eps"], opts["momentum"]
        return lambda x, g, state: rules.rmsprop(x, g, state, lr, alpha=alpha, eps=eps,
                                                 momentum=mu)
    if method == "adam":
        betas, eps = opts["betas"], opts["eps"]
        return lambda x, g, state: rules.adam(x, g, state, lr, betas=betas, eps=eps)
    raise ValueError(f"{method!r} is not a first-order method; choose one of {FIRST_ORDER}")


def run_first_order(objective: Objective, method: str, opts: dict,
                    callback: Callable | None) -> OptimizeResult:
    """Gradient descent and its momentum/adaptive variants: one shared update rule from
    [`plainnet.optimize.rules`][plainnet.optimize.rules] per step, optionally with an Armijo line
    search."""
    update = make_rule(method, opts)
    threshold, gtol, max_iter = opts["threshold"], opts["gtol"], opts["max_iter"]
    line_search = opts["line_search"]
    x = objective.x0.copy()
    fx, g = objective.value_and_grad(x)
    trace = Trace(objective, method, callback, x, fx, g)
    if not is_finite(fx, g):
        return trace.finish(2, "f or its gradient is not finite (NaN or inf) at x0")
    if grad_norm(g) < gtol:
        return trace.finish(0, f"converged: gradient norm < gtol = {gtol:g} at x0")
    state: dict = {}
    for _ in range(max_iter):
        x_new = x.copy()
        update(x_new, g, state)
        if line_search:
            if not is_descent(g, x_new - x):
                state.clear()
                x_new = x.copy()
                update(x_new, g, state)
            found = backtrack(objective, x, fx, g, x_new - x)
            if found is None:
                return trace.finish(4, "the line search found no decrease along the step")
            x_new = found.x
        fx_new, g_new = objective.value_and_grad(x_new)
        if not is_finite(fx_new, g_new, x_new):
            hint = "" if line_search else " (try a smaller learning_rate or line_search=True)"
            return trace.finish(2, diverged_message(trace.nit + 1, hint))
        done = trace.step(x_new, fx_new, g_new, threshold, gtol)
        if done is not None:
            return done
        x, fx, g = x_new, fx_new, g_new
    return trace.finish(1, max_iter_message(max_iter))
