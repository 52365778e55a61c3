"""The FlexiBERT reference encoder: the PyTorch models the published proxies were computed on.

Written from docs/specs.md §8. Every model has hidden width 256 and FFN width 1024 whatever the
record says; the per-layer operation type (SA-SDP, SA-WMA, LT-DFT, LT-DCT, DSC-5, DSC-9), the
head count and the number of stacked FFN linears are honoured. Plain torch modules are used (no
transformers classes) so that every hook point of the proxy inputs is an explicit attribute.

Hook points shared with the as-trained model (:mod:`.as_trained`): ``model.layers[b].mixer`` is
the token mixer (its ``nn.Linear`` children are the W/G parameters, ``head_projections`` names the
H projections in canonical order, ``softmax`` is the S module), ``model.layers[b].ffn.act`` is the
GELU module called once per FFN linear but the last, and ``model.embeddings.position`` is the
position table (the reference J).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .params import (
    DROPOUT,
    EMBEDDING_SIZE,
    INIT_STD,
    LAYER_NORM_EPS,
    MAX_POSITIONS,
    REFERENCE_HIDDEN,
    REFERENCE_INTERMEDIATE,
    TYPE_VOCAB_SIZE,
    VOCAB_SIZE,
    dsc_sizes,
)


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, L, h*d) -> (B, h, L, d); head i owns the contiguous channels i*d .. i*d+d-1."""
    b, length, c = x.shape
    return x.view(b, length, heads, c // heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, h, L, d) -> (B, L, h*d), the inverse of :func:`split_heads`."""
    b, h, length, d = x.shape
    return x.transpose(1, 2).reshape(b, length, h * d)


def position_ids(input_ids: torch.Tensor) -> torch.Tensor:
    """Positions 0..L-1 for a (B, L) id tensor; L must fit the position table."""
    length = input_ids.shape[1]
    if length > MAX_POSITIONS:
        raise ValueError(f"sequence length {length} exceeds the {MAX_POSITIONS} positions")
    return torch.arange(length, device=input_ids.device).unsqueeze(0)


class Embeddings(nn.Module):
    """Word + token-type + position (width 128), LayerNorm, dropout, optional E->H projection."""

    def __init__(self, hidden: int, with_projection: bool, padding_idx: int | None) -> None:
        super().__init__()
        e = EMBEDDING_SIZE
        self.word = nn.Embedding(VOCAB_SIZE, e, padding_idx=padding_idx)
        self.position = nn.Embedding(MAX_POSITIONS, e)
        self.token_type = nn.Embedding(TYPE_VOCAB_SIZE, e)
        self.layer_norm = nn.LayerNorm(e, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(DROPOUT)
        self.projection = nn.Linear(e, hidden) if with_projection else None

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        """(B, L) ids -> (B, L, H) encoder input."""
        e = (
            self.word(input_ids)
            + self.token_type(token_type_ids)
            + self.position(position_ids(input_ids))
        )
        e = self.dropout(self.layer_norm(e))
        return self.projection(e) if self.projection is not None else e


class FeedForward(nn.Module):
    """Chained linears with one shared GELU after all but the last, dropout, residual LayerNorm."""

    def __init__(self, widths: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        *inner, (last_in, hidden) = widths
        self.inner = nn.ModuleList(nn.Linear(a, b) for a, b in inner)
        self.act = nn.GELU()  # exact erf form; invoked once per inner linear
        self.output = nn.Linear(last_in, hidden)
        self.dropout = nn.Dropout(DROPOUT)
        self.layer_norm = nn.LayerNorm(hidden, eps=LAYER_NORM_EPS)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """LayerNorm(Dropout(FFN(y)) + y)."""
        h = y
        for linear in self.inner:
            h = self.act(linear(h))
        return self.layer_norm(self.dropout(self.output(h)) + y)


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    softmax: nn.Module,
    dropout: nn.Module,
    additive_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scaled dot-product attention on (B, h, L, d) heads; probabilities go through ``softmax``."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if additive_mask is not None:
        scores = scores + additive_mask
    return dropout(softmax(scores)) @ v


class SelfAttentionMixer(nn.Module):
    """SA token mixer: SDP attention, or WMA (a bias-free H x H applied to the query output)."""

    def __init__(self, hidden: int, heads: int, weighted: bool) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.wma = nn.Linear(hidden, hidden, bias=False) if weighted else None
        self.softmax = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(DROPOUT)
        self.head_projections: tuple[str, ...] = ("query", "key", "value") + (
            ("wma",) if weighted else ()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, H) -> attention context (B, L, H), before the post block."""
        q = self.query(x)
        if self.wma is not None:
            q = self.wma(q)
        k, v = self.key(x), self.value(x)
        n = self.heads
        ctx = attend(split_heads(q, n), split_heads(k, n), split_heads(v, n),
                     self.softmax, self.dropout)
        return merge_heads(ctx)


def dct2_matrix(n: int, like: torch.Tensor) -> torch.Tensor:
    """Unnormalised DCT-II matrix C[k, j] = 2 cos(pi k (2j+1) / 2n) (SciPy's ``norm=None``)."""
    k = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    j = torch.arange(n, dtype=torch.float64).unsqueeze(0)
    mat = 2.0 * torch.cos(math.pi * k * (2.0 * j + 1.0) / (2.0 * n))
    return mat.to(device=like.device, dtype=like.dtype)


class LinearTransformMixer(nn.Module):
    """LT token mixer: input projection, per-head 2-D DFT (real part) or DCT-II, no post block.

    A softmax over the within-head channel axis of the transform is computed and discarded; it
    does not affect the output but is what the S hook records for LT layers.
    """

    def __init__(self, hidden: int, heads: int, transform: str) -> None:
        super().__init__()
        if transform not in ("DFT", "DCT"):
            raise ValueError(f"unknown linear transform {transform!r}")
        self.heads = heads
        self.transform = transform
        self.input = nn.Linear(hidden, hidden)
        self.softmax = nn.Softmax(dim=-1)
        self.head_projections: tuple[str, ...] = ("input",)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, H) -> transformed (B, L, H); this is the layer's FFN input and residual."""
        u = split_heads(self.input(x), self.heads)
        if self.transform == "DFT":
            t = torch.fft.fft2(u, dim=(-2, -1)).real
        else:
            t = u @ dct2_matrix(u.shape[-1], u).T  # within-head channel axis
            t = dct2_matrix(u.shape[-2], u) @ t  # then the sequence axis
        self.softmax(t)  # discarded on purpose (see class docstring)
        return merge_heads(t)


class DynamicSpanConvMixer(nn.Module):
    """DSC token mixer: m = max(n//2, 1) attention heads beside m dynamic-span conv heads.

    Head width d = H/n uses the full n; both branches have width A = m*d and are concatenated
    (attention first) to 2A = H channels.
    """

    def __init__(self, hidden: int, heads: int, kernel: int) -> None:
        super().__init__()
        m, d, a = dsc_sizes(heads, hidden)
        if 2 * a != hidden:
            raise ValueError(f"DSC needs an even head count dividing {hidden}, got {heads}")
        self.m, self.d, self.kernel = m, d, kernel
        self.query = nn.Linear(hidden, a)
        self.key = nn.Linear(hidden, a)
        self.value = nn.Linear(hidden, a)
        self.depthwise = nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2,
                                   groups=hidden, bias=False)
        self.pointwise = nn.Conv1d(hidden, a, 1, bias=False)
        self.conv_bias = nn.Parameter(torch.zeros(a, 1))
        self.kernel_generator = nn.Linear(a, m * kernel)
        self.conv_value = nn.Linear(hidden, a)
        self.softmax = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(DROPOUT)
        self.head_projections: tuple[str, ...] = ("query", "key", "value")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, H) -> [attention context | span-conv output] (B, L, H), before the post block."""
        b, length, _ = x.shape
        m, d, k = self.m, self.d, self.kernel
        q, kx, v = self.query(x), self.key(x), self.value(x)
        s = (self.pointwise(self.depthwise(x.transpose(1, 2))) + self.conv_bias).transpose(1, 2)
        taps = torch.softmax(self.kernel_generator(s * q).view(b, length, m, k), dim=-1)
        c = nn.functional.pad(self.conv_value(x), (0, 0, k // 2, k // 2))
        window = c.unfold(1, k, 1).reshape(b, length, m, d, k)  # tap 0 = leftmost position
        conv = (window * taps.unsqueeze(3)).sum(-1)  # (B, L, m, d)
        ctx = attend(split_heads(q, m), split_heads(kx, m), split_heads(v, m),
                     self.softmax, self.dropout).transpose(1, 2)  # (B, L, m, d)
        return torch.cat([ctx, conv], dim=2).reshape(b, length, 2 * m * d)


def make_mixer(layer: Mapping[str, Any], hidden: int) -> nn.Module:
    """The token mixer of one reference layer record."""
    op, par = layer["operation_type"], layer["operation_parameter"]
    heads = int(layer["num_operation_heads"])
    if op == "SA":
        return SelfAttentionMixer(hidden, heads, weighted=par == "WMA")
    if op == "LT":
        return LinearTransformMixer(hidden, heads, str(par))
    if op == "DSC":
        return DynamicSpanConvMixer(hidden, heads, int(par))
    raise ValueError(f"unknown operation type {op!r}")


class ReferenceLayer(nn.Module):
    """Token mixer -> post block (SA and DSC only: dense, dropout, residual LayerNorm) -> FFN."""

    def __init__(self, layer: Mapping[str, Any]) -> None:
        super().__init__()
        h, i, f = REFERENCE_HIDDEN, REFERENCE_INTERMEDIATE, int(layer["num_feed_forward"])
        self.mixer = make_mixer(layer, h)
        self.has_post = layer["operation_type"] != "LT"
        if self.has_post:
            self.post_dense = nn.Linear(h, h)
            self.post_dropout = nn.Dropout(DROPOUT)
            self.post_layer_norm = nn.LayerNorm(h, eps=LAYER_NORM_EPS)
        self.ffn = FeedForward([(h, i)] + [(i, i)] * (f - 1) + [(i, h)])

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L, H) -> (B, L, H); the attention mask is accepted and ignored (as specified)."""
        y = self.mixer(x)
        if self.has_post:
            y = self.post_layer_norm(self.post_dropout(self.post_dense(y)) + x)
        return self.ffn(y)


class FlexibertEncoder(nn.Module):
    """Shared forward and tied LM head of both FlexiBERT variants."""

    embeddings: Embeddings
    layers: nn.ModuleList

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, L) ids -> last hidden state (B, L, H)."""
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids)
        for layer in self.layers:
            x = layer(x, attention_mask)
        return x

    def lm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Fully tied LM head: (..., H) -> (..., V) with no parameters of its own.

        The hidden state goes back to the embedding width through the transpose of the
        embedding projection (skipped when the model has none), then to the vocabulary through
        the transposed word table: logits = (h @ P) @ word^T.
        """
        proj = self.embeddings.projection
        x = hidden @ proj.weight if proj is not None else hidden
        return x @ self.embeddings.word.weight.T


class FlexibertReference(FlexibertEncoder):
    """Reference encoder for one benchmark record (docs/specs.md §8), returned in training mode."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.hidden_size = REFERENCE_HIDDEN
        self.embeddings = Embeddings(REFERENCE_HIDDEN, with_projection=True, padding_idx=0)
        self.layers = nn.ModuleList(ReferenceLayer(layer) for layer in config["encoder_layers"])
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Spec init: Normal(0, 0.02) for linears, tables and conv kernels; zero biases and
        padding row; LayerNorm 1/0. Draws from torch's global RNG in module order."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, INIT_STD)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, INIT_STD)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
            elif isinstance(module, nn.Conv1d):
                module.weight.normal_(0.0, INIT_STD)
            elif isinstance(module, DynamicSpanConvMixer):
                module.conv_bias.zero_()

__all__ = [
    "DynamicSpanConvMixer", "Embeddings", "FeedForward", "FlexibertEncoder", "FlexibertReference",
    "LinearTransformMixer", "attend", "dct2_matrix", "merge_heads", "split_heads",
]
