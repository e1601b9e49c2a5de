"""Baby GPT training throughput: plainnet vs the same model in ``torch.nn`` (CPU eager), each
library alone in its own fresh process (``benchmarks/fair.py``), alternated, medians.

The job (issue 18): nanoGPT's "baby GPT" CPU configuration on the Shakespeare text
(``shared/data/shakespeare.txt``; a synthetic text of the same alphabet when it is absent):
4 layers, 4 heads, 128 features, context 64, batches of 12, no dropout, no biases, tied
token embedding, AdamW (lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on the matrices),
gradient clipping at 1, float32. plainnet's model is ``examples/char_gpt.py``'s ``GPT``;
PyTorch's is the same written with ``torch.nn`` and ``F.scaled_dot_product_attention``,
initialized the same way. Both use the same GELU (``--gelu``; default ``tanh``, which NumPy
computes several times faster than ``erf``; ``none`` is nanoGPT's exact GELU).

Reported:

* tokens/s of training (``--steps`` timed steps after 3 untimed ones), median of
  ``--rounds`` rounds, and the ratio plainnet / PyTorch;
* with ``--loss-iters N`` (the issue: 500), the training loss after N iterations (the mean
  loss of 20 batches), per seed, for ``--seeds`` seeds, and the mean difference;
* the matrix products of one step (shapes below) timed alone, NumPy vs PyTorch, in GFLOP/s.

    python benchmarks/bench_gpt.py [--rounds 5] [--steps 30] [--threads 2] [--loss-iters 500]
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "examples"))

import fair  # noqa: E402

TEXT = HERE.parent.parent / "shared" / "data" / "shakespeare.txt"
CONFIG = dict(block_size=64, n_layer=4, n_head=4, n_embd=128)
BATCH = 12


def load_tokens() -> tuple[np.ndarray, int]:
    """The text as integer codes, and the vocabulary size."""
    if TEXT.is_file():
        text = TEXT.read_text(encoding="utf-8")
    else:  # the same alphabet, random letters: the speed does not depend on the text
        rng = np.random.default_rng(0)
        text = "".join(rng.choice(np.array(list("abcdefghijklmnopqrstuvwxyz ,.\n")), 300_000))
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    return np.array([lookup[c] for c in text], dtype=np.int64), len(chars)


def batches(tokens: np.ndarray, n: int, seed: int = 0, block: int = 64):
    """``n`` training batches ``(x, y)``, the same for both libraries."""
    rng = np.random.default_rng(seed)
    n_train = int(len(tokens) * 0.9)
    for _ in range(n):
        starts = rng.integers(0, n_train - block - 1, BATCH)
        idx = starts[:, None] + np.arange(block)
        yield tokens[idx], tokens[idx + 1]


# --------------------------------------------------------------------------- plainnet
def _plainnet_model(vocab: int, gelu: str, seed: int):
    from char_gpt import GPT, make_optimizer

    import plainnet as pn

    pn.seed(seed)
    model = GPT(vocab, gelu=gelu, **CONFIG)
    return pn, model, make_optimizer(model)


def _plainnet_step(pn, model, optimizer, x, y):
    from char_gpt import loss_of

    loss = loss_of(model, x, y)
    optimizer.zero_grad()
    loss.backward()
    pn.optim.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss


def plainnet_job(steps: int, gelu: str = "tanh", seed: int = 0, warmup: int = 3) -> dict:
    tokens, vocab = load_tokens()
    pn, model, opt = _plainnet_model(vocab, gelu, seed)
    data = list(batches(tokens, warmup + steps, seed))
    for x, y in data[:warmup]:
        _plainnet_step(pn, model, opt, x, y)
    start = time.perf_counter()
    for x, y in data[warmup:]:
        loss = _plainnet_step(pn, model, opt, x, y)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "items": steps * BATCH * CONFIG["block_size"],
            "loss": float(loss.data)}


def plainnet_loss_job(iters: int, gelu: str = "tanh", seed: int = 0) -> dict:
    tokens, vocab = load_tokens()
    pn, model, opt = _plainnet_model(vocab, gelu, seed)
    start = time.perf_counter()
    for x, y in batches(tokens, iters, seed):
        _plainnet_step(pn, model, opt, x, y)
    seconds = time.perf_counter() - start
    with pn.no_grad():
        from char_gpt import loss_of

        final = np.mean([float(loss_of(model, x, y).data)
                         for x, y in batches(tokens, 20, seed + 1000)])
    return {"seconds": seconds, "items": iters * BATCH * CONFIG["block_size"],
            "final_loss": float(final)}


# --------------------------------------------------------------------------- PyTorch
def _torch_model(vocab: int, gelu: str, seed: int):
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(seed)
    c, heads = CONFIG["n_embd"], CONFIG["n_head"]

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(c, 3 * c, bias=False)
            self.c_proj = nn.Linear(c, c, bias=False)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.c_attn(x).split(c, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(c, bias=False)
            self.attn = Attention()
            self.ln_2 = nn.LayerNorm(c, bias=False)
            self.c_fc = nn.Linear(c, 4 * c, bias=False)
            self.gelu = nn.GELU(approximate=gelu)
            self.c_proj = nn.Linear(4 * c, c, bias=False)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.c_proj(self.gelu(self.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, c)
            self.wpe = nn.Embedding(CONFIG["block_size"], c)
            self.h = nn.ModuleList([Block() for _ in range(CONFIG["n_layer"])])
            self.ln_f = nn.LayerNorm(c, bias=False)
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    std = 0.02 / math.sqrt(2 * CONFIG["n_layer"]) \
                        if name.endswith("c_proj.weight") else 0.02
                    nn.init.normal_(p, 0.0, std)

        def forward(self, idx):
            t = idx.shape[1]
            x = self.wte(idx) + self.wpe(torch.arange(t))
            for block in self.h:
                x = block(x)
            return self.ln_f(x) @ self.wte.weight.T

    model = GPT()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": rest, "weight_decay": 0.0}], lr=1e-3,
                            betas=(0.9, 0.99))
    return torch, model, opt


def _torch_step(torch, model, opt, x, y):
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss


def torch_job(steps: int, gelu: str = "tanh", seed: int = 0, warmup: int = 3) -> dict:
    tokens, vocab = load_tokens()
    torch, model, opt = _torch_model(vocab, gelu, seed)
    data = [(torch.from_numpy(x), torch.from_numpy(y))
            for x, y in batches(tokens, warmup + steps, seed)]
    for x, y in data[:warmup]:
        _torch_step(torch, model, opt, x, y)
    start = time.perf_counter()
    for x, y in data[warmup:]:
        loss = _torch_step(torch, model, opt, x, y)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "items": steps * BATCH * CONFIG["block_size"],
            "loss": float(loss.item())}


def torch_loss_job(iters: int, gelu: str = "tanh", seed: int = 0) -> dict:
    tokens, vocab = load_tokens()
    torch, model, opt = _torch_model(vocab, gelu, seed)
    start = time.perf_counter()
    for x, y in batches(tokens, iters, seed):
        _torch_step(torch, model, opt, torch.from_numpy(x), torch.from_numpy(y))
    seconds = time.perf_counter() - start
    with torch.no_grad():
        final = np.mean([
            float(torch.nn.functional.cross_entropy(
                model(torch.from_numpy(x)).flatten(0, 1), torch.from_numpy(y).view(-1)))
            for x, y in batches(tokens, 20, seed + 1000)])
    return {"seconds": seconds, "items": iters * BATCH * CONFIG["block_size"],
            "final_loss": float(final)}


# --------------------------------------------------------------------------- GEMMs
def gemm_shapes(vocab: int) -> list[tuple[str, tuple[int, ...], tuple[int, ...], int]]:
    """``(name, a shape, b shape, count per step)``: every matrix product of a training step
    (forward and backward) of the baby GPT."""
    n, c, t, h = BATCH * CONFIG["block_size"], CONFIG["n_embd"], CONFIG["block_size"], \
        CONFIG["n_head"]
    layers, d, heads = CONFIG["n_layer"], c // h, BATCH * h
    return [
        ("qkv x W^T", (n, c), (c, 3 * c), layers), ("qkv dX", (n, 3 * c), (3 * c, c), layers),
        ("qkv dW", (3 * c, n), (n, c), layers),
        ("proj / dX", (n, c), (c, c), 2 * layers), ("proj dW", (c, n), (n, c), layers),
        ("fc x W^T", (n, c), (c, 4 * c), layers), ("fc dX", (n, 4 * c), (4 * c, c), layers),
        ("fc dW", (4 * c, n), (n, c), layers),
        ("mlp proj", (n, 4 * c), (4 * c, c), layers), ("mlp proj dX", (n, c), (c, 4 * c), layers),
        ("mlp proj dW", (c, n), (n, 4 * c), layers),
        ("logits", (n, c), (c, vocab), 1), ("logits dX", (n, vocab), (vocab, c), 1),
        ("logits dW", (vocab, n), (n, c), 1),
        ("QK^T (batched)", (heads, t, d), (heads, d, t), layers),
        ("AV (batched)", (heads, t, t), (heads, t, d), layers),
        ("attn backward (batched, 4 per layer)", (heads, t, t), (heads, t, d), 4 * layers),
    ]


def gemm_job(library: str, repeats: int = 50) -> dict:
    """Seconds and GFLOP/s of each product of :func:`gemm_shapes`, float32."""
    rng = np.random.default_rng(0)
    out = {"seconds": 0.0}
    if library == "torch":
        import torch

        mm = torch.matmul
        make = lambda s: torch.from_numpy(rng.normal(size=s).astype(np.float32))  # noqa: E731
    else:
        mm = np.matmul
        make = lambda s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    for name, sa, sb, count in gemm_shapes(load_tokens()[1]):
        a, b = make(sa), make(sb)
        mm(a, b)
        start = time.perf_counter()
        for _ in range(repeats):
            mm(a, b)
        sec = (time.perf_counter() - start) / repeats
        flops = 2 * math.prod(sa) * sb[-1]
        out[name] = flops / sec / 1e9
        out["seconds"] += sec * count
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/OpenMP threads of each child (default: the library's)")
    parser.add_argument("--gelu", choices=("tanh", "none"), default="tanh")
    parser.add_argument("--loss-iters", type=int, default=0,
                        help="also train this many iterations and compare the losses")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
    me = str(pathlib.Path(__file__).resolve())
    common = {"steps": args.steps, "gelu": args.gelu}
    result = fair.compare({"plainnet": (f"{me}:plainnet_job", common),
                           "pytorch": (f"{me}:torch_job", common)},
                          rounds=args.rounds, env=env)
    print(f"## Baby GPT training, tokens/s (threads: {args.threads or 'default'}, "
          f"GELU {args.gelu})\n")
    print(fair.markdown(result, baseline="pytorch", unit="tokens/s", extra=("loss",)))
    print(f"\nplainnet / PyTorch: {result.ratio('plainnet', 'pytorch'):.2f}x")
    gemms = fair.compare({"numpy": (f"{me}:gemm_job", {"library": "numpy"}),
                          "torch": (f"{me}:gemm_job", {"library": "torch"})},
                         rounds=max(1, min(args.rounds, 3)), env=env)
    print("\n## The matrix products of one step, GFLOP/s (float32)\n")
    print("| product | A | B | per step | NumPy | PyTorch |\n|---|---|---|---:|---:|---:|")
    for name, sa, sb, count in gemm_shapes(load_tokens()[1]):
        print(f"| {name} | {sa} | {sb} | {count} | {gemms['numpy'].median(name):.1f} | "
              f"{gemms['torch'].median(name):.1f} |")
    print(f"\nall products of a step: NumPy {gemms['numpy'].median() * 1e3:.1f} ms, "
          f"PyTorch {gemms['torch'].median() * 1e3:.1f} ms")
    if args.loss_iters:
        print(f"\n## Training loss after {args.loss_iters} iterations\n")
        print("| seed | plainnet | PyTorch | difference |\n|---:|---:|---:|---:|")
        diffs = []
        for seed in range(args.seeds):
            job = {"iters": args.loss_iters, "gelu": args.gelu, "seed": seed}
            ours = fair.run_once(f"{me}:plainnet_loss_job", job, env=env, timeout=3600)
            theirs = fair.run_once(f"{me}:torch_loss_job", job, env=env, timeout=3600)
            diffs.append(ours["final_loss"] - theirs["final_loss"])
            print(f"| {seed} | {ours['final_loss']:.4f} | {theirs['final_loss']:.4f} | "
                  f"{diffs[-1]:+.4f} |")
        print(f"\nmean difference: {np.mean(diffs):+.4f} (the issue asks |mean| <= 0.05)")


if __name__ == "__main__":
    main()
