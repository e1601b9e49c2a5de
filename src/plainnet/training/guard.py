"""Divergence: what `plainnet.fit` does when training blows up.

Two ways to blow up, two rules:

* **Not finite.** The loss or a gradient of a step is NaN or infinite. The step is not
  taken (see `train_step`) and training stops.
* **Exploding.** The loss stays finite but grows by orders of magnitude (with a huge
  learning rate, ReLUs die and the loss of the dead network can climb to 1e29 without ever
  being NaN). The rule: an epoch whose mean training loss is above ``divergence`` times the
  loss of the first batch trained on (default ``1e4``) has exploded. Training stops after
  that epoch.

Either way the weights of the last good epoch (the ones the epoch started from) are put back,
a ``RuntimeWarning`` names the epoch and what to try, and ``History.stop_reason`` is
``"diverged"``; the History keeps every epoch that finished. ``pn.fit(..., divergence=None)``
turns the exploding rule off (non-finite steps always stop training).
"""

from __future__ import annotations

import warnings

import numpy as np

#: The default factor of the exploding-loss rule.
DIVERGENCE = 1e4

ADVICE = ("Try a lower learning rate (now {lr}), standardizing the inputs, or clipping "
          "gradients (pn.optim.clip_grad_norm).")


class DivergenceGuard:
    """Keeps the weights each epoch starts from (copied into buffers of its own, once an
    epoch, not once a step) and applies the two rules above."""

    def __init__(self, model, optimizer, factor: float | None = DIVERGENCE):
        if factor is not None and not (isinstance(factor, (int, float))
                                       and not isinstance(factor, bool) and factor > 1):
            raise ValueError(f"divergence must be a number above 1 (the factor by which the "
                             f"loss may grow) or None to turn the rule off; got {factor!r}")
        self.model, self.optimizer, self.factor = model, optimizer, factor
        self.params = model.parameters()
        self.saved = None  # buffers, made at the first epoch
        self.first_loss = None

    def epoch_begins(self) -> None:
        """Remember the weights this epoch starts from."""
        if self.saved is None:
            self.saved = [p.data.copy() for p in self.params]
            return
        for buffer, p in zip(self.saved, self.params, strict=True):
            buffer[...] = p.data

    def restore(self) -> None:
        """Put back the weights of the start of this epoch."""
        for buffer, p in zip(self.saved, self.params, strict=True):
            p.data[...] = buffer
        self.model.zero_grad()

    def first_step(self, value: float) -> None:
        """Note the first batch's loss: the yardstick of the exploding rule."""
        if self.first_loss is None and np.isfinite(value):
            self.first_loss = abs(value)

    def not_finite(self, epoch: int, batch: int | None, value: float) -> None:
        """A step (``batch``), or the weights after an epoch (``batch`` None), came out NaN
        or infinite: restore, and say where and what to try."""
        if not all(bool(np.isfinite(p.data).all()) for p in self.params):
            self.restore()  # an earlier step's update overflowed
        self.model.zero_grad()
        if batch is None:
            where, what = f"epoch {epoch}", "a weight became NaN/inf"
        else:
            where = f"epoch {epoch}, batch {batch + 1}"
            what = (f"the loss became {value}" if not np.isfinite(value)
                    else "a gradient became NaN/inf")
        self._warn(f"training diverged at {where}: {what}. Training stopped and the last "
                   "finite weights were kept.", 5 if batch is None else 6)

    def exploded(self, epoch: int, loss: float) -> bool:
        """Whether the epoch's mean loss broke the exploding rule; if so, restore and warn."""
        if self.factor is None or not self.first_loss or not loss > self.factor * self.first_loss:
            return False
        self.restore()
        self._warn(
            f"training diverged at epoch {epoch}: the loss exploded to {loss:.4g}, more than "
            f"{self.factor:g} times the first batch's ({self.first_loss:.4g}), without "
            "becoming NaN. Training stopped and the weights of the last good epoch were put "
            "back (pn.fit(..., divergence=None) turns this check off).", 5)
        return True

    def _warn(self, message: str, stacklevel: int) -> None:
        """Warn, pointing at the user's call of pn.fit (``stacklevel`` frames up)."""
        lr = self.optimizer.param_groups[0].get("lr")
        warnings.warn(f"{message} {ADVICE.format(lr=lr)}", RuntimeWarning,
                      stacklevel=stacklevel)
