"""pn.data: datasets, DataLoader and random_split with PyTorch's names, and pn.fit on a loader,
an iterable of batches or an endless generator."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet.data import DataLoader, Dataset, IterableDataset, TensorDataset, random_split


def blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])
    y = rng.integers(0, 3, n)
    return (centers[y] + rng.normal(size=(n, 2))).astype(np.float32), y


def mlp(seed=0):
    pn.seed(seed)
    return pn.nn.Sequential(pn.nn.Linear(2, 8), pn.nn.ReLU(), pn.nn.Linear(8, 3))


def assert_same_weights(a, b):
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(v, b.state_dict()[k], err_msg=k)


class Squares(Dataset):
    """A map-style dataset answering one index at a time."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return np.array([float(i)]), i * i


def test_tensor_dataset_and_a_loader_in_order():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    ds = TensorDataset(X, y)
    assert len(ds) == 10
    np.testing.assert_array_equal(ds[3][0], [6.0, 7.0])
    batches = list(DataLoader(ds, batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    assert len(DataLoader(ds, batch_size=4)) == 3
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert [len(b[0]) for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    with pytest.raises(ValueError, match="same length"):
        TensorDataset(X, y[:5])


def test_shuffling_is_seeded_and_covers_every_sample_once():
    ds = TensorDataset(np.arange(50))
    a = [b[0] for b in DataLoader(ds, batch_size=8, shuffle=True, seed=3)]
    b = [b[0] for b in DataLoader(ds, batch_size=8, shuffle=True, generator=3)]
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    got = np.concatenate(a)
    assert sorted(got.tolist()) == list(range(50)) and got.tolist() != list(range(50))
    loader = DataLoader(ds, batch_size=50, shuffle=True, seed=0)
    first, second = next(iter(loader))[0], next(iter(loader))[0]
    assert first.tolist() != second.tolist()  # a new order at each pass


def test_samples_are_collated_one_by_one_or_by_collate_fn():
    batches = list(DataLoader(Squares(), batch_size=4))
    assert batches[0][0].shape == (4, 1) and batches[0][1].tolist() == [0, 1, 4, 9]
    summed = list(DataLoader(Squares(), batch_size=5,
                             collate_fn=lambda samples: sum(s[1] for s in samples)))
    assert summed == [0 + 1 + 4 + 9 + 16, 25 + 36 + 49 + 64 + 81]


def test_iterable_dataset_streams_in_its_own_order():
    class Count(IterableDataset):
        def __iter__(self):
            for i in range(7):
                yield np.array([i, i]), i % 2

    batches = list(DataLoader(Count(), batch_size=3))
    assert [b[1].tolist() for b in batches] == [[0, 1, 0], [1, 0, 1], [0]]
    with pytest.raises(ValueError, match="shuffle=True needs a map-style dataset"):
        DataLoader(Count(), shuffle=True)
    with pytest.raises(TypeError, match="no length"):
        len(DataLoader(Count()))


def test_random_split_by_counts_and_fractions():
    ds = TensorDataset(np.arange(10))
    parts = random_split(ds, [3, 7], generator=0)
    got = sorted(np.concatenate([[p[i][0] for i in range(len(p))] for p in parts]).tolist())
    assert [len(p) for p in parts] == [3, 7] and got == list(range(10))
    # floor(n * f) each, the rows left over one each from the first on (PyTorch's rule)
    assert [len(p) for p in random_split(ds, [0.5, 0.25, 0.25], generator=0)] == [6, 2, 2]
    again = random_split(ds, [3, 7], generator=0)
    assert again[0].indices.tolist() == parts[0].indices.tolist()
    with pytest.raises(ValueError, match="sum to the dataset's length"):
        random_split(ds, [3, 3])


def test_bad_loader_arguments():
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        DataLoader(TensorDataset(np.arange(3)), batch_size=0)


# -- pn.fit on loaders and iterables ------------------------------------------------------

def test_fit_on_a_loader_equals_fit_on_the_arrays():
    X, y = blobs()
    a, b = mlp(), mlp()
    ha = pn.fit(a, X, y, epochs=3, batch_size=16, shuffle=False, verbose=0,
                validation_data=(X[:20], y[:20]))
    hb = pn.fit(b, DataLoader(TensorDataset(X, y), batch_size=16), epochs=3, verbose=0,
                validation_data=DataLoader(TensorDataset(X[:20], y[:20]), batch_size=64))
    assert_same_weights(a, b)
    assert ha["loss"] == pytest.approx(hb["loss"], rel=1e-6)
    assert ha["val_loss"] == pytest.approx(hb["val_loss"], rel=1e-6)
    assert ha["accuracy"] == hb["accuracy"]


def test_fit_on_a_list_of_weighted_batches():
    X, y = blobs()
    w = np.linspace(0.5, 1.5, len(y))
    batches = [(X[i : i + 32], y[i : i + 32], w[i : i + 32]) for i in range(0, len(y), 32)]
    a, b = mlp(), mlp()
    pn.fit(a, batches, epochs=2, verbose=0)
    pn.fit(b, X, y, sample_weight=w, batch_size=32, shuffle=False, epochs=2, verbose=0)
    assert_same_weights(a, b)


def test_an_endless_generator_needs_steps_per_epoch():
    X, y = blobs()

    def forever():
        rng = np.random.default_rng(0)
        while True:
            idx = rng.integers(0, len(y), 16)
            yield X[idx], y[idx]

    h = pn.fit(mlp(), forever(), steps_per_epoch=5, epochs=3, verbose=0)
    assert len(h) == 3 and h.stop_reason == "epochs"
    once = ((X[i : i + 16], y[i : i + 16]) for i in range(0, 96, 16))  # one pass only
    with pytest.warns(RuntimeWarning, match="the data ran out after 0 batches"):
        h = pn.fit(mlp(), once, epochs=3, verbose=0)
    assert len(h) == 1


def test_bad_batches_are_named():
    X, y = blobs()
    with pytest.raises(TypeError, match=r"each batch must be \(x, y\).*batch 1 is ndarray"):
        pn.fit(mlp(), [X, y], epochs=1, verbose=0)
    bad = X.copy()
    bad[40, 1] = np.nan
    with pytest.raises(ValueError, match="x of batch 2 contains NaN at row 8, column 1"):
        pn.fit(mlp(), DataLoader(TensorDataset(bad, y), batch_size=32), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_split needs arrays in memory"):
        pn.fit(mlp(), DataLoader(TensorDataset(X, y)), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="no targets"):
        pn.fit(mlp(), X, verbose=0)


def test_evaluate_on_a_loader_equals_evaluate_on_arrays():
    X, y = blobs()
    model = mlp()
    a = pn.evaluate(model, X, y, metrics=["accuracy", "f1"])
    b = pn.evaluate(model, DataLoader(TensorDataset(X, y), batch_size=10),
                    metrics=["accuracy", "f1"])
    assert a == pytest.approx(b, rel=1e-6)
