"""Data: seeded synthetic problems, scikit-learn's bundled sets, CSV files, MNIST IDX files,
and the small utilities around them (split, standardize)."""

from ..training.split import split
from .csv import load_csv
from .mnist import load_mnist, read_idx
from .preprocessing import Standardizer, standardize
from .real import Dataset, breast_cancer, diabetes, digits, iris, wine
from .synthetic import blobs, circles, moons, spirals, xor
from .text import TextData, text

__all__ = [
    "Dataset",
    "Standardizer",
    "TextData",
    "blobs",
    "breast_cancer",
    "circles",
    "diabetes",
    "digits",
    "iris",
    "load_csv",
    "load_mnist",
    "moons",
    "read_idx",
    "spirals",
    "split",
    "standardize",
    "text",
    "wine",
    "xor",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
