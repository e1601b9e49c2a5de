"""Tables from CSV files: ``X, y, feature_names = load_csv(path, target)``.

:func:`read_table` reads a file with a header row as text (:class:`Table`), so a column is
parsed only when it is needed: a text label column next to numeric features is fine. Every
error names the file, the line, the column and the cell.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np


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
        """The position of ``column``; ``ValueError`` naming the file's columns if absent.

        ``why`` says what the column is for, e.g. ``"the target"``, in the message.
        """
        return self.require([column], why)[0]

    def require(self, columns: list[str], why: str | None = None) -> list[int]:
        """The positions of ``columns``; one error naming every missing one."""
        missing = [c for c in columns if c.strip() not in self.names]
        if missing:
            s = "" if len(missing) == 1 else "s"
            reason = f" ({why})" if why else ""
            raise ValueError(
                f"{self.source} has no column{s} {', '.join(map(repr, missing))}{reason}; its "
                f"columns are: {', '.join(self.names)}"
            )
        indices = []
        for column in columns:
            matches = [j for j, name in enumerate(self.names) if name == column.strip()]
            if len(matches) > 1:
                raise ValueError(
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
                raise ValueError(f"{self.source} line {line}, column {column!r}: empty cell")
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
            raise ValueError(f"{where}: empty cell (missing values are not supported)")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{where}: {cell!r} is not a number{hint}") from None
        if not math.isfinite(value):
            raise ValueError(f"{where}: {cell!r} is not a finite number")
        return value


def read_table(path: str | os.PathLike, delimiter: str = ",") -> Table:
    """Read the CSV file ``path``: a header row, then one sample per non-blank row.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for an unreadable or
    empty file, a file without data rows or a row of the wrong length. (Duplicate column
    names are an error only when that column is used.)
    """
    path = Path(os.fspath(path))
    source = repr(str(path))
    if not path.exists():
        raise FileNotFoundError(f"no CSV file at {source}")
    if path.is_dir():
        raise ValueError(f"{source} is a directory, not a CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next((row for row in reader if row), None)
            if header is None:
                raise ValueError(f"{source} is empty; expected a header row and data rows")
            names = [name.strip() for name in header]
            rows, lines = [], []
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(names):
                    raise ValueError(
                        f"{source} line {reader.line_num}: {len(row)} fields, but the header "
                        f"has {len(names)} columns"
                    )
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise ValueError(f"{source} is not a UTF-8 text file; expected a CSV file") from None
    except csv.Error as err:
        raise ValueError(f"{source} is not a readable CSV file: {err}") from None
    if not rows:
        raise ValueError(f"{source} has a header but no data rows")
    return Table(path, names, rows, lines)


def load_csv(
    path: str | os.PathLike,
    target: str | int,
    *,
    features: list[str] | None = None,
    delimiter: str = ",",
    dtype=np.float64,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a CSV file with a header row into ``(X, y, feature_names)``.

    Parameters
    ----------
    path : str or PathLike
        The file. The first row names the columns; every other non-blank row is a sample.
    target : str or int
        The column holding ``y``: its name, or its position (negative counts from the end).
    features : list of str, optional
        The columns of ``X`` in this order (default: every column but the target).
    delimiter : str
        The field separator.
    dtype : float dtype
        The dtype of ``X`` (float64 by default).

    Returns
    -------
    X : ndarray (n_rows, n_features)
    y : ndarray (n_rows,)
        int64 when every target value is a whole number (class labels), float64 when every
        value is a number, else the text labels (a string array).
    feature_names : list of str

    Every feature cell must be a finite number (``float()`` syntax). A missing file raises
    ``FileNotFoundError``; an empty file, a missing column, a row of the wrong length, or an
    empty or non-numeric cell raise ``ValueError`` naming the line, the column and the value.
    """
    table = read_table(path, delimiter)
    names = table.names
    target_name = names[_target_index(names, target, table.source)]
    if features is None:
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"{table.source} has duplicate column names {duplicates}")
        features = [n for n in names if n != target_name]
    elif target_name in [f.strip() for f in features]:
        raise ValueError(f"the target column {target_name!r} is also among features")
    if not features:
        raise ValueError("features must name at least one column")
    X = table.numbers(list(features), "a feature").astype(dtype)
    labels = table.texts(target_name, "the target")
    values = [_as_number(text) for text in labels]
    if any(v is None for v in values):
        y = np.array(labels)
    else:
        y = np.array(values, dtype=np.float64)
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
    return X, y, [f.strip() for f in features]


def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _target_index(names: list[str], target, source: str) -> int:
    if isinstance(target, bool) or not isinstance(target, (str, int)):
        raise TypeError(f"target must be a column name or index; got {target!r}")
    if isinstance(target, int):
        if not -len(names) <= target < len(names):
            raise ValueError(
                f"target column index {target} is out of range for {len(names)} columns in "
                f"{source}"
            )
        return target % len(names)
    if target.strip() not in names:
        raise ValueError(
            f"{source} has no column {target!r} (the target); its columns are: "
            f"{', '.join(names)}"
        )
    return names.index(target.strip())
