"""The ``hf`` space: any Hugging Face transformers architecture, from a user benchmark file.

Records are transformers configs with a measured truth (:mod:`.records` documents the file).
Models are built from the config with eager attention and a seeded init (:mod:`.models`), and
their six inputs are read by the generic collector (:mod:`.collect`), which finds blocks,
attention and linear layers from the model's structure. The calibration batch follows the
file's kind: a BERT-style batch for masked-LM models, a next-token batch for causal LMs.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from lpzero_gp.errors import SpaceError

from ..base import BaselineSpec, CalibrationSpec, RawInputs, Record, Space
from .collect import collect_inputs
from .losses import CAUSAL_LM, DESCRIPTIONS, MASKED_LM, LossFn
from .models import Shape, build_model, measure, record_kind
from .records import FORMAT, load_benchmark
from .structure import BlockSpec

#: CPU default calibration batch (sequences x tokens) of both kinds.
BATCH_SIZE, SEQ_LEN = 8, 128
#: Version of this space's own model code (bumped by hand when it changes what it builds).
MODEL_CODE = "1"


class HfSpace(Space):
    """Transformers configs from a benchmark file (``--benchmark FILE``), one kind per file."""

    name = "hf"
    semantics = ("intended",)
    truth_label = "the benchmark file's truth (its truth_label and higher_is_better fields)"
    benchmark_format = FORMAT
    ships_benchmark = False
    feature_names = ("params", "layers", "hidden")
    group_feature = "layers"
    calibration = CalibrationSpec("lm", BATCH_SIZE, SEQ_LEN)
    baselines = BaselineSpec((2, 128), f"{__package__}.baseline_hooks")
    losses = {"intended": "masked-LM or causal-LM loss, by the file's kind"}

    def __init__(self) -> None:
        self.kind: str | None = None
        self.shapes: dict[str, Shape] = {}

    @property
    def code_version(self) -> str:  # type: ignore[override]
        """This space's model code version with the transformers version (it builds the
        models, and its releases may change what the same config initialises to)."""
        from transformers import __version__

        return f"{MODEL_CODE}+transformers-{__version__}"

    def load_records(self, path: str | None = None) -> list[Record]:
        """The records of a benchmark file; the space takes on its kind, truth and batch."""
        if path is None:
            raise SpaceError(f"the hf space ships no benchmark: give a benchmark file "
                             f"(benchmark=FILE, --benchmark FILE; {FORMAT})")
        bench = load_benchmark(path)
        self.kind, self.shapes = bench.kind, dict(bench.shapes)
        better = "higher" if bench.higher_is_better else "lower"
        stored = "" if bench.higher_is_better else "; stored negated, so higher is better"
        self.truth_label = f"{bench.truth_label} ({better} is better{stored})"
        self.higher_is_better = bench.higher_is_better
        self.losses = {"intended": DESCRIPTIONS[bench.kind]}
        shapes = bench.shapes.values()
        vocab = [s.vocab_size for s in shapes if s.vocab_size is not None]
        positions = [s.max_positions for s in shapes if s.max_positions is not None]
        self.calibration = CalibrationSpec(
            "bert" if bench.kind == MASKED_LM else "lm", BATCH_SIZE, SEQ_LEN,
            vocab_size=min(vocab) if vocab and bench.kind == CAUSAL_LM else None,
            max_seq_len=min(positions) if positions else None)
        return bench.records

    def _kind(self, record: Record) -> str:
        return self.kind or record_kind(record.id, record.config)

    def _shape(self, record: Record) -> Shape:
        if record.id not in self.shapes:
            self.shapes[record.id] = measure(record.id, record.config, self._kind(record))
        return self.shapes[record.id]

    def build(self, record: Record, variant: str, seed: int) -> nn.Module:
        """``AutoModelFor{MaskedLM,CausalLM}.from_config`` after ``torch.manual_seed(seed)``."""
        return build_model(record.id, record.config, self._kind(record), seed)

    def num_params(self, record: Record, variant: str) -> int:
        """Trainable parameters of the built model (embeddings included, tied ones once)."""
        return self._shape(record).params

    def features(self, record: Record, variant: str) -> dict[str, float]:
        """``params``, ``layers`` (blocks found in the model) and ``hidden`` (hidden_size)."""
        shape = self._shape(record)
        return {"params": float(shape.params), "layers": float(shape.layers),
                "hidden": float(shape.hidden)}

    def collect(self, model: torch.nn.Module, batch: dict[str, torch.Tensor],
                semantics: str = "intended") -> RawInputs:
        """The generic collector's six inputs (the model's head decides the loss)."""
        if semantics not in self.semantics:
            raise SpaceError(f"the hf space has only intended semantics, not {semantics!r}")
        return collect_inputs(model, batch)

    def collect_model(self, model: torch.nn.Module, batch: Mapping[str, torch.Tensor],
                      loss: str | LossFn | None = None, blocks: BlockSpec = None) -> RawInputs:
        """The six inputs of any transformer, not only of this space's records (the engine's
        ``collect_stats``): ``loss`` a name (``masked-lm``, ``causal-lm``), a callable
        ``(outputs, batch) -> scalar`` or None (by the model's head); ``blocks`` None (found
        from the structure), a dotted path or the block modules."""
        return collect_inputs(model, batch, loss=loss, blocks=blocks)

__all__ = ["HfSpace"]
