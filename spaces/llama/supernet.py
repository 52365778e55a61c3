"""The LoNAS super-network: a ``LlamaForCausalLM`` with peft LoRA adapters and elastic slicing.

Adapters sit on q/k/v/up/gate/down (``o_proj`` has none). Every base and adapter Linear that an
elastic group cuts is made an :class:`ElasticLinear` in place, so activating a sub-network only
sets slice widths: no weight is copied, masked or re-allocated.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lpzero_gp.atomic import atomic_text
from lpzero_gp.errors import SpaceError
from lpzero_gp.jsonfile import read_json

from . import checkpoints
from .elastic import ElasticLinear, active_bias, active_weight, make_elastic
from .space import RANK_RATIOS, TARGET_MODULES, LonasSpace, Subnet, default_rank

#: The default "tiny" model: a randomly initialised 4-layer Llama that runs in seconds on CPU.
#: Intermediate 176 keeps LLaMA's 11008/4096 ratio and makes all five width ratios integral.
TINY_CONFIG: dict[str, Any] = {
    "vocab_size": 8192,
    "hidden_size": 64,
    "intermediate_size": 176,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 128,
    "tie_word_embeddings": False,
}
#: LoRA initialisations: ``nonzero`` keeps the default nn.Linear init on lora_A and lora_B (so
#: ranks matter on a random network); ``zero`` is peft's default (lora_B = 0, adapters are no-ops).
LORA_INITS: tuple[str, ...] = ("nonzero", "zero")
DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "float32": torch.float32,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "fp16": torch.float16,
    "float16": torch.float16,
}
#: Which Linear modules of a layer feed the W/G inputs: base weights, adapter matrices, or both.
MODULE_SETS: tuple[str, ...] = ("all", "base", "adapters")
ADAPTER = "default"


def resolve_dtype(name: str) -> torch.dtype:
    """``fp32`` / ``bf16`` / ``fp16`` to a torch dtype; SpaceError otherwise."""
    try:
        return DTYPES[name.lower()]
    except KeyError:
        raise SpaceError(f"unknown dtype {name!r} (use fp32, bf16 or fp16)") from None


def resolve_device(name: str) -> torch.device:
    """A torch device, refusing CUDA when it is not available."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SpaceError(f"unknown device {name!r} (use cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SpaceError(f"device {name!r} was asked for but CUDA is not available")
    return device


def tiny_config(**overrides: Any) -> Any:
    """The tiny ``LlamaConfig`` (eager attention so attention probabilities can be read)."""
    from transformers import LlamaConfig

    kwargs = {**TINY_CONFIG, **overrides}
    return LlamaConfig(attn_implementation="eager", **kwargs)


def build_base(
    model: str, seed: int, dtype: torch.dtype = torch.float32, device: str | None = None,
    model_cache: str | Path | None = None,
) -> nn.Module:
    """``tiny`` (seeded random init), ``smollm2``, a checkpoint folder or a ``.gguf`` file.

    See :mod:`.checkpoints` for where each comes from; ``model_cache`` is the folder where a
    GGUF file's conversion is kept (None: converted on every load).
    """
    from transformers import LlamaForCausalLM

    if model == "tiny":
        torch.manual_seed(seed)
        base = LlamaForCausalLM(tiny_config())
        return base.to(dtype)
    torch.manual_seed(seed)
    return checkpoints.load_model(checkpoints.resolve(model, model_cache), dtype, device)


def _load_adapter(base: nn.Module, path: Path, r_max: int | None) -> tuple[nn.Module, Any]:
    """``base`` with a trained super-adapter from a peft folder (six targets, one rank)."""
    from peft import PeftModel

    if not (path / "adapter_config.json").is_file():
        raise SpaceError(f"{path} is not a peft adapter directory")
    try:
        peft_model = PeftModel.from_pretrained(base, str(path), is_trainable=True)
    except (OSError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0]
        raise SpaceError(f"cannot load adapter {path}: {first}") from exc
    lcfg = peft_model.peft_config[ADAPTER]
    if getattr(lcfg, "rank_pattern", None):
        raise SpaceError("the adapter uses per-module ranks; a super-adapter has one r")
    targets = lcfg.target_modules or ()
    if isinstance(targets, str):  # a regex over module names
        missing = {t for t in TARGET_MODULES if t not in targets}
    else:
        missing = set(TARGET_MODULES) - set(targets)
    if missing:
        raise SpaceError(f"the adapter lacks LoNAS targets: {', '.join(sorted(missing))}")
    if r_max is not None and r_max != lcfg.r:
        raise SpaceError(f"space option lora_r={r_max} differs from the adapter's rank {lcfg.r}")
    return peft_model, lcfg


def _fresh_adapter(base: nn.Module, r: int, lora_init: str, dropout: float, seed: int
                   ) -> tuple[nn.Module, Any]:
    """``base`` with a fresh rank-``r`` super-adapter (alpha = 2 r, as LoNAS)."""
    from peft import LoraConfig, get_peft_model

    if r < 1:
        raise SpaceError(f"LoRA rank must be at least 1, got {r}")
    lcfg = LoraConfig(r=r, lora_alpha=2 * r, target_modules=list(TARGET_MODULES),
                      lora_dropout=dropout, bias="none", task_type="CAUSAL_LM",
                      init_lora_weights=(lora_init == "zero"))
    torch.manual_seed(seed + 1)
    return get_peft_model(base, lcfg), lcfg


#: File beside a super-adapter's peft files that records its elastic rank choices.
SPACE_FILE = "lonas_space.json"


def adapter_rank_ratios(adapter: str | Path) -> tuple[float, ...]:
    """The rank ratios a super-adapter was trained with (LoNAS's 1 and 0.875 if unrecorded)."""
    path = Path(adapter) / SPACE_FILE
    if not path.is_file():
        return RANK_RATIOS
    try:
        ratios = tuple(float(x) for x in read_json(path, "super-adapter space file")["rank_ratios"])
    except (OSError, ValueError, KeyError, TypeError):
        raise SpaceError(f"{path} is damaged: expected {{\"rank_ratios\": [1.0, ...]}}") from None
    if not ratios or ratios[0] != 1.0 or not all(0 < x <= 1 for x in ratios):
        raise SpaceError(f"{path}: rank ratios must start at 1.0 and lie in (0, 1]")
    return ratios


def save_space_file(folder: str | Path, rank_ratios: tuple[float, ...]) -> None:
    """Record a super-adapter's rank ratios beside its peft files."""
    atomic_text(Path(folder) / SPACE_FILE, json.dumps({"rank_ratios": list(rank_ratios)}) + "\n")


class LonasSupernet:
    """A peft-wrapped Llama whose elastic groups can be activated by slicing.

    ``model`` is the ``PeftModel``; ``space`` the group table derived from the model's config.
    The maximal network is active after construction and on exit of :meth:`active`.
    """

    def __init__(self, model: nn.Module, space: LonasSpace, meta: dict[str, Any] | None = None):
        self.model = model
        self.space = space
        self.meta: dict[str, Any] = dict(meta or {})
        self.layers: list[nn.Module] = list(self._decoder().layers)
        if len(self.layers) != space.dims.num_layers:
            raise SpaceError("model and space disagree on the number of layers")
        self._targets: dict[str, dict[str, nn.Module]] = {}
        for path in self._target_paths():
            self._targets[path] = self._make_target_elastic(path)
        self._config: Subnet = space.maximal()
        self.activate(self._config)

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        model: str = "tiny",
        seed: int = 0,
        r_max: int | None = None,
        lora_init: str = "nonzero",
        tie_ranks: bool = False,
        device: str = "cpu",
        dtype: str = "fp32",
        adapter: str | None = None,
        lora_dropout: float = 0.1,
        rank_ratios: tuple[float, ...] | None = None,
        model_cache: str | Path | None = None,
    ) -> LonasSupernet:
        """Base model (``tiny`` or a local path) + LoRA super-adapter (fresh or from ``adapter``).

        A fresh adapter has rank ``r_max`` (default from the hidden size: 8 for tiny, 32 for
        LLaMA-7B), alpha = 2 r_max (scaling 2.0 as in LoNAS) and the given initialisation.
        ``model_cache``: where a GGUF base model's conversion is kept (:mod:`.checkpoints`).
        """
        if lora_init not in LORA_INITS:
            raise SpaceError(f"unknown LoRA init {lora_init!r} (use {' or '.join(LORA_INITS)})")
        torch_dtype = resolve_dtype(dtype)
        torch_device = resolve_device(device)
        base = build_base(model, seed, torch_dtype, str(torch_device), model_cache)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            if adapter is not None:
                peft_model, lcfg = _load_adapter(base, Path(adapter), r_max)
                init_label = f"loaded from {Path(adapter)}"
            else:
                r = int(r_max if r_max is not None else default_rank(int(base.config.hidden_size)))
                peft_model, lcfg = _fresh_adapter(base, r, lora_init, lora_dropout, seed)
                init_label = lora_init
        r = int(lcfg.r)
        if rank_ratios is None:
            rank_ratios = adapter_rank_ratios(adapter) if adapter is not None else RANK_RATIOS
        peft_model.to(torch_device)
        space = LonasSpace.from_model_config(base.config, r_max=r, tie_ranks=tie_ranks,
                                             rank_ratios=rank_ratios)
        meta = {
            "model": model,
            "seed": seed,
            "lora_r": r,
            "lora_alpha": float(lcfg.lora_alpha),
            "lora_init": init_label,
            "rank_values": list(space.rank_values),
            "device": str(torch_device),
            "dtype": str(torch_dtype).replace("torch.", ""),
        }
        return cls(peft_model, space, meta)

    def _decoder(self) -> nn.Module:
        """The ``LlamaModel`` (decoder stack) inside the peft wrapper."""
        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        inner = getattr(base, "model", None)
        if inner is None or not hasattr(inner, "layers"):
            raise SpaceError("could not find the decoder layers of the model (not a Llama?)")
        return inner

    def _target_paths(self) -> list[str]:
        return [
            f"{layer}.{block}.{proj}"
            for layer in range(self.space.dims.num_layers)
            for block, proj in [("self_attn", p) for p in ("q_proj", "k_proj", "v_proj")]
            + [("mlp", p) for p in ("gate_proj", "up_proj", "down_proj")]
        ]

    def _make_target_elastic(self, path: str) -> dict[str, nn.Module]:
        layer, block, proj = path.split(".")
        lora_layer = getattr(getattr(self.layers[int(layer)], block), proj)
        if not hasattr(lora_layer, "lora_A") or ADAPTER not in lora_layer.lora_A:
            raise SpaceError(f"layer {layer} {proj} has no LoRA adapter {ADAPTER!r}")
        return {
            "layer": lora_layer,
            "base": make_elastic(lora_layer.base_layer),
            "A": make_elastic(lora_layer.lora_A[ADAPTER]),
            "B": make_elastic(lora_layer.lora_B[ADAPTER]),
        }

    # ------------------------------------------------------------------ activation
    @property
    def config(self) -> Subnet:
        """The currently active sub-network."""
        return self._config

    def activate(self, config: Subnet) -> None:
        """Set every elastic slice to ``config`` (validated; other configs are left untouched)."""
        config = self.space.validate(config)
        for layer, (a, w, m) in enumerate(self.space.per_layer(config)):
            t = self._targets
            for proj in ("q_proj", "k_proj", "v_proj"):
                mods = t[f"{layer}.self_attn.{proj}"]
                mods["A"].set_active(out=a)
                mods["B"].set_active(inp=a)
            for proj in ("gate_proj", "up_proj"):
                mods = t[f"{layer}.mlp.{proj}"]
                mods["base"].set_active(out=w)
                mods["A"].set_active(out=m)
                mods["B"].set_active(out=w, inp=m)
            down = t[f"{layer}.mlp.down_proj"]
            down["base"].set_active(inp=w)
            down["A"].set_active(inp=w)
        self._config = config

    @contextmanager
    def active(self, config: Subnet) -> Iterator[LonasSupernet]:
        """Activate ``config`` for the block; the maximal network is restored on exit."""
        self.activate(config)
        try:
            yield self
        finally:
            self.activate(self.space.maximal())

    # ------------------------------------------------------------------ modules and params
    def layer_linears(self, layer: int, modules: str = "all") -> list[tuple[str, nn.Module]]:
        """Linear modules of one decoder layer in registration order, filtered by module set.

        ``all``: base weights (q,k,v,o,gate,up,down) and adapter matrices (lora_A, lora_B);
        ``base``: base weights only; ``adapters``: lora_A / lora_B only. LoRA deltas are not
        merged into the base weights: each matrix is its own entry.
        """
        if modules not in MODULE_SETS:
            raise SpaceError(f"unknown module set {modules!r} (use {', '.join(MODULE_SETS)})")
        out = []
        for name, mod in self.layers[layer].named_modules():
            if not isinstance(mod, nn.Linear):
                continue
            is_adapter = ".lora_A." in name or ".lora_B." in name
            if modules == "base" and is_adapter or modules == "adapters" and not is_adapter:
                continue
            out.append((f"layers.{layer}.{name}", mod))
        return out

    def active_parameters(self, modules: str = "all") -> Iterator[tuple[str, torch.Tensor]]:
        """``(name, weight view)`` of every decoder-layer Linear, restricted to its active slice."""
        for layer in range(len(self.layers)):
            for name, mod in self.layer_linears(layer, modules):
                yield name, active_weight(mod)

    def count_active_params(self) -> int:
        """Parameters the active sub-network uses in its decoder-layer linears (biases included)."""
        total = 0
        for layer in range(len(self.layers)):
            for _, mod in self.layer_linears(layer, "all"):
                total += active_weight(mod).numel()
                bias = active_bias(mod)
                total += 0 if bias is None else bias.numel()
        return total

    def lora_parameters(self) -> list[nn.Parameter]:
        """Every adapter matrix (the trainable parameters of the super-adapter)."""
        return [
            mod.weight
            for layer in range(len(self.layers))
            for _, mod in self.layer_linears(layer, "adapters")
        ]

    def lora_state(self) -> list[torch.Tensor]:
        """A copy of the adapter matrices (small: restores them after short training)."""
        return [p.detach().clone() for p in self.lora_parameters()]

    def load_lora_state(self, state: list[torch.Tensor]) -> None:
        """Write back adapter matrices saved by :meth:`lora_state`."""
        with torch.no_grad():
            for p, saved in zip(self.lora_parameters(), state, strict=True):
                p.copy_(saved)

    @property
    def device(self) -> torch.device:
        """Device of the model's parameters."""
        return next(self.model.parameters()).device

    def elastic_modules(self) -> list[ElasticLinear]:
        """Every elastic Linear (for tests and diagnostics)."""
        return [m for m in self.model.modules() if isinstance(m, ElasticLinear)]

__all__ = [
    "DTYPES", "LORA_INITS", "LonasSupernet", "MODULE_SETS", "TINY_CONFIG", "adapter_rank_ratios",
    "build_base", "save_space_file", "tiny_config",
]
