"""The LoNAS elastic-LoRA search space: group table, sub-network configs and their flat encoding.

A sub-network is a tuple of ints, one value per elastic group, in the NNCF "overwrite groups"
order of the LoNAS configs: every attention-rank group (kind A) for layers 0..L-1, then every
MLP-width group (kind B), then every MLP-rank group (kind C). That flat tuple is immutable,
hashable, and is the cache key everywhere. Nothing here needs torch.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpzero_gp.atomic import atomic_text
from lpzero_gp.errors import SpaceError
from lpzero_gp.jsonfile import finite, loads_json

#: A sub-network: one value per group, in A-block, B-block, C-block order (the NNCF flat list).
Subnet = tuple[int, ...]

#: Group kinds: A = q/k/v adapter rank, B = MLP intermediate width, C = gate/up adapter rank.
KINDS: tuple[str, ...] = ("A", "B", "C")
#: Relative adapter ranks of the LoNAS release (32 and 28 of 32).
RANK_RATIOS: tuple[float, ...] = (1.0, 0.875)
#: Relative MLP widths of the LoNAS release (11008 down to 5504 of 11008).
WIDTH_RATIOS: tuple[float, ...] = (1.0, 0.875, 0.75, 0.625, 0.5)
#: peft target modules of the super-adapter (``o_proj`` carries no adapter).
TARGET_MODULES: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "up_proj",
    "gate_proj",
    "down_proj",
)


@dataclass(frozen=True)
class ModelDims:
    """The few sizes of a Llama config that the space and its cost model need."""

    num_layers: int
    hidden: int
    intermediate: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vocab: int
    tie_embeddings: bool = False
    attention_bias: bool = False
    mlp_bias: bool = False

    @property
    def q_dim(self) -> int:
        """Output width of ``q_proj`` (= input width of ``o_proj``)."""
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Output width of ``k_proj`` and ``v_proj``."""
        return self.num_kv_heads * self.head_dim

    @classmethod
    def from_config(cls, config: Any) -> ModelDims:
        """Read the sizes off a ``transformers.LlamaConfig`` (or anything with the same fields)."""
        heads = int(config.num_attention_heads)
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        return cls(
            num_layers=int(config.num_hidden_layers),
            hidden=int(config.hidden_size),
            intermediate=int(config.intermediate_size),
            num_heads=heads,
            num_kv_heads=int(getattr(config, "num_key_value_heads", None) or heads),
            head_dim=int(head_dim),
            vocab=int(config.vocab_size),
            tie_embeddings=bool(getattr(config, "tie_word_embeddings", False)),
            attention_bias=bool(getattr(config, "attention_bias", False)),
            mlp_bias=bool(getattr(config, "mlp_bias", False)),
        )


#: LLaMA-7B as used by the LoNAS release (32 layers, 4096 hidden, 11008 MLP, 32000 vocab).
LLAMA_7B = ModelDims(32, 4096, 11008, 32, 32, 128, 32000)
#: LLaMA-13B (40 layers, 5120 hidden, 13824 MLP).
LLAMA_13B = ModelDims(40, 5120, 13824, 40, 40, 128, 32000)


def default_rank(hidden: int) -> int:
    """Maximal adapter rank for a model width: 32 (LoNAS) for wide models, a multiple of 8 below.

    A multiple of 8 keeps the 0.875 rank ratio integral (8 -> 7, 16 -> 14, 32 -> 28).
    """
    return int(min(32, max(8, (hidden // 8) // 8 * 8)))


def scaled_values(full: int, ratios: Sequence[float]) -> tuple[int, ...]:
    """``round(full * ratio)`` for each ratio, largest first, deduplicated, all at least 1."""
    out: list[int] = []
    for ratio in ratios:
        value = max(1, int(round(full * ratio)))
        if value not in out:
            out.append(value)
    return tuple(sorted(out, reverse=True))


@dataclass(frozen=True)
class Group:
    """One elastic group: its kind, its layer, the modules it cuts and its allowed values."""

    kind: str
    layer: int
    values: tuple[int, ...]
    members: tuple[str, ...]

    @property
    def gid(self) -> str:
        """A readable id such as ``A3`` (attention rank of layer 3)."""
        return f"{self.kind}{self.layer}"


@dataclass(frozen=True)
class Dim:
    """One free choice of the search: the groups it sets (one, or A and C when ranks are tied)."""

    groups: tuple[int, ...]
    values: tuple[int, ...]


def _members(kind: str, layer: int) -> tuple[str, ...]:
    """peft module paths (relative to the Llama decoder stack) that a group cuts."""
    pre = f"layers.{layer}"
    if kind == "A":
        return tuple(f"{pre}.self_attn.{p}" for p in ("q_proj", "k_proj", "v_proj"))
    if kind == "B":
        return tuple(f"{pre}.mlp.{p}" for p in ("gate_proj", "up_proj", "down_proj"))
    return tuple(f"{pre}.mlp.{p}" for p in ("gate_proj", "up_proj"))


class LonasSpace:
    """The ordered group table of a LoNAS super-network and everything computed from it.

    ``tie_ranks`` makes kinds A and C of a layer one choice (the flat list keeps all 3L
    entries, with A_l == C_l enforced), which is how a "one rank per layer" count is obtained.
    """

    def __init__(
        self,
        dims: ModelDims,
        r_max: int | None = None,
        rank_ratios: Sequence[float] = RANK_RATIOS,
        width_ratios: Sequence[float] = WIDTH_RATIOS,
        tie_ranks: bool = False,
    ) -> None:
        self.dims = dims
        self.r_max = int(r_max if r_max is not None else default_rank(dims.hidden))
        if self.r_max < 1:
            raise SpaceError(f"LoRA rank must be at least 1, got {self.r_max}")
        self.tie_ranks = bool(tie_ranks)
        self.rank_values = scaled_values(self.r_max, rank_ratios)
        self.width_values = scaled_values(dims.intermediate, width_ratios)
        if self.rank_values[0] != self.r_max or self.width_values[0] != dims.intermediate:
            raise SpaceError("the first rank and width ratio must be 1.0 (the maximal network)")
        layers = range(dims.num_layers)
        self.groups: tuple[Group, ...] = tuple(
            Group(
                kind,
                layer,
                self.rank_values if kind != "B" else self.width_values,
                _members(kind, layer),
            )
            for kind in KINDS
            for layer in layers
        )
        n = dims.num_layers
        if self.tie_ranks:
            dims_list = [Dim((layer, 2 * n + layer), self.rank_values) for layer in layers]
            dims_list += [Dim((n + layer,), self.width_values) for layer in layers]
        else:
            dims_list = [Dim((i,), g.values) for i, g in enumerate(self.groups)]
        self.dims_table: tuple[Dim, ...] = tuple(dims_list)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_model_config(cls, config: Any, **kwargs: Any) -> LonasSpace:
        """The space of a ``LlamaConfig`` with the LoNAS value lists scaled to its sizes."""
        return cls(ModelDims.from_config(config), **kwargs)

    @classmethod
    def llama_7b(cls, tie_ranks: bool = False) -> LonasSpace:
        """The released LLaMA-7B commonsense space (96 groups, ranks 32/28, widths 11008..5504)."""
        return cls(LLAMA_7B, r_max=32, tie_ranks=tie_ranks)

    # ----------------------------------------------------------------- basic facts
    @property
    def num_groups(self) -> int:
        """Number of groups (3 per layer), i.e. the length of a flat config."""
        return len(self.groups)

    def size(self) -> int:
        """Number of distinct sub-networks: the product of the free choices' list lengths."""
        return math.prod(len(d.values) for d in self.dims_table)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary of the space (recorded in run metadata)."""
        return {
            "layers": self.dims.num_layers,
            "hidden": self.dims.hidden,
            "intermediate": self.dims.intermediate,
            "r_max": self.r_max,
            "rank_values": list(self.rank_values),
            "width_values": list(self.width_values),
            "tie_ranks": self.tie_ranks,
            "groups": self.num_groups,
            "size": str(self.size()),
            "order": "A (q/k/v rank) x L, B (MLP width) x L, C (gate/up rank) x L",
        }

    # ----------------------------------------------------------------- named sub-networks
    def _pick(self, position: str) -> Subnet:
        out = []
        for g in self.groups:
            if position == "max":
                out.append(g.values[0])
            elif position == "min":
                out.append(g.values[-1])
            else:
                out.append(g.values[(len(g.values) - 1) // 2])
        return tuple(out)

    def maximal(self) -> Subnet:
        """The largest value of every group (the full super-network)."""
        return self._pick("max")

    def heuristic(self) -> Subnet:
        """The value at position floor((len-1)/2) of every group (LoNAS's heuristic network)."""
        return self._pick("mid")

    def minimal(self) -> Subnet:
        """The smallest value of every group."""
        return self._pick("min")

    def named(self, name: str) -> Subnet:
        """``maximal`` / ``heuristic`` / ``minimal`` by name."""
        table = {"maximal": self.maximal, "heuristic": self.heuristic, "minimal": self.minimal}
        if name not in table:
            raise SpaceError(f"unknown sub-network name {name!r} (use {', '.join(table)})")
        return table[name]()

    # ----------------------------------------------------------------- encoding
    def validate(self, config: Sequence[Any]) -> Subnet:
        """Check a flat value list and return it as a Subnet; SpaceError names the bad entry."""
        if isinstance(config, str | bytes) or not isinstance(config, Sequence):
            raise SpaceError(f"a sub-network config must be a list of {self.num_groups} integers")
        if len(config) != self.num_groups:
            raise SpaceError(
                f"a sub-network config needs {self.num_groups} values (3 per layer), "
                f"got {len(config)}"
            )
        out = []
        for i, (value, group) in enumerate(zip(config, self.groups, strict=True)):
            number = finite(value)
            if not (isinstance(value, int) and not isinstance(value, bool)) and (
                    number is None or number != int(number)):
                text = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
                raise SpaceError(f"config entry {i} ({group.gid}) is not an integer: {text}")
            integer = value if isinstance(value, int) else int(number)
            if integer not in group.values:
                text = str(integer) if len(str(integer)) <= 40 else str(integer)[:37] + "..."
                raise SpaceError(
                    f"config entry {i} ({group.gid}) = {text} "
                    f"is not one of {list(group.values)}"
                )
            out.append(integer)
        if self.tie_ranks:
            n = self.dims.num_layers
            for layer in range(n):
                if out[layer] != out[2 * n + layer]:
                    raise SpaceError(
                        f"tied ranks: A{layer} = {out[layer]} differs from C{layer} = "
                        f"{out[2 * n + layer]}"
                    )
        return tuple(out)

    def encode(self, config: Sequence[int]) -> tuple[int, ...]:
        """Indices (one per free choice) of a config's values in their lists."""
        config = self.validate(config)
        return tuple(d.values.index(config[d.groups[0]]) for d in self.dims_table)

    def decode(self, indices: Sequence[int]) -> Subnet:
        """The config of an index vector (one index per free choice)."""
        if len(indices) != len(self.dims_table):
            raise SpaceError(f"expected {len(self.dims_table)} indices, got {len(indices)}")
        out = [0] * self.num_groups
        for i, (index, d) in enumerate(zip(indices, self.dims_table, strict=True)):
            if not 0 <= int(index) < len(d.values):
                raise SpaceError(f"index {i} = {index} is outside 0..{len(d.values) - 1}")
            for g in d.groups:
                out[g] = d.values[int(index)]
        return tuple(out)

    def sample(self, rng: random.Random) -> Subnet:
        """A uniformly random sub-network (uniform over each free choice)."""
        return self.decode([rng.randrange(len(d.values)) for d in self.dims_table])

    def sample_spread(self, rng: random.Random) -> Subnet:
        """A random sub-network whose choices cluster round a random level.

        A level ``u`` is drawn uniformly in [0, 1]; each choice's index is ``u`` times its
        largest index plus Gaussian noise (sd 0.75), rounded and clipped. Uniform sampling
        concentrates parameter counts near the middle of the range; this spreads them over it.
        """
        u = rng.random()
        idx = []
        for d in self.dims_table:
            top = len(d.values) - 1
            idx.append(min(top, max(0, round(u * top + rng.gauss(0.0, 0.75)))))
        return self.decode(idx)

    def sample_distinct(self, n: int, seed: int, include_named: bool = True) -> list[Subnet]:
        """``n`` distinct sub-networks (max/heuristic/min first if asked), seeded."""
        if n > self.size():
            raise SpaceError(f"asked for {n} sub-networks but the space has only {self.size()}")
        rng = random.Random(seed)
        out: list[Subnet] = []
        seen: set[Subnet] = set()
        if include_named:
            for c in (self.maximal(), self.heuristic(), self.minimal()):
                if c not in seen and len(out) < n:
                    seen.add(c)
                    out.append(c)
        while len(out) < n:
            c = self.sample(rng)
            if c not in seen:
                seen.add(c)
                out.append(c)
        return out

    def per_layer(self, config: Subnet) -> list[tuple[int, int, int]]:
        """``(attention rank, MLP width, MLP rank)`` of each layer."""
        n = self.dims.num_layers
        return [(config[i], config[n + i], config[2 * n + i]) for i in range(n)]

    # ----------------------------------------------------------------- NNCF-style lists
    def to_nncf_list(self, config: Sequence[int]) -> list[int]:
        """The flat NNCF "custom config" value list (A block, B block, C block)."""
        return list(self.validate(config))

    def to_nncf_dict(self, config: Sequence[int]) -> dict[str, dict[str, int]]:
        """The NNCF elasticity form ``{"width": {"0": v0, "1": v1, ...}}``."""
        return {"width": {str(i): v for i, v in enumerate(self.validate(config))}}

    def parse(self, obj: Any) -> Subnet:
        """A config from JSON data: a flat list, ``{"config": [...]}`` or ``{"width": {i: v}}``."""
        if isinstance(obj, Mapping):
            if "config" in obj:
                return self.parse(obj["config"])
            if "width" in obj and isinstance(obj["width"], Mapping):
                width = obj["width"]
                try:
                    keys = sorted(int(k) for k in width)
                except (TypeError, ValueError) as exc:
                    raise SpaceError("NNCF width keys must be group indices 0..N-1") from exc
                if keys != list(range(self.num_groups)):
                    raise SpaceError(f"NNCF width dict must have keys 0..{self.num_groups - 1}")
                lookup = {int(k): v for k, v in width.items()}
                return self.validate([lookup[i] for i in range(self.num_groups)])
            raise SpaceError("a config object needs a 'config' list or an NNCF 'width' dict")
        if isinstance(obj, list):
            return self.validate(obj)
        raise SpaceError(f"cannot read a sub-network config from {type(obj).__name__}")

    def read_config(self, path: str | Path) -> Subnet:
        """Read a config file: JSON (any form accepted by :meth:`parse`) or plain integers."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpaceError(f"cannot read config file {path}: {exc.strerror}") from exc
        stripped = text.strip()
        if stripped.startswith(("[", "{")):
            return self.parse(loads_json(stripped, str(path)))
        tokens = stripped.replace(",", " ").split()
        try:
            values = [int(t) for t in tokens]
        except ValueError as exc:
            raise SpaceError(f"{path}: expected integers separated by commas or spaces") from exc
        return self.validate(values)

    def write_config(self, path: str | Path, config: Sequence[int], fmt: str = "list") -> None:
        """Write a config as a JSON flat list (``fmt="list"``) or NNCF width dict (``"nncf"``)."""
        if fmt == "list":
            data: Any = self.to_nncf_list(config)
        elif fmt == "nncf":
            data = self.to_nncf_dict(config)
        else:
            raise SpaceError(f"unknown config format {fmt!r} (use list or nncf)")
        atomic_text(path, json.dumps(data) + "\n")

__all__ = [
    "LLAMA_13B", "LLAMA_7B", "LonasSpace", "ModelDims", "RANK_RATIOS", "Subnet", "TARGET_MODULES",
    "default_rank",
]
