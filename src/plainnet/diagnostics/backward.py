r"""``check_backward``: compare a backward pass written by hand with the engine's gradients.

The learner writes two functions. ``forward_fn(**inputs)`` computes with plainnet ops and
returns the intermediate Tensors by name, the scalar loss last (or under ``"loss"``).
``backward_fn(**values)`` receives the same inputs and every intermediate as NumPy arrays and
returns the gradients it derived, $\partial L / \partial v$ for any of those names
(``"h"`` or ``"dh"``). Each is compared with the engine's:

* **exact**: every entry equal;
* **close**: equal within ``rtol``/``atol`` (``numpy.allclose``), with the largest difference;
* **wrong**: otherwise (also a wrong shape).

This is the ``cmp`` helper of the "backprop ninja" exercise, for any plainnet computation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend as _backend
from ..autodiff import Tensor
from ..autodiff.engine import backprop


@dataclass(frozen=True)
class GradientComparison:
    """One row of a `BackwardCheck`."""

    name: str
    status: str
    """``"exact"``, ``"close"``, ``"wrong"`` or ``"not given"``."""
    max_difference: float

    def __str__(self) -> str:
        diff = "" if self.status == "not given" else f"  max difference {self.max_difference:.3g}"
        return f"{self.name:<16} {self.status:<10}{diff}"


@dataclass(frozen=True)
class BackwardCheck:
    """The comparison of every gradient: ``rows`` in forward order, ``ok`` when none is wrong."""

    rows: tuple

    @property
    def ok(self) -> bool:
        return all(r.status in ("exact", "close") for r in self.rows if r.status != "not given")

    def __getitem__(self, name: str) -> GradientComparison:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def __str__(self) -> str:
        return "\n".join(str(r) for r in self.rows)


def _as_inputs(inputs: dict) -> dict:
    if not isinstance(inputs, dict) or not inputs:
        raise TypeError(
            f"inputs must be a non-empty dict of name -> array; got {type(inputs).__name__}"
        )
    out = {}
    for name, value in inputs.items():
        arr = value.data if isinstance(value, Tensor) else np.asarray(value)
        if arr.dtype.kind == "f":
            out[name] = Tensor(arr.astype(np.float64), requires_grad=True)
        elif arr.dtype.kind in "biu":
            out[name] = arr
        else:
            raise TypeError(f"input {name!r} must be numeric; got dtype {arr.dtype}")
    return out


def _forward_outputs(result) -> tuple[dict, Tensor]:
    if isinstance(result, Tensor):
        result = {"loss": result}
    if not isinstance(result, dict) or not result:
        raise TypeError(
            "forward_fn must return the loss Tensor or a dict of name -> Tensor with the loss "
            f"last (or under 'loss'); got {type(result).__name__}"
        )
    loss = result["loss"] if "loss" in result else list(result.values())[-1]
    if not isinstance(loss, Tensor) or loss.size != 1:
        raise ValueError("forward_fn's loss must be a Tensor with one element")
    if not loss.requires_grad:
        raise ValueError(
            "forward_fn's loss does not depend on the inputs (was the chain broken by .data, "
            ".item(), float() or a NumPy function?)"
        )
    return dict(result), loss


def _compare(name: str, mine, engine, rtol: float, atol: float) -> GradientComparison:
    if mine is None:
        return GradientComparison(name, "not given", float("nan"))
    mine = np.asarray(mine, dtype=np.float64)
    if mine.shape != engine.shape:
        return GradientComparison(name, "wrong", float("inf"))
    diff = float(np.max(np.abs(mine - engine))) if engine.size else 0.0
    if np.array_equal(mine, engine):
        return GradientComparison(name, "exact", diff)
    if np.allclose(mine, engine, rtol=rtol, atol=atol):
        return GradientComparison(name, "close", diff)
    return GradientComparison(name, "wrong", diff)


def check_backward(forward_fn, backward_fn, inputs: dict, rtol: float = 1e-5,
                   atol: float = 1e-8, print_table: bool = True) -> BackwardCheck:
    """Compare the gradients a hand-written ``backward_fn`` returns with the engine's.

    Parameters
    ----------
    forward_fn : callable
        ``forward_fn(**inputs)`` with the float inputs as float64 Tensors (integer inputs, such
        as labels, as arrays). Returns a dict ``name -> Tensor`` of intermediates, the scalar
        loss last or under ``"loss"`` (or just the loss).
    backward_fn : callable
        ``backward_fn(**values)``: every input and intermediate as a NumPy array. Returns a
        dict ``name -> gradient`` (keys ``"x"`` or ``"dx"``).
    inputs : dict
        Name -> array.
    rtol, atol : float
        The tolerance of "close" (``numpy.allclose``).
    print_table : bool, default True
        Print one line per tensor.

    Returns
    -------
    BackwardCheck
        ``.rows`` (name, status, max difference) and ``.ok``.

    Examples
    --------
    >>> import numpy as np, plainnet as pn
    >>> def forward(x, w):
    ...     z = x @ w
    ...     return {"z": z, "loss": (z ** 2).sum()}
    >>> def backward(x, w, z, loss):
    ...     dz = 2 * z
    ...     return {"dz": dz, "dw": x.T @ dz}
    >>> result = pn.check_backward(forward, backward, {"x": np.ones((2, 3)), "w": np.ones(3)},
    ...                            print_table=False)
    >>> [(r.name, r.status) for r in result.rows]
    [('x', 'not given'), ('w', 'exact'), ('z', 'exact')]
    """
    if not callable(forward_fn) or not callable(backward_fn):
        raise TypeError("forward_fn and backward_fn must be callables")
    tensors = _as_inputs(inputs)
    outputs, loss = _forward_outputs(forward_fn(**tensors))
    named = {**{k: v for k, v in tensors.items() if isinstance(v, Tensor)}, **outputs}
    loss_name = next(k for k, v in outputs.items() if v is loss)
    targets = [t for k, t in named.items() if k != loss_name and isinstance(t, Tensor)
               and t.requires_grad]
    seed = np.ones(loss.shape, dtype=loss.dtype)
    found = backprop(loss, seed, targets=targets)
    values = {k: (_backend.to_numpy(v.data) if isinstance(v, Tensor) else v)
              for k, v in {**tensors, **outputs}.items()}
    given = backward_fn(**values)
    if not isinstance(given, dict):
        raise TypeError(f"backward_fn must return a dict of name -> gradient; got "
                        f"{type(given).__name__}")
    unknown = [k for k in given if k not in named and not (k[:1] == "d" and k[1:] in named)]
    if unknown:
        raise ValueError(f"backward_fn returned gradients of unknown names {unknown}; "
                         f"known: {sorted(named)}")
    rows = []
    for name, t in named.items():
        if name == loss_name or not isinstance(t, Tensor) or not t.requires_grad:
            continue
        engine = found.get(id(t))
        engine = np.zeros(t.shape) if engine is None else _backend.to_numpy(engine[1])
        mine = given.get(name, given.get("d" + name))
        rows.append(_compare(name, mine, np.asarray(engine, dtype=np.float64), rtol, atol))
    result = BackwardCheck(tuple(rows))
    if print_table:
        print(result)
    return result
