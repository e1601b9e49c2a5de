"""The CSV reader (pandas underneath) and the column preprocessing (issue 20, issue 24).

Every variant is a file the test writes, plus scikit-learn's own bundled CSV files read from
the installed package.
"""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plainnet as pn
from plainnet.datasets.csv import CSVOptions, read_table, sniff_delimiter
from plainnet.datasets.mnist import read_idx
from plainnet.datasets.preprocessing import ColumnPreprocessor


def _write(tmp_path: Path, text: str, name: str = "d.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# -- delimiters, header, encodings, missing values ---------------------------------------
@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_the_delimiter_is_sniffed(tmp_path, sep):
    text = sep.join(["a", "b", "y"]) + "\n" + "\n".join(
        sep.join([f"{i}.5", str(2 * i), str(i % 2)]) for i in range(5)) + "\n"
    X, y, names = pn.datasets.load_csv(_write(tmp_path, text), "y")
    assert names == ["a", "b"]
    np.testing.assert_array_equal(X[:, 1], [0, 2, 4, 6, 8])
    assert y.tolist() == [0, 1, 0, 1, 0]


def test_semicolons_with_decimal_commas_are_not_read_as_commas():
    assert sniff_delimiter("a;b\n1,5;2,5\n3,5;4\n") == ";"
    assert sniff_delimiter("a,b\n1,2\n") == ","
    assert sniff_delimiter("just one column\n1\n") == ","


def test_given_delimiter_and_no_header(tmp_path):
    path = _write(tmp_path, "1|2|0\n3|4|1\n5|6|0\n")
    X, y, names = pn.datasets.load_csv(path, -1, delimiter="|", header=False)
    assert names == ["0", "1"]
    np.testing.assert_array_equal(X, [[1, 2], [3, 4], [5, 6]])
    assert y.tolist() == [0, 1, 0]


def test_latin1_file_needs_its_encoding(tmp_path):
    path = _write(tmp_path, "größe,y\n1,café\n2,thé\n", encoding="latin-1")
    with pytest.raises(ValueError, match="--encoding latin-1"):
        read_table(path)
    table = read_table(path, options=CSVOptions(encoding="latin-1"))
    assert table.names == ["größe", "y"]
    assert table.texts("y") == ["café", "thé"]


@pytest.mark.parametrize("missing", ["", "NA", "NaN", "?", "-"])
def test_missing_value_spellings(tmp_path, missing):
    path = _write(tmp_path, f"a,b\n1,{missing}\n2,5\n")
    extra = ("-",) if missing == "-" else ()
    table = read_table(path, options=CSVOptions(na_values=extra))
    np.testing.assert_array_equal(table.missing(1), [True, False])
    with pytest.raises(ValueError, match=r"line 2, column 'b': missing value"):
        table.numbers(["b"])
    np.testing.assert_array_equal(table.numbers(["b"], allow_missing=True)[:, 0], [np.nan, 5])


def test_booleans_are_zero_and_one(tmp_path):
    path = _write(tmp_path, "flag,other,y\nTrue,yes,1\nfalse,no,0\nTRUE,no,1\n,yes,0\n")
    table = read_table(path)
    assert table.kind(0) == "bool" and table.kind(1) == "text"
    np.testing.assert_array_equal(table.numbers(["flag"], allow_missing=True)[:, 0],
                                  [1, 0, 1, np.nan])


# -- pandas index columns, scikit-learn's count headers ----------------------------------
def test_a_pandas_index_column_is_found_and_dropped(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5], "y": [0, 1, 0, 1]})
    frame.to_csv(tmp_path / "unnamed.csv")  # index written without a name
    frame.rename_axis("row").to_csv(tmp_path / "named.csv")  # named, holding 0..n-1
    for name, reason in (("unnamed.csv", "it has no name"),
                         ("named.csv", "it holds the row numbers 0 .. 3")):
        table = read_table(tmp_path / name)
        assert table.index_column() == (0, reason)
        with pytest.warns(UserWarning, match="looks like an index written by pandas"):
            X, y, names = pn.datasets.load_csv(tmp_path / name, "y")
        assert names == ["x"]
        np.testing.assert_array_equal(X[:, 0], frame["x"])
    frame.to_csv(tmp_path / "plain.csv", index=False)
    assert read_table(tmp_path / "plain.csv").index_column() is None


def _sklearn_csv(name: str) -> Path:
    sklearn = pytest.importorskip("sklearn")
    return Path(sklearn.__file__).parent / "datasets" / "data" / name


@pytest.mark.parametrize(
    ("name", "loader", "classes"),
    [("iris.csv", "load_iris", ["setosa", "versicolor", "virginica"]),
     ("wine_data.csv", "load_wine", ["class_0", "class_1", "class_2"]),
     ("breast_cancer.csv", "load_breast_cancer", ["malignant", "benign"])],
)
def test_scikit_learns_bundled_count_header_files_are_recognized(name, loader, classes):
    import sklearn.datasets

    path = _sklearn_csv(name)
    expected = getattr(sklearn.datasets, loader)()
    table = read_table(path)
    assert "count header" in table.note
    n_features = expected.data.shape[1]
    assert table.names == [f"feature_{k}" for k in range(n_features)] + ["target"]
    X, y, names = pn.datasets.load_csv(path, "target")
    np.testing.assert_allclose(X, expected.data)
    assert list(y) == [classes[k] for k in expected.target]
    assert "150" not in names and "setosa" not in names


def test_a_count_header_that_does_not_match_is_refused_with_the_reason(tmp_path):
    path = _write(tmp_path, "3,2,a,b\n1,2,0\n3,4,1\n")  # says 3 rows, has 2
    with pytest.raises(ValueError, match="says 3 rows .* has 2 data rows"):
        read_table(path)
    path = _write(tmp_path, "2,3,a,b\n1,2,0\n3,4,1\n", "wide.csv")  # says 3 features
    with pytest.raises(ValueError, match="count header.*refusing"):
        read_table(path)


# -- errors at their real line; hostile files ------------------------------------------
def test_an_unterminated_quote_is_reported_where_it_opens(tmp_path):
    rows = [f"{i},{i}" for i in range(200)]
    rows[2] = '"2,2'  # line 4 of the file
    path = _write(tmp_path, "a,b\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"line 4: a quote"):
        read_table(path)


def test_short_and_long_rows_name_their_line(tmp_path):
    with pytest.raises(ValueError, match=r"line 3: 2 fields, but the header has 3"):
        read_table(_write(tmp_path, "a,b,c\n1,2,3\n4,5\n6,7,8\n"))
    with pytest.raises(ValueError, match=r"line 4: 4 fields, but the header has 3"):
        read_table(_write(tmp_path, "a,b,c\n1,2,3\n\n4,5,6,7\n", "long.csv"))


def test_errors_after_blank_lines_name_the_right_line(tmp_path):
    path = _write(tmp_path, "a,y\n1,0\n\n\n2,1\noops,0\n")
    with pytest.raises(ValueError, match=r"line 6, column 'a': 'oops' is not a number"):
        pn.datasets.load_csv(path, "y")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO"):
        read_table(fifo)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_symlink_to_dev_zero_is_refused(tmp_path):
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="device"):
        read_table(link)
    with pytest.raises(ValueError, match="directory"):
        read_table(tmp_path)


def test_forty_thousand_columns(tmp_path, monkeypatch):
    """Issue 24: 40,000 columns took 52 s (a scan of the names per column). The names are
    looked up in a dict: reading and selecting every column never calls ``list.index``."""
    n = 40_000
    names = [f"c{j}" for j in range(n)]
    path = _write(tmp_path, ",".join(names) + "\n" + "\n".join(
        ",".join(str(i + j % 7 + 1) for j in range(n)) for i in range(3)) + "\n")
    table = read_table(path)
    assert table.names == names and len(table) == 3
    assert table._positions["c39999"] == [n - 1]
    X, y, features = pn.datasets.load_csv(path, "c39999")
    assert X.shape == (3, n - 1) and features == names[:-1]
    np.testing.assert_array_equal(X[:, 8], [2, 3, 4])


# -- a file of numbers is read into one float64 block; whatever the sample missed is kept --
def _numbers_then(tmp_path: Path, last: str, rows: int = 6000) -> Path:
    """A header ``a,b,y`` and ``rows`` rows of small integers (far more than the reader's
    64 KiB sample), then the row ``last``."""
    body = "".join(f"{i % 7},{i % 5}.5,{i % 3}\n" for i in range(rows))
    return _write(tmp_path, "a,b,y\n" + body + last + "\n")


def test_a_file_of_numbers_is_handed_out_without_a_copy(tmp_path):
    path = _numbers_then(tmp_path, "1,2.5,0")
    table = read_table(path)
    assert table.read_as_floats
    X = table.numbers([0, 1])
    assert np.shares_memory(X, table.frame.to_numpy(copy=False))
    np.testing.assert_array_equal(X[:7, 0], [0, 1, 2, 3, 4, 5, 6])
    X, y, _ = pn.datasets.load_csv(path, "y")
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert y[:4].tolist() == [0, 1, 2, 0] and len(y) == 6001


def test_a_text_cell_after_the_sample_is_still_named_with_its_line(tmp_path):
    path = _numbers_then(tmp_path, "1,oops,0")
    assert not read_table(path).read_as_floats
    with pytest.raises(ValueError, match=r"line 6002, column 'b': 'oops' is not a number"):
        pn.datasets.load_csv(path, "y")


def test_a_text_target_after_the_sample_keeps_every_label(tmp_path):
    path = _numbers_then(tmp_path, "1,2.5,setosa")
    X, y, _ = pn.datasets.load_csv(path, "y")
    assert y.dtype.kind == "U" and y[-1] == "setosa" and y[0] == "0"
    assert X.shape == (6001, 2)


def test_integer_ids_too_large_for_a_float_stay_exact(tmp_path):
    big = 2**62 + 1  # a float64 would round it to 2**62
    path = _numbers_then(tmp_path, f"1,2.5,{big}")
    X, y, _ = pn.datasets.load_csv(path, "y")
    assert y.dtype == np.int64 and int(y[-1]) == big
    assert read_table(path).texts("y")[-1] == str(big)


def test_large_integers_in_the_sample_keep_pandas_types(tmp_path):
    path = _write(tmp_path, f"a,y\n1,{-(2**62) - 1}\n2,{2**62 + 1}\n3,0\n")
    table = read_table(path)
    assert not table.read_as_floats
    _, y, _ = pn.datasets.load_csv(path, "y")
    assert y.dtype == np.int64 and y.tolist() == [-(2**62) - 1, 2**62 + 1, 0]


def test_a_missing_cell_after_the_sample_is_reported(tmp_path):
    path = _numbers_then(tmp_path, "1,,0")
    with pytest.raises(ValueError, match=r"line 6002, column 'b': missing value"):
        pn.datasets.load_csv(path, "y")


# -- a 4 MB gzip that would expand to 4 GiB ----------------------------------------------
def test_a_gzipped_idx_file_is_read_only_as_far_as_its_header_declares(tmp_path):
    header = struct.pack(">HBB", 0, 0x08, 1) + struct.pack(">I", 10)
    path = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(header + bytes(range(10)))
        zeros = bytes(1 << 20)
        for _ in range(64):  # 64 MiB more than declared, a few hundred kB compressed
            f.write(zeros)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="longer than its header says"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # bytes: far below the 64 MiB the file expands to
    ok = tmp_path / "ok-idx1-ubyte.gz"
    ok.write_bytes(gzip.compress(header + bytes(range(10))))
    np.testing.assert_array_equal(read_idx(ok), np.arange(10))


# -- preprocessing: scikit-learn's semantics ---------------------------------------------
def _mixed(n=40, seed=0):
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(n, 2)) * [1.0, 1e4] + [5.0, 3e4]
    numbers[[3, 7], 0] = np.nan
    colors = list(rng.choice(["red", "green", "blue"], size=n))
    colors[5] = None
    return numbers, [colors]


def test_preprocessing_matches_scikit_learns_column_transformer():
    sk = pytest.importorskip("sklearn")
    del sk
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers, texts = _mixed()
    pre = ColumnPreprocessor(["a", "b"], ["color"]).fit(numbers, texts)
    Z, unseen = pre.transform(numbers, texts)
    cells = np.array([c if c is not None else np.nan for c in texts[0]], dtype=object)
    data = np.column_stack([numbers, cells])
    reference = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), [0, 1]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore", sparse_output=False)), [2]),
    ]).fit(data)
    np.testing.assert_allclose(Z, reference.transform(data), rtol=1e-12, atol=1e-12)
    assert unseen == {}
    new = np.column_stack([numbers[:3], np.array(["purple", "red", np.nan], dtype=object)])
    Z_new, unseen = pre.transform(numbers[:3], [["purple", "red", None]])
    np.testing.assert_allclose(Z_new, reference.transform(new), atol=1e-12)
    assert unseen == {"color": (1, "purple")}


def test_preprocessing_round_trips_through_json():
    import json

    numbers, texts = _mixed()
    pre = ColumnPreprocessor(["a", "b"], ["color"]).fit(numbers, texts)
    again = ColumnPreprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(again.transform(numbers, texts)[0],
                                  pre.transform(numbers, texts)[0])
    assert again.output_names() == ["a", "b", "color=blue", "color=green", "color=red"]
    spec = pre.to_dict()
    spec["numeric"]["scale"][0] = float("inf")
    with pytest.raises(ValueError, match="finite"):
        ColumnPreprocessor.from_dict(spec)


def test_huge_values_neither_overflow_nor_zero_their_column():
    """Issue 24: 1e308 zeroed its column and wrote Infinity into the model file."""
    numbers = np.array([[1e308], [-1e308], [1.0], [5.0]])
    pre = ColumnPreprocessor(["a"], []).fit(numbers, [])
    Z, _ = pre.transform(numbers, [])
    assert np.isfinite(Z).all() and np.isfinite(pre.to_dict()["numeric"]["scale"]).all()
    np.testing.assert_allclose(Z[:, 0], [np.sqrt(2), -np.sqrt(2), 0, 0], atol=1e-300)
    np.testing.assert_allclose(Z.mean(), 0, atol=1e-12)


def test_a_column_with_no_values_is_refused():
    with pytest.raises(ValueError, match="column 'a' has no values"):
        ColumnPreprocessor(["a"], []).fit(np.array([[np.nan], [np.nan]]), [])


def test_import_plainnet_does_not_import_pandas():
    code = "import sys, plainnet; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.strip()
    assert out == "False"


# -- properties ---------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.floats(-1e300, 1e300, allow_nan=False), min_size=2, max_size=12),
    missing=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_standardized_columns_have_mean_zero_and_unit_scale(values, missing):
    """Whatever the magnitudes, the fitted column comes out finite with mean 0 and (unless
    constant) standard deviation 1, the missing cells at the median."""
    x = np.array(values)
    holes = np.array(missing[: len(x)])
    holes[0] = False  # at least one value
    x_missing = np.where(holes, np.nan, x)
    pre = ColumnPreprocessor(["a"], []).fit(x_missing[:, None], [])
    Z, _ = pre.transform(x_missing[:, None], [])
    assert np.isfinite(Z).all()
    present = x[~holes]
    assert pre.median_[0] == np.median(present)
    filled = np.where(holes, np.median(present), x)
    # rounding of x - mean is eps * |x|, relative to the scale: the bound of any float method
    tolerance = 1e-13 * len(x) * (1 + np.max(np.abs(filled)) / pre.scale_[0])
    assert abs(Z.mean()) <= tolerance
    if np.ptp(filled) > 0:
        assert Z.std() == pytest.approx(1.0, abs=tolerance)


@settings(max_examples=15, deadline=None)
@given(data=st.lists(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3,
                              max_size=3), min_size=1, max_size=20),
       sep=st.sampled_from([",", ";", "\t"]))
def test_a_table_written_by_pandas_reads_back_exactly(tmp_path_factory, data, sep):
    pd = pytest.importorskip("pandas")
    path = tmp_path_factory.mktemp("rt") / "t.csv"
    frame = pd.DataFrame(data, columns=["a", "b c", "y"])
    frame.to_csv(path, sep=sep, index=False)
    X, y, names = pn.datasets.load_csv(path, "y")
    assert names == ["a", "b c"]
    np.testing.assert_array_equal(X, frame[["a", "b c"]].to_numpy())
    np.testing.assert_array_equal(np.asarray(y, dtype=float), frame["y"].to_numpy())
