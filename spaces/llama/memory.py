"""Rough memory estimate of scoring LoNAS sub-networks of a (large) Llama, from the cost model.

An **estimate** from parameter counts and tensor shapes, not a measurement: it counts the
model weights, the adapters and their gradients (peft keeps adapters in float32), base-weight
gradients when the W/G module set includes base weights, the tensors autograd saves for one
backward pass (approximated), and the CPU copies of the collected proxy inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cost import subnet_cost
from .space import LonasSpace


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per component; ``device_total`` is on the GPU (or CPU when run there)."""

    base_weights: int
    adapters: int
    base_grads: int
    activations: int
    device_total: int
    host_inputs: int


def estimate_memory(
    space: LonasSpace,
    batch_size: int = 4,
    seq_len: int = 64,
    dtype_bytes: int = 2,
    modules: str = "adapters",
    letters: str = "AHSGWJ",
) -> MemoryEstimate:
    """Memory to score the maximal sub-network with one forward/backward.

    ``modules`` is the W/G module set (``adapters`` keeps the frozen base without gradients);
    ``letters`` are the collected inputs (W alone needs neither forward nor backward).
    """
    d = space.dims
    full = subnet_cost(space, space.maximal())
    tokens = batch_size * seq_len
    base = (full.total_params - full.adapter_params) * dtype_bytes
    needs_pass = any(x in letters for x in "AHSGJ")
    needs_grads = any(x in letters for x in "GJ")
    # float32 adapter weights, plus their float32 gradients when there is a backward pass
    adapters = full.adapter_params * 4 * (2 if needs_grads else 1)
    with_base = modules in ("all", "base") and "G" in letters
    base_grads = full.frozen_params * dtype_bytes if with_base else 0
    per_layer = tokens * (10 * d.hidden + 4 * d.intermediate + 2 * space.r_max * 6)
    attn = 2 * batch_size * d.num_heads * seq_len * seq_len
    logits = 3 * tokens * d.vocab * 4 // dtype_bytes  # fp32 logits, softmax and its grad
    activations = (d.num_layers * (per_layer + attn) + logits) * dtype_bytes if needs_pass else 0
    wg = {
        "adapters": full.adapter_params,
        "base": full.frozen_params,
        "all": full.frozen_params + full.adapter_params,
    }[modules]
    host = 0
    if "W" in letters:
        host += wg * 4
    if "G" in letters:
        host += wg * 4
    if "A" in letters:
        host += d.num_layers * tokens * d.intermediate * 4
    for x in "HJ":
        if x in letters:
            host += d.num_layers * tokens * d.hidden * 4
    if "S" in letters:
        host += d.num_layers * batch_size * d.num_heads * seq_len * seq_len * 4
    return MemoryEstimate(
        base_weights=base,
        adapters=adapters,
        base_grads=base_grads,
        activations=activations,
        device_total=base + adapters + base_grads + activations,
        host_inputs=host,
    )

__all__ = ["estimate_memory"]
