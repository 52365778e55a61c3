"""The ``flexibert`` search space: FlexiBERT/NAS-Bench-BERT records, builders and proxy inputs.

Records come from the packaged benchmark (500 architectures, GLUE average, higher is better) or a
user file in the same format. Two model variants: ``reference`` (the PyTorch models the published
proxies and ``num_parameters`` were computed on) and ``as-trained`` (the graph that was trained
to produce the GLUE scores, counted by ``num_parameters_as_trained``). See docs/specs.md §8
and §9.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from lpzero_gp.errors import SpaceError
from lpzero_gp.jsonfile import finite, read_json

from ..base import (
    SEMANTICS,
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
from .as_trained import FlexibertAsTrained
from .params import (
    MAX_POSITIONS,
    REFERENCE_HIDDEN,
    TYPE_VOCAB_SIZE,
    VOCAB_SIZE,
    as_trained_num_params,
    reference_num_params,
)
from .reference import FlexibertEncoder, FlexibertReference

#: Allowed ``operation_parameter`` values per ``operation_type``.
OPERATIONS: dict[str, tuple[Any, ...]] = {"SA": ("SDP", "WMA"), "LT": ("DFT", "DCT"),
                                          "DSC": (5, 9)}
#: Fields of every ``encoder_layers`` entry.
LAYER_FIELDS = ("operation_type", "operation_parameter", "num_operation_heads",
                "feed_forward_dimension", "num_feed_forward")
#: Sanity limits on record sizes (far above the benchmark's values, far below an OOM).
LIMITS = {"hidden_size": 8192, "num_operation_heads": 8192, "feed_forward_dimension": 65536,
          "num_feed_forward": 32, "layers": 128}
#: Largest parameter count a record may state (far above any trained BERT).
MAX_PARAMETERS = 10**13
#: Seed of the fixed masked-token selection and of the reference semantics' dropout masks.
COLLECT_SEED = 0
#: Fraction of non-special tokens whose cross-entropy is the intended-semantics loss.
MLM_RATE = 0.15
#: Loss positions per chunk of the tied LM head (bounds the memory of the V-wide logits).
MLM_CHUNK = 2048

PACKAGED_FILE = "flexibert_glue.json"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(rid: str, where: str, value: Any, limit_key: str) -> int:
    if not _is_int(value) or value <= 0:
        raise SpaceError(f"record {rid}: {where} must be a positive integer, got {_shown(value)}")
    if value > LIMITS[limit_key]:
        raise SpaceError(f"record {rid}: {where}={_shown(value)} exceeds the limit "
                         f"{LIMITS[limit_key]}")
    return value


def _check_layer(rid: str, index: int, layer: Any) -> dict[str, Any]:
    """One validated, normalised ``encoder_layers`` entry (DSC kernels become ints)."""
    where = f"encoder_layers[{index}]"
    if not isinstance(layer, Mapping):
        raise SpaceError(f"record {rid}: {where} must be an object, got {type(layer).__name__}")
    for name in LAYER_FIELDS:
        if name not in layer:
            raise SpaceError(f"record {rid}: {where} is missing field {name!r}")
    op, par = layer["operation_type"], layer["operation_parameter"]
    if not isinstance(op, str) or op not in OPERATIONS:
        raise SpaceError(f"record {rid}: {where}.operation_type {op!r} is not one of "
                         f"{', '.join(OPERATIONS)}")
    if op == "DSC" and isinstance(par, str) and par.isdigit():
        par = int(par)
    if (op == "DSC" and not _is_int(par)) or par not in OPERATIONS[op]:
        allowed = ", ".join(str(p) for p in OPERATIONS[op])
        raise SpaceError(f"record {rid}: {where}.operation_parameter {par!r} is not valid for "
                         f"{op} (expected one of {allowed})")
    out = {"operation_type": op, "operation_parameter": par}
    for name in LAYER_FIELDS[2:]:
        out[name] = _positive_int(rid, f"{where}.{name}", layer[name], name)
    return out


def check_config(rid: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The validated architecture fields ``{hidden_size, encoder_layers}`` of a record."""
    for name in ("hidden_size", "encoder_layers"):
        if name not in raw:
            raise SpaceError(f"record {rid}: missing field {name!r}")
    hidden = _positive_int(rid, "hidden_size", raw["hidden_size"], "hidden_size")
    layers = raw["encoder_layers"]
    if not isinstance(layers, list) or not layers:
        raise SpaceError(f"record {rid}: encoder_layers must be a non-empty list")
    if len(layers) > LIMITS["layers"]:
        raise SpaceError(f"record {rid}: {len(layers)} layers exceed the limit {LIMITS['layers']}")
    return {"hidden_size": hidden,
            "encoder_layers": [_check_layer(rid, i, layer) for i, layer in enumerate(layers)]}


def unbuildable_reason(config: Mapping[str, Any]) -> str | None:
    """Why a valid config cannot be built in some variant (head counts vs widths), else None."""
    hidden = config["hidden_size"]
    for i, layer in enumerate(config["encoder_layers"]):
        n = layer["num_operation_heads"]
        if REFERENCE_HIDDEN % n:
            return f"encoder_layers[{i}]: {n} heads do not divide the reference width 256"
        if layer["operation_type"] == "DSC" and n < 2:
            return f"encoder_layers[{i}]: DSC needs at least 2 heads"
        if hidden % n:
            return f"encoder_layers[{i}]: {n} heads do not divide hidden_size {hidden}"
    return None


def _parse_record(index: int, raw: Any) -> Record:
    if not isinstance(raw, Mapping):
        raise SpaceError(f"record #{index}: expected an object, got {type(raw).__name__}")
    if "id" not in raw:
        raise SpaceError(f"record #{index}: missing field 'id'")
    rid = raw["id"]
    if not (_is_int(rid) or (isinstance(rid, str) and rid.strip())):
        raise SpaceError(f"record #{index}: id must be an integer or a non-empty string, "
                         f"got {rid!r}")
    rid = str(rid)
    config = check_config(rid, raw)
    scores = raw.get("scores")
    if not isinstance(scores, Mapping):
        raise SpaceError(f"record {rid}: missing field 'scores' (an object with 'glue')")
    glue = finite(scores.get("glue"))
    if glue is None:
        raise SpaceError(f"record {rid}: scores.glue must be a finite number, got "
                         f"{_shown(scores.get('glue'))}")
    for name in ("num_parameters", "num_parameters_as_trained"):
        if name in raw and (not _is_int(raw[name]) or not 0 <= raw[name] <= MAX_PARAMETERS):
            raise SpaceError(f"record {rid}: {name} must be an integer in 0..{MAX_PARAMETERS}, "
                             f"got {_shown(raw[name])}")
    return Record(id=rid, config=config, truth=glue, raw=dict(raw))


def parse_records(data: Any, source: str) -> list[Record]:
    """Validated records of a parsed benchmark file, in file order; unbuildable ones skipped
    (one warning for all of them)."""
    if not isinstance(data, list):
        raise SpaceError(f"{source}: expected a JSON list of records, got {type(data).__name__}")
    if not data:
        raise SpaceError(f"{source}: the benchmark holds no records")
    check_record_count(len(data), source)
    parsed = [_parse_record(index, raw) for index, raw in enumerate(data)]
    records, skipped = [], []
    for record in parsed:
        reason = unbuildable_reason(record.config)
        if reason:
            skipped.append((record.id, reason))
        else:
            records.append(record)
    return check_records(records, source, space="flexibert", ids=[r.id for r in parsed],
                         skipped=skipped)


def _shown(value: Any) -> str:
    """A value for a message, cut short (a number of hundreds of digits stays one line)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_json(path: str | None) -> tuple[Any, str]:
    if path is None:
        resource = resources.files(__package__) / "data" / PACKAGED_FILE
        return read_json(resource, "packaged benchmark"), PACKAGED_FILE
    check_benchmark_file(path)
    return read_json(path, "benchmark file"), str(path)


def prepare_batch(batch: Any, device: torch.device) -> dict[str, torch.Tensor]:
    """Checked model inputs on ``device``: ids, token types (default 0), mask (default 1)."""
    if not isinstance(batch, Mapping) or not isinstance(batch.get("input_ids"), torch.Tensor):
        raise SpaceError("batch must be a mapping with an 'input_ids' tensor")
    ids = batch["input_ids"]
    if ids.dim() != 2 or ids.numel() == 0 or ids.is_floating_point() or ids.is_complex():
        raise SpaceError(f"input_ids must be a non-empty 2-D integer tensor, got "
                         f"{tuple(ids.shape)} {ids.dtype}")
    if ids.shape[1] > MAX_POSITIONS:
        raise SpaceError(f"sequence length {ids.shape[1]} exceeds {MAX_POSITIONS} positions")
    if int(ids.min()) < 0 or int(ids.max()) >= VOCAB_SIZE:
        raise SpaceError(f"input_ids must lie in [0, {VOCAB_SIZE})")
    out = {"input_ids": ids.long()}
    defaults = {"token_type_ids": 0, "attention_mask": 1, "special_tokens_mask": None}
    for name, fill in defaults.items():
        value = batch.get(name)
        if value is None:
            if fill is not None:
                out[name] = torch.full_like(out["input_ids"], fill)
            continue
        if not isinstance(value, torch.Tensor) or value.shape != ids.shape:
            raise SpaceError(f"{name} must be a tensor of shape {tuple(ids.shape)}")
        out[name] = value.long()
    if int(out["token_type_ids"].min()) < 0 or int(out["token_type_ids"].max()) >= \
            TYPE_VOCAB_SIZE:
        raise SpaceError(f"token_type_ids must lie in [0, {TYPE_VOCAB_SIZE})")
    return {k: v.to(device) for k, v in out.items()}


def mlm_positions(batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """A fixed, seeded 15% selection (bool (B, L)) of the batch's non-special tokens.

    Non-special = attended (mask 1) and, if the batch carries ``special_tokens_mask``, not
    flagged there; otherwise the first and last attended position of every row ([CLS] and
    [SEP] of a BERT-style encoding) are excluded. round(15% of the eligible tokens), at least
    one, are drawn by a torch generator seeded with :data:`COLLECT_SEED`, so the selection
    depends only on the batch.
    """
    attended = batch["attention_mask"].cpu() != 0
    if not attended.any():
        raise SpaceError("the calibration batch has no attended token")
    special = batch.get("special_tokens_mask")
    if special is not None:
        eligible = attended & (special.cpu() == 0)
    else:
        eligible = attended.clone()
        length = attended.shape[1]
        rows = attended.any(dim=1).nonzero().squeeze(1)
        first = attended.int().argmax(dim=1)[rows]
        last = length - 1 - attended.flip(1).int().argmax(dim=1)[rows]
        eligible[rows, first] = False
        eligible[rows, last] = False
    if not eligible.any():
        eligible = attended
    flat = eligible.flatten().nonzero().squeeze(1)
    count = max(1, round(MLM_RATE * flat.numel()))
    gen = torch.Generator().manual_seed(COLLECT_SEED)
    chosen = flat[torch.randperm(flat.numel(), generator=gen)[:count]]
    mask = torch.zeros(eligible.numel(), dtype=torch.bool)
    mask[chosen] = True
    return mask.view_as(eligible).to(batch["input_ids"].device)


def _chunk_cross_entropy(model: FlexibertEncoder, hidden: torch.Tensor,
                         targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(model.lm_logits(hidden), targets, reduction="sum")


def tied_mlm_loss(model: FlexibertEncoder, hidden: torch.Tensor,
                  batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of the original token at the :func:`mlm_positions` positions.

    Logits come from the model's fully tied LM head (:meth:`FlexibertEncoder.lm_logits`: hidden
    -> transposed embedding projection -> transposed word table; no new parameters). The
    inputs are not corrupted, so A/H/S are those of the clean batch; the selection only decides
    which positions the loss reads. Chunks are checkpointed to bound the logits' memory.
    """
    positions = mlm_positions(batch)
    h, targets = hidden[positions], batch["input_ids"][positions]
    if h.shape[0] <= MLM_CHUNK:
        # One chunk holds no less memory checkpointed, and the same numbers come out; calling
        # it directly spares the process torch's compiler stack (imported by ``checkpoint``).
        return _chunk_cross_entropy(model, h, targets) / h.shape[0]
    total = hidden.new_zeros(())
    for start in range(0, h.shape[0], MLM_CHUNK):
        part = slice(start, start + MLM_CHUNK)
        total = total + checkpoint(_chunk_cross_entropy, model, h[part], targets[part],
                                   use_reentrant=False)
    return total / h.shape[0]


def _keep(t: torch.Tensor) -> torch.Tensor:
    return t.detach().float().clone()


def _mixer_linears(mixer: nn.Module) -> list[nn.Linear]:
    return [m for m in mixer.modules() if isinstance(m, nn.Linear)]


def _run_and_record(model: FlexibertEncoder, batch: dict[str, torch.Tensor],
                    semantics: str) -> RawInputs:
    """One forward/backward with hooks attached; the caller sets mode and removes nothing."""
    blocks = len(model.layers)
    out: RawInputs = {name: [[] for _ in range(blocks)] for name in ("A", "H", "S", "G", "W", "J")}
    heads: list[dict[str, torch.Tensor]] = [{} for _ in range(blocks)]
    handles = []

    def append(store: list[torch.Tensor]):
        return lambda _m, _i, o: store.append(_keep(o))

    def named(store: dict[str, torch.Tensor], name: str):
        return lambda _m, _i, o: store.__setitem__(name, _keep(o))

    def grab_input_grad(b: int):
        def pre(_m, args):
            x = args[0]
            if x.requires_grad:
                x.register_hook(lambda g: out["J"][b].append(_keep(g)))
        return pre

    try:
        for b, layer in enumerate(model.layers):
            mixer = layer.mixer
            handles.append(layer.ffn.act.register_forward_hook(append(out["A"][b])))
            handles.append(mixer.softmax.register_forward_hook(append(out["S"][b])))
            names = mixer.head_projections
            for name in names if semantics == "intended" else names[:1]:
                hook = named(heads[b], name)
                handles.append(getattr(mixer, name).register_forward_hook(hook))
            if semantics == "intended":
                handles.append(layer.register_forward_pre_hook(grab_input_grad(b)))
        hidden = model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
        if semantics == "intended":
            tied_mlm_loss(model, hidden, batch).backward()
        else:
            hidden.backward(torch.ones_like(hidden))
    finally:
        for handle in handles:
            handle.remove()
    for b, layer in enumerate(model.layers):
        names = layer.mixer.head_projections
        out["H"][b] = [heads[b][n] for n in names if n in heads[b]]
        for linear in _mixer_linears(layer.mixer):
            w = linear.weight
            out["W"][b].append(_keep(w))
            out["G"][b].append(_keep(w.grad) if w.grad is not None else torch.zeros_like(
                w, dtype=torch.float32))
    if semantics == "reference":
        table = model.embeddings.position.weight
        grad = table.grad if table.grad is not None else torch.zeros_like(table)
        out["J"] = [[_keep(grad)] for _ in range(blocks)]
    return out


#: What produces the gradients, per semantics.
LOSSES = {
    "intended": "masked-LM loss (tied head, 15% of tokens), eval mode",
    "reference": "all-ones backward on the last hidden state, train mode",
}


class FlexibertSpace(Space):
    """FlexiBERT (NAS-Bench-BERT, Serianni & Kalita 2023): 500 encoders scored by GLUE average."""

    name = "flexibert"
    variants = ("reference", "as-trained")
    default_variant = "as-trained"
    truth_label = "GLUE dev average (scores.glue), higher is better"
    benchmark_format = ("JSON list of records {id, config: {hidden_size, encoder_layers: "
                        "[{operation, ...}]}, scores: {glue}} (the packaged NAS-Bench-BERT "
                        "file's format)")
    feature_names = ("params", "layers", "hidden")
    group_feature = "layers"
    calibration = CalibrationSpec("bert", 16, 128, max_seq_len=MAX_POSITIONS)
    split_sizes = (50, 50, 400)
    baselines = BaselineSpec((2, 128), f"{__package__}.baseline_hooks", published.PAPER,
                             published.RECOMPUTED)
    losses = LOSSES
    code_version = "1"

    def load_records(self, path: str | None = None) -> list[Record]:
        """Packaged benchmark (``path=None``) or a user JSON list of the same format."""
        data, source = _read_json(path)
        return parse_records(data, source)

    def _variant(self, variant: str) -> str:
        if variant not in self.variants:
            raise SpaceError(f"unknown flexibert variant {variant!r} "
                             f"(expected one of {', '.join(self.variants)})")
        return variant

    def _config(self, record: Record) -> dict[str, Any]:
        config = check_config(record.id, record.config)
        reason = unbuildable_reason(config)
        if reason:
            raise SpaceError(f"record {record.id}: {reason}")
        return config

    def build(self, record: Record, variant: str, seed: int) -> torch.nn.Module:
        """Seed torch's global RNG with ``seed``, construct, apply the spec init; eval mode."""
        variant = self._variant(variant)
        if not _is_int(seed):
            raise SpaceError(f"seed must be an integer, got {seed!r}")
        config = self._config(record)
        torch.manual_seed(seed)
        model = FlexibertReference(config) if variant == "reference" else \
            FlexibertAsTrained(config)
        return model.eval()

    def num_params(self, record: Record, variant: str) -> int:
        """Analytic trainable-parameter count (``num_parameters`` / ``_as_trained``)."""
        variant = self._variant(variant)
        config = self._config(record)
        if variant == "reference":
            return reference_num_params(config)
        return as_trained_num_params(config)

    def features(self, record: Record, variant: str) -> dict[str, float]:
        """``params``, ``layers`` and the effective ``hidden`` width of the variant's model."""
        variant = self._variant(variant)
        config = self._config(record)
        hidden = REFERENCE_HIDDEN if variant == "reference" else config["hidden_size"]
        return {"params": float(self.num_params(record, variant)),
                "layers": float(len(config["encoder_layers"])),
                "hidden": float(hidden)}

    def collect(self, model: torch.nn.Module, batch: dict[str, torch.Tensor],
                semantics: str = "intended") -> RawInputs:
        """One forward and one backward; per block A, H, S, W, G, J (float32, detached clones).

        ``intended``: eval mode (no dropout), loss = :func:`tied_mlm_loss`; H = every head
        projection of the mixer (query, key, value, WMA matrix / the LT input projection);
        J[b] = d loss / d (input hidden states of block b), (B, L, H).
        ``reference``: train mode (dropout on, masks drawn from a fork of torch's RNG seeded
        with :data:`COLLECT_SEED`), backward of all-ones on the last hidden state; H = only
        the first projection (query, or input for LT); J = the position-table gradient
        (512, 128), the same for every block. The reference code read G before its backward
        and so got an empty list; here G is read after the backward.
        Both: A = every FFN GELU call (1 or 3 per block; as-trained widths 4H, D, D); S = the
        mixer's softmax module output (SA/DSC/as-trained: attention probabilities before
        dropout; LT: the discarded channel softmax; the DSC kernel softmax is not included);
        W = every ``nn.Linear`` weight inside the mixer in registration order (q, k, v, WMA
        matrix, DSC kernel generator and conv value; never the post dense or FFN), G = their
        gradients. The as-trained model applies the attention mask in both semantics. The
        model's mode is restored and its gradients cleared afterwards; no hook survives.
        """
        if semantics not in SEMANTICS:
            raise SpaceError(f"unknown semantics {semantics!r} "
                             f"(expected one of {', '.join(SEMANTICS)})")
        if not isinstance(model, FlexibertEncoder):
            raise SpaceError("collect expects a model built by the flexibert space")
        param = next(model.parameters())
        inputs = prepare_batch(batch, param.device)
        was_training = model.training
        model.train(semantics == "reference")
        model.zero_grad(set_to_none=True)
        devices = [param.device.index or 0] if param.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices), torch.enable_grad():
                torch.manual_seed(COLLECT_SEED)
                return _run_and_record(model, inputs, semantics)
        finally:
            model.train(was_training)
            model.zero_grad(set_to_none=True)

__all__ = ["FlexibertSpace", "mlm_positions", "parse_records", "prepare_batch", "tied_mlm_loss"]
