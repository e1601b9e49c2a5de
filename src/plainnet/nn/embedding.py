r"""``Embedding``: a lookup table of learned vectors, one row per token.

Looking up row $r$ is multiplying the one-hot vector $e_r$ by the table: an
embedding is a layer of linear neurons without bias whose input is one-hot, computed as an
index instead of a matrix product.
"""

from __future__ import annotations

import numpy as np

from .. import backend as _backend
from .._validation import check_int
from ..autodiff import Tensor
from . import init as _init
from .linear import check_dtype
from .module import Module, Parameter
from .sequence_ops import embedding


class Embedding(Module):
    r"""A table of ``num_embeddings`` vectors of size ``embedding_dim``:
    ``Embedding(V, D)(idx)[..., :] = weight[idx[...], :]`` (PyTorch's ``nn.Embedding``).

    Parameters
    ----------
    num_embeddings : int
        Rows of the table (the vocabulary size).
    embedding_dim : int
        Size of each vector.
    padding_idx : int, optional
        A row that stays fixed (initialized to zeros and given no gradient), for padding
        tokens; negative values count from the end, as in PyTorch.
    dtype : numpy dtype, default float32

    Attributes
    ----------
    weight : Parameter, shape (num_embeddings, embedding_dim)
        Drawn from $\mathcal N(0, 1)$, as in PyTorch.

    The input is an integer array or Tensor of any shape (float whole numbers are accepted,
    since ``Module.__call__`` hands a model's input on as floats); the output has one more
    axis, ``embedding_dim``. Indices outside ``[0, num_embeddings)`` raise ``IndexError``. The
    gradient of a row sums the gradients of every position that looked it up.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: int | None = None, dtype=np.float32):
        super().__init__()
        self.num_embeddings = check_int(num_embeddings, "num_embeddings", minimum=1)
        self.embedding_dim = check_int(embedding_dim, "embedding_dim", minimum=1)
        if padding_idx is not None:
            padding_idx = check_int(padding_idx, "padding_idx", minimum=-self.num_embeddings)
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"padding_idx must be within [-{self.num_embeddings}, "
                    f"{self.num_embeddings}); got {padding_idx}"
                )
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        dt = check_dtype(dtype)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dt))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the table from $\\mathcal N(0, 1)$ (the padding row: zeros)."""
        _init.normal_(self.weight, 0.0, 1.0)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def __call__(self, indices):
        if not isinstance(indices, Tensor):  # integer ids stay integers (hooks still run)
            arr = indices if _backend.is_device_array(indices) else np.asarray(indices)
            if arr.dtype.kind in "iu":
                indices = Tensor(arr)
            elif arr.dtype.kind != "f":
                raise TypeError(f"Embedding expects integer indices; got dtype {arr.dtype}")
        return super().__call__(indices)

    def forward(self, indices):
        idx = self._indices(indices)
        return embedding(idx, self.weight, self.padding_idx)

    def _indices(self, indices):
        idx = indices.data if isinstance(indices, Tensor) else indices
        if not _backend.is_device_array(idx):
            idx = np.asarray(idx)
        if idx.dtype.kind == "f":  # a Module call turns token ids into floats: take them back
            whole = idx.astype(np.intp)
            if not bool((whole == idx).all()):
                raise TypeError(
                    "Embedding expects integer indices; got floats that are not whole numbers"
                )
            idx = whole
        elif idx.dtype.kind not in "iu":
            raise TypeError(
                f"Embedding expects integer indices; got dtype {idx.dtype}. Convert token "
                "ids with .astype(int)"
            )
        if idx.size:
            lo, hi = int(idx.min()), int(idx.max())
            if lo < 0 or hi >= self.num_embeddings:
                bad = lo if lo < 0 else hi
                raise IndexError(
                    f"Embedding({self.num_embeddings}, {self.embedding_dim}) got index {bad}; "
                    f"indices must be in [0, {self.num_embeddings - 1}]"
                )
        return _backend.match_device(idx, self.weight.data, "Embedding's indices")

    def get_config(self) -> dict:
        return {
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
            "dtype": self.weight.dtype.name,
        }

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
