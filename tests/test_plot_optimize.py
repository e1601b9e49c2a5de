"""pn.plot.descent_path and pn.plot.activations render real pictures."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import plainnet as pn

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FUNCTIONS = pn.optimize.functions.FUNCTIONS


def _png(fig, path):
    fig.savefig(path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000
    return data


def _path_lines(ax, n):
    # each run draws its path line first, then the start and end markers
    return [line for line in ax.lines if len(line.get_xdata()) == n]


def test_descent_path_of_one_run(tmp_path):
    fn = FUNCTIONS["rosenbrock"]
    res = pn.optimize.minimize(fn.function, fn.x0, method="bfgs")
    fig = pn.plot.descent_path(fn, res, title="bfgs on Rosenbrock")
    ax = fig.axes[0]
    assert ax.get_title() == "bfgs on Rosenbrock"
    lines = _path_lines(ax, len(res.path))
    assert lines, "the path is drawn"
    np.testing.assert_allclose(lines[0].get_xydata(), res.path)
    assert ax.get_xlim() == fn.bounds[0] and ax.get_ylim() == fn.bounds[1]
    assert ax.collections, "contours are drawn"
    _png(fig, tmp_path / "one.png")


def test_descent_path_compares_methods(tmp_path):
    fn = FUNCTIONS["himmelblau"]
    runs = {m: pn.optimize.minimize(fn.function, fn.x0, method=m) for m in ("newton", "bfgs")}
    fig = pn.plot.descent_path("himmelblau", runs)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("newton") for label in labels)
    assert any(label.startswith("bfgs") for label in labels)
    assert "known minimum" in labels
    _png(fig, tmp_path / "many.png")


def test_descent_path_of_a_plain_function_and_list(tmp_path):
    def bowl(p):
        return (p[..., 0] - 1) ** 2 + 3 * (p[..., 1] + 0.5) ** 2

    runs = [pn.optimize.gradient_descent(bowl, [2.0, 1.0], learning_rate=lr)
            for lr in (0.05, 0.15)]
    fig = pn.plot.descent_path(bowl, runs, minima=[1.0, -0.5])
    xmin, xmax = fig.axes[0].get_xlim()
    assert xmin < 1.0 < 2.0 < xmax
    _png(fig, tmp_path / "bowl.png")


def test_descent_path_of_a_function_that_needs_tensors(tmp_path):
    # x.exp() exists on Tensors only: the grid falls back to point-by-point evaluation
    def f(p):
        return (p * p).sum() + (p[0] * 0.1).exp()

    res = pn.optimize.minimize(f, [1.0, 1.0], method="newton")
    fig = pn.plot.descent_path(f, res, bounds=((-2, 2), (-2, 2)), resolution=20)
    _png(fig, tmp_path / "tensor.png")


def test_descent_path_in_one_dimension(tmp_path):
    def f(x):
        return x**4 - 3 * x**2 + x

    res = pn.optimize.gradient_descent(f, 2.0, learning_rate=0.02)
    fig = pn.plot.descent_path(f, res)
    ax = fig.axes[0]
    lines = _path_lines(ax, len(res.path))
    np.testing.assert_allclose(lines[0].get_xdata(), res.path)
    np.testing.assert_allclose(lines[0].get_ydata(), res.values)
    _png(fig, tmp_path / "curve.png")


def test_descent_path_draws_on_given_axes(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 2)
    fn = FUNCTIONS["booth"]
    res = pn.optimize.minimize(fn.function, fn.x0, method="newton")
    out = pn.plot.descent_path(fn, res, ax=axes[1])
    assert out is fig
    assert axes[1].lines and not axes[0].lines


def test_descent_path_bad_input():
    res3 = pn.optimize.minimize(lambda x: (x * x).sum(), np.ones(3), method="newton")
    with pytest.raises(ValueError, match="1 or 2 variables"):
        pn.plot.descent_path(lambda x: (x * x).sum(-1), res3)
    with pytest.raises(TypeError, match="OptimizeResult"):
        pn.plot.descent_path(lambda x: x, 3.0)
    with pytest.raises(ValueError, match="no runs"):
        pn.plot.descent_path(lambda x: x, [])
    with pytest.raises(ValueError, match="unknown test function"):
        pn.plot.descent_path("nope", res3)
    res2 = pn.optimize.minimize(lambda x: (x * x).sum(), np.ones(2), method="newton")
    with pytest.raises(ValueError, match="levels"):
        pn.plot.descent_path(lambda x: (x * x).sum(-1), res2, levels=1)


def test_activations_picture(tmp_path):
    fig = pn.plot.activations()
    axes = np.array(fig.axes).reshape(-1, 2)
    assert axes.shape == (6, 2)
    assert axes[0, 0].get_ylabel() == "step" and axes[1, 0].get_ylabel() == "sigmoid"
    x = axes[1, 0].lines[0].get_xdata()
    np.testing.assert_allclose(axes[1, 0].lines[0].get_ydata(), pn.sigmoid(x))
    np.testing.assert_allclose(axes[1, 1].lines[0].get_ydata(), pn.sigmoid.derivative(x))
    np.testing.assert_array_equal(axes[0, 1].lines[0].get_ydata(), 0.0)
    _png(fig, tmp_path / "act.png")


def test_activations_choices(tmp_path):
    fig = pn.plot.activations("all", x=np.linspace(-2, 2, 50))
    assert len(fig.axes) == 2 * (len(pn.ACTIVATIONS) - 1)
    assert len(pn.plot.activations("tanh").axes) == 2
    with pytest.raises(ValueError, match="unknown activation"):
        pn.plot.activations(["nope"])
    with pytest.raises(ValueError, match="1-D"):
        pn.plot.activations(x=[1.0])


def test_importing_plot_and_optimize_stays_light():
    code = (
        "import sys, plainnet as pn; pn.plot; pn.optimize; pn.optimize.functions; "
        "heavy = [m for m in ('matplotlib', 'scipy', 'sympy', 'sklearn') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
