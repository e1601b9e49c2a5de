"""Character-level LSTM training throughput: plainnet vs ``torch.nn.LSTM`` (CPU eager), each
library alone in its own fresh process (``benchmarks/fair.py``), alternated, medians.

The job (issue 18): a 2-layer LSTM with hidden size 256 over 64-dimensional character
embeddings, a linear read-out to the vocabulary, cross-entropy on the next character, Adam
(lr 2e-3), float32, batches of 32 windows of 64 characters from ``shared/data/shakespeare.txt``
(a synthetic text of the same alphabet when it is absent). Each job trains a few untimed
warm-up steps, then ``--steps`` timed steps, and reports tokens/s and the mean training loss of
the timed steps (the same seed gives both libraries the same batches, not the same weights).

Beside them, the matrix products of one step (the input projection of the whole sequence, the
per-step recurrent product, the read-out) timed alone in NumPy and in PyTorch, each in its own
process: what the BLAS allows.

    python benchmarks/bench_lstm.py [--rounds 5] [--steps 20]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fair  # noqa: E402

TEXT = HERE.parent.parent / "shared" / "data" / "shakespeare.txt"
VOCAB_EMBED, HIDDEN, LAYERS = 64, 256, 2


def load_tokens() -> tuple[np.ndarray, int]:
    """The text as integer codes, and the vocabulary size."""
    if TEXT.is_file():
        text = TEXT.read_text(encoding="utf-8")
    else:  # the same alphabet, random words: the speed does not depend on the text
        rng = np.random.default_rng(0)
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz ,.\n"))
        text = "".join(rng.choice(letters, 200_000))
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    return np.array([lookup[c] for c in text], dtype=np.int64), len(chars)


def batches(tokens: np.ndarray, batch: int, block: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        starts = rng.integers(0, len(tokens) - block - 1, batch)
        idx = starts[:, None] + np.arange(block)
        yield tokens[idx], tokens[idx + 1]


def timed_steps(step, tokens, batch: int, block: int, steps: int, warmup: int) -> dict:
    """Run ``step(xb, yb)`` on ``warmup`` untimed then ``steps`` timed batches: the job's
    result (tokens/s and the mean loss of the timed steps)."""
    data = list(batches(tokens, batch, block, warmup + steps))
    for xb, yb in data[:warmup]:
        step(xb, yb)
    losses = []
    start = time.perf_counter()
    for xb, yb in data[warmup:]:
        losses.append(step(xb, yb))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "items": steps * batch * block, "loss": float(np.mean(losses))}


def plainnet_job(batch: int, block: int, steps: int, warmup: int = 3) -> dict:
    import plainnet as pn

    tokens, vocab = load_tokens()
    pn.seed(0)

    class CharLSTM(pn.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = pn.nn.Embedding(vocab, VOCAB_EMBED)
            self.lstm = pn.nn.LSTM(VOCAB_EMBED, HIDDEN, num_layers=LAYERS, batch_first=True)
            self.head = pn.nn.Linear(HIDDEN, vocab)

        def forward(self, idx):
            out, _ = self.lstm(self.embed(idx))
            return self.head(out)

    model = CharLSTM()
    opt = pn.optim.Adam(model.parameters(), lr=2e-3)

    def step(xb, yb):
        logits = model(xb)
        loss = pn.losses.cross_entropy(logits.reshape(-1, vocab), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    return timed_steps(step, tokens, batch, block, steps, warmup)


def torch_job(batch: int, block: int, steps: int, warmup: int = 3) -> dict:
    import torch

    tokens, vocab = load_tokens()
    torch.manual_seed(0)

    class CharLSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(vocab, VOCAB_EMBED)
            self.lstm = torch.nn.LSTM(VOCAB_EMBED, HIDDEN, num_layers=LAYERS, batch_first=True)
            self.head = torch.nn.Linear(HIDDEN, vocab)

        def forward(self, idx):
            out, _ = self.lstm(self.embed(idx))
            return self.head(out)

    model = CharLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)

    def step(xb, yb):
        logits = model(torch.from_numpy(xb))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab),
                                                 torch.from_numpy(yb).reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    return timed_steps(step, tokens, batch, block, steps, warmup)


def gemm_job(library: str, batch: int, block: int, repeats: int = 20) -> dict:
    """The forward products of one step, alone: GFLOP/s of the BLAS on these shapes."""
    shapes = [  # (m, k, n) of a (m, k) @ (k, n) product
        (batch * block, VOCAB_EMBED, 4 * HIDDEN),  # layer 0 input projection, whole sequence
        (batch * block, HIDDEN, 4 * HIDDEN),       # layer 1 input projection
        (batch, HIDDEN, 4 * HIDDEN),               # one recurrent step (x block x layers)
        (batch * block, HIDDEN, 65),               # the read-out
    ]
    counts = [1, 1, 2 * block, 1]
    rng = np.random.default_rng(0)
    if library == "torch":
        import torch

        mats = [(torch.from_numpy(rng.random((m, k), np.float32)),
                 torch.from_numpy(rng.random((k, n), np.float32))) for m, k, n in shapes]
    else:
        mats = [(rng.random((m, k), np.float32), rng.random((k, n), np.float32))
                for m, k, n in shapes]
    for a, b in mats:
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        for (a, b), c in zip(mats, counts, strict=True):
            for _ in range(c):
                a @ b
    seconds = time.perf_counter() - start
    flops = repeats * sum(2 * m * k * n * c for (m, k, n), c in zip(shapes, counts, strict=True))
    return {"seconds": seconds, "gflops": flops / seconds / 1e9}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--block", type=int, default=64)
    args = parser.parse_args(argv)
    common = {"batch": args.batch, "block": args.block, "steps": args.steps}
    result = fair.compare({"plainnet": ("bench_lstm:plainnet_job", common),
                           "pytorch": ("bench_lstm:torch_job", common)}, rounds=args.rounds)
    print(f"## 2-layer LSTM (hidden {HIDDEN}), batch {args.batch} x {args.block} characters\n")
    print(fair.markdown(result, baseline="pytorch", unit="tokens/s", extra=("loss",)))
    gemm = fair.compare({"numpy": ("bench_lstm:gemm_job", {"library": "numpy", "batch":
                                                           args.batch, "block": args.block}),
                         "pytorch": ("bench_lstm:gemm_job", {"library": "torch", "batch":
                                                             args.batch, "block": args.block})},
                        rounds=args.rounds)
    print("\nThe step's forward matrix products alone (float32 GFLOP/s):")
    for name in ("numpy", "pytorch"):
        print(f"- {name}: {gemm[name].median('gflops'):.1f}")


if __name__ == "__main__":
    main()
