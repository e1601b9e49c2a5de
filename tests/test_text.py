"""pn.datasets.text: vocabulary, encode/decode, splits and next-token windows."""

from __future__ import annotations

import os

import numpy as np
import pytest

import plainnet as pn

SHAKESPEARE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                           "shakespeare.txt")


@pytest.fixture
def ascii_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("to be or not to be, that is the question\n" * 20)
    return path


def test_ascii_text_is_memory_mapped_with_a_sorted_character_vocabulary(ascii_file):
    data = pn.datasets.text(ascii_file, val_fraction=0.25)
    content = ascii_file.read_text()
    assert data.vocab == sorted(set(content))
    assert isinstance(data.train, np.memmap)
    assert len(data.train) + len(data.val) == len(content)
    assert len(data.val) == round(0.25 * len(content))
    ids = data.encode("not that")
    assert data.decode(ids) == "not that"
    assert ids.tolist() == [data.vocab.index(c) for c in "not that"]


def test_windows_are_text_slices_and_targets_are_shifted_by_one(ascii_file):
    data = pn.datasets.text(ascii_file, val_fraction=0.25)
    content = ascii_file.read_text()
    train_text = content[: len(data.train)]
    x, y = data.batch("train", batch_size=5, block_size=8, rng=0)
    assert x.shape == y.shape == (5, 8) and x.dtype == np.int64
    for row_x, row_y in zip(x, y, strict=True):
        sx, sy = data.decode(row_x), data.decode(row_y)
        assert sx in train_text and sx[1:] == sy[:-1]
        start = train_text.find(sx + sy[-1])
        assert start >= 0
    xv, _ = data.batch("val", batch_size=3, block_size=4, rng=1)
    val_text = content[len(data.train):]
    assert all(data.decode(row) in val_text for row in xv)
    again = data.batch("train", batch_size=5, block_size=8, rng=0)
    np.testing.assert_array_equal(again[0], x)


def test_non_ascii_text_is_read_as_characters(tmp_path):
    path = tmp_path / "u.txt"
    path.write_text("héllo wörld ✓ " * 10, encoding="utf-8")
    data = pn.datasets.text(path, val_fraction=0.1)
    assert "✓" in data.vocab and data.decode(data.encode("wörld ✓")) == "wörld ✓"
    x, y = data.batch(batch_size=2, block_size=5, rng=0)
    assert x.max() < data.vocab_size


def test_bad_inputs_are_refused(tmp_path, ascii_file):
    data = pn.datasets.text(ascii_file)
    with pytest.raises(ValueError, match="'Z' is not in the vocabulary"):
        data.encode("Zebra")
    with pytest.raises(ValueError, match="needs 10001"):
        data.batch(block_size=10000)
    with pytest.raises(ValueError, match="split"):
        data.batch("test")
    with pytest.raises(FileNotFoundError):
        pn.datasets.text(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        pn.datasets.text(empty)
    with pytest.raises(ValueError, match="val_fraction"):
        pn.datasets.text(ascii_file, val_fraction=1.0)
    with pytest.raises(ValueError, match="token ids"):
        data.decode([data.vocab_size])


def test_tiktoken_tokenizer_where_installed(ascii_file):
    pytest.importorskip("tiktoken")
    try:
        data = pn.datasets.text(ascii_file, tokenizer="gpt2")
    except Exception as err:  # the encoding's files need a download
        pytest.skip(f"tiktoken's gpt2 encoding is not available: {err}")
    assert data.decode(data.encode("to be or not")) == "to be or not"


@pytest.mark.skipif(not os.path.exists(SHAKESPEARE), reason="shakespeare.txt is absent")
def test_shakespeare_loads_mapped():
    data = pn.datasets.text(SHAKESPEARE)
    assert 60 <= data.vocab_size <= 100 and len(data.train) > 800_000
    x, y = data.batch(batch_size=12, block_size=64, rng=0)
    assert x.shape == (12, 64) and np.all(x[:, 1:] == y[:, :-1])
