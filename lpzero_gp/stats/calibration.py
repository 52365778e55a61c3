"""Calibration batches: the one fixed batch of token ids fed to every architecture of a run.

The offline default is English prose that ships with every Python (``pydoc_data.topics``),
tokenised by tokenizers trained once on it and shipped in ``lpzero_gp/data``. Because that text
changes between Python versions, the default token streams are pinned as package data too, so
the default batch is identical everywhere. Users can pass their own text and any tokenizer that
``transformers.AutoTokenizer`` can load (a local directory works offline).

This module cuts the batches and says where they come from; the text (``stats/text.py``), the
tokenizers (``stats/tokenizers.py``, with the hub look-ups of ``stats/hub.py`` and GGUF files
of ``stats/gguf.py``) and the pinned streams (``stats/pinned.py``) have their own modules, whose
public names are re-exported here.
"""

from __future__ import annotations

import hashlib
import operator
from typing import Any

import numpy as np
import torch

from lpzero_gp.errors import CalibrationError
from lpzero_gp.stats.hub import HUB_PROBE_SECONDS, OFFLINE_VARIABLES
from lpzero_gp.stats.pinned import (
    PINNED_IDS_FILE,
    PINNED_META_FILE,
    pinned_meta,
    pinned_stream,
    shared_stream,
)
from lpzero_gp.stats.text import (
    DEFAULT_TEXT_SOURCE,
    KINDS,
    bert_pieces,
    check_kind,
    default_text,
    lm_pieces,
    load_text,
    python_version,
    text_sha256,
)
from lpzero_gp.stats.tokenizers import (
    BERT_SPECIALS,
    DATA_DIR,
    LM_SPECIALS,
    TOKENIZER_FILES,
    file_sha256,
    pretrained_tokenizer,
    shipped_tokenizer,
    token_stream,
)

#: Token-id range of the BERT-style models (the ELECTRA/BERT uncased vocabulary size).
BERT_VOCAB_SIZE = 30522
#: Token-id range of the LTS GPT-2 models.
LM_VOCAB_SIZE = 50264


def _positive_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool):
        raise CalibrationError(f"{name} must be an integer, got {value!r}")
    try:
        out = operator.index(value)
    except TypeError:
        raise CalibrationError(f"{name} must be an integer, got {value!r}") from None
    if out < minimum:
        raise CalibrationError(f"{name} must be at least {minimum}, got {out}")
    return out


def _tokens_needed(kind: str, batch_size: int, seq_len: int) -> int:
    # BERT rows hold seq_len - 2 text tokens between [CLS] and [SEP]; an LM row needs one id
    # beyond its inputs for the last label.
    return batch_size * (seq_len - 2) if kind == "bert" else batch_size * (seq_len + 1)


def _check_text(text: str | None) -> None:
    if text is not None and not isinstance(text, str):
        raise CalibrationError(
            f"text must be the calibration text itself (str), got {type(text).__name__}; "
            "read files with load_text"
        )


def _uses_pinned(kind: str, need: int, tokenizer: str | None, text: str | None) -> bool:
    if tokenizer is not None or text is not None:
        return False
    pinned = shared_stream(kind)
    return pinned is not None and pinned.size >= need


def _stream_for(
    kind: str, shape: tuple[int, int], tokenizer: str | None, text: str | None
) -> np.ndarray:
    need = _tokens_needed(kind, *shape)
    if _uses_pinned(kind, need, tokenizer, text):
        return shared_stream(kind)
    limit = need if kind == "bert" else None
    stream = token_stream(kind, tokenizer, text, limit=limit)
    if stream.size < need:
        source = "the default text" if text is None else "the given text"
        raise CalibrationError(
            f"{source} gives {stream.size} tokens but batch_size={shape[0]}, "
            f"seq_len={shape[1]} needs {need}; use a longer text or a smaller batch"
        )
    return stream


def _check_range(ids: np.ndarray, limit: int, tokenizer: str | None, what: str) -> None:
    top = int(ids.max())
    if top >= limit:
        name = "the shipped tokenizer" if tokenizer is None else f"tokenizer {tokenizer!r}"
        raise CalibrationError(f"{name} produced token id {top}, outside {what}")


def _long(arr: np.ndarray) -> torch.Tensor:
    # Always a fresh copy: the pinned streams are cached and must never be shared with callers.
    return torch.from_numpy(np.array(arr, dtype=np.int64, order="C", copy=True))


def _special_ids(tokenizer: str | None) -> tuple[int, int]:
    if tokenizer is None:
        tok = shipped_tokenizer("bert")
        return tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok = pretrained_tokenizer(tokenizer)
    cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
    if cls_id is None or sep_id is None:
        raise CalibrationError(
            f"tokenizer {tokenizer!r} has no CLS/SEP token; bert_batch needs a BERT-style tokenizer"
        )
    return int(cls_id), int(sep_id)


def bert_batch(
    batch_size: int = 16,
    seq_len: int = 128,
    tokenizer: str | None = None,
    text: str | None = None,
) -> dict[str, torch.Tensor]:
    """A BERT calibration batch: row ``i`` is ``[CLS]`` + the ``i``-th consecutive chunk of
    ``seq_len - 2`` tokens of the stream + ``[SEP]``; no padding, all-ones attention mask.

    Returns LongTensors ``input_ids``, ``token_type_ids`` (zeros), ``attention_mask`` (ones),
    each ``(batch_size, seq_len)``, with every id below 30522.
    """
    b = _positive_int(batch_size, "batch_size", 1)
    t = _positive_int(seq_len, "seq_len", 3)
    _check_text(text)
    need = _tokens_needed("bert", b, t)
    stream = _stream_for("bert", (b, t), tokenizer, text)
    cls_id, sep_id = _special_ids(tokenizer)
    ids = np.empty((b, t), dtype=np.int64)
    ids[:, 0] = cls_id
    ids[:, 1:-1] = stream[:need].reshape(b, t - 2)
    ids[:, -1] = sep_id
    _check_range(ids, BERT_VOCAB_SIZE, tokenizer, f"the BERT vocabulary (< {BERT_VOCAB_SIZE})")
    input_ids = _long(ids)
    return {
        "input_ids": input_ids,
        "token_type_ids": torch.zeros_like(input_ids),
        "attention_mask": torch.ones_like(input_ids),
    }


def lm_batch(
    batch_size: int = 16,
    seq_len: int = 192,
    vocab_size: int = LM_VOCAB_SIZE,
    tokenizer: str | None = None,
    text: str | None = None,
) -> dict[str, torch.Tensor]:
    """An LM calibration batch built the LTS way: the id stream is truncated to a multiple of
    ``batch_size`` and reshaped row-major into ``batch_size`` contiguous sub-streams; inputs are
    columns ``0..seq_len-1`` and labels (next-token targets) columns ``1..seq_len``.

    Returns LongTensors ``input_ids`` and ``labels``, each ``(batch_size, seq_len)``, with every
    id below ``vocab_size``.
    """
    b = _positive_int(batch_size, "batch_size", 1)
    t = _positive_int(seq_len, "seq_len", 2)
    v = _positive_int(vocab_size, "vocab_size", 2)
    _check_text(text)
    return _lm_rows(_stream_for("lm", (b, t), tokenizer, text), b, t, v, tokenizer)


def _lm_rows(stream: np.ndarray, b: int, t: int, v: int, tokenizer: str | None
             ) -> dict[str, torch.Tensor]:
    """The LTS cut of an id stream into ``b`` contiguous rows of ``t`` inputs plus labels."""
    rows = stream[: (stream.size // b) * b].reshape(b, -1)
    window = rows[:, : t + 1]
    _check_range(window, v, tokenizer, f"vocab_size={v}")
    return {"input_ids": _long(window[:, :t]), "labels": _long(window[:, 1:])}


def stream_batch(stream: Any, batch_size: int, seq_len: int, vocab_size: int,
                 source: str = "the space's token ids") -> dict[str, torch.Tensor]:
    """An LM batch cut, the LTS way, from a token-id stream a space ships."""
    b = _positive_int(batch_size, "batch_size", 1)
    t = _positive_int(seq_len, "seq_len", 2)
    ids = np.asarray(stream, dtype=np.int64).reshape(-1)
    if ids.size < b * (t + 1):
        raise CalibrationError(f"{source} hold {ids.size} tokens but batch_size={b}, "
                               f"seq_len={t} needs {b * (t + 1)}; use a smaller batch")
    return _lm_rows(ids, b, t, _positive_int(vocab_size, "vocab_size", 2), None)


def space_batch(
    spec: Any,
    batch_size: int | None = None,
    seq_len: int | None = None,
    tokenizer: str | None = None,
    text: str | None = None,
) -> dict[str, torch.Tensor]:
    """The calibration batch a space asks for (a ``spaces.base.CalibrationSpec``).

    ``batch_size`` and ``seq_len`` default to the space's CPU default; a sequence longer than
    the space's models accept is refused here, before any model is built.
    """
    b = spec.batch_size if batch_size is None else batch_size
    t = spec.seq_len if seq_len is None else seq_len
    if spec.max_seq_len is not None and (isinstance(t, bool) or not isinstance(t, int)
                                         or not 0 < t <= spec.max_seq_len):
        raise CalibrationError(f"seq_len must be an integer in 1..{spec.max_seq_len}, "
                               f"got {t!r}")
    if check_kind(spec.kind) == "bert":
        return bert_batch(batch_size=b, seq_len=t, tokenizer=tokenizer, text=text)
    if spec.stream is not None and tokenizer is None and text is None:
        return stream_batch(spec.stream, b, t, spec.vocab_size or LM_VOCAB_SIZE,
                            spec.stream_source or "the space's token ids")
    return lm_batch(batch_size=b, seq_len=t, vocab_size=spec.vocab_size or LM_VOCAB_SIZE,
                    tokenizer=tokenizer, text=text)


def batch_info(
    kind: str,
    batch_size: int,
    seq_len: int,
    tokenizer: str | None = None,
    text: str | None = None,
    vocab_size: int | None = None,
    text_source: str | None = None,
) -> dict[str, Any]:
    """Where the batch of the same arguments comes from, for run metadata (no tokenisation).

    ``kind`` is ``bert`` or ``lm``; ``text_source`` labels a user text (e.g. its file path).
    """
    check_kind(kind)
    b = _positive_int(batch_size, "batch_size", 1)
    t = _positive_int(seq_len, "seq_len", 3 if kind == "bert" else 2)
    _check_text(text)
    pinned = _uses_pinned(kind, _tokens_needed(kind, b, t), tokenizer, text)
    info: dict[str, Any] = {
        "kind": kind,
        "shape": [b, t],
        "vocab_limit": BERT_VOCAB_SIZE if kind == "bert" else (vocab_size or LM_VOCAB_SIZE),
        "python_version": python_version(),
    }
    if tokenizer is None:
        path = DATA_DIR / TOKENIZER_FILES[kind]
        info["tokenizer"] = f"lpzero_gp/data/{TOKENIZER_FILES[kind]}"
        info["tokenizer_sha256"] = file_sha256(path)
        info["tokenizer_vocab_size"] = shipped_tokenizer(kind).get_vocab_size()
    else:
        info["tokenizer"] = tokenizer
        info["tokenizer_vocab_size"] = len(pretrained_tokenizer(tokenizer))
    if text is None:
        info["text_source"] = DEFAULT_TEXT_SOURCE
        if pinned:
            meta = pinned_meta()
            info["ids"] = "pinned"
            info["text_python_version"] = meta["python_version"]
            info["text_sha256"] = meta["text_sha256"]
            info["stream_tokens"] = meta["tokenizers"][kind]["stream_tokens"]
        else:
            info["ids"] = "tokenised"
            info["text_python_version"] = python_version()
            info["text_sha256"] = text_sha256(default_text())
    else:
        info["text_source"] = text_source or "user text"
        info["ids"] = "tokenised"
        info["text_sha256"] = text_sha256(text)
    return info


def space_batch_info(spec: Any, batch_size: int, seq_len: int, tokenizer: str | None = None,
                     text: str | None = None, text_source: str | None = None
                     ) -> dict[str, Any]:
    """:func:`batch_info` for the batch :func:`space_batch` gives with the same arguments."""
    if spec.kind == "lm" and spec.stream is not None and tokenizer is None and text is None:
        ids = np.asarray(spec.stream).reshape(-1)
        return {"kind": "lm", "shape": [batch_size, seq_len], "vocab_limit": spec.vocab_size,
                "ids": spec.stream_source or "the space's token ids",
                "stream_tokens": int(ids.size),
                "stream_sha256": hashlib.sha256(ids.astype(np.int64).tobytes()).hexdigest()}
    return batch_info(spec.kind, batch_size, seq_len, tokenizer=tokenizer, text=text,
                      vocab_size=spec.vocab_size, text_source=text_source)


__all__ = [
    "BERT_SPECIALS", "BERT_VOCAB_SIZE", "DATA_DIR", "DEFAULT_TEXT_SOURCE", "HUB_PROBE_SECONDS",
    "KINDS", "LM_SPECIALS", "LM_VOCAB_SIZE", "OFFLINE_VARIABLES", "PINNED_IDS_FILE",
    "PINNED_META_FILE", "TOKENIZER_FILES", "CalibrationError", "batch_info", "bert_batch",
    "bert_pieces", "file_sha256", "lm_batch", "lm_pieces", "load_text", "pinned_meta",
    "pinned_stream", "pretrained_tokenizer", "python_version", "shipped_tokenizer",
    "space_batch", "space_batch_info", "stream_batch", "text_sha256", "token_stream",
]
