"""pn.fit on Dask arrays, streamed a block at a time (never computed whole), shuffled across
and within blocks from the seed; on a dask.distributed LocalCluster with worker processes;
and the estimators' partial_fit under dask-ml's Incremental and HyperbandSearchCV."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet.training.batches import BatchReader, DaskBatches, OnHost

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

CENTERS = np.array([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])


def blob_block(seed: int, rows: int):
    """One block of the blobs, made from its seed where it is computed."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, rows)
    return (CENTERS[y] + rng.normal(size=(rows, 2))).astype(np.float32), y


def lazy_blobs(blocks: int, rows: int):
    """Dask arrays whose blocks are generated lazily, one task per block."""
    parts = [dask.delayed(blob_block)(k, rows) for k in range(blocks)]
    X = da.concatenate([da.from_delayed(p[0], (rows, 2), np.float32) for p in parts])
    y = da.concatenate([da.from_delayed(p[1], (rows,), np.int64) for p in parts])
    return X, y


def mlp(seed=0):
    pn.seed(seed)
    return pn.nn.Sequential(pn.nn.Linear(2, 8), pn.nn.ReLU(), pn.nn.Linear(8, 3))


def epoch_rows(X, y, batch_size, seed):
    source = DaskBatches(X, y, None, batch_size, True, BatchReader(OnHost(), "cross_entropy",
                                                                  np.float32))
    rng = np.random.default_rng(seed)
    return [[b.x[:, 0].copy() for b in source.epoch(rng)] for _ in range(2)]


def test_every_row_once_an_epoch_in_a_seeded_order_across_and_within_blocks():
    X = da.from_array(np.arange(100, dtype=np.float32).reshape(50, 2), chunks=(12, 2))
    y = da.from_array(np.arange(50) % 3, chunks=7)  # other chunks: aligned to X's
    first, second = epoch_rows(X, y, 8, seed=0)
    for epoch in (first, second):
        assert [len(b) for b in epoch] == [8] * 6 + [2]  # the leftovers of a block carry on
        assert sorted(np.concatenate(epoch).tolist()) == list(range(0, 100, 2))
    assert np.concatenate(first).tolist() != np.concatenate(second).tolist()
    again, _ = epoch_rows(X, y, 8, seed=0)
    assert np.concatenate(again).tolist() == np.concatenate(first).tolist()
    # within a block the rows are shuffled too: the first batch is not a run of rows
    assert np.any(np.diff(first[0]) != 2)


def test_fit_streams_blocks_without_computing_the_whole_array(monkeypatch):
    X, y = lazy_blobs(blocks=6, rows=64)
    computed = []
    real = dask.compute

    def counting(*args, **kwargs):
        computed.append(sum(a.shape[0] for a in args if hasattr(a, "shape")))
        return real(*args, **kwargs)

    monkeypatch.setattr(dask, "compute", counting)
    model = mlp()
    h = pn.fit(model, X, y, epochs=3, batch_size=32, seed=0, verbose=0, optimizer="adam",
               lr=0.02)
    assert max(computed) <= 2 * 64  # one block of X and of y at a time, never all 384 rows
    assert len(computed) == 3 * 6
    assert h["accuracy"][-1] > 0.9 and h.params["n_samples"] == 384
    again = mlp()
    pn.fit(again, X, y, epochs=3, batch_size=32, seed=0, verbose=0, optimizer="adam", lr=0.02)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, again.state_dict()[k])


def test_fit_on_a_local_cluster_with_worker_processes():
    distributed = pytest.importorskip("dask.distributed")
    X, y = lazy_blobs(blocks=4, rows=100)
    Xv, yv = blob_block(99, 200)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        model = mlp()
        h = pn.fit(model, X, y, epochs=4, batch_size=32, seed=0, verbose=0, optimizer="adam",
                   lr=0.02, validation_data=(Xv, yv))
        assert client.run(lambda: 1)  # the workers are separate processes, and alive
    assert h["val_accuracy"][-1] > 0.9


def test_estimators_partial_fit_under_dask_ml_incremental():
    pytest.importorskip("dask_ml")
    from dask_ml.wrappers import Incremental

    from plainnet.estimators import MLPClassifier

    class Counted(MLPClassifier):
        blocks = []

        def partial_fit(self, X, y, classes=None, sample_weight=None):
            Counted.blocks.append(len(X))
            return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    X, y = lazy_blobs(blocks=6, rows=100)
    inc = Incremental(Counted(hidden_layer_sizes=(8,), learning_rate_init=0.03,
                              random_state=0), scoring="accuracy")
    inc.fit(X, y, classes=[0, 1, 2])
    assert Counted.blocks == [100] * 6  # one partial_fit per block, never the whole array
    Xt, yt = blob_block(123, 300)
    assert inc.score(da.from_array(Xt, chunks=100), da.from_array(yt, chunks=100)) > 0.9


def test_hyperband_search_on_a_local_cluster_with_worker_processes():
    """dask-ml's HyperbandSearchCV trains MLPClassifier copies by partial_fit on the workers
    (each copy pickled there: the Tensors must train in another process) on lazily generated
    blocks, and finds a model that separates the blobs."""
    distributed = pytest.importorskip("dask.distributed")
    pytest.importorskip("dask_ml")
    from dask_ml.model_selection import HyperbandSearchCV

    from plainnet.estimators import MLPClassifier

    X, y = lazy_blobs(blocks=6, rows=100)
    params = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 3e-2]}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        search = HyperbandSearchCV(MLPClassifier(hidden_layer_sizes=(8,), random_state=0),
                                   params, max_iter=9, random_state=0)
        search.fit(X, y, classes=[0, 1, 2])
        assert client.run(lambda: 1)  # the workers are separate processes, and alive
    assert set(search.best_params_) == set(params)
    assert search.best_score_ > 0.9
    Xt, yt = blob_block(123, 300)
    assert search.best_estimator_.score(Xt, yt) > 0.9
