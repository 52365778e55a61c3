"""Numerically safe torch kernels of the proxy operations.

Every kernel returns a new tensor (inputs are never modified) that is finite for any finite
input: overflow saturates at the dtype's largest value, logs of non-positive numbers give 0,
reciprocals use a sign-aware epsilon. Non-finite results are therefore never produced by an
op from finite data; the fitness check flags saturated scores instead. A nan marks missing data
(a block without that input) and propagates, so such a proxy is invalid on that architecture.
"""

from __future__ import annotations

import math

import torch

EPS = 1e-9
_TINY = 1e-30


def finite(x: torch.Tensor) -> torch.Tensor:
    """Saturate +-inf at the dtype's extreme finite values; nan (missing data) stays nan."""
    info = torch.finfo(x.dtype)
    return x.clamp(-info.max, info.max)


def safe_log(x: torch.Tensor) -> torch.Tensor:
    """log(x) for x > 0 and 0 elsewhere (the reference sets non-positive entries to 1)."""
    return torch.log(x.clamp_min(_TINY)).masked_fill_(x <= 0, 0.0)


def abslog(x: torch.Tensor) -> torch.Tensor:
    """log|x|, with exact zeros mapped to 0."""
    return safe_log(x.abs())


def safe_exp(x: torch.Tensor) -> torch.Tensor:
    """exp(x), saturating instead of overflowing."""
    limit = math.log(torch.finfo(x.dtype).max) - 1.0
    return torch.exp(x.clamp(max=limit))


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """sqrt(max(x, 0))."""
    return torch.sqrt(torch.relu(x))


def safe_reciprocal(x: torch.Tensor) -> torch.Tensor:
    """1 / (x + eps * sign(x)) with sign(+0) = +1: bounded by 1/eps, finite for every x."""
    return torch.reciprocal(x + torch.copysign(torch.full_like(x, EPS), x))


def square(x: torch.Tensor) -> torch.Tensor:
    """x ** 2, saturating."""
    return finite(x * x)


def neg(x: torch.Tensor) -> torch.Tensor:
    """-x."""
    return -x


def identity(x: torch.Tensor) -> torch.Tensor:
    """x itself (no copy is needed: nothing downstream mutates tensors)."""
    return x


def safe_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a / b with the reciprocal's sign-aware epsilon."""
    return finite(a * safe_reciprocal(b))


def safe_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a * b, saturating."""
    return finite(a * b)


def safe_add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a + b, saturating."""
    return finite(a + b)


def safe_sub(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a - b, saturating."""
    return finite(a - b)


def row_softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last (feature) axis."""
    return torch.softmax(x, dim=-1)


def row_log_softmax(x: torch.Tensor) -> torch.Tensor:
    """Log-softmax over the last (feature) axis."""
    return finite(torch.log_softmax(x, dim=-1))


def saturating(kernel):
    """``kernel`` with its result saturated (:func:`finite`): how a registered op's kernel runs,
    so that overflow never gives an infinity."""

    def safe(*args: torch.Tensor) -> torch.Tensor:
        return finite(kernel(*args))

    safe.__name__ = getattr(kernel, "__name__", "kernel")
    safe.__doc__ = getattr(kernel, "__doc__", None)
    return safe

__all__ = ["EPS", "finite", "row_log_softmax", "row_softmax", "saturating"]
