"""The ``hf`` space and the generic collector: any Hugging Face transformers architecture."""

from .space import HfSpace

__all__ = ["HfSpace"]
