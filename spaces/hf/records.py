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
calibration batch serves the whole file. A record's ``config`` is the config object itself or a
path to one: a ``save_pretrained`` folder (its ``config.json``) or a JSON config file, a
relative path read from the benchmark file's folder; the config read is the record's config
(its statistics-cache key follows the file's content). Every record must be buildable: a config
transformers refuses is an error naming the record, not a silent skip, since it is the user's
own file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lpzero_gp.errors import SpaceError, env_limit
from lpzero_gp.jsonfile import finite, read_json

from ..base import (
    MAX_BENCHMARK_MB,
    MAX_BENCHMARK_MB_ENV,
    MAX_RECORDS,
    MAX_RECORDS_ENV,
    Record,
    check_benchmark_file,
    check_file_size,
    check_label,
    check_record_count,
    check_records,
)
from ..progress import bar as progress_bar
from .models import Shape, check_model_type, measure, record_kind

#: The format in a sentence (shown by ``lpzero-gp spaces``).
FORMAT = ('JSON object {"higher_is_better": bool, "truth_label": str, "task": '
          '"masked-lm"|"causal-lm" (optional), "records": [{"id", "config": {"model_type", '
          '...transformers config fields} or the path of a save_pretrained folder or a config '
          'JSON file (relative to the benchmark file), "truth": number}]}')
#: The file a ``save_pretrained`` folder keeps its config in.
CONFIG_FILE = "config.json"

#: Upper bounds of the size fields of a config, by the names transformers' model types use:
#: far above any released model (GPT-3: 96 layers, width 12,288; vocabularies below a million
#: tokens; rotary contexts of ten million positions), far below what a build cannot survive.
#: Every model source is checked against them before anything is built: the records of this
#: file, and the config of a checkpoint folder or a GGUF file (``check_config_sizes``).
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
#: Records read before a progress line shows (below this the file reads in seconds).
_PROGRESS_AFTER_S = 2.0


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


def _check_numbers(source: str, value: Any, where: str = "config",
                   sizes: tuple[str, ...] = ("config",)) -> None:
    """Every number of a config finite and of sane size, every size field (at the levels
    ``sizes`` names) positive and below :data:`SIZE_LIMITS`; SpaceError names the source
    and the field."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            field = f"{where}.{key}"
            if (key in SIZE_LIMITS and where in sizes and isinstance(item, int)
                    and not isinstance(item, bool)
                    and not 1 <= item <= SIZE_LIMITS[key]):
                raise SpaceError(f"{source}: {field} must be an integer in "
                                 f"1..{SIZE_LIMITS[key]}, got {_shown(item)} (far beyond "
                                 "any released model; refused before anything is built)")
            _check_numbers(source, item, field, sizes)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_numbers(source, item, f"{where}[{index}]", sizes)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if finite(value) is None or (isinstance(value, int) and abs(value) > MAX_INT):
            raise SpaceError(f"{source}: {where} must be a finite number of sane size, "
                             f"got {_shown(value)}")


def check_config_sizes(config: Mapping[str, Any], source: str) -> None:
    """The checks of a record's config for any model config (a checkpoint folder's
    ``config.json``, a GGUF file's): sizes within :data:`SIZE_LIMITS` (the nested
    ``text_config`` of a multimodal config included), numbers finite; SpaceError naming
    ``source`` and the field otherwise."""
    _check_numbers(source, config, sizes=("config", "config.text_config"))


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
    return records, higher, check_label(label, path, "'truth_label'"), task


def read_config(rid: str, value: str, folder: str) -> tuple[Any, str]:
    """The config a record's ``config`` path names, and the file it was read from.

    ``value`` is a ``save_pretrained`` folder (its ``config.json``) or a JSON config file; a
    relative path is read from ``folder`` (the benchmark file's). The file is read through the
    bounded JSON reader after the size check of a benchmark file; SpaceError naming the record
    and the path when it is missing, not a config or not valid JSON.
    """
    if not value.strip():
        raise SpaceError(f"record {rid}: 'config' is an empty path; give a config object, a "
                         "save_pretrained folder or a config JSON file")
    path = os.path.join(folder, os.path.expanduser(value))
    shown = value if os.path.isabs(os.path.expanduser(value)) else f"{value} (in {folder})"
    if os.path.isdir(path):
        path = os.path.join(path, CONFIG_FILE)
        if not os.path.isfile(path):
            raise SpaceError(f"record {rid}: config folder {shown} has no {CONFIG_FILE} (give "
                             "a save_pretrained folder or a config JSON file)")
    elif not os.path.exists(path):
        raise SpaceError(f"record {rid}: config path {shown} does not exist")
    limit = env_limit(MAX_BENCHMARK_MB_ENV, MAX_BENCHMARK_MB)
    check_file_size(path, f"record {rid}: config file", limit, MAX_BENCHMARK_MB_ENV)
    config = read_json(path, f"record {rid}: config file")
    if not isinstance(config, Mapping):
        raise SpaceError(f"record {rid}: config file {path} holds a {type(config).__name__}, "
                         "not a config object")
    return config, path


def _record(index: int, raw: Any, higher: bool, folder: str) -> Record:
    """One record of the file; a ``config`` path is read relative to ``folder``."""
    if not isinstance(raw, Mapping):
        raise SpaceError(f"record #{index}: expected an object, got {type(raw).__name__}")
    rid = raw.get("id")
    if isinstance(rid, bool) or not isinstance(rid, str | int) or not str(rid).strip():
        raise SpaceError(f"record #{index}: 'id' must be a non-empty string or an integer")
    rid = str(rid)
    config, source = raw.get("config"), f"record {rid}"
    if isinstance(config, str):
        config, path = read_config(rid, config, folder)
        source = f"record {rid} (config file {path})"
    check_model_type(rid, config)
    check_config_sizes(config, source)
    truth = finite(raw.get("truth"))
    if truth is None:
        raise SpaceError(f"record {rid}: 'truth' must be a finite number, got "
                         f"{_shown(raw.get('truth'))}")
    return Record(rid, dict(config), truth if higher else -truth, dict(raw))


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


#: Most trainable parameters of one record's model: it is built on this machine's memory with
#: its gradients (about 8 bytes a parameter in float32) before a proxy can read it.
MAX_PARAMS, MAX_PARAMS_ENV = 1_000_000_000, "LPZERO_GP_MAX_PARAMS"


def _check_params(r: Record, shape: Shape, path: str) -> None:
    """SpaceError when a record's model is larger than :data:`MAX_PARAMS` (or the
    environment's), found from its meta build before any weight is allocated."""
    limit = env_limit(MAX_PARAMS_ENV, MAX_PARAMS)
    if shape.params > limit:
        raise SpaceError(f"{path}: record {r.id!r} has {shape.params:,} parameters, over the "
                         f"limit of {limit:,} (it would be built with its gradients in this "
                         f"machine's memory; raise the limit with {MAX_PARAMS_ENV}=N)")


def _measure_all(records: list[Record], kind: str, path: str) -> dict[str, Shape]:
    """Every record's shape (one meta build per distinct config), with a progress line on
    stderr once reading takes longer than a couple of seconds; a model over the parameter
    limit is refused here, before any is built."""
    shapes: dict[str, Shape] = {}
    seen: dict[str, Shape] = {}
    with progress_bar(total=len(records), desc=f"reading {os.path.basename(path)}",
                      unit="record", delay=_PROGRESS_AFTER_S, leave=False) as bar:
        for r in records:
            key = json.dumps(r.config, sort_keys=True, default=str)
            if key not in seen:
                seen[key] = measure(r.id, r.config, kind)
                _check_params(r, seen[key], path)
            shapes[r.id] = seen[key]
            bar.update(1)
    return shapes


def load_benchmark(path: str) -> Benchmark:
    """The validated benchmark of ``path``; SpaceError names the first problem.

    Limits, checked before the work they bound: the file's size (:data:`MAX_BENCHMARK_MB`)
    before it is read, the number of records (:data:`MAX_RECORDS`) before any is built;
    each raised by its environment variable.
    """
    check_benchmark_file(path)
    rows, higher, label, task = _header(read_json(path, "benchmark file"), path)
    check_record_count(len(rows), path, "each is built once to check it")
    folder = os.path.dirname(os.path.abspath(path))
    records = [_record(index, raw, higher, folder) for index, raw in enumerate(rows)]
    kind = _one_kind(records, task, path)
    records = check_records(records, path, space="hf")
    shapes = _measure_all(records, kind, path)
    return Benchmark(records, kind, label, higher, shapes)

__all__ = [
    "CONFIG_FILE", "FORMAT", "MAX_BENCHMARK_MB", "MAX_BENCHMARK_MB_ENV", "MAX_RECORDS",
    "MAX_PARAMS", "MAX_PARAMS_ENV", "MAX_RECORDS_ENV", "SIZE_LIMITS", "check_config_sizes",
    "check_file_size", "load_benchmark", "read_config",
]
