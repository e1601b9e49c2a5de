"""Tests of pn.datasets: synthetic problems, bundled sets, CSV, MNIST IDX, split, standardize."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plainnet as pn
from plainnet import datasets as ds

SYNTHETIC = {
    "xor": lambda **kw: ds.xor(200, **kw),
    "moons": lambda **kw: ds.moons(200, **kw),
    "circles": lambda **kw: ds.circles(200, **kw),
    "spirals": lambda **kw: ds.spirals(200, n_classes=3, **kw),
    "blobs": lambda **kw: ds.blobs(200, **kw),
}


# -- synthetic -------------------------------------------------------------------------
@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_shapes_dtypes_and_seeding(name):
    make = SYNTHETIC[name]
    X, y = make(random_state=0)
    assert X.shape == (200, 2) and X.dtype == np.float64 and np.all(np.isfinite(X))
    assert y.shape == (200,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(y.max() + 1))
    X2, y2 = make(random_state=0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = make(random_state=1)
    assert not np.array_equal(X, X3)
    X4, y4 = make(random_state=np.random.default_rng(0))
    assert np.array_equal(X, X4) and np.array_equal(y, y4)
    pn.seed(11)
    X5, _ = make()
    pn.seed(11)
    X6, _ = make()
    assert np.array_equal(X5, X6)


def test_xor_is_the_truth_table():
    X, y = ds.xor(4, shuffle=False)
    assert np.array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert np.array_equal(y, [0, 1, 1, 0])


def test_noisy_xor_labels_follow_the_nearest_corner():
    X, y = ds.xor(400, noise=0.1, random_state=0)
    corner = (X > 0.5).astype(int)
    assert np.array_equal(y, corner[:, 0] ^ corner[:, 1])
    assert np.bincount(y).tolist() == [200, 200]


@pytest.mark.parametrize("n", [7, 100])
def test_moons_and_circles_match_scikit_learn_without_noise(n):
    from sklearn.datasets import make_circles, make_moons

    X, y = ds.moons(n, shuffle=False)
    Xs, ys = make_moons(n, shuffle=False)
    np.testing.assert_allclose(X, Xs, atol=1e-12)
    assert np.array_equal(y, ys)
    X, y = ds.circles(n, factor=0.5, shuffle=False)
    Xs, ys = make_circles(n, factor=0.5, shuffle=False)
    np.testing.assert_allclose(X, Xs, atol=1e-12)
    assert np.array_equal(y, ys)


def test_noise_has_the_requested_standard_deviation():
    clean, _ = ds.moons(4000, shuffle=False)
    noisy, _ = ds.moons(4000, noise=0.3, shuffle=False, random_state=0)
    residual = noisy - clean
    assert abs(residual.std() - 0.3) < 0.01 and abs(residual.mean()) < 0.01


def test_circles_radii():
    X, y = ds.circles(101, factor=0.3, random_state=0)
    radius = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    assert np.bincount(y).tolist() == [50, 51]


def test_spirals_lie_on_their_arms():
    X, y = ds.spirals(301, n_classes=3, turns=1.5, shuffle=False)
    assert np.bincount(y).tolist() == [101, 100, 100]
    r = np.linalg.norm(X, axis=1)
    assert r.min() == 0.0 and np.isclose(r.max(), 1.0)
    theta = 2 * np.pi * (1.5 * r + y / 3)
    np.testing.assert_allclose(X, r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)]),
                               atol=1e-12)


def test_blobs_centers_and_spread():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, -5.0, 2.0]])
    X, y = ds.blobs(4000, centers=centers, cluster_std=[0.5, 2.0], random_state=0)
    assert X.shape == (4000, 3) and np.bincount(y).tolist() == [2000, 2000]
    for k, std in enumerate([0.5, 2.0]):
        np.testing.assert_allclose(X[y == k].mean(axis=0), centers[k], atol=4 * std / np.sqrt(2000))
        np.testing.assert_allclose(X[y == k].std(axis=0), std, rtol=0.06)
    X, y, drawn = ds.blobs(10, centers=4, n_features=5, center_box=(-1, 1), random_state=0,
                           return_centers=True)
    assert drawn.shape == (4, 5) and np.all(np.abs(drawn) <= 1)
    assert np.bincount(y).tolist() == [3, 3, 2, 2]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: ds.xor(0), ValueError, "n_samples"),
        (lambda: ds.xor(10.5), TypeError, "n_samples"),
        (lambda: ds.moons(10, noise=-1), ValueError, "noise"),
        (lambda: ds.circles(10, factor=1.0), ValueError, "factor"),
        (lambda: ds.spirals(2, n_classes=3), ValueError, "n_classes"),
        (lambda: ds.blobs(10, centers=2, cluster_std=[1, 2, 3]), ValueError, "cluster_std"),
        (lambda: ds.blobs(10, centers=2, cluster_std=-1.0), ValueError, "cluster_std"),
        (lambda: ds.blobs(10, centers=[1.0, 2.0]), ValueError, "centers"),
        (lambda: ds.blobs(10, center_box=(1, 1)), ValueError, "center_box"),
    ],
)
def test_synthetic_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


# -- scikit-learn's bundled sets -------------------------------------------------------
@pytest.mark.parametrize(
    "name, shape, n_classes",
    [("digits", (1797, 64), 10), ("iris", (150, 4), 3), ("breast_cancer", (569, 30), 2),
     ("wine", (178, 13), 3), ("diabetes", (442, 10), None)],
)
def test_bundled_sets(name, shape, n_classes):
    import sklearn.datasets

    X, y = getattr(ds, name)()
    Xs, ys = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True)
    assert X.shape == shape and X.dtype == np.float64 and np.array_equal(X, Xs)
    assert np.array_equal(y, ys)
    if n_classes is None:
        assert y.dtype == np.float64
    else:
        assert y.dtype == np.int64 and len(np.unique(y)) == n_classes
    data = getattr(ds, name)(return_X_y=False)
    assert len(data.feature_names) == shape[1] and len(data) == shape[0]
    assert data.description
    X2, y2 = data
    assert np.array_equal(X2, X) and np.array_equal(y2, y)


def test_bundled_names():
    iris = ds.iris(return_X_y=False)
    assert iris.target_names == ["setosa", "versicolor", "virginica"]
    assert iris.feature_names[0] == "sepal length (cm)"


# -- CSV -------------------------------------------------------------------------------
def _write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_load_csv(tmp_path):
    path = _write(tmp_path, "a,b,label\n1,2.5,0\n\n-3,4e1,1\n 5 , 6 ,2\n")
    X, y, names = ds.load_csv(path, "label")
    assert names == ["a", "b"]
    assert X.dtype == np.float64 and np.array_equal(X, [[1, 2.5], [-3, 40], [5, 6]])
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2]
    X, y, names = ds.load_csv(path, target=0, features=["label", "b"], dtype=np.float32)
    assert names == ["label", "b"] and X.dtype == np.float32
    assert np.array_equal(X, [[0, 2.5], [1, 40], [2, 6]]) and y.tolist() == [1, -3, 5]


def test_load_csv_float_target_bom_quotes_and_delimiter(tmp_path):
    path = _write(tmp_path, '\ufeff"x";"price"\n"1";2.5\n2;3\n', encoding="utf-8")
    X, y, names = ds.load_csv(path, target=-1, delimiter=";")
    assert names == ["x"] and y.dtype == np.float64 and y.tolist() == [2.5, 3.0]


def test_load_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        ds.load_csv(tmp_path / "missing.csv", "y")
    with pytest.raises(ValueError, match="empty"):
        ds.load_csv(_write(tmp_path, "\n\n", "empty.csv"), "y")
    with pytest.raises(ValueError, match="no data rows"):
        ds.load_csv(_write(tmp_path, "a,y\n", "header.csv"), "y")
    path = _write(tmp_path, "a,b,y\n1,2,3\n4,oops,6\n")
    with pytest.raises(ValueError, match=r"no column 'label'.*columns are: 'a', 'b', 'y'"):
        ds.load_csv(path, "label")
    with pytest.raises(ValueError, match=r"line 3, column 'b': 'oops' is not a number"):
        ds.load_csv(path, "y")
    with pytest.raises(ValueError, match=r"line 2, column 'a': missing value"):
        ds.load_csv(_write(tmp_path, "a,y\n,1\n", "blank.csv"), "y")
    with pytest.raises(ValueError, match=r"line 3: 3 fields, but the header has 2"):
        ds.load_csv(_write(tmp_path, "a,y\n1,2\n1,2,3\n", "ragged.csv"), "y")
    with pytest.raises(ValueError, match="duplicate column names"):
        ds.load_csv(_write(tmp_path, "a,a,y\n1,2,3\n", "dup.csv"), "y")
    with pytest.raises(ValueError, match="out of range"):
        ds.load_csv(path, 5)
    with pytest.raises(ValueError, match="also among features"):
        ds.load_csv(path, "y", features=["a", "y"])
    with pytest.raises(TypeError, match="target"):
        ds.load_csv(path, 1.5)


# -- MNIST IDX -------------------------------------------------------------------------
def _idx(array: np.ndarray, code: int, be_dtype: str) -> bytes:
    header = struct.pack(">HBB", 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(be_dtype).tobytes()


@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    labels = np.array([7, 2, 1, 0, 9], dtype=np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(images, 0x08, "u1"))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(labels, 0x08, "u1"))
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images[:2], 8, "u1")))
    (tmp_path / "t10k-labels.idx1-ubyte").write_bytes(_idx(labels[:2], 0x08, "u1"))
    return tmp_path, images, labels


def test_load_mnist(mnist_dir):
    path, images, labels = mnist_dir
    X, y = ds.load_mnist(path)
    assert X.shape == (5, 12) and X.dtype == np.float32
    np.testing.assert_array_equal(X, images.reshape(5, 12) / np.float32(255))
    assert y.dtype == np.int64 and y.tolist() == labels.tolist()
    X, y = ds.load_mnist(path, kind="t10k", normalize=False, flatten=False)
    assert X.dtype == np.uint8 and np.array_equal(X, images[:2]) and y.tolist() == [7, 2]
    X, y = ds.load_mnist(images=path / "train-images-idx3-ubyte",
                         labels=path / "train-labels-idx1-ubyte", normalize=False)
    assert np.array_equal(X, images.reshape(5, -1))
    assert np.array_equal(ds.load_mnist(path, kind="test")[1], [7, 2])


@pytest.mark.parametrize(
    "code, be_dtype, values",
    [(0x09, "i1", [-128, 5, 127]), (0x0B, ">i2", [-30000, 1, 2]), (0x0C, ">i4", [-7, 2**31 - 1]),
     (0x0D, ">f4", [1.5, -2.25]), (0x0E, ">f8", [np.pi, -1e300])],
)
def test_read_idx_types(tmp_path, code, be_dtype, values):
    path = tmp_path / "x.idx"
    array = np.array(values).reshape(1, -1)
    path.write_bytes(_idx(array, code, be_dtype))
    got = ds.read_idx(path)
    assert got.shape == array.shape and got.dtype.isnative
    assert got.tolist() == np.array(values, dtype=be_dtype).reshape(1, -1).tolist()


def test_mnist_errors(mnist_dir, tmp_path_factory):
    path, images, labels = mnist_dir
    good = _idx(images, 0x08, "u1")
    bad = tmp_path_factory.mktemp("bad")
    cases = {
        "magic.idx": (b"\x08\x03" + good[2:], "magic number"),
        "type.idx": (good[:2] + b"\x07" + good[3:], "magic number"),
        "short.idx": (good[:3], "truncated"),
        "header.idx": (good[:9], "truncated inside its header"),
        "data.idx": (good[:-1], r"truncated: shape \(5, 4, 3\) of uint8 needs 60 bytes"),
        "long.idx": (good + b"\x00", "longer than its header says"),
        "gz.idx": (gzip.compress(good)[:-10], "corrupt or truncated gzip"),
    }
    for name, (data, message) in cases.items():
        (bad / name).write_bytes(data)
        with pytest.raises(ValueError, match=message):
            ds.read_idx(bad / name)
    with pytest.raises(FileNotFoundError, match="nothing.idx"):
        ds.read_idx(bad / "nothing.idx")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        ds.load_mnist(bad)
    with pytest.raises(ValueError, match="kind"):
        ds.load_mnist(path, kind="validation")
    with pytest.raises(ValueError, match="both"):
        ds.load_mnist(images=path / "train-images-idx3-ubyte")
    with pytest.raises(ValueError, match=r"5 images .* but 2 labels"):
        ds.load_mnist(images=path / "train-images-idx3-ubyte",
                      labels=path / "t10k-labels.idx1-ubyte")
    with pytest.raises(ValueError, match=r"MNIST images are \(n, rows, cols\)"):
        ds.load_mnist(images=path / "train-labels-idx1-ubyte",
                      labels=path / "train-labels-idx1-ubyte")


# -- split -----------------------------------------------------------------------------
def test_split_stratified_counts_and_partition():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    X = np.arange(100.0)[:, None]
    X_tr, X_te, y_tr, y_te = ds.split(X, y, test_size=0.2, random_state=0)
    assert np.bincount(y_te).tolist() == [10, 6, 4]
    assert np.bincount(y_tr).tolist() == [40, 24, 16]
    ids = np.concatenate([X_tr[:, 0], X_te[:, 0]])
    assert sorted(ids) == list(range(100))
    assert np.array_equal(y[X_tr[:, 0].astype(int)], y_tr)  # rows stay paired
    assert not np.array_equal(X_tr[:, 0], np.sort(X_tr[:, 0]))  # shuffled
    again = ds.split(X, y, test_size=0.2, random_state=0)
    assert all(np.array_equal(a, b) for a, b in zip((X_tr, X_te, y_tr, y_te), again, strict=True))


@settings(max_examples=40, deadline=None)
@given(
    y=st.lists(st.integers(0, 4), min_size=4, max_size=60),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**16),
)
def test_split_stratification_is_proportional(y, fraction, seed):
    y = np.array(y)
    n = len(y)
    n_test = int(np.ceil(fraction * n))
    if not 1 <= n_test <= n - 1:
        return
    _, X_te, _, y_te = ds.split(np.zeros((n, 1)), y, test_size=fraction, random_state=seed)
    assert len(y_te) == len(X_te) == n_test
    for c in np.unique(y):
        share = np.sum(y == c) * n_test / n
        assert abs(np.sum(y_te == c) - share) < 1


def test_split_regression_and_unlabelled():
    X = np.arange(10.0)[:, None]
    y = np.linspace(0, 1, 10)
    X_tr, X_te, y_tr, y_te = ds.split(X, y, test_size=3, random_state=1)
    assert len(X_te) == 3 and len(X_tr) == 7 and np.allclose(X_te[:, 0] / 9, y_te)
    X_tr, X_te = ds.split(X, test_size=0.5, random_state=1)
    assert sorted(np.concatenate([X_tr, X_te])[:, 0]) == list(range(10))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"test_size": 0.0}, ValueError, "in \\(0, 1\\)"),
        ({"test_size": 1.5}, ValueError, "in \\(0, 1\\)"),
        ({"test_size": 10}, ValueError, "at least one"),
        ({"test_size": "10%"}, TypeError, "test_size"),
        ({"y": np.zeros(3)}, ValueError, "10 samples but y has 3"),
        ({"stratify": True}, ValueError, "needs y"),
    ],
)
def test_split_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        ds.split(np.zeros((10, 2)), **kwargs)


# -- standardize -----------------------------------------------------------------------
def test_standardize_uses_training_statistics():
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X_train = rng.normal(3.0, 2.0, size=(50, 3))
    X_test = rng.normal(size=(10, 3))
    X_train[:, 2] = 4.0  # a constant column
    Z_train, Z_test = ds.standardize(X_train, X_test)
    scaler = StandardScaler().fit(X_train)
    np.testing.assert_allclose(Z_train, scaler.transform(X_train), atol=1e-12)
    np.testing.assert_allclose(Z_test, scaler.transform(X_test), atol=1e-12)
    np.testing.assert_allclose(Z_train[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z_train[:, :2].std(axis=0), 1)
    assert np.all(Z_train[:, 2] == 0)
    single = ds.standardize(X_train)
    assert isinstance(single, np.ndarray) and np.array_equal(single, Z_train)


def test_standardizer_inverse_and_errors():
    X = np.arange(12.0).reshape(4, 3) ** 2
    s = ds.Standardizer()
    with pytest.raises(RuntimeError, match="fit"):
        s.transform(X)
    Z = s.fit_transform(X)
    np.testing.assert_allclose(s.inverse_transform(Z), X)
    with pytest.raises(ValueError, match="4 features; the standardizer was fit on 3"):
        s.transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="2-D"):
        s.fit(np.zeros(4))
    with pytest.raises(TypeError, match="X"):
        s.fit([["a", "b"]])
    Z32 = ds.Standardizer().fit_transform(X.astype(np.float32))
    assert Z32.dtype == np.float32


def test_load_csv_keeps_text_labels(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("a,b,kind\n1,2,cat\n3,4,dog\n5,6,cat\n")
    X, y, names = pn.datasets.load_csv(path, "kind")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4], [5, 6]])
    assert y.tolist() == ["cat", "dog", "cat"]
    assert names == ["a", "b"]
