"""The one error hierarchy: every error a user can fix is an :class:`LpzeroError`.

The command line prints such an error as one line ``error: ...`` and exits with code 2; each
subclass says where the problem came from. Library code raises these and never exits.
"""

from __future__ import annotations


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


__all__ = [
    "CalibrationError", "CheckpointError", "LpzeroError", "OptionError", "ParallelError",
    "ProxyError", "ResultsError", "SpaceError", "one_line",
]
