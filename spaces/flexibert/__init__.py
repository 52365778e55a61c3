"""FlexiBERT search space (NAS-Bench-BERT, GLUE): reference and as-trained encoders."""

from .space import FlexibertSpace

__all__ = ["FlexibertSpace"]
