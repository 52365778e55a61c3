"""Version metadata recorded with every result, so a number can be traced to its software.

``__version__`` is defined here, in the base layer, and re-exported by the package root, so
base and engine modules read it without importing the package's Python API.
"""

from __future__ import annotations

import platform
from importlib import metadata

#: lpzero-gp's version (the package root re-exports it as ``lpzero_gp.__version__``).
__version__ = "0.1.0"


def versions(*packages: str) -> dict[str, str]:
    """lpzero-gp and Python versions, then those of ``packages`` (default: torch, NumPy)."""
    out = {"lpzero_gp": __version__, "python": platform.python_version()}
    for name in packages or ("torch", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out

__all__ = ["versions"]
