"""The contract every search space implements: records, model builder, calibration, inputs.

A space turns benchmark records into seeded, randomly initialised torch models and reads the
proxy inputs off one forward/backward pass. The engine never looks inside a model; it only sees
the :data:`RawInputs` a space returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch

#: Input letters of the paper: Activation, Head, Softmax, Gradient, Weight, Jacobian.
INPUT_NAMES: tuple[str, ...] = ("A", "H", "S", "G", "W", "J")

#: ``{letter: [block_0_tensors, block_1_tensors, ...]}``. Every list has one entry per block
#: (transformer layer) and every block entry is a list of detached, cloned float tensors whose
#: last axis is the feature axis. ``G[b][i]`` is the gradient of the parameter ``W[b][i]``
#: (same shape, same order), so parameter-wise products such as G*W are well defined.
RawInputs = dict[str, list[list[torch.Tensor]]]

#: Input-collection semantics: ``intended`` (clean: eval mode, real loss, hooks removed) or
#: ``reference`` (what the published numbers were computed with; see the specs).
SEMANTICS: tuple[str, ...] = ("intended", "reference")


@dataclass(frozen=True)
class Record:
    """One benchmark architecture: its id, its config, and its ground truth (higher is better)."""

    id: str
    config: dict[str, Any]
    truth: float
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class Space(ABC):
    """A benchmark family. Subclasses are registered in :mod:`lpzero_gp.spaces`."""

    name: str = ""
    variants: tuple[str, ...] = ("default",)
    default_variant: str = "default"
    #: What the ground truth is, in words, with its sign convention.
    truth_label: str = ""
    #: Named scalar features usable as proxies (e.g. ``params``, ``layers``).
    feature_names: tuple[str, ...] = ()

    @abstractmethod
    def load_records(self, path: str | None = None) -> list[Record]:
        """Packaged benchmark (``path=None``) or a user file; raise SpaceError on bad input.

        A record that cannot be built is skipped with a warning naming its id (not fatal);
        a file that is not a benchmark at all raises SpaceError.
        """

    @abstractmethod
    def build(self, record: Record, variant: str, seed: int) -> torch.nn.Module:
        """A freshly initialised model for ``record``; the init depends only on ``seed``."""

    @abstractmethod
    def num_params(self, record: Record, variant: str) -> int:
        """Trainable parameter count as the benchmark counts it (no model build needed)."""

    @abstractmethod
    def features(self, record: Record, variant: str) -> dict[str, float]:
        """Named architecture features (``params``, ``layers``, ...) used as trivial proxies."""

    @abstractmethod
    def calibration(
        self,
        batch_size: int,
        seq_len: int,
        tokenizer: str | None = None,
        text: str | None = None,
    ) -> dict[str, torch.Tensor]:
        """The calibration batch fed to every model of this space (built once per run)."""

    @abstractmethod
    def collect(
        self,
        model: torch.nn.Module,
        batch: dict[str, torch.Tensor],
        semantics: str = "intended",
    ) -> RawInputs:
        """One forward and one backward pass; every hook removed before returning."""
