"""The one check of a GGUF file's header, read before any loader parses the file: a regular
file, the magic, a version and tensor and metadata counts a model file can have."""

from __future__ import annotations

import os
import stat
import struct

from lpzero_gp.errors import LpzeroError

#: Most tensors and metadata entries a GGUF header may declare (a 405B-parameter model has
#: about 1,100 tensors and 40 entries): a header beyond them is not a model file.
MAX_GGUF_TENSORS, MAX_GGUF_ENTRIES = 1 << 20, 1 << 16


def check_gguf_header(path: str | os.PathLike, error: type[LpzeroError]) -> None:
    """Raise ``error`` naming ``path`` unless it is a regular file with a sane GGUF header."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise error(f"{path} is not a regular file (a device or a pipe?)")
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(head) < 24 or head[:4] != b"GGUF":
        raise error(f"{path} is not a GGUF file (no GGUF header)")
    version, tensors, entries = struct.unpack("<IQQ", head[4:24])
    if not 1 <= version <= 16 or tensors > MAX_GGUF_TENSORS or entries > MAX_GGUF_ENTRIES:
        raise error(f"{path}: GGUF header declares version {version}, {tensors:,} tensors "
                    f"and {entries:,} metadata entries (at most {MAX_GGUF_TENSORS:,} and "
                    f"{MAX_GGUF_ENTRIES:,}): not a model file")


__all__ = ["MAX_GGUF_ENTRIES", "MAX_GGUF_TENSORS", "check_gguf_header"]
