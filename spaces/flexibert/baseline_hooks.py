"""What the hand-crafted baselines read from a FlexiBERT model (both variants).

Module sets follow docs/specs.md §6.2 for BERT: "linear layers" are every ``nn.Linear`` of the
encoder (embedding projection, mixers, post dense, FFN); Synaptic Saliency uses the FFN linears;
Synaptic Diversity the mixer linears plus the attention-output dense; Head Importance the mixer
linears with ``weight.shape[0] >= 128``; the search's G/W inputs are the mixer linears. The
intended loss is the space's masked-LM loss; the reference one is the sum of the last hidden
state (an all-ones backward), computed in training mode.
"""

from __future__ import annotations

import torch
from torch import nn

from lpzero_gp.errors import SpaceError

from .reference import FlexibertEncoder
from .space import prepare_batch, tied_mlm_loss

#: Head Importance keeps mixer linears with at least this many rows (drops the DSC kernel one).
HEAD_IMPORTANCE_MIN_ROWS = 128


def _mixer_linears(layer: nn.Module) -> list[nn.Module]:
    return [m for m in layer.mixer.modules() if isinstance(m, nn.Linear)]


def _ffn_linears(layer: nn.Module) -> list[nn.Module]:
    return [*layer.ffn.inner, layer.ffn.output]


class FlexibertBaselineHooks:
    """Module sets, activation taps and losses of FlexiBERT encoders for the baselines."""

    def check(self, model: nn.Module) -> None:
        """Raise SpaceError unless the model is a FlexiBERT encoder."""
        if not isinstance(model, FlexibertEncoder):
            raise SpaceError(f"flexibert baselines need a flexibert model, got "
                             f"{type(model).__name__}")

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        """Encoder layers, in order."""
        return list(model.layers)

    def module_set(self, model: nn.Module, name: str) -> list[nn.Module]:
        """Named module set (see the module docstring)."""
        if name == "layers":
            return [m for m in model.modules() if isinstance(m, nn.Linear)]
        out: list[nn.Module] = []
        for layer in model.layers:
            if name == "saliency":
                out += _ffn_linears(layer)
            elif name == "diversity":
                post = getattr(layer, "post_dense", None) if getattr(
                    layer, "has_post", True) else None
                out += _mixer_linears(layer) + ([post] if post is not None else [])
            elif name == "head_importance":
                out += [m for m in _mixer_linears(layer)
                        if m.weight.shape[0] >= HEAD_IMPORTANCE_MIN_ROWS]
            elif name == "param_inputs":
                out += _mixer_linears(layer)
            else:
                raise SpaceError(f"unknown module set {name!r}")
        return out

    def fan(self, module: nn.Module) -> tuple[int, int]:
        """(in_features, out_features) of an ``nn.Linear``."""
        return module.in_features, module.out_features

    def activation_modules(self, model: nn.Module) -> list[nn.Module]:
        """The FFN GELU of every layer (each call is one activation output)."""
        return [layer.ffn.act for layer in model.layers]

    def head_modules(self, model: nn.Module) -> list[nn.Module]:
        """Every head projection present in the mixer (query, key, value, WMA, LT input)."""
        return [getattr(layer.mixer, n) for layer in model.layers
                for n in layer.mixer.head_projections]

    def softmax_taps(self, model: nn.Module) -> list[tuple[nn.Module, int | None]]:
        """The mixer's softmax module of every layer."""
        return [(layer.mixer.softmax, None) for layer in model.layers]

    def position_table(self, model: nn.Module) -> nn.Parameter:
        """The learned position table (512 x 128)."""
        return model.embeddings.position.weight

    def _hidden(self, model: nn.Module, batch: dict[str, torch.Tensor], semantics: str
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        inputs = prepare_batch(batch, next(model.parameters()).device)
        model.train(semantics == "reference")
        hidden = model(inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"])
        return hidden, inputs

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor],
             semantics: str) -> torch.Tensor:
        """Intended: masked-LM loss (eval mode); reference: sum of the last hidden state."""
        hidden, inputs = self._hidden(model, batch, semantics)
        if semantics == "reference":
            return hidden.sum()
        return tied_mlm_loss(model, hidden, inputs)

    def synflow_loss(self, model: nn.Module, batch: dict[str, torch.Tensor],
                     semantics: str) -> torch.Tensor:
        """Sum of the output on the real token batch.

        Reference: the sum of the last hidden state, which a LayerNorm at init makes constant
        (so the gradients are round-off, docs/specs.md §2.7). Intended: the sum of every tied
        LM-head logit, computed as hidden . (P^T sum_v word_v) without the V-wide logits.
        """
        hidden, _ = self._hidden(model, batch, semantics)
        if semantics == "reference":
            return hidden.sum()
        emb = model.embeddings
        word_sum = emb.word.weight.sum(dim=0)  # (E,)
        direction = emb.projection.weight @ word_sum if emb.projection is not None else word_sum
        return (hidden @ direction).sum()


HOOKS = FlexibertBaselineHooks()

__all__ = []
