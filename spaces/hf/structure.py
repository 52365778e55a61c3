"""Where a transformer's blocks, linear layers and position table are, read from its structure.

Nothing here knows a model family by name. The blocks are the outermost ``nn.ModuleList`` whose
children all share one class, the one holding the most parameters (the repeated transformer
layers; an expert list inside a layer is nested in it and so never wins). Linear layers are
``nn.Linear`` and transformers' ``Conv1D`` (GPT-2 style, weight stored ``(in, out)``). Callers
may instead name the blocks: a dotted attribute path (``"model.layers"``) or the modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lpzero_gp.errors import SpaceError

#: What a caller may pass as ``blocks``: None (find them), a dotted path, or the modules.
BlockSpec = str | Sequence[nn.Module] | None


def _conv1d() -> type:
    """transformers' Conv1D (imported here so the spaces stay light until a model is read)."""
    from transformers.pytorch_utils import Conv1D

    return Conv1D


def is_linear(module: nn.Module) -> bool:
    """Whether ``module`` is a linear layer: ``nn.Linear`` or transformers' ``Conv1D``."""
    return isinstance(module, nn.Linear | _conv1d())


def linears(module: nn.Module) -> list[nn.Module]:
    """The linear layers inside ``module``, in registration order, each once."""
    return list(dict.fromkeys(m for m in module.modules() if is_linear(m)))


def out_in(module: nn.Module, tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` (a linear layer's weight or its gradient) in ``nn.Linear``'s ``(out, in)``
    layout: Conv1D stores ``(in, out)`` and is transposed, so W and G read the same way in
    every family."""
    return tensor.t() if isinstance(module, _conv1d()) else tensor


def fan(module: nn.Module) -> tuple[int, int]:
    """``(in_features, out_features)`` of a linear layer."""
    out_features, in_features = out_in(module, module.weight).shape
    return int(in_features), int(out_features)


def _is_block_list(module: nn.Module) -> bool:
    children = list(module.children())
    return (isinstance(module, nn.ModuleList) and bool(children)
            and len({type(c) for c in children}) == 1)


def _size(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def find_blocks(model: nn.Module) -> list[nn.Module]:
    """The transformer blocks of ``model``, in order (see the module docstring)."""
    lists = [(name, m) for name, m in model.named_modules() if _is_block_list(m)]
    outer = [(name, m) for name, m in lists
             if not any(name.startswith(other + ".") for other, _ in lists if other != name)]
    if not outer:
        raise SpaceError(f"no list of repeated blocks found in {type(model).__name__}; "
                         "pass blocks= (a dotted path such as 'model.layers', or the modules)")
    _, best = max(outer, key=lambda item: _size(item[1]))  # max keeps the first of equals
    return list(best.children())


def resolve_blocks(model: nn.Module, blocks: BlockSpec = None) -> list[nn.Module]:
    """The blocks ``blocks`` names (None: found from the structure); SpaceError if unusable."""
    if blocks is None:
        return find_blocks(model)
    if isinstance(blocks, str):
        target: object = model
        for part in blocks.split("."):
            if not hasattr(target, part):
                raise SpaceError(f"{type(model).__name__} has no attribute path {blocks!r}")
            target = getattr(target, part)
        if not isinstance(target, nn.ModuleList | nn.Sequential):
            raise SpaceError(f"{blocks!r} is a {type(target).__name__}, not a module list")
        blocks = list(target)
    found = list(blocks)
    if not found or not all(isinstance(b, nn.Module) for b in found):
        raise SpaceError("blocks must be a non-empty list of modules of the model")
    inside = {id(m) for m in model.modules()}
    if any(id(b) not in inside for b in found):
        raise SpaceError("every block must be a module of the model")
    return found


def input_embeddings(model: nn.Module) -> nn.Module | None:
    """The token embedding of a transformers model (None when the model does not say)."""
    try:
        return model.get_input_embeddings()
    except (AttributeError, NotImplementedError):
        return None


def position_table(model: nn.Module, blocks: list[nn.Module]) -> nn.Parameter | None:
    """The learned position-embedding table: the largest ``nn.Embedding`` outside the blocks
    other than the token embedding (None for models without one, e.g. rotary positions)."""
    in_blocks = {id(m) for b in blocks for m in b.modules()}
    tokens = input_embeddings(model)
    tables = [m for m in model.modules() if isinstance(m, nn.Embedding)
              and id(m) not in in_blocks and m is not tokens]
    if not tables:
        return None
    return max(tables, key=lambda m: m.num_embeddings).weight

__all__ = [
    "BlockSpec", "fan", "find_blocks", "input_embeddings", "is_linear", "linears", "out_in",
    "position_table", "resolve_blocks",
]
