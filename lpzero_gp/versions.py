"""Version metadata recorded with every result, so a number can be traced to its software."""

from __future__ import annotations

import platform
from importlib import metadata

from lpzero_gp import __version__


def versions(*packages: str) -> dict[str, str]:
    """lpzero-gp and Python versions, then those of ``packages`` (default: torch, NumPy)."""
    out = {"lpzero_gp": __version__, "python": platform.python_version()}
    for name in packages or ("torch", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
