"""The persistent statistics cache: where it lives, what it holds, and clearing it.

Statistics are a pure function of (space and its options, the space's model-code version,
variant, semantics, seed, stored-element budget, device, calibration batch, lpzero-gp version)
and of each record (its config and the files it or the options point at: the space's record
digest), so they are kept by default in the user's cache folder (the platform's convention, via
platformdirs). ``$LPZERO_GP_CACHE_DIR`` or ``--cache-dir`` choose another folder;
``--no-cache`` or ``LPZERO_GP_NO_CACHE=1`` keep nothing. Each configuration has its own
sub-folder named by a hash of its key, with a ``key.json`` saying what it is, and each record a
file named by a hash of its id and record digest (``stats/extract.py``); every file is written
by an atomic rename, so concurrent commands can share a cache. Spaces keep what they convert
from model files (llama: GGUF weights) in its ``models`` sub-folder, in entries of the same
form (a hash-named folder with a ``key.json`` naming the space).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from lpzero_gp.atomic import atomic_json
from lpzero_gp.errors import LpzeroError, OptionError, ResultsError, one_line
from lpzero_gp.jsonfile import loads_json

#: Environment variable naming the cache folder.
ENV_DIR = "LPZERO_GP_CACHE_DIR"
#: Environment variable that turns the cache off (1, true, yes).
ENV_OFF = "LPZERO_GP_NO_CACHE"
#: File in each configuration's sub-folder describing its key.
KEY_FILE = "key.json"
#: Sub-folder of the hand-crafted baselines' per-architecture scores.
BASELINES = "baselines"
#: Sub-folder of what spaces convert from model files (``Space.model_cache``; llama: GGUF).
MODELS = "models"
_ENTRY = re.compile(r"^[0-9a-f]{20}$")


def default_root() -> Path:
    """The platform's user cache folder for lpzero-gp (``~/.cache/lpzero-gp`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("lpzero-gp", appauthor=False))


def _env_off() -> bool:
    return os.environ.get(ENV_OFF, "").strip().lower() in ("1", "true", "yes", "on")


def _resolved(path: str | Path, where: str) -> Path:
    """``path`` made absolute with its links followed; OptionError (one line naming it and
    where it comes from) for a symlink loop or a path that cannot be followed."""
    try:
        return Path(os.path.expanduser(str(path))).resolve()
    except RuntimeError:  # Python before 3.13: "Symlink loop from ..."
        problem = "is a symlink loop"
    except OSError as exc:
        problem = f"cannot be followed: {exc.strerror or one_line(exc)}"
    shown = os.path.abspath(os.path.expanduser(str(path)))
    raise OptionError(f"cache folder {shown} ({where}) {problem}")


def resolve(cache_dir: str | Path | None = None, no_cache: bool = False) -> Path | None:
    """The cache folder to use, or None for none.

    ``no_cache`` wins; then ``cache_dir``; then ``$LPZERO_GP_NO_CACHE``; then
    ``$LPZERO_GP_CACHE_DIR``; then the platform default. A folder that is a symlink loop is
    an OptionError naming it.
    """
    if no_cache:
        return None
    if cache_dir:
        return _resolved(cache_dir, "cache_dir, --cache-dir")
    if _env_off():
        return None
    env = os.environ.get(ENV_DIR, "").strip()
    if env:
        return _resolved(env, f"${ENV_DIR}")
    root = default_root()
    _resolved(root, "the platform default")  # checked only: the default is shown as it is
    return root


def source(cache_dir: str | Path | None = None, no_cache: bool = False) -> str:
    """Where :func:`resolve`'s answer comes from, in words."""
    if no_cache:
        return "off (--no-cache)"
    if cache_dir:
        return "--cache-dir"
    if _env_off():
        return f"off (${ENV_OFF})"
    return f"${ENV_DIR}" if os.environ.get(ENV_DIR, "").strip() else "platform default"


def write_key(folder: Path, key: dict) -> None:
    """Record what a configuration's sub-folder holds (once; identical for every writer).

    A folder in the key file's place is replaced; ResultsError (one line naming the file)
    when it cannot be written.
    """
    path = folder / KEY_FILE
    if path.is_file():
        return
    if folder.is_symlink() and not folder.is_dir():
        raise ResultsError(f"the cache folder {folder} is a symbolic link that leads to no "
                           "folder; remove it")
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        atomic_json(path, key, indent=1, sort_keys=True)
    except OSError as exc:
        raise ResultsError(f"cannot write the cache key {path}: "
                           f"{exc.strerror or one_line(exc)}") from None


def _entries(root: Path) -> list[tuple[str, Path]]:
    """(kind, folder) of every configuration sub-folder under ``root``."""
    out = []
    for kind, base in (("statistics", root), ("baselines", root / BASELINES),
                       ("models", root / MODELS)):
        if base.is_dir():
            out += [(kind, p) for p in sorted(base.iterdir()) if p.is_dir() and
                    _ENTRY.match(p.name)]
    return out


def _size(folder: Path) -> tuple[int, int]:
    """Files and bytes a configuration folder holds (none for a link: what it points at is
    not the cache's)."""
    if folder.is_symlink():
        return 0, 0
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def read_key(folder: Path) -> dict | None:
    """A configuration folder's ``key.json`` through the one bounded JSON reader (None when
    missing or not a usable JSON object: the folder is then left alone)."""
    try:
        key = loads_json((folder / KEY_FILE).read_text(encoding="utf-8"), "")
    except (OSError, UnicodeDecodeError, LpzeroError):
        return None
    return key if isinstance(key, dict) else None


def info(root: Path) -> dict:
    """What the cache at ``root`` holds: one entry per configuration, with files and bytes."""
    entries = []
    for kind, folder in _entries(root):
        files, size = _size(folder)
        key = read_key(folder) or {}
        entries.append({"kind": kind, "folder": folder.name, "files": files, "bytes": size,
                        "key": key if isinstance(key, dict) else {}})
    return {"root": str(root), "exists": root.is_dir(), "entries": entries,
            "files": sum(e["files"] for e in entries),
            "bytes": sum(e["bytes"] for e in entries)}


def clear(root: Path, space: str | None = None) -> dict:
    """Remove the cache's configuration sub-folders (only those of ``space`` if given).

    Only folders the cache itself made are removed, so a ``--cache-dir`` that holds other files
    keeps them. Returns the files and bytes removed.
    """
    if root.exists() and not root.is_dir():
        raise OptionError(f"cache folder {root} is not a folder")
    files = size = 0
    for _kind, folder in _entries(root):
        if space is not None:
            key = read_key(folder)
            if key is None or key.get("space") != space:
                continue
        n, b = _size(folder)
        if folder.is_symlink():  # the link goes; what it points at is never followed
            folder.unlink()
        else:
            shutil.rmtree(folder, ignore_errors=True)
        files, size = files + n, size + b
    for base in (root / BASELINES, root / MODELS):
        if base.is_dir() and not any(base.iterdir()):
            base.rmdir()
    return {"root": str(root), "files": files, "bytes": size}


def models_folder(root: Path | None) -> str | None:
    """Where spaces keep converted model files under the cache ``root`` (None: no cache)."""
    return str(root / MODELS) if root is not None else None


__all__ = ["BASELINES", "ENV_DIR", "ENV_OFF", "MODELS", "clear", "default_root", "info",
           "models_folder", "resolve", "read_key", "source", "write_key"]
