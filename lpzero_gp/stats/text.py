"""The calibration text: the offline default (Python's own reference prose, which ships with
every Python), a user's text file, and the units each batch kind encodes."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from functools import lru_cache
from pathlib import Path

from lpzero_gp.errors import CalibrationError, env_limit

#: Where the default text comes from.
DEFAULT_TEXT_SOURCE = "pydoc_data.topics"
#: The calibration batch kinds: BERT-style (masked LM) and next-token LM.
KINDS = ("bert", "lm")
#: Largest calibration text file read, in MiB (a batch needs a few thousand tokens; the whole
#: file is tokenised), and the environment variable that raises it.
MAX_TEXT_MB, MAX_TEXT_MB_ENV = 16, "LPZERO_GP_MAX_TEXT_MB"


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
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise CalibrationError(f"calibration text file not found: {path}") from None
    except OSError as exc:
        raise CalibrationError(
            f"cannot read calibration text file {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise CalibrationError(f"calibration text path is a directory, not a file: {path}")
    if not stat.S_ISREG(st.st_mode):
        raise CalibrationError(f"calibration text path {path} is not a regular file (a device "
                               "or a pipe?): give a text file")
    limit = env_limit(MAX_TEXT_MB_ENV, MAX_TEXT_MB)
    if st.st_size > limit << 20:
        raise CalibrationError(f"calibration text file {path} is {st.st_size / (1 << 20):,.0f} "
                               f"MiB, over the {limit:,} MiB limit (a batch needs a few thousand "
                               f"tokens; raise the limit with {MAX_TEXT_MB_ENV}=MB)")
    try:
        with open(p, "rb") as f:  # never more than the limit, if the file grew meanwhile
            raw = f.read((limit << 20) + 1)
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


PIECES = {"bert": bert_pieces, "lm": lm_pieces}


def check_kind(kind: str) -> str:
    """``kind`` itself when it is a batch kind; CalibrationError otherwise."""
    if kind not in KINDS:
        raise CalibrationError(f"unknown calibration batch kind {kind!r}; expected one of {KINDS}")
    return kind

__all__ = [
    "DEFAULT_TEXT_SOURCE", "KINDS", "MAX_TEXT_MB", "MAX_TEXT_MB_ENV", "PIECES", "bert_pieces",
    "check_kind", "default_text", "lm_pieces", "load_text", "python_version", "text_sha256",
]
