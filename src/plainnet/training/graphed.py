"""A training step recorded once as a device graph and launched for each batch: what
``pn.fit(..., cuda_graph=True)`` runs on a GPU.

A small network on a GPU is bound by the host: each of a step's kernels costs the host more
to launch (and the Python around it more to run) than the GPU takes to compute it. A CUDA
graph records the kernels once and launches them all again with one call.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend as _backend
from ..autodiff import Tensor
from ..autodiff.engine import careful_backward
from ..random import get_rng
from .finite import gradients, loss_and_squares, read_pair

#: Full batches trained without a graph before one is recorded: every kernel has been
#: compiled and every library handle made by then, which must not happen while recording.
WARMUP_STEPS = 2
#: How far a launch of the graph may stray from the step computed without one, relative to
#: the largest entry of each array compared (different stream, different GEMM algorithm).
TOLERANCE = 1e-4


class CapturedStep:
    """The forward pass, the loss, the backward pass and the step's check of ``pn.fit``, for
    batches of one shape, recorded once as a device graph (`plainnet.backend.capture`)
    and launched for each batch.

    One launch replaces the step's kernel launches (about 30 for a small MLP) and the Python
    that issues them. The graph reads its batch from arrays of its own, into which
    `__call__` copies each batch; it writes the gradients into the same arrays at every
    launch, and those become the parameters' ``.grad``. The optimizer's update is not
    recorded: its step count and learning rate change from step to step, and it is one
    launch already.
    """

    def __init__(self, model, loss_fn, params, device: str, x, y, w=None):
        self.model, self.loss_fn, self.params, self.device = model, loss_fn, params, device
        self.x, self.y = x.copy(), y.copy()
        self.w = None if w is None else w.copy()
        self.graph = None

    def compute(self):
        """The step's work, run (or recorded) on the step's own arrays: ``(output, gradients,
        (pair, loss, squares))``; the gradients are also left in the parameters' ``.grad``."""
        for p in self.params:
            p.grad = None
        out = self.model(Tensor(self.x))
        if self.w is None:
            loss = self.loss_fn(out, self.y)
        else:
            loss = self.loss_fn(out, self.y, sample_weight=self.w)
        with careful_backward():  # decides nothing by reading the gradients
            loss.backward()
        grads = gradients(self.params)
        return out.data, grads, loss_and_squares(loss.data, grads)

    def capture(self) -> None:
        """Record `compute` as a graph (it runs at each `__call__`)."""
        self.graph, (self.out, self.grads, self.check) = _backend.capture(
            self.device, self.compute)
        self.holders = [p for p in self.params if p.grad is not None]
        self.reads = self._state()

    def _state(self) -> list:
        """The parameter and buffer arrays the graph reads and writes in place."""
        return [p.data for p in self.params] + [b for _, b in self.model.named_buffers()]

    def current(self) -> bool:
        """Whether the model still holds the arrays the graph was recorded with (a callback
        that loads a state dict replaces the buffers: the graph would go on with the old
        ones)."""
        return all(a is b for a, b in zip(self.reads, self._state(), strict=True))

    def release(self) -> None:
        """Drop the graph, after copying the gradients it left in the parameters out of its
        memory (on CUDA that memory is freed with the graph)."""
        for p in self.holders:
            if any(p.grad is g for g in self.grads):
                p.grad = p.grad.copy()
        self.graph = self.out = self.grads = self.check = self.reads = None

    def __call__(self, x, y, w=None) -> tuple:
        """``(output, loss value, whether the loss and every gradient are finite)`` for the
        batch ``(x, y, w)``: copied in, one launch, one read. The output is overwritten at the
        next call."""
        self.x[...] = x
        self.y[...] = y
        if w is not None:
            self.w[...] = w
        self.graph.launch()
        for p, g in zip(self.holders, self.grads, strict=True):
            p.grad = g
        value, finite = read_pair(*self.check, self.grads)
        return self.out, value, finite


def capture_step(model, loss_fn, params, device: str, x, y, w=None):
    """Record the step for batches shaped as ``(x, y, w)``, and take this batch with it.

    The batch is first computed without a graph; then the graph is recorded and launched on
    it, and both must agree (output, loss, gradients and buffers such as BatchNorm's running
    statistics, within `TOLERANCE`). Returns ``(step, output, loss value, finite)``;
    ``step`` is None where the step could not be recorded or its launch disagreed, after a
    ``RuntimeWarning`` saying why: training goes on without a graph, from this batch's
    results computed without one.
    """
    step = CapturedStep(model, loss_fn, params, device, x, y, w)
    buffers = [b for _, b in model.named_buffers()]
    before = [b.copy() for b in buffers]
    out, grads, check = step.compute()
    value, finite = read_pair(*check, grads)
    holders = [p for p in params if p.grad is not None]
    after = [b.copy() for b in buffers]
    for b, saved in zip(buffers, before, strict=True):
        b[...] = saved
    generators = _generators(model)
    drawn = [g.bit_generator.state for g in generators]
    try:
        step.capture()
        got = step(x, y, w)
        results = [("the output", out, got[0]), ("the loss", value, got[1])]
        results += [(f"the buffer {name!r}", b, c) for (name, c), b
                    in zip(model.named_buffers(), after, strict=True)]
        if len(step.grads) == len(grads):
            results += [(f"the gradient of parameter {k}", g, h)
                        for k, (g, h) in enumerate(zip(grads, step.grads, strict=True))]
            problem = _disagreement(results)
        else:
            problem = "its launch gave another number of gradients than the step without one"
    except Exception as err:  # any failure to record means: train without a graph
        problem = f"it could not be recorded ({type(err).__name__}: {err})"
    if problem is None:
        return step, got[0], got[1], got[2]
    warnings.warn(
        f"cuda_graph=True: the training step is not run as a graph, because {problem}. "
        "Training goes on without one (the same steps, one kernel launch at a time).",
        RuntimeWarning,
        stacklevel=3,
    )
    for b, saved in zip(buffers, after, strict=True):
        b[...] = saved
    for g, state in zip(generators, drawn, strict=True):  # as if never recorded
        g.bit_generator.state = state
    for p in params:
        p.grad = None
    for p, g in zip(holders, grads, strict=True):
        p.grad = g
    return None, out, value, finite


def _generators(model) -> list[np.random.Generator]:
    """The random generators the model's forward pass may draw from: plainnet's global one
    and the modules' own (``Dropout(rng=...)``)."""
    found = {id(get_rng()): get_rng()}
    for module in model.modules():
        for value in vars(module).values():
            if isinstance(value, np.random.Generator):
                found[id(value)] = value
    return list(found.values())


def _disagreement(results) -> str | None:
    """Which of ``results``, ``(name, expected, got)`` triples (expected: computed without a
    graph), differs beyond `TOLERANCE` (relative to the largest finite entry), or None
    where they all agree. Compared where they lie: on a GPU only two numbers an array come
    to the host (its scale, and whether all agree), not the arrays."""
    for name, expected, got in results:
        xp = _backend.array_module(expected)
        b, a = xp.asarray(expected), xp.asarray(got)
        if a.shape != b.shape:
            return f"its launch gave {name} of shape {a.shape}, not {b.shape}"
        if b.size == 0:
            continue
        finite = xp.isfinite(b)
        atol = TOLERANCE * float(xp.where(finite, xp.abs(b), 0).max())
        close = xp.isclose(a, b, rtol=TOLERANCE, atol=atol, equal_nan=True)
        if not bool(close.all()):
            how = ("NaN where that has numbers" if bool(xp.any(xp.isnan(a) != xp.isnan(b)))
                   else f"by up to {float(xp.max(xp.abs(a - b))):.3g}")
            return f"its launch gave {name} different from the step without a graph ({how})"
    return None
