"""The one error hierarchy: every error a user can fix is an :class:`LpzeroError`.

The command line prints such an error as one line ``error: ...`` and exits with code 2; each
subclass says where the problem came from. Library code raises these and never exits.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import warnings
from collections.abc import Iterator
from typing import Any


class LpzeroError(ValueError):
    """A problem the user can fix (bad option, file or proxy); shown as one line, exit 2."""


class OptionError(LpzeroError):
    """An absurd option value or a combination of options that cannot work together."""


class SpaceError(LpzeroError):
    """A space's input: unknown space or variant, a bad benchmark file or record.

    Raised by a space's ``build`` or ``collect``, it means an architecture the space refuses
    (one it cannot build or run): the engine skips that architecture with one line.
    """


class CalibrationError(LpzeroError):
    """The calibration text, tokenizer or batch cannot be used."""


class ProxyError(LpzeroError):
    """A proxy string that does not parse or type-check against the primitive set."""


class CheckpointError(LpzeroError):
    """A checkpoint that is missing, unreadable, damaged or from another version."""


class ResultsError(LpzeroError):
    """A results folder that exists (without ``--force``) or cannot be written."""


class ParallelError(LpzeroError):
    """Workers or a Dask scheduler that cannot be used."""


#: The bidirectional marks, embeddings, overrides and isolates: they make text display other
#: than it reads.
BIDI_CHARS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: Characters that must not reach a terminal or a table cell as they are: C0 and C1 controls,
#: the Unicode line and paragraph separators, lone surrogates (no text encodes them), and the
#: bidirectional controls.
UNSAFE_CHARS = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{BIDI_CHARS}]")


def printable(text: str, keep: str = "") -> str:
    """``text`` with every :data:`UNSAFE_CHARS` character shown as its escape (``\\x1b``,
    ``\\u202e``, ``\\n``), so a printed path or id can neither move the cursor, clear the
    screen, split a line nor reorder what is shown; ``keep``: characters left as they are."""
    def escape(m: re.Match) -> str:
        char = m.group()
        return char if char in keep else char.encode("unicode_escape").decode("ascii")

    return UNSAFE_CHARS.sub(escape, text)


def writable(stream: Any) -> bool:
    """Whether ``stream`` can be written: not None, and its descriptor open for writing
    (stderr closed with ``2>&-`` cannot be, or names a file the system opened for reading; a
    bar there would fail the command it only reports on). A stream without a descriptor
    (captured output) counts as writable."""
    if stream is None:
        return False
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): trust the stream
        return True
    try:
        mode = fcntl.fcntl(stream.fileno(), fcntl.F_GETFL) & os.O_ACCMODE
    except io.UnsupportedOperation:  # before OSError and ValueError: it is both
        return True
    except (OSError, ValueError, AttributeError):  # closed, or no descriptor at all
        return False
    return mode in (os.O_WRONLY, os.O_RDWR)


def one_line(exc: BaseException, with_type: bool = False, limit: int | None = None) -> str:
    """The first line of an exception's message (its type name when it has none).

    ``with_type`` prefixes the type (``ValueError: ...``), for errors that are not the user's;
    ``limit`` shortens a long line to that many characters.
    """
    lines = str(exc).strip().splitlines()
    name = type(exc).__name__
    if not lines:
        return name
    msg = f"{name}: {lines[0]}" if with_type else lines[0]
    return msg if limit is None or len(msg) <= limit else msg[:limit - 3] + "..."


def env_limit(name: str, default: int) -> int:
    """A size limit: the environment variable ``name`` (a positive whole number) or
    ``default``; OptionError naming the variable when it is set to anything else."""
    text = os.environ.get(name, "").strip().replace("_", "")
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise OptionError(f"{name}={os.environ[name]!r}: give a positive whole number")
    return int(text)


#: Loggers of the libraries that load models and tokenizers for the spaces and the engine.
THIRD_PARTY_LOGGERS = ("transformers", "huggingface_hub", "accelerate", "peft", "gguf")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REPORT_STATUS = re.compile(r"\|\s*(MISSING|UNEXPECTED|MISMATCH|CONVERSION)\s*\|")


class Captured(list):
    """The lines a third-party library printed or logged while :func:`captured_output` ran."""

    def summary(self, limit: int = 200) -> str:
        """The captured lines as one line ('' when there were none): a transformers load
        report becomes its key counts (``load report: 2 mismatched keys``), anything else its
        first line and how many more there were."""
        lines = [line for line in (_ANSI.sub("", x).strip() for x in self) if line]
        if not lines:
            return ""
        statuses = [m.group(1) for line in lines if (m := _REPORT_STATUS.search(line))]
        if statuses:
            names = {"MISSING": "missing", "UNEXPECTED": "unexpected",
                     "MISMATCH": "mismatched", "CONVERSION": "unconverted"}
            counts = [f"{statuses.count(s)} {names[s]}" for s in names if s in statuses]
            return f"load report: {', '.join(counts)} weight tensor(s)"
        text = lines[0].removeprefix("[transformers]").strip()
        text = text if len(text) <= limit else text[:limit - 3] + "..."
        more = len(lines) - 1
        return f"{text} (+{more} more line{'s' if more > 1 else ''})" if more else text

    def note(self) -> str:
        """`` (summary)`` to append to an error message, or ''."""
        text = self.summary()
        return f" ({text})" if text else ""


class _ListHandler(logging.Handler):
    def __init__(self, sink: Captured) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.sink.extend(record.getMessage().splitlines())


@contextlib.contextmanager
def captured_output(loggers: tuple[str, ...] = THIRD_PARTY_LOGGERS) -> Iterator[Captured]:
    """Capture what third-party loaders log (warning and above), print to stdout and warn,
    so that a model load reports in one line of ours instead of a page of theirs; the
    yielded :class:`Captured` holds the lines (summarise with ``summary``/``note``)."""
    sink = Captured()
    handler = _ListHandler(sink)
    saved = []
    for name in loggers:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate))
        logger.handlers = [handler]
        logger.propagate = False
    stdout = io.StringIO()
    try:
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(stdout):
            warnings.simplefilter("always")
            try:
                yield sink
            finally:
                sink.extend(str(w.message) for w in caught)
                sink.extend(stdout.getvalue().splitlines())
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers = handlers
            logger.propagate = propagate


__all__ = [
    "CalibrationError", "Captured", "CheckpointError", "LpzeroError", "OptionError",
    "ParallelError", "ProxyError", "ResultsError", "SpaceError", "THIRD_PARTY_LOGGERS",
    "BIDI_CHARS", "UNSAFE_CHARS", "captured_output", "env_limit", "one_line", "printable",
    "writable",
]
