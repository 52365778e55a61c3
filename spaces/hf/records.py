"""The ``hf`` benchmark file: transformers configs with a measured truth, one kind per file.

```json
{"truth_label": "validation perplexity", "higher_is_better": false,
 "task": "causal-lm",
 "records": [{"id": "gpt2-2x64",
              "config": {"model_type": "gpt2", "n_layer": 2, "n_embd": 64, "n_head": 4},
              "truth": 41.3}]}
```

``records`` and ``higher_is_better`` are required (the direction of a metric is never
guessed); ``truth_label`` names the metric; ``task`` (``masked-lm`` or ``causal-lm``) is optional:
without it each model type's head decides, and a file may not mix the two kinds, because one
calibration batch serves the whole file. Every record must be buildable: a config transformers
refuses is an error naming the record, not a silent skip, since it is the user's own file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lpzero_gp.errors import SpaceError
from lpzero_gp.jsonfile import finite, read_json

from ..base import Record, check_records
from .models import Shape, check_model_type, measure, record_kind

#: The format in a sentence (shown by ``lpzero-gp spaces``).
FORMAT = ('JSON object {"higher_is_better": bool, "truth_label": str, "task": '
          '"masked-lm"|"causal-lm" (optional), "records": [{"id", "config": {"model_type", '
          '...transformers config fields}, "truth": number}]}')

#: Upper bounds of the size fields of a config, by the names transformers' model types use:
#: far above any released model (GPT-3: 96 layers, width 12,288; vocabularies below a million
#: tokens; rotary contexts of ten million positions), far below what a build cannot survive.
SIZE_LIMITS: dict[str, int] = {
    **dict.fromkeys(("num_hidden_layers", "n_layer", "n_layers", "num_layers"), 1024),
    **dict.fromkeys(("hidden_size", "n_embd", "d_model", "dim"), 1 << 17),
    **dict.fromkeys(("intermediate_size", "n_inner", "ffn_dim", "d_ff", "hidden_dim"), 1 << 20),
    **dict.fromkeys(("num_attention_heads", "n_head", "n_heads", "num_heads",
                     "num_key_value_heads", "head_dim"), 1 << 14),
    "vocab_size": 1 << 23,
    **dict.fromkeys(("max_position_embeddings", "n_positions", "n_ctx"), 1 << 27),
}
#: Largest integer any config field may hold (exact as a float).
MAX_INT = 1 << 53


@dataclass(frozen=True)
class Benchmark:
    """A parsed benchmark file: its records (truth higher-is-better) and what they share."""

    records: list[Record]
    kind: str
    truth_label: str
    higher_is_better: bool
    shapes: dict[str, Shape]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_numbers(rid: str, value: Any, where: str = "config") -> None:
    """Every number of a config finite and of sane size, every size field positive and below
    :data:`SIZE_LIMITS`; SpaceError names the record and the field."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            field = f"{where}.{key}"
            if (key in SIZE_LIMITS and where == "config" and isinstance(item, int)
                    and not isinstance(item, bool)
                    and not 1 <= item <= SIZE_LIMITS[key]):
                raise SpaceError(f"record {rid}: {field} must be an integer in "
                                 f"1..{SIZE_LIMITS[key]}, got {_shown(item)}")
            _check_numbers(rid, item, field)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_numbers(rid, item, f"{where}[{index}]")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if finite(value) is None or (isinstance(value, int) and abs(value) > MAX_INT):
            raise SpaceError(f"record {rid}: {where} must be a finite number of sane size, "
                             f"got {_shown(value)}")


def _header(data: Any, path: str) -> tuple[list, bool, str, str | None]:
    """(records, higher_is_better, truth_label, task) of the file's top level."""
    if not isinstance(data, Mapping):
        raise SpaceError(f"{path}: expected a JSON object with 'records' and "
                         f"'higher_is_better', got a {type(data).__name__}")
    records, higher = data.get("records"), data.get("higher_is_better")
    if not isinstance(records, list) or not records:
        raise SpaceError(f"{path}: 'records' must be a non-empty list")
    if not isinstance(higher, bool):
        raise SpaceError(f"{path}: 'higher_is_better' must be true or false (is a higher "
                         "truth better?)")
    label = data.get("truth_label", "truth")
    if not isinstance(label, str) or not label.strip():
        raise SpaceError(f"{path}: 'truth_label' must be a non-empty string")
    task = data.get("task")
    if task is not None and not isinstance(task, str):
        raise SpaceError(f"{path}: 'task' must be \"masked-lm\" or \"causal-lm\"")
    return records, higher, label.strip(), task


def _record(index: int, raw: Any, higher: bool) -> Record:
    if not isinstance(raw, Mapping):
        raise SpaceError(f"record #{index}: expected an object, got {type(raw).__name__}")
    rid = raw.get("id")
    if isinstance(rid, bool) or not isinstance(rid, str | int) or not str(rid).strip():
        raise SpaceError(f"record #{index}: 'id' must be a non-empty string or an integer")
    rid = str(rid)
    check_model_type(rid, raw.get("config"))
    _check_numbers(rid, raw["config"])
    truth = finite(raw.get("truth"))
    if truth is None:
        raise SpaceError(f"record {rid}: 'truth' must be a finite number, got "
                         f"{_shown(raw.get('truth'))}")
    return Record(rid, dict(raw["config"]), truth if higher else -truth, dict(raw))


def _one_kind(records: list[Record], task: str | None, path: str) -> str:
    """The file's kind; SpaceError when it mixes masked-LM and causal-LM records."""
    kinds: dict[str, list[str]] = {}
    for r in records:
        kinds.setdefault(record_kind(r.id, r.config, task), []).append(r.id)
    if len(kinds) > 1:
        parts = [f"{kind} ({', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''})"
                 for kind, ids in sorted(kinds.items())]
        raise SpaceError(f"{path} mixes {' and '.join(parts)} records; one file holds one "
                         "kind, because one calibration batch serves it")
    return next(iter(kinds))


def load_benchmark(path: str) -> Benchmark:
    """The validated benchmark of ``path``; SpaceError names the first problem."""
    rows, higher, label, task = _header(read_json(path, "benchmark file"), path)
    records = [_record(index, raw, higher) for index, raw in enumerate(rows)]
    kind = _one_kind(records, task, path)
    records = check_records(records, path, space="hf")
    shapes = {r.id: measure(r.id, r.config, kind) for r in records}
    return Benchmark(records, kind, label, higher, shapes)

__all__ = ["FORMAT", "load_benchmark"]
