"""lpzero-gp: genetic-programming search of zero-cost proxies for language-model NAS.

The Python API mirrors the command line, with the same typed options::

    import lpzero_gp as lz

    report = lz.search_proxy(lz.RunOptions(space="flexibert", budget="quick", out="runs/x"))
    rows = lz.evaluate_proxies(["flexibert-best", "params"], space="gpt2", archs="test")
    print(lz.export_proxy("agg_sum(fro(W))", "latex"))
    scores = lz.score_model(model, batch, ["gpt2-best", "flexibert-best"])  # any transformer

The command functions return a :class:`Report` (``data``: the JSON-ready result; ``lines``:
what the command prints); every function raises an :class:`LpzeroError` for what a user can
fix. Importing the package is light: torch,
SymPy, SciPy and transformers load when a function needs them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lpzero_gp.errors import LpzeroError  # noqa: E402
from lpzero_gp.versions import __version__
from lpzero_gp.workflows.options import (  # noqa: E402
    AblateOptions,
    BaselineOptions,
    EvalOptions,
    Report,
    RunOptions,
    SubnetOptions,
)
from lpzero_gp.workflows.optionspec import STAT_BUDGET  # noqa: E402


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


#: Elements kept per statistic tensor by default: the search's ``--stat-budget``.
_BUDGET = STAT_BUDGET.default


def collect_stats(model: Any, batch: Any, loss: Any = None, blocks: Any = None,
                  budget: int | None = _BUDGET, seed: int = 0) -> Any:
    """The six statistics of any transformer (a torch model) on ``batch``, from one forward
    and one backward, kept compact: the result's ``.score(proxy)`` scores any proxy on them.

    Blocks, attention and linear layers are found from the model's structure (or ``blocks``:
    a dotted path or the modules); ``loss`` defaults to masked-LM for a masked-LM head and
    causal-LM for a causal-LM head. See :func:`lpzero_gp.score.anymodel.collect_stats`.
    """
    from lpzero_gp.score.anymodel import collect_stats as collect

    return collect(model, batch, loss, blocks, budget, seed)


def score_model(model: Any, batch: Any, proxies: str | list[str] | tuple[str, ...],
                loss: Any = None, blocks: Any = None, budget: int | None = _BUDGET,
                seed: int = 0) -> dict[str, float]:
    """``{proxy: score}`` of one or more proxies (strings or named proxies) on any transformer,
    from one forward and one backward (arguments as :func:`collect_stats`)."""
    from lpzero_gp.score.anymodel import score_model as score

    return score(model, batch, proxies, loss, blocks, budget, seed)


def export_proxy(proxy: str, fmt: str = "latex", literal: bool = False) -> str:
    """A proxy (string or named proxy) as ``string``, ``sympy``, ``srepr``, ``latex`` or
    ``json``; the JSON form reads back with :func:`lpzero_gp.proxy.export.import_json`.

    The SymPy, srepr and LaTeX forms are canonical (equivalent proxies print alike, parts with
    no effect on the values are left out), or with ``literal`` the proxy exactly as written,
    every primitive in order; both read back through ``read_proxy``."""
    from lpzero_gp.proxy.export import render

    return render(proxy, fmt, literal)


__all__ = [
    "AblateOptions", "BaselineOptions", "EvalOptions", "LpzeroError", "Report", "RunOptions",
    "SubnetOptions", "__version__", "collect_stats", "evaluate_proxies", "export_proxy",
    "run_baselines", "score_model", "search_proxy",
]


def __dir__() -> list[str]:
    """The Python API (``__all__``): ``dir(lpzero_gp)`` shows it, not this module's helpers."""
    return sorted(__all__)
