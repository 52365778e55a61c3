"""The one atomic writer: files and folders appear complete or not at all.

A file is written to a uniquely named temporary sibling, flushed and fsynced, then renamed over
its target (and the folder entry fsynced), so a crash or a full disk never leaves a half-written
file or a stray temporary one. :class:`AtomicFolder` does the same for a whole results folder:
before the rename it fsyncs every file and folder in it (those its callers wrote, plots saved by
matplotlib included), and after it the parent, so a results folder that exists is on disk.
:func:`make_folder` creates folders the same way (the parent of each fsynced), and
:func:`check_outside_cache` keeps results folders out of the statistics cache folder in use.

CSV cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) are written with a leading ``'``; numbers are left alone.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from lpzero_gp.errors import ResultsError
from lpzero_gp.lock import FolderLock


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """fsync every regular file under ``folder``, then every folder, deepest first.

    Symbolic links are neither followed nor synced. OSError from a file's fsync propagates:
    a file that cannot be made durable is a failed write.
    """
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    folders = []
    for root, _dirs, files in os.walk(folder):
        folders.append(Path(root))
        for name in sorted(files):
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                continue
            fd = os.open(path, os.O_RDONLY | nofollow)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for sub in reversed(folders):
        _fsync_dir(sub)


def make_folder(folder: str | Path) -> None:
    """Create ``folder`` and its missing parents (none if it exists), then fsync the parent of
    each folder made: a created folder's entry is on disk, so a power loss cannot drop it (and
    all that was later written into it)."""
    folder = Path(folder)
    made = []
    step = folder
    while not step.exists() and not step.is_symlink() and step.parent != step:
        made.append(step)
        step = step.parent
    folder.mkdir(parents=True, exist_ok=True)
    for sub in made:  # deepest first: each new entry, then the folder that holds it
        _fsync_dir(sub.parent)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(binary_file)`` on a temporary sibling of ``path``, then rename it over.

    OSError (a full disk, a read-only folder) propagates after the temporary file is removed.
    """
    path = Path(path)
    make_folder(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda f: f.write(data))


def atomic_text(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_bytes(path, text.encode("utf-8"))


def atomic_json(path: str | Path, data: Any, **dumps: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (``dumps`` are json.dumps options)."""
    atomic_text(path, json.dumps(data, **dumps))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (True when unsure)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


#: How an exists error names the switch that replaces a folder when the caller does not say.
FORCE = "force=True (--force)"


def exists_error(out: str | Path, force: str = FORCE, appeared: bool = False) -> ResultsError:
    """The one-line error for a results folder that exists (or ``appeared`` while writing);
    ``force`` names the switch that replaces it as the caller's reader spells it."""
    what = "appeared while this command ran" if appeared else "exists"
    return ResultsError(f"results folder {out} {what} (use {force} to replace it)")


def _real(path: Path) -> Path | None:
    """``path`` made absolute with its links followed (None if it cannot be followed)."""
    try:
        return Path(os.path.expanduser(str(path))).resolve()
    except (OSError, RuntimeError):  # a symlink loop: refused where it is opened
        return None


def make_parent(out: str | Path) -> Path:
    """The parent folders of results folder ``out`` made, each fsynced in its own parent
    (:func:`make_folder`), before a lock file is put beside ``out``; ResultsError naming
    ``out`` when they cannot be. Returns ``out``."""
    out = Path(out)
    try:
        make_folder(out.resolve().parent)
    except OSError as exc:
        raise ResultsError(f"cannot write results to {out}: {exc.strerror or exc}") from None
    return out


def check_outside_cache(out: str | Path, cache: str | Path | None, results: bool = True
                        ) -> None:
    """ResultsError (one line) if results folder ``out`` is the statistics cache folder
    ``cache`` in use or lies inside it: writing it could replace cached statistics, and
    clearing the cache would delete the results (``cache`` None: no cache, nothing to check);
    then, for results, :func:`check_replaceable` of an ``out`` that exists."""
    where, root = _real(Path(out)), _real(Path(cache)) if cache is not None else None
    if where is not None and root is not None and where.is_relative_to(root):
        what = "is" if where == root else "is inside"
        raise ResultsError(f"results folder {out} {what} the statistics cache folder {root} "
                           "(clearing the cache would delete the results): write them "
                           "elsewhere")
    if results and Path(out).is_dir() and not Path(out).is_symlink():
        check_replaceable(Path(out))



#: What a results folder of any command holds: files of these kinds, and no sub-folder.
RESULT_SUFFIXES = (".json", ".csv", ".md", ".png", ".tex")


def check_replaceable(out: Path, force_name: str = FORCE) -> None:
    """ResultsError (one line) unless the existing folder ``out`` looks like results this
    package wrote (files of :data:`RESULT_SUFFIXES`, no sub-folder): ``--force`` replaces
    results, never a folder holding other work (data, a cache, a checkpoint folder)."""
    if out.name.endswith(".checkpoint") and out.name.startswith("."):
        raise ResultsError(f"{out} is a run's checkpoint folder, not a results folder: "
                           f"{force_name} never replaces it")
    try:
        entries = list(out.iterdir())
    except OSError as exc:
        raise ResultsError(f"cannot read {out}: {exc.strerror or exc}") from None
    other = sorted(e.name for e in entries if e.is_symlink() or not e.is_file()
                   or e.suffix not in RESULT_SUFFIXES)
    if other:
        shown = ", ".join(other[:3]) + (f" and {len(other) - 3} more" if len(other) > 3 else "")
        raise ResultsError(f"{out} holds what no lpzero-gp command writes ({shown}): "
                           f"{force_name} replaces only a results folder; choose another "
                           "folder")


def _plain(x):
    """JSON form of what json cannot write: NumPy scalars, tuples, else the text form."""
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, tuple):
        return list(x)
    return str(x)


class AtomicFolder:
    """Write into a temporary sibling folder; rename to ``out`` only when everything is written.

    An existing ``out`` is replaced only with ``force`` (the error names it as ``force_name``,
    the caller's spelling: ``force=True`` or ``--force``); an ``out`` in the statistics folder
    ``cache`` that the command uses is refused (:func:`check_outside_cache`); a failure leaves
    nothing behind, and a process killed while writing leaves only a hidden
    ``.<name>.partial-<pid>-*`` folder, which the next write to the same ``out`` removes.
    A ``results`` folder replaces only a folder of results (:func:`check_replaceable`); a
    cache entry (``results=False``) replaces its damaged predecessor whatever it holds.
    """

    def __init__(self, out: str | Path, force: bool = False, force_name: str = FORCE,
                 cache: str | Path | None = None, results: bool = True):
        self.out = Path(out)
        self.force = force
        self.force_name = force_name
        check_outside_cache(self.out, cache, results)
        if self.out.exists() and not self.out.is_dir():
            raise ResultsError(f"{self.out} exists and is not a folder")
        if self.out.exists() and not force:
            raise exists_error(self.out, force_name)
        self.tmp: Path | None = None
        # held from now until the results are written (or this object is gone): a second
        # command on the same folder is refused before it does any work, not after
        make_parent(self.out)  # each new parent fsynced before the lock file goes beside it
        self._lock = FolderLock(self.out)
        self._lock.__enter__()
        self._release = weakref.finalize(self, self._lock.__exit__)

    def _prefix(self, kind: str) -> str:
        return f".{self.out.name}.{kind}-"

    def _remove_stale(self, parent: Path) -> None:
        """Remove temporary folders of this ``out`` left by processes that no longer run."""
        for kind in ("partial", "old"):
            for p in parent.glob(self._prefix(kind) + "*"):
                pid = p.name[len(self._prefix(kind)):].split("-")[0]
                if pid.isdigit() and not _alive(int(pid)):
                    shutil.rmtree(p, ignore_errors=True)

    def __enter__(self) -> AtomicFolder:
        parent = self.out.resolve().parent
        try:
            make_folder(parent)
            self._remove_stale(parent)
            self.tmp = Path(tempfile.mkdtemp(prefix=self._prefix("partial") + f"{os.getpid()}-",
                                             dir=parent))  # private until renamed
        except OSError as exc:
            self._release()
            raise ResultsError(f"cannot write results to {self.out}: "
                               f"{exc.strerror or exc}") from None
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._finish(exc_type)
        finally:
            self._release()
        if exc_type is not None and issubclass(exc_type, OSError):  # a full disk, say
            raise ResultsError(f"cannot write results to {self.out}: "
                               f"{exc.strerror or exc}; nothing was written") from None

    def _finish(self, exc_type) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.out.exists() and not self.force:  # written meanwhile by another command
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise exists_error(self.out, self.force_name, appeared=True)
        try:
            self._replace()
        except OSError as exc:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise ResultsError(f"cannot write results to {self.out}: "
                               f"{exc.strerror or exc}") from None

    def _replace(self) -> None:
        self.tmp.chmod(0o777 & ~_umask())
        _fsync_tree(self.tmp)  # every file and folder on disk before the folder appears
        old = None
        if self.out.exists():  # move aside first so that ``out`` is never half-replaced
            old = self.out.parent / (self._prefix("old") + f"{os.getpid()}-{self.tmp.name}")
            self.out.replace(old)
        try:
            self.tmp.replace(self.out)
        except OSError:
            if old is not None:  # put the previous results back
                with contextlib.suppress(OSError):
                    old.replace(self.out)
            raise
        if old is not None and old.is_symlink():  # a linked --out: the link goes, not its target
            with contextlib.suppress(OSError):
                old.unlink()
        elif old is not None:
            shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(self.out.parent)

    def path(self, name: str) -> Path:
        """Path of a file inside the (temporary) folder."""
        return self.tmp / name

    def json(self, name: str, data) -> None:
        """Write a JSON file (sorted keys, so reruns are byte-identical)."""
        self.path(name).write_text(json.dumps(data, indent=2, sort_keys=True, default=_plain)
                                   + "\n")

    def text(self, name: str, text: str) -> None:
        """Write a text file."""
        self.path(name).write_text(text)

    def csv(self, name: str, rows: list[dict]) -> None:
        """Write rows as CSV (columns from the first row); text cells and column names that
        a spreadsheet would run as a formula get a leading ``'`` (:func:`csv_cell`)."""
        with open(self.path(name), "w", newline="") as f:
            if not rows:
                return
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writerow({key: csv_cell(key) for key in rows[0]})
            w.writerows({key: csv_cell(value) for key, value in row.items()} for row in rows)


#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell: text starting with a formula character gets a leading ``'``.

    Numbers, and text that is exactly a number (``-0.5``, ``-inf``), are kept as they are.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if value == value.strip():
        with contextlib.suppress(ValueError):
            float(value)
            return value
    return "'" + value

__all__ = [
    "RESULT_SUFFIXES", "check_replaceable",
    "FORCE", "FORMULA_STARTS", "AtomicFolder", "atomic_bytes", "atomic_json", "atomic_text",
    "atomic_write", "check_outside_cache", "csv_cell", "exists_error", "make_folder",
    "make_parent",
]
