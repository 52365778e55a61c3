"""The FlexiBERT as-trained encoder: the discriminator graph that produced the GLUE scores.

Written from docs/specs.md §9. Every layer is plain scaled-dot-product attention
(the operation fields were inert in the trained graph) at the record's real widths: hidden size
H from the record, first FFN linear to 4H, stacked FFN linears to the layer's
``feed_forward_dimension``. The E->H projection exists only when H != 128, the attention mask is
applied (-10,000 on padded keys) and the init follows TF1 (truncated Normal, Glorot projection).
It exposes the same hook points as :mod:`.reference`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .params import (
    DROPOUT,
    EMBEDDING_SIZE,
    INIT_STD,
    LAYER_NORM_EPS,
    as_trained_ffn_widths,
)
from .reference import Embeddings, FeedForward, FlexibertEncoder, attend, merge_heads, split_heads

#: Additive score for padded key positions (the TF graph's value).
MASK_VALUE = -10_000.0


@torch.no_grad()
def truncated_normal_(tensor: torch.Tensor, std: float = INIT_STD) -> torch.Tensor:
    """TF's truncated Normal(0, std): draws outside +-2 std are redrawn until none is left."""
    flat = tensor.view(-1)
    flat.normal_(0.0, std)
    redo = (flat.abs() > 2 * std).nonzero().squeeze(1)
    while redo.numel():
        draw = torch.empty(redo.numel(), dtype=flat.dtype, device=flat.device).normal_(0.0, std)
        flat[redo] = draw
        redo = redo[draw.abs() > 2 * std]
    return tensor


class AttentionMixer(nn.Module):
    """BERT self-attention with n heads at width H; optional additive key-padding mask."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.softmax = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(DROPOUT)
        self.head_projections: tuple[str, ...] = ("query", "key", "value")

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """(B, L, H) -> context (B, L, H); ``attention_mask`` (B, L) is 1 for real tokens."""
        additive = None
        if attention_mask is not None:
            keep = attention_mask[:, None, None, :].to(x.dtype)
            additive = (1.0 - keep) * MASK_VALUE
        n = self.heads
        q, k, v = (split_heads(p(x), n) for p in (self.query, self.key, self.value))
        return merge_heads(attend(q, k, v, self.softmax, self.dropout, additive))


class AsTrainedLayer(nn.Module):
    """Attention -> output dense, dropout, residual LayerNorm -> FFN stack (residual from it)."""

    def __init__(self, hidden: int, layer: Mapping[str, Any], use_attention_mask: bool) -> None:
        super().__init__()
        self.use_attention_mask = use_attention_mask
        self.mixer = AttentionMixer(hidden, int(layer["num_operation_heads"]))
        self.post_dense = nn.Linear(hidden, hidden)
        self.post_dropout = nn.Dropout(DROPOUT)
        self.post_layer_norm = nn.LayerNorm(hidden, eps=LAYER_NORM_EPS)
        widths = as_trained_ffn_widths(
            hidden, int(layer["num_feed_forward"]), int(layer["feed_forward_dimension"])
        )
        self.ffn = FeedForward(widths)

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L, H) -> (B, L, H)."""
        mask = attention_mask if self.use_attention_mask else None
        a = self.post_layer_norm(self.post_dropout(self.post_dense(self.mixer(x, mask))) + x)
        return self.ffn(a)


class FlexibertAsTrained(FlexibertEncoder):
    """As-trained discriminator encoder for one record, returned in training mode.

    ``use_attention_mask=False`` ignores the mask (as the reference model does), to isolate the
    effect of masking on the proxy inputs.
    """

    def __init__(self, config: Mapping[str, Any], use_attention_mask: bool = True) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        self.hidden_size = hidden
        self.embeddings = Embeddings(hidden, with_projection=hidden != EMBEDDING_SIZE,
                                     padding_idx=None)
        self.layers = nn.ModuleList(
            AsTrainedLayer(hidden, layer, use_attention_mask)
            for layer in config["encoder_layers"]
        )
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """TF1 init: truncated Normal(0, 0.02) redrawn beyond +-2 std for tables and dense kernels,
        Glorot uniform for the embedding projection, zero biases, LayerNorm 1/0."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                if module is self.embeddings.projection:
                    nn.init.xavier_uniform_(module.weight)
                else:
                    truncated_normal_(module.weight)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.Embedding):
                truncated_normal_(module.weight)
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()

__all__ = ["FlexibertAsTrained"]
