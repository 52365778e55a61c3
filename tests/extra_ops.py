"""Ops a user adds from outside the package: plain torch kernels and, for one, a SymPy twin."""

from __future__ import annotations

import torch


def softsign(x: torch.Tensor) -> torch.Tensor:
    """x / (1 + |x|): bounded, odd, finite everywhere."""
    return x / (1 + x.abs())


def twice(x: torch.Tensor) -> torch.Tensor:
    """2 x (its SymPy twin lets the canonical form merge it with a factor 2)."""
    return 2 * x


def twice_twin(e):
    """The SymPy twin of :func:`twice`."""
    return 2 * e


def hypot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sqrt(a^2 + b^2), a binary op."""
    return torch.hypot(a, b)


def unsafe_log(x: torch.Tensor) -> torch.Tensor:
    """log x, nan for negative x: not a safe op."""
    return torch.log(x)


#: Keyword arguments of ``register_op`` for each op above: ``register_op(name, **OPS[name])``.
OPS = {
    "softsign": {"kernel": softsign, "doc": "x / (1 + |x|)"},
    "twice": {"kernel": twice, "sym": twice_twin, "latex": r"\operatorname{two}\left(#1\right)"},
    "hypot": {"kernel": hypot, "arity": 2, "latex": r"\mathrm{hyp}\left(#1, #2\right)"},
}
