"""Kernel launches and host waits per training step: what limits a small network on a GPU.

On a GPU a small network (784-128-64-10 at batch 1024) is limited by how fast the host
launches kernels, not by the arithmetic, and every read of a value by the host makes it wait
for the device. Both can be counted on any machine: plainnet's step runs on the fake device of
``tests/fake_device.py``, which counts every array operation that would be a kernel launch on a
GPU (joins as CuPy makes them: one copy per array for up to 8 arrays) and every value the host
reads; PyTorch's step is profiled on the CPU, counting the ATen
operations that do work (each a kernel launch on a GPU, except that on CUDA PyTorch's foreach
Adam updates all parameters in a few launches, so its count here is an upper bound).

    python benchmarks/count_launches.py [--batch-size 1024]

The counts are of one training step after warm-up: forward, loss, backward, the optimizer's
step and (plainnet) ``pn.fit``'s read of the loss and check of the gradients; for plainnet
also with ``cuda_graph=True``, where the forward, loss, backward and check are one launch of
a recorded graph (counted as one launch).
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import sys

import numpy as np

SIZES = (784, 128, 64, 10)


def mlp(nn):
    """The MLP of ``SIZES`` with ReLUs, from ``nn`` (``plainnet.nn`` or ``torch.nn``: the
    same names and arguments)."""
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def plainnet_step(batch_size: int, steps: int = 4, cuda_graph: bool = False
                  ) -> tuple[int, int, collections.Counter]:
    """(launches, host waits, launches by name) per step of ``pn.fit`` on the fake device
    (with ``cuda_graph``: a step once the graph is recorded)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
    import plainnet as pn
    from fake_device import Counts, FakeArray, FakeBackend
    from plainnet import backend

    backend.register_backend(FakeBackend("fake", FakeArray))
    pn.seed(0)
    model = mlp(pn.nn)
    rng = np.random.default_rng(0)
    X = rng.random((2 * steps * batch_size, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], len(X))
    optimizer = pn.optim.Adam(model.parameters())

    def epoch(n_steps):
        """Launches, waits and launches by name of one epoch of ``n_steps`` steps."""
        Counts.reset()
        Counts.log = []
        n = n_steps * batch_size
        pn.fit(model, X[:n], y[:n], optimizer=optimizer, epochs=1, batch_size=batch_size,
               metrics=(), verbose=0, device="fake", cuda_graph=cuda_graph)
        found = (Counts.launches, Counts.syncs, collections.Counter(Counts.log))
        Counts.log = None
        return found

    epoch(1)  # warm-up: the optimizer's state is made
    one, two = epoch(steps), epoch(2 * steps)
    # the difference is ``steps`` steps: the work of an epoch (shuffle, snapshot) cancels, and
    # so do a graph's first steps (two without it, the recording)
    names = collections.Counter({k: (two[2][k] - one[2][k]) // steps for k in two[2]})
    return (two[0] - one[0]) // steps, (two[1] - one[1]) // steps, +names


#: ATen operations that describe memory or read a number and launch no kernel.
_FREE = {"aten::empty", "aten::empty_like", "aten::empty_strided", "aten::as_strided",
         "aten::view", "aten::detach", "aten::detach_", "aten::resolve_conj",
         "aten::lift_fresh", "aten::_local_scalar_dense", "aten::item", "aten::t",
         "aten::transpose", "aten::expand", "aten::reshape", "aten::_reshape_alias",
         "aten::alias", "aten::to", "aten::_to_copy", "aten::zeros_like"}


def _is_kernel(name: str) -> bool:
    """Operations that are one kernel on a GPU whatever they call on the CPU: a matrix product
    (on CUDA its bias comes in the same cuBLAS call), a reduction, and each foreach operation
    of the optimizer (one multi-tensor launch over every parameter on CUDA)."""
    return name in ("aten::addmm", "aten::mm", "aten::sum") or name.startswith("aten::_foreach_")


def _count_kernels(event, names: collections.Counter) -> None:
    name = event.name
    if name.startswith("aten::") and _is_kernel(name):
        names[name] += 1
        return
    if name in _FREE:
        return
    children = [c for c in event.cpu_children if c.name.startswith("aten::") or
                not c.name.startswith("aten::") and c.cpu_children]
    if name.startswith("aten::") and not any(c.name.startswith("aten::") and
                                             c.name not in _FREE for c in children):
        names[name] += 1  # an operation doing its own work
        return
    for child in event.cpu_children:
        _count_kernels(child, names)


def torch_step(batch_size: int) -> tuple[int, int, collections.Counter]:
    """(kernel launches it would make on a GPU, host reads, launches by name) per step of a
    PyTorch loop, with the foreach Adam that PyTorch uses on CUDA."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    torch.manual_seed(0)
    model = mlp(torch.nn)
    optimizer = torch.optim.Adam(model.parameters(), foreach=True)
    X = torch.rand(batch_size, SIZES[0])
    y = torch.randint(0, SIZES[-1], (batch_size,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
        return loss.item()  # the usual per-step read of the loss

    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    names: collections.Counter = collections.Counter()
    for event in prof.events():
        if event.cpu_parent is None:
            _count_kernels(event, names)
    return sum(names.values()), 1, names


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args(argv)
    print(f"784-128-64-10 MLP, batch {args.batch_size}, Adam: one training step")
    for cuda_graph in (False, True):
        launches, waits, names = plainnet_step(args.batch_size, cuda_graph=cuda_graph)
        print(f"plainnet{', cuda_graph=True' if cuda_graph else ''}: {launches} kernel "
              f"launches, {waits} host wait(s)")
        print("  " + ", ".join(f"{k} {v}" for k, v in names.most_common()))
    try:
        t_launches, t_waits, t_names = torch_step(args.batch_size)
    except ImportError:
        print("PyTorch: not installed (pip install -e '.[bench]')")
        return
    print(f"PyTorch, profiled on the CPU: {t_launches} kernel launches on a GPU, "
          f"{t_waits} host wait(s) (loss.item())")
    print("  " + ", ".join(f"{k.removeprefix('aten::')} {v}" for k, v in t_names.most_common()))


if __name__ == "__main__":
    main()
