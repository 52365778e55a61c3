"""Resolve and validate a heterogeneous GPT-2 ``model_config`` into a frozen build config.

The benchmark stores the raw config of each architecture; this module applies the family's
resolution rules (cutoff cleaning, ``d_embed = -1``, ``tie_projs`` truncation, per-layer lists)
once, so that the model builder and the parameter counter work from the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lpzero_gp.errors import SpaceError
from lpzero_gp.jsonfile import finite

#: Cutoffs used when a record gives ``cutoffs: null`` (cleaned against the vocabulary).
DEFAULT_CUTOFFS: tuple[int, ...] = (19997, 39997, 199997)

#: Fields a record's ``model_config`` must carry; everything else has a documented default.
REQUIRED_FIELDS: tuple[str, ...] = (
    "n_layer",
    "d_model",
    "n_head",
    "d_inner",
    "n_token",
    "d_embed",
    "div_val",
    "tgt_len",
)

#: Defaults for optional fields (the values every benchmark record uses).
OPTIONAL_DEFAULTS: dict[str, Any] = {
    "cutoffs": None,
    "tie_weight": True,
    "tie_projs": None,
    "adaptive": True,
    "dropout": 0.1,
    "dropatt": 0.0,
    "weight_init_std": 0.02,
    "proj_init_std": 0.01,
    "primer_square": False,
}

#: Upper bounds of the integer fields: far above any GPT-2 trained (GPT-3 175B has 96 layers,
#: width 12,288, 49,152 inner units; real vocabularies stay below a million tokens), far below
#: sizes that overflow a tensor shape or a float.
LIMITS: dict[str, int] = {
    "n_layer": 1024,
    "d_model": 1 << 17,
    "d_embed": 1 << 17,
    "n_token": 1 << 23,
    "tgt_len": 1 << 20,
    "div_val": 1 << 10,
    "n_head": 1 << 14,
    "d_inner": 1 << 20,
}


@dataclass(frozen=True)
class FlexConfig:
    """A fully resolved heterogeneous GPT-2 config (cluster bounds and widths derived)."""

    n_layer: int
    d_model: int
    n_token: int
    d_embed: int
    div_val: int
    tgt_len: int
    n_head: tuple[int, ...]
    d_inner: tuple[int, ...]
    cutoffs: tuple[int, ...]
    tie_weight: bool
    tie_projs: tuple[bool, ...]
    dropout: float
    dropatt: float
    weight_init_std: float
    proj_init_std: float
    primer_square: bool

    @property
    def n_clusters(self) -> int:
        """Number of vocabulary clusters C (head cluster included)."""
        return len(self.cutoffs)

    @property
    def bounds(self) -> tuple[int, ...]:
        """Cluster boundaries ``(0, c_1, ..., c_C = V)``; cluster i is ``[b_i, b_{i+1})``."""
        return (0, *self.cutoffs)

    @property
    def cluster_sizes(self) -> tuple[int, ...]:
        """Number of token ids n_i in each cluster."""
        b = self.bounds
        return tuple(b[i + 1] - b[i] for i in range(self.n_clusters))

    @property
    def emb_dims(self) -> tuple[int, ...]:
        """Embedding width e_i of each cluster (all equal to e when div_val is 1)."""
        if self.div_val == 1:
            return (self.d_embed,) * self.n_clusters
        return tuple(self.d_embed // self.div_val**i for i in range(self.n_clusters))

    @property
    def has_projection(self) -> bool:
        """Whether the embedding owns projections (div_val > 1, or d_embed != d_model)."""
        return self.div_val > 1 or self.d_embed != self.d_model


def _shown(value: Any) -> str:
    """A value for a message, cut short (a number of hundreds of digits stays readable)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _int(cfg: Mapping[str, Any], key: str, minimum: int) -> int:
    """Read an integer field (booleans rejected) in ``minimum``..:data:`LIMITS`."""
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpaceError(f"{key} must be an integer, got {_shown(value)}")
    if value < minimum:
        raise SpaceError(f"{key} must be >= {minimum}, got {_shown(value)}")
    if value > LIMITS[key]:
        raise SpaceError(f"{key} must be <= {LIMITS[key]}, got {_shown(value)}")
    return value


def _float(cfg: Mapping[str, Any], key: str, low: float, high: float, low_open: bool) -> float:
    """Read a real field inside ``(low, high)`` or ``[low, high)``."""
    value = finite(cfg[key])
    if value is None:
        raise SpaceError(f"{key} must be a finite number, got {_shown(cfg[key])}")
    if value < low or (low_open and value == low) or value >= high:
        bracket = "(" if low_open else "["
        raise SpaceError(f"{key} must be in {bracket}{low}, {high}), got {value}")
    return value


def _bool(cfg: Mapping[str, Any], key: str) -> bool:
    """Read a boolean field."""
    value = cfg[key]
    if not isinstance(value, bool):
        raise SpaceError(f"{key} must be true or false, got {value!r}")
    return value


def _per_layer(cfg: Mapping[str, Any], key: str, n_layer: int) -> tuple[int, ...]:
    """A scalar repeated per layer, or a list with exactly one positive integer per layer."""
    value = cfg[key]
    items = list(value) if isinstance(value, list | tuple) else [value] * n_layer
    if len(items) != n_layer:
        raise SpaceError(f"{key} has {len(items)} entries but n_layer is {n_layer}")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise SpaceError(f"{key} entries must be positive integers, got {_shown(item)}")
        if item > LIMITS[key]:
            raise SpaceError(f"{key} entries must be <= {LIMITS[key]}, got {_shown(item)}")
    return tuple(items)


def clean_cutoffs(raw: Sequence[int] | None, n_token: int) -> tuple[int, ...]:
    """Effective cluster boundaries ``c_1 < ... < c_C = V`` from a raw cutoff list.

    Keeps the first entry and every later one up to the first entry above V, clamps a first
    entry above V to V and appends V when missing; ``None`` means the LTS default cutoffs.
    """
    if raw is None:
        raw = DEFAULT_CUTOFFS
    if not isinstance(raw, list | tuple):
        raise SpaceError(f"cutoffs must be a list of integers, got {raw!r}")
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int):
            raise SpaceError(f"cutoffs must be integers, got {_shown(item)}")
    if not raw:
        return (n_token,)
    kept = [raw[0]]
    for item in raw[1:]:
        if item > n_token:
            break
        kept.append(item)
    if kept[0] < 1:
        raise SpaceError(f"cutoffs must be positive, got {_shown(list(raw))}")
    if any(b <= a for a, b in zip(kept, kept[1:], strict=False)):
        raise SpaceError(f"cutoffs must be strictly increasing, got {_shown(list(raw))}")
    if kept[-1] > n_token:
        kept[-1] = n_token
    if kept[-1] < n_token:
        kept.append(n_token)
    return tuple(kept)


def _tie_projs(raw: Any, n_clusters: int, adaptive: bool) -> tuple[bool, ...]:
    """``tie_projs`` cut to the cluster count; null or empty gives ``[not adaptive, True, ...]``."""
    if raw is None or (isinstance(raw, list | tuple) and not raw):
        return (not adaptive,) + (True,) * (n_clusters - 1)
    if not isinstance(raw, list | tuple) or not all(isinstance(x, bool) for x in raw):
        raise SpaceError(f"tie_projs must be a list of booleans, got {raw!r}")
    if len(raw) < n_clusters:
        raise SpaceError(f"tie_projs has {len(raw)} entries but there are {n_clusters} clusters")
    return tuple(raw[:n_clusters])


def resolve_config(model_config: Any) -> FlexConfig:
    """Validate a record's ``model_config`` and resolve it; SpaceError names the problem."""
    if not isinstance(model_config, Mapping):
        raise SpaceError(f"model_config must be an object, got {type(model_config).__name__}")
    missing = [key for key in REQUIRED_FIELDS if key not in model_config]
    if missing:
        raise SpaceError(f"model_config is missing field(s): {', '.join(missing)}")
    cfg = {**OPTIONAL_DEFAULTS, **model_config}

    n_layer = _int(cfg, "n_layer", 1)
    d_model = _int(cfg, "d_model", 1)
    n_token = _int(cfg, "n_token", 1)
    tgt_len = _int(cfg, "tgt_len", 1)
    div_val = _int(cfg, "div_val", 1)
    d_embed = _int(cfg, "d_embed", -1)
    if d_embed == 0:
        raise SpaceError("d_embed must be -1 (use d_model) or a positive integer, got 0")
    if d_embed == -1:
        d_embed = d_model
    n_head = _per_layer(cfg, "n_head", n_layer)
    d_inner = _per_layer(cfg, "d_inner", n_layer)
    for layer, heads in enumerate(n_head):
        if d_model % heads:
            raise SpaceError(f"d_model {d_model} is not divisible by n_head[{layer}] = {heads}")

    cutoffs = clean_cutoffs(cfg["cutoffs"], n_token)
    adaptive = _bool(cfg, "adaptive")
    tie_projs = _tie_projs(cfg["tie_projs"], len(cutoffs), adaptive)
    resolved = FlexConfig(
        n_layer=n_layer,
        d_model=d_model,
        n_token=n_token,
        d_embed=d_embed,
        div_val=div_val,
        tgt_len=tgt_len,
        n_head=n_head,
        d_inner=d_inner,
        cutoffs=cutoffs,
        tie_weight=_bool(cfg, "tie_weight"),
        tie_projs=tie_projs,
        dropout=_float(cfg, "dropout", 0.0, 1.0, low_open=False),
        dropatt=_float(cfg, "dropatt", 0.0, 1.0, low_open=False),
        weight_init_std=_float(cfg, "weight_init_std", 0.0, math.inf, low_open=True),
        proj_init_std=_float(cfg, "proj_init_std", 0.0, math.inf, low_open=True),
        primer_square=_bool(cfg, "primer_square"),
    )
    if min(resolved.emb_dims) < 1:
        raise SpaceError(
            f"d_embed {d_embed} with div_val {div_val} gives a zero embedding width for "
            f"{len(cutoffs)} clusters {resolved.emb_dims}"
        )
    return resolved

__all__ = ["FlexConfig", "clean_cutoffs", "resolve_config"]
