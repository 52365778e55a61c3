"""Analytic parameter and MAC counts of a LoNAS sub-network (no model needed).

Counts follow the cost model of docs/specs.md §11.4: frozen linear weights of the decoder
layers plus their LoRA adapters at the active ranks and widths; ``down_proj``'s adapter keeps
rank r_max. Embeddings, norms and the LM head are constant across sub-networks and reported apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .space import LonasSpace, Subnet


@dataclass(frozen=True)
class SubnetCost:
    """Parameter counts of one sub-network.

    ``params`` (frozen + adapter parameters of the decoder layers' linear modules, biases
    included) is the quantity budgets refer to; ``total_params`` adds embeddings, norms and the
    LM head; ``macs`` are the per-token multiply-accumulates of the decoder layers' linears;
    ``mlp_params`` the MLP part of ``params`` (gate/up/down weights, their adapters and biases).
    """

    params: int
    frozen_params: int
    adapter_params: int
    total_params: int
    macs: int
    mlp_params: int

    def as_dict(self) -> dict[str, int]:
        """Plain dict for JSON output."""
        return asdict(self)


def layer_counts(space: LonasSpace, a: int, w: int, m: int) -> tuple[int, int, int]:
    """``(frozen, adapter, bias)`` parameters of one decoder layer's linears at (a, w, m)."""
    d = space.dims
    h, q, kv, r = d.hidden, d.q_dim, d.kv_dim, space.r_max
    frozen = h * q + 2 * h * kv + q * h + 3 * h * w
    adapter = a * (h + q) + 2 * a * (h + kv) + 2 * m * (h + w) + r * (w + h)
    bias = 0
    if d.attention_bias:
        bias += q + 2 * kv + h
    if d.mlp_bias:
        bias += 2 * w + h
    return frozen, adapter, bias


def constant_params(space: LonasSpace) -> int:
    """Parameters outside the decoder layers' linears: embeddings, LM head and RMSNorm weights."""
    d = space.dims
    embed = d.vocab * d.hidden
    head = 0 if d.tie_embeddings else d.vocab * d.hidden
    norms = 2 * d.hidden * d.num_layers + d.hidden
    return embed + head + norms


def subnet_cost(space: LonasSpace, config: Subnet) -> SubnetCost:
    """The :class:`SubnetCost` of a validated config."""
    config = space.validate(config)
    frozen = adapter = bias = mlp = 0
    d, r = space.dims, space.r_max
    for a, w, m in space.per_layer(config):
        f, ad, b = layer_counts(space, a, w, m)
        frozen += f
        adapter += ad
        bias += b
        mlp += 3 * d.hidden * w + 2 * m * (d.hidden + w) + r * (w + d.hidden)
        mlp += (2 * w + d.hidden) if d.mlp_bias else 0
    params = frozen + adapter + bias
    return SubnetCost(
        params=params,
        frozen_params=frozen + bias,
        adapter_params=adapter,
        total_params=params + constant_params(space),
        macs=frozen + adapter,
        mlp_params=mlp,
    )


def subnet_params(space: LonasSpace, config: Subnet) -> int:
    """The budgeted parameter count (``SubnetCost.params``) of a config."""
    return subnet_cost(space, config).params

__all__ = ["SubnetCost", "constant_params", "subnet_cost", "subnet_params"]
