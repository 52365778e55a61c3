"""A worker's statistics cross the process boundary by value (NumPy arrays), not as torch
shared-memory handles: one file descriptor per tensor exhausted the parent's on a model with
hundreds of statistic tensors (a three-space run with the llama space)."""

from __future__ import annotations

import pickle

import numpy as np
import torch

from lpzero_gp.stats.extract import _from_wire, _to_wire
from lpzero_gp.stats.store import ArchStats, stats_digest


def _stats(n_tensors: int) -> ArchStats:
    gen = torch.Generator().manual_seed(0)
    inputs = {"A": [(b, torch.randn(3, 5, generator=gen), 15) for b in range(n_tensors)],
              "W": [(0, torch.randn(1, 1, generator=gen), 1)]}
    return ArchStats(n_blocks=n_tensors, inputs=inputs, seconds={"build": 0.5})


def test_the_wire_form_holds_no_tensor_and_gives_the_same_statistics_back():
    stats = _stats(400)
    wire = _to_wire(stats)
    assert all(isinstance(a, np.ndarray) for v in wire.inputs.values() for _, a, _ in v)
    assert b"torch" not in pickle.dumps(wire)  # pickled by value: no storage handle
    arch_id, back, error, seconds = _from_wire(("a", pickle.loads(pickle.dumps(wire)), "", 1.0))
    assert (arch_id, error, seconds) == ("a", "", 1.0)
    assert stats_digest(back) == stats_digest(stats)
    assert back.seconds == stats.seconds and back.n_blocks == stats.n_blocks


def test_a_failed_architecture_crosses_as_none():
    assert _to_wire(None) is None
    assert _from_wire(("a", None, "out of memory", 0.0)) == ("a", None, "out of memory", 0.0)
