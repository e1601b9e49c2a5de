"""The fast path of Optimizer.step (several small parameters updated as one flat array) gives
exactly the numbers of the plain path (one rule call per parameter), and keeps the
per-parameter state and the parameters' arrays where users see them."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet.optim import Adam, AdamW
from plainnet.optim._flat import FLAT_MAX_SIZE
from test_optim import CASES, _case_id

# small shapes (batched) and one above the threshold (updated alone)
SHAPES = [(5, 4), (4,), (3, 2), (), (FLAT_MAX_SIZE + 3,)]


def _params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [pn.nn.Parameter(rng.normal(size=s), dtype=dtype) for s in SHAPES]


def _grads(dtype, steps, seed=1):
    rng = np.random.default_rng(seed)
    scales = [3.0, 0.2, 1.0, 5.0, 0.01]
    return [[(scales[t % 5] * rng.normal(size=s)).astype(dtype) for s in SHAPES]
            for t in range(steps)]


def _train(cls, kw, dtype, flat, steps=5, skip=None):
    params = _params(dtype)
    opt = cls(params, **kw)
    opt._elementwise = flat  # False: the plain path, one call per parameter
    for t, grads in enumerate(_grads(dtype, steps)):
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            p.grad = None if skip == (t, i) else g
        opt.step()
    return params, opt


def _assert_same(a, b):
    (pa, oa), (pb, ob) = a, b
    for p, q in zip(pa, pb, strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    sa, sb = oa.state_dict(), ob.state_dict()
    assert sa["state"].keys() == sb["state"].keys()
    for k in sa["state"]:
        assert sa["state"][k].keys() == sb["state"][k].keys()
        for key, value in sa["state"][k].items():
            np.testing.assert_array_equal(value, sb["state"][k][key], err_msg=f"{k} {key}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_fast_path_equals_plain_path(case, dtype):
    cls, kw = case
    fast = _train(cls, kw, dtype, flat=True)
    _assert_same(fast, _train(cls, kw, dtype, flat=False))
    params, opt = fast
    assert len(opt._flat_batches) == 1  # the fast path did run
    assert not np.array_equal(params[0].data, _params(dtype)[0].data)


@pytest.mark.parametrize("case", [(Adam, {}), (AdamW, dict(amsgrad=True))], ids=_case_id)
def test_a_skipped_parameter_sends_the_group_to_the_plain_path_with_the_same_result(case):
    cls, kw = case
    # parameter 1 has no gradient at step 2: its step count then differs from the others'
    fast = _train(cls, kw, np.float32, flat=True, steps=6, skip=(2, 1))
    _assert_same(fast, _train(cls, kw, np.float32, flat=False, steps=6, skip=(2, 1)))
    assert fast[1].state[fast[0][1]]["step"] == 5


def test_state_is_per_parameter_and_parameters_keep_their_arrays():
    params = _params(np.float32)
    arrays = [p.data for p in params]
    opt = Adam(params, lr=0.1)
    for grads in _grads(np.float32, 2):
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        opt.step()
    for p, data in zip(params, arrays, strict=True):
        assert p.data is data
        state = opt.state[p]
        assert state["step"] == 2
        for key in ("exp_avg", "exp_avg_sq"):
            assert state[key].shape == p.shape and state[key].dtype == np.float32
    # state_dict's arrays are copies, not views of the optimizer's buffers
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"][...] = 7.0
    assert not np.any(opt.state[params[0]]["exp_avg"] == 7.0)


def test_load_state_dict_and_edited_state_are_picked_up_by_the_fast_path():
    dtype = np.float64
    ref_params, ref = _train(Adam, dict(lr=0.1), dtype, flat=False, steps=3)
    params, opt = _train(Adam, dict(lr=0.1), dtype, flat=True, steps=3)
    # resume a fresh optimizer from the plain one's state
    resumed = Adam(params, lr=0.1)
    for p, q in zip(params, ref_params, strict=True):
        p.data[...] = q.data
    resumed.load_state_dict(ref.state_dict())
    # and edit one state entry in place: the next step must use it
    for o in (ref, resumed):
        o.state[o.param_groups[0]["params"][2]]["exp_avg"][...] = 0.5
    for grads in _grads(dtype, 2, seed=7):
        for o, ps in ((ref, ref_params), (resumed, params)):
            for p, g in zip(ps, grads, strict=True):
                p.grad = g
            o.step()
    _assert_same((params, resumed), (ref_params, ref))
    # a state array replaced by another one (as load_state_dict does) is adopted too
    new = np.full(SHAPES[0], 0.25)
    for o in (ref, resumed):
        o.state[o.param_groups[0]["params"][0]]["exp_avg_sq"] = new.copy()
        o.step()
    _assert_same((params, resumed), (ref_params, ref))


def test_fit_with_the_fast_path_equals_the_plain_path():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=64)
    results = []
    for flat in (True, False):
        pn.seed(0)
        model = pn.nn.Sequential(pn.nn.Linear(6, 8), pn.nn.ReLU(), pn.nn.Linear(8, 3))
        opt = Adam(model.parameters(), lr=0.01)
        opt._elementwise = flat
        pn.fit(model, X, y, optimizer=opt, epochs=2, batch_size=16, seed=0, verbose=0)
        results.append([p.data.copy() for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
