"""``plainnet descend``: minimize a test function, print the result, optionally draw the path."""

from __future__ import annotations

import argparse
import math

EXAMPLE = (
    "examples:\n"
    "  plainnet descend rosenbrock --method adam --learning-rate 0.01 --plot path.png\n"
    "  plainnet descend himmelblau --method newton --x0=-1,-1\n"
    "  (write --x0=-1.2,1 with '=' when x0 starts with a minus sign)"
)


def add_parser(sub) -> None:
    from ..optimize import METHODS
    from ..optimize.functions import FUNCTIONS

    p = sub.add_parser(
        "descend",
        help="minimize a standard test function and show the path taken",
        description=(
            "Minimize one of plainnet's test functions with gradient descent or another method "
            "of plainnet.optimize.minimize, print the result as a table, and optionally draw "
            f"the path over the function's contours. Functions: {', '.join(FUNCTIONS)}. "
            f"Methods: {', '.join(METHODS)}."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("function", metavar="FUNCTION", help="test function name, e.g. rosenbrock")
    p.add_argument("--method", default="bfgs",
                   help="optimization method (default bfgs, which converges on every test "
                        "function from its suggested start; gd needs a --learning-rate that "
                        "suits the function, or --line-search)")
    p.add_argument("--learning-rate", metavar="RATE", help="step size (method's default)")
    p.add_argument("--x0", metavar="A,B", help="start point, comma-separated (default: suggested)")
    p.add_argument("--max-iter", metavar="N", help="most iterations (method's default)")
    p.add_argument("--threshold", metavar="T", help="stop when |f(new) - f(old)| < T")
    p.add_argument("--gtol", metavar="G", help="stop when the gradient norm < G")
    p.add_argument("--momentum", metavar="MU", help="momentum (momentum, nesterov, rmsprop)")
    p.add_argument("--line-search", action="store_true", help="Armijo backtracking")
    p.add_argument("--plot", metavar="PNG", help="draw the path over the contours to this file")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..optimize import minimize
    from ..optimize.functions import get
    from ._common import check_output_path, plot_path, save_figure

    args.plot = plot_path(args.plot)
    check_output_path(args.plot, "--plot")
    fn = get(args.function)
    x0 = fn.x0 if args.x0 is None else _point(args.x0)
    if x0.shape != fn.x0.shape and not (fn.any_dim and x0.size >= 2):
        raise ValueError(f"--x0 must have {fn.x0.size} numbers for {fn.name}; got {x0.size}")
    options = {
        "learning_rate": _number(args.learning_rate, "--learning-rate"),
        "max_iter": _integer(args.max_iter, "--max-iter"),
        "threshold": _number(args.threshold, "--threshold"),
        "gtol": _number(args.gtol, "--gtol"),
        "momentum": _number(args.momentum, "--momentum"),
        "line_search": True if args.line_search else None,
    }
    options = {k: v for k, v in options.items() if v is not None}
    result = minimize(fn.function, x0, method=args.method, **options)
    nearest = None
    if result.x.shape == fn.minima[0].shape:
        nearest = min(_norm(result.x - m) for m in fn.minima)
    rows = [
        ("function", fn.name),
        ("method", result.method),
        ("x0", _fmt(x0)),
        ("x", _fmt(result.x)),
        ("f(x)", f"{result.fun:.10g}"),
        ("known minimum", f"{fn.fmin:.10g}" + ("" if nearest is None else
                                                 f" (distance to nearest {nearest:.3g})")),
        ("gradient norm", f"{_norm(result.grad):.3g}"),
        ("iterations", str(result.nit)),
        ("f evaluations", str(result.nfev)),
        ("success", str(result.success)),
        ("message", _cli_advice(result.message)),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
    if args.plot:
        if result.x.size != 2:
            raise ValueError("--plot draws 2-D functions only; give a 2-number --x0")
        from ..plot import descent_path

        save_figure(descent_path(fn, {result.method: result},
                                 title=f"{fn.name}, {result.method}"), args.plot)
        print(f"path drawn to {args.plot}")
    return 0


def _cli_advice(message: str) -> str:
    """The optimizer's advice in this command's flags rather than Python arguments."""
    for python, flag in (("line_search=True", "--line-search"),
                         ("learning_rate", "--learning-rate"), ("max_iter", "--max-iter"),
                         ("gtol", "--gtol")):
        message = message.replace(python, flag)
    return message


def _point(text: str):
    import numpy as np

    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--x0 must be comma-separated numbers like -1.2,1; got {text!r}") \
            from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"--x0 must be finite numbers; got {text!r}")
    return np.array(values)


def _number(text, flag):
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{flag} must be a number; got {text!r}") from None


def _integer(text, flag):
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{flag} must be an integer; got {text!r}") from None


def _norm(g) -> float:
    import numpy as np

    with np.errstate(over="ignore"):
        return float(np.linalg.norm(g))


def _fmt(x) -> str:
    return "(" + ", ".join(f"{v:.8g}" for v in x.reshape(-1)) + ")"
