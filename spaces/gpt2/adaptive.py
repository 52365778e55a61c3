"""Adaptive input embedding and adaptive softmax head with Transformer-XL style tying.

The embedding owns the token tables and input projections. The head owns only what is not tied
to them (cluster gate, output biases, untied projections and tables) and reads the tied tensors
through the embedding it was built with, so every shared tensor is registered exactly once and
``model.parameters()`` counts distinct tensors.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import FlexConfig


class AdaptiveEmbedding(nn.Module):
    """Token ids -> d_model vectors through per-cluster tables and projections, times sqrt(d)."""

    def __init__(self, cfg: FlexConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.scale = math.sqrt(cfg.d_model)
        self.tables = nn.ParameterList()
        self.projs = nn.ParameterList()
        if cfg.div_val == 1:
            self.tables.append(nn.Parameter(torch.empty(cfg.n_token, cfg.d_embed)))
            if cfg.d_embed != cfg.d_model:
                self.projs.append(nn.Parameter(torch.empty(cfg.d_model, cfg.d_embed)))
        else:
            for size, dim in zip(cfg.cluster_sizes, cfg.emb_dims, strict=True):
                self.tables.append(nn.Parameter(torch.empty(size, dim)))
                self.projs.append(nn.Parameter(torch.empty(cfg.d_model, dim)))

    def table(self, cluster: int) -> tuple[torch.Tensor, int]:
        """The tensor holding cluster ``cluster``'s rows and the row offset of its first token."""
        if self.cfg.div_val == 1:
            return self.tables[0], self.cfg.bounds[cluster]
        return self.tables[cluster], 0

    def proj(self, cluster: int) -> torch.Tensor | None:
        """Input projection (d_model, e_i) used for cluster ``cluster``, or None."""
        if self.cfg.div_val == 1:
            return self.projs[0] if len(self.projs) else None
        return self.projs[cluster]

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, d_model) scaled embeddings."""
        cfg = self.cfg
        if cfg.div_val == 1:
            out = F.embedding(input_ids, self.tables[0])
            if len(self.projs):
                out = F.linear(out, self.projs[0])
            return out * self.scale
        flat = input_ids.reshape(-1)
        out = flat.new_zeros((flat.numel(), cfg.d_model), dtype=self.projs[0].dtype)
        bounds = cfg.bounds
        for i in range(cfg.n_clusters):
            idx = ((flat >= bounds[i]) & (flat < bounds[i + 1])).nonzero().squeeze(1)
            if idx.numel() == 0:
                continue
            rows = F.embedding(flat.index_select(0, idx) - bounds[i], self.tables[i])
            out = out.index_copy(0, idx, F.linear(rows, self.projs[i]))
        return out.view(*input_ids.shape, cfg.d_model) * self.scale


class AdaptiveLogSoftmax(nn.Module):
    """Adaptive softmax over the clustered vocabulary; returns per-token NLL in nats.

    Targets are the next tokens already (no shift) and every position is scored.
    """

    def __init__(self, cfg: FlexConfig, embedding: AdaptiveEmbedding) -> None:
        super().__init__()
        self.cfg = cfg
        # A plain tuple keeps the embedding out of this module's registered children, so the
        # tied tensors are owned (and counted) once, by the embedding.
        self._embedding = (embedding,)
        n_tail = cfg.n_clusters - 1
        self.cluster_weight = nn.Parameter(torch.empty(n_tail, cfg.d_embed)) if n_tail else None
        self.cluster_bias = nn.Parameter(torch.empty(n_tail)) if n_tail else None
        self.out_biases = nn.ParameterList()
        if cfg.div_val == 1:
            self.out_biases.append(nn.Parameter(torch.empty(cfg.n_token)))
        else:
            for size in cfg.cluster_sizes:
                self.out_biases.append(nn.Parameter(torch.empty(size)))
        self.out_tables = nn.ParameterList()
        if not cfg.tie_weight:
            for table in embedding.tables:
                self.out_tables.append(nn.Parameter(torch.empty_like(table)))
        self.out_projs = nn.ParameterDict()
        if cfg.has_projection:
            for i, tied in enumerate(cfg.tie_projs):
                if not tied:
                    self.out_projs[str(i)] = nn.Parameter(torch.empty(cfg.d_model, cfg.emb_dims[i]))

    @property
    def embedding(self) -> AdaptiveEmbedding:
        """The input embedding whose tables/projections this head may share."""
        return self._embedding[0]

    def cluster_params(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Output table rows, bias and projection (d_model, e_i) or None of cluster ``i``."""
        cfg = self.cfg
        lo, hi = cfg.bounds[i], cfg.bounds[i + 1]
        if cfg.div_val == 1:
            table = self.out_tables[0] if not cfg.tie_weight else self.embedding.tables[0]
            weight, bias = table[lo:hi], self.out_biases[0][lo:hi]
        else:
            weight = self.out_tables[i] if not cfg.tie_weight else self.embedding.tables[i]
            bias = self.out_biases[i]
        if not cfg.has_projection:
            proj = None
        elif cfg.tie_projs[i]:
            proj = self.embedding.proj(i)
        else:
            proj = self.out_projs[str(i)]
        return weight, bias, proj

    @staticmethod
    def _logits(
        hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, proj: torch.Tensor | None
    ) -> torch.Tensor:
        """z = (h Q) W^T + b, or h W^T + b without a projection."""
        if proj is not None:
            hidden = hidden @ proj
        return F.linear(hidden, weight, bias)

    def _head_log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """Log-probabilities over the n_0 shortlist tokens plus the n_c tail-cluster gates."""
        weight, bias, proj = self.cluster_params(0)
        if self.cluster_weight is not None:
            weight = torch.cat([weight, self.cluster_weight], dim=0)
            bias = torch.cat([bias, self.cluster_bias], dim=0)
        return F.log_softmax(self._logits(hidden, weight, bias, proj), dim=-1)

    def forward(self, hidden: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(N, d) hidden rows and (N,) target ids -> (N,) NLL per token, in input order."""
        cfg = self.cfg
        head_lp = self._head_log_probs(hidden)
        n_0 = cfg.cluster_sizes[0]
        bounds = cfg.bounds
        nll = hidden.new_zeros(target.shape[0])
        for i in range(cfg.n_clusters):
            idx = ((target >= bounds[i]) & (target < bounds[i + 1])).nonzero().squeeze(1)
            if idx.numel() == 0:
                continue
            local = target.index_select(0, idx) - bounds[i]
            if i == 0:
                lp = head_lp[idx, local]
            else:
                weight, bias, proj = self.cluster_params(i)
                tail_lp = F.log_softmax(
                    self._logits(hidden.index_select(0, idx), weight, bias, proj), dim=-1
                )
                gate = head_lp[idx, n_0 + i - 1]
                lp = gate + tail_lp.gather(1, local[:, None]).squeeze(1)
            nll = nll.index_copy(0, idx, -lp)
        return nll

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        """(N, d) hidden rows -> (N, V) full-vocabulary log-probabilities (for checks)."""
        cfg = self.cfg
        head_lp = self._head_log_probs(hidden)
        n_0 = cfg.cluster_sizes[0]
        parts = [head_lp[:, :n_0]]
        for i in range(1, cfg.n_clusters):
            weight, bias, proj = self.cluster_params(i)
            tail_lp = F.log_softmax(self._logits(hidden, weight, bias, proj), dim=-1)
            parts.append(head_lp[:, n_0 + i - 1 : n_0 + i] + tail_lp)
        return torch.cat(parts, dim=1)

__all__ = ["AdaptiveEmbedding", "AdaptiveLogSoftmax"]
