"""Which failures belong to one architecture (it is skipped) and which stop the command, and
the one-line reports of skipped architectures and damaged cache entries.

A space refuses an architecture by raising :class:`SpaceError` from ``build`` or ``collect`` (a
record it cannot build, a non-finite loss); an architecture may also not fit in memory. Those
are that architecture's alone: it is skipped with one line and the others go on. Any other
exception is a bug, in the engine or in a space, and propagates: the command stops with exit
code 1 and ``LPZERO_GP_DEBUG=1`` shows its traceback (a worker's included).
"""

from __future__ import annotations

from pathlib import Path

import torch

from lpzero_gp.errors import SpaceError

#: Fragments of the messages torch's allocators give when memory runs out as a plain
#: RuntimeError (CPU: "can't allocate memory", formerly "not enough memory"; MPS, and CUDA
#: before ``torch.cuda.OutOfMemoryError``: "out of memory").
_ALLOCATOR_MESSAGES = ("out of memory", "can't allocate memory", "not enough memory")


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says that memory ran out (Python's, or a torch device's)."""
    if isinstance(exc, MemoryError | torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in _ALLOCATOR_MESSAGES)


def architecture_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is an expected failure of one architecture: the space refuses it or it
    does not fit in memory (skipped with one line); anything else stops the command."""
    return isinstance(exc, SpaceError) or out_of_memory(exc)


def failure_line(exc: BaseException) -> str:
    """The one line that says why an architecture was skipped (``Type: first line``)."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _more(n: int) -> str:
    return f" (and {n - 1} more)" if n > 1 else ""


def skipped_line(failures: dict[str, str]) -> str:
    """One warning line for the architectures skipped (id -> why): how many, the first with
    its reason."""
    first, n = next(iter(failures)), len(failures)
    return (f"{n} architecture{'' if n == 1 else 's'} skipped: {first}: {failures[first]}"
            f"{_more(n)}")


def damaged_line(kind: str, folder: Path, damaged: dict[str, str]) -> str:
    """One warning line for the damaged entries (id -> why) of a ``kind`` cache in ``folder``:
    how many, the first with its reason, and that they are recomputed."""
    first, n = next(iter(damaged)), len(damaged)
    return (f"{n} {kind} entr{'y' if n == 1 else 'ies'} in {folder} damaged: architecture "
            f"{first}: {damaged[first]}{_more(n)}; recomputing")


__all__ = ["architecture_failure", "damaged_line", "failure_line", "out_of_memory",
           "skipped_line"]
