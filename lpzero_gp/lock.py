"""The one folder lock: a results folder is written by one lpzero-gp process at a time.

The lock is an advisory ``flock`` on a hidden sibling file ``.<name>.lock`` that holds the
owner's process id. It is released (and the file removed) when the owner finishes, and by the
operating system when the owner dies, so a killed run never leaves a stale lock behind. Within
one process the lock is re-entrant: a run that holds its folder may open it again to write.

The lock file sits beside user data, so it is opened without following a symbolic link and only
if it is a regular file with one name: a link planted at ``.<name>.lock`` (to a file the user
can write) is refused in one line, never written through.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
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


#: How a lock file is opened: created if missing, never through a symbolic link, never
#: blocking (a FIFO planted there), not inherited by child processes.
_OPEN_FLAGS = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))


def _owner(fd: int) -> str:
    """`` (process N)`` from the lock file open as ``fd`` (empty when it holds no pid)."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode("ascii").strip() or "0")
        if pid:
            return f" (process {pid})"
    return ""


def _refusal(path: Path, mode: int, links: int) -> str | None:
    """Why ``path`` (its ``st_mode``, ``st_nlink``) cannot be a lock file; None if it can."""
    if stat.S_ISLNK(mode):
        return f"lock file {path} is a symbolic link; remove it and run again"
    if not stat.S_ISREG(mode):
        return f"lock file {path} is not a regular file; remove it and run again"
    if links > 1:
        return f"lock file {path} has other hard links; remove it and run again"
    return None


def _open_lock(path: Path) -> int:
    """A descriptor of the lock file ``path``: a regular file of one name, never a link's
    target; ResultsError naming ``path`` otherwise."""
    with contextlib.suppress(FileNotFoundError):  # a clear word before the open refuses it
        st = os.lstat(path)
        reason = _refusal(path, st.st_mode, st.st_nlink)
        if reason:
            raise ResultsError(reason)
    try:
        fd = os.open(path, _OPEN_FLAGS, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link planted between the check and the open
            raise ResultsError(_refusal(path, stat.S_IFLNK, 1)) from None
        raise ResultsError(f"cannot open lock file {path}: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    reason = _refusal(path, st.st_mode, st.st_nlink)
    if reason:
        os.close(fd)
        raise ResultsError(reason)
    return fd


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
            fd = _open_lock(self.path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _owner(fd)
                os.close(fd)
                raise ResultsError(f"{self.what} {self.target} is in use by another lpzero-gp "
                                   f"command{owner}; wait for it to finish or "
                                   "choose another folder") from None
            same = _same_file(fd, self.path)
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
        if _same_file(fd, self.path):  # never remove what another process put there
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        os.close(fd)  # closing releases the lock


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` (not followed if a link) is still the file open as ``fd``."""
    try:
        here, there = os.fstat(fd), os.lstat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


__all__ = ["FolderLock", "lock_file"]
