"""Ground truth for ranking LoNAS sub-networks: a user file, or a labelled short-training proxy.

* :func:`load_ground_truth` reads measured accuracies (e.g. of a trained super-adapter's
  sub-networks on a benchmark) keyed by the flat NNCF config list.
* :func:`short_training_truth` is an **offline stand-in, not an accuracy**: each sub-network's
  adapters start from peft's standard LoRA initialisation (the super-network's lora_A, lora_B = 0)
  and are trained for a fixed small number of Adam steps on the calibration batch, the frozen
  base untouched; the truth is minus the language-model loss on that batch after training
  (higher is better). It measures how quickly a sub-network's adapters fit the text and exists
  so that a proxy's ranking can be checked without a trained super-adapter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lpzero_gp.atomic import atomic_text
from lpzero_gp.errors import SpaceError
from lpzero_gp.jsonfile import csv_rows, finite, loads_json

from ..base import Record, check_benchmark_file, check_label, check_record_count, check_records
from .inputs import lm_loss
from .space import LonasSpace, Subnet
from .supernet import LonasSupernet

#: Label written next to every number computed by :func:`short_training_truth`.
SHORT_TRAINING_LABEL = (
    "short-training ground truth (offline stand-in, not an accuracy): minus the LM loss on the "
    "calibration batch after {steps} Adam steps (lr {lr}) of the sub-network's adapters from "
    "lora_B = 0, base frozen; higher is better"
)


@dataclass(frozen=True)
class TrainingSetup:
    """Hyper-parameters of the short adapter training (fixed per run, recorded in metadata)."""

    steps: int = 30
    lr: float = 1e-2

    def label(self) -> str:
        """The human-readable description of the resulting truth."""
        return SHORT_TRAINING_LABEL.format(steps=self.steps, lr=self.lr)


def short_training_loss(
    supernet: LonasSupernet,
    config: Subnet,
    batch: dict[str, torch.Tensor],
    setup: TrainingSetup = TrainingSetup(),
) -> float:
    """LM loss of ``config`` on ``batch`` after ``setup.steps`` adapter-training steps.

    The super-network's adapters are restored afterwards (only the small LoRA matrices are
    saved; the frozen base weights are never copied). Eval mode: no dropout, deterministic.
    """
    if setup.steps < 0:
        raise SpaceError(f"training steps must be >= 0, got {setup.steps}")
    if not setup.lr > 0:
        raise SpaceError(f"training learning rate must be > 0, got {setup.lr}")
    saved = supernet.lora_state()
    params = supernet.lora_parameters()
    model = supernet.model
    model.eval()
    device = supernet.device
    batch = {k: v.to(device) for k, v in batch.items()}
    try:
        with torch.no_grad():
            for _, mod in _lora_b_modules(supernet):
                mod.weight.zero_()
        with supernet.active(config):
            opt = torch.optim.Adam(params, lr=setup.lr)
            for _ in range(setup.steps):
                opt.zero_grad(set_to_none=True)
                lm_loss(
                    model(input_ids=batch["input_ids"], use_cache=False).logits, batch
                ).backward()
                opt.step()
            with torch.no_grad():
                loss = lm_loss(model(input_ids=batch["input_ids"], use_cache=False).logits, batch)
    finally:
        for p in params:
            p.grad = None
        supernet.load_lora_state(saved)
    return float(loss.item())


def _lora_b_modules(supernet: LonasSupernet) -> list[tuple[str, torch.nn.Module]]:
    return [
        (name, mod)
        for layer in range(len(supernet.layers))
        for name, mod in supernet.layer_linears(layer, "adapters")
        if ".lora_B." in name
    ]


def short_training_truth(
    supernet: LonasSupernet,
    configs: Sequence[Subnet],
    batch: dict[str, torch.Tensor],
    setup: TrainingSetup = TrainingSetup(),
    progress: Any = None,
) -> list[float]:
    """Minus the short-training loss of every config (higher is better)."""
    out = []
    for c in configs:
        out.append(-short_training_loss(supernet, c, batch, setup))
        if progress is not None:
            progress.update(1)
    return out


# ------------------------------------------------------------------------------ user files


@dataclass(frozen=True)
class Truth:
    """A sub-network benchmark read from a file: the metric, its direction and its values."""

    table: dict[Subnet, float]
    metric: str = "accuracy"
    higher_is_better: bool = True


def _finite(value: Any, what: str) -> float:
    number = finite(value)
    if number is None:
        text = repr(value)
        raise SpaceError(f"{what} must be a finite number, got "
                         f"{text if len(text) <= 40 else text[:37] + '...'}")
    return number


def load_ground_truth(path: str | Path, space: LonasSpace) -> Truth:
    """Measured qualities keyed by flat config, with the metric's name and direction.

    JSON: a list of ``{"config": [v0, v1, ...], "accuracy": x}`` (higher is better), or an
    object ``{"metric": "perplexity", "higher_is_better": false, "subnets": [{"config": [...],
    "perplexity": x}, ...]}`` (``metric`` defaults to accuracy, higher is better). CSV:
    columns ``config`` (values separated by spaces, ``;`` or ``,`` inside the cell) and
    ``accuracy``, each named once. Every config must belong to ``space`` and appear once; the
    truth may not be the same for every sub-network. The file's size and its number of entries
    are checked before they are read (:func:`~lpzero_gp.spaces.base.check_benchmark_file`,
    :func:`~lpzero_gp.spaces.base.check_record_count`), the metric's name as a label.
    """
    p = Path(path)
    if not p.is_file():
        raise SpaceError(f"ground-truth file not found: {path}")
    check_benchmark_file(str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"cannot read ground-truth file {path}: {exc}") from exc
    metric, higher = "accuracy", True
    if p.suffix.lower() == ".csv":
        rows = _csv_rows(text, p)
    else:
        data = loads_json(text, str(p))
        if isinstance(data, dict) and "subnets" in data:
            metric = data.get("metric", "accuracy")
            higher = data.get("higher_is_better", metric == "accuracy")
            if not isinstance(metric, str) or not metric or not isinstance(higher, bool):
                raise SpaceError(f"{p}: 'metric' must be a name and 'higher_is_better' a "
                                 "boolean")
            check_label(metric, str(p), "'metric'")
            data = data["subnets"]
        if not isinstance(data, list):
            raise SpaceError(f"{p}: expected a list of {{'config': [...], 'accuracy': x}} entries")
        check_record_count(len(data), str(p))
        rows = data
    entries: list[tuple[Subnet, float]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "config" not in row or metric not in row:
            raise SpaceError(f"{p}: entry {i} needs 'config' and {metric!r}")
        try:
            config = space.validate(row["config"])
        except SpaceError as exc:
            raise SpaceError(f"{p}: entry {i}: {exc}") from None
        entries.append((config, _finite(row[metric], f"{p}: entry {i}: {metric}")))
    if len(entries) < 2:
        raise SpaceError(f"{p}: need at least 2 distinct sub-networks, got {len(entries)}")
    check_records([Record("[" + ", ".join(map(str, c)) + "]", {"subnet": list(c)}, v)
                   for c, v in entries], str(p), space="llama")
    return Truth(dict(entries), metric, higher)


def _csv_rows(text: str, p: Path) -> list[dict[str, Any]]:
    """The ``config`` and ``accuracy`` of each row of a CSV benchmark (a column named twice,
    and more rows than :data:`~lpzero_gp.spaces.base.MAX_RECORDS`, refused)."""
    header, table = csv_rows(text, str(p))
    if not {"config", "accuracy"} <= set(header):
        raise SpaceError(f"{p}: CSV needs the columns 'config' and 'accuracy'")
    check_record_count(len(table), str(p))
    rows = []
    for i, rec in enumerate(table):
        cell = (rec.get("config") or "").replace(";", " ").replace(",", " ").strip("[] ")
        try:
            config = [int(t) for t in cell.split()]
            acc = float(rec.get("accuracy") or "nan")
        except ValueError:
            raise SpaceError(
                f"{p}: row {i + 1}: config must be integers, accuracy a number"
            ) from None
        rows.append({"config": config, "accuracy": acc})
    return rows


def save_ground_truth(path: str | Path, space: LonasSpace, truth: dict[Subnet, float]) -> None:
    """Write ``truth`` in the JSON form :func:`load_ground_truth` reads."""
    data = [{"config": space.to_nncf_list(c), "accuracy": v} for c, v in truth.items()]
    atomic_text(path, json.dumps(data, indent=1) + "\n")

__all__ = [
    "TrainingSetup", "load_ground_truth", "save_ground_truth", "short_training_loss",
    "short_training_truth",
]
