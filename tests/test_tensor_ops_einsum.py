"""``pn.einsum`` on subscripts drawn by hypothesis: repeated letters (diagonals, traces),
letters summed inside one operand, implicit and explicit outputs, ``...`` with broadcasting
axes of length 1. Values equal NumPy's, and the gradient of every operand equals central
finite differences."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plainnet as pn
from plainnet.autodiff import ops

LETTERS = "abcd"


@st.composite
def einsum_problems(draw):
    sizes = {c: draw(st.integers(1, 3)) for c in LETTERS}
    n_operands = draw(st.integers(1, 3))
    broadcast = draw(st.lists(st.integers(1, 3), max_size=2))  # the shape behind "..."
    terms, shapes = [], []
    for _ in range(n_operands):
        letters = draw(st.lists(st.sampled_from(LETTERS), max_size=3))
        shape = [sizes[c] for c in letters]
        term = "".join(letters)
        if broadcast and draw(st.booleans()):
            k = draw(st.integers(0, len(broadcast)))  # a suffix of the broadcast axes
            tail = [n if draw(st.booleans()) else 1 for n in broadcast[len(broadcast) - k:]]
            where = draw(st.integers(0, len(letters)))
            term = term[:where] + "..." + term[where:]
            shape = shape[:where] + tail + shape[where:]
        terms.append(term)
        shapes.append(tuple(shape))
    used = sorted(set("".join(terms).replace(".", "")))
    subscripts = ",".join(terms)
    if draw(st.booleans()):  # an explicit output: some of the letters, in any order
        out = draw(st.permutations(used))[: draw(st.integers(0, len(used)))]
        ellipsis = "..." if any("..." in t for t in terms) else ""
        subscripts += "->" + ellipsis + "".join(out)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    return subscripts, arrays


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(einsum_problems())
def test_einsum_values_and_gradients(problem):
    subscripts, arrays = problem
    expected = np.einsum(subscripts, *arrays)
    got = ops.einsum(subscripts, *[pn.tensor(a) for a in arrays])
    np.testing.assert_allclose(got.data, expected, rtol=1e-10, atol=1e-12)

    w = np.random.default_rng(1).standard_normal(np.shape(expected))

    def f(*xs):
        return (ops.einsum(subscripts, *xs) * w).sum()

    grads = pn.grad(f, argnums=tuple(range(len(arrays))))(*arrays)
    for k, a in enumerate(arrays):

        def fk(xk, k=k):
            xs = [pn.tensor(b) for b in arrays]
            xs[k] = pn.tensor(xk)
            return float(f(*xs))

        np.testing.assert_allclose(grads[k], pn.numerical_grad(fk, a), rtol=1e-6, atol=1e-8)
