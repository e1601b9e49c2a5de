"""What ``plainnet train``, ``predict``, ``evaluate``, ``info`` and ``plot`` share.

* reading a CSV file with the options every command takes (`add_csv_options()`) and
  choosing the feature columns (a pandas index column is left out with a warning);
* the preprocessing of those columns (median / most-frequent imputation, standardization,
  one-hot text categories;
  [`plainnet.datasets.preprocessing.ColumnPreprocessor`][plainnet.datasets.preprocessing.ColumnPreprocessor]),
  fitted by ``train`` and stored as JSON in the model file, applied by the other commands;
* class labels: the original values (ints, floats or strings) and their indices;
* the model-file metadata written by ``plainnet train`` and checked when read back;
* output paths checked before any work (never an input file, never a device) and written
  atomically; batched prediction with a progress bar, and the regression metrics.

Everything that can go wrong because of the user's files raises `CLIError` or
``ValueError`` with a one-line message naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from ..datasets.csv import CSVOptions, Table, _as_number, read_table  # noqa: F401
from .main import CLIError

TRAINED_BY = "plainnet train"
"""The ``created_by`` value of the metadata of a model saved by ``plainnet train``."""

TASKS = ("classify", "regress")
MAX_AUTO_CLASSES = 20
"""``--task auto`` reads an integer target with at most this many distinct values as labels."""

PREDICT_BATCH = 8192


def write_csv(path: str | None, header: list[str], rows) -> None:
    """Write ``header`` and ``rows`` as CSV to ``path`` (atomically: the whole file or, on
    any error, the old one untouched), or to standard output when None."""
    if path is None:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        sys.stdout.flush()
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_file(path, buffer.getvalue().encode("utf-8"))


def write_file(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through the atomic write the model files use."""
    from ..io.files import atomic_write_bytes

    try:
        atomic_write_bytes(path, data)
    except OSError as err:
        raise CLIError(f"cannot write {str(path)!r}: {err.strerror or err}; the file there, "
                       "if any, is unchanged") from None


# -- reading CSV files -------------------------------------------------------------------
def add_csv_options(p) -> None:
    """The options every command that reads a CSV file accepts."""
    g = p.add_argument_group("reading the CSV file")
    g.add_argument("--delimiter", metavar="SEP",
                   help="field separator (default: sniffed among comma, semicolon and tab; "
                        "write 'tab' for a tab)")
    g.add_argument("--no-header", action="store_true",
                   help="the file has no header row; columns are named 0, 1, ...")
    g.add_argument("--na-values", metavar="A,B",
                   help="more cells that mean a missing value (besides empty, NA, NaN, ?, ...)")
    g.add_argument("--encoding", default="utf-8",
                   help="the file's text encoding (default utf-8), e.g. latin-1, cp1252")


def read_data(args, path: str | None = None) -> Table:
    """The CSV file ``path`` (default ``args.data``) read with the command's CSV options."""
    delimiter = args.delimiter
    if delimiter is not None:
        delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise CLIError(f"--delimiter must be one character (or 'tab'); got {args.delimiter!r}")
    na = tuple(parse_names(args.na_values)) if args.na_values else ()
    options = CSVOptions(delimiter, not args.no_header, na, args.encoding)
    table = read_table(path or args.data, options=options)
    if table.note:
        warnings.warn(table.note, UserWarning, stacklevel=2)
    return table


def parse_names(text: str | None) -> list[str]:
    """Column names from a comma-separated option, read as one CSV row: ``a,b``; the empty
    name ``""``; a name holding a comma in double quotes (``'"x,y",z'``)."""
    if text is None:
        return []
    row = next(csv.reader([text]), [])
    return [name.strip() for name in row] or [""]


def feature_columns(table: Table, target: int | None, ignore: list[int],
                    keep_index: bool = False) -> list[int]:
    """Every column but the target and the ignored ones, and but a pandas index column
    (left out with a warning, unless ``keep_index``)."""
    skip = set(ignore) | ({target} if target is not None else set())
    columns = [j for j in range(len(table.names)) if j not in skip]
    found = None if keep_index else table.index_column()
    if found is not None and found[0] in columns:
        from ..datasets.csv import index_column_warning

        warnings.warn(index_column_warning(table, *found)
                      + f" (--keep-index keeps it; --ignore "
                        f"{_option_name(table.names[found[0]])} says you meant it)",
                      UserWarning, stacklevel=2)
        columns.remove(found[0])
    counts = Counter(table.names[j] for j in columns)
    repeated = sorted(name for name, k in counts.items() if k > 1)
    if repeated:
        raise CLIError(f"{table.source} has several columns named {repeated[0]!r}; rename them "
                       "or leave them out with --ignore")
    return columns


def _option_name(name: str) -> str:
    return '""' if name == "" else (f'\'"{name}"\'' if "," in name or " " in name else name)


def fit_preprocessing(table: Table, columns: list[int]):
    """``(preprocessor, Z)``: the column preprocessing fitted on ``columns`` of ``table`` and
    the training matrix it gives."""
    from ..datasets.preprocessing import ColumnPreprocessor

    numeric, text = split_kinds(table, columns)
    pre = ColumnPreprocessor([table.names[j] for j in numeric], [table.names[j] for j in text])
    numbers, texts = _columns(table, numeric, text)
    try:
        pre.fit(numbers, texts)
        Z, _ = pre.transform(numbers, texts)
    except ValueError as err:
        raise CLIError(f"{table.source}: {err}") from None
    return pre, Z


def split_kinds(table: Table, columns: list[int]) -> tuple[list[int], list[int]]:
    """Numeric (numbers and booleans) and text columns; a text column that is mostly numbers
    (a typo?) or a different text in every row (an id?) is an error."""
    numeric, text = [], []
    for j in columns:
        if table.kind(j) != "text":
            numeric.append(j)
            continue
        _check_text_column(table, j)
        text.append(j)
    return numeric, text


def _check_text_column(table: Table, j: int) -> None:
    cells = [c for c in table.texts(j, allow_missing=True) if c is not None]
    name = table.names[j]
    numbers = [_as_number(c) is not None for c in cells]
    if sum(numbers) >= max(1, len(cells) // 2):
        bad = next(c for c, ok in zip(cells, numbers, strict=True) if not ok)
        table.numbers([j], "a feature", hint=f" (the column is mostly numbers; mark {bad!r} "
                      f"as missing with --na-values {bad!r}, or leave the column out with "
                      f"--ignore {_option_name(name)})", allow_missing=True)
    if len(cells) > 2 and len(set(cells)) == len(cells) == len(table):
        raise CLIError(f"{table.source}: column {name!r} holds a different text in every row "
                       f"(an id?), e.g. {cells[0]!r}, so it cannot be a feature; leave it out "
                       f"with --ignore {_option_name(name)}")


def _columns(table: Table, numeric: list[int], text: list[int]):
    numbers = table.numbers(numeric, "a feature", allow_missing=True) if numeric else \
        np.zeros((len(table), 0))
    texts = [table.texts(j, allow_missing=True) for j in text]
    return numbers, texts


def apply_preprocessing(table: Table, meta: dict) -> np.ndarray:
    """The model's input matrix for ``table``: its feature columns by name, preprocessed as
    stored in ``meta``; a warning counts the categories never seen in training."""
    pre = preprocessor(meta, repr(str(table.path)))
    numeric = table.require(pre.numeric, "a feature the model needs") if pre.numeric else []
    text = table.require(pre.text, "a feature the model needs") if pre.text else []
    numbers, texts = _columns(table, numeric, text)
    try:
        Z, unseen = pre.transform(numbers, texts)
    except ValueError as err:
        raise CLIError(f"{table.source}: {err}") from None
    for name, (count, example) in unseen.items():
        warnings.warn(f"column {name!r}: {count} row{'s' if count > 1 else ''} of "
                      f"{table.source} hold categories never seen in training (e.g. "
                      f"{example!r}); they are ignored (encoded as all zeros)", UserWarning,
                      stacklevel=2)
    return Z


def preprocessor(meta: dict, source: str = "the model file"):
    """The `ColumnPreprocessor` stored in ``meta`` (older files: the features'
    mean and scale)."""
    from ..datasets.preprocessing import ColumnPreprocessor

    spec = meta.get("preprocessing")
    if spec is None:  # written before preprocessing was stored
        spec = {"numeric": {"columns": meta["features"], "median": meta["feature_mean"],
                            "mean": meta["feature_mean"], "scale": meta["feature_scale"]},
                "text": {"columns": [], "most_frequent": [], "categories": []}}
    try:
        return ColumnPreprocessor.from_dict(spec)
    except ValueError as err:
        raise CLIError(f"{source}: the metadata's preprocessing is not usable: {err}") from None


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
    """The `label_key()` of each data cell, read the way the model's labels were."""
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

    Text labels, or whole numbers with at most `MAX_AUTO_CLASSES` distinct values, are
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

    from ..datasets.csv import check_regular_file

    check_regular_file(Path(path), "model file")
    model, meta = pn.io.load_with_metadata(path)
    check_trained_metadata(meta, repr(str(path)), command)
    pre = preprocessor(meta, repr(str(path)))
    n_out = output_size(model, len(pre.output_names()))
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
    if "preprocessing" not in meta:
        for key in ("feature_mean", "feature_scale"):
            values = meta.get(key)
            if not (isinstance(values, list) and len(values) == len(features)
                    and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)):
                raise CLIError(f"{source}: the metadata's {key} must be {len(features)} "
                               "finite numbers")
    if meta["task"] == "classify":
        labels = meta.get("labels")
        if not (isinstance(labels, list) and len(labels) >= 2):
            raise CLIError(f"{source}: a classifier's metadata must list at least 2 labels")
    else:
        for key in ("target_mean", "target_scale"):
            value = meta.get(key)
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise CLIError(f"{source}: the metadata's {key} must be a finite number")


def output_size(model, n_inputs: int) -> int:
    """The number of outputs of ``model`` on ``n_inputs`` inputs (one zero row through it)."""
    try:
        out = model.predict(np.zeros((1, n_inputs)))
    except (ValueError, TypeError) as err:
        raise CLIError(f"the model does not accept {n_inputs} inputs: {err}") from None
    return int(np.asarray(out).reshape(1, -1).shape[1])


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


def check_finite_outputs(outputs: np.ndarray, model_path: str) -> None:
    """A ``CLIError`` when the model gives NaN or infinite outputs (broken weights)."""
    if not np.isfinite(outputs).all():
        rows = int((~np.isfinite(outputs)).any(axis=1).sum())
        raise CLIError(f"the model {str(model_path)!r} gives NaN or infinite outputs for {rows} "
                       "rows; its weights are broken (retrain it)")


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise $p_j = e^{s_j - \\max s} / \\sum_k e^{s_k - \\max s}$."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    r"""MSE $\frac1n\sum(y - \hat y)^2$, RMSE, MAE $\frac1n\sum|y - \hat y|$ and
    $R^2 = 1 - \sum (y - \hat y)^2 / \sum (y - \bar y)^2$ (NaN for a constant ``y``)."""
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
def check_output_path(path: str | None, flag: str, inputs: tuple = ()) -> None:
    """Fail before any work when ``path`` cannot or must not be written: a directory, a
    missing or unwritable directory, something that is not a regular file (a device, a
    FIFO), or the same file as one of ``inputs`` (compared after resolving symlinks, and
    with `os.path.samefile()`)."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise CLIError(f"{flag} {path!r} is a directory; give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise CLIError(f"{flag} {path!r}: directory {str(parent)!r} does not exist")
    if target.exists() and not target.is_file():
        raise CLIError(f"{flag} {path!r} exists and is not a regular file (a device or a "
                       "pipe?); give a file name")
    for source in inputs:
        if source is not None and _same_file(target, Path(source)):
            raise CLIError(f"{flag} {path!r} is the input file {str(source)!r}; writing there "
                           "would destroy it. Give another file name")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=parent)
    except OSError as err:
        raise CLIError(f"{flag} {path!r}: cannot write in directory {str(parent)!r} "
                       f"({err.strerror or err})") from None
    os.close(fd)
    os.unlink(probe)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def plot_path(path: str | None, flag: str = "--plot") -> str | None:
    """The image file to write for ``path``: ``.png`` added when it has no suffix; an
    error naming the formats matplotlib writes when the suffix is not one of them."""
    if path is None:
        return None
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    if not suffix:
        return str(target.with_name(target.name + ".png"))
    formats = image_formats()
    if suffix not in formats:
        raise CLIError(f"{flag} {path!r}: cannot draw a .{suffix} file; use one of "
                       f"{', '.join('.' + f for f in sorted(formats))}")
    return str(path)


def image_formats() -> set[str]:
    """The file formats matplotlib can write."""
    from matplotlib.backend_bases import FigureCanvasBase

    return set(FigureCanvasBase.get_supported_filetypes())


def save_figure(fig, path: str) -> None:
    """Render ``fig`` to ``path`` (format from the suffix) through the atomic write."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=100, format=Path(path).suffix.lstrip(".").lower() or "png")
    write_file(path, buffer.getvalue())


def printable(text: str) -> str:
    """``text`` with terminal control characters escaped (``\\x1b``, ``\\x07``, ...), so
    metadata from a file cannot move the cursor, retitle or clear the terminal."""
    return "".join(ch if ch in "\n" or not _is_control(ch) else _escape(ch) for ch in text)


_BIDI = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code < 0xA0 or ch in _BIDI


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
