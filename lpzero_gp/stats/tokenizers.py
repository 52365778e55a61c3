"""Tokenizers of calibration text: the two shipped ones (trained once on the default text) and
any that ``transformers.AutoTokenizer`` loads (a local directory, a hub name, a GGUF file), and
the encoding of a text into one id stream."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from lpzero_gp.errors import CalibrationError, one_line
from lpzero_gp.stats.gguf import gguf_tokenizer
from lpzero_gp.stats.hub import (
    LOCAL_HINT,
    QuietHub,
    hub_unreachable,
    in_hub_cache,
    offline_variable,
)
from lpzero_gp.stats.text import PIECES, check_kind, default_text

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
#: Shipped tokenizer files (``tokenizers`` JSON), per batch kind.
TOKENIZER_FILES = {"bert": "bert_wordpiece.json", "lm": "lm_bytebpe.json"}

BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
LM_SPECIALS = ("<|unk|>", "<|endoftext|>")

# Lines are encoded in chunks so that a BERT batch stops reading a long text once it has enough.
_CHUNK_LINES = 4096


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (identifies a tokenizer file in run metadata)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=2)
def shipped_tokenizer(kind: str):
    """The shipped ``tokenizers.Tokenizer`` for ``kind`` (``bert`` or ``lm``)."""
    from tokenizers import Tokenizer

    path = DATA_DIR / TOKENIZER_FILES[check_kind(kind)]
    if not path.is_file():
        raise CalibrationError(f"shipped tokenizer file is missing: {path} (reinstall lpzero-gp)")
    return Tokenizer.from_file(str(path))


@lru_cache(maxsize=4)
def pretrained_tokenizer(name_or_path: str):
    """``transformers.AutoTokenizer.from_pretrained(name_or_path)``; CalibrationError on failure.

    A ``.gguf`` model file gives the tokenizer stored in it.
    An existing path is loaded locally; anything that looks like a path but does not exist is
    rejected without touching the network; a hub name is looked up in the local cache first.
    Only then, unless ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` is set or the hub does not
    answer, is it downloaded (quietly: the hub client's retry messages are not shown), so a
    missing tokenizer without network fails at once with one line.
    """
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise CalibrationError("tokenizer must be a non-empty name or directory path")
    expanded = os.path.expanduser(name_or_path)
    is_local = os.path.exists(expanded)
    if is_local and os.path.isfile(expanded) and expanded.lower().endswith(".gguf"):
        return gguf_tokenizer(expanded)
    if is_local and not os.path.isdir(expanded):
        raise CalibrationError(
            f"tokenizer path {name_or_path} is a file; give the directory written by "
            "save_pretrained, or a .gguf model file"
        )
    if not is_local and (os.path.isabs(expanded) or name_or_path.startswith((".", "~"))):
        raise CalibrationError(f"tokenizer directory not found: {name_or_path}")
    from transformers import AutoTokenizer

    if is_local or in_hub_cache(name_or_path):
        try:
            return AutoTokenizer.from_pretrained(expanded, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear line
            if is_local:
                raise CalibrationError(
                    f"cannot load tokenizer {name_or_path!r}: {one_line(exc, limit=240)}"
                ) from None
    offline = offline_variable()
    if offline:
        raise CalibrationError(f"tokenizer {name_or_path!r} is not in the local Hugging Face "
                               f"cache and {offline} is set; {LOCAL_HINT}")
    unreachable = hub_unreachable()
    if unreachable:
        raise CalibrationError(f"tokenizer {name_or_path!r} is not in the local Hugging Face "
                               f"cache and {unreachable}; {LOCAL_HINT}")
    try:
        with QuietHub():
            return AutoTokenizer.from_pretrained(expanded)
    except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear line
        raise CalibrationError(
            f"cannot load tokenizer {name_or_path!r}: {one_line(exc, limit=200)}; {LOCAL_HINT}"
        ) from None


def _encode_chunk(kind: str, tokenizer: str | None, pieces: list[str]) -> list[list[int]]:
    if tokenizer is None:
        encs = shipped_tokenizer(kind).encode_batch(pieces, add_special_tokens=False)
        return [e.ids for e in encs]
    tok = pretrained_tokenizer(tokenizer)
    try:
        out = tok(
            pieces,
            add_special_tokens=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
    except Exception as exc:  # noqa: BLE001 - a tokenizer that cannot encode text is bad input
        raise CalibrationError(
            f"tokenizer {tokenizer!r} failed to encode: {one_line(exc, limit=240)}"
        ) from None
    return out["input_ids"]


def token_stream(
    kind: str, tokenizer: str | None = None, text: str | None = None, limit: int | None = None
) -> np.ndarray:
    """Encode ``text`` (default: :func:`default_text`) into one int64 id stream, no specials.

    ``limit`` stops reading once at least that many ids are produced (the stream may be
    longer); LM batches need the whole stream, so they pass no limit.
    """
    pieces = PIECES[check_kind(kind)](default_text() if text is None else text)
    parts: list[np.ndarray] = []
    total = 0
    for start in range(0, len(pieces), _CHUNK_LINES):
        for ids in _encode_chunk(kind, tokenizer, pieces[start : start + _CHUNK_LINES]):
            if ids:
                parts.append(np.asarray(ids, dtype=np.int64))
                total += len(ids)
        if limit is not None and total >= limit:
            break
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

__all__ = [
    "BERT_SPECIALS", "DATA_DIR", "LM_SPECIALS", "TOKENIZER_FILES", "file_sha256",
    "pretrained_tokenizer", "shipped_tokenizer", "token_stream",
]
