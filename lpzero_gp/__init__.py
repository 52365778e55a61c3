"""lpzero-gp: genetic-programming search of zero-cost proxies for language-model NAS.

The Python API mirrors the command line, with the same typed options::

    import lpzero_gp as lz

    report = lz.search_proxy(lz.RunOptions(space="flexibert", budget="quick", out="runs/x"))
    rows = lz.evaluate_proxies(["flexibert-best", "params"], space="gpt2", archs="test")
    print(lz.export_proxy("agg_sum(fro(W))", "latex"))

Each function returns a :class:`Report` (``data``: the JSON-ready result; ``lines``: what the
command prints) or raises an :class:`LpzeroError`. Importing the package is light: torch,
SymPy, SciPy and transformers load when a function needs them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

__version__ = "0.1.0"

from lpzero_gp.errors import LpzeroError  # noqa: E402
from lpzero_gp.workflows.options import (  # noqa: E402
    AblateOptions,
    BaselineOptions,
    EvalOptions,
    Report,
    RunOptions,
    SubnetOptions,
)


def _options(cls: type, options: Any, overrides: dict[str, Any]) -> Any:
    """``options`` (or the defaults) with ``overrides`` applied (an unknown field: TypeError)."""
    base = options if options is not None else cls()
    if not isinstance(base, cls):
        raise TypeError(f"expected {cls.__name__}, got {type(base).__name__}")
    return replace(base, **overrides)


def search_proxy(options: RunOptions | None = None, **overrides: Any) -> Report:
    """``lpzero-gp run``: search a proxy on a space, score it on held-out architectures and
    write the results folder. ``overrides`` are :class:`RunOptions` fields."""
    from lpzero_gp.workflows.run import run_search

    return run_search(_options(RunOptions, options, overrides))


def evaluate_proxies(proxies: list[str] | tuple[str, ...], options: EvalOptions | None = None,
                     **overrides: Any) -> Report:
    """``lpzero-gp eval``: Spearman rho and Kendall tau of each proxy (a proxy string, a named
    proxy or a feature such as ``params``) on a space's architectures."""
    from lpzero_gp.workflows.evaluate import evaluate

    return evaluate(_options(EvalOptions, options, {**overrides, "proxies": tuple(proxies)}))


def run_baselines(options: BaselineOptions | None = None, **overrides: Any) -> Report:
    """``lpzero-gp baselines``: the hand-crafted proxies of the paper's Table 1 on a space."""
    from lpzero_gp.workflows.baselines import run_baselines as run

    return run(_options(BaselineOptions, options, overrides))


def export_proxy(proxy: str, fmt: str = "latex") -> str:
    """A proxy (string or named proxy) as ``string``, ``sympy``, ``srepr``, ``latex`` or
    ``json``; the JSON form reads back with :func:`lpzero_gp.proxy.export.import_json`."""
    from lpzero_gp.proxy.export import render

    return render(proxy, fmt)


__all__ = [
    "AblateOptions", "BaselineOptions", "EvalOptions", "LpzeroError", "Report", "RunOptions",
    "SubnetOptions", "__version__", "evaluate_proxies", "export_proxy", "run_baselines",
    "search_proxy",
]
