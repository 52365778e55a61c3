"""The pinned token streams of the default text (package data), so the default batch is the
same on every Python whatever its reference prose."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from lpzero_gp.errors import CalibrationError
from lpzero_gp.jsonfile import read_json
from lpzero_gp.stats.text import KINDS, check_kind
from lpzero_gp.stats.tokenizers import DATA_DIR, TOKENIZER_FILES, file_sha256

#: Pinned token streams of the default text (``.npz``, one uint16 array per kind) and their
#: provenance (Python version, text hash, tokenizer hashes).
PINNED_IDS_FILE = "calibration_ids.npz"
PINNED_META_FILE = "calibration_ids.json"


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
        if not tok_path.is_file() or meta["tokenizers"][kind]["sha256"] != file_sha256(tok_path):
            return None
    return meta


@lru_cache(maxsize=2)
def shared_stream(kind: str) -> np.ndarray | None:
    """The cached pinned stream itself (never hand it to a caller: see :func:`pinned_stream`),
    or None if unavailable."""
    if pinned_meta() is None:
        return None
    with np.load(DATA_DIR / PINNED_IDS_FILE, allow_pickle=False) as data:
        return data[kind].astype(np.int64)


def pinned_stream(kind: str) -> np.ndarray | None:
    """The pinned default-text token stream for ``kind`` (a copy), or None if unavailable."""
    arr = shared_stream(check_kind(kind))
    return None if arr is None else arr.copy()

__all__ = ["PINNED_IDS_FILE", "PINNED_META_FILE", "pinned_meta", "pinned_stream", "shared_stream"]
