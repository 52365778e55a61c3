"""What the hand-crafted baselines read from any transformers model, found from its structure.

* Linear layers (every set: layers, saliency, diversity, the search's G/W modules): every
  ``nn.Linear`` / ``Conv1D`` inside the blocks, as GPT-2's hooks take every Conv1D; Head
  Importance keeps those with at least 128 output features (the BERT reading of
  docs/specs.md §6.2).
* Activation Distance / NWOT: the blocks' activation-function modules (parameter-free leaf
  modules from ``torch.nn`` activations or ``transformers.activations``, softmax excluded).
* Attention Confidence: every block linear's output, as on GPT-2.
* Softmax Confidence: the module that returns the attention probabilities, found by a probe
  forward (:func:`.collect.attention_taps`) when the model is checked, before any baseline
  hook is registered (the probe would otherwise feed them).
* Jacobian Cosine: the learned position table, if the model has one (none with rotary
  positions: the baseline is then reported unavailable).
* Losses: the collector's loss (masked-LM or causal-LM by the model's head), eval mode;
  Synflow's objective is the sum of the logits on the calibration batch.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

import torch
from torch import nn

from lpzero_gp.errors import SpaceError

from .collect import attention_taps, run_forward
from .losses import logits_of, model_inputs, resolve_loss
from .structure import fan, find_blocks, linears, position_table

#: Head Importance keeps linear layers with at least this many output features.
HEAD_IMPORTANCE_MIN_OUT = 128
#: Module sets the baselines name.
SETS = ("layers", "saliency", "diversity", "head_importance", "param_inputs")


def _is_activation(module: nn.Module) -> bool:
    """A parameter-free leaf module defined among torch's or transformers' activations."""
    origin = type(module).__module__
    return (not isinstance(module, nn.Softmax | nn.LogSoftmax) and not list(module.children())
            and not list(module.parameters(recurse=False))
            and origin in ("torch.nn.modules.activation", "transformers.activations"))


class HfBaselineHooks:
    """Module sets, taps and losses of a transformers model for the baselines."""

    def __init__(self) -> None:
        self._taps: WeakKeyDictionary[nn.Module, list[tuple[nn.Module, int | None]]] = \
            WeakKeyDictionary()

    def check(self, model: nn.Module) -> None:
        """Raise SpaceError unless ``model`` is a transformers model with blocks; find its
        softmax taps now, while no baseline hook can see the probe."""
        from transformers import PreTrainedModel

        if not isinstance(model, PreTrainedModel):
            raise SpaceError(f"hf baselines need a transformers model, got "
                             f"{type(model).__name__}")
        self._taps[model] = attention_taps(model)

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        """The transformer blocks, in order."""
        return find_blocks(model)

    def module_set(self, model: nn.Module, name: str) -> list[nn.Module]:
        """Every block linear; ``head_importance`` keeps the wide ones."""
        if name not in SETS:
            raise SpaceError(f"unknown module set {name!r}")
        found = [m for block in find_blocks(model) for m in linears(block)]
        if name == "head_importance":
            return [m for m in found if fan(m)[1] >= HEAD_IMPORTANCE_MIN_OUT]
        return found

    def fan(self, module: nn.Module) -> tuple[int, int]:
        """(in_features, out_features) of a linear layer."""
        return fan(module)

    def activation_modules(self, model: nn.Module) -> list[nn.Module]:
        """The blocks' activation-function modules."""
        return [m for block in find_blocks(model) for m in block.modules() if _is_activation(m)]

    def head_modules(self, model: nn.Module) -> list[nn.Module]:
        """Every block linear (its output is what Attention Confidence reads)."""
        return self.module_set(model, "layers")

    def softmax_taps(self, model: nn.Module) -> list[tuple[nn.Module, int | None]]:
        """Per block, the module returning the attention probabilities and their index (found
        by :meth:`check`)."""
        if model not in self._taps:
            raise SpaceError("softmax taps of an unchecked model: call check(model) first")
        return self._taps[model]

    def position_table(self, model: nn.Module) -> nn.Parameter | None:
        """The learned position-embedding table, or None."""
        return position_table(model, find_blocks(model))

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor],
             semantics: str) -> torch.Tensor:
        """The collector's loss on ``batch``, eval mode."""
        _, loss_fn = resolve_loss(model, None)
        model.eval()
        device = next(model.parameters()).device
        outputs = run_forward(model, model_inputs(model, batch))
        return loss_fn(outputs, {k: v.to(device) for k, v in batch.items()})

    def synflow_loss(self, model: nn.Module, batch: dict[str, torch.Tensor],
                     semantics: str) -> torch.Tensor:
        """Sum of the logits on the calibration batch (parameters already |.|, float64)."""
        model.eval()
        return logits_of(model(**model_inputs(model, batch))).sum()


HOOKS = HfBaselineHooks()

__all__ = []
