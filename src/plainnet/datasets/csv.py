"""Numeric tables from CSV files: ``X, y, feature_names = load_csv(path, target)``."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np


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
        int64 when every target value is a whole number (class labels), else float64.
    feature_names : list of str

    Every cell must be a number (``float()`` syntax). A missing file raises
    ``FileNotFoundError``; an empty file, a missing column, a row of the wrong length, or an
    empty or non-numeric cell raise ``ValueError`` naming the line, the column and the value.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no CSV file at {str(path)!r}")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next((row for row in reader if row), None)
        if header is None:
            raise ValueError(f"{str(path)!r} is empty; expected a header row and data rows")
        names = [name.strip() for name in header]
        target_index = _target_index(names, target, path)
        feature_indices = _feature_indices(names, features, target_index, path)
        rows: list[list[float]] = []
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                raise ValueError(
                    f"{str(path)!r} line {reader.line_num}: {len(row)} fields, but the header "
                    f"has {len(names)} columns"
                )
            rows.append([_number(cell, reader.line_num, names[j], path)
                         for j, cell in enumerate(row)])
    if not rows:
        raise ValueError(f"{str(path)!r} has a header but no data rows")
    table = np.array(rows, dtype=np.float64)
    X = table[:, feature_indices].astype(dtype)
    y = table[:, target_index]
    if np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    return X, y, [names[j] for j in feature_indices]


def _target_index(names: list[str], target, path: Path) -> int:
    if isinstance(target, bool) or not isinstance(target, (str, int)):
        raise TypeError(f"target must be a column name or index; got {target!r}")
    if isinstance(target, int):
        if not -len(names) <= target < len(names):
            raise ValueError(
                f"target column index {target} is out of range for {len(names)} columns in "
                f"{str(path)!r}"
            )
        return target % len(names)
    return _index_of(names, target, path)


def _feature_indices(names, features, target_index, path) -> list[int]:
    if features is None:
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"{str(path)!r} has duplicate column names {duplicates}")
        return [j for j in range(len(names)) if j != target_index]
    indices = [_index_of(names, name, path) for name in features]
    if target_index in indices:
        raise ValueError(f"the target column {names[target_index]!r} is also among features")
    if not indices:
        raise ValueError("features must name at least one column")
    return indices


def _index_of(names: list[str], name: str, path: Path) -> int:
    matches = [j for j, n in enumerate(names) if n == name.strip()]
    if not matches:
        raise ValueError(
            f"no column {name!r} in {str(path)!r}; the columns are: {', '.join(names)}"
        )
    if len(matches) > 1:
        raise ValueError(f"column name {name!r} appears {len(matches)} times in {str(path)!r}")
    return matches[0]


def _number(cell: str, line: int, column: str, path: Path) -> float:
    text = cell.strip()
    if not text:
        raise ValueError(f"{str(path)!r} line {line}, column {column!r}: empty cell")
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{str(path)!r} line {line}, column {column!r}: {cell!r} is not a number"
        ) from None
