"""Search spaces: benchmark records, model builders and proxy-input hook points.

A space registers itself here by name; :func:`get_space` imports it lazily so that importing
the engine does not import every model family.
"""

from __future__ import annotations

from importlib import import_module

from lpzero_gp.errors import SpaceError

from .base import Record, Space

#: name -> (module, class) of every registered space.
REGISTRY: dict[str, tuple[str, str]] = {
    "flexibert": ("lpzero_gp.spaces.flexibert", "FlexibertSpace"),
    "gpt2": ("lpzero_gp.spaces.gpt2", "Gpt2Space"),
}


def register(name: str, module: str, cls: str) -> None:
    """Register a user space: ``register("mine", "mypkg.space", "MySpace")``."""
    REGISTRY[name] = (module, cls)


def get_space(name: str) -> Space:
    """An instance of the space called ``name``; SpaceError if unknown."""
    if name not in REGISTRY:
        raise SpaceError(f"unknown space {name!r}; choose from {', '.join(sorted(REGISTRY))}")
    module, cls = REGISTRY[name]
    return getattr(import_module(module), cls)()


__all__ = ["REGISTRY", "Record", "Space", "SpaceError", "get_space", "register"]
