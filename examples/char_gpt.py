"""A character-level GPT on a text file: nanoGPT's "baby GPT" in a page of plainnet.

The model reads ``block_size`` characters and predicts, at every position, the next one:
token and position embeddings, ``n_layer`` pre-norm transformer blocks (causal self-attention
and a GELU feed-forward network, each in a residual connection), a final LayerNorm and the
token embedding reused as the output layer (weight tying). nanoGPT's CPU configuration:
4 layers, 4 heads, 128 features, 64 characters of context, batches of 12, AdamW, no
dropout, no biases.

Run: ``python examples/char_gpt.py [text file] [--iters N]``. The text defaults to the
Shakespeare text at ``../shared/data/shakespeare.txt`` when present, else a sonnet built into
this script (public domain). It trains 200 steps by default, a minute or less on a laptop
(nanoGPT trains the baby GPT for ``--iters 2000``, reaching a validation loss near 1.9 on
Shakespeare), and prints the training and validation loss every ``--eval-every`` steps, the
final losses as ``first train loss: ...`` and ``final train loss: ...``, and a sample of
generated text.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

import plainnet as pn
from plainnet.nn import functional as F

DEFAULT_TEXT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                            "shakespeare.txt")
SONNET_18 = """Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date;
Sometime too hot the eye of heaven shines,
And often is his gold complexion dimm'd;
And every fair from fair sometime declines,
By chance or nature's changing course untrimm'd;
But thy eternal summer shall not fade,
Nor lose possession of that fair thou ow'st;
Nor shall death brag thou wander'st in his shade,
When in eternal lines to time thou grow'st:
So long as men can breathe or eyes can see,
So long lives this, and this gives life to thee.
"""


class CausalSelfAttention(pn.nn.Module):
    """Every head's queries, keys and values from one matrix product, attention in one op
    that lets position ``t`` see positions ``<= t`` only, and an output projection."""

    def __init__(self, n_embd: int, n_head: int, bias: bool = False):
        super().__init__()
        self.n_head = n_head
        self.c_attn = pn.nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = pn.nn.Linear(n_embd, n_embd, bias=bias)

    def forward(self, x):
        qkv = self.c_attn(x)  # (B, T, 3C): the heads' q, k, v side by side
        return self.c_proj(F.packed_attention(qkv, self.n_head, is_causal=True))


class MLP(pn.nn.Module):
    def __init__(self, n_embd: int, bias: bool = False, gelu: str = "none"):
        super().__init__()
        self.c_fc = pn.nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.c_proj = pn.nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.gelu = gelu

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate=self.gelu))


class Block(pn.nn.Module):
    def __init__(self, n_embd: int, n_head: int, bias: bool = False, gelu: str = "none"):
        super().__init__()
        self.ln_1 = pn.nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, bias)
        self.ln_2 = pn.nn.LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, bias, gelu)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


@pn.nn.register
class GPT(pn.nn.Module):
    """nanoGPT's model: ``GPT(vocab_size)(idx)`` maps ``(B, T)`` token ids to next-token
    logits ``(B, T, vocab_size)``. ``gelu="tanh"`` uses GELU's tanh form (GPT-2's)."""

    def __init__(self, vocab_size: int, block_size: int = 64, n_layer: int = 4,
                 n_head: int = 4, n_embd: int = 128, bias: bool = False, gelu: str = "none"):
        super().__init__()
        self.config = dict(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer,
                           n_head=n_head, n_embd=n_embd, bias=bias, gelu=gelu)
        self.block_size = block_size
        self.wte = pn.nn.Embedding(vocab_size, n_embd)
        self.wpe = pn.nn.Embedding(block_size, n_embd)
        self.h = pn.nn.ModuleList([Block(n_embd, n_head, bias, gelu) for _ in range(n_layer)])
        self.ln_f = pn.nn.LayerNorm(n_embd, bias=bias)
        self._init_weights(n_layer)

    def _init_weights(self, n_layer: int) -> None:
        """nanoGPT's: N(0, 0.02) for every matrix, 0.02 / sqrt(2 n_layer) for the residual
        projections, biases 0."""
        for name, p in self.named_parameters():
            if p.ndim == 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj.weight") else 0.02
                pn.nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias") and "ln" not in name:
                pn.nn.init.zeros_(p)

    def forward(self, idx):
        t = idx.shape[-1]
        if t > self.block_size:
            raise ValueError(f"a sequence of {t} tokens is longer than block_size "
                             f"{self.block_size}")
        x = self.wte(idx) + self.wpe(np.arange(t))
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # weight tying: logits = x E^T

    def get_config(self) -> dict:
        return dict(self.config)


def loss_of(model, x, y):
    """Mean cross-entropy of the next-token predictions (``(B, T, V)`` logits, ``axis=-1``)."""
    return pn.losses.cross_entropy(model(x), y, axis=-1)


def make_optimizer(model, lr: float = 1e-3, weight_decay: float = 0.1):
    """AdamW as nanoGPT: weight decay on the matrices and embeddings only."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    return pn.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                           {"params": rest, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.99))


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
    parser.add_argument("path", nargs="?", default=None,
                        help="a text file (default: Shakespeare if present, else a sonnet)")
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--sample", type=int, default=300, help="characters to generate")
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args(argv)
    data = load_text(args.path)
    return 2 if data is None else train(args, data)


def load_text(path: str | None):
    """The text to train on: ``path``; without one, Shakespeare where present, else the
    sonnet 40 times (a text to memorize). None (and a message) for a missing file."""
    if path is not None:
        if not os.path.isfile(path):
            print(f"no text file at {path}", file=sys.stderr)
            return None
        return pn.datasets.text(path)
    if os.path.isfile(DEFAULT_TEXT):
        return pn.datasets.text(DEFAULT_TEXT)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "sonnet18.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(SONNET_18 * 40)
        return pn.datasets.text(path)


def train(args, data) -> int:
    """Train the GPT on ``data`` as ``args`` say, print the losses and a sample."""
    pn.seed(args.seed)
    model = GPT(data.vocab_size, args.block_size, args.n_layer, args.n_head, args.n_embd)
    optimizer = make_optimizer(model, args.lr)
    rng = np.random.default_rng(args.seed)
    n_params = sum(p.size for p in model.parameters())
    print(f"{data}\n{n_params / 1e6:.2f}M parameters")
    start = time.perf_counter()
    first = None
    for step in range(args.iters + 1):
        if step % args.eval_every == 0 or step == args.iters:
            losses = estimate_loss(model, data, args.block_size, args.batch_size)
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
    context = data.encode("\n")
    ids = pn.nn.generate(model, context, args.sample, temperature=0.8, top_k=20,
                         seed=args.seed)
    print("-" * 40 + "\n" + data.decode(ids))
    return 0


if __name__ == "__main__":
    sys.exit(main())
