"""Tokenizers read from GGUF model files (``--tokenizer model.gguf``)."""

from __future__ import annotations

import os

from lpzero_gp.errors import CalibrationError, captured_output, one_line
from lpzero_gp.spaces.base import MAX_GGUF_ENTRIES, check_gguf_header


def check_gguf(path: str) -> None:
    """A regular file that starts with a GGUF header of sane size; CalibrationError naming the
    file otherwise (checked before the tokenizer loader parses it)."""
    check_gguf_header(path, CalibrationError)


def gguf_tokenizer(path: str):
    """The tokenizer stored inside a GGUF model file."""
    from transformers import AutoTokenizer

    check_gguf(path)
    folder, name = os.path.split(path)
    try:
        with captured_output() as report:
            return AutoTokenizer.from_pretrained(folder or ".", gguf_file=name,
                                                 local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear line
        raise CalibrationError(f"cannot load the tokenizer of {path}: "
                               f"{one_line(exc, limit=240)}{report.note()}") from None

__all__ = ["MAX_GGUF_ENTRIES", "check_gguf", "gguf_tokenizer"]
