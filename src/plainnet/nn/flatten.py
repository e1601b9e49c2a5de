"""``Flatten``: merge axes into one, e.g. images ``(N, 28, 28)`` into rows ``(N, 784)``."""

from __future__ import annotations

from .module import Module


class Flatten(Module):
    """Merge the axes ``start_dim`` .. ``end_dim`` (inclusive) into one, as PyTorch's.

    The default keeps the batch axis: ``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``.
    """

    init_passthrough = True

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int; got {value!r}")
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        shape = x.shape
        ndim = len(shape)
        start = self.start_dim + ndim if self.start_dim < 0 else self.start_dim
        end = self.end_dim + ndim if self.end_dim < 0 else self.end_dim
        if ndim == 0 or not 0 <= start <= end < ndim:
            raise ValueError(
                f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) does not fit an "
                f"input of shape {shape}"
            )
        merged = 1
        for n in shape[start : end + 1]:
            merged *= n
        new_shape = shape[:start] + (merged,) + shape[end + 1 :]
        return x if new_shape == shape else x.reshape(new_shape)

    def get_config(self) -> dict:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}
