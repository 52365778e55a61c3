"""Search spaces: the one registry of spaces, by name.

The built-in spaces are imported lazily, so importing the engine does not import every model
family. Third-party packages add spaces without touching this package, either by calling
:func:`register` or through the entry-point group ``lpzero_gp.spaces``
(``myspace = "mypkg.space:MySpace"`` under ``[project.entry-points."lpzero_gp.spaces"]``).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from lpzero_gp.errors import SpaceError

from .base import CalibrationSpec, Record, Space

#: The entry-point group third-party spaces register under.
ENTRY_POINT_GROUP = "lpzero_gp.spaces"

#: name -> "module:Class" (or a Space subclass) of every space registered in this process.
REGISTRY: dict[str, str | type[Space]] = {
    "flexibert": "lpzero_gp.spaces.flexibert:FlexibertSpace",
    "gpt2": "lpzero_gp.spaces.gpt2:Gpt2Space",
    "hf": "lpzero_gp.spaces.hf:HfSpace",
    "llama": "lpzero_gp.spaces.llama.subnet_space:LlamaSpace",
}


def register(name: str, target: str | type[Space], cls: str | None = None) -> None:
    """Register a space: ``register("mine", MySpace)``, ``register("mine", "pkg.mod:MySpace")``
    or ``register("mine", "pkg.mod", "MySpace")``."""
    if not name or not isinstance(name, str):
        raise SpaceError("a space needs a non-empty name")
    REGISTRY[name] = f"{target}:{cls}" if cls is not None else target


def _plugins() -> dict[str, object]:
    """Entry points of the ``lpzero_gp.spaces`` group, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def names() -> list[str]:
    """Every space name: registered in this process or installed as a plugin."""
    return sorted(set(REGISTRY) | set(_plugins()))


def _load(name: str) -> type[Space]:
    target = REGISTRY.get(name)
    if target is None:
        plugin = _plugins().get(name)
        if plugin is None:
            raise SpaceError(f"unknown space {name!r}; choose from {', '.join(names())}")
        target = plugin.value
    if isinstance(target, type):
        return target
    module, _, attr = target.partition(":")
    try:
        cls = getattr(import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise SpaceError(f"space {name!r} cannot be loaded from {target}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Space)):
        raise SpaceError(f"space {name!r} ({target}) is not a Space subclass")
    return cls


def get_space(name: str, **options: object) -> Space:
    """An instance of the space called ``name`` (``options`` go to its constructor)."""
    cls = _load(name)
    known = _option_names(cls)
    unknown = [] if known is None else sorted(set(options) - known)
    if unknown:
        known = sorted(known)
        takes = f"its options are {', '.join(known)}" if known else "it takes no options"
        raise SpaceError(f"space {name!r} has no option {unknown[0]!r}; {takes}")
    try:
        return cls(**options)
    except TypeError as exc:
        raise SpaceError(f"space {name!r} does not take these options: {exc}") from None


def _option_names(cls: type[Space]) -> set[str] | None:
    """Keyword options of a space's constructor (None: it takes ``**kwargs``, any name)."""
    from inspect import Parameter, signature

    if cls.__init__ is object.__init__:
        return set()
    params = signature(cls.__init__).parameters.values()
    if any(p.kind is Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.name != "self"
            and p.kind in (Parameter.POSITIONAL_OR_KEYWORD, Parameter.KEYWORD_ONLY)}


__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "CalibrationSpec", "Record", "Space", "SpaceError",
           "get_space", "names", "register"]
