"""Optimizer settings that between them run every update rule in each of its forms (and so
every fused kernel of :mod:`plainnet.optimize.rules`), shared by the kernel tests and the GPU
tests. Each case: ``(id, make(params) -> optimizer, the names of the kernels it runs)``."""

from __future__ import annotations

import plainnet as pn

CASES = [
    ("sgd", lambda p: pn.optim.SGD(p, lr=0.1), {"sgd"}),
    ("sgd-momentum", lambda p: pn.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3),
     {"sgd_momentum"}),
    ("sgd-nesterov-decay", lambda p: pn.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                                   weight_decay=0.01), {"sgd_nesterov"}),
    ("adagrad", lambda p: pn.optim.Adagrad(p, lr=0.1, lr_decay=0.05,
                                           initial_accumulator_value=0.1), {"adagrad"}),
    ("rmsprop", lambda p: pn.optim.RMSprop(p, lr=0.01), {"rmsprop"}),
    ("rmsprop-centered", lambda p: pn.optim.RMSprop(p, lr=0.01, centered=True),
     {"rmsprop_centered"}),
    ("rmsprop-momentum", lambda p: pn.optim.RMSprop(p, lr=0.01, momentum=0.5),
     {"rmsprop_momentum"}),
    ("rmsprop-centered-momentum",
     lambda p: pn.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
     {"rmsprop_centered_momentum"}),
    ("adam", lambda p: pn.optim.Adam(p, lr=0.01), {"adam"}),
    ("adam-amsgrad-maximize", lambda p: pn.optim.Adam(p, lr=0.01, amsgrad=True, maximize=True),
     {"adam_amsgrad"}),
    ("adamw", lambda p: pn.optim.AdamW(p, lr=0.01, weight_decay=0.1), {"adam"}),
]
IDS = [case[0] for case in CASES]
