"""One small instance of every layer of pn.nn with an input for it, and the PyTorch layer with
the same arguments (for the file and ONNX tests: tests/test_io_layers.py, tests/test_onnx.py).
"""

from __future__ import annotations

import numpy as np

import plainnet as pn

nn = pn.nn
RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def _ids(*shape, high=10):
    return RNG.integers(0, high, shape)


# name -> (plainnet factory, input, torch factory taking the torch.nn module or None)
LAYERS = {
    "Linear": (lambda: nn.Linear(5, 4), _x(3, 5), lambda t: t.Linear(5, 4)),
    "Conv1d": (lambda: nn.Conv1d(3, 4, 3, padding=1), _x(2, 3, 10),
               lambda t: t.Conv1d(3, 4, 3, padding=1)),
    "Conv2d": (lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), _x(2, 4, 9, 9),
               lambda t: t.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2), _x(2, 3, 5, 5),
                        lambda t: t.ConvTranspose2d(3, 2, 3, stride=2)),
    "MaxPool1d": (lambda: nn.MaxPool1d(2), _x(2, 3, 10), None),
    "MaxPool2d": (lambda: nn.MaxPool2d(3, stride=2, padding=1), _x(2, 3, 8, 8), None),
    "AvgPool2d": (lambda: nn.AvgPool2d(2), _x(2, 3, 8, 8), None),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d(1), _x(2, 3, 8, 8), None),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(5), _x(4, 5), lambda t: t.BatchNorm1d(5)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), _x(2, 3, 5, 5), lambda t: t.BatchNorm2d(3)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), _x(2, 4, 5, 5), lambda t: t.GroupNorm(2, 4)),
    "LayerNorm": (lambda: nn.LayerNorm(6), _x(2, 5, 6), lambda t: t.LayerNorm(6)),
    "RMSNorm": (lambda: nn.RMSNorm(6), _x(2, 5, 6), lambda t: t.RMSNorm(6)),
    "Dropout": (lambda: nn.Dropout(0.5), _x(3, 5), None),
    "Dropout2d": (lambda: nn.Dropout2d(0.5), _x(2, 3, 5, 5), None),
    "Flatten": (lambda: nn.Flatten(), _x(2, 3, 4), None),
    "Unflatten": (lambda: nn.Unflatten(1, (2, 3)), _x(2, 6), None),
    "Upsample": (lambda: nn.Upsample(scale_factor=2), _x(2, 3, 4, 4), None),
    "Identity": (lambda: nn.Identity(), _x(3, 5), None),
    "Softmax": (lambda: nn.Softmax(), _x(3, 5), None),
    "LogSoftmax": (lambda: nn.LogSoftmax(), _x(3, 5), None),
    "Embedding": (lambda: nn.Embedding(10, 4), _ids(2, 5), lambda t: t.Embedding(10, 4)),
    "MultiheadAttention": (lambda: nn.MultiheadAttention(8, 2, batch_first=True), _x(2, 5, 8),
                           lambda t: t.MultiheadAttention(8, 2, batch_first=True)),
    "TransformerEncoderLayer": (
        lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
        _x(2, 5, 8),
        lambda t: t.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)),
    "TransformerEncoder": (
        lambda: nn.TransformerEncoder(
            nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
            norm=nn.LayerNorm(8)),
        _x(2, 5, 8),
        lambda t: t.TransformerEncoder(
            t.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
            norm=t.LayerNorm(8), enable_nested_tensor=False)),
    "RNN": (lambda: nn.RNN(4, 5, batch_first=True), _x(2, 6, 4),
            lambda t: t.RNN(4, 5, batch_first=True)),
    "LSTM": (lambda: nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True),
             _x(2, 6, 4),
             lambda t: t.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)),
    "GRU": (lambda: nn.GRU(4, 5, batch_first=True), _x(2, 6, 4),
            lambda t: t.GRU(4, 5, batch_first=True)),
}

NOT_LAYERS = {
    "Sequential", "ModuleList", "ModuleDict", "ParameterList", "RNNBase",  # containers, bases
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "L1Loss", "MSELoss",
    "NLLLoss",  # losses: no weights, not part of a model's forward
    "OnnxModule",  # pn.onnx.load's graph runner, not a layer
}


def activation_names() -> list[str]:
    return sorted({cls.__name__ for cls in nn.ACTIVATION_MODULES.values()})


def uncovered() -> list[str]:
    """The public layer classes of pn.nn that have no case here (nor are activations)."""
    from plainnet.nn.registry import builtin_classes

    known = set(LAYERS) | NOT_LAYERS | set(activation_names())
    return sorted(name for name in builtin_classes() if name not in known)


def with_trained_state(model):
    """``model`` with non-trivial buffers (running statistics) and biases, in eval mode."""
    for p in model.parameters():
        p.data += RNG.normal(size=p.shape).astype(p.data.dtype) * 0.1
    for m in model.modules():
        if hasattr(m, "running_mean") and m.running_mean is not None:
            m.running_mean[...] = RNG.normal(size=m.running_mean.shape)
            m.running_var[...] = RNG.uniform(0.5, 2.0, size=m.running_var.shape)
    return model.eval()


def outputs(model, x) -> list[np.ndarray]:
    """The model's outputs on ``x`` (eval mode), flattened to a list of arrays."""
    model.eval()
    with pn.no_grad():
        out = model(x)
    flat, stack = [], [out]
    while stack:
        item = stack.pop(0)
        if isinstance(item, (tuple, list)):
            stack[:0] = list(item)
        elif item is not None:
            flat.append(np.asarray(item.data))
    return flat
