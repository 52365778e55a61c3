"""What the commands do, as plain functions on typed options: run, eval, baselines, ablate,
subnets. They return values and raise typed errors; printing is the command line's."""

__all__ = []
