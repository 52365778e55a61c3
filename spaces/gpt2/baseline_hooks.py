"""What the hand-crafted baselines read from a heterogeneous GPT-2 model.

docs/specs.md §6.2 for GPT-2: the "linear layers" are the 4 Conv1D maps of every block (the only
linear modules of the family) and every Conv1D-based set (saliency, diversity, head importance,
the search's G/W inputs) is that same list; Head Importance keeps those with
``weight.shape[0] >= 128`` (the input width of an (in, out) Conv1D). Activation Distance and
Attention Confidence read every Conv1D output; Softmax Confidence the attention probabilities.
The loss is the mean adaptive-softmax LM loss in both semantics (reference: training mode).
Synflow follows the reference script: one sequence of ``tgt_len`` tokens, the token embedding
replaced by ones, objective = sum of the head-cluster logits.
"""

from __future__ import annotations

import torch
from torch import nn

from lpzero_gp.errors import SpaceError

from .inputs import check_batch, conv1d_modules
from .model import FlexGPT2LM

#: Head Importance keeps Conv1D maps with at least this many input features.
HEAD_IMPORTANCE_MIN_ROWS = 128


class Gpt2BaselineHooks:
    """Module sets, activation taps and losses of GPT-2 LMs for the baselines."""

    def check(self, model: nn.Module) -> None:
        """Raise SpaceError unless the model is a GPT-2 LM of this space."""
        if not isinstance(model, FlexGPT2LM):
            raise SpaceError(f"gpt2 baselines need a gpt2 model, got {type(model).__name__}")

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        """Decoder blocks, in order."""
        return list(model.blocks)

    def module_set(self, model: nn.Module, name: str) -> list[nn.Module]:
        """Named module set: every one is the block Conv1D list (head importance filtered)."""
        if name not in ("layers", "saliency", "diversity", "head_importance", "param_inputs"):
            raise SpaceError(f"unknown module set {name!r}")
        convs = [m for block in model.blocks for m in conv1d_modules(block)]
        if name == "head_importance":
            return [m for m in convs if m.weight.shape[0] >= HEAD_IMPORTANCE_MIN_ROWS]
        return convs

    def fan(self, module: nn.Module) -> tuple[int, int]:
        """(in_features, out_features) of a Conv1D, whose weight is (in, out)."""
        return int(module.weight.shape[0]), int(module.weight.shape[1])

    def activation_modules(self, model: nn.Module) -> list[nn.Module]:
        """Every Conv1D (its output is the activation the reference hooks)."""
        return self.module_set(model, "layers")

    def head_modules(self, model: nn.Module) -> list[nn.Module]:
        """Every Conv1D, as in the reference."""
        return self.module_set(model, "layers")

    def softmax_taps(self, model: nn.Module) -> list[tuple[nn.Module, int | None]]:
        """Each block's attention module; output index 1 is the probabilities (B, h, T, T)."""
        return [(block.attn, 1) for block in model.blocks]

    def position_table(self, model: nn.Module) -> nn.Parameter:
        """The learned position table ``wpe`` (tgt_len x d_model)."""
        return model.transformer.wpe.weight

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor],
             semantics: str) -> torch.Tensor:
        """Mean LM loss; eval mode (intended) or training mode with dropout (reference)."""
        ids, labels = check_batch(model, batch)
        model.train(semantics == "reference")
        return model(ids, labels).loss

    def synflow_loss(self, model: nn.Module, batch: dict[str, torch.Tensor],
                     semantics: str) -> torch.Tensor:
        """Sum of the head-cluster logits for an all-ones embedding of one tgt_len sequence.

        The sum is taken in closed form (sum of rows of h times sum of logit weights, plus
        the bias sum) instead of materialising the logits.
        """
        model.train(semantics == "reference")
        device = model.transformer.wpe.weight.device
        ids = torch.ones(1, model.cfg.tgt_len, dtype=torch.long, device=device)
        handle = model.transformer.wte.register_forward_hook(
            lambda _m, _i, out: torch.ones_like(out))
        try:
            hidden = model.transformer(ids).reshape(-1, model.cfg.d_model)
        finally:
            handle.remove()
        head = model.lm_head
        weight, bias, proj = head.cluster_params(0)
        if head.cluster_weight is not None:
            weight = torch.cat([weight, head.cluster_weight], dim=0)
            bias = torch.cat([bias, head.cluster_bias], dim=0)
        h = hidden @ proj if proj is not None else hidden
        return h.sum(dim=0) @ weight.sum(dim=0) + h.shape[0] * bias.sum()


HOOKS = Gpt2BaselineHooks()

__all__ = []
