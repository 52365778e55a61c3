"""Statistics of architectures: the calibration batch, extraction with a cache, compact storage."""

__all__ = []
