"""Transformers configs and models of the ``hf`` space: which head, how to build, how big.

A record's config is a transformers config as JSON (``{"model_type": "bert", ...}``). Its kind
(masked-LM or causal-LM) comes from the task heads transformers registers for the model type;
the model is ``AutoModelForMaskedLM`` / ``AutoModelForCausalLM.from_config`` with eager
attention (the implementation that returns attention probabilities) and a seeded init.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from lpzero_gp.errors import SpaceError, captured_output

from .losses import CAUSAL_LM, LOSS_KINDS, MASKED_LM
from .structure import find_blocks


def _reason(exc: BaseException) -> str:
    """An exception's whole message on one line (transformers spreads some over several)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 240 else text[:237] + "..."


@dataclass(frozen=True)
class Shape:
    """What a record's model looks like without building its weights."""

    params: int
    layers: int
    hidden: int
    vocab_size: int | None
    max_positions: int | None


def _heads() -> dict[str, Mapping[str, Any]]:
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    return {MASKED_LM: MODEL_FOR_MASKED_LM_MAPPING_NAMES,
            CAUSAL_LM: MODEL_FOR_CAUSAL_LM_MAPPING_NAMES}


def check_model_type(rid: str, config: Any) -> str:
    """The record's ``model_type`` if transformers knows it; SpaceError otherwise."""
    from transformers import CONFIG_MAPPING, __version__

    if not isinstance(config, Mapping):
        raise SpaceError(f"record {rid}: config must be an object, got {type(config).__name__}")
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise SpaceError(f"record {rid}: config needs a 'model_type' (e.g. \"bert\", \"gpt2\")")
    if model_type not in CONFIG_MAPPING:
        raise SpaceError(f"record {rid}: unknown model_type {model_type!r} (not a model type "
                         f"of transformers {__version__})")
    return model_type


def record_kind(rid: str, config: Mapping[str, Any], task: str | None = None) -> str:
    """``masked-lm`` or ``causal-lm``: ``task`` if given, else masked-LM when the model type
    has a masked-LM head (and the config is no decoder), else causal-LM."""
    heads = _heads()
    model_type = config["model_type"]
    if task is not None:
        if task not in LOSS_KINDS:
            raise SpaceError(f"unknown task {task!r}; choose {' or '.join(LOSS_KINDS)}")
        if model_type not in heads[task]:
            raise SpaceError(f"record {rid}: transformers has no {task} head for "
                             f"model_type {model_type!r}")
        return task
    if model_type in heads[MASKED_LM] and not config.get("is_decoder", False):
        return MASKED_LM
    if model_type in heads[CAUSAL_LM]:
        return CAUSAL_LM
    raise SpaceError(f"record {rid}: model_type {model_type!r} has neither a masked-LM nor a "
                     "causal-LM head in transformers")


def make_config(rid: str, config: Mapping[str, Any]) -> Any:
    """The transformers config of a record (``AutoConfig.for_model``); SpaceError if refused."""
    from transformers import AutoConfig

    fields = {k: v for k, v in config.items() if k != "model_type"}
    try:  # what transformers logs about the config is summarised in the error, else dropped
        with captured_output() as report:
            return AutoConfig.for_model(config["model_type"], **fields)
    except Exception as exc:  # transformers raises many types for a bad config
        raise SpaceError(f"record {rid}: transformers rejects this config: "
                         f"{_reason(exc)}{report.note()}") from None


def build_model(rid: str, config: Mapping[str, Any], kind: str, seed: int | None = None,
                meta: bool = False) -> nn.Module:
    """The record's model with eager attention; weights drawn after ``torch.manual_seed(seed)``
    (``meta``: on the meta device, no weights, for counting)."""
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    auto = AutoModelForMaskedLM if kind == MASKED_LM else AutoModelForCausalLM
    hf_config = make_config(rid, config)
    if seed is not None:
        torch.manual_seed(seed)
    try:
        with captured_output() as report, torch.device("meta" if meta else "cpu"):
            model = auto.from_config(hf_config, attn_implementation="eager")
    except Exception as exc:  # e.g. a width the head count does not divide
        raise SpaceError(f"record {rid}: transformers cannot build this config: "
                         f"{_reason(exc)}{report.note()}") from None
    return model.float().eval()


def measure(rid: str, config: Mapping[str, Any], kind: str) -> Shape:
    """Parameters (trainable, shared ones once), blocks, hidden width, vocabulary and longest
    sequence of the record's model, from a build on the meta device."""
    model = build_model(rid, config, kind, meta=True)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    cfg = model.config
    vocab = getattr(cfg, "vocab_size", None)
    positions = getattr(cfg, "max_position_embeddings", None)
    return Shape(int(params), len(find_blocks(model)), int(getattr(cfg, "hidden_size", 0)),
                 vocab if isinstance(vocab, int) else None,
                 positions if isinstance(positions, int) else None)

__all__ = ["Shape", "build_model", "check_model_type", "measure", "record_kind"]
