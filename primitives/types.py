"""Value types of the typed primitive set and the block-batched data they carry.

A proxy is evaluated on many architectures at once. Every input (A, H, S, J, G, W) of every
architecture is a list of blocks, each block a list of source tensors ("segments"). Segments
whose stored shape agrees are stacked into one group tensor, so an element-wise op is a single
torch call over all architectures and a per-block reduction is a scatter-add.

Types (DEAP's typed GP honours subclasses, so a ParamList fits wherever a TensorList does):

=============  ======================================  =====================================
type           meaning                                 python value
=============  ======================================  =====================================
TensorList     per-block tensors (A, H, S, J)          :class:`Blocks`
ParamList      per-block parameters, G and W aligned   :class:`Blocks` (shared layout)
Layerwise      one number per block                    :class:`Layer` (or ``PRUNED``)
Score          one number per architecture             1-d tensor (n_archs,) (or ``PRUNED``)
=============  ======================================  =====================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the values are torch tensors; the tags and the table need no torch
    import torch


class TensorList:
    """Type tag: one tensor (list of segments) per block; element-wise ops keep the shape."""


class ParamList(TensorList):
    """Type tag: per-block parameter tensors; G and W share one layout, so G*W is defined."""


class Layerwise:
    """Type tag: one number per block (the result of a reduction)."""


class Score:
    """Type tag: one number per architecture (the root type of a proxy)."""


class _Pruned:
    """The value of a pruned branch: binary ops return the other operand unchanged."""

    _instance: _Pruned | None = None

    def __new__(cls) -> _Pruned:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "PRUNED"

    def __reduce__(self) -> str:
        return "PRUNED"


#: Singleton marking a branch removed by the ``prune`` op (Table 7's empty set).
PRUNED = _Pruned()


@dataclass(frozen=True)
class Layout:
    """Where the segments of one input live: group membership, block ids, full sizes.

    ``seg_block[g][k]`` is the global block index of segment ``k`` of group ``g`` and
    ``seg_numel[g][k]`` the element count of the full source tensor it was sampled from, so
    sums over stored elements scale up to unbiased estimates of sums over the full tensor.
    ``block_arch[b]`` is the architecture of global block ``b``.
    """

    seg_block: tuple[torch.Tensor, ...]
    seg_numel: tuple[torch.Tensor, ...]
    block_arch: torch.Tensor
    n_archs: int

    @property
    def n_blocks(self) -> int:
        """Total number of blocks over all architectures."""
        return int(self.block_arch.numel())


@dataclass(frozen=True)
class Blocks:
    """Per-block tensors of all architectures: ``groups[g]`` has shape (n_seg, rows, cols)."""

    groups: tuple[torch.Tensor, ...]
    layout: Layout

    def map(self, fn) -> Blocks:
        """Apply ``fn`` to every group tensor; the layout is shared, never copied."""
        return Blocks(tuple(fn(g) for g in self.groups), self.layout)


@dataclass(frozen=True)
class Layer:
    """One number per block: ``values`` (n_blocks,) float64, with the owning layout's blocks."""

    values: torch.Tensor
    block_arch: torch.Tensor
    n_archs: int

__all__ = ["Blocks", "Layer", "Layerwise", "Layout", "PRUNED", "ParamList", "Score", "TensorList"]
