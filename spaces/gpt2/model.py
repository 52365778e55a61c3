"""The heterogeneous GPT-2 language model of the LTS benchmark ("hf_gpt2_flex").

Pre-LN GPT-2 blocks from transformers, each with its own head count and FFN width, between an
adaptive input embedding and an adaptive softmax head. The
blocks run with the "eager" attention backend and an explicit causal mask, and the weights are
set by :func:`init_weights` rather than by transformers' post-init hook (docs/specs.md §10.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from transformers import GPT2Config

from .adaptive import AdaptiveEmbedding, AdaptiveLogSoftmax
from .config import FlexConfig

#: Additive score for future positions; exp underflows to exactly 0 in float32, so adding it
#: equals the reference's replacement by -1e4.
MASK_VALUE: float = -1e4
LAYER_NORM_EPS: float = 1e-5


class ReluSquared(nn.Module):
    """Primer's squared ReLU, used in the FFN when ``primer_square`` is set."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu(x) ** 2."""
        return torch.relu(x).square()


def _no_init_weights() -> Any:
    """transformers' context that skips constructor-time initialisation (imported here, with
    transformers, only when a model is built: the space loads without it)."""
    try:  # transformers >= 5
        from transformers.initialization import no_init_weights
    except ImportError:  # transformers 4.x
        from transformers.modeling_utils import no_init_weights
    return no_init_weights()


def block_config(cfg: FlexConfig, layer: int) -> GPT2Config:
    """transformers GPT2Config for decoder block ``layer`` (its own n_head and d_inner)."""
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=cfg.n_token,
        n_positions=cfg.tgt_len,
        n_embd=cfg.d_model,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head[layer],
        n_inner=cfg.d_inner[layer],
        activation_function="gelu_new",
        resid_pdrop=cfg.dropout,
        attn_pdrop=cfg.dropatt,
        embd_pdrop=0.0,
        layer_norm_epsilon=LAYER_NORM_EPS,
        scale_attn_weights=True,
        scale_attn_by_inverse_layer_idx=False,
        reorder_and_upcast_attn=False,
        bos_token_id=None,
        eos_token_id=None,
        attn_implementation="eager",
    )


class FlexTransformer(nn.Module):
    """Embedding, learned positions, the decoder blocks and the final LayerNorm."""

    def __init__(self, cfg: FlexConfig) -> None:
        from transformers.models.gpt2.modeling_gpt2 import GPT2Block

        super().__init__()
        self.cfg = cfg
        self.wte = AdaptiveEmbedding(cfg)
        self.wpe = nn.Embedding(cfg.tgt_len, cfg.d_model)
        self.h = nn.ModuleList(
            GPT2Block(block_config(cfg, i), layer_idx=i) for i in range(cfg.n_layer)
        )
        if cfg.primer_square:
            for block in self.h:
                block.mlp.act = ReluSquared()
        self.ln_f = nn.LayerNorm(cfg.d_model, eps=LAYER_NORM_EPS)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, d_model) output of ln_f."""
        seq_len = input_ids.shape[1]
        if seq_len > self.cfg.tgt_len:
            raise ValueError(f"sequence length {seq_len} exceeds tgt_len {self.cfg.tgt_len}")
        positions = torch.arange(seq_len, device=input_ids.device)
        hidden = self.wte(input_ids) + self.wpe(positions)[None]
        mask = causal_mask(seq_len, hidden.dtype, hidden.device)
        for block in self.h:
            hidden = block(hidden, attention_mask=mask)
        return self.ln_f(hidden)


def causal_mask(seq_len: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Additive (1, 1, T, T) mask: 0 on and below the diagonal, MASK_VALUE above it."""
    future = torch.ones(seq_len, seq_len, dtype=torch.bool, device=device).triu(1)
    zeros = torch.zeros(seq_len, seq_len, dtype=dtype, device=device)
    return zeros.masked_fill(future, MASK_VALUE)[None, None]


@dataclass
class LMOutput:
    """Model output: mean NLL (nats), per-token NLL (B, T) in sequence order, final hidden."""

    loss: torch.Tensor | None
    nll: torch.Tensor | None
    hidden: torch.Tensor


class FlexGPT2LM(nn.Module):
    """Heterogeneous GPT-2 LM with adaptive input and adaptive softmax."""

    def __init__(self, cfg: FlexConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.transformer = FlexTransformer(cfg)
        self.lm_head = AdaptiveLogSoftmax(cfg, self.transformer.wte)

    @property
    def blocks(self) -> nn.ModuleList:
        """The decoder blocks, in order."""
        return self.transformer.h

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None) -> LMOutput:
        """Run the LM; ``labels`` are the next tokens already (no shift), all scored."""
        hidden = self.transformer(input_ids)
        if labels is None:
            return LMOutput(loss=None, nll=None, hidden=hidden)
        flat = hidden.reshape(-1, hidden.shape[-1])
        nll = self.lm_head(flat, labels.reshape(-1)).view(labels.shape)
        return LMOutput(loss=nll.float().mean(), nll=nll, hidden=hidden)


@torch.no_grad()
def init_weights(model: FlexGPT2LM) -> None:
    """Apply the family's init scheme explicitly.

    N(0, weight_init_std) for tables, positions, c_attn, c_fc and the cluster gate;
    N(0, weight_init_std / sqrt(2 n_layer)) for both c_proj maps; N(0, proj_init_std) for every
    projection; zeros for biases; LayerNorms at 1 / 0. It is applied by hand because
    transformers' post-init hook skips modules without direct parameters (leaving projections
    at zero).
    """
    cfg = model.cfg
    std, proj_std = cfg.weight_init_std, cfg.proj_init_std
    out_std = std / math.sqrt(2 * cfg.n_layer)
    wte = model.transformer.wte
    for table in wte.tables:
        table.normal_(0.0, std)
    for proj in wte.projs:
        proj.normal_(0.0, proj_std)
    model.transformer.wpe.weight.normal_(0.0, std)
    for block in model.blocks:
        for layer_norm in (block.ln_1, block.ln_2):
            layer_norm.weight.fill_(1.0)
            layer_norm.bias.zero_()
        block.attn.c_attn.weight.normal_(0.0, std)
        block.attn.c_proj.weight.normal_(0.0, out_std)
        block.mlp.c_fc.weight.normal_(0.0, std)
        block.mlp.c_proj.weight.normal_(0.0, out_std)
        for conv in (block.attn.c_attn, block.attn.c_proj, block.mlp.c_fc, block.mlp.c_proj):
            conv.bias.zero_()
    model.transformer.ln_f.weight.fill_(1.0)
    model.transformer.ln_f.bias.zero_()
    head = model.lm_head
    if head.cluster_weight is not None:
        head.cluster_weight.normal_(0.0, std)
        head.cluster_bias.zero_()
    for bias in head.out_biases:
        bias.zero_()
    for table in head.out_tables:
        table.normal_(0.0, std)
    for proj in head.out_projs.values():
        proj.normal_(0.0, proj_std)


def build_model(
    cfg: FlexConfig, seed: int | None = None, device: str | torch.device | None = None
) -> FlexGPT2LM:
    """Construct the LM on ``device`` (default CPU) and initialise it explicitly.

    ``torch.manual_seed(seed)`` is called first when a seed is given, so the weights depend
    only on the seed.
    """
    if seed is not None:
        torch.manual_seed(seed)
    with torch.device(device if device is not None else "cpu"):
        model = FlexGPT2LM(cfg)
    init_weights(model)
    return model


def build_shapes(cfg: FlexConfig) -> FlexGPT2LM:
    """The LM on the ``meta`` device: every parameter's shape, no storage and no init.

    Used for parameter accounting; constructor-time init is skipped because it is slow on
    ``meta`` and meaningless there.
    """
    with _no_init_weights(), torch.device("meta"):
        return FlexGPT2LM(cfg)

__all__ = ["FlexGPT2LM", "build_model", "build_shapes", "causal_mask"]
