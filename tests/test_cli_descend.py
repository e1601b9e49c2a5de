"""``plainnet descend``: minimize a test function from the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from plainnet.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _table(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines():
        key, _, value = line.partition("  ")
        rows[key.strip()] = value.strip()
    return rows


def test_descend_prints_a_table(capsys):
    code = main(["descend", "rosenbrock", "--method", "adam", "--learning-rate", "0.02",
                 "--line-search"])
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = _table(out.out)
    assert rows["function"] == "rosenbrock" and rows["method"] == "adam"
    assert rows["x0"] == "(-1.2, 1)"
    x = np.array([float(v) for v in rows["x"].strip("()").split(",")])
    np.testing.assert_allclose(x, [1.0, 1.0], atol=5e-3)
    assert rows["success"] == "True"
    assert rows["message"].startswith("converged")
    assert int(rows["iterations"]) > 0


def test_descend_with_start_and_plot(tmp_path, capsys):
    png = tmp_path / "path.png"
    code = main(["descend", "himmelblau", "--method", "newton", "--x0=-1,-1",
                 "--max-iter", "50", "--plot", str(png)])
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = _table(out.out)
    assert rows["x0"] == "(-1, -1)"
    assert rows["known minimum"].startswith("0 (distance to nearest")
    assert float(rows["known minimum"].split()[-1].rstrip(")")) < 1e-6
    assert png.read_bytes().startswith(PNG_MAGIC)
    assert f"path drawn to {png}" in out.out


def test_descend_reports_divergence_without_failing(capsys):
    assert main(["descend", "rosenbrock", "--method", "gd"]) == 0
    rows = _table(capsys.readouterr().out)
    assert rows["success"] == "False"
    assert "non-finite" in rows["message"]


def test_descend_any_dimension(capsys):
    assert main(["descend", "sphere", "--method", "bfgs", "--x0", "1,2,3"]) == 0
    rows = _table(capsys.readouterr().out)
    assert rows["x0"] == "(1, 2, 3)"
    assert float(rows["f(x)"]) < 1e-10


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "unknown test function 'nope'"),
        (["booth", "--method", "sgd"], "unknown method 'sgd'"),
        (["booth", "--x0", "1,a"], "--x0 must be comma-separated numbers"),
        (["booth", "--x0", "1,2,3"], "--x0 must have 2 numbers"),
        (["booth", "--max-iter", "ten"], "--max-iter must be an integer"),
        (["booth", "--method", "gd", "--learning-rate", "-1"],
         "learning_rate must be a finite number > 0"),
        (["booth", "--method", "adam", "--momentum", "0.5"], "does not take option 'momentum'"),
        (["sphere", "--x0", "1,2,3", "--plot", "x.png"], "--plot draws 2-D functions only"),
    ],
)
def test_descend_bad_input_is_one_line_exit_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["descend", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("plainnet descend: error:")
    assert message in err
    assert not (tmp_path / "x.png").exists()


def test_descend_subprocess(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "plainnet", "descend", "booth", "--method",
                         "newton"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert _table(ok.stdout)["x"] == "(1, 3)"
    bad = subprocess.run([sys.executable, "-m", "plainnet", "descend", "nope"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1
    helped = subprocess.run([sys.executable, "-m", "plainnet", "descend", "--help"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert helped.returncode == 0 and "rosenbrock" in helped.stdout
    assert "--learning-rate" in helped.stdout
