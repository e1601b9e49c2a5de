"""A character-level LSTM language model on a text file, in a page of plainnet.

Each character is embedded, a 2-layer LSTM (hidden size 256) reads the sequence, and a linear
layer maps every step's state to the logits of the next character (Karpathy's char-rnn).
Training draws random windows of ``--block-size`` characters, minimizes the cross-entropy of
the next character with Adam, and clips the gradient's norm (recurrent networks need it).

Run: ``python examples/char_lstm.py [text file] [--iters N]`` (default: the Shakespeare text at
``../shared/data/shakespeare.txt`` when present). Prints the training and validation loss every
``--eval-every`` steps and a sample of generated text at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import plainnet as pn

DEFAULT_TEXT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                            "shakespeare.txt")


@pn.nn.register
class CharLSTM(pn.nn.Module):
    """``CharLSTM(vocab_size)(idx)`` maps ``(B, T)`` character ids to next-character logits
    ``(B, T, vocab_size)``."""

    def __init__(self, vocab_size: int, n_embd: int = 64, hidden_size: int = 256,
                 num_layers: int = 2, block_size: int = 64):
        super().__init__()
        self.block_size = block_size
        self.embed = pn.nn.Embedding(vocab_size, n_embd)
        self.lstm = pn.nn.LSTM(n_embd, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = pn.nn.Linear(hidden_size, vocab_size)
        self.config = dict(vocab_size=vocab_size, n_embd=n_embd, hidden_size=hidden_size,
                           num_layers=num_layers, block_size=block_size)

    def forward(self, idx):
        out, _ = self.lstm(self.embed(idx))
        return self.head(out)

    def get_config(self) -> dict:
        return dict(self.config)


def loss_of(model, x, y):
    """Mean cross-entropy of the next-character predictions (``(B, T, V)`` logits)."""
    return pn.losses.cross_entropy(model(x), y, axis=-1)


def estimate_loss(model, data, block_size, batch_size, iters=10, rng=0):
    rng = np.random.default_rng(rng)
    out = {}
    with pn.no_grad():
        for split in ("train", "val"):
            out[split] = float(np.mean([float(loss_of(model, *data.batch(
                split, batch_size, block_size, rng)).data) for _ in range(iters)]))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=DEFAULT_TEXT, help="a text file")
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--sample", type=int, default=300, help="characters to generate")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--out", help="save the trained model to this .safetensors file")
    args = parser.parse_args(argv)
    if not os.path.exists(args.path):
        print(f"no text file at {args.path}; give one: python examples/char_lstm.py FILE",
              file=sys.stderr)
        return 2
    data = pn.datasets.text(args.path)
    pn.seed(args.seed)
    model = CharLSTM(data.vocab_size, hidden_size=args.hidden_size, block_size=args.block_size)
    optimizer = pn.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    print(f"{data}\n{sum(p.size for p in model.parameters()) / 1e6:.2f}M parameters")
    start = time.perf_counter()
    for step in range(args.iters + 1):
        if step % args.eval_every == 0 or step == args.iters:
            losses = estimate_loss(model, data, args.block_size, args.batch_size)
            print(f"step {step}: train loss {losses['train']:.4f}, val loss "
                  f"{losses['val']:.4f} ({time.perf_counter() - start:.1f} s)")
        if step == args.iters:
            break
        x, y = data.batch("train", args.batch_size, args.block_size, rng)
        loss = loss_of(model, x, y)
        optimizer.zero_grad()
        loss.backward()
        pn.optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    ids = pn.nn.generate(model, data.encode("\n"), args.sample, temperature=0.8, top_k=20,
                         seed=args.seed)
    print("-" * 40 + "\n" + data.decode(ids))
    if args.out:
        pn.save(model, args.out)
        print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
