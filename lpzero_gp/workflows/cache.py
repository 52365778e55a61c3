"""``lpzero-gp cache``: what the cache holds (statistics, baseline scores and the spaces'
converted models), and clearing it."""

from __future__ import annotations

from pathlib import Path

from lpzero_gp.stats import cache as stats_cache
from lpzero_gp.workflows.options import Report


def _size(n: int) -> str:
    """Bytes in the largest unit that keeps the number at least 1."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def _where(cache_dir: str | None) -> tuple[Path | None, str]:
    root = stats_cache.resolve(cache_dir)
    return root, stats_cache.source(cache_dir)


def cache_info(cache_dir: str | None = None) -> Report:
    """The cache folder in use, where that choice comes from, and what it holds."""
    root, why = _where(cache_dir)
    if root is None:
        return Report({"root": None, "source": why, "entries": [], "files": 0, "bytes": 0},
                      [f"statistics cache: {why}"])
    data = {**stats_cache.info(root), "source": why}
    models = sum(e["kind"] == "models" for e in data["entries"])
    lines = [f"statistics cache: {root} ({why})",
             f"{len(data['entries']) - models} configurations, {models} converted models, "
             f"{data['files']} files, {_size(data['bytes'])}"]
    for e in data["entries"]:
        k = e["key"]
        what = " ".join(f"{name}={k[name]}" for name in ("space", "variant", "semantics", "seed",
                                                        "budget", "code_version", "v", "part",
                                                        "source")
                        if name in k)
        lines.append(f"  {e['kind']:<10} {e['folder']}  {e['files']:>5} files "
                     f"{_size(e['bytes']):>10}  {what}")
    return Report(data, lines)


def cache_clear(cache_dir: str | None = None, space: str | None = None) -> Report:
    """Remove the cached statistics, baseline scores and converted models (of one space only,
    with ``space``)."""
    root, why = _where(cache_dir)
    if root is None:
        return Report({"root": None, "files": 0, "bytes": 0}, [f"statistics cache: {why}"])
    done = stats_cache.clear(root, space)
    scope = f" of space {space}" if space else ""
    return Report(done, [f"removed {done['files']} files ({_size(done['bytes'])}){scope} from "
                         f"{root}"])

__all__ = ["cache_clear", "cache_info"]
