"""pn.optim state dicts: PyTorch's layout, copies, exact resumption, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet.optim import SGD, Adagrad, Adam, AdamW, RMSprop

CASES = [
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (Adagrad, dict(lr=0.1, lr_decay=0.01)),
    (RMSprop, dict(lr=0.01, momentum=0.9, centered=True)),
    (Adam, dict(lr=0.1, amsgrad=True)),
    (AdamW, dict(lr=0.1)),
]

STATE_KEYS = {
    SGD: {"momentum_buffer"},
    Adagrad: {"step", "sum"},
    RMSprop: {"step", "square_avg", "momentum_buffer", "grad_avg"},
    Adam: {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    AdamW: {"step", "exp_avg", "exp_avg_sq"},
}


def _params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [pn.tensor(rng.normal(size=(2, 3)).astype(dtype), requires_grad=True),
            pn.tensor(rng.normal(size=4).astype(dtype), requires_grad=True)]


def _grads(k, dtype=np.float64):
    rng = np.random.default_rng(100 + k)
    return [rng.normal(size=(2, 3)).astype(dtype), rng.normal(size=4).astype(dtype)]


def _steps(opt, params, ks):
    for k in ks:
        for p, g in zip(params, _grads(k, params[0].dtype), strict=True):
            p.grad = g
        opt.step()


def _clone(params):
    return [pn.tensor(p.data.copy(), requires_grad=True) for p in params]


@pytest.mark.parametrize("cls,kw", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_round_trip_continues_identically(cls, kw):
    params = _params()
    opt = cls([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], **kw)
    _steps(opt, params, range(3))
    saved = opt.state_dict()

    clones = _clone(params)
    other = cls([{"params": clones[:1]}, {"params": clones[1:]}])  # default hyperparameters
    other.load_state_dict(saved)
    assert other.param_groups[1]["lr"] == 0.02
    assert other.param_groups[0]["lr"] == kw["lr"]
    # the loaded state is a copy: scribbling on the dict changes nothing
    for values in saved["state"].values():
        for v in values.values():
            if isinstance(v, np.ndarray):
                v[...] = 1e9
    _steps(opt, params, range(3, 6))
    _steps(other, clones, range(3, 6))
    for p, q in zip(params, clones, strict=True):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("cls,kw", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_layout_is_pytorchs_and_arrays_are_copies(cls, kw):
    params = _params()
    opt = cls(params, **kw)
    _steps(opt, params, range(2))
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["param_groups"][0]["lr"] == kw["lr"]
    assert set(sd["state"]) == {0, 1}
    assert set(sd["state"][0]) == STATE_KEYS[cls]
    before = {k: v.copy() for k, v in sd["state"][1].items() if isinstance(v, np.ndarray)}
    _steps(opt, params, range(2, 4))
    for k, v in before.items():
        np.testing.assert_array_equal(sd["state"][1][k], v)
        assert sd["state"][1][k] is not opt.state[params[1]][k]


def test_load_casts_state_to_the_parameter_dtype():
    params = _params(np.float64)
    opt = Adam(params, lr=0.1)
    _steps(opt, params, range(2))
    small = _clone([pn.tensor(p.data.astype(np.float32)) for p in params])
    other = Adam(small)
    other.load_state_dict(opt.state_dict())
    for p in small:
        assert other.state[p]["exp_avg"].dtype == np.float32
        assert other.state[p]["step"] == 2
    data = small[0].data
    _steps(other, small, range(2, 3))
    assert small[0].data is data and data.dtype == np.float32


def test_mismatched_state_dicts_are_refused_without_change():
    params = _params()
    opt = SGD(params, lr=0.1, momentum=0.9)
    _steps(opt, params, range(2))
    sd = opt.state_dict()

    single = SGD(_clone(params)[:1], lr=0.3)
    with pytest.raises(ValueError, match="has 2 parameters"):
        single.load_state_dict(sd)
    assert single.param_groups[0]["lr"] == 0.3

    two_groups = SGD([{"params": [params[0]]}, {"params": [params[1]]}])
    with pytest.raises(ValueError, match="1 parameter groups"):
        two_groups.load_state_dict(sd)

    other_shapes = [pn.tensor(np.zeros(6), requires_grad=True),
                    pn.tensor(np.zeros(4), requires_grad=True)]
    target = SGD(other_shapes, lr=0.3)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        target.load_state_dict(sd)
    assert target.param_groups[0]["lr"] == 0.3 and not target.state

    bad = opt.state_dict()
    bad["param_groups"][0]["lr"] = -5.0
    with pytest.raises(ValueError, match="-5.0"):
        SGD(_clone(params)).load_state_dict(bad)
    with pytest.raises(ValueError, match="'state'"):
        SGD(_clone(params)).load_state_dict({"param_groups": []})


def test_empty_state_round_trips():
    params = _params()
    opt = Adam(params)
    sd = opt.state_dict()
    assert sd["state"] == {}
    other = Adam(_clone(params), lr=0.5)
    other.load_state_dict(sd)
    assert other.param_groups[0]["lr"] == 1e-3
