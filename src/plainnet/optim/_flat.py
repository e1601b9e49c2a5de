"""The fast path of ``Optimizer.step``: several small parameters updated by one rule call.

An update rule of [`plainnet.optimize.rules`][plainnet.optimize.rules] costs a dozen NumPy calls
whatever the size of its arrays, so for small parameters (biases, small layers) the calls, not the
arithmetic, take the time. The rules are elementwise, so updating the concatenation of several
parameters gives exactly the numbers that updating each one gives. A `FlatBatch` keeps one flat
array for the parameters, one for the gradients and one per state entry (``exp_avg``, ...). Each
parameter's state entries are views into the flat state, so ``optimizer.state[p]`` and
``state_dict()`` keep PyTorch's per-parameter layout and values. The parameters themselves stay
where they are (``p.data`` keeps its identity): their values are copied in before the update and
back after it.

The per-parameter states are the reference: when they no longer hold the batch's views (after
``load_state_dict``, ``move_state`` or an edit), the flat state is rebuilt from them, and when
they can't be merged (different step counts, say) the caller takes the plain path.
"""

from __future__ import annotations

import numpy as np

#: Parameters with more elements than this are updated one by one: for them the copies in
#: and out would cost more than the NumPy calls saved.
FLAT_MAX_SIZE = 1 << 15

_MISSING = object()


class FlatBatch:
    """Flat buffers for the parameters ``params`` (host arrays of one dtype)."""

    def __init__(self, params: list, dtype: np.dtype):
        self.params = params
        self.shapes = [p.data.shape for p in params]
        ends = np.cumsum([p.data.size for p in params]).tolist()
        self.slices = [slice(a, b) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
        self.param = np.empty(ends[-1], dtype)
        self.grad = np.empty(ends[-1], dtype)
        self.param_views = [self.param[s].reshape(shape)
                            for s, shape in zip(self.slices, self.shapes, strict=True)]
        self.state: dict | None = None  # the flat state, None until merged
        self.views: dict[str, tuple[np.ndarray, list]] = {}  # key -> (flat array, its views)

    def step(self, grads: list, states: list, update, group: dict) -> bool:
        """One call of ``update(param, grad, state, group)`` on the flat arrays, with the
        results copied back to the parameters and their states. Returns False, having done
        nothing, where the per-parameter states can't be merged."""
        if not (self._in_sync(states) or self._merge(states)):
            return False
        np.concatenate([g.reshape(-1) for g in grads], out=self.grad)
        np.concatenate([p.data.reshape(-1) for p in self.params], out=self.param)
        update(self.param, self.grad, self.state, group)
        for p, view in zip(self.params, self.param_views, strict=True):
            np.copyto(p.data, view)
        self._hand_out(states)
        return True

    def _in_sync(self, states: list) -> bool:
        """Whether every per-parameter state still holds exactly what the flat state holds."""
        flat = self.state
        if flat is None:
            return False
        for i, state in enumerate(states):
            if len(state) != len(flat):
                return False
            for key, value in flat.items():
                held = self.views.get(key)
                if held is not None:
                    if state.get(key) is not held[1][i]:
                        return False
                elif state.get(key, _MISSING) != value:
                    return False
        return True

    def _merge(self, states: list) -> bool:
        """Rebuild the flat state from the per-parameter states; False where they differ in
        their entries or in a scalar entry (a step count), or hold arrays of another kind."""
        keys = set(states[0])
        if any(set(state) != keys for state in states):
            return False
        flat: dict = {}
        for key in keys:
            values = [state[key] for state in states]
            if all(type(v) is np.ndarray for v in values):
                if any(v.shape != shape or v.dtype != self.param.dtype
                       for v, shape in zip(values, self.shapes, strict=True)):
                    return False
                flat[key] = np.concatenate([v.reshape(-1) for v in values])
            elif any(isinstance(v, np.ndarray) or v != values[0] for v in values):
                return False  # a device array, or scalars that differ
            else:
                flat[key] = values[0]
        self.state, self.views = flat, {}
        self._hand_out(states)
        return True

    def _hand_out(self, states: list) -> None:
        """Give each parameter's state its views of the flat state's arrays and its scalars."""
        for key, value in self.state.items():
            if type(value) is np.ndarray:
                held = self.views.get(key)
                if held is None or held[0] is not value:  # new (or replaced by the rule)
                    views = [value[s].reshape(shape)
                             for s, shape in zip(self.slices, self.shapes, strict=True)]
                    self.views[key] = (value, views)
                    for state, view in zip(states, views, strict=True):
                        state[key] = view
            else:
                for state in states:
                    state[key] = value
