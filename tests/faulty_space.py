"""Plugin-like spaces that fail: one with a bug in ``collect``, one that refuses architectures.

Module level (and importable by spawned workers: the tests folder and ``tests/plugin`` are on
their path), built on the toy plugin space of ``tests/plugin``.
"""

from __future__ import annotations

import sys
from pathlib import Path

PLUGIN = Path(__file__).resolve().parent / "plugin"
if str(PLUGIN) not in sys.path:
    sys.path.append(str(PLUGIN))

from toyspace import ToySpace  # noqa: E402

from lpzero_gp.errors import SpaceError  # noqa: E402

#: The record whose statistics the buggy space cannot collect.
BUGGY = "toy-2-16-64"
#: Records the refusing space refuses (SpaceError), runs out of memory on (MemoryError, and
#: torch's CPU allocator message).
REFUSED, NO_MEMORY, NO_TORCH_MEMORY = "toy-1-32-64", "toy-2-32-128", "toy-3-16-32"


class BuggySpace(ToySpace):
    """The toy space with a bug in ``collect`` that shows on one architecture."""

    name = "buggy"

    def build(self, record, variant, seed):
        model = super().build(record, variant, seed)
        model.record_id = record.id
        return model

    def collect(self, model, batch, semantics="intended"):
        if model.record_id == BUGGY:
            return {"A": []}["H"]  # a bug: KeyError
        return super().collect(model, batch, semantics)



class BuggyCountSpace(ToySpace):
    """The toy space with a bug in its parameter count (met by the feature baselines)."""

    name = "buggy-count"

    def num_params(self, record, variant):
        if record.id == BUGGY:
            raise KeyError("depth")
        return super().num_params(record, variant)


class RefusingSpace(ToySpace):
    """The toy space refusing one architecture and running out of memory on two."""

    name = "refusing"

    def build(self, record, variant, seed):
        if record.id == REFUSED:
            raise SpaceError(f"record {record.id}: too wide for this space")
        if record.id == NO_MEMORY:
            raise MemoryError
        if record.id == NO_TORCH_MEMORY:
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't "
                               "allocate memory: you tried to allocate 40000000000000 bytes")
        return super().build(record, variant, seed)


class RefusingCountSpace(ToySpace):
    """The toy space refusing to count one architecture and running out of memory on one."""

    name = "refusing-count"

    def num_params(self, record, variant):
        if record.id == REFUSED:
            raise SpaceError(f"record {record.id}: too wide for this space")
        if record.id == NO_MEMORY:
            raise MemoryError
        return super().num_params(record, variant)
