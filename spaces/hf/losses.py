"""The loss a model's statistics are taken of: masked-LM for encoders, causal-LM for decoders.

A model's kind comes from transformers' own registry of task heads (the auto classes), never
from a list of families: a class registered for masked-LM gets the masked-LM loss, one
registered for causal-LM the next-token loss. Any other model needs an explicit ``loss``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lpzero_gp.errors import SpaceError

from .structure import input_embeddings

#: The named losses: masked-LM (encoders) and causal-LM (decoders).
MASKED_LM, CAUSAL_LM = "masked-lm", "causal-lm"
LOSS_KINDS = (MASKED_LM, CAUSAL_LM)
#: A user loss: ``loss(outputs, batch) -> scalar tensor`` (``outputs``: the model's output).
LossFn = Callable[[Any, Mapping[str, torch.Tensor]], torch.Tensor]
#: What each named loss is, in words (for reports).
DESCRIPTIONS = {
    MASKED_LM: "masked-LM cross-entropy of the original token at a fixed, seeded 15% of the "
               "non-special tokens (inputs not corrupted), eval mode",
    CAUSAL_LM: "mean next-token cross-entropy, eval mode",
}
#: Batch keys handed to the model when its forward takes them.
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids")


def _registered(names: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for value in names.values():
        out |= {value} if isinstance(value, str) else set(value)
    return out


def head_kinds() -> tuple[set[str], set[str]]:
    """Class names transformers registers as masked-LM and as causal-LM heads."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    return (_registered(MODEL_FOR_MASKED_LM_MAPPING_NAMES),
            _registered(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES))


def model_kind(model: nn.Module) -> str:
    """``masked-lm`` or ``causal-lm`` from the model's task head; SpaceError if neither."""
    masked, causal = head_kinds()
    name = type(model).__name__
    if name in masked:
        return MASKED_LM
    if name in causal:
        return CAUSAL_LM
    raise SpaceError(f"cannot tell whether {name} is a masked or a causal LM; pass "
                     f"loss='{MASKED_LM}', loss='{CAUSAL_LM}' or a callable")


def model_inputs(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The batch entries the model's forward takes, on the model's device."""
    if not isinstance(batch, Mapping) or not isinstance(batch.get("input_ids"), torch.Tensor):
        raise SpaceError("the batch must be a mapping with an 'input_ids' tensor")
    ids = batch["input_ids"]
    if ids.dim() != 2 or ids.numel() == 0 or ids.is_floating_point():
        raise SpaceError(f"input_ids must be a non-empty 2-D integer tensor, got "
                         f"{tuple(ids.shape)} {ids.dtype}")
    embed = input_embeddings(model)
    if isinstance(embed, nn.Embedding) and (int(ids.min()) < 0
                                            or int(ids.max()) >= embed.num_embeddings):
        raise SpaceError(f"token id {int(ids.max())} is outside the model's vocabulary of "
                         f"{embed.num_embeddings}: give the config a vocab_size of at least "
                         f"{int(ids.max()) + 1}, or a tokenizer whose ids fit")
    accepted = inspect.signature(model.forward).parameters
    if "input_ids" not in accepted:
        raise SpaceError(f"{type(model).__name__}.forward takes no 'input_ids' argument")
    device = next(model.parameters()).device
    return {k: batch[k].to(device) for k in MODEL_INPUTS if k in batch and k in accepted}


def logits_of(outputs: Any) -> torch.Tensor:
    """The logits of a model output (``.logits``, the first element, or the tensor itself)."""
    if isinstance(outputs, torch.Tensor):
        return outputs
    logits = getattr(outputs, "logits", None)
    if logits is None and isinstance(outputs, tuple | list) and outputs:
        logits = outputs[0]
    if not isinstance(logits, torch.Tensor):
        raise SpaceError("the model output has no logits; pass a loss callable")
    return logits


def masked_lm_loss(outputs: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of the original token at the fixed 15% selection of the flexibert space
    (:func:`lpzero_gp.spaces.flexibert.space.mlm_positions`; the inputs are not corrupted)."""
    from lpzero_gp.spaces.flexibert.space import mlm_positions

    ids = batch["input_ids"]
    mask = batch.get("attention_mask")
    chosen = mlm_positions({**batch, "attention_mask": torch.ones_like(ids) if mask is None
                            else mask})
    return F.cross_entropy(logits_of(outputs)[chosen].float(), ids[chosen])


def causal_lm_loss(outputs: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Mean next-token cross-entropy. ``labels``, when present, are next-token targets aligned
    with ``input_ids`` (the calibration batch's convention); otherwise the ids are shifted."""
    logits = logits_of(outputs)
    if "labels" in batch:
        labels = batch["labels"]
    else:
        logits, labels = logits[:, :-1], batch["input_ids"][:, 1:]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                           labels.reshape(-1), ignore_index=-100)


def resolve_loss(model: nn.Module, loss: str | LossFn | None) -> tuple[str, LossFn]:
    """(description, loss function) of ``loss`` (None: the model's kind decides)."""
    if callable(loss):
        return "the caller's loss", loss
    kind = model_kind(model) if loss is None else loss
    if kind not in LOSS_KINDS:
        raise SpaceError(f"unknown loss {kind!r}; choose {' or '.join(LOSS_KINDS)}, or pass "
                         "a callable (outputs, batch) -> scalar")
    return DESCRIPTIONS[kind], masked_lm_loss if kind == MASKED_LM else causal_lm_loss

__all__ = [
    "DESCRIPTIONS", "LOSS_KINDS", "LossFn", "causal_lm_loss", "logits_of", "model_inputs",
    "resolve_loss",
]
