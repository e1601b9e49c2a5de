"""pn.optim.lr_scheduler: lr sequences against closed forms, plateau logic traced by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

import plainnet as pn
from plainnet.optim import SGD, Adam
from plainnet.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    ReduceLROnPlateau,
    StepLR,
)


def _opt(lr=1.0, second_lr=None):
    a = pn.tensor([1.0], requires_grad=True)
    if second_lr is None:
        return SGD([a], lr=lr)
    b = pn.tensor([1.0], requires_grad=True)
    return SGD([{"params": [a]}, {"params": [b], "lr": second_lr}], lr=lr)


def _sequence(sched, epochs):
    """The lr of each group at epochs 0..epochs-1 (optimizer.step() would run in between)."""
    lrs = [sched.get_last_lr()]
    for _ in range(epochs - 1):
        sched.optimizer.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    return np.array(lrs)


def test_step_lr_closed_form():
    opt = _opt(0.5, second_lr=0.2)
    sched = StepLR(opt, step_size=3, gamma=0.1)
    got = _sequence(sched, 10)
    e = np.arange(10)
    np.testing.assert_allclose(got[:, 0], 0.5 * 0.1 ** (e // 3), rtol=1e-12)
    np.testing.assert_allclose(got[:, 1], 0.2 * 0.1 ** (e // 3), rtol=1e-12)
    assert opt.param_groups[0]["lr"] == got[-1, 0]
    assert opt.param_groups[0]["initial_lr"] == 0.5


def test_exponential_lr_closed_form():
    sched = ExponentialLR(_opt(0.3), gamma=0.9)
    got = _sequence(sched, 12)[:, 0]
    np.testing.assert_allclose(got, 0.3 * 0.9 ** np.arange(12), rtol=1e-12)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing_closed_form_including_the_way_back_up(eta_min):
    T = 5
    sched = CosineAnnealingLR(_opt(0.1, second_lr=0.4), T_max=T, eta_min=eta_min)
    got = _sequence(sched, 3 * T + 1)
    t = np.arange(3 * T + 1)
    for j, base in enumerate([0.1, 0.4]):
        closed = eta_min + (base - eta_min) * (1 + np.cos(np.pi * t / T)) / 2
        np.testing.assert_allclose(got[:, j], closed, rtol=1e-10, atol=1e-15)
    assert got[T, 0] == pytest.approx(eta_min, abs=1e-15)
    assert got[2 * T, 0] == pytest.approx(0.1, rel=1e-10)


def test_schedulers_drive_the_optimizer_learning_rate():
    w = pn.tensor([0.0], requires_grad=True)
    opt = SGD([w], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    moves = []
    for _ in range(3):
        w.grad = np.array([-1.0])
        before = w.data[0]
        opt.step()
        sched.step()
        moves.append(w.data[0] - before)
    np.testing.assert_allclose(moves, [1.0, 0.5, 0.25])


def test_scheduler_state_dict_round_trip():
    opt = _opt(1.0)
    sched = CosineAnnealingLR(opt, T_max=7, eta_min=0.1)
    for _ in range(4):
        sched.step()
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 4

    opt2 = _opt(123.0)
    opt2.load_state_dict(saved_opt)
    sched2 = CosineAnnealingLR(opt2, T_max=7)
    sched2.load_state_dict(saved)
    assert sched2.eta_min == 0.1
    for _ in range(6):
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_resume_with_last_epoch():
    opt = _opt(1.0)
    StepLR(opt, step_size=2, gamma=0.5)
    opt.param_groups[0]["lr"] = 0.25
    resumed = ExponentialLR(opt, gamma=0.5, last_epoch=3)
    assert resumed.base_lrs == [1.0]
    assert resumed.last_epoch == 4
    assert resumed.get_last_lr() == [0.125]
    with pytest.raises(KeyError, match="initial_lr"):
        ExponentialLR(_opt(), gamma=0.5, last_epoch=3)


def test_reduce_on_plateau_traced_by_hand():
    opt = _opt(1.0)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=2)
    # best: 1, 0.9, then three non-improving epochs (0.9 is not below 0.9 * (1 - 1e-4))
    lrs = []
    for metric in [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.85, 0.85, 0.85]:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]
    assert sched.best == 0.8
    assert opt.param_groups[0]["lr"] == 0.25


def test_reduce_on_plateau_cooldown_min_lr_and_mode_max():
    opt = _opt(1.0, second_lr=0.3)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=0, cooldown=2, min_lr=[0.2, 0.25])
    lrs = []
    for _ in range(6):
        sched.step(pn.tensor(1.0))  # Tensors and NumPy scalars are accepted
        lrs.append(sched.get_last_lr())
    # epoch 1 improves on inf; reductions at epochs 2 and 5; floors 0.2 and 0.25 hold
    assert lrs == [[1.0, 0.3], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.25, 0.25],
                   [0.25, 0.25]]

    opt = _opt(1.0)
    sched = ReduceLROnPlateau(opt, mode="max", threshold=0.1, threshold_mode="abs", patience=0,
                              factor=0.1)
    for metric in [0.5, 0.65, 0.7, 0.95]:
        sched.step(np.float64(metric))
    # 0.65 > 0.5 + 0.1 improves; 0.7 does not (reduce); 0.95 > 0.65 + 0.1 improves
    assert sched.get_last_lr() == [pytest.approx(0.1)]
    assert sched.best == 0.95


def test_reduce_on_plateau_state_dict_round_trip():
    opt = _opt(1.0)
    sched = ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for metric in [3.0, 3.0]:
        sched.step(metric)
    opt2 = _opt(1.0)
    sched2 = ReduceLROnPlateau(opt2)
    sched2.load_state_dict(sched.state_dict())
    assert sched2.patience == 1 and sched2.num_bad_epochs == 1 and sched2.best == 3.0
    sched.step(3.0)
    sched2.step(3.0)
    assert sched2.get_last_lr() == sched.get_last_lr() == [0.5] == [opt2.param_groups[0]["lr"]]


@pytest.mark.parametrize(
    "make,shown",
    [
        (lambda o: StepLR(o, step_size=0), "0"),
        (lambda o: StepLR(o, step_size=2, gamma=-0.5), "-0.5"),
        (lambda o: ExponentialLR(o, gamma=0.0), "0.0"),
        (lambda o: CosineAnnealingLR(o, T_max=0), "0"),
        (lambda o: CosineAnnealingLR(o, T_max=3, eta_min=-1e-3), "-0.001"),
        (lambda o: ReduceLROnPlateau(o, factor=1.0), "1.0"),
        (lambda o: ReduceLROnPlateau(o, mode="minimum"), "'minimum'"),
        (lambda o: ReduceLROnPlateau(o, threshold_mode="relative"), "'relative'"),
        (lambda o: ReduceLROnPlateau(o, patience=-1), "-1"),
        (lambda o: ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), "[0.1, 0.2]"),
    ],
)
def test_bad_values_raise_with_the_value(make, shown):
    opt = _opt()
    with pytest.raises(ValueError) as info:
        make(opt)
    assert shown in str(info.value)


def test_needs_an_optimizer():
    with pytest.raises(TypeError, match="list"):
        StepLR([], step_size=1)
    with pytest.raises(TypeError, match="dict"):
        ReduceLROnPlateau({})


def test_works_with_adam_and_keeps_state():
    w = pn.tensor([1.0, 2.0], requires_grad=True)
    opt = Adam([w], lr=0.1)
    sched = ExponentialLR(opt, gamma=0.5)
    for _ in range(2):
        w.grad = np.array([1.0, 1.0])
        opt.step()
        sched.step()
    assert opt.state[w]["step"] == 2
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)
    assert math.isclose(sched.get_last_lr()[0], 0.025)
