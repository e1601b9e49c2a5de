"""The ``plainnet`` command on the files people have, and its promises (issues 20 and 24).

Every file is written by the test; scikit-learn's own bundled CSV files are read from the
installed package. Each error is checked to be one line on stderr with exit status 2.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import plainnet as pn
from plainnet.cli import main
from plainnet.cli.plot import read_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["--epochs", "3", "--hidden", "8", "--quiet"]


def _run(args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _ok(args) -> tuple[str, str]:
    code, out, err = _run(args)
    assert code == 0, err
    assert "Traceback" not in err
    return out, err


def _fails(args, needle: str) -> str:
    """The command exits 2 with one line on stderr holding ``needle``."""
    code, _, err = _run(args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"plainnet {args[0]}: error: ")
    assert needle in lines[0], lines[0]
    return lines[0]


def _write_rows(path: Path, header, rows, delimiter=",") -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def _blobs(n=30, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    X = np.concatenate([c + rng.normal(scale=0.6, size=(n, 2)) for c in centers])
    labels = np.repeat(["red", "green", "blue"], n)
    order = rng.permutation(len(X))
    return X[order], labels[order]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    X, labels = _blobs()
    data = _write_rows(d / "blobs.csv", ["x1", "x2", "color"],
                       [[*map(repr, r), lab] for r, lab in zip(X.tolist(), labels, strict=True)])
    model = d / "blobs.safetensors"
    _ok(["train", data, "--target", "color", "--epochs", "30", "--learning-rate", "0.02",
         "--hidden", "8", "--quiet", "--out", model])
    return {"dir": d, "data": data, "model": model, "X": X, "labels": labels}


# -- nothing the user has is lost ---------------------------------------------------------
@pytest.mark.parametrize("which", ["data", "model", "symlink to data", "data via ..", "hardlink"])
def test_predict_refuses_to_write_over_an_input(trained, tmp_path, which):
    data, model = trained["data"], trained["model"]
    before = {p: p.read_bytes() for p in (data, model)}
    if which == "data":
        out = data
    elif which == "model":
        out = model
    elif which == "symlink to data":
        out = tmp_path / "link.csv"
        out.symlink_to(data)
    elif which == "data via ..":
        out = data.parent / ".." / data.parent.name / data.name
    else:
        out = tmp_path / "hard.csv"
        os.link(data, out)
    _fails(["predict", model, data, "--out", out], "is the input file")
    assert {p: p.read_bytes() for p in (data, model)} == before


def test_a_failed_write_leaves_the_previous_predictions_intact(trained, tmp_path, monkeypatch):
    """A full disk (ENOSPC, mocked) while writing: the old predictions file is unchanged and
    no temporary file is left behind."""
    out = tmp_path / "preds.csv"
    _ok(["predict", trained["model"], trained["data"], "--out", out])
    previous = out.read_bytes()
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: FullDisk(real_fdopen(fd, *a, **k)))
    _fails(["predict", trained["model"], trained["data"], "--out", out, "--proba"],
           "No space left on device")
    monkeypatch.undo()
    assert out.read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds.csv"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize("command", ["train", "predict", "evaluate"])
def test_a_fifo_as_the_csv_file_is_refused_at_once(trained, tmp_path, command):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    args = {"train": ["train", fifo, "--target", "color", "--out", tmp_path / "m.safetensors"],
            "predict": ["predict", trained["model"], fifo],
            "evaluate": ["evaluate", trained["model"], fifo]}[command]
    _fails(args, "is a FIFO (named pipe)")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_symlink_to_dev_zero_as_csv_or_output_is_refused(trained, tmp_path):
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    _fails(["predict", trained["model"], link], "is a device")
    _fails(["predict", trained["model"], trained["data"], "--out", "/dev/null"],
           "is not a regular file")


def test_train_out_into_an_unwritable_place_fails_before_training(trained, tmp_path,
                                                                  monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(pn, "fit", no_training)
    if Path("/proc/version").exists():  # a folder nobody, not even root, can create files in
        _fails(["train", trained["data"], "--target", "color", "--out",
                "/proc/model.safetensors"], "cannot write in directory '/proc'")
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.geteuid() != 0:  # root writes in read-only folders
            _fails(["train", trained["data"], "--target", "color", "--out",
                    folder / "m.safetensors"], "cannot write in directory")
        import plainnet.cli._common as common

        def denied(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(common.tempfile, "mkstemp", denied)
        _fails(["train", trained["data"], "--target", "color", "--out",
                folder / "m.safetensors"], "(Permission denied)")
    finally:
        folder.chmod(0o700)


# -- hostile input gives one line, not a traceback ----------------------------------------
def test_deeply_nested_history_json(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    _fails(["plot", "history", path, "--out", tmp_path / "h.png"], "nested too deeply")
    path.write_text(json.dumps({"loss": [[1, [2]]]}))
    _fails(["plot", "history", path, "--out", tmp_path / "h.png"], "lists of numbers")


def test_an_absurd_hidden_size_is_refused_before_allocating(trained, tmp_path):
    _fails(["train", trained["data"], "--target", "color", "--hidden", "100000000000",
            "--out", tmp_path / "m.safetensors"], "--hidden 100000000000 asks for more than")
    # fits with one input and one output, not with this file's 2 features and 3 classes
    _fails(["train", trained["data"], "--target", "color", "--hidden", "600000000",
            "--out", tmp_path / "m.safetensors"], "asks for 3,600,000,003 parameters")


def test_info_escapes_terminal_control_sequences(tmp_path):
    path = tmp_path / "evil.safetensors"
    evil = "\x1b]0;pwned\x07\x1b[2J"
    pn.save(pn.nn.Sequential(pn.nn.Linear(2, 2)), path,
            metadata={"task": evil, "features": [evil], "labels": [evil, "b"]})
    out, _ = _ok(["info", path])
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in out


def test_huge_values_train_a_finite_model(tmp_path):
    rows = [[repr(v), str(i % 2)] for i, v in enumerate(np.linspace(-1, 1, 40).tolist())]
    rows[0][0], rows[1][0] = "1e308", "-1e308"
    data = _write_rows(tmp_path / "big.csv", ["a", "y"], rows)
    model = tmp_path / "m.safetensors"
    _ok(["train", data, "--target", "y", *FAST, "--out", model])
    assert b"Infinity" not in model.read_bytes() and b"NaN" not in model.read_bytes()
    _, meta = pn.io.load_with_metadata(model)
    numeric = meta["preprocessing"]["numeric"]
    assert np.isfinite(numeric["scale"]).all() and numeric["scale"][0] > 1e307


def test_an_unterminated_quote_is_reported_at_its_line(tmp_path):
    lines = ["a,y"] + [f"{i},{i % 2}" for i in range(300)]
    lines[4] = '"3,1'
    data = tmp_path / "q.csv"
    data.write_text("\n".join(lines) + "\n")
    _fails(["train", data, "--target", "y", "--out", tmp_path / "m.safetensors"],
           "line 5: a quote")


# -- the files people have -----------------------------------------------------------------
def test_semicolons_latin1_missing_values_and_no_header(tmp_path):
    X, labels = _blobs(n=15)
    rows = [[f"{a:.3f}", f"{b:.3f}", lab] for (a, b), lab in zip(X.tolist(), labels,
                                                                   strict=True)]
    rows[0][0], rows[1][1], rows[2][0] = "", "NA", "?"
    text = "x1;x2;colour\n" + "\n".join(";".join(r) for r in rows) + "\n"
    (tmp_path / "semi.csv").write_bytes(text.replace("colour", "coulëur").encode("latin-1"))
    model = tmp_path / "m.safetensors"
    _fails(["train", tmp_path / "semi.csv", "--target", "coulëur", "--out", model],
           "--encoding latin-1")
    _ok(["train", tmp_path / "semi.csv", "--target", "coulëur", "--encoding", "latin-1",
         *FAST, "--out", model])
    _, meta = pn.io.load_with_metadata(model)
    assert meta["features"] == ["x1", "x2"]
    values = np.array([[np.nan if c in ("", "NA", "?") else float(c) for c in r[:2]]
                       for r in rows])
    np.testing.assert_allclose(meta["preprocessing"]["numeric"]["median"],
                               np.nanmedian(values, axis=0))
    headless = _write_rows(tmp_path / "nohead.tsv", None, [r[:2] + [r[2]] for r in rows[3:]],
                           delimiter="\t")
    out, _ = _ok(["train", headless, "--no-header", "--target", "2", *FAST,
                  "--out", tmp_path / "h.safetensors"])
    assert "target '2'" in out
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b,y\n1,-,0\n2,3,1\n4,5,0\n")
    _fails(["train", odd, "--target", "y", "--out", model], "--na-values '-'")
    _ok(["train", odd, "--target", "y", "--na-values", "-", *FAST, "--out", model])


def test_target_by_position_and_ignore_the_empty_name(tmp_path):
    X, labels = _blobs(n=10)
    rows = [[f"id{i}", *map(repr, r), lab] for i, (r, lab) in enumerate(
        zip(X.tolist(), labels, strict=True))]
    data = _write_rows(tmp_path / "d.csv", ["", "x1", "x2", "color"], rows)
    model = tmp_path / "m.safetensors"
    out, err = _ok(["train", data, "--target", "-1", "--ignore", "", *FAST, "--out", model])
    assert "target 'color'" in out and "warning" not in err
    assert pn.io.load_with_metadata(model)[1]["features"] == ["x1", "x2"]
    rows = [[r[1], r[0], r[2], r[3]] for r in rows]
    data = _write_rows(tmp_path / "comma.csv", ["x1", "the id, as text", "x2", "color"], rows)
    _ok(["train", data, "--target", "color", "--ignore", '"the id, as text"', *FAST,
         "--out", model])
    assert pn.io.load_with_metadata(model)[1]["features"] == ["x1", "x2"]


def test_a_pandas_index_column_is_warned_about_and_dropped(tmp_path):
    pd = pytest.importorskip("pandas")
    X, labels = _blobs(n=10)
    frame = pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "color": labels})
    frame.to_csv(tmp_path / "indexed.csv")
    model = tmp_path / "m.safetensors"
    _, err = _ok(["train", tmp_path / "indexed.csv", "--target", "color", *FAST,
                  "--out", model])
    assert "looks like an index written by pandas" in err and "--keep-index" in err
    assert pn.io.load_with_metadata(model)[1]["features"] == ["x1", "x2"]
    _, err = _ok(["train", tmp_path / "indexed.csv", "--target", "color", "--keep-index",
                  *FAST, "--out", model])
    assert "warning" not in err
    assert pn.io.load_with_metadata(model)[1]["features"] == ["", "x1", "x2"]


@pytest.mark.parametrize(("name", "n_classes"),
                         [("iris.csv", 3), ("wine_data.csv", 3), ("breast_cancer.csv", 2)])
def test_scikit_learns_bundled_csv_files_train(tmp_path, name, n_classes):
    sklearn = pytest.importorskip("sklearn")
    path = Path(sklearn.__file__).parent / "datasets" / "data" / name
    model = tmp_path / "m.safetensors"
    out, err = _ok(["train", path, "--target", "target", *FAST, "--out", model])
    assert "count header" in err
    _, meta = pn.io.load_with_metadata(model)
    assert len(meta["labels"]) == n_classes
    assert meta["features"][0] == "feature_0"


def test_text_categories_are_one_hot_and_unseen_ones_counted(tmp_path):
    rng = np.random.default_rng(3)
    n = 60
    size = rng.choice(["small", "large"], size=n)
    x = rng.normal(size=n)
    x[4] = np.nan
    y = np.where((size == "large") ^ (x > 0), "yes", "no")
    rows = [["" if np.isnan(a) else repr(a), s, t]
            for a, s, t in zip(x.tolist(), size, y, strict=True)]
    data = _write_rows(tmp_path / "train.csv", ["x", "size", "y"], rows)
    model = tmp_path / "m.safetensors"
    out, _ = _ok(["train", data, "--target", "y", "--epochs", "5", "--hidden", "4", "--quiet",
                  "--out", model])
    assert "2 features (x, size) -> 3 inputs after one-hot encoding" in out
    m, meta = pn.io.load_with_metadata(model)
    assert meta["preprocessing"]["text"]["categories"] == [["large", "small"]]
    new = _write_rows(tmp_path / "new.csv", ["size", "x"],
                      [["medium", "0.5"], ["small", ""], ["huge", "-1"]])
    code, stdout, err = _run(["predict", model, new, "--proba"])
    assert code == 0, err
    assert "column 'size': 2 rows" in err and "never seen in training (e.g. 'medium')" in err
    median = meta["preprocessing"]["numeric"]["median"][0]
    mean = meta["preprocessing"]["numeric"]["mean"][0]
    scale = meta["preprocessing"]["numeric"]["scale"][0]
    Z = np.array([[(0.5 - mean) / scale, 0, 0], [(median - mean) / scale, 0, 1],
                  [(-1 - mean) / scale, 0, 0]])
    scores = m.predict(Z)
    proba = np.exp(scores - scores.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    rows = list(csv.reader(io.StringIO(stdout)))[1:]
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows], proba, rtol=1e-4)
    out, _ = _ok(["evaluate", model, data])  # the same transform on the training file
    predicted = list(csv.reader(io.StringIO(_ok(["predict", model, data])[0])))[1:]
    correct = sum(p[0] == t for p, t in zip(predicted, y, strict=True))
    assert f"accuracy {correct / n:.4f} ({correct} of {n} rows)" in out
    info, _ = _ok(["info", model])
    assert "1 numeric (missing -> median, standardized), 1 text (missing -> most frequent, " \
           "one-hot: 2 inputs)" in info


# -- the CLI's own promises --------------------------------------------------------------
def test_plot_name_and_format_are_checked_before_training(trained, tmp_path):
    model = tmp_path / "m.safetensors"
    _fails(["train", trained["data"], "--target", "color", *FAST, "--out", model,
            "--plot", tmp_path / "curve.xyz"], "cannot draw a .xyz file")
    assert not model.exists()
    out, _ = _ok(["train", trained["data"], "--target", "color", *FAST, "--out", model,
                  "--plot", tmp_path / "curve"])
    assert f"learning curves saved to {tmp_path / 'curve.png'}" in out
    assert (tmp_path / "curve.png").read_bytes().startswith(PNG_MAGIC)


def test_a_diverging_run_fails_with_advice_in_cli_flags(trained, tmp_path):
    model = tmp_path / "m.safetensors"
    line = _fails(["train", trained["data"], "--target", "color", "--epochs", "20",
                   "--optimizer", "sgd", "--learning-rate", "1e6", "--quiet", "--out", model],
                  "training diverged")
    assert "--learning-rate" in line and "learning_rate" not in line
    assert not model.exists()


def test_descend_rosenbrock_converges_with_its_defaults(capsys):
    assert main(["descend", "rosenbrock"]) == 0
    out = capsys.readouterr().out
    assert "success        True" in out
    x = out.split("\nx ")[1].split("\n")[0].strip(" ()").split(",")
    np.testing.assert_allclose([float(v) for v in x], [1, 1], atol=1e-3)


def _default_sigint() -> None:
    """In the child: Ctrl-C as a terminal delivers it. (A test worker may run with SIGINT
    blocked or ignored, and both are inherited: the child then never sees the signal.)"""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_saves_the_best_model_so_far(trained, tmp_path):
    model = tmp_path / "m.safetensors"
    command = [sys.executable, "-m", "plainnet", "train", str(trained["data"]), "--target",
               "color", "--epochs", "100000", "--hidden", "4", "--batch-size", "90",
               "--out", str(model)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=tmp_path, preexec_fn=_default_sigint)
    try:
        for line in process.stderr:  # one progress line per epoch off a terminal
            if line.startswith("epoch 5/"):
                break
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "saved the best model so far (epoch " in err and "Traceback" not in err, err
    _, meta = pn.io.load_with_metadata(model)
    assert meta["stop_reason"] == "interrupted"
    assert len(meta["history"]["loss"]) >= 5, err
    best = int(np.argmin(meta["history"]["val_loss"])) + 1
    assert meta["best_epoch"] == best and f"(epoch {best}," in err, (err, meta["history"])


def test_no_save_on_interrupt(trained, tmp_path, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pn, "fit", interrupt)
    model = tmp_path / "m.safetensors"
    code, _, err = _run(["train", trained["data"], "--target", "color", "--out", model,
                         "--no-save-on-interrupt"])
    assert code == 130 and "nothing saved (--no-save-on-interrupt)" in err
    assert not model.exists()


def test_predict_into_a_closed_pipe_ends_quietly(trained, tmp_path):
    rows = np.tile(trained["X"], (400, 1))
    big = _write_rows(tmp_path / "big.csv", ["x1", "x2"], rows.tolist())
    command = (f"{sys.executable} -m plainnet predict {trained['model']} {big} --quiet "
               "| head -n 2")
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.splitlines()[0] == "color"
    assert result.stderr == ""
    assert result.returncode == 1  # documented: 1 when the reader went away


def test_out_with_another_extension_warns_that_it_is_safetensors(trained, tmp_path):
    _, err = _ok(["train", trained["data"], "--target", "color", *FAST,
                  "--out", tmp_path / "model.pt"])
    assert len(err.strip().splitlines()) == 1  # said once, before training, not at save
    assert "written as safetensors whatever its extension (.pt)" in err
    assert pn.load(tmp_path / "model.pt") is not None


def test_demo_writes_into_the_folder_it_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, _ = _ok(["demo", "--dir", "run", "--epochs", "2", "--quiet"])
    folder = (tmp_path / "run").resolve()
    assert f"files written to {folder}: model demo_model.safetensors, learning curve " \
           "demo_curve.png" in out
    assert sorted(p.name for p in folder.iterdir()) == ["demo_curve.png",
                                                        "demo_model.safetensors"]
    assert not list(tmp_path.glob("*.safetensors"))
    root = Path(__file__).resolve().parents[1]
    assert "*.safetensors" in (root / ".gitignore").read_text().split()


def test_plot_confusion_matrix_boundary_and_network(trained, tmp_path):
    model, data = trained["model"], trained["data"]
    for what, extra in (("confusion-matrix", [data]), ("boundary", [data]), ("network", [])):
        target = tmp_path / f"{what}.png"
        out, _ = _ok(["plot", what, model, *extra, "--out", target])
        assert str(target) in out
        assert target.read_bytes().startswith(PNG_MAGIC)
    disguised = tmp_path / "data.png"
    disguised.symlink_to(data)
    _fails(["plot", "boundary", model, data, "--out", disguised], "is the input file")


def test_patience_keeps_and_marks_the_best_epoch(trained, tmp_path):
    model = tmp_path / "m.safetensors"
    out, _ = _ok(["train", trained["data"], "--target", "color", "--epochs", "40",
                  "--learning-rate", "0.05", "--hidden", "8", "--patience", "3", "--quiet",
                  "--out", model, "--plot", tmp_path / "c.png"])
    _, meta = pn.io.load_with_metadata(model)
    val = meta["history"]["val_loss"]
    best = int(np.argmin(val)) + 1
    assert meta["best_epoch"] == best
    assert f"kept the weights of epoch {best}" in out
    history, best_epoch = read_history(str(model))
    assert best_epoch == best and history["val_loss"] == val


def test_a_model_file_from_before_stored_preprocessing_still_predicts(trained, tmp_path):
    """Older files kept only the features' mean and scale; they predict as before."""
    model, meta = pn.io.load_with_metadata(trained["model"])
    numeric = meta.pop("preprocessing")["numeric"]
    meta["feature_mean"], meta["feature_scale"] = numeric["mean"], numeric["scale"]
    old = tmp_path / "old.safetensors"
    pn.save(model, old, metadata=meta)
    new_out, _ = _ok(["predict", trained["model"], trained["data"]])
    old_out, _ = _ok(["predict", old, trained["data"]])
    assert old_out == new_out


@pytest.mark.parametrize(("flag", "sep"), [("tab", "\t"), ("|", "|")])
def test_delimiter_option_and_boolean_columns(tmp_path, flag, sep):
    X, labels = _blobs(n=12)
    rows = [[repr(a), "true" if b > 2 else "false", lab]
            for (a, b), lab in zip(X.tolist(), labels, strict=True)]
    data = _write_rows(tmp_path / "d.txt", ["x1", "high", "color"], rows, delimiter=sep)
    model = tmp_path / "m.safetensors"
    _ok(["train", data, "--target", "color", "--delimiter", flag, *FAST, "--out", model])
    _, meta = pn.io.load_with_metadata(model)
    numeric = meta["preprocessing"]["numeric"]
    assert numeric["columns"] == ["x1", "high"]
    high = np.array([r[1] == "true" for r in rows], dtype=float)
    assert numeric["mean"][1] == pytest.approx(high.mean())
    _fails(["train", data, "--target", "color", "--delimiter", "::", "--out", model],
           "--delimiter must be one character")


def test_pictures_are_written_atomically_too(trained, tmp_path, monkeypatch):
    """Every picture goes through the model files' atomic write: a failing write leaves the
    previous image whole; a bad suffix is refused before any work."""
    import plainnet.io.files as files

    target = tmp_path / "net.png"
    _ok(["plot", "network", trained["model"], "--out", target])
    previous = target.read_bytes()
    calls = []

    def full_disk(path, data):
        calls.append(Path(path))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "atomic_write_bytes", full_disk)
    for args in (["plot", "network", trained["model"], "--out", target],
                 ["descend", "booth", "--plot", target],
                 ["plot", "activations", "--out", target]):
        _fails(args, "No space left on device")
    assert calls == [target] * 3
    assert target.read_bytes() == previous
    _fails(["descend", "booth", "--plot", tmp_path / "p.xyz"], "cannot draw a .xyz file")


def test_histories_with_gaps_and_malformed_histories(tmp_path):
    """A non-finite epoch is stored as null (JSON has no NaN) and drawn as a gap; a model
    file whose history is not lists of numbers gives one line."""
    hist = tmp_path / "h.json"
    hist.write_text(json.dumps({"loss": [1.0, None, 0.5], "val_loss": [1.2, 0.9, 0.7]}))
    _ok(["plot", "history", hist, "--out", tmp_path / "h.png"])
    bad = tmp_path / "bad.safetensors"
    pn.save(pn.nn.Sequential(pn.nn.Linear(2, 2)), bad, metadata={"history": {"loss": ["x"]}})
    _fails(["plot", "history", bad, "--out", tmp_path / "b.png"], "not per-epoch lists")
