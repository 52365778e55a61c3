"""Typed options of the workflows, and the report every workflow returns.

Each command of the command line fills one of these dataclasses and hands it to a workflow
function; a Python caller does the same. The defaults are those of the command line. This
module stays light (standard library and :mod:`lpzero_gp.errors` only) because the command
line imports it at start-up for its presets and choices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lpzero_gp.errors import OptionError

if TYPE_CHECKING:
    from lpzero_gp.workflows.context import Context

#: A callback that shows one line of progress news (where checkpoints go, what resumes).
Notify = Callable[[str], None]

#: ``run`` budget presets: population, offspring per generation, offspring evaluations (the
#: initial population is evaluated on top). The search itself takes seconds once statistics
#: are stored, so the default already spends the paper's budget.
BUDGETS: dict[str, tuple[int, int, int]] = {
    "quick": (20, 10, 100),
    "default": (80, 40, 1000),
    "paper": (80, 40, 1000),
}
#: ``--stats`` choices: the network's own statistics, or the shape-only null control.
STATS = ("real", "null")
#: ``run --fitness`` choices: reject candidates that are not statistics-driven on the search
#: split (their scores on real and null statistics agree with |rho| >= 0.5, or a formula of
#: the config ranks like them with |rho| >= 0.5), or plain rho.
FITNESS = ("beyond-shape", "rho")
#: Block aggregations searched, per ``aggregation`` option.
AGG: dict[str, tuple[str, ...]] = {"mean": ("agg_mean",), "sum": ("agg_sum",),
                                   "both": ("agg_mean", "agg_sum")}
#: The ablation experiments, in report order.
EXPERIMENTS = ("rps", "population", "n_unary", "stats")
#: Proxies evaluated per ablation run by default: the whole default ablation runs in minutes.
DEFAULT_EVALUATIONS = 300
#: The paper's budget: 80 initial proxies plus 1,000 offspring (as ``run --budget paper``).
PAPER_EVALUATIONS = 80 + 1000
#: ``ablate`` budget presets: population, offspring per generation, and proxies evaluated per
#: run *including* the initial population (every arm of an experiment spends the same total).
ABLATE_BUDGETS: dict[str, tuple[int, int, int]] = {
    "default": (80, 40, DEFAULT_EVALUATIONS),
    "paper": (80, 40, PAPER_EVALUATIONS),
}
#: The numbers a budget preset sets, in order.
BUDGET_FIELDS = ("population", "offspring", "evaluations")


def parse_space_options(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``("model=/data/llama", "stand_in=10")`` -> ``{"model": "/data/llama", "stand_in": 10}``.

    A value that parses as JSON (a number, true/false, null, a list) is taken as such; any other
    value is text. OptionError for an item without ``=`` or with an empty key.
    """
    from lpzero_gp.jsonfile import loads_json

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise OptionError(f"--space-option {item!r}: expected KEY=VALUE")
        try:  # bounded: absurdly nested text is text, never a RecursionError
            out[key] = loads_json(value, f"--space-option {key}", error=OptionError)
        except OptionError:
            out[key] = value
    return out


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
        raise OptionError(f"--device {device!r}: choose cpu, cuda or cuda:N")
    if device == "cpu":
        return
    import torch

    if not torch.cuda.is_available():
        raise OptionError(f"--device {device}: CUDA is not available on this machine (torch "
                          f"{torch.__version__}); use --device cpu")
    count = torch.cuda.device_count()
    index = int(device.partition(":")[2] or 0)
    if index >= count:
        raise OptionError(f"--device {device}: this machine has {count} CUDA device"
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


@dataclass
class Source:
    """Where architectures and their statistics come from: the fields shared by the workflow
    :class:`~lpzero_gp.workflows.context.Context` and the commands' options."""

    space: str = "flexibert"
    variant: str | None = None
    semantics: str = "intended"
    benchmark: str | None = None
    batch_size: int | None = None
    seq_len: int | None = None
    tokenizer: str | None = None
    text: str | None = None
    seed: int = 42
    init_seed: int | None = None
    stat_budget: int = 2048
    device: str = "cpu"
    cache_dir: str | None = None
    #: Keep no statistics between runs (``--no-cache``); a run's checkpoint still keeps its own.
    no_cache: bool = False
    workers: int = 1
    dask: str | None = None
    #: ``real`` statistics, or the ``null`` control: seeded noise of the same shapes
    #: (:mod:`lpzero_gp.stats.null`), so the same search and scoring see shapes only.
    stats: str = "real"


class _SpaceOptions:
    """``space_option`` items (``KEY=VALUE``) read as the space constructor's options."""

    space_option: tuple[str, ...]

    @property
    def space_options(self) -> dict[str, Any]:
        """:attr:`space_option` as a dict (values read as JSON when they parse, else text)."""
        return parse_space_options(self.space_option)


@dataclass
class CommonOptions(Source, _SpaceOptions):
    """Where architectures and their statistics come from (``run``, ``eval``, ``ablate``,
    ``baselines``: one meaning of every shared option).

    ``space_option`` holds ``KEY=VALUE`` options of the space's constructor, e.g.
    ``model=/data/llama`` or ``stand_in=10`` for llama.
    """

    quiet: bool = False
    space_option: tuple[str, ...] = ()

    def context(self) -> Context:
        """The workflow context of these options; OptionError for a missing file or a device
        this machine does not have (checked once, before any model is built)."""
        from lpzero_gp.workflows.context import Context

        if self.text and not Path(self.text).is_file():
            raise OptionError(f"calibration text file {self.text} does not exist")
        if self.benchmark and not Path(self.benchmark).is_file():
            raise OptionError(f"benchmark file {self.benchmark} does not exist")
        check_device(self.device)
        if self.stats not in STATS:
            raise OptionError(f"--stats {self.stats!r}: choose {' or '.join(STATS)}")
        shared = {f.name: getattr(self, f.name) for f in fields(Source)}
        return Context(**shared, progress=not self.quiet, space_options=self.space_options)


@dataclass
class RunOptions(CommonOptions):
    """``lpzero-gp run``: search settings, held-out split, results folder and resuming.

    ``population``, ``offspring`` and ``evaluations`` (None: the preset's) replace the
    ``budget`` preset's numbers (:data:`BUDGETS`, :func:`resolve_budget`).
    ``resume_dir`` continues an interrupted run (its results or checkpoint folder);
    ``checkpoint_dir`` is the checkpoint folder found from it (filled by ``merge_resume``).
    """

    budget: str = "default"
    population: int | None = None
    offspring: int | None = None
    evaluations: int | None = None
    n_unary: int = 2
    shape: str = "lpzero"
    max_height: int = 8
    aggregation: str = "both"
    cxpb: float = 0.5
    mutpb: float = 0.5
    no_rps: bool = False
    no_memo: bool = False
    #: ``beyond-shape``: candidates that are not statistics-driven on the search split are
    #: rejected (:data:`FITNESS`); ``rho``: the plain Spearman rho.
    fitness: str = "beyond-shape"
    search_archs: str = "search"
    heldout: str = "validation"
    out: str | None = None
    force: bool = False
    resume_dir: str | None = None
    keep_checkpoint: bool = False
    checkpoint_dir: str | None = None


@dataclass
class EvalOptions(CommonOptions):
    """``lpzero-gp eval``: proxies (strings, named proxies or features) and architectures,
    with ``compare`` (paired bootstrap against the first proxy) and a results folder ``out``.

    ``model``, ``adapter`` and ``dtype`` are short for the space options of the same names
    (the llama space takes them); ``ground_truth`` is another name for ``benchmark``.
    """

    proxies: tuple[str, ...] = ()
    archs: str = "all"
    ci: bool = False
    #: Paired bootstrap of the first proxy against each other one.
    compare: bool = False
    #: Results folder (None: print only) and whether an existing one is replaced.
    out: str | None = None
    force: bool = False
    model: str = "smollm2"
    ground_truth: str | None = None
    adapter: str | None = None
    dtype: str = "fp32"

    @property
    def space_options(self) -> dict[str, Any]:
        """The ``--space-option`` items plus ``model``/``adapter``/``dtype`` when given."""
        out = parse_space_options(self.space_option)
        given = {"model": self.model != "smollm2", "adapter": self.adapter is not None,
                 "dtype": self.dtype != "fp32"}
        for key, is_given in given.items():
            if is_given:
                out[key] = getattr(self, key)
        return out

    def context(self) -> Context:
        """As :meth:`CommonOptions.context`, with ``ground_truth`` read as the benchmark."""
        if self.ground_truth and self.benchmark and self.ground_truth != self.benchmark:
            raise OptionError("give the benchmark once: --benchmark or --ground-truth")
        if self.ground_truth:
            return replace(self, benchmark=self.ground_truth, ground_truth=None).context()
        return super().context()


@dataclass
class AblateOptions(CommonOptions):
    """``lpzero-gp ablate``: experiments, seeds, budget and the values each one varies.

    ``population``, ``offspring`` and ``evaluations`` (None: the preset's) replace the
    ``budget`` preset's numbers (:data:`ABLATE_BUDGETS`, :func:`resolve_budget`), as for
    ``run``; ``seeds`` is the number of search seeds (``seed``, ``seed + 1``, ...).
    """

    experiments: tuple[str, ...] = EXPERIMENTS
    seeds: int = 3
    budget: str = "default"
    evaluations: int | None = None
    population: int | None = None
    offspring: int | None = None
    n_unary: int = 2
    populations: tuple[int, ...] = (80, 100, 200)
    n_unary_values: tuple[int, ...] = (2, 3, 4, 5)
    aggregation: str = "both"
    search_archs: str = "search"
    heldout: str = "validation"
    out: str | None = None
    force: bool = False


@dataclass
class BaselineOptions(CommonOptions):
    """``lpzero-gp baselines``: the hand-crafted proxies on a space's own models.

    The shared options mean what they mean for ``run``; ``batch_size`` and ``seq_len`` default
    to the space's baseline batch (smaller than the search's). ``stat_budget`` only matters
    with ``trees`` (the statistics of the tree twins). ``proxies`` are the baseline keys
    (default: all); ``command`` the command line recorded with the results.
    """

    archs: str = "all"
    proxies: tuple[str, ...] | None = None
    trees: bool = False
    threads: int | None = None
    out: str | None = None
    force: bool = False
    command: str = ""


@dataclass
class LlamaModelOptions:
    """The LLaMA super-network, its adapters and the calibration batch (llama commands)."""

    model: str = "smollm2"
    adapter: str | None = None
    lora_r: int | None = None
    lora_init: str = "nonzero"
    tie_ranks: bool = False
    modules: str = "auto"
    loss: str = "lm"
    batch_size: int = 4
    seq_len: int = 64
    tokenizer: str | None = None
    text: str | None = None
    device: str = "cpu"
    dtype: str = "fp32"
    seed: int = 42
    threads: int | None = 1
    quiet: bool = False

    def check(self) -> None:
        """OptionError, before the super-network is built, for a device this machine lacks or
        a missing calibration text."""
        if self.text and not Path(self.text).is_file():
            raise OptionError(f"calibration text file {self.text} does not exist")
        check_device(self.device)


@dataclass
class SubnetOptions(LlamaModelOptions):
    """``lpzero-gp subnets``: the proxy, parameter budget and evolution of the sub-networks.

    ``budget_params`` is a fraction of the maximal sub-network (<= 1) or a parameter count;
    ``offspring`` defaults to the population size.
    """

    proxy: str = "paper_llama"
    budget_params: float | None = None
    generations: int = 8
    population: int = 16
    offspring: int | None = None
    top_k: int = 10
    out: str | None = None
    force: bool = False


def changed_options(options: Any) -> set[str]:
    """Names of the fields of an options dataclass that differ from their defaults."""
    return {f.name for f in fields(options) if getattr(options, f.name) != f.default}


__all__ = [
    "ABLATE_BUDGETS", "AGG", "BUDGETS", "BUDGET_FIELDS", "DEFAULT_EVALUATIONS", "EXPERIMENTS",
    "FITNESS", "STATS",
    "PAPER_EVALUATIONS", "AblateOptions", "BaselineOptions", "CommonOptions", "EvalOptions",
    "LlamaModelOptions", "Notify", "Report", "RunOptions", "SubnetOptions", "changed_options",
    "check_device", "resolve_budget",
]
