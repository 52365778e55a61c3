"""LTS heterogeneous GPT-2 search space (adaptive embedding/softmax, per-layer heads and FFN)."""

from .space import TRUTH_CONVENTION, Gpt2Space, load_records_with_errors

__all__ = ["Gpt2Space", "TRUTH_CONVENTION", "load_records_with_errors"]
