"""Tokenizers read from GGUF model files (``--tokenizer model.gguf``)."""

from __future__ import annotations

import os

from lpzero_gp.errors import CalibrationError, one_line


def gguf_tokenizer(path: str):
    """The tokenizer stored inside a GGUF model file."""
    from transformers import AutoTokenizer

    folder, name = os.path.split(path)
    try:
        return AutoTokenizer.from_pretrained(folder or ".", gguf_file=name, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear line
        raise CalibrationError(f"cannot load the tokenizer of {path}: "
                               f"{one_line(exc, limit=240)}") from None

__all__ = ["gguf_tokenizer"]
