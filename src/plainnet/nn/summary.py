"""``model.summary()``: a table of a model's layers, their output shapes and parameter counts,
as Keras prints it."""

from __future__ import annotations

import numpy as np


def _input_shape(model) -> tuple | None:
    """The shape of one sample the model takes, where its first layer tells
    (``in_features``)."""
    for m in model.modules():
        if hasattr(m, "in_features"):
            return (int(m.in_features),)
        if hasattr(m, "in_channels") or hasattr(m, "num_embeddings"):
            return None
    return None


def _output_shapes(model, input_shape) -> dict:
    """``{id(module): output shape}`` from one forward pass of a zero batch of 1 (eval mode,
    no graph), seen through forward hooks."""
    from ..autodiff import Tensor, no_grad

    shapes, handles = {}, []
    for m in model.modules():
        def hook(module, inputs, output):
            shapes[id(module)] = tuple(getattr(output, "shape", ()))
        handles.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(Tensor(np.zeros((1, *input_shape), dtype=model.dtype)))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return shapes


def summary(model, input_shape: tuple | None = None) -> str:
    """The table of ``model``: each layer (name and type), its output shape (``-1`` for the
    batch axis) and number of parameters, then the totals.

    Parameters
    ----------
    model : Module
    input_shape : tuple, optional
        The shape of one sample (without the batch axis). By default the first layer's
        ``in_features``; where there is none (a convolution), output shapes show ``?``.

    Examples
    --------
    >>> import plainnet as pn
    >>> print(summary(pn.nn.Sequential(pn.nn.Linear(4, 8), pn.nn.ReLU(), pn.nn.Linear(8, 3))))
    Layer (type)    Output shape    Param #
    =======================================
    0 (Linear)      (-1, 8)              40
    1 (ReLU)        (-1, 8)               0
    2 (Linear)      (-1, 3)              27
    =======================================
    Total params: 67
    Trainable params: 67
    Non-trainable params: 0
    """
    shape = tuple(input_shape) if input_shape is not None else _input_shape(model)
    shapes = _output_shapes(model, shape) if shape is not None else {}
    rows = []
    for name, m in model.named_modules():
        if name == "" and any(True for _ in m.children()):
            continue  # the container itself: its layers are the rows
        own = sum(int(np.prod(p.shape)) for _, p in m.named_parameters()
                  if "." not in _)  # this layer's own parameters
        out = shapes.get(id(m))
        out = "?" if out is None else str((-1, *out[1:]))
        rows.append((f"{name or type(m).__name__} ({type(m).__name__})", out, own))
    total = sum(int(np.prod(p.shape)) for p in model.parameters())
    trainable = sum(int(np.prod(p.shape)) for p in model.parameters() if p.requires_grad)
    w0 = max([len("Layer (type)")] + [len(r[0]) for r in rows]) + 4
    w1 = max([len("Output shape")] + [len(r[1]) for r in rows]) + 4
    w2 = max([len("Param #")] + [len(f"{r[2]:,}") for r in rows])
    rule = "=" * (w0 + w1 + w2)
    lines = [f"{'Layer (type)':<{w0}}{'Output shape':<{w1}}{'Param #':>{w2}}", rule]
    lines += [f"{a:<{w0}}{b:<{w1}}{c:>{w2},}" for a, b, c in rows]
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}"]
    return "\n".join(lines)
