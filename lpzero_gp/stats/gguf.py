"""Tokenizers read from GGUF model files (``--tokenizer model.gguf``)."""

from __future__ import annotations

import os
import stat
import struct

from lpzero_gp.errors import CalibrationError, captured_output, one_line

#: Most metadata entries a GGUF header may declare (the tokenizer is read from them; a model
#: file holds a few dozen): a header beyond it is not a model file.
MAX_GGUF_ENTRIES = 1 << 16


def check_gguf(path: str) -> None:
    """A regular file that starts with a GGUF header of sane size; CalibrationError naming the
    file otherwise (checked before the tokenizer loader parses it)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise CalibrationError(f"{path} is not a regular file (a device or a pipe?)")
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError as exc:
        raise CalibrationError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(head) < 24 or head[:4] != b"GGUF":
        raise CalibrationError(f"{path} is not a GGUF file (no GGUF header)")
    entries = struct.unpack("<Q", head[16:24])[0]
    if entries > MAX_GGUF_ENTRIES:
        raise CalibrationError(f"{path}: GGUF header declares {entries:,} metadata entries "
                               f"(at most {MAX_GGUF_ENTRIES:,}): not a model file")


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
