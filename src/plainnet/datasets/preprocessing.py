"""Preparing data for training: a seeded, stratified train/test split and standardization."""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array


class Standardizer:
    """Scale features to zero mean and unit variance with statistics of the training data.

    ``z = (x - mean) / scale`` where ``mean`` and ``scale`` (the population standard
    deviation; 1 for constant columns) are per column of the data given to `fit()`.
    """

    def __init__(self):
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X) -> Standardizer:
        X = _as_2d(X)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0).astype(X.dtype)
        return self

    def transform(self, X) -> np.ndarray:
        if self.mean_ is None:
            raise RuntimeError("call fit(X_train) before transform")
        X = _as_2d(X)
        if X.shape[1] != len(self.mean_):
            raise ValueError(
                f"X has {X.shape[1]} features; the standardizer was fit on {len(self.mean_)}"
            )
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z) -> np.ndarray:
        if self.mean_ is None:
            raise RuntimeError("call fit(X_train) before inverse_transform")
        return _as_2d(Z) * self.scale_ + self.mean_


def standardize(X_train, *others):
    """Standardize ``X_train`` and apply its mean and scale to ``others`` (test sets).

    Returns the transformed arrays in the order given: ``standardize(X_train, X_test)``
    gives ``(Z_train, Z_test)``; ``standardize(X)`` gives just ``Z``.
    """
    scaler = Standardizer().fit(X_train)
    results = [scaler.transform(X_train)] + [scaler.transform(X) for X in others]
    return results[0] if not others else tuple(results)


def _as_2d(X) -> np.ndarray:
    X = as_float_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}")
    return X


class ColumnPreprocessor:
    """The preprocessing of a table's columns, fitted on training data and stored as JSON.

    What scikit-learn users write as ::

        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore")), text),
        ])

    with the same semantics: a missing number becomes the column's training median
    $\\tilde x$; numbers are then standardized, $z = (x - \\mu) / s$ with the mean
    and the population standard deviation of the imputed training column ($s = 1$ for
    a constant column); a missing text becomes the most frequent training value (the
    smallest among ties); each text column becomes one 0/1 column per training category,
    in sorted order, and a category never seen in training is all zeros (and counted).
    The output holds the numeric columns first, then the one-hot blocks.

    Large values are safe: the mean and deviation are computed on the column divided by a
    power of two near its largest magnitude, which is exact, so ``1e308`` neither overflows
    nor zeroes its column.

    Attributes
    ----------
    numeric : list of str
    median_, mean_, scale_ : ndarray
        Per numeric column.
    text : list of str
    most_frequent_ : list of str
    categories_ : list of list of str
    """

    def __init__(self, numeric: list[str], text: list[str]):
        self.numeric = list(numeric)
        self.text = list(text)
        self.median_ = self.mean_ = self.scale_ = None
        self.most_frequent_: list[str] | None = None
        self.categories_: list[list[str]] | None = None

    # -- fitting --------------------------------------------------------------------
    def fit(self, numbers: np.ndarray, texts: list[list]) -> ColumnPreprocessor:
        """Fit on ``numbers`` (n, len(numeric)) with NaN for missing, and ``texts``: one
        list of cells (None for missing) per text column."""
        numbers = self._check(numbers, texts)
        empty = [name for name, ok in zip(self.numeric, np.isfinite(numbers).any(axis=0),
                                          strict=True) if not ok]
        empty += [name for name, cells in zip(self.text, texts, strict=True)
                  if all(c is None for c in cells)]
        if empty:
            raise ValueError(f"column {empty[0]!r} has no values, only missing cells; leave it "
                             "out")
        self.median_ = _medians(numbers)
        filled = _fill(numbers, self.median_)
        self.mean_, self.scale_ = _mean_scale(filled)
        self.most_frequent_ = [_most_frequent(cells) for cells in texts]
        self.categories_ = [sorted({c for c in cells if c is not None} | {m})
                            for cells, m in zip(texts, self.most_frequent_, strict=True)]
        return self

    def transform(self, numbers: np.ndarray, texts: list[list]) -> tuple[np.ndarray, dict]:
        """``(Z, unseen)``: the preprocessed matrix and, per text column with categories not
        seen in training, ``(count, example)``."""
        if self.mean_ is None:
            raise RuntimeError("call fit before transform")
        numbers = self._check(numbers, texts)
        n, width = len(numbers), len(self.numeric)
        Z = np.zeros((n, width + sum(len(c) for c in self.categories_)))
        _standardize(_fill(numbers, self.median_), self.mean_, self.scale_, out=Z[:, :width])
        unseen = {}
        for name, cells, cats, mode in zip(self.text, texts, self.categories_,
                                           self.most_frequent_, strict=True):
            missed = _one_hot(cells, cats, mode, Z[:, width : width + len(cats)])
            if missed:
                unseen[name] = (len(missed), missed[0])
            width += len(cats)
        return Z, unseen

    def output_names(self) -> list[str]:
        """The names of the output columns: the numeric names, then ``name=category``."""
        return self.numeric + [f"{name}={c}" for name, cats in zip(self.text, self.categories_,
                                                                   strict=True) for c in cats]

    def _check(self, numbers, texts) -> np.ndarray:
        numbers = np.asarray(numbers, dtype=np.float64)
        numbers = numbers.reshape(len(numbers), len(self.numeric))
        if len(texts) != len(self.text):
            raise ValueError(f"expected {len(self.text)} text columns; got {len(texts)}")
        if np.isinf(numbers).any():
            raise ValueError("the numeric columns hold infinite values")
        return numbers

    # -- JSON -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The fitted preprocessing as JSON-able lists (no pickle)."""
        return {
            "numeric": {"columns": self.numeric, "median": self.median_.tolist(),
                        "mean": self.mean_.tolist(), "scale": self.scale_.tolist()},
            "text": {"columns": self.text, "most_frequent": self.most_frequent_,
                     "categories": self.categories_},
        }

    @classmethod
    def from_dict(cls, spec) -> ColumnPreprocessor:
        """Rebuild from `to_dict()`'s output; ``ValueError`` naming what is malformed."""
        try:
            num, txt = spec["numeric"], spec["text"]
            self = cls(_strings(num["columns"]), _strings(txt["columns"]))
            n, t = len(self.numeric), len(self.text)
            self.median_, self.mean_, self.scale_ = (
                _finite_list(num[key], n, key) for key in ("median", "mean", "scale"))
            if not np.all(self.scale_ > 0):
                raise ValueError("scale must be positive")
            self.most_frequent_ = _strings(txt["most_frequent"])
            self.categories_ = [_strings(c) for c in txt["categories"]]
            if len(self.most_frequent_) != t or len(self.categories_) != t:
                raise ValueError(f"the text part must describe {t} columns")
        except (KeyError, TypeError) as err:
            raise ValueError(f"malformed preprocessing ({type(err).__name__}: {err})") from None
        return self


def _medians(X: np.ndarray) -> np.ndarray:
    """Column medians ignoring NaN (``np.median`` where a column has none: faster)."""
    if X.size == 0:
        return np.zeros(X.shape[1])
    missing = np.isnan(X).any(axis=0)
    if not missing.any():
        return np.median(X, axis=0)
    medians = np.empty(X.shape[1])
    if (~missing).any():
        medians[~missing] = np.median(X[:, ~missing], axis=0)
    if missing.any():
        medians[missing] = np.nanmedian(X[:, missing], axis=0)
    return medians


def _fill(X: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``X`` with each NaN replaced by its column's value (``X`` itself when none is NaN)."""
    mask = np.isnan(X)
    if not mask.any():
        return X
    return np.where(mask, values, X)


def _mean_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and population standard deviations (1 where 0), overflow-free."""
    if X.shape[1] == 0:
        return np.zeros(0), np.ones(0)
    m = _power_of_two(np.max(np.abs(X), axis=0))
    Xs = X / m
    mean = Xs.mean(axis=0)
    std = Xs.std(axis=0)
    return mean * m, np.where(std > 0, std * m, 1.0)


def _standardize(X: np.ndarray, mean: np.ndarray, scale: np.ndarray,
                 out: np.ndarray | None = None) -> np.ndarray:
    """$(x - \\mu) / s$ into ``out``, computed on everything divided by the same power of
    two (exact) so that no intermediate overflows."""
    m = _power_of_two(np.maximum(np.abs(mean), scale))
    with np.errstate(over="ignore", invalid="ignore"):
        Z = np.divide(X, m, out=out)
        Z -= mean / m
        Z /= scale / m
    if not np.isfinite(Z).all():
        raise ValueError("values too large to standardize with the training statistics")
    return Z


def _one_hot(cells: list, categories: list[str], mode: str, out: np.ndarray) -> list:
    """Write the 0/1 columns of ``cells`` into ``out`` (a missing cell is ``mode``); return
    the cells whose category is unknown (their row stays all zeros)."""
    position = {c: k for k, c in enumerate(categories)}
    missed = []
    for i, cell in enumerate(cells):
        k = position.get(mode if cell is None else cell)
        if k is None:
            missed.append(cell)
        else:
            out[i, k] = 1.0
    return missed


def _power_of_two(values: np.ndarray) -> np.ndarray:
    """The power of two in ``(v / 2, v]`` for each value ``v`` (1 for 0 or a non-finite
    value): dividing by it is exact and brings ``v`` into ``[1, 2)``."""
    values = np.where(np.isfinite(values) & (values > 0), values, 1.0)
    _, exponent = np.frexp(values)
    return np.ldexp(1.0, exponent - 1)


def _most_frequent(cells: list) -> str:
    counts: dict[str, int] = {}
    for c in cells:
        if c is not None:
            counts[c] = counts.get(c, 0) + 1
    top = max(counts.values())
    return min(c for c, k in counts.items() if k == top)


def _strings(values) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise TypeError(f"expected a list of strings; got {str(values)[:60]}")
    return values


def _finite_list(values, n: int, key: str) -> np.ndarray:
    if not (isinstance(values, list) and len(values) == n
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
        raise ValueError(f"{key} must be {n} numbers")
    array = np.asarray(values, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{key} must be finite numbers")
    return array
