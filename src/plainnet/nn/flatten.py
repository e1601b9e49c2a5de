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


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``, PyTorch's ``Unflatten``: e.g.
    ``Unflatten(1, (1, 28, 28))`` turns rows ``(N, 784)`` into images ``(N, 1, 28, 28)``
    (one entry may be -1)."""

    init_passthrough = True

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"dim must be an int; got {dim!r}")
        size = tuple(unflattened_size)
        if not size or not all(isinstance(n, int) and (n >= 1 or n == -1) for n in size) or (
            size.count(-1) > 1
        ):
            raise ValueError(f"unflattened_size must be positive ints (at most one -1); got "
                             f"{unflattened_size!r}")
        self.dim = dim
        self.unflattened_size = size

    def forward(self, x):
        shape = x.shape
        dim = self.dim + len(shape) if self.dim < 0 else self.dim
        known = 1
        for n in self.unflattened_size:
            known *= n if n != -1 else 1
        fits = 0 <= dim < len(shape) and (
            shape[dim] == known if -1 not in self.unflattened_size else shape[dim] % known == 0
        )
        if not fits:
            raise ValueError(
                f"Unflatten(dim={self.dim}, unflattened_size={self.unflattened_size}) does not "
                f"fit an input of shape {shape}"
            )
        return x.reshape(shape[:dim] + self.unflattened_size + shape[dim + 1 :])

    def get_config(self) -> dict:
        return {"dim": self.dim, "unflattened_size": list(self.unflattened_size)}
