r"""Convolution and pooling: each forward beside its vector-Jacobian product.

A convolution is the notes' neuron (a weighted sum plus a bias) applied at every position of
an image. Written as one matrix product:

1. a zero-copy *sliding-window view* of the (padded) input, ``(C, *kernel, *out, N)``, made
   with strides (`numpy.lib.stride_tricks.as_strided()` on the CPU,
   ``sliding_window_view`` elsewhere, which CuPy implements);
2. the view laid out as *columns* ``(C * prod(kernel), prod(out) * N)`` (one copy, "im2col");
3. ``W (O, C * prod(kernel)) @ columns``: every neuron at every position in one product.

With ``groups`` the channels split into groups and the product is batched over them (one
code path: ``groups=1`` is a batch of one).

**Batch-last inside.** Convolution and pooling compute on ``(C, *spatial, N)`` arrays, the
image index varying fastest, and hand out their results as ``(N, C, *spatial)`` views of
them (nothing is copied to reorder; the next layer reads that memory as it is). Every
window operation then moves runs over the whole batch: a row of a kernel tap is
``out[-1] * N`` contiguous values (1,536 for LeNet's first layer at batch 64) where the
image-major layout gives ``out[-1]`` (24), and NumPy's copies and sums spend their time
between runs. A pooling tap is a strided view whose rows are runs over the batch, used
without a copy. (An input in the usual layout is copied once into this one.)

**Blocks that stay in cache.** On the CPU the columns of a block of output rows are copied
into one buffer and multiplied before the next block's take their place: the BLAS reads them
from cache, which made LeNet's first layer 2x faster on one thread. Nothing is kept for the
backward pass but the windows (a view): the weight gradient copies each block's columns again,
and the input gradient folds each block's columns into the input rows its windows cover. The
buffer's last row is ones, the *bias trick* of the notes: the bias is one more column of the
weights, added by the forward product, and its gradient comes out of the weight gradient's.

Gradients, with ``g`` the gradient of the output and ``X`` the columns:

$$
\frac{\partial L}{\partial W} = g\,X^\top, \qquad
\frac{\partial L}{\partial X} = W^\top g, \qquad
\frac{\partial L}{\partial b} = \textstyle\sum_{n, \text{positions}} g
$$

and the input's gradient is $W^\top g$ added back from columns to the image (col2im:
one strided ``+=`` per kernel offset and spatial axis). That map is the *transposed
convolution*; so the three linear maps — convolution ``F(x, w)``, its transpose
``F^T(y, w)`` and the weight gradient ``G(x, y)`` — are each an op whose vjps are the other
two, and gradients of gradients work.

Pooling slides a window the same way: max pooling keeps the running maximum over the kernel
offsets and the offset that won (the *argmax*, for the backward pass); average pooling sums
the offsets and divides. (``Sequential`` runs a ``ReLU`` followed by max pooling as one
pooling whose maximum starts at zero: the same values and gradients, with no pass of the
ReLU's own.)

Everything uses the array module of its input (NumPy, CuPy), never moves data to the host,
and keeps the input's dtype (float32 stays float32).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import backend as _backend
from .engine import Op, Tensor, apply, apply_or_array
from .ops import matmul, swapaxes


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _xp(x):
    return np if type(x) is np.ndarray else _backend.array_module(x)


class Geometry(NamedTuple):
    """How a kernel slides: per spatial axis ``stride``, ``padding`` as ``(before, after)``
    pairs and ``dilation`` (the gap between kernel taps), and the number of ``groups``."""

    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int = 1


def output_size(size: int, k: int, stride: int, pad: tuple, dilation: int) -> int:
    r"""Positions of a kernel of ``k`` taps along an axis of ``size``:
    $\lfloor (size + p_0 + p_1 - d(k-1) - 1) / s \rfloor + 1$."""
    return (size + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def _output_shape(spatial, kernel, geo: Geometry) -> tuple:
    return tuple(
        output_size(n, k, s, p, d) for n, k, s, p, d
        in zip(spatial, kernel, geo.stride, geo.padding, geo.dilation, strict=True)
    )


def _padded(spatial, padding) -> tuple:
    return tuple(n + lo + hi for n, (lo, hi) in zip(spatial, padding, strict=True))


# --------------------------------------------------------------------------- layout
def batch_last(x):
    """``x`` ``(N, C, *spatial)`` as the contiguous array ``(C, *spatial, N)``: free when ``x``
    is the batch-last view a convolution or pooling hands out, else one copy."""
    return _xp(x).ascontiguousarray(x.transpose(tuple(range(1, x.ndim)) + (0,)))


def batch_first(xc):
    """The ``(N, C, *spatial)`` view of a batch-last array ``(C, *spatial, N)``."""
    return xc.transpose((xc.ndim - 1,) + tuple(range(xc.ndim - 1)))


def _pad(xc, padding, value=0.0):
    """``xc`` ``(C, *spatial, N)`` with ``padding`` (pairs per spatial axis) filled by
    ``value``."""
    if not any(lo or hi for lo, hi in padding):
        return xc
    return np.pad(xc, ((0, 0),) + tuple(padding) + ((0, 0),), constant_values=value)


def _tap(k, out, geo: Geometry):
    """The slice of a padded batch-last array that kernel offset ``k`` reads at every
    output position."""
    return (slice(None),) + tuple(
        slice(ki * d, ki * d + (o - 1) * s + 1, s)
        for ki, o, s, d in zip(k, out, geo.stride, geo.dilation, strict=True)
    ) + (slice(None),)


def _crop(xc, spatial, padding):
    """Drop ``padding`` from the spatial axes of ``xc`` ``(C, *padded, N)``."""
    if not any(lo or hi for lo, hi in padding):
        return xc
    return xc[(slice(None),)
              + tuple(slice(lo, lo + n) for n, (lo, _) in zip(spatial, padding, strict=True))
              + (slice(None),)]


# --------------------------------------------------------------------------- windows
def windows(xc, kernel, stride, dilation, out):
    """The zero-copy view ``(C, *kernel, *out, N)`` of ``xc`` ``(C, *spatial, N)`` in which
    ``[c, k, o, n] = xc[c, o * stride + k * dilation, n]`` (per spatial axis)."""
    nd = len(kernel)
    if type(xc) is np.ndarray:
        steps = xc.strides[1:-1]
        strides = ((xc.strides[0],) + tuple(t * d for t, d in zip(steps, dilation, strict=True))
                   + tuple(t * s for t, s in zip(steps, stride, strict=True))
                   + (xc.strides[-1],))
        return np.lib.stride_tricks.as_strided(
            xc, (xc.shape[0],) + tuple(kernel) + tuple(out) + (xc.shape[-1],), strides,
            writeable=False)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    view = np.lib.stride_tricks.sliding_window_view(xc, span, axis=tuple(range(1, 1 + nd)))
    index = (slice(None),)
    index += tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, stride, strict=True))
    index += (slice(None),) + tuple(slice(None, None, d) for d in dilation)
    view = view[index]  # (C, *out, N, *kernel)
    order = (0,) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(1, 1 + nd)) + (1 + nd,)
    return view.transpose(order)


def columns(x, kernel, geo: Geometry, out):
    """im2col: the windows of the padded ``x`` ``(N, C, *spatial)`` as ``(groups,
    C/groups * prod(kernel), prod(out) * N)``, a fresh contiguous array (the one copy a
    convolution makes).

    Positions are ordered batch-last (the image index varies fastest), so the copy moves
    runs of ``out[-1] * N`` values rather than ``out[-1]``: a window's row of taps reads the
    same row of every image of the batch at once.
    """
    win = windows(_pad(batch_last(x), geo.padding), kernel, geo.stride, geo.dilation, out)
    return win.reshape(geo.groups, -1, math.prod(out) * x.shape[0])


def _fold(cols, sizes, kernel, geo: Geometry, out):
    """col2im, the adjoint of `columns()`: ``cols`` ``(C, *kernel, *out, N)`` added into a
    zero image ``(C, *sizes, N)`` at the positions each tap read (``sizes``: the padded extent
    the windows cover).

    One spatial axis at a time: its kernel offsets are added into that axis, each one strided
    ``+=`` (so ``sum(kernel)`` additions instead of ``prod(kernel)``, each over a larger
    block, whose rows are runs over the batch).
    """
    nd = len(kernel)
    xp = _xp(cols)
    acc = cols  # (C, k_a, ..., k_last, full_0, ..., full_{a-1}, out_a, ..., out_last, N)
    for a in range(nd):
        axis = nd  # where spatial axis a sits once k_a is summed away
        shape = list(acc.shape[:1] + acc.shape[2:])
        shape[axis] = sizes[a]
        folded = xp.zeros(tuple(shape), dtype=cols.dtype)
        s, d, o = geo.stride[a], geo.dilation[a], out[a]
        for k in range(kernel[a]):
            index = [slice(None)] * len(shape)
            index[axis] = slice(k * d, k * d + (o - 1) * s + 1, s)
            folded[tuple(index)] += acc[:, k]
        acc = folded
    return acc


# --------------------------------------------------------------------------- convolution
#: About the bytes of columns one matrix product takes at a time (half a core's L2 cache):
#: the columns of a block of output rows are copied and multiplied while cached (on one
#: thread, LeNet's first convolution ran 2x faster, forward and weight gradient).
_BLOCK_BYTES = 1 << 19
#: The same for the input gradient, whose col2im sums cost a few calls per block: larger
#: blocks (a small layer's in one), which still split the columns of a wide layer.
_FOLD_BLOCK_BYTES = 1 << 22
#: The fewest positions in a block, up to `_MAX_BLOCK_BYTES` of columns: thinner products
#: run below the BLAS's speed and keep its threads waiting. A layer with many rows of
#: columns (LeNet's second, 150) gains more from a wide product than from the cache: measured
#: in one process, alternating epochs, LeNet's step was 5-12% faster with its second layer
#: in one block of 4,096 positions than in two, and the wider CNN's 3-6% faster with blocks
#: of 3 output rows (6 MiB) than of 1 or 2; its first layer (25 rows) wants the 512 KiB
#: blocks (24% slower with 6 output rows a block instead of 3).
_MIN_BLOCK_POSITIONS = 4096
_MAX_BLOCK_BYTES = 1 << 23


def _row_blocks(out, rows_per_position: int, n: int, itemsize: int,
                budget: int | None = None) -> list:
    """Slices of the first output axis whose columns (``rows_per_position`` values for each of
    the block's positions) take about ``budget`` bytes (default `_BLOCK_BYTES`), or hold
    `_MIN_BLOCK_POSITIONS` positions within `_MAX_BLOCK_BYTES`: at least one output row
    each."""
    budget = _BLOCK_BYTES if budget is None else budget
    row = math.prod(out[1:]) * n
    row_bytes = max(rows_per_position * row * itemsize, 1)
    thin = min(-(-_MIN_BLOCK_POSITIONS // row), max(_MAX_BLOCK_BYTES, budget) // row_bytes)
    step = max(1, budget // row_bytes, thin)
    return [slice(a, min(a + step, out[0])) for a in range(0, out[0], step)]


def _block_columns(win, rows, groups):
    """The columns of the output rows ``rows``: ``win`` ``(C, *kernel, *out, N)`` restricted to
    them, copied as ``(groups, C/groups * prod(kernel), positions)``."""
    nd = (win.ndim - 2) // 2
    return win[(slice(None),) * (1 + nd) + (rows,)].reshape(groups, -1, _count(win, nd, rows))


def _count(win, nd, rows) -> int:
    """The positions of output rows ``rows`` in ``win`` ``(C, *kernel, *out, N)``."""
    return len(range(*rows.indices(win.shape[1 + nd]))) * math.prod(win.shape[2 + nd :])


def _column_buffer(win, blocks, groups, ones: bool):
    r"""One host buffer for the columns of the largest of ``blocks``, reused block after block
    (the next block's columns overwrite ones still in cache): ``(groups, C/groups *
    prod(kernel) + ones, positions)``.

    With ``ones`` the last row of each group is ones: the *bias trick* of the notes. The bias
    becomes one more column of the weights, so the forward product adds it, and the weight
    gradient's product $g [X; 1]^\top$ yields $\sum g$, the bias gradient, in its last column
    (no pass of its own over the output or its gradient)."""
    nd = (win.ndim - 2) // 2
    most = max(_count(win, nd, rows) for rows in blocks)
    k = win.shape[0] // groups * math.prod(win.shape[1 : 1 + nd])
    buf = np.empty((groups, k + ones, most), dtype=win.dtype)
    if ones:
        buf[:, k] = 1
    return buf


def _fill(buf, win, rows, groups):
    """Copy the windows of the output rows ``rows`` into the buffer ``buf`` of
    `_column_buffer()`; returns the block's columns, a view of ``buf``: ``(groups, rows of
    buf, positions)``."""
    nd = (win.ndim - 2) // 2
    taps = win[(slice(None),) * (1 + nd) + (rows,)]
    block = buf[:, :, : _count(win, nd, rows)]
    k = win.shape[0] // groups * math.prod(win.shape[1 : 1 + nd])
    shape = (groups, win.shape[0] // groups) + taps.shape[1:]  # only splits axes: views
    np.copyto(block[:, :k].reshape(shape), taps.reshape(shape))
    return block


def _rows(g, groups):
    """``g`` (N, O, *out) as ``(groups, O/groups, prod(out) * N)``, positions batch-last
    (free when ``g`` is the batch-last view a convolution hands out)."""
    return batch_last(g).reshape(groups, g.shape[1] // groups, -1)


def _windows_of(x, kernel, geo: Geometry, out):
    return windows(_pad(batch_last(x), geo.padding), kernel, geo.stride, geo.dilation, out)


def _conv_forward(x, w, geo: Geometry, cache=None, b=None):
    """``F(x, w)`` (plus the bias ``b`` where given): ``(N, C, *S)`` by ``(O, C/groups, *K)``
    -> ``(N, O, *out)``, handed out as the view of its batch-last result ``(O, *out, N)``.

    On the CPU the columns of a block of output rows are copied into one buffer and multiplied
    while they are still in cache (the bias by the buffer's row of ones); ``cache`` keeps the
    windows, from which the weight gradient copies the columns again. A device's arrays take
    one product of all the columns (kept in ``cache``), which graphs record.
    """
    kernel = w.shape[2:]
    out = _output_shape(x.shape[2:], kernel, geo)
    n, o, groups = x.shape[0], w.shape[0], geo.groups
    wg = w.reshape(groups, o // groups, -1)
    if type(x) is not np.ndarray:
        cols = columns(x, kernel, geo, out)
        if cache is not None:
            cache["cols"] = cols
        y = batch_first(_backend.matmul(wg, cols).reshape((o,) + out + (n,)))
        if b is not None:
            y += b.reshape(_bias_shape(len(out)))
        return y
    win = _windows_of(x, kernel, geo, out)
    if cache is not None:
        cache["windows"] = win
    blocks = _row_blocks(out, wg.shape[2] * groups, n, x.itemsize)
    buf = _column_buffer(win, blocks, groups, ones=b is not None)
    if b is not None:
        wg = np.concatenate([wg, b.reshape(groups, o // groups, 1).astype(wg.dtype)], axis=2)
    y = np.empty((o,) + out + (n,), dtype=np.result_type(x, w))
    y_by_row = y.reshape(groups, o // groups, out[0], -1)
    for rows in blocks:
        np.matmul(wg, _fill(buf, win, rows, groups),
                  out=y_by_row[:, :, rows].reshape(groups, o // groups, -1))
    return batch_first(y)


def _conv_transpose_forward(y, w, spatial, geo: Geometry, yc=None):
    """``F^T(y, w)``: the adjoint of `_conv_forward()` in ``x``: ``(N, O, *out)`` ->
    ``(N, C, *spatial)`` by columns ``W^T y`` and col2im, a block of output rows at a time
    (each block's columns added into the input rows its windows cover)."""
    n, o = y.shape[:2]
    out = tuple(y.shape[2:])
    kernel = tuple(w.shape[2:])
    groups = geo.groups
    wg = w.reshape(groups, o // groups, -1)
    if yc is None:
        yc = _rows(y, groups)
    c = w.shape[1] * groups
    padded = _padded(spatial, geo.padding)
    by_row = yc.reshape(groups, o // groups, out[0], -1)
    s, d = geo.stride[0], geo.dilation[0]
    blocks = _row_blocks(out, wg.shape[2] * groups, n, yc.itemsize, _FOLD_BLOCK_BYTES)
    acc = None
    for rows in blocks:
        first, stop, _ = rows.indices(out[0])
        cols = _backend.matmul(wg.swapaxes(1, 2),
                               by_row[:, :, rows].reshape(groups, o // groups, -1))
        block_out = (stop - first,) + out[1:]
        cols = cols.reshape((c,) + kernel + block_out + (n,))
        span = (stop - first - 1) * s + (kernel[0] - 1) * d + 1
        folded = _fold(cols, (span,) + padded[1:], kernel, geo, block_out)
        if len(blocks) == 1 and span == padded[0]:  # one block that covers the whole image
            acc = folded
            break
        if acc is None:
            acc = _xp(yc).zeros((c,) + padded + (n,), dtype=folded.dtype)
        acc[:, first * s : first * s + span] += folded
    return batch_first(_crop(acc, spatial, geo.padding))


def _conv_weight_forward(x, y, kernel, geo: Geometry, win=None, yc=None, cols=None):
    """``G(x, y)``: the gradient of ``<F(x, w), y>`` in ``w``: ``y X^T`` per group."""
    gw = _weight_products(x, y, kernel, geo, win, yc, cols, ones=False)
    return _weight_layout(gw, y.shape[1], x.shape[1] // geo.groups, kernel)


def _weight_layout(gw, o, c, kernel):
    """``(groups, C/groups * prod(kernel), O/groups)`` products as a weight ``(O, C/groups,
    *kernel)``."""
    return gw.swapaxes(1, 2).reshape((o, c) + tuple(kernel))


def _weight_products(x, y, kernel, geo: Geometry, win, yc, cols, ones: bool):
    """``X y^T`` per group, ``(groups, C/groups * prod(kernel) + ones, O/groups)``, summed over
    blocks of output rows whose columns stay in cache: sliced from a device forward's
    ``cols``, else copied again from the windows (into one buffer on the host, whose row of
    ``ones`` gives the bias gradient as the last row)."""
    out = tuple(y.shape[2:])
    n, o, groups = x.shape[0], y.shape[1], geo.groups
    if yc is None:
        yc = _rows(y, groups)
    if cols is None and win is None:
        win = _windows_of(x, kernel, geo, out)
    by_row = yc.reshape(groups, o // groups, out[0], -1)
    blocks = _row_blocks(out, x.shape[1] * math.prod(kernel), n, x.itemsize)
    buf = _column_buffer(win, blocks, groups, ones) if cols is None and \
        type(win) is np.ndarray else None
    gw = None
    for rows in blocks:
        if buf is not None:
            block = _fill(buf, win, rows, groups)
        elif cols is None:
            block = _block_columns(win, rows, groups)
        else:
            first, stop, _ = rows.indices(out[0])
            width = cols.shape[2] // out[0]
            block = cols[:, :, first * width : stop * width]
        g_rows = by_row[:, :, rows].reshape(groups, o // groups, -1)
        part = _backend.matmul(block, g_rows.swapaxes(1, 2))
        gw = part if gw is None else gw + part
    return gw


def conv_input_grad(y, w, spatial, geo: Geometry):
    """$F^\\top(y, w)$ as an op (differentiable on Tensors)."""
    return apply_or_array(CONV_TRANSPOSE_RAW, y, w, spatial=tuple(spatial), geo=geo)


def conv_weight_grad(x, y, kernel, geo: Geometry):
    """$G(x, y)$ as an op (differentiable on Tensors)."""
    return apply_or_array(CONV_WEIGHT, x, y, kernel=tuple(kernel), geo=geo)


def conv_raw(x, w, geo: Geometry):
    """$F(x, w)$ (no bias) as an op (differentiable on Tensors)."""
    return apply_or_array(CONV_RAW, x, w, geo=geo)


def _conv_raw_vjp(i, g, out, x, w, geo):
    if i == 0:
        return conv_input_grad(g, w, x.shape[2:], geo)
    return conv_weight_grad(x, g, w.shape[2:], geo)


def _conv_transpose_raw_vjp(i, g, out, y, w, spatial, geo):
    if i == 0:
        return conv_raw(g, w, geo)
    return conv_weight_grad(g, y, w.shape[2:], geo)


def _conv_weight_vjp(i, g, out, x, y, kernel, geo):
    if i == 0:
        return conv_input_grad(y, g, x.shape[2:], geo)
    return conv_raw(x, g, geo)


CONV_RAW = Op("conv", lambda x, w, geo: _conv_forward(x, w, geo), _conv_raw_vjp)
CONV_TRANSPOSE_RAW = Op("conv_transpose", _conv_transpose_forward, _conv_transpose_raw_vjp)
CONV_WEIGHT = Op("conv_weight", _conv_weight_forward, _conv_weight_vjp)


def _bias_shape(nd: int) -> tuple:
    return (1, -1) + (1,) * nd


def _conv_bias_forward(x, w, b, geo, cache):
    return _conv_forward(x, w, geo, cache, b)


def _conv_bias_vjp(i, g, out, x, w, b, geo, cache):
    if isinstance(g, Tensor):  # differentiating the backward pass: ops on Tensors
        if i == 2:
            return g.sum(axis=(0,) + tuple(range(2, g.ndim)))
        if i == 0:
            return conv_input_grad(g, w, x.shape[2:], geo)
        return conv_weight_grad(x, g, w.shape[2:], geo)
    if cache.get("g") is not g:  # g by channel, (groups, O/groups, N * positions): once
        cache["g"], cache["gc"] = g, _rows(g, geo.groups)
        cache.pop("bias_grad", None)
    gc = cache["gc"]
    if i == 0:
        return _conv_transpose_forward(g, w, x.shape[2:], geo, gc)
    if i == 2:
        found = cache.pop("bias_grad", None)  # left by the weight gradient's products
        return gc.sum(axis=-1).reshape(-1) if found is None else found
    win = cache.get("windows")
    ones = b is not None and type(win) is np.ndarray
    gw = _weight_products(x, g, w.shape[2:], geo, win, gc, cache.pop("cols", None), ones)
    if ones:
        cache["bias_grad"] = gw[:, -1].reshape(-1)
        gw = gw[:, :-1]
    return _weight_layout(gw, w.shape[0], w.shape[1], w.shape[2:])


CONV = Op("conv_bias", _conv_bias_forward, _conv_bias_vjp)


def conv(x, weight, bias, geo: Geometry):
    r"""N-d convolution (cross-correlation, as PyTorch's) with a bias, as one op.

    $$
    y[n, o, p] = b_o + \sum_{c, k} w[o, c, k]\; x_{\text{pad}}[n, c, p s + k d]
    $$

    ``x`` is ``(N, C, *spatial)``, ``weight`` ``(O, C/groups, *kernel)``; channels
    ``c`` range over the group of ``o``. Shapes are checked by the callers
    ([`plainnet.nn.functional.conv2d()`][plainnet.nn.functional.conv2d]).
    """
    return apply(CONV, x, weight, bias, geo=geo, cache={})


def _conv_transpose_bias_forward(x, w, b, spatial, geo):
    y = _conv_transpose_forward(x, w, spatial, geo)
    if b is not None:
        y = y + b.reshape(_bias_shape(y.ndim - 2))
    return y


def _conv_transpose_bias_vjp(i, g, out, x, w, b, spatial, geo):
    if i == 2:
        return g.sum(axis=(0,) + tuple(range(2, g.ndim)))
    if i == 0:
        return conv_raw(g, w, geo)
    return conv_weight_grad(g, x, w.shape[2:], geo)


CONV_TRANSPOSE = Op("conv_transpose_bias", _conv_transpose_bias_forward, _conv_transpose_bias_vjp)


def conv_transpose(x, weight, bias, spatial, geo: Geometry):
    r"""Transposed convolution with a bias: the adjoint of `conv()` in its input.

    ``x`` is ``(N, C_in, *in)``, ``weight`` ``(C_in, C_out/groups, *kernel)`` (PyTorch's
    layout), and the result ``(N, C_out, *spatial)`` where ``spatial`` is the input size of the
    convolution whose transpose this is. Each input value spreads ``w`` over the output:

    $$
    y[n, o, p s + k d - \text{pad}] \mathrel{+}= w[c, o, k]\, x[n, c, p]
    $$
    """
    return apply(CONV_TRANSPOSE, x, weight, bias, spatial=tuple(spatial), geo=geo)


# --------------------------------------------------------------------------- pooling
def _pool_output(padded, kernel, geo) -> tuple:
    return _output_shape(padded, kernel, geo._replace(padding=((0, 0),) * len(kernel)))


def _taps(xc, kernel, out, geo):
    """One view ``(C, *out, N)`` of the padded batch-last ``xc`` per kernel offset: the
    values that offset reads in every window (no copy; each row a run over the batch)."""
    return [xc[_tap(k, out, geo)] for k in np.ndindex(*kernel)]


def _disjoint(kernel, geo) -> bool:
    """Whether no input position is read by two taps (windows do not overlap)."""
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, geo.stride, geo.dilation,
                                                        strict=True))


def _tiles(spatial, kernel, geo) -> bool:
    """Whether the windows tile the input exactly: every position in exactly one window."""
    return not any(lo or hi for lo, hi in geo.padding) and all(
        d == 1 and s == k and n % k == 0
        for n, k, s, d in zip(spatial, kernel, geo.stride, geo.dilation, strict=True)
    )


def _gradient_buffer(x, g, geo, kernel):
    """The batch-last gradient ``(C, *padded, N)`` of the pooling input, to be filled tap by
    tap: left unfilled where the windows tile the input (every value is then written)."""
    shape = (x.shape[1],) + _padded(x.shape[2:], geo.padding) + (x.shape[0],)
    make = _xp(g).empty if _tiles(x.shape[2:], kernel, geo) else _xp(g).zeros
    return make(shape, dtype=g.dtype)


def _max_pool_forward(x, kernel, geo, cache, relu=False):
    xc = _pad(batch_last(x), geo.padding, -np.inf)
    taps = _taps(xc, kernel, _pool_output(xc.shape[1:-1], kernel, geo), geo)
    xp = _xp(xc)
    best = taps[0].copy()  # a strided copy: faster than any other first pass over a tap
    index = np.int8 if len(taps) < 128 else np.int32
    if relu:  # max(0, taps): zero is a tap before the first, offset -1, which no gradient takes
        np.maximum(best, 0, out=best)
        arg = (best > 0).astype(index)
        arg -= 1
    else:
        arg = xp.zeros(best.shape, dtype=index)
    for j in range(1, len(taps)):
        v = taps[j]
        better = v > best  # strict: the first maximum wins, as in PyTorch
        arg += better * (j - arg)  # arg = j where better (arithmetic: faster than a mask)
        np.maximum(best, v, out=best)  # NaN propagates
    if type(best) is np.ndarray and np.isnan(best.sum()):  # one sum: rare, exact path
        for j, v in enumerate(taps):  # a NaN wins its window, the last one (as PyTorch)
            arg[np.isnan(v)] = j
    cache["argmax"] = arg
    return batch_first(best)


def _max_pool_vjp(i, g, out, x, kernel, geo, cache, relu=False):
    if isinstance(g, Tensor):
        raise NotImplementedError("second derivatives through max pooling are not implemented")
    arg = cache["argmax"]
    gc = batch_last(g)
    acc = _gradient_buffer(x, g, geo, kernel)
    disjoint = _disjoint(kernel, geo)
    for j, k in enumerate(np.ndindex(*kernel)):  # g goes to each window's winner
        tap = acc[_tap(k, g.shape[2:], geo)]
        if disjoint:
            np.multiply(arg == j, gc, out=tap)
        else:
            tap += (arg == j) * gc
    return batch_first(_crop(acc, x.shape[2:], geo.padding))


MAX_POOL = Op("max_pool", _max_pool_forward, _max_pool_vjp)


def max_pool(x, kernel, geo: Geometry, relu: bool = False):
    r"""Max pooling: $y[n, c, p] = \max_k x_{\text{pad}}[n, c, p s + k d]$ (padding is
    $-\infty$). The winning offset of each window is kept; the backward pass sends
    ``g`` to it alone (the first maximum on ties, and a NaN over any number, the last NaN
    of the window, as PyTorch; on a GPU the NaN's offset is not sought).

    With ``relu``, the pooling of a ReLU's output in one op:
    $\max_k \mathrm{relu}(x_k) = \max(0, \max_k x_k)$, zero counted as an offset before the
    first; where it wins (no value is positive) no gradient passes, as through the ReLU."""
    return apply(MAX_POOL, x, kernel=tuple(kernel), geo=geo, cache={}, relu=bool(relu))


def _window_sum(xc, kernel, geo):
    """The sum of each window of the padded batch-last ``xc``."""
    taps = _taps(xc, kernel, _pool_output(xc.shape[1:-1], kernel, geo), geo)
    total = taps[0].copy()
    for v in taps[1:]:
        total += v
    return total


def _avg_divisor(x, kernel, geo, count_include_pad):
    """The number of values averaged at each position: ``prod(kernel)``, unless windows reach
    past the declared padding (ceil mode) or the padding is not counted (as PyTorch)."""
    spatial = x.shape[2:]
    overhang = any(hi > lo for lo, hi in geo.padding)
    if not overhang and (count_include_pad or not any(lo for lo, _ in geo.padding)):
        return float(math.prod(kernel))
    padded = _padded(spatial, geo.padding)
    if count_include_pad:  # the declared padding counts, the ceil-mode overhang does not
        region = tuple(slice(0, n + 2 * lo) for n, (lo, _) in zip(spatial, geo.padding,
                                                                     strict=True))
    else:
        region = tuple(slice(lo, lo + n) for n, (lo, _) in zip(spatial, geo.padding,
                                                                  strict=True))
    ones = _xp(x).zeros((1,) + padded + (1,), dtype=x.dtype)
    ones[(0,) + region + (0,)] = 1
    return _window_sum(ones, kernel, geo)


def _avg_pool_forward(x, kernel, geo, count_include_pad, cache):
    total = _window_sum(_pad(batch_last(x), geo.padding), kernel, geo)
    divisor = _avg_divisor(x, kernel, geo, count_include_pad)
    cache["divisor"] = divisor
    total /= divisor
    return batch_first(total)


def _avg_pool_vjp(i, g, out, x, kernel, geo, count_include_pad, cache):
    if isinstance(g, Tensor):
        raise NotImplementedError("second derivatives through average pooling are not "
                                  "implemented")
    share = batch_last(g) / cache["divisor"]  # every value of a window gets its share
    acc = _gradient_buffer(x, g, geo, kernel)
    disjoint = _disjoint(kernel, geo)
    for k in np.ndindex(*kernel):
        if disjoint:
            acc[_tap(k, g.shape[2:], geo)] = share
        else:
            acc[_tap(k, g.shape[2:], geo)] += share
    return batch_first(_crop(acc, x.shape[2:], geo.padding))


AVG_POOL = Op("avg_pool", _avg_pool_forward, _avg_pool_vjp)


def avg_pool(x, kernel, geo: Geometry, count_include_pad: bool = True):
    r"""Average pooling: the mean of each window,
    $y[n, c, p] = \frac1{|W_p|}\sum_k x_{\text{pad}}[n, c, p s + k]$, where
    $|W_p|$ counts the window's values (the zero padding too, with
    ``count_include_pad``); its gradient spreads $g / |W_p|$ over the window."""
    return apply(AVG_POOL, x, kernel=tuple(kernel), geo=geo,
                 count_include_pad=bool(count_include_pad), cache={})


# --------------------------------------------------------------------------- gathers
def _take_vjp(i, g, out, x, index, axis):
    """The adjoint of taking ``index`` along ``axis``: ``g`` times the one-hot matrix
    ``[index[j] == m]`` (repeated indices add up), as a matrix product on ``g``'s device."""
    size = x.shape[axis]
    onehot = (index[:, None] == _xp(index).arange(size)[None, :]).astype(g.dtype)
    return swapaxes(matmul(swapaxes(g, axis, -1), onehot), axis, -1)


TAKE = Op("take", lambda x, index, axis: x.take(index, axis=axis), _take_vjp)


def take(x, index, axis: int):
    """``x.take(index, axis=axis)`` as an op: ``index`` (an integer array on ``x``'s device)
    picks positions along one axis, repeats allowed (padding by reflection, nearest
    upsampling)."""
    return apply_or_array(TAKE, x, index, axis=axis)


def pad_indices(xp, size: int, before: int, after: int, mode: str):
    """Source positions of an axis of ``size`` padded by ``before``/``after`` in ``mode``
    ``"reflect"`` (mirror without repeating the edge), ``"replicate"`` (repeat the edge) or
    ``"circular"`` (wrap around)."""
    i = xp.arange(-before, size + after)
    if mode == "reflect":
        i = xp.abs(i)
        return (size - 1) - xp.abs((size - 1) - i)
    if mode == "replicate":
        return xp.clip(i, 0, size - 1)
    return i % size


def nearest_indices(xp, size: int, out: int, scale: float | None):
    """Source positions of nearest upsampling from ``size`` to ``out`` (PyTorch's
    ``"nearest"``: ``floor(i * size / out)``, or ``floor(i / scale)`` given the scale)."""
    i = xp.arange(out)
    if scale is not None and float(scale).is_integer():
        return i // int(scale)
    factor = (1.0 / scale) if scale is not None else size / out
    src = xp.floor(i.astype(np.float32) * np.float32(factor)).astype(np.int64)
    return xp.minimum(src, size - 1)
