"""The one folder lock: a results folder is written by one lpzero-gp process at a time.

The lock is an advisory ``flock`` on a hidden sibling file ``.<name>.lock`` that holds the
owner's process id. It is released (and the file removed) when the owner finishes, and by the
operating system when the owner dies, so a killed run never leaves a stale lock behind. Within
one process the lock is re-entrant: a run that holds its folder may open it again to write.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from lpzero_gp.errors import ResultsError

try:  # POSIX; elsewhere folders are not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Locks this process holds: lock file -> (descriptor, depth).
_HELD: dict[Path, tuple[int, int]] = {}


def lock_file(target: str | Path) -> Path:
    """The lock file of ``target``: ``.<name>.lock`` beside it."""
    target = Path(target).resolve()
    return target.parent / f".{target.name}.lock"


def _owner(path: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(path.read_text().strip() or "0")
        if pid:
            return f" (process {pid})"
    return ""


class FolderLock:
    """Hold ``target`` exclusively for this process; ResultsError at once if another holds it.

    ``what`` names the folder in the error (``results folder``, ``cache folder``, ...).
    """

    def __init__(self, target: str | Path, what: str = "results folder"):
        self.target = Path(target)
        self.path = lock_file(target)
        self.what = what

    def __enter__(self) -> FolderLock:
        if fcntl is None:
            return self
        if self.path in _HELD:
            fd, depth = _HELD[self.path]
            _HELD[self.path] = (fd, depth + 1)
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultsError(f"cannot create {self.path.parent}: "
                               f"{exc.strerror or exc}") from None
        for _ in range(10):  # the holder may remove the file between our open and our lock
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ResultsError(f"{self.what} {self.target} is in use by another lpzero-gp "
                                   f"command{_owner(self.path)}; wait for it to finish or "
                                   "choose another folder") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                _HELD[self.path] = (fd, 1)
                return self
            os.close(fd)
        raise ResultsError(f"cannot lock {self.what} {self.target}")

    def __exit__(self, *exc: object) -> None:
        if fcntl is None or self.path not in _HELD:
            return
        fd, depth = _HELD[self.path]
        if depth > 1:
            _HELD[self.path] = (fd, depth - 1)
            return
        del _HELD[self.path]
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(fd)  # closing releases the lock


__all__ = ["FolderLock", "lock_file"]
