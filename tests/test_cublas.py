"""The arguments plainnet hands cuBLAS for a matrix product recorded in a CUDA graph
(``plainnet._cublas``), checked on any machine: a column-major GEMM emulated in NumPy, reading
each operand's memory exactly as cuBLAS would (element ``(i, j)`` of a stored matrix at
``i + j * ld``), must give ``a @ b`` for every layout of the operands: contiguous,
transposed views, slices with gaps between rows, vectors and batches. On a GPU,
``tests/test_gpu.py`` runs the real calls inside recorded graphs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import as_strided

from plainnet import _cublas


def _stored(x, op, ld, rows, cols):
    """``op(stored matrix)`` where the stored matrix is ``rows x cols`` column-major at
    ``x``'s first element with leading dimension ``ld``."""
    assert ld >= max(rows, 1)
    size = x.itemsize
    stored = as_strided(x, shape=(rows, cols), strides=(size, ld * size), writeable=False)
    return stored if op == _cublas._N else stored.T


def emulated_gemm(a, b):
    """``a @ b`` computed as cuBLAS would compute it from :func:`_cublas.gemm_arguments`."""
    copies = []

    def contiguous(x):
        copies.append(x.shape)
        return np.ascontiguousarray(x)

    shape, (op_b, op_a, n, m, k, b2, ld_b, a2, ld_a) = _cublas.gemm_arguments(a, b, contiguous)
    stored_b = (n, k) if op_b == _cublas._N else (k, n)
    stored_a = (k, m) if op_a == _cublas._N else (m, k)
    ct = _stored(b2, op_b, ld_b, *stored_b) @ _stored(a2, op_a, ld_a, *stored_a)  # n x m
    return ct.T.reshape(shape), copies


def _operand(rng, rows, cols, kind, dtype):
    """A ``rows x cols`` matrix laid out as ``kind`` says."""
    if kind == "contiguous":
        return rng.standard_normal((rows, cols)).astype(dtype)
    if kind == "transposed":  # a view of a contiguous (cols, rows): columns contiguous
        return rng.standard_normal((cols, rows)).astype(dtype).T
    if kind == "row_gaps":  # every row of a wider array: rows contiguous, ld > cols
        return rng.standard_normal((rows, cols + 3)).astype(dtype)[:, 1:cols + 1]
    if kind == "column_gaps":  # transposed view of a wider array
        return rng.standard_normal((cols, rows + 2)).astype(dtype)[:, :rows].T
    # every other entry: neither rows nor columns contiguous, so copied first
    return rng.standard_normal((rows, 2 * cols)).astype(dtype)[:, ::2]


KINDS = ["contiguous", "transposed", "row_gaps", "column_gaps", "strided"]


@settings(max_examples=200, deadline=None)
@given(m=st.integers(1, 5), k=st.integers(1, 5), n=st.integers(1, 5),
       kind_a=st.sampled_from(KINDS), kind_b=st.sampled_from(KINDS),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_gemm_arguments_compute_the_product_for_every_layout(m, k, n, kind_a, kind_b, dtype,
                                                             seed):
    rng = np.random.default_rng(seed)
    a, b = _operand(rng, m, k, kind_a, dtype), _operand(rng, k, n, kind_b, dtype)
    got, copies = emulated_gemm(a, b)
    np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-5)
    assert got.dtype == dtype
    # only a layout cuBLAS cannot read is copied (rows and columns both with gaps)
    if "strided" not in (kind_a, kind_b) and min(m, k, n) > 1:
        assert copies == []


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [((5,), (5,)), ((3, 5), (5,)), ((5,), (5, 4)), ((2, 3, 5), (5, 4)), ((1, 1), (1, 1))],
)
def test_gemm_arguments_take_vectors_and_batches_as_numpy_does(a_shape, b_shape):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    got, _ = emulated_gemm(a, b)
    expected = a @ b
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_a_strided_vector_is_read_in_place():
    v = np.arange(12.0)[::3]  # 4 entries, 3 apart: one row of a matrix whose ld is 3
    got, copies = emulated_gemm(v, v)
    assert got == pytest.approx(v @ v) and copies == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (np.ones((2, 3), np.float32), np.ones((3, 2), np.float64)),  # two dtypes
        (np.ones((2, 3), np.float16), np.ones((3, 2), np.float16)),  # no GEMM of ours
        (np.ones((2, 3), np.int64), np.ones((3, 2), np.int64)),
        (np.ones((2, 2, 3)), np.ones((2, 3, 2))),  # a batch of matrices on both sides
        (np.ones((2, 3, 4)), np.ones(4)),
        (np.ones((2, 0)), np.ones((0, 3))),  # nothing to multiply
        (np.ones((2, 3)), np.ones((4, 2))),  # shapes that don't fit
    ],
)
def test_gemm_arguments_leave_other_products_to_the_array_module(a, b):
    assert _cublas.gemm_arguments(a, b, np.ascontiguousarray) is None
