"""The ``gpt2`` space: LTS heterogeneous GPT-2 models ranked by WikiText-103 perplexity.

Ground-truth sign convention: ``Record.truth = -valid_ppl``, so higher truth is better (lower
perplexity). ``Record.raw`` keeps the untouched record, including ``valid_ppl``, ``test_ppl``
and the benchmark's ``params`` buckets.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import torch

from lpzero_gp.errors import SpaceError
from lpzero_gp.jsonfile import finite, read_json

from ..base import (
    BaselineSpec,
    CalibrationSpec,
    RawInputs,
    Record,
    Space,
    check_benchmark_file,
    check_record_count,
    check_records,
)
from . import published
from .config import FlexConfig, resolve_config
from .inputs import collect_inputs
from .model import build_model
from .params import analytic_params

#: How ``Record.truth`` is derived from a benchmark record (higher is better).
TRUTH_CONVENTION = "truth = -valid_ppl (negative validation perplexity; higher is better)"
PACKAGED_FILE = "gpt2_wt103.json"
#: Calibration defaults of the LPZero GPT-2 runs: 16 sequences of tgt_len = 192 tokens.
DEFAULT_BATCH_SIZE = 16
DEFAULT_SEQ_LEN = 192
#: Vocabulary size of every benchmark record (the WikiText-103 byte-level BPE).
VOCAB_SIZE = 50264


def _is_perplexity(value: Any) -> bool:
    """Whether ``value`` is a usable perplexity: a positive finite real number."""
    number = finite(value)
    return number is not None and number > 0


def _record_from_json(item: Any) -> Record:
    """One validated Record from a JSON object; SpaceError describes what is wrong."""
    if not isinstance(item, dict):
        raise SpaceError(f"is a {type(item).__name__}, not an object")
    for key in ("id", "model_config", "valid_ppl"):
        if key not in item:
            raise SpaceError(f"missing field '{key}'")
    rid = item["id"]
    if isinstance(rid, bool) or not isinstance(rid, str | int) or str(rid) == "":
        raise SpaceError(f"id must be a non-empty string or integer, got {rid!r}")
    rid = str(rid)
    for key in ("valid_ppl", "test_ppl"):
        if key in item and not _is_perplexity(item[key]):
            raise SpaceError(f"{key} must be a positive finite number, got {_shown(item[key])}")
    resolve_config(item["model_config"])
    return Record(
        id=rid,
        config=dict(item["model_config"]),
        truth=-float(item["valid_ppl"]),
        raw=dict(item),
    )


def _shown(value: Any) -> str:
    """A value for a message, cut short (a number of hundreds of digits stays readable)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _label(item: Any, position: int) -> str:
    """How a record is named in messages: its id if it has a usable one, else its position."""
    if isinstance(item, dict) and isinstance(item.get("id"), str | int):
        return repr(str(item["id"]))
    return f"#{position}"


def _read_records(path: str | Path | None
                  ) -> tuple[list[Record], list[tuple[str, str]], list[str | None], str]:
    """(records, skipped (label, reason), every record's id or None, source name) of a file."""
    if path is None:
        name = PACKAGED_FILE
        data = read_json(resources.files(__package__).joinpath("data", PACKAGED_FILE),
                         "packaged gpt2 benchmark")
    else:
        name = str(path)
        check_benchmark_file(path, "gpt2 benchmark file")
        data = read_json(path, "gpt2 benchmark file")
    if not isinstance(data, list):
        raise SpaceError(f"gpt2 benchmark file {name} must hold a JSON list of records")
    check_record_count(len(data), name)
    records: list[Record] = []
    skipped: list[tuple[str, str]] = []
    ids: list[str | None] = []
    for position, item in enumerate(data):
        rid = item.get("id") if isinstance(item, dict) else None
        usable = not isinstance(rid, bool) and isinstance(rid, str | int) and str(rid) != ""
        ids.append(str(rid) if usable else None)
        try:
            records.append(_record_from_json(item))
        except SpaceError as err:
            skipped.append((_label(item, position), str(err)))
    if not records:
        detail = (f" (first problem: gpt2 record {skipped[0][0]} skipped: {skipped[0][1]})"
                  if skipped else "")
        raise SpaceError(f"gpt2 benchmark file {name} has no usable record{detail}")
    return records, skipped, ids, name


def load_records_with_errors(path: str | Path | None = None) -> tuple[list[Record], list[str]]:
    """Records of a benchmark file plus one message per skipped record.

    ``path=None`` loads the packaged LTS sample. A file that cannot be read, is not JSON, is
    not a list of records, leaves no valid record, repeats an id or has a constant truth
    raises SpaceError.
    """
    records, skipped, ids, name = _read_records(path)
    check_records(records, name, space="gpt2", ids=ids)
    return records, [f"gpt2 record {label} skipped: {reason}" for label, reason in skipped]


#: What produces the gradients, per semantics.
LOSSES = {
    "intended": "mean LM loss (adaptive softmax), eval mode",
    "reference": "mean LM loss (adaptive softmax), train mode (dropout)",
}


class Gpt2Space(Space):
    """LTS heterogeneous GPT-2 family (200 architectures, WikiText-103 perplexity)."""

    name = "gpt2"
    variants = ("default",)
    default_variant = "default"
    truth_label = "negative validation perplexity (lower perplexity is better)"
    higher_is_better = False
    benchmark_format = ("JSON list of LTS records {id, config: {n_layer, d_model, n_head, "
                        "d_inner, d_embed, div_val, cutoffs, tgt_len, ...}, valid_ppl}; "
                        "truth = -valid_ppl")
    calibration = CalibrationSpec("lm", DEFAULT_BATCH_SIZE, DEFAULT_SEQ_LEN,
                                  vocab_size=VOCAB_SIZE)
    split_sizes = (50, 25, 125)
    baselines = BaselineSpec((2, 192), f"{__package__}.baseline_hooks", published.PAPER,
                             published.RECOMPUTED)
    losses = LOSSES
    feature_names = ("params", "decoder_params", "attn_params", "ffn_params", "layers", "d_model")
    group_feature = "layers"
    code_version = "1"

    def max_seq_len(self, records: list[Record] | None = None) -> int | None:
        """The smallest ``tgt_len`` of ``records``: each model's position table has that many
        rows, so no longer sequence can be fed to all of them (LM1B-style configs: 32)."""
        lengths = [resolve_config(r.config).tgt_len for r in records or ()]
        return min(lengths) if lengths else self.calibration.max_seq_len

    def load_records(self, path: str | None = None) -> list[Record]:
        """Packaged benchmark or a user file; broken records are skipped with one warning."""
        records, skipped, ids, name = _read_records(path)
        return check_records(records, name, space="gpt2", ids=ids, skipped=skipped)

    def _config(self, record: Record, variant: str) -> FlexConfig:
        """Resolved config of a record, after checking the variant name."""
        if variant not in self.variants:
            raise SpaceError(f"gpt2 has no variant {variant!r}; choose one of {self.variants}")
        try:
            return resolve_config(record.config)
        except SpaceError as err:
            raise SpaceError(f"gpt2 record {record.id!r}: {err}") from None

    def build(self, record: Record, variant: str = "default", seed: int = 0) -> torch.nn.Module:
        """``torch.manual_seed(seed)``, construct, then the family's explicit init pass."""
        return build_model(self._config(record, variant), seed=seed)

    def param_buckets(self, record: Record, variant: str = "default") -> dict[str, int]:
        """The five benchmark buckets (AdaEmb, Attn, FFN, nonembedding, total), analytically."""
        return analytic_params(self._config(record, variant))

    def num_params(self, record: Record, variant: str = "default") -> int:
        """Total distinct parameters, adaptive-softmax-owned ones included."""
        return self.param_buckets(record, variant)["total"]

    def features(self, record: Record, variant: str = "default") -> dict[str, float]:
        """Parameter buckets and shape numbers usable as trivial proxies."""
        cfg = self._config(record, variant)
        buckets = analytic_params(cfg)
        return {
            "params": buckets["total"],
            "decoder_params": buckets["nonembedding"],
            "attn_params": buckets["Attn"],
            "ffn_params": buckets["FFN"],
            "layers": cfg.n_layer,
            "d_model": cfg.d_model,
        }

    def collect(self, model: torch.nn.Module, batch: dict[str, torch.Tensor],
                semantics: str = "intended") -> RawInputs:
        """One forward + backward of the mean adaptive-softmax NLL; see :mod:`.inputs`."""
        return collect_inputs(model, batch, semantics)

__all__ = ["Gpt2Space", "TRUTH_CONVENTION", "load_records_with_errors"]
