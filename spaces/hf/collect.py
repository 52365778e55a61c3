"""The six proxy inputs of any transformer, read off one forward and one backward pass.

Per block (see :mod:`.structure` for how blocks and linear layers are found):

* ``S``: the attention probabilities ``(B, heads, T, T)``: the model's own attention output
  (``output_attentions=True``, eager attention switched on for the call), or, for a model that
  does not return them, the outputs of the block's ``nn.Softmax`` modules.
* ``H``: the per-head attention context ``(B, heads, T, head_dim)``. The attention module is the
  smallest module of the block that produced ``S`` and holds a linear layer; its context is the
  input of its output projection (its first linear that reads something other than the
  attention input), or, when the output projection lives outside it (BERT's split), its first
  output.
* ``A``: the FFN activation: the input of the last linear layer the block calls outside the
  attention (the down projection, so the activation after the nonlinearity or gate).
* ``W``: every linear weight of the block in registration order, in ``(out, in)`` layout.
* ``G``: their gradients (same order and shapes); zeros where no gradient flowed.
* ``J``: the gradient of the loss with respect to the block's input hidden states.

The model runs in eval mode; only block parameters get gradients (embedding and output-layer
gradients are not needed). Every hook is removed, gradients are cleared, and the model's mode,
``requires_grad`` flags and attention implementation are restored, also when the pass fails.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from lpzero_gp.errors import SpaceError

from ..base import INPUT_NAMES, RawInputs
from .losses import LossFn, model_inputs, resolve_loss
from .structure import BlockSpec, is_linear, linears, out_in, resolve_blocks


def _keep(tensor: torch.Tensor) -> torch.Tensor:
    """A detached float32 CPU copy (the stored form of every input)."""
    return tensor.detach().to("cpu", torch.float32).clone()


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors are one view of the same data."""
    return a is b or (a.data_ptr() == b.data_ptr() and a.shape == b.shape
                      and a.stride() == b.stride())


@dataclass
class _Trace:
    """What the hooks saw in one block during the forward pass, in call order."""

    calls: list[tuple[nn.Module, torch.Tensor]] = field(default_factory=list)
    outputs: list[tuple[nn.Module, tuple]] = field(default_factory=list)
    softmax: list[tuple[nn.Module, torch.Tensor]] = field(default_factory=list)
    hidden: torch.Tensor | None = None


def _input_hook(trace: _Trace):
    """Forward pre-hook on a block: keep its input hidden states, grad-retaining (for J)."""

    def hook(_module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        from_kwargs = not args or not isinstance(args[0], torch.Tensor)
        x = kwargs.get("hidden_states") if from_kwargs else args[0]
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            return None
        if x.requires_grad:
            x.retain_grad()
        else:  # the first block reads frozen embeddings: make its input a graph leaf
            x = x.detach().requires_grad_(True)
        trace.hidden = x
        if from_kwargs:
            return args, {**kwargs, "hidden_states": x}
        return (x, *args[1:]), kwargs

    return hook


def _hooks(blocks: list[nn.Module], traces: list[_Trace]) -> Iterator[Any]:
    """Register every hook the pass needs; yields the handles."""
    for block, trace in zip(blocks, traces, strict=True):
        yield block.register_forward_pre_hook(_input_hook(trace), with_kwargs=True)
        for module in block.modules():
            if is_linear(module):
                yield module.register_forward_pre_hook(
                    lambda m, args, t=trace: t.calls.append((m, args[0])))
            elif isinstance(module, nn.Softmax):
                yield module.register_forward_hook(
                    lambda m, _args, out, t=trace: t.softmax.append((m, out)))
            else:
                yield module.register_forward_hook(
                    lambda m, _args, out, t=trace: t.outputs.append((m, out))
                    if isinstance(out, tuple) else None)


def _takes(model: nn.Module, name: str) -> bool:
    return name in inspect.signature(model.forward).parameters


def _returns_attentions(model: nn.Module) -> bool:
    """Whether the model is a transformers model (its forward honours output_attentions)."""
    from transformers import PreTrainedModel

    return isinstance(model, PreTrainedModel) or _takes(model, "output_attentions")


@contextmanager
def eager_attention(model: nn.Module) -> Iterator[None]:
    """Eager attention for the duration (the only implementation that returns probabilities)."""
    config = getattr(model, "config", None)
    before = getattr(config, "_attn_implementation", None)
    switch = before not in (None, "eager") and hasattr(model, "set_attn_implementation")
    if switch:
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if switch:
            model.set_attn_implementation(before)


@contextmanager
def _prepared(model: nn.Module, blocks: list[nn.Module]) -> Iterator[None]:
    """Eval mode, gradients for block parameters only; everything restored afterwards."""
    was_training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    wanted = {id(p) for b in blocks for p in b.parameters()}
    model.eval()
    model.zero_grad(set_to_none=True)
    try:
        for param, _ in flags:
            param.requires_grad_(id(param) in wanted)
        yield
    finally:
        model.zero_grad(set_to_none=True)
        for param, flag in flags:
            param.requires_grad_(flag)
        model.train(was_training)


def run_forward(model: nn.Module, inputs: dict[str, torch.Tensor]) -> Any:
    """The model's output on ``inputs``, with attention probabilities and no cache."""
    kwargs: dict[str, Any] = dict(inputs)
    if _returns_attentions(model):
        kwargs["output_attentions"] = True
    if _takes(model, "use_cache"):
        kwargs["use_cache"] = False
    return model(**kwargs)


def _probabilities(outputs: Any, traces: list[_Trace]) -> list[list[torch.Tensor]]:
    """Per block, the attention probabilities (the model's attentions, else nn.Softmax)."""
    attentions = getattr(outputs, "attentions", None)
    if (isinstance(attentions, tuple) and len(attentions) == len(traces)
            and all(isinstance(a, torch.Tensor) for a in attentions)):
        return [[a] for a in attentions]
    return [[out for _, out in t.softmax if isinstance(out, torch.Tensor)] for t in traces]


def _producer(trace: _Trace, target: torch.Tensor) -> tuple[nn.Module, int | None] | None:
    """The innermost module whose output holds ``target``, with its index in that output
    (None for a module whose output is ``target`` itself, such as ``nn.Softmax``)."""
    for module, out in trace.outputs:
        for index, item in enumerate(out):
            if item is target:
                return module, index
    return next(((m, None) for m, out in trace.softmax if out is target), None)


def _attention_module(block: nn.Module, trace: _Trace, probs: list[torch.Tensor]
                      ) -> nn.Module | None:
    """The smallest module of ``block`` that produced ``probs[0]`` and holds a linear layer."""
    found = _producer(trace, probs[0]) if probs else None
    names = {id(m): name for name, m in block.named_modules()}
    if found is None or id(found[0]) not in names:
        return None
    by_name = dict(block.named_modules())
    parts = names[id(found[0])].split(".") if names[id(found[0])] else []
    for depth in range(len(parts), -1, -1):
        module = by_name[".".join(parts[:depth])]
        if linears(module):
            return module
    return None


def _heads(context: torch.Tensor, probs: list[torch.Tensor]) -> torch.Tensor:
    """``(B, T, heads * d)`` split into ``(B, heads, T, d)`` using the probabilities' heads."""
    heads = probs[0].shape[1] if probs and probs[0].dim() == 4 else 0
    if context.dim() != 3 or not heads or context.shape[-1] % heads:
        return context
    b, t, width = context.shape
    return context.reshape(b, t, heads, width // heads).transpose(1, 2)


def _split_calls(block: nn.Module, attention: nn.Module | None, trace: _Trace
                 ) -> tuple[set[int], torch.Tensor | None]:
    """(indices of the block's linear calls that belong to the attention, its context).

    The context is the input of the output projection (the attention's first linear call
    that reads something other than the attention input) or, without one, the attention
    module's first output. When the attention is no submodule but the block itself, its calls
    are those up to the output projection.
    """
    if attention is None:
        return set(), None
    inside = {id(m) for m in linears(attention)}
    mine = [i for i, (m, _) in enumerate(trace.calls) if id(m) in inside]
    first = trace.calls[mine[0]][1] if mine else None
    proj = next((i for i in mine if not _same(trace.calls[i][1], first)), None)
    if attention is block:
        mine = list(range(proj + 1)) if proj is not None else []
    if proj is not None:
        return set(mine), trace.calls[proj][1]
    own = next((out for m, out in trace.outputs if m is attention), None)
    return set(mine), own[0] if own and isinstance(own[0], torch.Tensor) else None


def _block_inputs(block: nn.Module, trace: _Trace, probs: list[torch.Tensor]
                  ) -> dict[str, list[torch.Tensor]]:
    """A, H, S, W, G and J of one block after the backward pass."""
    attention = _attention_module(block, trace, probs)
    in_attention, context = _split_calls(block, attention, trace)
    ffn = [x for i, (_, x) in enumerate(trace.calls) if i not in in_attention]
    out = {"S": [_keep(p) for p in probs],
           "H": [] if context is None else [_keep(_heads(context, probs))],
           "A": [_keep(ffn[-1])] if ffn else [],
           "J": [] if trace.hidden is None or trace.hidden.grad is None
           else [_keep(trace.hidden.grad)],
           "W": [], "G": []}
    for module in linears(block):
        weight, grad = module.weight, module.weight.grad
        out["W"].append(_keep(out_in(module, weight)))
        out["G"].append(_keep(out_in(module, torch.zeros_like(weight) if grad is None
                                     else grad)))
    return out


@contextmanager
def _traced(blocks: list[nn.Module]) -> Iterator[list[_Trace]]:
    """One trace per block, filled by hooks that are all removed on exit."""
    traces = [_Trace() for _ in blocks]
    handles: list[Any] = []
    try:
        handles.extend(_hooks(blocks, traces))
        yield traces
    finally:
        for handle in handles:
            handle.remove()


def collect_inputs(model: nn.Module, batch: Mapping[str, torch.Tensor],
                   loss: str | LossFn | None = None, blocks: BlockSpec = None) -> RawInputs:
    """One forward and one backward of ``loss``; the six inputs per block (module docstring).

    ``loss``: ``masked-lm``, ``causal-lm``, a callable ``(outputs, batch) -> scalar`` or None
    (the model's task head decides); ``blocks``: None (found from the structure), a dotted
    path or the block modules. SpaceError for a batch, loss or model that cannot be used.
    """
    found = resolve_blocks(model, blocks)
    _, loss_fn = resolve_loss(model, loss)
    inputs = model_inputs(model, batch)
    device = next(model.parameters()).device
    full = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    with _prepared(model, found), eager_attention(model), _traced(found) as traces:
        with torch.enable_grad():
            outputs = run_forward(model, inputs)
            value = loss_fn(outputs, full)
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise SpaceError("the loss must be a scalar tensor")
            if not torch.isfinite(value):
                raise SpaceError(f"the loss is not finite ({float(value)})")
            value.backward()
        probs = _probabilities(outputs, traces)
        per_block = [_block_inputs(b, t, p) for b, t, p in zip(found, traces, probs,
                                                                 strict=True)]
    return {letter: [inputs_[letter] for inputs_ in per_block] for letter in INPUT_NAMES}


#: Length of the dummy sequence :func:`attention_taps` runs.
PROBE_TOKENS = 8


def attention_taps(model: nn.Module, blocks: BlockSpec = None
                   ) -> list[tuple[nn.Module, int | None]]:
    """Per block, the module whose output holds the attention probabilities and their index
    in that output, found by one gradient-free forward of a short dummy sequence."""
    found = resolve_blocks(model, blocks)
    ids = torch.zeros(1, PROBE_TOKENS, dtype=torch.long)
    inputs = model_inputs(model, {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                                  "token_type_ids": torch.zeros_like(ids)})
    was_training = model.training
    model.eval()
    try:
        with eager_attention(model), _traced(found) as traces, torch.no_grad():
            probs = _probabilities(run_forward(model, inputs), traces)
            taps = [_producer(t, p[0]) for t, p in zip(traces, probs, strict=True) if p]
    finally:
        model.train(was_training)
    return [tap for tap in taps if tap is not None]

__all__ = ["attention_taps", "collect_inputs", "run_forward"]
