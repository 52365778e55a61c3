"""Shared fixtures: one torch thread (small ops; avoids oversubscribing a shared CPU)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Run every test module with one intra-op thread and restore the setting afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def supernet():
    """The tiny LLaMA elastic-LoRA super-network, built once per session."""
    from lpzero_gp.spaces.llama import LonasSupernet

    return LonasSupernet.build("tiny", seed=0)
