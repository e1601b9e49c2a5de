"""Each script in examples/ runs on its own and prints the result its docstring promises."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, tmp_path: Path) -> str:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "error::RuntimeWarning"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def number(output: str, label: str) -> float:
    """The number printed after ``label:`` on its line."""
    match = re.search(rf"^{re.escape(label)}:\s*([-+0-9.eE]+)", output, flags=re.MULTILINE)
    assert match, f"no line starting with {label!r} in:\n{output}"
    return float(match.group(1))


def test_every_example_has_a_docstring_and_a_test():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert scripts == sorted(CHECKS)
    for name in scripts:
        doc = ast.get_docstring(ast.parse((EXAMPLES / name).read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 20, f"{name} needs a docstring saying what it shows"


def check_xor(out: str) -> None:
    # No line separates XOR's classes: a single neuron gets at most 3 of 4 points right.
    assert number(out, "one sigmoid neuron accuracy") <= 0.75
    assert number(out, "two-layer network accuracy") == 1.0


def check_digits(out: str) -> None:
    assert number(out, "held-out accuracy") >= 0.95
    assert number(out, "final training loss") < 0.2


def check_diabetes(out: str) -> None:
    network = number(out, "network held-out R^2")
    linear = number(out, "linear least-squares held-out R^2")
    assert network > 0.4
    assert 0.4 < linear < 0.6  # the closed form on this split (scikit-learn gives the same)
    assert number(out, "epochs before early stopping") < 300


def check_logistic(out: str) -> None:
    neuron = number(out, "sigmoid neuron held-out accuracy")
    reference = number(out, "scikit-learn LogisticRegression held-out accuracy")
    assert neuron >= 0.95
    assert abs(neuron - reference) <= 0.03
    assert "converged: True" in out


def check_rosenbrock(out: str) -> None:
    lines = {line.split(":")[0]: line for line in out.splitlines()}
    assert set(lines) == {"gradient descent", "adam", "bfgs", "newton"}
    steps = {}
    for name, line in lines.items():
        distance = float(re.search(r"distance to \(1, 1\) = ([-+0-9.eE]+)", line).group(1))
        assert distance < 1e-2, line
        steps[name] = int(re.search(r"steps (\d+)", line).group(1))
    assert steps["newton"] < steps["bfgs"] < steps["adam"] < steps["gradient descent"]


def check_mnist_cnn(out: str) -> None:
    # LeNet on 4,000 MNIST images, 24 epochs of shifted images: 97.6% on the 1,000 others
    # here (another BLAS rounds differently; the margin allows for it)
    assert number(out, "held-out accuracy") >= 0.965
    assert "same predictions: True" in out


def check_char_gpt(out: str) -> None:
    # 200 steps of the baby GPT: from about log(vocab) = 4.2 to below 2.8 on Shakespeare (the
    # built-in sonnet, where the text is absent, goes lower still)
    first, final = number(out, "first train loss"), number(out, "final train loss")
    assert first > 3.5 and final < first - 1.0
    assert number(out, "final val loss") < first - 0.8


def check_char_lstm(out: str) -> None:
    # 150 steps of a 2-layer LSTM (hidden 128): from about log(vocab) = 4.3 to about 2.2
    first, final = number(out, "first train loss"), number(out, "final train loss")
    assert first > 3.5 and final < first - 1.0
    assert number(out, "final val loss") < first - 0.8


CHECKS = {
    "xor.py": check_xor,
    "char_lstm.py": check_char_lstm,
    "char_gpt.py": check_char_gpt,
    "digits.py": check_digits,
    "diabetes_regression.py": check_diabetes,
    "logistic_neuron.py": check_logistic,
    "rosenbrock_descent.py": check_rosenbrock,
    "mnist_cnn.py": check_mnist_cnn,
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_prints_its_result(name, tmp_path):
    CHECKS[name](run_example(name, tmp_path))
    assert not list(tmp_path.iterdir()), f"{name} should not leave files behind"
