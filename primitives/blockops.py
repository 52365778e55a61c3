"""Operations on block-batched values: element-wise maps, per-block reductions, aggregation.

These are the python callables behind the typed primitives. They accept the values described in
:mod:`.types` and never modify their inputs.
"""

from __future__ import annotations

import torch

from . import kernels
from .types import PRUNED, Blocks, Layer

# ---------------------------------------------------------------------------------------------
# per-block sums over segments


def _seg_sums(blocks: Blocks, fn) -> torch.Tensor:
    """Unbiased estimate of sum(fn(x)) over each full block, float64 (n_blocks,)."""
    lay = blocks.layout
    out = torch.zeros(lay.n_blocks, dtype=torch.float64)
    for g, seg_block, seg_numel in zip(blocks.groups, lay.seg_block, lay.seg_numel, strict=True):
        stored = g.shape[1] * g.shape[2]
        s = fn(g).sum(dim=(1, 2)).double()  # float32 partial sums of <= budget elements
        out.index_add_(0, seg_block, s * (seg_numel / stored))
    return out


def block_numel(blocks: Blocks) -> torch.Tensor:
    """Full element count of every block (float64)."""
    lay = blocks.layout
    out = torch.zeros(lay.n_blocks, dtype=torch.float64)
    for seg_block, seg_numel in zip(lay.seg_block, lay.seg_numel, strict=True):
        out.index_add_(0, seg_block, seg_numel)
    return out


def _layer(blocks: Blocks, values: torch.Tensor) -> Layer:
    """Wrap per-block values; a block with no data for this input becomes nan."""
    lay = blocks.layout
    values = torch.where(block_numel(blocks) > 0, kernels.finite(values), float("nan"))
    return Layer(values, lay.block_arch, lay.n_archs)


def _block_mean_std(blocks: Blocks) -> tuple[torch.Tensor, torch.Tensor]:
    n = block_numel(blocks)
    mean = _seg_sums(blocks, lambda g: g) / n
    # Sum of squares about the mean (two passes): the one-pass sum(x^2) - n mean^2 cancels
    # catastrophically in float32 partial sums when |mean| >> std.
    lay = blocks.layout
    ss = torch.zeros(lay.n_blocks, dtype=torch.float64)
    for g, m, seg_block, seg_numel in zip(blocks.groups, _gather(blocks, mean), lay.seg_block,
                                          lay.seg_numel, strict=True):
        s = torch.square(g - m).sum(dim=(1, 2)).double()
        ss.index_add_(0, seg_block, s * (seg_numel / (g.shape[1] * g.shape[2])))
    var = (ss / (n - 1).clamp_min(1.0)).clamp_min(0.0)
    return mean, var.sqrt()


# ---------------------------------------------------------------------------------------------
# reductions: TensorList -> Layerwise


def reduce_mean(x: Blocks) -> Layer:
    """Mean of every block's entries (f11 normalised sum and f17 average)."""
    if x is PRUNED:
        return PRUNED
    return _layer(x, _seg_sums(x, lambda g: g) / block_numel(x))


def reduce_l1(x: Blocks) -> Layer:
    """Mean absolute value of every block (f12, as the reference computes it)."""
    if x is PRUNED:
        return PRUNED
    return _layer(x, _seg_sums(x, torch.abs) / block_numel(x))


def reduce_fro(x: Blocks) -> Layer:
    """Frobenius norm of every block (f10): grows with the block's size."""
    if x is PRUNED:
        return PRUNED
    return _layer(x, _seg_sums(x, torch.square).sqrt())


def reduce_std(x: Blocks) -> Layer:
    """Unbiased standard deviation of every block's entries (f18)."""
    if x is PRUNED:
        return PRUNED
    return _layer(x, _block_mean_std(x)[1])


# ---------------------------------------------------------------------------------------------
# tensor -> tensor ops that need per-block statistics


def _gather(blocks: Blocks, per_block: torch.Tensor) -> list[torch.Tensor]:
    return [
        per_block[seg_block].to(g.dtype).view(-1, 1, 1)
        for g, seg_block in zip(blocks.groups, blocks.layout.seg_block, strict=True)
    ]


def minmax(x: Blocks) -> Blocks:
    """(x - min) / (max - min + eps) over every block (f16); a constant block gives 0."""
    if x is PRUNED:
        return PRUNED
    lay = x.layout
    lo = torch.full((lay.n_blocks,), float("inf"), dtype=torch.float64)
    hi = torch.full((lay.n_blocks,), float("-inf"), dtype=torch.float64)
    for g, seg_block in zip(x.groups, lay.seg_block, strict=True):
        lo.scatter_reduce_(0, seg_block, g.amin(dim=(1, 2)).double(), "amin")
        hi.scatter_reduce_(0, seg_block, g.amax(dim=(1, 2)).double(), "amax")
    span = hi - lo
    groups = []
    for g, lo_g, span_g in zip(x.groups, _gather(x, lo), _gather(x, span), strict=True):
        groups.append(kernels.finite((g - lo_g) / (span_g + kernels.EPS)))
    return Blocks(tuple(groups), lay)


def znorm(x: Blocks) -> Blocks:
    """Z-score over every block, (x - mean) / std; a constant block gives 0."""
    if x is PRUNED:
        return PRUNED
    mean, std = _block_mean_std(x)
    groups = []
    for g, m, s in zip(x.groups, _gather(x, mean), _gather(x, std), strict=True):
        z = torch.where(s > 0, (g - m) / s.clamp_min(torch.finfo(g.dtype).tiny), 0.0)
        groups.append(kernels.finite(z))
    return Blocks(tuple(groups), x.layout)


def softmax(x: Blocks) -> Blocks:
    """Softmax over the feature axis of every row (f13)."""
    return PRUNED if x is PRUNED else x.map(kernels.row_softmax)


def log_softmax(x: Blocks) -> Blocks:
    """Log-softmax over the feature axis of every row (f15)."""
    return PRUNED if x is PRUNED else x.map(kernels.row_log_softmax)


# ---------------------------------------------------------------------------------------------
# element-wise and binary ops on every value type


def elementwise(name: str, fn):
    """The element-wise kernel ``fn`` of op ``name`` lifted to Blocks, Layer and Score values."""

    def op(x):
        if x is PRUNED:
            return PRUNED
        if isinstance(x, Blocks):
            return x.map(fn)
        if isinstance(x, Layer):
            return Layer(fn(x.values), x.block_arch, x.n_archs)
        return fn(x)

    op.__name__ = name
    op.__doc__ = f"Element-wise {name}."
    return op


def scalar_constant(name: str, value: float):
    """An op that, on a per-block scalar, is the constant ``value`` (softmax of a scalar is 1)."""

    def op(x):
        if x is PRUNED:
            return PRUNED
        if isinstance(x, Layer):
            return Layer(torch.full_like(x.values, value), x.block_arch, x.n_archs)
        return torch.full_like(x, value)

    op.__name__ = name
    op.__doc__ = f"{name} of a scalar: the constant {value}."
    return op


def binary(name: str, fn):
    """The binary kernel ``fn`` of op ``name`` on two values of one type; a pruned side yields
    the other side."""

    def op(a, b):
        if a is PRUNED:
            return b
        if b is PRUNED:
            return a
        if isinstance(a, Blocks):
            if a.layout is not b.layout:
                raise TypeError(f"{name}: parameter lists with different layouts")
            return Blocks(tuple(fn(x, y) for x, y in zip(a.groups, b.groups, strict=True)),
                          a.layout)
        if isinstance(a, Layer):
            return Layer(fn(a.values, b.values), a.block_arch, a.n_archs)
        return fn(a, b)

    op.__name__ = name
    op.__doc__ = f"Binary {name}."
    return op


def prune(x):
    """Table 7's empty set: removes the branch, so the enclosing binary op keeps the other."""
    return PRUNED


# ---------------------------------------------------------------------------------------------
# aggregation: Layerwise -> Score


def _arch_sums(x: Layer) -> torch.Tensor:
    out = torch.zeros(x.n_archs, dtype=torch.float64)
    return out.index_add_(0, x.block_arch, x.values.double())


def agg_mean(x: Layer) -> torch.Tensor:
    """Mean over the blocks of each architecture (the reference's choice)."""
    if x is PRUNED:
        return PRUNED
    counts = torch.bincount(x.block_arch, minlength=x.n_archs).double()
    return kernels.finite(_arch_sums(x) / counts)


def agg_sum(x: Layer) -> torch.Tensor:
    """Sum over the blocks of each architecture (the paper's formula): depth-sensitive."""
    if x is PRUNED:
        return PRUNED
    return kernels.finite(_arch_sums(x))

__all__ = [
    "agg_mean", "agg_sum", "binary", "elementwise", "log_softmax", "minmax", "prune", "reduce_fro",
    "reduce_l1", "reduce_mean", "reduce_std", "scalar_constant", "softmax", "znorm",
]
