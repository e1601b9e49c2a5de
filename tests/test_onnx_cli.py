"""``plainnet export MODEL OUT.onnx``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import plainnet as pn
from plainnet.cli import main

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
X = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_export_a_model_file(tmp_path, capsys):
    model = pn.nn.Sequential(pn.nn.Linear(4, 5), pn.nn.Tanh(), pn.nn.Linear(5, 2))
    pn.save(model, tmp_path / "m.safetensors")
    assert main(["export", str(tmp_path / "m.safetensors"), str(tmp_path / "m.onnx")]) == 0
    assert "input (batch, 4) of float32" in capsys.readouterr().out
    np.testing.assert_allclose(_run(tmp_path / "m.onnx", X), model.predict(X), rtol=2e-5,
                               atol=2e-6)


def test_export_with_an_input_shape(tmp_path):
    model = pn.nn.Sequential(pn.nn.Flatten(), pn.nn.Linear(6, 3))
    pn.save(model, tmp_path / "m.safetensors")
    out = tmp_path / "m.onnx"
    assert main(["export", str(tmp_path / "m.safetensors"), str(out), "--input-shape", "2,3",
                 "--opset", "18"]) == 0
    x = np.random.default_rng(1).normal(size=(5, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(_run(out, x), model.predict(x), rtol=2e-5, atol=2e-6)


def test_export_an_estimator_file(tmp_path):
    from plainnet.estimators import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier((5,), max_iter=5, random_state=0).fit(X, X[:, 0] > 0)
    pn.save(est, tmp_path / "est.safetensors")
    out = tmp_path / "est.onnx"
    assert main(["export", str(tmp_path / "est.safetensors"), str(out)]) == 0
    np.testing.assert_allclose(_run(out, X.astype(est.model_.dtype)), est.predict_proba(X),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "cannot tell the input shape of a model starting with"),
        (["--input-shape", "a,b"], "--input-shape must be sizes"),
        (["--input-shape", "0"], "positive"),
    ],
)
def test_errors_are_one_line(tmp_path, capsys, extra, message):
    pn.save(pn.nn.Sequential(pn.nn.ReLU()), tmp_path / "m.safetensors")
    code = main(["export", str(tmp_path / "m.safetensors"), str(tmp_path / "m.onnx"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "m.onnx").exists()


def test_the_model_file_is_never_overwritten(tmp_path, capsys):
    path = tmp_path / "m.safetensors"
    pn.save(pn.nn.Linear(4, 2), path)
    before = path.read_bytes()
    assert main(["export", str(path), str(path)]) == 2
    assert "is the model file itself" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_custom_classes_need_trust(tmp_path, monkeypatch, capsys):
    pkg = tmp_path / "lib"
    pkg.mkdir()
    (pkg / "cli_models.py").write_text(
        "import plainnet as pn\n\n"
        "class Net(pn.nn.Module):\n"
        "    def __init__(self, n):\n"
        "        super().__init__()\n"
        "        self.lin = pn.nn.Linear(n, 2)\n\n"
        "    def forward(self, x):\n"
        "        return pn.tanh(self.lin(x))\n"
    )
    monkeypatch.syspath_prepend(str(pkg))
    import cli_models

    model = cli_models.Net(4)
    pn.save(model, tmp_path / "m.safetensors")
    out = tmp_path / "m.onnx"
    assert main(["export", str(tmp_path / "m.safetensors"), str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown module class 'Net'" in err and "--trust-classes MODULE" in err
    assert main(["export", str(tmp_path / "m.safetensors"), str(out),
                 "--trust-classes", "cli_models"]) == 0
    np.testing.assert_allclose(_run(out, X), model.predict(X), rtol=2e-5, atol=2e-6)


def _csv(path, rows, header):
    path.write_text(header + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n")


@pytest.mark.parametrize("task", ["classify", "regress"])
def test_a_trained_model_exports_with_its_preprocessing(tmp_path, capsys, task):
    import csv
    import json

    import onnx

    rng = np.random.default_rng(0)
    feats = rng.normal(size=(80, 3)) * [1, 10, 100] + [0, 5, 50]
    target = (feats[:, 0] > 0).astype(int) if task == "classify" else feats @ [1.0, 0.5, 0.01]
    _csv(tmp_path / "train.csv", [[*r, t] for r, t in zip(feats, target, strict=True)],
         "a,b,c,y")
    test_rows = feats[:6].copy()
    test_rows[2, 1] = np.nan  # a missing value: filled with the training median
    _csv(tmp_path / "test.csv", [["" if np.isnan(v) else v for v in r] for r in test_rows],
         "a,b,c")
    model = tmp_path / "m.safetensors"
    assert main(["train", str(tmp_path / "train.csv"), "--target", "y", "--epochs", "3",
                 "--out", str(model)]) == 0
    out = tmp_path / "m.onnx"
    assert main(["export", str(model), str(out)]) == 0
    args = ["--proba"] if task == "classify" else []
    assert main(["predict", str(model), str(tmp_path / "test.csv"), "--out",
                 str(tmp_path / "p.csv"), *args]) == 0
    capsys.readouterr()
    with open(tmp_path / "p.csv") as f:
        rows = list(csv.reader(f))[1:]
    got = _run(out, test_rows.astype(np.float32))
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(out)).metadata_props}
    assert meta["plainnet.features"] == ["a", "b", "c"]
    if task == "classify":
        expected = np.array([[float(v) for v in r[1:]] for r in rows])
        np.testing.assert_allclose(got, expected, atol=2e-6)
        assert meta["plainnet.labels"] == [0, 1]
    else:
        expected = np.array([float(r[0]) for r in rows])
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_text_columns_need_raw(tmp_path, capsys):
    rows = [[i % 3, ["red", "green"][i % 2], i % 2] for i in range(40)]
    _csv(tmp_path / "t.csv", rows, "x,color,y")
    model = tmp_path / "m.safetensors"
    assert main(["train", str(tmp_path / "t.csv"), "--target", "y", "--epochs", "2",
                 "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["export", str(model), str(tmp_path / "m.onnx")]) == 2
    assert "--raw" in capsys.readouterr().err
    assert main(["export", str(model), str(tmp_path / "m.onnx"), "--raw"]) == 0
    assert (tmp_path / "m.onnx").exists()
