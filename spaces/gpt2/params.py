"""The benchmark's five parameter buckets, counted analytically or from a built model.

Buckets, as the LTS benchmark counts them: ``AdaEmb`` (input tables, input projections, position
table), ``Attn`` and ``FFN`` (Conv1D weights and biases), ``nonembedding`` (all blocks plus
ln_f) and ``total`` (every distinct parameter tensor, adaptive-softmax-owned ones included).
"""

from __future__ import annotations

from torch import nn

from .config import FlexConfig

BUCKETS: tuple[str, ...] = ("AdaEmb", "Attn", "FFN", "nonembedding", "total")


def analytic_params(cfg: FlexConfig) -> dict[str, int]:
    """Closed-form bucket counts from a resolved config (no model needed)."""
    d, e, n_layer = cfg.d_model, cfg.d_embed, cfg.n_layer
    dims = cfg.emb_dims
    if cfg.div_val == 1:
        tables = cfg.n_token * e
        projs = d * e if e != d else 0
    else:
        tables = sum(n * dim for n, dim in zip(cfg.cluster_sizes, dims, strict=True))
        projs = sum(d * dim for dim in dims)
    ada_emb = tables + projs + cfg.tgt_len * d
    attn = n_layer * (4 * d * d + 4 * d)
    ffn = sum(2 * d * m + m + d for m in cfg.d_inner)
    nonembedding = attn + ffn + (4 * n_layer + 2) * d
    n_tail = cfg.n_clusters - 1
    softmax_own = n_tail * (e + 1) + cfg.n_token
    if not cfg.tie_weight:
        softmax_own += tables
    if cfg.has_projection:
        softmax_own += sum(d * dims[i] for i, tied in enumerate(cfg.tie_projs) if not tied)
    return {
        "AdaEmb": ada_emb,
        "Attn": attn,
        "FFN": ffn,
        "nonembedding": nonembedding,
        "total": ada_emb + nonembedding + softmax_own,
    }


def model_params(model: nn.Module) -> dict[str, int]:
    """Bucket counts read off a built :class:`FlexGPT2LM` (any device, ``meta`` included)."""
    counts = dict.fromkeys(BUCKETS, 0)
    for name, param in model.named_parameters():
        size = param.numel()
        counts["total"] += size
        if name.startswith(("transformer.wte.", "transformer.wpe.")):
            counts["AdaEmb"] += size
        elif name.startswith("transformer."):
            counts["nonembedding"] += size
            if ".attn." in name:
                counts["Attn"] += size
            elif ".mlp." in name:
                counts["FFN"] += size
    return counts

__all__ = ["BUCKETS", "analytic_params", "model_params"]
