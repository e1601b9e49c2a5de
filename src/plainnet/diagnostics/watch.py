"""``watch(model)``: record, while a network trains, what each layer's activations, gradients and
updates look like.

A `Watch` puts a forward hook on every activation module and every module with its own parameters.
On each recorded training step it keeps, per layer, the activation statistics of
[`plainnet.diagnostics.stats`][plainnet.diagnostics.stats] and the mean and standard deviation of
the gradient that flows back into the layer's output; per parameter, its gradient's mean and
standard deviation and the update-to-data ratio of the optimizer's step. The last recorded values
themselves (a sample of them) are kept for histograms.

Steps are delimited by `Watch.begin_step()` and `Watch.end_step()`; a watch given the
optimizer calls them around ``optimizer.step()`` itself, and the
[`Diagnostics`][plainnet.diagnostics.Diagnostics] callback calls them for `plainnet.fit()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..autodiff import Tensor
from ..autodiff.engine import Op, apply
from . import stats as _stats


@dataclass
class LayerRecord:
    """What one layer's output looked like over the recorded steps (one entry per step)."""

    name: str
    module_type: str
    kind: str
    steps: list = field(default_factory=list)
    mean: list = field(default_factory=list)
    std: list = field(default_factory=list)
    saturated: list = field(default_factory=list)
    dead: list = field(default_factory=list)
    grad_steps: list = field(default_factory=list)
    grad_mean: list = field(default_factory=list)
    grad_std: list = field(default_factory=list)
    values: np.ndarray | None = None
    """A sample of the output at the last recorded step."""
    gradients: np.ndarray | None = None
    """A sample of the output's gradient at the last recorded step (None before a backward)."""


@dataclass
class ParameterRecord:
    """One parameter's gradient and updates over the recorded steps."""

    name: str
    steps: list = field(default_factory=list)
    grad_mean: list = field(default_factory=list)
    grad_std: list = field(default_factory=list)
    data_std: list = field(default_factory=list)
    update_ratio: list = field(default_factory=list)


def _capture_vjp(i, g, out, a, sink):
    if i == 0:
        sink(g.data if isinstance(g, Tensor) else g)
        return g
    return None


_CAPTURE = Op("watch", lambda a, sink: a, _capture_vjp)
"""The identity, whose backward hands the gradient passing through to ``sink``."""


class Watch:
    """Records per-layer statistics of a model while it trains (see the module docstring).

    Parameters
    ----------
    model : Module
        The network to watch.
    every : int, default 1
        Record one step in ``every`` (a recorded step copies the parameters once).
    optimizer : Optimizer, optional
        When given, its ``step`` is wrapped so that each call is a watched step. Without it,
        call `begin_step()` before and `end_step()` after each ``optimizer.step()``
        (or use `plainnet.callbacks.Diagnostics` with `plainnet.fit()`).
    sample_size : int, default 4096
        How many values of the last recorded activations and gradients are kept for histograms.
    seed : int, default 0
        Seed of the sampling.

    Notes
    -----
    Use it as a context manager (or call `close()`) to remove the hooks afterwards.
    """

    def __init__(self, model, every: int = 1, optimizer=None, sample_size: int = 4096,
                 seed: int = 0):
        from ..nn import Module

        if not isinstance(model, Module):
            raise TypeError(f"watch expects a plainnet Module; got {type(model).__name__}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int; got {every!r}")
        if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
            raise ValueError(f"sample_size must be a positive int; got {sample_size!r}")
        self.model = model
        self.every = every
        self.sample_size = sample_size
        self.step = 0
        self.layers: dict[str, LayerRecord] = {}
        self.parameters: dict[str, ParameterRecord] = {}
        self._rng = np.random.default_rng(seed)
        self._snapshot: dict | None = None
        self._handles = []
        self._optimizer = None
        for name, module in model.named_modules():
            kind = _stats.kind_of(module)
            if kind == "layer" and not module._parameters:
                continue
            name = name or type(module).__name__
            self.layers[name] = LayerRecord(name, type(module).__name__, kind)
            self._handles.append(module.register_forward_hook(self._hook(name)))
        for name, _ in model.named_parameters():
            self.parameters[name] = ParameterRecord(name)
        if optimizer is not None:
            self._wrap(optimizer)

    # -- recording ---------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """Whether the current step is one of those recorded."""
        return self.step % self.every == 0

    def _hook(self, name: str):
        record = self.layers[name]

        def hook(module, inputs, out):
            if not (module.training and self.recording and isinstance(out, Tensor)):
                return None
            y = _stats.host(out.data)
            for key, value in _stats.activation_stats(y, record.kind).items():
                getattr(record, key).append(value)
            record.steps.append(self.step)
            record.values = _stats.sample(y, self.sample_size, self._rng)
            if not out.requires_grad:
                return None
            return apply(_CAPTURE, out, self._gradient_sink(record, self.step))

        return hook

    def _gradient_sink(self, record: LayerRecord, step: int):
        def sink(g):
            g = _stats.host(g)
            record.grad_steps.append(step)
            record.grad_mean.append(float(g.mean()) if g.size else 0.0)
            record.grad_std.append(float(g.std()) if g.size else 0.0)
            record.gradients = _stats.sample(g, self.sample_size, self._rng)

        return sink

    def begin_step(self) -> None:
        """Call before ``optimizer.step()``: keeps a copy of the weights of a recorded step."""
        if self.recording:
            self._snapshot = {
                name: _stats.host(p.data) for name, p in self.model.named_parameters()
            }

    def end_step(self) -> None:
        """Call after ``optimizer.step()``: records gradients and update ratios, then counts
        the step."""
        if self._snapshot is not None:
            for name, p in self.model.named_parameters():
                old = self._snapshot.get(name)
                record = self.parameters.get(name)
                if old is None or record is None:
                    continue
                new = _stats.host(p.data)
                g = p.grad
                if g is not None:
                    g = _stats.host(g.data if isinstance(g, Tensor) else g)
                    record.grad_mean.append(float(g.mean()))
                    record.grad_std.append(float(g.std()))
                else:
                    record.grad_mean.append(float("nan"))
                    record.grad_std.append(float("nan"))
                record.steps.append(self.step)
                record.data_std.append(float(old.std()))
                record.update_ratio.append(_stats.update_ratio(old, new))
            self._snapshot = None
        self.step += 1

    def _wrap(self, optimizer) -> None:
        original = optimizer.step

        def step(*args, **kwargs):
            self.begin_step()
            result = original(*args, **kwargs)
            self.end_step()
            return result

        optimizer.step = step
        self._optimizer = optimizer

    # -- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        """Remove the hooks (and unwrap the optimizer); the records stay."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._optimizer is not None:
            self._optimizer.__dict__.pop("step", None)
            self._optimizer = None

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Watch({len(self.layers)} layers, {len(self.parameters)} parameters, " \
            f"step {self.step})"


def watch(model, every: int = 1, optimizer=None, sample_size: int = 4096, seed: int = 0) -> Watch:
    """Start recording ``model``'s per-layer statistics: a `Watch` (see there).

    Examples
    --------
    >>> import numpy as np, plainnet as pn
    >>> model = pn.nn.Sequential(pn.nn.Linear(3, 8), pn.nn.Tanh(), pn.nn.Linear(8, 1))
    >>> opt = pn.optim.SGD(model.parameters(), lr=0.1)
    >>> X = np.random.default_rng(0).normal(size=(32, 3))
    >>> with pn.diagnostics.watch(model, optimizer=opt) as w:
    ...     loss = (model(X) ** 2).mean()
    ...     opt.zero_grad(); loss.backward(); opt.step()
    >>> sorted(w.layers)
    ['0', '1', '2']
    """
    return Watch(model, every=every, optimizer=optimizer, sample_size=sample_size, seed=seed)
