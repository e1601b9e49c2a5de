r"""``TransformerEncoderLayer``: self-attention and a feed-forward network, each wrapped in a
residual connection and a layer normalization (PyTorch's layout and state-dict keys).

Post-norm (``norm_first=False``, the original Transformer):
$x \leftarrow \mathrm{LN}_1(x + \mathrm{SA}(x))$,
$x \leftarrow \mathrm{LN}_2(x + \mathrm{FF}(x))$; pre-norm (``norm_first=True``, GPT-2):
$x \leftarrow x + \mathrm{SA}(\mathrm{LN}_1(x))$,
$x \leftarrow x + \mathrm{FF}(\mathrm{LN}_2(x))$, with
$\mathrm{FF}(x) = W_2\, \mathrm{act}(W_1 x + b_1) + b_2$.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from .attention import MultiheadAttention
from .dropout import Dropout
from .linear import Linear, check_dtype
from .module import Module
from .normalization import LayerNorm
from .sequence_ops import gelu

ACTIVATIONS = ("relu", "gelu")


class TransformerEncoderLayer(Module):
    r"""One encoder block (PyTorch's ``nn.TransformerEncoderLayer``).

    Parameters
    ----------
    d_model : int
        Features of each position.
    nhead : int
        Attention heads.
    dim_feedforward : int, default 2048
        Hidden units of the feed-forward network.
    dropout : float, default 0.1
        Dropout after the attention, inside and after the feed-forward network.
    activation : {"relu", "gelu"}, default "relu"
    layer_norm_eps : float, default 1e-5
    batch_first : bool, default False
        ``(N, L, E)`` inputs instead of ``(L, N, E)``.
    norm_first : bool, default False
        Pre-norm (GPT-2's) instead of post-norm.
    bias : bool, default True
    dtype : numpy dtype, default float32

    Notes
    -----
    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: masks as in
    `MultiheadAttention` (boolean True = not allowed). State-dict keys:
    ``self_attn.in_proj_weight``, ``self_attn.in_proj_bias``, ``self_attn.out_proj.*``,
    ``linear1.*``, ``linear2.*``, ``norm1.*``, ``norm2.*``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 dtype=np.float32):
        super().__init__()
        self.d_model = check_int(d_model, "d_model", minimum=1)
        self.nhead = check_int(nhead, "nhead", minimum=1)
        self.dim_feedforward = check_int(dim_feedforward, "dim_feedforward", minimum=1)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")
        self.activation = activation
        self.norm_first = bool(norm_first)
        self.batch_first = bool(batch_first)
        self.layer_norm_eps = float(layer_norm_eps)
        dt = check_dtype(dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dt)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dt, init="pytorch")
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dt, init="pytorch")
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = self.self_attn._tensor(src)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, mask, padding, is_causal):
        out, _ = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=padding,
                                need_weights=False, is_causal=is_causal)
        return self.dropout1(out)

    def _ff_block(self, x):
        if self.activation == "relu":
            h = self.linear1.forward_relu(x)
        else:
            h = gelu(self.linear1(x))
        return self.dropout2(self.linear2(self.dropout(h)))

    def get_config(self) -> dict:
        return {
            "d_model": self.d_model,
            "nhead": self.nhead,
            "dim_feedforward": self.dim_feedforward,
            "dropout": self.dropout.p,
            "activation": self.activation,
            "layer_norm_eps": self.layer_norm_eps,
            "batch_first": self.batch_first,
            "norm_first": self.norm_first,
            "bias": self.linear1.bias is not None,
            "dtype": self.linear1.weight.dtype.name,
        }


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of an encoder layer, and an optional final norm
    (PyTorch's ``nn.TransformerEncoder``; state-dict keys ``layers.0.*``, ...,
    ``norm.*``).

    Parameters
    ----------
    encoder_layer : TransformerEncoderLayer
        The layer to copy (each copy starts with its weights and is trained on its own).
    num_layers : int
    norm : Module, optional
        Applied to the output of the last layer (e.g. a `LayerNorm` after pre-norm
        layers).

    Notes
    -----
    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=False)`` passes the masks
    to every layer.
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        from .container import ModuleList

        if not isinstance(encoder_layer, Module):
            raise TypeError(
                f"encoder_layer must be a Module; got {type(encoder_layer).__name__}"
            )
        self.num_layers = check_int(num_layers, "num_layers", minimum=1)
        self.layers = ModuleList([_copy(encoder_layer) for _ in range(self.num_layers)])
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        for layer in self.layers:
            x = layer(x, mask, src_key_padding_mask, is_causal)
        return x if self.norm is None else self.norm(x)

    def get_config(self) -> dict:
        from .module import module_to_spec

        return {
            "encoder_layer": module_to_spec(self.layers[0]),
            "num_layers": self.num_layers,
            "norm": None if self.norm is None else module_to_spec(self.norm),
        }

    @classmethod
    def from_config(cls, config: dict) -> TransformerEncoder:
        from .module import module_from_spec

        norm = config.get("norm")
        return cls(module_from_spec(config["encoder_layer"]), config["num_layers"],
                   None if norm is None else module_from_spec(norm))


def _copy(layer: Module) -> Module:
    """A new module like ``layer``, with a copy of its weights."""
    from .module import module_from_spec, module_to_spec

    twin = module_from_spec(module_to_spec(layer))
    twin.load_state_dict(layer.state_dict())
    return twin
