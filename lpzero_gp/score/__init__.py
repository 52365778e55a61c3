"""Scoring: proxies evaluated on stored statistics, rank-correlation fitness, baselines."""

__all__ = []
