"""Small real data sets bundled with scikit-learn (no download): digits, iris, breast
cancer, wine, diabetes.

Each returns ``(X, y)`` (``X`` float64; ``y`` int64 class labels, or float64 targets for
the diabetes regression), or with ``return_X_y=False`` a `Dataset` that also carries
the feature and target names and the description.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """A data set with its names: ``X``, ``y``, ``feature_names``, ``target_names``,
    ``description``. Iterating gives ``X, y``, so ``X, y = dataset`` works."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    description: str = ""

    def __iter__(self):
        return iter((self.X, self.y))

    def __len__(self) -> int:
        return len(self.X)


def digits(return_X_y: bool = True):
    """1797 handwritten digits as 8×8 images flattened to 64 pixels in ``0 .. 16``; 10
    classes."""
    return _load("load_digits", return_X_y, classification=True)


def iris(return_X_y: bool = True):
    """150 iris flowers, 4 measurements (cm), 3 species."""
    return _load("load_iris", return_X_y, classification=True)


def breast_cancer(return_X_y: bool = True):
    """569 breast tumours, 30 features of cell nuclei; 0 = malignant, 1 = benign."""
    return _load("load_breast_cancer", return_X_y, classification=True)


def wine(return_X_y: bool = True):
    """178 wines, 13 chemical measurements, 3 cultivars."""
    return _load("load_wine", return_X_y, classification=True)


def diabetes(return_X_y: bool = True):
    """442 diabetes patients, 10 (mean-centred, scaled) baseline features; the target is a
    disease-progression score one year later (regression)."""
    return _load("load_diabetes", return_X_y, classification=False)


def _load(loader_name: str, return_X_y: bool, classification: bool):
    try:
        from sklearn import datasets as sk_datasets
    except ImportError as err:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError(
            f"plainnet.datasets.{loader_name[5:]} needs scikit-learn: pip install scikit-learn"
        ) from err
    bunch = getattr(sk_datasets, loader_name)()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64 if classification else np.float64)
    if return_X_y:
        return X, y
    target_names = [str(t) for t in getattr(bunch, "target_names", [])]
    if not classification:
        target_names = ["target"]
    return Dataset(
        X=X,
        y=y,
        feature_names=[str(f) for f in bunch.feature_names],
        target_names=target_names,
        description=str(getattr(bunch, "DESCR", "")),
    )
