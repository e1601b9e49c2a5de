"""Tests of ``plainnet train``, ``predict``, ``evaluate``, ``info`` and ``plot``.

Most run ``main([...])`` in-process; a few run ``python -m plainnet`` as a user would. The
data are small synthetic CSV files: three well-separated blobs with text labels, and a
linear regression target.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, mean_absolute_error, mean_squared_error, r2_score

import plainnet as pn
from plainnet.cli import main
from plainnet.cli._common import guess_task

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COLORS = ["red", "green", "blue"]
CENTERS = np.array([[0.0, 0.0], [4.0, 4.0], [-4.0, 4.0]])
DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


# -- data and helpers -------------------------------------------------------------------
def _write_csv(path: Path, header: list[str], rows) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read_csv(path_or_text) -> tuple[list[str], list[list[str]]]:
    text = Path(path_or_text).read_text() if isinstance(path_or_text, Path) else path_or_text
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def _blobs(n_per_class: int = 40, seed: int = 0):
    """Three separated 2-D blobs plus a pure-noise column; text labels."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([c + rng.normal(scale=0.7, size=(n_per_class, 2)) for c in CENTERS])
    noise = rng.normal(loc=10.0, scale=3.0, size=(len(X), 1))
    X = np.hstack([X, noise])
    labels = np.repeat(COLORS, n_per_class)
    order = rng.permutation(len(X))
    return X[order], labels[order]


def _linear(n: int = 200, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [1.0, 10.0] + [0.0, 50.0]
    y = 3.0 * X[:, 0] - 0.2 * X[:, 1] + 100.0 + rng.normal(scale=0.1, size=n)
    return X, y


def _run_main(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _ok(args) -> str:
    code, out, err = _run_main(args)
    assert code == 0, err
    assert "Traceback" not in err
    return out


def _standardized(X: np.ndarray) -> np.ndarray:
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _subprocess(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plainnet", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Both data files and a classifier and a regressor trained on them, once per module."""
    d = tmp_path_factory.mktemp("cli")
    X, labels = _blobs()
    _write_csv(d / "blobs.csv", ["x1", "x2", "noise", "color"],
               [[*map(repr, row), lab] for row, lab in zip(X.tolist(), labels, strict=True)])
    Xr, y = _linear()
    _write_csv(d / "linear.csv", ["a", "b", "y"],
               [[*map(repr, row), repr(t)] for row, t in zip(Xr.tolist(), y.tolist(), strict=True)])
    clf_out = _ok(["train", d / "blobs.csv", "--target", "color", "--epochs", "40",
                   "--learning-rate", "0.01", "--hidden", "16", "--quiet",
                   "--out", d / "blobs.safetensors", "--plot", d / "curve.png"])
    reg_out = _ok(["train", d / "linear.csv", "--target", "y", "--epochs", "60",
                   "--learning-rate", "0.01", "--hidden", "16", "--quiet",
                   "--out", d / "linear.safetensors"])
    return {"dir": d, "X": X, "labels": labels, "Xr": Xr, "y": y,
            "clf_out": clf_out, "reg_out": reg_out}


# -- train ------------------------------------------------------------------------------
def test_train_classifier_keeps_features_labels_and_standardization(work):
    d = work["dir"]
    assert "task: classify" in work["clf_out"]
    assert f"model saved to {d / 'blobs.safetensors'}" in work["clf_out"]
    model, meta = pn.io.load_with_metadata(d / "blobs.safetensors")
    assert meta["task"] == "classify"
    assert meta["target"] == "color"
    assert meta["features"] == ["x1", "x2", "noise"]
    assert meta["labels"] == sorted(COLORS)
    numeric = meta["preprocessing"]["numeric"]
    assert numeric["columns"] == ["x1", "x2", "noise"]
    np.testing.assert_allclose(numeric["mean"], work["X"].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(numeric["scale"], work["X"].std(axis=0), rtol=1e-12)
    assert meta["preprocessing"]["text"]["columns"] == []
    assert len(meta["history"]["loss"]) == 40
    assert len(meta["history"]["val_loss"]) == 40
    assert meta["history"]["loss"][-1] < meta["history"]["loss"][0]
    assert model.predict(np.zeros((1, 3))).shape == (1, 3)


def test_train_prints_accuracy_and_draws_curve(work):
    match = re.search(r"accuracy on .* \(all 120 rows\): ([0-9.]+)", work["clf_out"])
    assert match, work["clf_out"]
    assert float(match.group(1)) >= 0.95
    assert (work["dir"] / "curve.png").read_bytes().startswith(PNG_MAGIC)


def test_train_regressor_standardizes_the_target(work):
    _, meta = pn.io.load_with_metadata(work["dir"] / "linear.safetensors")
    assert meta["task"] == "regress"
    assert "labels" not in meta
    assert meta["target_mean"] == pytest.approx(work["y"].mean(), rel=1e-12)
    assert meta["target_scale"] == pytest.approx(work["y"].std(), rel=1e-12)
    match = re.search(r"R\^2 ([0-9.]+)", work["reg_out"])
    assert match and float(match.group(1)) > 0.95, work["reg_out"]


def test_same_seed_gives_the_same_model(tmp_path, work):
    data = work["dir"] / "blobs.csv"
    for name in ("a", "b"):
        _ok(["train", data, "--target", "color", "--epochs", "3", "--hidden", "8", "--quiet",
             "--seed", "7", "--out", tmp_path / f"{name}.safetensors"])
    a = pn.load(tmp_path / "a.safetensors").state_dict()
    b = pn.load(tmp_path / "b.safetensors").state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_ignored_columns_are_not_features(tmp_path, work):
    X, labels = work["X"], work["labels"]
    data = _write_csv(tmp_path / "ids.csv", ["id", "x1", "x2", "noise", "color"],
                      [[f"row{i}", *map(repr, r), lab]
                       for i, (r, lab) in enumerate(zip(X.tolist(), labels, strict=True))])
    code, _, err = _run_main(["train", data, "--target", "color", "--quiet"])
    assert code == 2
    assert "column 'id' holds a different text in every row (an id?)" in err
    assert "--ignore id" in err
    _ok(["train", data, "--target", "color", "--ignore", "id", "--epochs", "2", "--quiet",
         "--out", tmp_path / "m.safetensors"])
    _, meta = pn.io.load_with_metadata(tmp_path / "m.safetensors")
    assert meta["features"] == ["x1", "x2", "noise"]
    assert meta["training"]["ignored"] == ["id"]


@pytest.mark.parametrize(
    ("cells", "task"),
    [
        (["a", "b", "a"], "classify"),
        (["0", "1", "2", "1"], "classify"),
        (["1.0", "2.0"], "classify"),
        (["0.5", "1.5", "2.0"], "regress"),
        ([str(i) for i in range(30)], "regress"),
    ],
)
def test_auto_task(cells, task):
    assert guess_task(cells)[0] == task


def test_integer_labels_come_back_as_integers(tmp_path):
    X, labels = _blobs(n_per_class=15)
    codes = [str(COLORS.index(lab) + 1) for lab in labels]  # 1, 2, 3
    data = _write_csv(tmp_path / "ints.csv", ["x1", "x2", "noise", "k"],
                      [[*row, k] for row, k in zip(X.tolist(), codes, strict=True)])
    _ok(["train", data, "--target", "k", "--epochs", "30", "--learning-rate", "0.01",
         "--hidden", "8", "--quiet", "--out", tmp_path / "m.safetensors"])
    _, meta = pn.io.load_with_metadata(tmp_path / "m.safetensors")
    assert meta["labels"] == [1, 2, 3]
    _ok(["predict", tmp_path / "m.safetensors", data, "--out", tmp_path / "p.csv"])
    header, rows = _read_csv(tmp_path / "p.csv")
    assert header == ["k"]
    assert {r[0] for r in rows} <= {"1", "2", "3"}
    assert np.mean([r[0] == k for r, k in zip(rows, codes, strict=True)]) >= 0.9


# -- predict ----------------------------------------------------------------------------
def _expected_labels(work) -> list[str]:
    model = pn.load(work["dir"] / "blobs.safetensors")
    scores = model.predict(_standardized(work["X"]))
    return [sorted(COLORS)[i] for i in scores.argmax(axis=1)]


def test_predict_on_the_training_file_writes_the_original_labels(work):
    d = work["dir"]
    out = _ok(["predict", d / "blobs.safetensors", d / "blobs.csv", "--out", d / "p.csv"])
    assert "120 predictions written" in out
    header, rows = _read_csv(d / "p.csv")
    assert header == ["color"]
    predicted = [r[0] for r in rows]
    assert predicted == _expected_labels(work)
    assert np.mean(np.array(predicted) == work["labels"]) >= 0.95


def test_predict_to_stdout_with_probabilities(work):
    d = work["dir"]
    out = _ok(["predict", d / "blobs.safetensors", d / "blobs.csv", "--proba"])
    header, rows = _read_csv(out)
    assert header == ["color", "p(blue)", "p(green)", "p(red)"]
    proba = np.array([[float(v) for v in r[1:]] for r in rows])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert [sorted(COLORS)[i] for i in proba.argmax(axis=1)] == [r[0] for r in rows]


def test_predict_picks_feature_columns_by_name(tmp_path, work):
    """Columns in another order, no target, an extra id column: the same predictions."""
    X = work["X"]
    data = _write_csv(tmp_path / "new.csv", ["id", "noise", "x2", "x1"],
                      [[f"r{i}", repr(r[2]), repr(r[1]), repr(r[0])]
                       for i, r in enumerate(X.tolist())])
    out = _ok(["predict", work["dir"] / "blobs.safetensors", data, "--keep", "id"])
    header, rows = _read_csv(out)
    assert header == ["id", "color"]
    assert [r[0] for r in rows] == [f"r{i}" for i in range(len(X))]
    assert [r[1] for r in rows] == _expected_labels(work)


def test_predict_keeping_the_target_renames_the_prediction(work):
    d = work["dir"]
    header, rows = _read_csv(_ok(["predict", d / "blobs.safetensors", d / "blobs.csv",
                                  "--keep", "color"]))
    assert header == ["color", "predicted_color"]
    assert [r[0] for r in rows] == list(work["labels"])


def test_predict_regression_values(work):
    d = work["dir"]
    header, rows = _read_csv(_ok(["predict", d / "linear.safetensors", d / "linear.csv"]))
    assert header == ["y"]
    values = np.array([float(r[0]) for r in rows])
    model = pn.load(d / "linear.safetensors")
    expected = (model.predict(_standardized(work["Xr"]))[:, 0] * work["y"].std()
                + work["y"].mean())
    np.testing.assert_allclose(values, expected, rtol=1e-5)
    assert r2_score(work["y"], values) > 0.95


# -- evaluate ---------------------------------------------------------------------------
def test_evaluate_classifier_accuracy_and_confusion_matrix(work):
    d = work["dir"]
    out = _ok(["evaluate", d / "blobs.safetensors", d / "blobs.csv", "--target", "color"])
    predicted = _expected_labels(work)
    correct = sum(p == t for p, t in zip(predicted, work["labels"], strict=True))
    assert f"accuracy {correct / 120:.4f} ({correct} of 120 rows)" in out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("confusion matrix"))
    assert lines[start + 1].split() == sorted(COLORS)
    table = [line.split() for line in lines[start + 2 : start + 5]]
    assert [row[0] for row in table] == sorted(COLORS)
    counts = np.array([[int(v) for v in row[1:]] for row in table])
    expected = confusion_matrix(work["labels"], predicted, labels=sorted(COLORS))
    np.testing.assert_array_equal(counts, expected)


def test_evaluate_counts_unseen_labels_as_wrong(tmp_path, work):
    X = work["X"][:10]
    data = _write_csv(tmp_path / "odd.csv", ["x1", "x2", "noise", "color"],
                      [[*map(repr, r), "purple"] for r in X.tolist()])
    out = _ok(["evaluate", work["dir"] / "blobs.safetensors", data])
    assert "accuracy 0.0000 (0 of 10 rows)" in out
    assert "'purple'" in out
    assert re.search(r"^purple\s+\d+\s+\d+\s+\d+$", out, flags=re.M)


def test_evaluate_regressor_metrics_match_sklearn(work):
    d = work["dir"]
    out = _ok(["evaluate", d / "linear.safetensors", d / "linear.csv", "--target", "y"])
    metrics = dict(re.findall(r"^(MSE|RMSE|MAE|R\^2)\s+(\S+)$", out, flags=re.M))
    _, rows = _read_csv(_ok(["predict", d / "linear.safetensors", d / "linear.csv"]))
    pred = np.array([float(r[0]) for r in rows])
    y = work["y"]
    assert float(metrics["MSE"]) == pytest.approx(mean_squared_error(y, pred), rel=1e-4)
    assert float(metrics["RMSE"]) == pytest.approx(np.sqrt(mean_squared_error(y, pred)),
                                                   rel=1e-4)
    assert float(metrics["MAE"]) == pytest.approx(mean_absolute_error(y, pred), rel=1e-4)
    assert float(metrics["R^2"]) == pytest.approx(r2_score(y, pred), abs=1e-5)


# -- info and plot ------------------------------------------------------------------------
def test_info_describes_the_model(work):
    path = work["dir"] / "blobs.safetensors"
    out = _ok(["info", path])
    model = pn.load(path)
    n_params = sum(p.data.size for p in model.parameters())
    assert re.search(rf"^parameters\s+{n_params:,}$", out, flags=re.M)
    assert re.search(r"^dtype\s+float32$", out, flags=re.M)
    assert re.search(r"^task\s+classify$", out, flags=re.M)
    assert re.search(r"^features\s+3: x1, x2, noise$", out, flags=re.M)
    assert re.search(r"^labels\s+3: blue, green, red$", out, flags=re.M)
    assert f"plainnet {pn.__version__}" in out
    assert repr(model) in out


def test_info_json(work):
    info = json.loads(_ok(["info", work["dir"] / "linear.safetensors", "--json"]))
    assert info["metadata"]["features"] == ["a", "b"]
    assert info["architecture"]["class"] == "Sequential"
    assert info["plainnet_version"] == pn.__version__


def test_info_on_a_model_saved_without_metadata(tmp_path):
    path = tmp_path / "plain.safetensors"
    pn.save(pn.nn.Sequential(pn.nn.Linear(2, 3)), path)
    out = _ok(["info", path])
    assert re.search(r"^parameters\s+9$", out, flags=re.M)
    assert "not recorded" in out


def test_plot_history_from_the_model_and_from_json(tmp_path, work):
    _ok(["plot", "history", work["dir"] / "blobs.safetensors", "--out", tmp_path / "h.png"])
    assert (tmp_path / "h.png").read_bytes().startswith(PNG_MAGIC)
    hist = tmp_path / "h.json"
    hist.write_text(json.dumps({"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6]}))
    _ok(["plot", "history", hist, "--out", tmp_path / "j.png", "--metrics", "loss"])
    assert (tmp_path / "j.png").stat().st_size > 1000


def test_plot_activations(tmp_path):
    out = _ok(["plot", "activations", "--names", "sigmoid,relu", "--out", tmp_path / "a.png"])
    assert str(tmp_path / "a.png") in out
    assert (tmp_path / "a.png").read_bytes().startswith(PNG_MAGIC)


# -- bad input ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad(work):
    d = work["dir"]
    _write_csv(d / "text_cell.csv", ["x1", "x2", "noise", "color"],
               [["1", "2", "3", "red"], ["1", "two", "3", "blue"]])
    _write_csv(d / "ragged.csv", ["x1", "x2", "color"], [["1", "2", "red"], ["1", "2"]])
    _write_csv(d / "text_y.csv", ["a", "b", "y"], [["1", "2", "3"], ["1", "2", "high"]])
    _write_csv(d / "one_class.csv", ["x1", "color"], [["1", "red"], ["2", "red"]])
    _write_csv(d / "no_x1.csv", ["x2", "noise", "color"], [["1", "2", "red"]])
    _write_csv(d / "header_only.csv", ["x1", "color"], [])
    (d / "empty.csv").write_text("")
    (d / "text.safetensors").write_text("this is not a model\n")
    (d / "pickle.safetensors").write_bytes(b"\x80\x04\x95\x10\x00\x00\x00\x00")
    pn.save(pn.nn.Sequential(pn.nn.Linear(3, 3)), d / "bare.safetensors")
    (d / "broken.json").write_text("{not json")
    return d


BAD_CASES = {
    "missing data file": (["train", "{d}/nope.csv", "--target", "color"], "nope.csv"),
    "missing target": (["train", "{d}/blobs.csv", "--target", "colour"], "'colour'"),
    "non-numeric cell": (["train", "{d}/text_cell.csv", "--target", "color"], "line 3"),
    "ragged row": (["train", "{d}/ragged.csv", "--target", "color"], "line 3"),
    "empty file": (["train", "{d}/empty.csv", "--target", "color"], "empty"),
    "header only": (["train", "{d}/header_only.csv", "--target", "color"], "no data rows"),
    "one class": (["train", "{d}/one_class.csv", "--target", "color"], "at least 2"),
    "text target for regression": (
        ["train", "{d}/blobs.csv", "--target", "color", "--task", "regress"], "not a number"),
    "ignore a missing column": (
        ["train", "{d}/blobs.csv", "--target", "color", "--ignore", "idx"], "'idx'"),
    "bad hidden": (["train", "{d}/blobs.csv", "--target", "color", "--hidden", "8,x"], "--hidden"),
    "bad activation": (
        ["train", "{d}/blobs.csv", "--target", "color", "--activation", "swish"], "swish"),
    "zero epochs": (["train", "{d}/blobs.csv", "--target", "color", "--epochs", "0"], "--epochs"),
    "out dir missing": (
        ["train", "{d}/blobs.csv", "--target", "color", "--out", "{d}/no/m.safetensors"],
        "does not exist"),
    "model is text": (["predict", "{d}/text.safetensors", "{d}/blobs.csv"], "text file"),
    "model is a pickle": (["predict", "{d}/pickle.safetensors", "{d}/blobs.csv"], "pickle"),
    "model is the CSV": (["predict", "{d}/blobs.csv", "{d}/blobs.csv"], "not a safetensors"),
    "missing model": (["predict", "{d}/nope.safetensors", "{d}/blobs.csv"], "nope.safetensors"),
    "model without metadata": (["predict", "{d}/bare.safetensors", "{d}/blobs.csv"],
                               "plainnet train"),
    "missing feature column": (["predict", "{d}/blobs.safetensors", "{d}/no_x1.csv"], "'x1'"),
    "non-numeric feature": (["predict", "{d}/blobs.safetensors", "{d}/text_cell.csv"], "'two'"),
    "proba for regressor": (["predict", "{d}/linear.safetensors", "{d}/linear.csv", "--proba"],
                            "--proba"),
    "evaluate missing target": (
        ["evaluate", "{d}/blobs.safetensors", "{d}/blobs.csv", "--target", "nope"], "'nope'"),
    "evaluate text target of regressor": (
        ["evaluate", "{d}/linear.safetensors", "{d}/text_y.csv"], "'high'"),
    "info missing": (["info", "{d}/nope.safetensors"], "nope.safetensors"),
    "info not a model": (["info", "{d}/text.safetensors"], "text file"),
    "history without history": (["plot", "history", "{d}/bare.safetensors"], "no training"),
    "history bad json": (["plot", "history", "{d}/broken.json"], "not valid JSON"),
    "unknown activation plot": (["plot", "activations", "--names", "swish"], "swish"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_gives_one_line_and_exit_code_2(case, bad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default --out files land here
    args, needle = BAD_CASES[case]
    args = [a.format(d=bad) for a in args]
    code, _, err = _run_main(args)
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"plainnet {args[0]}: error: ")
    assert needle in lines[0]


def test_bad_input_in_a_real_process(tmp_path, work):
    result = _subprocess("predict", work["dir"] / "blobs.safetensors", tmp_path / "none.csv",
                         cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"plainnet predict: error: no CSV file at {str(tmp_path / 'none.csv')!r}")


# -- the command as a user runs it ---------------------------------------------------------
def test_train_and_predict_in_a_real_process(tmp_path, work):
    data = work["dir"] / "blobs.csv"
    model = tmp_path / "m.safetensors"
    result = _subprocess("train", data, "--target", "color", "--epochs", "20", "--hidden", "8",
                         "--learning-rate", "0.01", "--out", model, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "epoch 20/20" in result.stderr  # progress, one line per epoch off a terminal
    result = _subprocess("predict", model, data, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, rows = _read_csv(result.stdout)
    assert header == ["color"] and len(rows) == 120
    assert np.mean(np.array([r[0] for r in rows]) == work["labels"]) >= 0.9


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "info", "plot"])
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: plainnet {command}")
    assert "example" in out
    assert f"  plainnet {command} " in out


@pytest.mark.parametrize("what", ["activations", "history", "confusion-matrix", "boundary",
                                  "network"])
def test_plot_subcommands_have_help_with_an_example(what, capsys):
    with pytest.raises(SystemExit):
        main(["plot", what, "--help"])
    assert f"  plainnet plot {what}" in capsys.readouterr().out


# -- docs/cli.md --------------------------------------------------------------------------
def _doc_blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_documented_session_runs(tmp_path, monkeypatch):
    """The page's Python blocks write the data; each `plainnet` line of its bash blocks runs."""
    monkeypatch.chdir(tmp_path)
    python_blocks, bash_blocks = _doc_blocks("python"), _doc_blocks("bash")
    assert python_blocks and len(bash_blocks) >= 4
    for block in python_blocks:
        exec(compile(block, f"{DOC.name}[python]", "exec"), {})
    commands = [line.strip() for block in bash_blocks for line in block.splitlines()
                if line.strip() and not line.strip().startswith("#")]
    assert {shlex.split(c)[1] for c in commands} >= {"train", "predict", "evaluate", "info",
                                                     "plot"}
    for command in commands:
        words = shlex.split(command, comments=True)
        assert words[0] == "plainnet", command
        if "--help" in words:
            continue
        code, _, err = _run_main(words[1:])
        assert code == 0, f"{command}: {err}"
