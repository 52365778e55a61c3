"""Elastic linear layers: an ``nn.Linear`` whose forward uses only a leading slice of its weight.

A module is made elastic in place (its class is swapped, its Parameter objects are kept), so
peft's LoRA wrappers keep working and no weight is ever copied. Slicing, not masking: the
forward sees exactly the active rows/columns, so per-element statistics are those of the
smaller network and gradients only reach the active slice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lpzero_gp.errors import SpaceError


class ElasticLinear(nn.Linear):
    """``nn.Linear`` with ``active_out`` / ``active_in`` (None = full) leading-slice widths."""

    active_out: int | None
    active_in: int | None

    def active_weight(self) -> torch.Tensor:
        """A view of the active ``(out, in)`` slice of the weight."""
        w = self.weight
        if self.active_out is not None:
            w = w[: self.active_out]
        if self.active_in is not None:
            w = w[:, : self.active_in]
        return w

    def active_bias(self) -> torch.Tensor | None:
        """A view of the active slice of the bias (cut like the outputs), or None."""
        if self.bias is None:
            return None
        return self.bias if self.active_out is None else self.bias[: self.active_out]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ W[:out, :in].T + b[:out]``."""
        return F.linear(x, self.active_weight(), self.active_bias())

    def set_active(self, out: int | None = None, inp: int | None = None) -> None:
        """Set the active widths (None restores the full size on that side)."""
        full_out, full_in = self.weight.shape
        for name, value, full in (("output", out, full_out), ("input", inp, full_in)):
            if value is not None and not 1 <= value <= full:
                raise SpaceError(f"active {name} width {value} outside 1..{full}")
        self.active_out = None if out is None or out == full_out else int(out)
        self.active_in = None if inp is None or inp == full_in else int(inp)


def make_elastic(module: nn.Module) -> ElasticLinear:
    """Turn a plain ``nn.Linear`` into an :class:`ElasticLinear` in place and return it."""
    if isinstance(module, ElasticLinear):
        return module
    if type(module) is not nn.Linear:
        raise SpaceError(
            f"cannot make {type(module).__name__} elastic: only plain torch Linear layers "
            "are supported (no quantised layers)"
        )
    module.__class__ = ElasticLinear
    module.active_out = None
    module.active_in = None
    return module  # type: ignore[return-value]


def active_weight(module: nn.Module) -> torch.Tensor:
    """The weight a Linear module currently uses (its active slice if elastic)."""
    if isinstance(module, ElasticLinear):
        return module.active_weight()
    return module.weight


def active_bias(module: nn.Module) -> torch.Tensor | None:
    """The bias a Linear module currently uses (its active slice if elastic)."""
    if isinstance(module, ElasticLinear):
        return module.active_bias()
    return module.bias

__all__ = ["ElasticLinear", "active_bias", "active_weight", "make_elastic"]
