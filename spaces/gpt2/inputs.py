"""Read the six proxy inputs (A, H, S, G, W, J) off one forward/backward pass of a GPT-2 LM.

Every list has one entry per decoder block. ``intended`` semantics (default) run in eval mode:

* A: the block's four activations, in module order: c_attn output (B, T, 3d), attention
  c_proj output (B, T, d), the FFN expansion **after** GELU (B, T, m_l), FFN c_proj output
  (B, T, d). Post-GELU is what the FFN actually passes on, so it is the meaningful activation.
* H: the per-head attention context before the output projection, (B, h_l, T, d / h_l), so
  the last axis is the head width and H differs from A.
* S: the attention probabilities (B, h_l, T, T) after the causal mask and softmax.
* W: the Conv1D weights (c_attn, attn c_proj, c_fc, mlp c_proj) in (in, out) layout.
* G: their gradients after one backward of the mean adaptive-softmax NLL (same order, shapes).
* J: the gradient of that loss with respect to the block's input hidden states (B, T, d).

``reference`` semantics reproduce the LPZero reference harness: train mode
with dropout active, A and H both the four Conv1D outputs (pre-GELU c_fc output; H holds the
same tensor objects as A to save memory, treat them as read-only), S and J empty per block.
In reference mode the dropout masks come from the global torch RNG, so results are
reproducible when the model is built with a seed and collected right after.

One forward and one backward serve every input in both modes (the reference harness ran a
separate forward per input, so its dropout masks differed from input to input).
Only the blocks' parameters get gradients (J and G need nothing else), which skips the
weight gradients of the embedding tables and the adaptive-softmax output layer. In both modes
gradients are cleared before the backward and after it, every hook is removed, and the
model's train/eval flag and each parameter's requires_grad flag are restored.
"""

from __future__ import annotations

import torch
from torch.utils.hooks import RemovableHandle

from lpzero_gp.errors import SpaceError

from ..base import INPUT_NAMES, RawInputs
from .model import FlexGPT2LM


def _keep(tensor: torch.Tensor) -> torch.Tensor:
    """A detached float32 copy that later in-place updates cannot touch."""
    return tensor.detach().to(torch.float32).clone()


def conv1d_modules(block: torch.nn.Module) -> list[torch.nn.Module]:
    """A block's four Conv1D maps in module order: c_attn, attn c_proj, c_fc, mlp c_proj."""
    return [block.attn.c_attn, block.attn.c_proj, block.mlp.c_fc, block.mlp.c_proj]


def check_batch(
    model: FlexGPT2LM, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a calibration batch against the model; SpaceError on any mismatch."""
    if not isinstance(batch, dict) or "input_ids" not in batch or "labels" not in batch:
        raise SpaceError("a gpt2 batch needs 'input_ids' and 'labels' (next-token ids)")
    ids, labels = batch["input_ids"], batch["labels"]
    for key, value in (("input_ids", ids), ("labels", labels)):
        if not isinstance(value, torch.Tensor) or value.dim() != 2:
            raise SpaceError(f"batch '{key}' must be a 2-D (batch, seq_len) tensor")
        if value.dtype not in (torch.int64, torch.int32):
            raise SpaceError(f"batch '{key}' must hold integer token ids, got {value.dtype}")
    if ids.shape != labels.shape:
        raise SpaceError(f"input_ids {tuple(ids.shape)} and labels {tuple(labels.shape)} differ")
    if ids.numel() == 0:
        raise SpaceError("the calibration batch is empty")
    cfg = model.cfg
    if ids.shape[1] > cfg.tgt_len:
        raise SpaceError(
            f"sequence length {ids.shape[1]} exceeds the model's tgt_len {cfg.tgt_len}"
        )
    for key, value in (("input_ids", ids), ("labels", labels)):
        if int(value.min()) < 0 or int(value.max()) >= cfg.n_token:
            raise SpaceError(f"batch '{key}' has ids outside the vocabulary [0, {cfg.n_token})")
    device = model.transformer.wpe.weight.device
    return ids.to(device=device, dtype=torch.long), labels.to(device=device, dtype=torch.long)


def collect_inputs(
    model: FlexGPT2LM, batch: dict[str, torch.Tensor], semantics: str = "intended"
) -> RawInputs:
    """One forward and one backward of the mean LM loss; returns the per-block inputs.

    Longer than most functions on purpose: every hook is registered, used and removed here, in
    one ``try``/``finally``, so no code path can leave a hook on the model.
    """
    if not isinstance(model, FlexGPT2LM):
        raise SpaceError(
            f"gpt2 collect needs a model built by this space, got {type(model).__name__}"
        )
    if semantics not in ("intended", "reference"):
        raise SpaceError(f"unknown semantics {semantics!r}; choose 'intended' or 'reference'")
    ids, labels = check_batch(model, batch)
    intended = semantics == "intended"
    blocks = model.blocks
    out: RawInputs = {name: [[] for _ in blocks] for name in INPUT_NAMES}
    handles: list[RemovableHandle] = []

    def store(name: str, b: int, index: int | None = None):
        def hook(_module, _inputs, output):
            tensor = output[index] if index is not None else output
            out[name][b].append(_keep(tensor))

        return hook

    for b, block in enumerate(blocks):
        if intended:
            acts = [block.attn.c_attn, block.attn.c_proj, block.mlp.act, block.mlp.c_proj]
            for module in acts:
                handles.append(module.register_forward_hook(store("A", b)))
            handles.append(block.attn.c_proj.register_forward_pre_hook(_head_hook(out, b, block)))
            handles.append(block.attn.register_forward_hook(store("S", b, index=1)))
            handles.append(block.register_forward_pre_hook(_input_grad_hook(out, b, handles)))
        else:
            for module in conv1d_modules(block):
                handles.append(module.register_forward_hook(store("A", b)))

    was_training = model.training
    flags = [(param, param.requires_grad) for param in model.parameters()]
    model.train(not intended)
    model.zero_grad(set_to_none=True)
    try:
        with torch.enable_grad():
            # Only block parameters need gradients (G); skipping the embedding and
            # adaptive-softmax weight gradients saves a third of the output layer's cost.
            block_params = {id(param) for param in blocks.parameters()}
            for param, _ in flags:
                param.requires_grad_(id(param) in block_params)
            loss = model(ids, labels).loss
            if not torch.isfinite(loss):
                raise SpaceError(f"the LM loss is not finite ({float(loss)})")
            loss.backward()
        for b, block in enumerate(blocks):
            convs = conv1d_modules(block)
            out["W"][b] = [_keep(conv.weight) for conv in convs]
            out["G"][b] = [_keep(conv.weight.grad) for conv in convs]
            if not intended:
                out["H"][b] = list(out["A"][b])
    finally:
        for handle in handles:
            handle.remove()
        model.zero_grad(set_to_none=True)
        for param, flag in flags:
            param.requires_grad_(flag)
        model.train(was_training)
    return out


def _head_hook(out: RawInputs, b: int, block: torch.nn.Module):
    """Pre-hook on attn.c_proj: its input is the merged per-head context; split the heads."""
    heads = block.attn.num_heads

    def hook(_module, inputs):
        context = inputs[0]
        bsz, seq_len, width = context.shape
        per_head = context.reshape(bsz, seq_len, heads, width // heads).transpose(1, 2)
        out["H"][b].append(_keep(per_head))

    return hook


def _input_grad_hook(out: RawInputs, b: int, handles: list[RemovableHandle]):
    """Pre-hook on a block: attach a gradient hook to its input hidden states (J)."""

    def grad_hook(grad: torch.Tensor) -> None:
        out["J"][b].append(_keep(grad))

    def hook(_module, inputs):
        hidden = inputs[0]
        if not hidden.requires_grad:
            # The first block's input comes from frozen embeddings: make it a graph leaf.
            hidden = hidden.detach().requires_grad_(True)
            inputs = (hidden, *inputs[1:])
        handles.append(hidden.register_hook(grad_hook))
        return inputs

    return hook

__all__ = ["check_batch", "collect_inputs", "conv1d_modules"]
