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
import os
import sys
from pathlib import Path

import numpy as np

from .main import CLIError

TRAINED_BY = "plainnet train"
"""The ``created_by`` value of the metadata of a model saved by ``plainnet train``."""

TASKS = ("classify", "regress")
MAX_AUTO_CLASSES = 20
"""``--task auto`` reads an integer target with at most this many distinct values as labels."""

PREDICT_BATCH = 8192


# -- CSV files -------------------------------------------------------------------------
class Table:
    """A CSV file with a header row, held as text.

    Attributes
    ----------
    path : Path
    names : list of str
        The column names (stripped).
    rows : list of list of str
        The data rows (blank rows skipped), each as long as ``names``.
    lines : list of int
        The file line of each row, for error messages.
    """

    def __init__(self, path: Path, names: list[str], rows: list[list[str]], lines: list[int]):
        self.path = path
        self.names = names
        self.rows = rows
        self.lines = lines

    @property
    def source(self) -> str:
        return repr(str(self.path))

    def __len__(self) -> int:
        return len(self.rows)

    def index(self, column: str, why: str | None = None) -> int:
        """The position of ``column``; ``CLIError`` naming the file's columns if absent.

        ``why`` says what the column is for, e.g. ``"the target"``, in the message.
        """
        return self.require([column], why)[0]

    def require(self, columns: list[str], why: str | None = None) -> list[int]:
        """The positions of ``columns``; one error naming every missing one."""
        missing = [c for c in columns if c.strip() not in self.names]
        if missing:
            s = "" if len(missing) == 1 else "s"
            reason = f" ({why})" if why else ""
            raise CLIError(
                f"{self.source} has no column{s} {', '.join(map(repr, missing))}{reason}; its "
                f"columns are: {', '.join(self.names)}"
            )
        indices = []
        for column in columns:
            matches = [j for j, name in enumerate(self.names) if name == column.strip()]
            if len(matches) > 1:
                raise CLIError(
                    f"column {column.strip()!r} appears {len(matches)} times in {self.source}"
                )
            indices.append(matches[0])
        return indices

    def texts(self, column: str, why: str | None = None) -> list[str]:
        """The stripped cells of ``column``; an empty cell is an error naming its line."""
        j = self.index(column, why)
        cells = []
        for row, line in zip(self.rows, self.lines, strict=True):
            cell = row[j].strip()
            if not cell:
                raise CLIError(f"{self.source} line {line}, column {column!r}: empty cell")
            cells.append(cell)
        return cells

    def numbers(self, columns: list[str], why: str | None = None, hint: str = "") -> np.ndarray:
        """The named columns as a float64 array ``(n_rows, len(columns))``.

        Every cell must be a finite number; the first that is not raises an error naming
        its line, column and text, followed by ``hint`` (e.g. how to leave the column out).
        """
        indices = self.require(columns, why)
        out = np.empty((len(self.rows), len(indices)), dtype=np.float64)
        for i, (row, line) in enumerate(zip(self.rows, self.lines, strict=True)):
            for k, j in enumerate(indices):
                out[i, k] = self._number(row[j], line, self.names[j], hint)
        return out

    def _number(self, cell: str, line: int, column: str, hint: str = "") -> float:
        text = cell.strip()
        where = f"{self.source} line {line}, column {column!r}"
        if not text:
            raise CLIError(f"{where}: empty cell (missing values are not supported)")
        try:
            value = float(text)
        except ValueError:
            raise CLIError(f"{where}: {cell!r} is not a number{hint}") from None
        if not math.isfinite(value):
            raise CLIError(f"{where}: {cell!r} is not a finite number")
        return value


def read_table(path: str | os.PathLike, delimiter: str = ",") -> Table:
    """Read the CSV file ``path``: a header row, then one sample per non-blank row.

    Raises ``CLIError`` for a missing or unreadable file, an empty file, a file without data
    rows or a row of the wrong length. (Duplicate column names are an error only when a
    command uses that column.)
    """
    path = Path(os.fspath(path))
    source = repr(str(path))
    if not path.exists():
        raise CLIError(f"no CSV file at {source}")
    if path.is_dir():
        raise CLIError(f"{source} is a directory, not a CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next((row for row in reader if row), None)
            if header is None:
                raise CLIError(f"{source} is empty; expected a header row and data rows")
            names = [name.strip() for name in header]
            rows, lines = [], []
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(names):
                    raise CLIError(
                        f"{source} line {reader.line_num}: {len(row)} fields, but the header "
                        f"has {len(names)} columns"
                    )
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise CLIError(f"{source} is not a UTF-8 text file; expected a CSV file") from None
    except csv.Error as err:
        raise CLIError(f"{source} is not a readable CSV file: {err}") from None
    if not rows:
        raise CLIError(f"{source} has a header but no data rows")
    return Table(path, names, rows, lines)


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
def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


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
