"""The one progress bar: tqdm on stderr, hidden while a quiet command runs.

A command asked to be quiet (``--quiet``, ``quiet=True``) hides every bar it shows, those the
spaces show while they read a benchmark or load a model included: the engine hands the spaces
its quiet setting through :func:`shown`, so a space needs no progress option of its own. It
stands beside the Space contract, which the spaces and the engine both read.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from lpzero_gp.errors import writable

_SHOWN: ContextVar[bool] = ContextVar("lpzero_gp_progress_shown", default=True)
F = TypeVar("F", bound=Callable[..., Any])


def bar(*args: Any, disable: bool = False, **kwargs: Any) -> Any:
    """A tqdm bar on stderr (``disable``: hidden here; hidden anyway inside :func:`shown`
    (False))."""
    from tqdm import tqdm

    kwargs.setdefault("file", sys.stderr)
    return tqdm(*args, disable=disable or not _SHOWN.get() or not writable(kwargs["file"]),
                **kwargs)


@contextmanager
def shown(on: bool) -> Iterator[None]:
    """Bars are shown inside this block only if ``on`` (and they were shown outside it)."""
    token = _SHOWN.set(on and _SHOWN.get())
    try:
        yield
    finally:
        _SHOWN.reset(token)


def honours_quiet(command: F) -> F:
    """A command function whose first argument's ``quiet`` hides every bar while it runs."""

    @functools.wraps(command)
    def run(opts: Any, *args: Any, **kwargs: Any) -> Any:
        with shown(not getattr(opts, "quiet", False)):
            return command(opts, *args, **kwargs)

    return run  # type: ignore[return-value]


__all__ = ["bar", "honours_quiet", "shown"]
