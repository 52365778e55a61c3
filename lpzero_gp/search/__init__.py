"""The proxy search: one (mu + lambda) loop over DEAP building blocks, with checkpoints.

``from lpzero_gp.search import Search, SearchConfig``; :mod:`.operators` holds DEAP's variation
and selection operators drawing from an explicit RNG, :mod:`.checkpoint` the resumable state.
"""

from __future__ import annotations

from lpzero_gp.search.checkpoint import (
    CHECKPOINT,
    CHECKPOINT_FORMAT,
    SearchState,
    checkpoint_info,
    load_checkpoint,
    save_checkpoint,
)
from lpzero_gp.search.config import SearchConfig
from lpzero_gp.search.loop import Search, evaluate_invalid, evolve, generation

__all__ = [
    "CHECKPOINT", "CHECKPOINT_FORMAT", "Search", "SearchConfig", "SearchState", "checkpoint_info",
    "evaluate_invalid", "evolve", "generation", "load_checkpoint", "save_checkpoint",
]
