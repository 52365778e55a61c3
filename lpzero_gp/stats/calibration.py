"""Calibration batches: the one fixed batch of token ids fed to every architecture of a run.

The offline default is English prose that ships with every Python (``pydoc_data.topics``),
tokenised by tokenizers trained once on it and shipped in ``lpzero_gp/data``. Because that text
changes between Python versions, the default token streams are pinned as package data too, so
the default batch is identical everywhere. Users can pass their own text and any tokenizer that
``transformers.AutoTokenizer`` can load (a local directory works offline).
"""

from __future__ import annotations

import hashlib
import operator
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lpzero_gp.errors import CalibrationError, one_line
from lpzero_gp.jsonfile import read_json

#: Token-id range of the BERT-style models (the ELECTRA/BERT uncased vocabulary size).
BERT_VOCAB_SIZE = 30522
#: Token-id range of the LTS GPT-2 models.
LM_VOCAB_SIZE = 50264
#: Where the default text comes from.
DEFAULT_TEXT_SOURCE = "pydoc_data.topics"

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
#: Shipped tokenizer files (``tokenizers`` JSON), per batch kind.
TOKENIZER_FILES = {"bert": "bert_wordpiece.json", "lm": "lm_bytebpe.json"}
#: Pinned token streams of the default text (``.npz``, one uint16 array per kind) and their
#: provenance (Python version, text hash, tokenizer hashes).
PINNED_IDS_FILE = "calibration_ids.npz"
PINNED_META_FILE = "calibration_ids.json"

BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
LM_SPECIALS = ("<|unk|>", "<|endoftext|>")
KINDS = ("bert", "lm")

# Lines are encoded in chunks so that a BERT batch stops reading a long text once it has enough.
_CHUNK_LINES = 4096


# ----------------------------------------------------------------------------------------- text


@lru_cache(maxsize=1)
def default_text() -> str:
    """The default prose: the values of ``pydoc_data.topics.topics`` joined in sorted-key order."""
    from pydoc_data.topics import topics

    return "\n".join(topics[key] for key in sorted(topics))


def text_sha256(text: str) -> str:
    """Hex SHA-256 of the UTF-8 encoding of ``text`` (identifies the text in run metadata)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def python_version() -> str:
    """The running interpreter's version, e.g. ``3.11.7`` (the default text depends on it)."""
    return sys.version.split()[0]


def load_text(path: str) -> str:
    """Read a user's calibration text file (UTF-8); CalibrationError if unusable."""
    p = Path(os.path.expanduser(str(path)))
    if not p.exists():
        raise CalibrationError(f"calibration text file not found: {path}")
    if p.is_dir():
        raise CalibrationError(f"calibration text path is a directory, not a file: {path}")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise CalibrationError(
            f"cannot read calibration text file {path}: {exc.strerror}"
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CalibrationError(
            f"calibration text file {path} is not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    if "\x00" in text:
        raise CalibrationError(f"calibration text file {path} looks binary (contains NUL bytes)")
    if not text.strip():
        raise CalibrationError(f"calibration text file {path} is empty")
    return text


def bert_pieces(text: str) -> list[str]:
    """Units encoded for BERT batches: the stripped non-blank lines of ``text``."""
    return [s for s in (line.strip() for line in text.splitlines()) if s]


def lm_pieces(text: str) -> list[str]:
    """Units encoded for LM batches, as the LTS corpus does: each line stripped; a blank line
    becomes a single newline, any other line is prefixed with a newline and a space."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        out.append("\n " + s if s else "\n")
    return out


_PIECES = {"bert": bert_pieces, "lm": lm_pieces}


# ----------------------------------------------------------------------------------- tokenizers


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=2)
def shipped_tokenizer(kind: str):
    """The shipped ``tokenizers.Tokenizer`` for ``kind`` (``bert`` or ``lm``)."""
    from tokenizers import Tokenizer

    path = DATA_DIR / TOKENIZER_FILES[_check_kind(kind)]
    if not path.is_file():
        raise CalibrationError(f"shipped tokenizer file is missing: {path} (reinstall lpzero-gp)")
    return Tokenizer.from_file(str(path))


#: Environment variables that tell the Hugging Face libraries to stay offline.
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
#: Seconds to wait for the hub's port before a download is tried at all.
HUB_PROBE_SECONDS = 3.0
#: What to do when a hub tokenizer cannot be had, in one clause.
_LOCAL_HINT = ("give a local tokenizer directory (written by save_pretrained) or a .gguf file, "
               "or leave --tokenizer out for the shipped one")


def _offline() -> str | None:
    """The variable that says the Hugging Face hub is off limits, or None."""
    for name in OFFLINE_VARIABLES:
        if os.environ.get(name, "").strip().upper() in ("1", "ON", "YES", "TRUE"):
            return name
    return None


def _hub_unreachable() -> str | None:
    """Why the hub cannot be reached (no name resolution, no route, no answer within
    :data:`HUB_PROBE_SECONDS`), or None when its port answers or a proxy stands between."""
    import socket
    from urllib.parse import urlsplit

    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    url = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = url.hostname or "huggingface.co"
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=HUB_PROBE_SECONDS).close()
    except OSError as exc:
        return f"{host} is unreachable ({exc.strerror or type(exc).__name__})"
    return None


#: Files of which one is in the hub cache when a tokenizer was downloaded before.
_TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json", "config.json")


def _in_hub_cache(name: str) -> bool:
    """Whether the local Hugging Face cache holds files of hub repository ``name`` (a look at
    the disk only; transformers' own lookup may contact the hub); CalibrationError when
    ``name`` is neither a local path nor a hub repository name."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = [try_to_load_from_cache(name, file) for file in _TOKENIZER_FILES]
    except ValueError:  # huggingface_hub's HFValidationError: not a repository name
        raise CalibrationError(f"tokenizer {name!r} is neither a local directory nor a "
                               f"Hugging Face hub name; {_LOCAL_HINT}") from None
    return any(isinstance(path, str) for path in found)


class _QuietHub:
    """Raises the Hugging Face loggers to ERROR for a download, so retries print nothing."""

    NAMES = ("huggingface_hub", "transformers")

    def __enter__(self) -> None:
        import logging

        self.levels = {n: logging.getLogger(n).level for n in self.NAMES}
        for name in self.NAMES:
            logging.getLogger(name).setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        import logging

        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)


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
        return _gguf_tokenizer(expanded)
    if is_local and not os.path.isdir(expanded):
        raise CalibrationError(
            f"tokenizer path {name_or_path} is a file; give the directory written by "
            "save_pretrained, or a .gguf model file"
        )
    if not is_local and (os.path.isabs(expanded) or name_or_path.startswith((".", "~"))):
        raise CalibrationError(f"tokenizer directory not found: {name_or_path}")
    from transformers import AutoTokenizer

    if is_local or _in_hub_cache(name_or_path):
        try:
            return AutoTokenizer.from_pretrained(expanded, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear line
            if is_local:
                raise CalibrationError(
                    f"cannot load tokenizer {name_or_path!r}: {one_line(exc, limit=240)}"
                ) from None
    offline = _offline()
    if offline:
        raise CalibrationError(f"tokenizer {name_or_path!r} is not in the local Hugging Face "
                               f"cache and {offline} is set; {_LOCAL_HINT}")
    unreachable = _hub_unreachable()
    if unreachable:
        raise CalibrationError(f"tokenizer {name_or_path!r} is not in the local Hugging Face "
                               f"cache and {unreachable}; {_LOCAL_HINT}")
    try:
        with _QuietHub():
            return AutoTokenizer.from_pretrained(expanded)
    except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear line
        raise CalibrationError(
            f"cannot load tokenizer {name_or_path!r}: {one_line(exc, limit=200)}; {_LOCAL_HINT}"
        ) from None


def _gguf_tokenizer(path: str):
    """The tokenizer stored inside a GGUF model file."""
    from transformers import AutoTokenizer

    folder, name = os.path.split(path)
    try:
        return AutoTokenizer.from_pretrained(folder or ".", gguf_file=name, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear line
        raise CalibrationError(f"cannot load the tokenizer of {path}: "
                               f"{one_line(exc, limit=240)}") from None


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise CalibrationError(f"unknown calibration batch kind {kind!r}; expected one of {KINDS}")
    return kind


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
    pieces = _PIECES[_check_kind(kind)](default_text() if text is None else text)
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


# ----------------------------------------------------------------------------------- pinned ids


@lru_cache(maxsize=1)
def pinned_meta() -> dict[str, Any] | None:
    """Provenance of the pinned default streams, or None when they are absent or do not belong
    to the shipped tokenizer files (then the default text is tokenised afresh)."""
    meta_path, ids_path = DATA_DIR / PINNED_META_FILE, DATA_DIR / PINNED_IDS_FILE
    if not (meta_path.is_file() and ids_path.is_file()):
        return None
    meta = read_json(meta_path, "pinned calibration metadata", error=CalibrationError)
    for kind in KINDS:
        tok_path = DATA_DIR / TOKENIZER_FILES[kind]
        if not tok_path.is_file() or meta["tokenizers"][kind]["sha256"] != _file_sha256(tok_path):
            return None
    return meta


@lru_cache(maxsize=2)
def _pinned_stream(kind: str) -> np.ndarray | None:
    if pinned_meta() is None:
        return None
    with np.load(DATA_DIR / PINNED_IDS_FILE, allow_pickle=False) as data:
        return data[kind].astype(np.int64)


def pinned_stream(kind: str) -> np.ndarray | None:
    """The pinned default-text token stream for ``kind`` (a copy), or None if unavailable."""
    arr = _pinned_stream(_check_kind(kind))
    return None if arr is None else arr.copy()


# -------------------------------------------------------------------------------------- batches


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
    pinned = _pinned_stream(kind)
    return pinned is not None and pinned.size >= need


def _stream_for(
    kind: str, shape: tuple[int, int], tokenizer: str | None, text: str | None
) -> np.ndarray:
    need = _tokens_needed(kind, *shape)
    if _uses_pinned(kind, need, tokenizer, text):
        return _pinned_stream(kind)
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
    if _check_kind(spec.kind) == "bert":
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
    _check_kind(kind)
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
        info["tokenizer_sha256"] = _file_sha256(path)
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
