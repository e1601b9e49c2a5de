"""Text for next-token training: a vocabulary, encode/decode, and random windows.

``pn.datasets.text(path)`` reads a text file once and gives a `TextData`: the
vocabulary (the distinct characters, sorted; or byte-pair tokens through ``tiktoken``), the
token ids split into training and validation parts, and `TextData.batch()`, which draws
``(batch, block)`` windows ``x`` with their next-token targets ``y`` (``y[:, t] = x[:, t+1]``
in the text), as nanoGPT's ``get_batch``.

An ASCII file is never read into memory as a whole: its bytes are memory-mapped
(`numpy.memmap`), its vocabulary is found by counting the bytes a chunk at a time, and
each window is mapped from bytes to token ids when drawn, so files larger than memory work.
Other files are decoded as UTF-8 and encoded once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..random import get_rng

__all__ = ["TextData", "text"]

_CHUNK = 1 << 24  # bytes counted at a time


class TextData:
    """Token ids of a text with their vocabulary (made by `text()`).

    Attributes
    ----------
    vocab : list of str
        Token ``i`` is ``vocab[i]`` (characters; for tiktoken, ``None``: use `decode()`).
    vocab_size : int
    train, val : array of ints
        The token ids of the first ``1 - val_fraction`` of the text and of the rest (for a
        memory-mapped file, bytes: `batch()` maps them to ids).
    tokenizer : str
        ``"char"`` or the tiktoken encoding's name.
    """

    def __init__(self, train, val, vocab, tokenizer: str, table=None, encoding=None):
        self.train = train
        self.val = val
        self.vocab = vocab
        self.tokenizer = tokenizer
        self._table = table  # byte -> id for a memory-mapped ASCII file
        self._encoding = encoding  # a tiktoken Encoding
        self.vocab_size = encoding.n_vocab if encoding is not None else len(vocab)
        self._index = None if vocab is None else {c: i for i, c in enumerate(vocab)}

    def __repr__(self) -> str:
        return (f"TextData(tokenizer={self.tokenizer!r}, vocab_size={self.vocab_size}, "
                f"train={len(self.train)}, val={len(self.val)})")

    def encode(self, s: str) -> np.ndarray:
        """The token ids of the string ``s`` (a ``ValueError`` names a character outside the
        vocabulary)."""
        if not isinstance(s, str):
            raise TypeError(f"encode expects a str; got {type(s).__name__}")
        if self._encoding is not None:
            return np.asarray(self._encoding.encode(s, allowed_special="all"), dtype=np.int64)
        try:
            return np.fromiter((self._index[c] for c in s), dtype=np.int64, count=len(s))
        except KeyError as err:
            raise ValueError(
                f"character {err.args[0]!r} is not in the vocabulary of {self.vocab_size} "
                "characters of this text"
            ) from None

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """The string of the token ids ``ids`` (a 1-D sequence)."""
        arr = np.asarray(ids)
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise ValueError(f"decode expects a 1-D sequence of token ids; got {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(f"token ids must be in [0, {self.vocab_size - 1}]")
        if self._encoding is not None:
            return self._encoding.decode(arr.tolist())
        return "".join(self.vocab[i] for i in arr.tolist())

    def batch(self, split: str = "train", batch_size: int = 12, block_size: int = 64,
              rng=None) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)``: ``batch_size`` windows of ``block_size`` token ids at random places of
        the ``split`` (``"train"`` or ``"val"``), and the same windows one token later (the
        targets). Int64 arrays of shape ``(batch_size, block_size)``; positions are drawn from
        ``rng`` (a Generator or seed; default
        [`plainnet.random.get_rng()`][plainnet.random.get_rng])."""
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val'; got {split!r}")
        data = self.train if split == "train" else self.val
        for name, v in (("batch_size", batch_size), ("block_size", block_size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if len(data) < block_size + 1:
            raise ValueError(
                f"the {split} split has {len(data)} tokens; a window of block_size="
                f"{block_size} needs {block_size + 1}"
            )
        starts = get_rng(rng).integers(0, len(data) - block_size, size=batch_size)
        window = np.asarray(data[starts[:, None] + np.arange(block_size + 1)])
        if self._table is not None:
            window = self._table[window]
        window = window.astype(np.int64, copy=False)
        return window[:, :-1], window[:, 1:]


def _byte_counts(raw: np.ndarray) -> np.ndarray:
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, len(raw), _CHUNK):
        counts += np.bincount(raw[start:start + _CHUNK], minlength=256)
    return counts


def _split(tokens, val_fraction: float):
    n_train = int(round(len(tokens) * (1.0 - val_fraction)))
    return tokens[:n_train], tokens[n_train:]


def text(path: str | os.PathLike, val_fraction: float = 0.1, tokenizer: str = "char",
         encoding: str = "utf-8") -> TextData:
    """Load a text file for next-token training.

    Parameters
    ----------
    path : str or PathLike
        A text file.
    val_fraction : float, default 0.1
        The share of the text, at its end, kept for validation (nanoGPT's 90/10 split).
    tokenizer : str, default "char"
        ``"char"``: one token per distinct character, ids in sorted order; an ASCII file is
        memory-mapped. Otherwise the name of a ``tiktoken`` encoding (``"gpt2"``,
        ``"cl100k_base"``, ...), which needs ``pip install tiktoken``.
    encoding : str, default "utf-8"
        How a non-ASCII file is decoded.

    Examples
    --------
    >>> import plainnet as pn, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.txt")
    >>> _ = open(path, "w").write("hello world")
    >>> data = pn.datasets.text(path, val_fraction=0.0)
    >>> data.vocab_size, data.decode(data.encode("low"))
    (8, 'low')
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no text file at {path!r}")
    val_fraction = float(val_fraction)
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction!r}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path!r} is empty")
    if tokenizer != "char":
        return _tiktoken_text(path, val_fraction, tokenizer, encoding)
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    counts = _byte_counts(raw)
    present = np.flatnonzero(counts)
    if present[-1] < 128:  # ASCII: bytes are characters; keep the file mapped
        table = np.zeros(256, dtype=np.int64)
        table[present] = np.arange(len(present))
        vocab = [chr(b) for b in present]
        train, val = _split(raw, val_fraction)
        return TextData(train, val, vocab, "char", table=table)
    with open(path, encoding=encoding) as f:
        content = f.read()
    vocab = sorted(set(content))
    index = {c: i for i, c in enumerate(vocab)}
    dtype = np.uint16 if len(vocab) < 65536 else np.int32
    tokens = np.fromiter((index[c] for c in content), dtype=dtype, count=len(content))
    train, val = _split(tokens, val_fraction)
    return TextData(train, val, vocab, "char")


def _tiktoken_text(path, val_fraction, name, encoding):
    try:
        import tiktoken
    except ImportError:
        raise ImportError(
            f"tokenizer={name!r} needs tiktoken: pip install tiktoken (or use "
            "tokenizer='char')"
        ) from None
    try:
        enc = tiktoken.get_encoding(name)
    except ValueError as err:
        raise ValueError(f"unknown tiktoken encoding {name!r}: {err}") from None
    with open(path, encoding=encoding) as f:
        ids = np.asarray(enc.encode_ordinary(f.read()), dtype=np.int32)
    train, val = _split(ids, val_fraction)
    return TextData(train, val, None, name, encoding=enc)
