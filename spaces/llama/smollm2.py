"""The packaged SmolLM2 super-network: its LoNAS settings, shipped token ids and data files.

``spaces/llama/data/smollm2/`` holds what ``--model smollm2`` needs at run time: the
trained super-adapter (``adapter/``, peft format, fp16 safetensors), the sub-network benchmark
(``benchmark.json``) and the token ids of the three text parts (``text_ids.npz``), all made by
``scripts/build_llama_benchmark.py`` (see ``ATTRIBUTION.md`` there).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from lpzero_gp.errors import SpaceError

DATA = Path(__file__).parent / "data" / "smollm2"
IDS_FILE = "text_ids.npz"
BENCH_FILE = "benchmark.json"
#: SmolLM2's model config (sizes only), so the space is known without the model package.
CONFIG_FILE = "config.json"
ADAPTER_DIR = "adapter"
#: Held-out windows (of 128 inputs + 1 target each) every benchmark perplexity is measured on.
HELDOUT_WINDOWS = 16
HELDOUT_SEQ_LEN = 128


@dataclass(frozen=True)
class Preset:
    """LoNAS settings of the SmolLM2 super-adapter.

    Ranks 8 / 4 / 2 instead of LoNAS's 32 / 28: with a 576-wide model and a short fine-tune a
    12.5 % rank cut changes nothing measurable, halving does (see ``training.json``).
    """

    r_max: int = 8
    rank_ratios: tuple[float, ...] = (1.0, 0.5, 0.25)
    dropout: float = 0.1


PRESET = Preset()


@lru_cache(maxsize=1)
def text_ids() -> dict[str, np.ndarray]:
    """The shipped token ids of the ``train``, ``calibration`` and ``heldout`` text parts."""
    path = DATA / IDS_FILE
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise SpaceError(f"cannot read {path} (reinstall lpzero-gp): {exc}") from None


def heldout_rows(count: int = HELDOUT_WINDOWS, seq_len: int = HELDOUT_SEQ_LEN):
    """The held-out windows the benchmark's perplexities are measured on."""
    import torch

    from .finetune import windows

    stream = torch.from_numpy(text_ids()["heldout"].astype(np.int64))
    return windows(stream, seq_len, count)


@lru_cache(maxsize=1)
def model_config():
    """SmolLM2's ``LlamaConfig`` from the shipped ``config.json`` (no model file needed)."""
    import json

    from transformers import LlamaConfig

    try:
        data = json.loads((DATA / CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise SpaceError(f"cannot read {DATA / CONFIG_FILE} (reinstall lpzero-gp): {exc}"
                         ) from None
    return LlamaConfig(attn_implementation="eager", **data)


def adapter_path() -> Path:
    """The shipped super-adapter folder."""
    return DATA / ADAPTER_DIR


def benchmark_path() -> Path:
    """The shipped sub-network benchmark."""
    return DATA / BENCH_FILE

__all__ = [
    "BENCH_FILE", "CONFIG_FILE", "DATA", "HELDOUT_SEQ_LEN", "HELDOUT_WINDOWS", "IDS_FILE",
    "PRESET", "adapter_path", "benchmark_path", "heldout_rows", "model_config", "text_ids",
]
