"""What ``plainnet train``, ``predict``, ``evaluate``, ``info`` and ``plot`` share.

* :class:`Table`: a CSV file read as text, so a column is parsed only when a command needs
  it (a string target column next to numeric features is fine);
* class labels: the original values (ints, floats or strings) and their indices;
* the model-file metadata written by ``plainnet train`` and checked when read back;
* standardization :math:`z = (x - \\mu) / s`, batched prediction with a progress bar, and
  the regression metrics.

Everything that can go wrong because of the user's files raises :class:`CLIError` or
``ValueError`` with a one-line message naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import numpy as np

from ..datasets.csv import Table, _as_number, read_table  # noqa: F401  (re-exported)
from .main import CLIError

TRAINED_BY = "plainnet train"
"""The ``created_by`` value of the metadata of a model saved by ``plainnet train``."""

TASKS = ("classify", "regress")
MAX_AUTO_CLASSES = 20
"""``--task auto`` reads an integer target with at most this many distinct values as labels."""

PREDICT_BATCH = 8192


def write_csv(path: str | None, header: list[str], rows) -> None:
    """Write ``header`` and ``rows`` as CSV to ``path``, or to standard output when None."""
    if path is None:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        sys.stdout.flush()
        return
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


# -- class labels ----------------------------------------------------------------------


def label_values(cells: list[str]) -> list:
    """The cells as label values: ints when every cell is a whole number, floats when every
    cell is a number, else the text itself."""
    numbers = [_as_number(c) for c in cells]
    if any(v is None for v in numbers):
        return list(cells)
    if all(v.is_integer() for v in numbers):
        return [int(v) for v in numbers]
    return numbers


def encode_labels(cells: list[str]) -> tuple[list, np.ndarray]:
    """``(labels, codes)``: the distinct label values sorted, and each cell's index in them."""
    values = label_values(cells)
    labels = sorted(set(values))
    index = {v: i for i, v in enumerate(labels)}
    return labels, np.array([index[v] for v in values], dtype=np.int64)


def label_key(value) -> tuple:
    """A key equal for equal labels however they were stored: ``1``, ``1.0`` and ``"1"`` in a
    numeric label set are the same label."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return ("n", float(value))
    return ("s", str(value))


def cell_keys(cells: list[str], labels: list) -> list[tuple]:
    """The :func:`label_key` of each data cell, read the way the model's labels were."""
    numeric = all(label_key(v)[0] == "n" for v in labels)
    keys = []
    for cell in cells:
        number = _as_number(cell) if numeric else None
        keys.append(("n", number) if number is not None else ("s", cell))
    return keys


def format_label(value) -> str:
    """A label as text for a CSV cell or a table."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def guess_task(cells: list[str]) -> tuple[str, str]:
    """``(task, reason)`` for ``--task auto``.

    Text labels, or whole numbers with at most :data:`MAX_AUTO_CLASSES` distinct values, are
    classes; any other numbers are a regression target.
    """
    values = label_values(cells)
    distinct = len(set(values))
    if values and isinstance(values[0], str):
        return "classify", "the target holds text"
    if all(isinstance(v, int) for v in values) and distinct <= MAX_AUTO_CLASSES:
        return "classify", f"the target holds {distinct} distinct whole numbers"
    if all(isinstance(v, int) for v in values):
        return "regress", (f"the target holds {distinct} distinct whole numbers, more than "
                           f"{MAX_AUTO_CLASSES}")
    return "regress", "the target holds fractional numbers"


# -- the model file's metadata ---------------------------------------------------------
def load_trained(path: str, command: str):
    """``(model, metadata)`` of a model saved by ``plainnet train``, checked for ``command``."""
    import plainnet as pn

    model, meta = pn.io.load_with_metadata(path)
    check_trained_metadata(meta, repr(str(path)), command)
    n_out = output_size(model, len(meta["features"]))
    expected = len(meta["labels"]) if meta["task"] == "classify" else 1
    if n_out != expected:
        raise CLIError(
            f"{str(path)!r}: the model has {n_out} outputs but its metadata describes "
            f"{expected} ({meta['task']})"
        )
    return model, meta


def check_trained_metadata(meta: dict, source: str, command: str) -> None:
    """Raise ``CLIError`` unless ``meta`` is what ``plainnet train`` writes."""
    if "features" not in meta or "task" not in meta:
        raise CLIError(
            f"{source} has no feature names or task in its metadata; `plainnet {command}` needs "
            "a model saved by `plainnet train`"
        )
    features = meta["features"]
    if not (isinstance(features, list) and features and all(isinstance(f, str)
                                                              for f in features)):
        raise CLIError(f"{source}: the metadata's features must be a list of column names")
    if meta["task"] not in TASKS:
        raise CLIError(f"{source}: the metadata's task must be one of {TASKS}; "
                       f"got {meta['task']!r}")
    for key in ("feature_mean", "feature_scale"):
        values = meta.get(key)
        if not (isinstance(values, list) and len(values) == len(features)
                and all(isinstance(v, (int, float)) for v in values)):
            raise CLIError(f"{source}: the metadata's {key} must be {len(features)} numbers")
    if meta["task"] == "classify":
        labels = meta.get("labels")
        if not (isinstance(labels, list) and len(labels) >= 2):
            raise CLIError(f"{source}: a classifier's metadata must list at least 2 labels")
    else:
        for key in ("target_mean", "target_scale"):
            if not isinstance(meta.get(key), (int, float)):
                raise CLIError(f"{source}: the metadata's {key} must be a number")


def output_size(model, n_features: int) -> int:
    """The number of outputs of ``model`` on ``n_features`` inputs (one zero row through it)."""
    try:
        out = model.predict(np.zeros((1, n_features)))
    except (ValueError, TypeError) as err:
        raise CLIError(f"the model does not accept {n_features} features: {err}") from None
    return int(np.asarray(out).reshape(1, -1).shape[1])


def standardize(X: np.ndarray, meta: dict) -> np.ndarray:
    """:math:`z = (x - \\mu) / s` with the training data's mean and scale from ``meta``."""
    mean = np.asarray(meta["feature_mean"], dtype=np.float64)
    scale = np.asarray(meta["feature_scale"], dtype=np.float64)
    return (X - mean) / scale


def predict_outputs(model, Z: np.ndarray, quiet: bool = False) -> np.ndarray:
    """The model's outputs on ``Z`` (float64), batch by batch, with a progress bar on a
    terminal when there are many rows."""
    n = len(Z)
    starts = range(0, n, PREDICT_BATCH)
    show = not quiet and n > PREDICT_BATCH and sys.stderr.isatty()
    if show:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="predicting", unit="batch", file=sys.stderr, leave=False)
    parts = [np.asarray(model.predict(Z[i : i + PREDICT_BATCH]), dtype=np.float64)
             for i in starts]
    return np.concatenate(parts)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise :math:`p_j = e^{s_j - \\max s} / \\sum_k e^{s_k - \\max s}`."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    r"""MSE :math:`\frac1n\sum(y - \hat y)^2`, RMSE, MAE :math:`\frac1n\sum|y - \hat y|` and
    :math:`R^2 = 1 - \sum (y - \hat y)^2 / \sum (y - \bar y)^2` (NaN for a constant ``y``)."""
    residual = y - pred
    mse = float(np.mean(residual**2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual**2)) / ss_tot if ss_tot > 0 else math.nan
    return {"mse": mse, "rmse": math.sqrt(mse), "mae": float(np.mean(np.abs(residual))),
            "r2": r2}


def format_regression(metrics: dict[str, float]) -> str:
    return (f"MSE {metrics['mse']:.6g}  RMSE {metrics['rmse']:.6g}  MAE {metrics['mae']:.6g}  "
            f"R^2 {metrics['r2']:.4f}")


# -- option checks ---------------------------------------------------------------------
def check_output_path(path: str | None, flag: str) -> None:
    """Fail before long work when ``path`` cannot be written (its directory is missing)."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise CLIError(f"{flag} {path!r} is a directory; give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise CLIError(f"{flag} {path!r}: directory {str(parent)!r} does not exist")


def save_figure(fig, path: str) -> None:
    """Render ``fig`` to ``path`` (format from the suffix, PNG by default)."""
    check_output_path(path, "--out")
    fig.savefig(path, dpi=100)
