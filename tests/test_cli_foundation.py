"""Tests of the ``plainnet`` command line (``--version``, ``--help``, ``demo``) and import cost."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import plainnet as pn

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEAVY = ("matplotlib", "sklearn", "scipy", "cupy", "pandas")


def _run(*args, cwd, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "plainnet", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def test_version(tmp_path):
    result = _run("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"plainnet {pn.__version__}"


def test_help(tmp_path):
    result = _run("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: plainnet")
    assert "--version" in result.stdout
    assert "demo" in result.stdout
    assert result.stderr == ""


def test_no_command_prints_help_and_exits_zero(tmp_path):
    result = _run(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage: plainnet" in result.stdout


def test_unknown_command_exits_with_usage_error(tmp_path):
    result = _run("no-such-command", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_help_shows_example(tmp_path):
    result = _run("demo", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--out" in result.stdout
    assert "plainnet demo --dir" in result.stdout


def test_demo_trains_prints_accuracies_and_writes_png(tmp_path):
    out = tmp_path / "c.png"
    model = tmp_path / "m.safetensors"
    result = _run("demo", "--out", str(out), "--model", str(model), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    accuracies = {}
    for kind in ("training", "held-out"):
        match = re.search(rf"^{kind} accuracy: ([0-9.]+)$", result.stdout, flags=re.MULTILINE)
        assert match, f"no '{kind} accuracy' line in:\n{result.stdout}"
        accuracies[kind] = float(match.group(1))
        assert 0.0 <= accuracies[kind] <= 1.0
    # The bar for the digits network: at least 96% held-out accuracy.
    assert accuracies["training"] >= 0.96
    assert accuracies["held-out"] >= 0.96
    import plainnet as pn

    assert pn.load(model).state_dict().keys() == {"0.weight", "0.bias", "2.weight", "2.bias"}
    # the demo says where its files are (issue 20)
    assert f"files written to {tmp_path.resolve()}: model m.safetensors, learning curve c.png" \
        in result.stdout
    data = out.read_bytes()
    assert len(data) > len(PNG_MAGIC)
    assert data.startswith(PNG_MAGIC)


def test_import_plainnet_stays_light(tmp_path):
    code = textwrap.dedent(
        f"""
        import json, sys
        import plainnet as pn
        pn.integrate([1.0], [2.0]); pn.sigmoid(0.0); pn.Neuron(2)
        heavy = {HEAVY!r}
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == []
