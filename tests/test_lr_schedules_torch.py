"""Every learning-rate schedule step for step against ``torch.optim.lr_scheduler`` (where
PyTorch is installed), plus the equations themselves and bad input (everywhere)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import plainnet as pn
from plainnet.optim import lr_scheduler as pls

EPOCHS = 40


def _optimizers(opt_name: str, lr: float = 0.1, groups: int = 1):
    """The same optimizer in plainnet and (if installed) PyTorch, ``groups`` param groups."""
    params = [{"params": [pn.tensor(np.zeros(2), requires_grad=True)], "lr": lr * (i + 1)}
              for i in range(groups)]
    kwargs = {"momentum": 0.9} if opt_name == "SGD" else {}
    ours = getattr(pn.optim, opt_name)(params, lr=lr, **kwargs)
    try:
        import torch
    except ImportError:
        return ours, None
    tparams = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr * (i + 1)}
               for i in range(groups)]
    return ours, getattr(torch.optim, opt_name)(tparams, lr=lr, **kwargs)


def _trajectory(scheduler, optimizer, steps: int = EPOCHS, key: str = "lr"):
    values = [[g[key] for g in optimizer.param_groups]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        values.append([g[key] for g in optimizer.param_groups])
    return values


CASES = {
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 15], gamma=0.5),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=6),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=9, power=2.0),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e + 0.01 * e),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.9),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=1e-3),
    "CosineAnnealingWarmRestarts_1": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=EPOCHS),
    "OneCycleLR_3phase_linear": lambda m, o: m.OneCycleLR(
        o, max_lr=[0.5, 2.0], epochs=4, steps_per_epoch=10, three_phase=True,
        anneal_strategy="linear", pct_start=0.25),
    "CyclicLR": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR_tri2": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                             step_size_down=5, mode="triangular2"),
    "CyclicLR_exp": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                            mode="exp_range", gamma=0.97),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9),
            m.CosineAnnealingLR(o, T_max=6)], milestones=[5, 12]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=3), m.ExponentialLR(o, gamma=0.9)]),
    "SequentialLR_steps": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=2), m.StepLR(o, step_size=4, gamma=0.5),
            m.PolynomialLR(o, total_iters=8)], milestones=[3, 20]),
}


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_schedule_equals_pytorch_step_for_step(case, opt_name):
    torch = pytest.importorskip("torch")
    groups = 2 if case == "OneCycleLR_3phase_linear" else 1
    ours, theirs = _optimizers(opt_name, groups=groups)
    mine = _trajectory(CASES[case](pls, ours), ours)
    reference = _trajectory(CASES[case](torch.optim.lr_scheduler, theirs), theirs)
    np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-15)
    if case.startswith(("OneCycle", "Cyclic")):  # the momentum cycles too
        key = "betas" if opt_name == "Adam" else "momentum"
        m = [g[key] for g in ours.param_groups]
        t = [g[key] for g in theirs.param_groups]
        np.testing.assert_allclose(np.array(m, dtype=float), np.array(t, dtype=float),
                                   rtol=1e-12)


def test_linear_warmup_by_its_equation():
    opt, _ = _optimizers("SGD", lr=1.0)
    s = pls.LinearLR(opt, start_factor=0.2, end_factor=1.0, total_iters=4)
    lrs = [row[0] for row in _trajectory(s, opt, 6)]
    np.testing.assert_allclose(lrs, [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0])


def test_one_cycle_peaks_at_max_lr_and_ends_at_the_minimum():
    opt, _ = _optimizers("SGD", lr=1.0)
    s = pls.OneCycleLR(opt, max_lr=2.0, total_steps=100, pct_start=0.3)
    lrs = [row[0] for row in _trajectory(s, opt, 99)]
    assert lrs[0] == pytest.approx(2.0 / 25)
    assert max(lrs) == pytest.approx(2.0) and int(np.argmax(lrs)) == 29
    assert lrs[-1] == pytest.approx(2.0 / 25 / 1e4)
    with pytest.raises(ValueError, match="total_steps"):
        s.step()
        s.step()


def test_warm_restarts_restart_at_the_period():
    opt, _ = _optimizers("SGD", lr=1.0)
    s = pls.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
    lrs = [row[0] for row in _trajectory(s, opt, 10)]
    assert lrs[0] == lrs[3] == lrs[9] == 1.0
    assert lrs[1] == pytest.approx((1 + math.cos(math.pi / 3)) / 2)


def test_sequential_restarts_the_next_schedule_at_its_milestone():
    opt, _ = _optimizers("SGD", lr=1.0)
    s = pls.SequentialLR(opt, [pls.ConstantLR(opt, factor=0.5, total_iters=10),
                               pls.ExponentialLR(opt, gamma=0.5)], milestones=[3])
    lrs = [row[0] for row in _trajectory(s, opt, 5)]
    np.testing.assert_allclose(lrs, [0.5, 0.5, 0.5, 1.0, 0.5, 0.25])


def test_schedules_round_trip_their_state():
    opt, _ = _optimizers("SGD", lr=1.0)
    s = pls.SequentialLR(opt, [pls.LinearLR(opt, total_iters=3),
                               pls.CosineAnnealingLR(opt, T_max=5)], milestones=[3])
    for _ in range(4):
        s.step()
    state = s.state_dict()
    opt2, _ = _optimizers("SGD", lr=1.0)
    s2 = pls.SequentialLR(opt2, [pls.LinearLR(opt2, total_iters=3),
                                 pls.CosineAnnealingLR(opt2, T_max=5)], milestones=[3])
    s2.load_state_dict(state)
    for g in opt2.param_groups:
        g["lr"] = opt.param_groups[0]["lr"]
    s.step()
    s2.step()
    assert s.get_last_lr() == pytest.approx(s2.get_last_lr())


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda o: pls.MultiStepLR(o, milestones=3), TypeError, "milestones"),
        (lambda o: pls.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
        (lambda o: pls.LambdaLR(o, lr_lambda=3), TypeError, "lr_lambda"),
        (lambda o: pls.LambdaLR(o, lr_lambda=lambda e: "x"), TypeError, "number"),
        (lambda o: pls.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps"),
        (lambda o: pls.OneCycleLR(o, max_lr=1.0, total_steps=5, anneal_strategy="sin"),
         ValueError, "anneal_strategy"),
        (lambda o: pls.CyclicLR(o, 0.1, 1.0, mode="square"), ValueError, "mode"),
        (lambda o: pls.SequentialLR(o, [pls.StepLR(o, 2)], milestones=[3]), ValueError,
         "milestones"),
        (lambda o: pls.ChainedScheduler([pls.ReduceLROnPlateau(o)]), ValueError,
         "ReduceLROnPlateau"),
        (lambda o: pls.ChainedScheduler([3]), TypeError, "not a learning-rate scheduler"),
        (lambda o: pls.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
    ],
)
def test_bad_arguments_are_refused_clearly(make, error, match):
    opt, _ = _optimizers("SGD")
    with pytest.raises(error, match=match):
        make(opt)


def test_cycle_momentum_needs_momentum():
    opt = pn.optim.Adagrad([pn.tensor(np.zeros(2), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        pls.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    pls.OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False)
