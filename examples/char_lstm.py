"""A character-level LSTM language model on a text file, in a page of plainnet.

Each character is embedded, a 2-layer LSTM (hidden size 256) reads the sequence, and a linear
layer maps every step's state to the logits of the next character (Karpathy's char-rnn).
Training draws random windows of ``--block-size`` characters, minimizes the cross-entropy of
the next character with Adam, and clips the gradient's norm (recurrent networks need it).

Run: ``python examples/char_lstm.py [text file] [--iters N]``. The text defaults to the
Shakespeare text at ``../shared/data/shakespeare.txt`` when present, else the sonnet that
``char_gpt.py`` builds in. Prints the training and validation loss every ``--eval-every`` steps,
the first and final losses as ``first train loss: ...`` and ``final train loss: ...``, and a
sample of generated text. The defaults are a short run (hidden size 128, 150 steps); Karpathy's
char-rnn trains hidden size 256 or more for thousands of steps (``--hidden-size 256 --iters
3000``).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from char_gpt import estimate_loss, load_text  # the same texts and evaluation

import plainnet as pn


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=None,
                        help="a text file (default: Shakespeare if present, else a sonnet)")
    parser.add_argument("--iters", type=int, default=150)
    parser.add_argument("--eval-every", type=int, default=75)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--sample", type=int, default=300, help="characters to generate")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--out", help="save the trained model to this .safetensors file")
    args = parser.parse_args(argv)
    data = load_text(args.path)
    return 2 if data is None else train(args, data)


def train(args, data) -> int:
    """Train the LSTM on ``data`` as ``args`` say, print the losses and a sample."""
    pn.seed(args.seed)
    model = CharLSTM(data.vocab_size, hidden_size=args.hidden_size, block_size=args.block_size)
    optimizer = pn.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    print(f"{data}\n{sum(p.size for p in model.parameters()) / 1e6:.2f}M parameters")
    start, first = time.perf_counter(), None
    for step in range(args.iters + 1):
        if step % args.eval_every == 0 or step == args.iters:
            losses = estimate_loss(model, data, args.block_size, args.batch_size, iters=5)
            first = losses if first is None else first
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
    print(f"first train loss: {first['train']:.4f}\nfinal train loss: {losses['train']:.4f}")
    print(f"final val loss: {losses['val']:.4f}")
    ids = pn.nn.generate(model, data.encode("\n"), args.sample, temperature=0.8, top_k=20,
                         seed=args.seed)
    print("-" * 40 + "\n" + data.decode(ids))
    if args.out:
        pn.save(model, args.out)
        print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
