r"""Road one of the notes, symbolically: where the gradient is zero, and what is there.

SymPy is an optional extra (``pip install plainnet[symbolic]``), imported only when
`stationary_points()` is called.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

KINDS = ("min", "max", "saddle", "degenerate")


class StationaryPoint(NamedTuple):
    """A point where every partial derivative is zero.

    Attributes
    ----------
    point : dict
        ``{symbol: exact value}`` (a value may contain the other symbols when the stationary
        points form a line or a surface).
    value : sympy expression
        The function at the point.
    kind : str
        ``"min"``, ``"max"``, ``"saddle"`` or ``"degenerate"`` (the test is inconclusive).
    """

    point: dict
    value: Any
    kind: str

    @property
    def coords(self) -> np.ndarray:
        """The point as a float array, in the order of the symbols given."""
        return np.array([complex(v.evalf(30)).real for v in self.point.values()])


def stationary_points(expr, symbols) -> list[StationaryPoint]:
    r"""Find the stationary points of ``expr`` and classify them.

    The notes' three steps, done exactly: take the derivatives, set them to zero,
    $\nabla f(x) = 0$, and solve (``sympy.solve``). Each real solution is classified by
    the eigenvalues $\lambda_i$ of the Hessian there: all positive, a **min**; all
    negative, a **max**; both signs, a **saddle**; a zero eigenvalue otherwise leaves the
    test **degenerate**. In one variable the higher-derivative test decides instead: the first
    non-zero derivative of order $k \ge 2$ gives a min or max when $k$ is even and
    an inflection (reported as ``"saddle"``) when $k$ is odd.

    Parameters
    ----------
    expr : sympy expression or str
        The function, e.g. ``"x**2 - y**2"``.
    symbols : sympy Symbol, str, or a sequence of them
        The variables, in order (``"x"``, ``["x", "y"]``, ``sympy.symbols("x y")``). Every
        free symbol of ``expr`` must be one of them.

    Returns
    -------
    list of StationaryPoint
        Real stationary points, numeric ones sorted by their coordinates.

    Examples
    --------
    >>> import plainnet as pn
    >>> [(p.coords.tolist(), p.kind) for p in pn.optimize.stationary_points("x**3 - 3*x", "x")]
    [([-1.0], 'max'), ([1.0], 'min')]
    """
    try:
        import sympy as sp
    except ImportError as err:  # pragma: no cover - sympy is installed for the tests
        raise ImportError(
            "stationary_points needs SymPy: pip install 'plainnet[symbolic]'"
        ) from err
    syms = _symbols(sp, symbols)
    if isinstance(expr, str):
        try:
            expr = sp.sympify(expr, locals={s.name: s for s in syms})
        except (sp.SympifyError, SyntaxError, TypeError) as err:
            raise ValueError(f"could not read expr {expr!r} as a formula: {err}") from err
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"expr must be a SymPy expression or a string; got {type(expr).__name__}")
    extra = expr.free_symbols - set(syms)
    if extra:
        raise ValueError(
            f"expr has symbols {sorted(map(str, extra))} that are not among the variables "
            f"{[s.name for s in syms]}; list them or substitute numbers for them"
        )
    gradient = [sp.diff(expr, s) for s in syms]
    solutions = sp.solve(gradient, syms, dict=True)
    hess = sp.hessian(expr, syms)
    points = []
    for sol in solutions:
        point = {s: sol.get(s, s) for s in syms}
        if not _is_real(sp, point):
            continue
        value = sp.simplify(expr.subs(point))
        points.append(StationaryPoint(point, value, _classify(sp, expr, syms, hess, point)))
    points.sort(key=lambda p: _sort_key(sp, p))
    return points


def _symbols(sp, symbols) -> list:
    if isinstance(symbols, (str, sp.Symbol)):
        symbols = [symbols]
    try:
        items = list(symbols)
    except TypeError as err:
        raise TypeError(
            f"symbols must be a Symbol, a name, or a sequence of them; got {symbols!r}"
        ) from err
    out = []
    for s in items:
        if isinstance(s, str):
            parts = sp.symbols(s)
            out.extend(parts if isinstance(parts, tuple) else [parts])
        elif isinstance(s, sp.Symbol):
            out.append(s)
        else:
            raise TypeError(f"each symbol must be a sympy Symbol or a name; got {s!r}")
    if not out:
        raise ValueError("symbols must name at least one variable")
    if len(set(out)) != len(out):
        raise ValueError(f"symbols must be distinct; got {out}")
    return out


def _numeric(sp, point) -> bool:
    return all(not sp.sympify(v).free_symbols for v in point.values())


def _is_real(sp, point) -> bool:
    for v in point.values():
        v = sp.sympify(v)
        if v.is_real is False:
            return False
        if v.is_real is None and not v.free_symbols:
            z = complex(sp.N(v, 30))
            if abs(z.imag) > 1e-12 * max(1.0, abs(z.real)):
                return False
    return True


def _classify(sp, expr, syms, hess, point) -> str:
    if not _numeric(sp, point):
        return "degenerate"
    H = np.array(hess.subs(point).evalf(30).tolist(), dtype=complex).real
    if not np.all(np.isfinite(H)):
        return "degenerate"
    eig = np.linalg.eigvalsh((H + H.T) / 2)
    tol = 1e-10 * max(1.0, float(np.max(np.abs(eig))))
    pos, neg = bool(np.any(eig > tol)), bool(np.any(eig < -tol))
    if pos and neg:
        return "saddle"
    if not np.any(np.abs(eig) <= tol):
        return "min" if pos else "max"
    if len(syms) == 1:
        return _higher_derivative_test(sp, expr, syms[0], point)
    return "degenerate"


def _higher_derivative_test(sp, expr, x, point, max_order: int = 12) -> str:
    d = sp.diff(expr, x, 2)
    for k in range(3, max_order + 1):
        d = sp.diff(d, x)
        value = complex(sp.N(d.subs(point), 30)).real
        if abs(value) > 1e-12:
            if k % 2:
                return "saddle"
            return "min" if value > 0 else "max"
    return "degenerate"


def _sort_key(sp, p: StationaryPoint):
    if _numeric(sp, p.point):
        return (0, tuple(complex(sp.N(v)).real for v in p.point.values()))
    return (1, tuple(str(v) for v in p.point.values()))
