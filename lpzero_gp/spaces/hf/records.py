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

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpzero_gp.errors import SpaceError

from ..base import Record
from .models import Shape, check_model_type, measure, record_kind

#: The format in a sentence (shown by ``lpzero-gp spaces``).
FORMAT = ('JSON object {"higher_is_better": bool, "truth_label": str, "task": '
          '"masked-lm"|"causal-lm" (optional), "records": [{"id", "config": {"model_type", '
          '...transformers config fields}, "truth": number}]}')


@dataclass(frozen=True)
class Benchmark:
    """A parsed benchmark file: its records (truth higher-is-better) and what they share."""

    records: list[Record]
    kind: str
    truth_label: str
    higher_is_better: bool
    shapes: dict[str, Shape]


def _read(path: str) -> Any:
    file = Path(path)
    if not file.is_file():
        raise SpaceError(f"benchmark file not found: {path}")
    try:
        return json.loads(file.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise SpaceError(f"cannot read benchmark file {path}: {err}") from None
    except json.JSONDecodeError as err:
        raise SpaceError(f"{path}: not valid JSON ({err.msg} at line {err.lineno}, "
                         f"column {err.colno})") from None


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
    truth = raw.get("truth")
    if isinstance(truth, bool) or not isinstance(truth, int | float) or not math.isfinite(truth):
        raise SpaceError(f"record {rid}: 'truth' must be a finite number, got {truth!r}")
    return Record(rid, dict(raw["config"]), float(truth) if higher else -float(truth),
                  dict(raw))


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
    rows, higher, label, task = _header(_read(path), path)
    records, seen = [], set()
    for index, raw in enumerate(rows):
        record = _record(index, raw, higher)
        if record.id in seen:
            raise SpaceError(f"record {record.id}: duplicate id")
        seen.add(record.id)
        records.append(record)
    kind = _one_kind(records, task, path)
    shapes = {r.id: measure(r.id, r.config, kind) for r in records}
    return Benchmark(records, kind, label, higher, shapes)
