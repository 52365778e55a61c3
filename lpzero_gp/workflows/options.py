"""Typed options of the workflows, and the report every workflow returns.

Each command of the command line fills one of these dataclasses and hands it to a workflow
function; a Python caller does the same. Every field with an option spec
(:mod:`lpzero_gp.workflows.optionspec`) takes its default from the spec, and every value is
checked against it when the dataclass is built (an int count such as ``archs=5`` is kept as
its text ``"5"``, a list as a tuple, a ``pathlib.Path`` as its text); the command line builds
its click options from the same specs. Fields are named for Python: ``rps``, ``memo`` and
``cache`` are True unless switched off (the command line's ``--no-rps``, ``--no-memo``,
``--no-cache``), and ``space_options`` is a mapping (``--space-option KEY=VALUE``); the former
names ``no_rps``, ``no_memo``, ``no_cache`` and ``space_option`` are still taken when an object
is built. This module stays light (standard library and :mod:`lpzero_gp.errors` only) because
the command line imports it at start-up for its presets and choices.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from lpzero_gp.errors import OptionError
from lpzero_gp.workflows.optionspec import (
    ABLATE_BUDGETS,
    ABLATE_SPECS,
    AGG,
    BASELINE_SPECS,
    BATCH_SIZE,
    BENCHMARK,
    BUDGETS,
    CACHE,
    CACHE_DIR,
    DASK,
    DEFAULT_EVALUATIONS,
    DEVICE,
    EVAL_SPECS,
    EXPERIMENTS,
    FITNESS,
    INIT_SEED,
    MAX_BATCH_TOKENS,
    PAPER_EVALUATIONS,
    QUIET,
    RUN_SPECS,
    SEED,
    SEMANTICS,
    SEQ_LEN,
    SPACE,
    SPACE_OPTIONS,
    STAT_BUDGET,
    STATS,
    STATS_KIND,
    SUBNET_SPECS,
    TEXT,
    THREADS,
    TOKENIZER,
    VARIANT,
    WORKERS,
    check_fields,
    current_names,
    from_spec,
    spelled,
)

#: A callback that shows one line of progress news (where checkpoints go, what resumes).
Notify = Callable[[str], None]

#: The numbers a budget preset sets, in order.
BUDGET_FIELDS = ("population", "offspring", "evaluations")


_Options = TypeVar("_Options")


def takes_former_names(cls: type[_Options]) -> type[_Options]:
    """An options dataclass that also takes its fields' former names (``no_rps=True`` for
    ``rps=False``, :func:`~lpzero_gp.workflows.optionspec.current_names`)."""
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **current_names(cls, kwargs))

    cls.__init__ = __init__  # type: ignore[method-assign]
    return cls


def resolve_budget(presets: dict[str, tuple[int, int, int]], budget: str,
                   population: int | None = None, offspring: int | None = None,
                   evaluations: int | None = None) -> tuple[tuple[int, int, int], str]:
    """(population, offspring, evaluations) of ``budget``, each number given explicitly
    replacing the preset's, and a line saying where each number comes from.

    The one budget rule of ``run`` and ``ablate``: a preset supplies the numbers that are not
    given; a given number always wins and is reported as replacing the preset's.
    """
    if budget not in presets:
        raise OptionError(f"unknown budget {budget!r}; choose {', '.join(presets)}")
    given = (population, offspring, evaluations)
    pop, off, evals = (p if g is None else g for g, p in zip(given, presets[budget], strict=True))
    replaced = [f"--{name} {g:,} replaces its {p:,}"
                for name, g, p in zip(BUDGET_FIELDS, given, presets[budget], strict=True)
                if g is not None and g != p]
    text = f"--budget {budget}" + (f" ({'; '.join(replaced)})" if replaced else "")
    return (pop, off, evals), text


def check_device(device: str) -> None:
    """OptionError, once and before any model is built, for a device torch cannot use here.

    ``cpu``, ``cuda`` or ``cuda:N``; a CUDA device must exist on this machine. torch is imported
    only for a CUDA device, so checking ``cpu`` stays light.
    """
    import re

    if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise OptionError(f"{spelled('device', device, quote=True)}: choose cpu, cuda or "
                          "cuda:N")
    if device == "cpu":
        return
    import torch

    if not torch.cuda.is_available():
        raise OptionError(f"{spelled('device', device)}: CUDA is not available on this "
                          f"machine (torch {torch.__version__}); use "
                          f"{spelled('device', 'cpu')}")
    count = torch.cuda.device_count()
    index = int(device.partition(":")[2] or 0)
    if index >= count:
        raise OptionError(f"{spelled('device', device)}: this machine has {count} CUDA device"
                          f"{'' if count == 1 else 's'} (cuda:0 to cuda:{count - 1})")


@dataclass
class Report:
    """What a workflow returns: its JSON-ready result and the text a terminal shows of it."""

    #: The result (what ``--json`` prints).
    data: dict[str, Any]
    #: The human-readable output, each item printed followed by a newline.
    lines: list[str] = field(default_factory=list)
    #: Lines for stderr that go with ``lines`` (timings), not with the JSON.
    notes: list[str] = field(default_factory=list)
    #: The results folder written, if any.
    out: Path | None = None


@takes_former_names
@dataclass
class Source:
    """Where architectures and their statistics come from: the fields shared by the workflow
    :class:`Context` and the commands' options.

    Every value is checked against its spec when built (OptionError naming the option), once:
    nothing downstream checks it again.
    """

    space: str = from_spec(SPACE)
    variant: str | None = from_spec(VARIANT)
    semantics: str = from_spec(SEMANTICS)
    benchmark: str | None = from_spec(BENCHMARK)
    batch_size: int | None = from_spec(BATCH_SIZE)
    seq_len: int | None = from_spec(SEQ_LEN)
    tokenizer: str | None = from_spec(TOKENIZER)
    text: str | None = from_spec(TEXT)
    seed: int = from_spec(SEED)
    init_seed: int | None = from_spec(INIT_SEED)
    stat_budget: int = from_spec(STAT_BUDGET)
    device: str = from_spec(DEVICE)
    cache_dir: str | None = from_spec(CACHE_DIR)
    #: Keep statistics between runs (False: ``--no-cache``; a run's checkpoint still keeps its
    #: own).
    cache: bool = from_spec(CACHE)
    #: Worker processes building models (None: one per available core, automatic) and torch
    #: threads in each (None: the cores shared among them); neither changes a result.
    workers: int | None = from_spec(WORKERS)
    threads: int | None = from_spec(THREADS)
    dask: str | None = from_spec(DASK)
    #: ``real`` statistics, or the ``null`` control: seeded noise of the same shapes
    #: (:mod:`lpzero_gp.stats.null`), so the same search and scoring see shapes only.
    stats: str = from_spec(STATS_KIND)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.batch_size is not None and self.seq_len is not None \
                and self.batch_size * self.seq_len > MAX_BATCH_TOKENS:
            raise OptionError(f"{spelled('batch_size', self.batch_size)} x "
                              f"{spelled('seq_len', self.seq_len)}: absurd calibration batch "
                              f"(over {MAX_BATCH_TOKENS:,} tokens)")

    def model_init_seed(self) -> int:
        """The seed the models are initialised with: ``init_seed``, else ``seed``."""
        return self.seed if self.init_seed is None else self.init_seed


@takes_former_names
@dataclass
class Context(Source):
    """Where architectures and their statistics come from, and how the work is shown."""

    progress: bool = True
    #: Options handed to the space's constructor (e.g. llama: model, adapter, dtype).
    space_options: dict[str, Any] = from_spec(SPACE_OPTIONS)
    #: Where statistics go when no cache is used (a run's checkpoint folder), so that they
    #: survive a crash all the same.
    fallback_cache: str | None = None


def _missing(path: str) -> str:
    """Why ``path`` is no file to read: it does not exist, or is a folder, device or pipe."""
    p = Path(path)
    return ("is a folder, not a file" if p.is_dir() else "is not a regular file (a device "
            "or a pipe?)" if p.exists() else "does not exist")


@takes_former_names
@dataclass
class CommonOptions(Source):
    """Where architectures and their statistics come from (``run``, ``eval``, ``ablate``,
    ``baselines``: one meaning of every shared option).

    ``space_options`` are the options of the space's constructor, e.g.
    ``{"model": "/data/llama", "stand_in": 10}`` for llama (``KEY=VALUE`` texts are read too).
    """

    quiet: bool = from_spec(QUIET)
    space_options: dict[str, Any] = from_spec(SPACE_OPTIONS)

    def context(self) -> Context:
        """The workflow context of these options; OptionError for a missing file or a device
        this machine does not have (checked once, before any model is built)."""
        if self.text and not Path(self.text).is_file():
            raise OptionError(f"calibration text file {self.text} {_missing(self.text)}")
        if self.benchmark and not Path(self.benchmark).is_file():
            raise OptionError(f"benchmark file {self.benchmark} {_missing(self.benchmark)}")
        check_device(self.device)
        shared = {f.name: getattr(self, f.name) for f in fields(Source)}
        return Context(**shared, progress=not self.quiet,
                       space_options=dict(self.space_options))


@takes_former_names
@dataclass
class RunOptions(CommonOptions):
    """``lpzero-gp run``: search settings, held-out split, results folder and resuming.

    ``population``, ``offspring`` and ``evaluations`` (None: the preset's) replace the
    ``budget`` preset's numbers (:data:`BUDGETS`, :func:`resolve_budget`).
    ``resume_dir`` continues an interrupted run (its results or checkpoint folder);
    ``checkpoint_dir`` is the checkpoint folder found from it (filled by ``merge_resume``).
    ``space`` is one space's name, or a list of several distinct ones: one proxy searched for
    all of them, its fitness their search rhos ``combine``-d; ``variant``, ``benchmark``,
    ``tokenizer`` and ``space_options`` then belong to the first space (:meth:`contexts`).
    """

    #: One space (its name), or several (a tuple of distinct names).
    space: str | tuple[str, ...] = from_spec(RUN_SPECS["space"])
    #: With several spaces: ``worst`` (minimum) or ``mean`` of the per-space search rhos.
    combine: str = from_spec(RUN_SPECS["combine"])
    budget: str = from_spec(RUN_SPECS["budget"])
    population: int | None = from_spec(RUN_SPECS["population"])
    offspring: int | None = from_spec(RUN_SPECS["offspring"])
    evaluations: int | None = from_spec(RUN_SPECS["evaluations"])
    n_unary: int = from_spec(RUN_SPECS["n_unary"])
    shape: str = from_spec(RUN_SPECS["shape"])
    max_height: int = from_spec(RUN_SPECS["max_height"])
    aggregation: str = from_spec(RUN_SPECS["aggregation"])
    cxpb: float = from_spec(RUN_SPECS["cxpb"])
    mutpb: float = from_spec(RUN_SPECS["mutpb"])
    #: Rule-based pruning (False: ``--no-rps``).
    rps: bool = from_spec(RUN_SPECS["rps"])
    #: Fitness and sub-tree memoisation (False: ``--no-memo``).
    memo: bool = from_spec(RUN_SPECS["memo"])
    #: ``beyond-shape``: candidates that are not statistics-driven on the search split are
    #: rejected (:data:`FITNESS`); ``rho``: the plain Spearman rho.
    fitness: str = from_spec(RUN_SPECS["fitness"])
    #: ``rho``: survivors by rank correlation; ``pareto``: NSGA-II on rank correlation, cost
    #: class and tree size, and the run writes its front.
    objective: str = from_spec(RUN_SPECS["objective"])
    search_archs: str = from_spec(RUN_SPECS["search_archs"])
    heldout: str = from_spec(RUN_SPECS["heldout"])
    out: str | None = from_spec(RUN_SPECS["out"])
    force: bool = from_spec(RUN_SPECS["force"])
    resume_dir: str | None = from_spec(RUN_SPECS["resume_dir"])
    keep_checkpoint: bool = from_spec(RUN_SPECS["keep_checkpoint"])
    checkpoint_dir: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.space, str):
            if self.combine != RUN_SPECS["combine"].default:
                raise OptionError(f"{spelled('combine', self.combine)} combines several "
                                  f"spaces; give {spelled('space')} two or more times")
        elif self.objective == "pareto":
            raise OptionError(f"{spelled('objective', 'pareto')} searches one space; give one "
                              f"{spelled('space')}")

    @property
    def spaces(self) -> tuple[str, ...]:
        """The names of the spaces searched (one or several)."""
        return (self.space,) if isinstance(self.space, str) else tuple(self.space)

    def contexts(self) -> list[Context]:
        """One workflow context per space: the first space takes ``variant``, ``benchmark``,
        ``tokenizer`` and ``space_options``, every other one its defaults; the other options
        are shared (checked once, as :meth:`context` checks them)."""
        shared = {f.name: getattr(self, f.name) for f in fields(CommonOptions)}
        own = {"variant": None, "benchmark": None, "tokenizer": None, "space_options": {}}
        return [CommonOptions(**{**shared, "space": name, **(own if i else {})}).context()
                for i, name in enumerate(self.spaces)]


@takes_former_names
@dataclass
class EvalOptions(CommonOptions):
    """``lpzero-gp eval``: proxies (strings, named proxies or features) and architectures,
    with ``compare`` (paired bootstrap against the first proxy) and a results folder ``out``."""

    proxies: tuple[str, ...] = from_spec(EVAL_SPECS["proxies"])
    archs: str = from_spec(EVAL_SPECS["archs"])
    ci: bool = from_spec(EVAL_SPECS["ci"])
    #: Paired bootstrap of the first proxy against each other one.
    compare: bool = from_spec(EVAL_SPECS["compare"])
    #: Results folder (None: print only) and whether an existing one is replaced.
    out: str | None = from_spec(EVAL_SPECS["out"])
    force: bool = from_spec(EVAL_SPECS["force"])


@takes_former_names
@dataclass
class AblateOptions(CommonOptions):
    """``lpzero-gp ablate``: experiments, seeds, budget and the values each one varies.

    ``population``, ``offspring`` and ``evaluations`` (None: the preset's) replace the
    ``budget`` preset's numbers (:data:`ABLATE_BUDGETS`, :func:`resolve_budget`), as for
    ``run``; ``seeds`` is the number of search seeds (``seed``, ``seed + 1``, ...).
    """

    experiments: tuple[str, ...] = from_spec(ABLATE_SPECS["experiments"])
    seeds: int = from_spec(ABLATE_SPECS["seeds"])
    budget: str = from_spec(ABLATE_SPECS["budget"])
    evaluations: int | None = from_spec(ABLATE_SPECS["evaluations"])
    population: int | None = from_spec(ABLATE_SPECS["population"])
    offspring: int | None = from_spec(ABLATE_SPECS["offspring"])
    n_unary: int = from_spec(ABLATE_SPECS["n_unary"])
    populations: tuple[int, ...] = from_spec(ABLATE_SPECS["populations"])
    n_unary_values: tuple[int, ...] = from_spec(ABLATE_SPECS["n_unary_values"])
    aggregation: str = from_spec(ABLATE_SPECS["aggregation"])
    search_archs: str = from_spec(ABLATE_SPECS["search_archs"])
    heldout: str = from_spec(ABLATE_SPECS["heldout"])
    out: str | None = from_spec(ABLATE_SPECS["out"])
    force: bool = from_spec(ABLATE_SPECS["force"])


@takes_former_names
@dataclass
class BaselineOptions(CommonOptions):
    """``lpzero-gp baselines``: the hand-crafted proxies on a space's own models.

    The shared options mean what they mean for ``run`` (the fields declared again here only
    word their help for the baselines); ``batch_size`` and ``seq_len`` default to the space's
    baseline batch (smaller than the search's). ``stat_budget`` only matters with ``trees``
    (the statistics of the tree twins). ``proxies`` are the baseline keys (default: all; a
    comma-separated text is split); ``command`` the command line recorded with the results.
    """

    semantics: str = from_spec(BASELINE_SPECS["semantics"])
    batch_size: int | None = from_spec(BASELINE_SPECS["batch_size"])
    seq_len: int | None = from_spec(BASELINE_SPECS["seq_len"])
    seed: int = from_spec(BASELINE_SPECS["seed"])
    stat_budget: int = from_spec(BASELINE_SPECS["stat_budget"])
    cache_dir: str | None = from_spec(BASELINE_SPECS["cache_dir"])
    workers: int = from_spec(BASELINE_SPECS["workers"])
    archs: str = from_spec(BASELINE_SPECS["archs"])
    proxies: tuple[str, ...] | None = from_spec(BASELINE_SPECS["proxies"])
    trees: bool = from_spec(BASELINE_SPECS["trees"])
    threads: int | None = from_spec(BASELINE_SPECS["threads"])
    out: str | None = from_spec(BASELINE_SPECS["out"])
    force: bool = from_spec(BASELINE_SPECS["force"])
    command: str = ""


@takes_former_names
@dataclass
class SubnetOptions:
    """``lpzero-gp subnets``: the space, the proxy, the parameter budget and the evolution of
    the sub-networks, and their calibration batch.

    ``space`` None is the one registered space that offers sub-networks; its own settings are
    ``space_options``. ``budget_params`` is a fraction of the maximal sub-network (<= 1) or
    a parameter count; ``offspring`` defaults to the population size; ``proxy`` None is the
    space's default proxy.
    """

    space: str | None = from_spec(SUBNET_SPECS["space"])
    space_options: dict[str, Any] = from_spec(SUBNET_SPECS["space_options"])
    proxy: str | None = from_spec(SUBNET_SPECS["proxy"])
    budget_params: float | None = from_spec(SUBNET_SPECS["budget_params"])
    generations: int = from_spec(SUBNET_SPECS["generations"])
    population: int = from_spec(SUBNET_SPECS["population"])
    offspring: int | None = from_spec(SUBNET_SPECS["offspring"])
    top_k: int = from_spec(SUBNET_SPECS["top_k"])
    batch_size: int | None = from_spec(SUBNET_SPECS["batch_size"])
    seq_len: int | None = from_spec(SUBNET_SPECS["seq_len"])
    tokenizer: str | None = from_spec(SUBNET_SPECS["tokenizer"])
    text: str | None = from_spec(SUBNET_SPECS["text"])
    seed: int = from_spec(SUBNET_SPECS["seed"])
    device: str = from_spec(SUBNET_SPECS["device"])
    threads: int | None = from_spec(SUBNET_SPECS["threads"])
    out: str | None = from_spec(SUBNET_SPECS["out"])
    force: bool = from_spec(SUBNET_SPECS["force"])
    quiet: bool = from_spec(SUBNET_SPECS["quiet"])

    def __post_init__(self) -> None:
        check_fields(self)
        if self.budget_params is not None and not self.budget_params > 0:
            raise OptionError(f"{spelled('budget_params')} must be > 0, got "
                              f"{self.budget_params}")

    def check(self) -> None:
        """OptionError, before the super-network is built, for a device this machine lacks or
        a missing calibration text."""
        if self.text and not Path(self.text).is_file():
            raise OptionError(f"calibration text file {self.text} {_missing(self.text)}")
        check_device(self.device)

    def context(self, space: str) -> Context:
        """The workflow context of the calibration batch, for the space called ``space``."""
        return Context(space=space, batch_size=self.batch_size, seq_len=self.seq_len,
                       tokenizer=self.tokenizer, text=self.text, seed=self.seed,
                       device=self.device, progress=not self.quiet,
                       space_options=dict(self.space_options))


def changed_options(options: Any) -> set[str]:
    """Names of the fields of an options dataclass that differ from their defaults."""
    return {f.name for f in fields(options) if getattr(options, f.name) != (
        f.default_factory() if f.default is MISSING and f.default_factory is not MISSING
        else f.default)}


__all__ = [
    "ABLATE_BUDGETS", "AGG", "BUDGETS", "BUDGET_FIELDS", "DEFAULT_EVALUATIONS", "EXPERIMENTS",
    "FITNESS", "STATS",
    "PAPER_EVALUATIONS", "AblateOptions", "BaselineOptions", "CommonOptions", "Context",
    "EvalOptions", "Notify", "Report", "RunOptions", "Source",
    "SubnetOptions", "changed_options", "check_device", "resolve_budget", "takes_former_names",
]
