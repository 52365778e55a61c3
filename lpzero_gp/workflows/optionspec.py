"""Every option of the commands, declared once: name, type, default, range or choices, help.

The options dataclasses (:mod:`lpzero_gp.workflows.options`) take their defaults from these
specs and check every value against them when built (the boundary for a Python caller); the
command line builds its click options from the same specs (:mod:`lpzero_gp.cli.options`), so a
default, a range or a help text cannot differ between the two. Nothing downstream checks a
value again. A command may word an option's help its own way (``Spec.but``), never change its
meaning. A Python caller gives Python values (``rps=False``, ``space_options={"model": "tiny"}``,
lists, paths, ints for counts) where the command line has its own spelling (``--no-rps``,
``--space-option model=tiny``); an error names the option as its reader wrote it: the field
(``seq_len``) for a Python caller, the flag (``--seq-len``) inside :func:`cli_spelling`, which
the command line enters. This module stays light (standard library and :mod:`lpzero_gp.errors`
only): the command line imports it at start-up.
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from typing import Any

from lpzero_gp.errors import OptionError

#: Largest seed (NumPy and torch seeds are 32-bit).
MAX_SEED = 2**31 - 1
#: Most tokens in one calibration batch (batch size x sequence length).
MAX_BATCH_TOKENS = 1 << 22
#: Key of a dataclass field's spec in its metadata.
SPEC = "spec"

#: ``run`` budget presets: population, offspring per generation, offspring evaluations (the
#: initial population is evaluated on top). The search itself takes seconds once statistics
#: are stored, so the default already spends the paper's budget (1,000 evaluations).
BUDGETS: dict[str, tuple[int, int, int]] = {
    "quick": (20, 10, 100),
    "default": (80, 40, 1000),
}
#: Other names of a ``run`` budget preset: ``paper`` is the default budget, the paper's.
BUDGET_ALIASES: dict[str, str] = {"paper": "default"}
BUDGETS.update({alias: BUDGETS[name] for alias, name in BUDGET_ALIASES.items()})
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
#: The names an architecture choice (``--archs``, ``--search-archs``, ``--heldout``) may give
#: besides a number N: the stored splits, every architecture not searched, or all.
ARCH_CHOICES = ("search", "validation", "test", "heldout", "all")

#: Whether errors name options as the command line spells them (:func:`cli_spelling`).
_CLI_SPELLING: ContextVar[bool] = ContextVar("lpzero_gp_cli_spelling", default=False)
#: The command line's spelling of every field whose flag is not ``--`` + its dashed name.
_FLAGS: dict[str, str] = {}
_UNSET = object()


@contextmanager
def cli_spelling() -> Iterator[None]:
    """Inside, errors name options as the command line spells them (``--seq-len 1``); outside,
    as a Python caller does (``seq_len=1``). The command line runs every command inside."""
    token = _CLI_SPELLING.set(True)
    try:
        yield
    finally:
        _CLI_SPELLING.reset(token)


def _field_name(name: str) -> str:
    """``--search-archs`` or ``search_archs`` as the field name ``search_archs``."""
    return name.lstrip("-").replace("-", "_")


def spelled(name: str, value: Any = _UNSET, quote: bool = False) -> str:
    """Option ``name`` (a field name or a flag), with ``value`` when given, as the reader of an
    error wrote it: ``--search-archs 2`` on the command line (``quote``: the value's repr),
    ``search_archs=2`` in Python (a count's text shown as the int it may have been, and the
    placeholders ``N`` and ``FILE`` as they are); a switch turned on (``True``) is its flag
    alone."""
    name = _field_name(name)
    if _CLI_SPELLING.get():
        flag = _FLAGS.get(name, "--" + name.replace("_", "-"))
        if value is _UNSET or (value is True and not flag.startswith("--no-")):  # a switch
            return flag
        return f"{flag} {value!r}" if quote else f"{flag} {value}"
    if value is _UNSET:
        return name
    if isinstance(value, str) and value.isdigit():
        return f"{name}={int(value)}"
    return f"{name}={value}" if value in ("N", "FILE") else f"{name}={value!r}"


@dataclass(frozen=True)
class Spec:
    """One option: its field name, type, default, range or choices and help text.

    ``kind`` is ``int``, ``float``, ``str``, ``bool`` (a flag) or ``dict`` (a mapping of
    names to JSON values, given on the command line as repeated ``KEY=VALUE`` items, values
    read as JSON when they parse). ``multiple``: repeatable, a tuple (``several``: one value
    is kept as that value, several as a tuple of distinct values); ``sep``: one value holding
    a ``sep``-separated list, a tuple (``item`` turns each text item into its canonical form
    first; ``unique`` drops repeats); a list value may be any list, tuple or other iterable.
    ``count``: a name of :data:`ARCH_CHOICES` or a number N, kept as text. ``path``: ``file``,
    ``dir`` or ``any``, a path (nothing is checked to exist here); any text option takes a
    ``pathlib.Path`` as its text. A default of None makes None a valid value. ``help`` may be a
    function (for a text whose import is heavy), called when help is shown. ``flag`` is the
    command line's spelling when it is not ``--`` + the name with dashes: a bool whose flag is
    ``--no-`` + its name is a positively named field (``rps``, default True) that the flag
    switches off. ``was`` is the field's former name, still taken when an options object is
    built (a bool's former name meant its negation: ``no_rps=True`` is ``rps=False``).
    ``required`` and ``metavar`` concern the command line only.
    """

    name: str
    kind: type = str
    default: Any = None
    help: str | Callable[[], str] = ""
    low: int | float | None = None
    high: int | float | None = None
    choices: tuple[str, ...] = ()
    multiple: bool = False
    several: bool = False
    sep: str = ""
    item: Callable[[str], str] | None = None
    unique: bool = False
    count: bool = False
    path: str = ""
    flag: str = ""
    metavar: str | None = None
    required: bool = False
    noun: str = ""
    was: str = ""

    def __post_init__(self) -> None:
        if self.flag:  # how errors name the field on the command line
            _FLAGS[self.name] = self.flag

    @property
    def opt(self) -> str:
        """The command line's spelling, e.g. ``--seq-len``."""
        return self.flag or "--" + self.name.replace("_", "-")

    def but(self, **changes: Any) -> Spec:
        """This spec with ``changes`` (a command's own wording or range)."""
        return replace(self, **changes)

    def help_text(self) -> str:
        """The help text (computed now if it is a function)."""
        return self.help() if callable(self.help) else self.help

    def shown_default(self) -> str | None:
        """The default as ``--help`` shows it, or None when none is shown."""
        if self.several and isinstance(self.default, str):
            return self.default
        if self.kind in (bool, dict) or self.multiple or self.default in (None, False, ()):
            return None
        if self.sep:
            return self.sep.join(str(v) for v in self.default)
        return str(self.default)

    def cli_default(self) -> Any:
        """The default as the command line holds it: a list's text (its type reads it back),
        no item of a mapping, else the default."""
        if self.sep:
            return self.shown_default()
        if self.several and isinstance(self.default, str):
            return (self.default,)
        return () if self.kind is dict else self.default

    def field_default(self) -> Any:
        """A fresh copy of the default of an options field (a mapping is never shared)."""
        return dict(self.default) if self.kind is dict else self.default

    def former(self, value: Any) -> Any:
        """The value of this field given under its former name :attr:`was`."""
        return not value if self.kind is bool and isinstance(value, bool) else value

    def check(self, value: Any) -> Any:
        """``value`` in its canonical form (an int count as text, a list as a tuple, a path as
        text, a mapping as a dict); OptionError naming the option when it is not a value of
        this option."""
        try:
            return self.convert(value)
        except ValueError as exc:
            raise OptionError(f"{spelled(self.name)}: {exc}") from None

    def convert(self, value: Any) -> Any:
        """:meth:`check` without the option's name: ValueError saying what is wrong (the
        command line's types add the name their own way)."""
        if value is None and self.default is None:
            return None
        if self.kind is dict:
            return _mapping(value)
        if self.multiple or self.sep:
            values = tuple(self._one(v) for v in self._items(value))
            if self.unique:
                values = tuple(dict.fromkeys(values))
            if (self.sep or self.several) and not values:
                raise ValueError("give at least one value")
            if self.several:
                return _several(values)
            return values
        return self._one(value)

    def _items(self, value: Any) -> tuple[Any, ...]:
        """The items of a list value (a ``sep``-separated text is split, its items read)."""
        if isinstance(value, str) and self.sep:
            items = [v.strip() for v in value.split(self.sep) if v.strip()]
            if self.kind is int:
                try:
                    return tuple(int(v) for v in items)
                except ValueError:
                    raise ValueError(f"{value!r} is not a comma-separated list of "
                                     "integers") from None
            return tuple(items)
        if isinstance(value, str | os.PathLike):  # one value of a repeatable option
            return (value,)
        if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
            return tuple(value)
        raise ValueError(f"{value!r} is not a list")

    def _one(self, value: Any) -> Any:
        """One value, checked and in canonical form."""
        if self.count:
            return _count(value)
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{value!r} is not True or False")
            return value
        if self.kind is int:
            return self._number(_integer(value), "an integer")
        if self.kind is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or (
                    isinstance(value, float) and not math.isfinite(value)):
                raise ValueError(f"{value!r} is not a finite number")
            return self._number(value, "a number")
        if isinstance(value, os.PathLike) and not self.choices:
            value = os.fspath(value)
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not {'a path' if self.path else 'text'}")
        if self.item is not None:
            value = self.item(value)
        if self.choices and value not in self.choices:
            shown = value if self.sep else repr(value)
            raise ValueError(f"unknown {self.noun or self.name.replace('_', ' ')} {shown}; "
                             f"choose {', '.join(self.choices)}")
        return value

    def _number(self, value: int | float, what: str) -> int | float:
        """``value`` if within the range, else ValueError."""
        if (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high):
            low = "" if self.low is None else f" from {self.low:,}"
            high = "" if self.high is None else f" to {self.high:,}"
            raise ValueError(f"{value!r} is not {what}{low}{high}")
        return value


def _several(values: tuple[Any, ...]) -> Any:
    """The value of a ``several`` option: its one value, or the tuple of several distinct
    ones (ValueError naming a value given twice)."""
    twice = next((v for i, v in enumerate(values) if v in values[:i]), None)
    if twice is not None:
        raise ValueError(f"{twice} is given twice")
    return values[0] if len(values) == 1 else values


def _integer(value: Any) -> int:
    """``value`` as an int (a NumPy integer too), never a bool; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{value!r} is not an integer") from None


def _count(value: Any) -> str:
    """An architecture choice as text: a name of :data:`ARCH_CHOICES` or a number N."""
    if isinstance(value, str) and (value in ARCH_CHOICES or value.isdigit()):
        return value
    try:
        number = _integer(value)
    except ValueError:
        number = -1
    if number >= 0:
        return str(number)
    raise ValueError(f"unknown split {value!r}; choose {', '.join(ARCH_CHOICES)} or a number N")


#: The JSON values a mapping option may hold (a path is kept as its text).
_JSON_SCALARS = (str, int, float, bool, type(None))


def _json_value(key: str, value: Any) -> Any:
    """``value`` of a mapping option's ``key`` as a JSON value (a path as text, a tuple as a
    list); ValueError for anything JSON cannot hold."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"the value of {key!r}, {value!r}, is not a finite number")
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(key, v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _json_value(key, v) for k, v in value.items()}
    raise ValueError(f"the value of {key!r}, {value!r}, is not a JSON value (text, number, "
                     "True/False, None, list or mapping)")


def _mapping(value: Any) -> dict[str, Any]:
    """A mapping option's value as a dict of names to JSON values: a mapping, or ``KEY=VALUE``
    items (one text or a list of them; values read as JSON when they parse, else text)."""
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, str):
        items = [_key_value(value)]
    elif isinstance(value, Iterable) and not isinstance(value, bytes):
        items = [_key_value(v) for v in value]
    else:
        raise ValueError(f"{value!r} is not a mapping of names to values")
    out: dict[str, Any] = {}
    for key, item in items:
        name = key.strip().replace("-", "_") if isinstance(key, str) else key
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{key!r} is not a name")
        out[name] = _json_value(name, item)
    return out


def _key_value(item: Any) -> tuple[str, Any]:
    """``"model=tiny"`` as ``("model", "tiny")``, ``"stand_in=4"`` as ``("stand_in", 4)``.

    A value that is not JSON (or nested deeper than the bounded reader's bound) is text; JSON
    that repeats a key in an object is the reader's error naming the key, never text the
    option then misreads."""
    import json

    from lpzero_gp.jsonfile import MAX_DEPTH, loads_json, nesting_depth

    if not isinstance(item, str) or "=" not in item:
        raise ValueError(f"{item!r} is not KEY=VALUE")
    key, _, text = item.partition("=")
    try:  # bounded: absurdly nested text is text, never a RecursionError
        return key, loads_json(text, key.strip(), error=OptionError)
    except OptionError as exc:
        refused = str(exc)
    if nesting_depth(text) > MAX_DEPTH:
        return key, text
    try:
        json.loads(text)
    except ValueError:
        return key, text
    raise ValueError(refused)


def _underscore(text: str) -> str:
    """``n-unary`` as ``n_unary``."""
    return text.strip().replace("-", "_")


def from_spec(spec: Spec) -> Any:
    """A dataclass field holding ``spec``: its default is the spec's (a mapping's, a fresh
    dict for every object)."""
    if spec.kind is dict:
        return field(default_factory=spec.field_default, metadata={SPEC: spec})
    return field(default=spec.default, metadata={SPEC: spec})


def specs_of(cls_or_obj: Any) -> dict[str, Spec]:
    """``{field name: spec}`` of an options dataclass (fields without a spec left out)."""
    return {f.name: f.metadata[SPEC] for f in fields(cls_or_obj) if SPEC in f.metadata}


def check_fields(obj: Any) -> None:
    """Check every field of ``obj`` that has a spec, putting each in its canonical form."""
    for name, spec in specs_of(obj).items():
        object.__setattr__(obj, name, spec.check(getattr(obj, name)))


def current_names(cls_or_obj: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` keyword arguments of an options dataclass with every former field name
    (:attr:`Spec.was`) replaced by the field's name and value (``no_rps=True``: ``rps=False``);
    a former name given beside the current one wins (``dataclasses.replace`` passes both)."""
    out = dict(given)
    for name, spec in specs_of(cls_or_obj).items():
        if spec.was and spec.was in out:
            out[name] = spec.former(out.pop(spec.was))
    return out


def presets_text(presets: Mapping[str, tuple[int, int, int]],
                 aliases: Mapping[str, str] | None = None) -> str:
    """``quick: population 20, offspring 10, evaluations 100; ...`` of budget presets; a name
    of ``aliases`` is said to be the same budget as the preset it names."""
    aliases = aliases or {}
    return "; ".join(f"{name}: population {p}, offspring {o}, evaluations {e:,}"
                     + (f" (the same budget as {aliases[name]})" if name in aliases else "")
                     for name, (p, o, e) in presets.items())


def budget(presets: Mapping[str, tuple[int, int, int]], what: str, printed: str,
           aliases: Mapping[str, str] | None = None) -> Spec:
    """``--budget``: a preset of ``presets``; ``what`` says what its evaluations count and
    ``printed`` where the settings used are shown; ``aliases`` are other names of a preset."""
    return Spec("budget", str, "default", choices=tuple(presets),
                help=f"Budget preset ({presets_text(presets, aliases)}; {what}). --population, "
                     "--offspring and --evaluations replace the preset's numbers; the "
                     f"settings used are printed {printed}.")


def out(default: str) -> Spec:
    """``--out``: a results folder; ``default`` describes the folder used without it."""
    return Spec("out", str, None, path="dir", help=f"Results folder (default {default}).")


# -- the options shared by the commands of a benchmark space (Source, CommonOptions) ----------

SPACE = Spec("space", str, "flexibert",
             help="Search space: flexibert, gpt2, hf, llama or an installed plugin space "
                  "(lpzero-gp spaces lists them).")
SPACE_OPTIONS = Spec("space_options", dict, {}, multiple=True, flag="--space-option",
                     metavar="KEY=VALUE", was="space_option",
                     help="An option of the space's constructor (repeatable; values read as "
                          "JSON when they parse), e.g. model=tiny for llama.")
VARIANT = Spec("variant", str, None,
               help="Model variant (default: the space's; flexibert: as-trained or reference; "
                    "lpzero-gp spaces lists them).")
SEMANTICS = Spec("semantics", str, "intended", choices=("intended", "reference"),
                 help="Proxy-input semantics: clean (intended) or as the published code.")
BENCHMARK = Spec("benchmark", str, None, path="file",
                 help="A benchmark JSON file in the space's format (default: packaged).")
BATCH_SIZE = Spec("batch_size", int, None, low=1, high=4096,
                  help="Calibration batch size (default: the space's; flexibert 16, gpt2 16, "
                       "llama 4).")
SEQ_LEN = Spec("seq_len", int, None, low=2, high=8192,
               help="Calibration sequence length (default: the space's; flexibert 128, gpt2 "
                    "192, llama 64), never longer than the benchmark's models accept (gpt2: "
                    "the records' smallest tgt_len); a longer one is refused.")
TOKENIZER = Spec("tokenizer", str, None,
                 help="transformers tokenizer name or local directory (default: the shipped "
                      "one).")
TEXT = Spec("text", str, None, path="file",
            help="Calibration text file (default: the shipped calibration text).")
SEED = Spec("seed", int, 42, low=0, high=MAX_SEED,
            help="One seed for everything: a benchmark file's splits, samples of N "
                 "architectures, the search and the models' initialisation (unless "
                 "--init-seed).")
INIT_SEED = Spec("init_seed", int, None, low=0, high=MAX_SEED,
                 help="Seed of the models' random initialisation (default: --seed).")
STAT_BUDGET = Spec("stat_budget", int, 2048, low=64, high=1 << 24,
                   help="Stored elements per statistic tensor (row sample).")
STATS_KIND = Spec("stats", str, "real", choices=STATS,
                  help="real: the networks' statistics; null: the shape-only control, every "
                       "statistic replaced by seeded noise of the same shapes (what a proxy "
                       "ranks from shapes alone).")
DEVICE = Spec("device", str, "cpu",
              help="cpu, cuda or cuda:N (checked once, before any model is built).")
CACHE_DIR = Spec("cache_dir", str, None, path="dir",
                 help="Statistics cache folder (default: the user cache folder, or "
                      "$LPZERO_GP_CACHE_DIR; lpzero-gp cache info shows it).")
CACHE = Spec("cache", bool, True, flag="--no-cache", was="no_cache",
             help="Keep no statistics between commands (also LPZERO_GP_NO_CACHE=1).")


def _workers_help() -> str:
    """--workers' help, with the cores available here (:mod:`lpzero_gp.parallel` is light)."""
    from lpzero_gp.parallel import available_cores

    return ("Local worker processes building models and evaluating fitness. Default: "
            f"automatic, one per available core ({available_cores()} here: CPU affinity and "
            "cgroup quota), at most one per model to build, 1 on CUDA; a pool starts only when "
            "the first model, built in this process, shows that the rest will save more than "
            "the pool's start-up (fitness: once it has taken that long).")


WORKERS = Spec("workers", int, None, low=1, high=256, metavar="N", help=_workers_help)
DASK = Spec("dask", str, None,
            help="Dask scheduler address, or 'local' (needs lpzero-gp[dask]); replaces "
                 "--workers.")
QUIET = Spec("quiet", bool, False, help="No progress bars.")
FORCE = Spec("force", bool, False, help="Replace an existing results folder.")
THREADS = Spec("threads", int, None, low=1, high=256, metavar="N",
               help="torch threads per worker process (default: the available cores shared "
                    "among the workers, at least 1; statistics do not depend on it).")

#: The shared options in the order ``--help`` lists them.
COMMON = ("space", "space_options", "variant", "semantics", "benchmark", "batch_size",
          "seq_len", "tokenizer", "text", "seed", "init_seed", "stat_budget", "stats", "device",
          "cache_dir", "cache", "workers", "threads", "dask", "quiet")

# -- the search settings of run and ablate ----------------------------------------------------

POPULATION = Spec("population", int, None, low=2, high=10000)
OFFSPRING = Spec("offspring", int, None, low=1, high=10000)
EVALUATIONS = Spec("evaluations", int, None, low=1, high=10**6)
N_UNARY = Spec("n_unary", int, 2, low=1, high=10)
AGGREGATION = Spec("aggregation", str, "both", choices=tuple(AGG))

#: How ``run`` and ``ablate`` split a user file too small for 10/10/80 % (workflows/splits.py,
#: ``choose``).
SMALL_FILE_HELP = ("Packaged benchmarks have fixed splits; a --benchmark file is split "
                   "10/10/80 % from its own ids (at least 2 each). A file of fewer than 30 "
                   "records, too small for those, searches half of its records and holds out "
                   "every other one where --search-archs and --heldout are left at their "
                   "defaults; the summary says so.")
#: What the held-out choices mean, after each command's own text for --heldout.
HELDOUT_HELP = ("'heldout' is every architecture not searched; N samples N of them (seeded). "
                "At least 3 are needed.")
#: How a command that reports intervals treats a small held-out sample.
SMALL_SAMPLE_HELP = ("Under 20 the correlation is reported with its 95% interval and a "
                     "small-sample note.")

SEARCH_ARCHS = Spec("search_archs", str, "search", count=True)
HELDOUT = Spec("heldout", str, "validation", count=True)
ARCHS = Spec("archs", str, "all", count=True)

# -- run --------------------------------------------------------------------------------------

#: ``run --combine`` choices (:data:`lpzero_gp.score.fitness.COMBINE`).
COMBINE = ("worst", "mean")

RUN_SPECS = {s.name: s for s in (
    SPACE.but(multiple=True, several=True,
              help="Search space: flexibert, gpt2, hf, llama or an installed plugin space "
                   "(lpzero-gp spaces lists them). Repeat it to search one proxy for several "
                   "spaces (--combine): each space searches and holds out its own split, and "
                   "--variant, --benchmark, --tokenizer and --space-option apply to the first "
                   "--space only (the others take their defaults); the other options apply "
                   "to every space."),
    Spec("combine", str, "worst", choices=COMBINE,
         help="With several --space: a proxy's search fitness is the worst (minimum) or the "
              "mean of its search-split Spearman rho on each space; a proxy invalid or "
              "rejected on any space is invalid. mean needs several spaces."),
    budget(BUDGETS, "evaluations count offspring: the initial population is evaluated on "
           "top; default is the paper's budget",
           "when the run starts (unless --quiet)", BUDGET_ALIASES),
    POPULATION.but(help="Population size (mu; default: the --budget preset's)."),
    OFFSPRING.but(help="Offspring per generation (lambda; default: the --budget preset's)."),
    EVALUATIONS.but(help="Offspring evaluations (default: the --budget preset's), spent in "
                         "whole generations: ceil(evaluations / offspring) generations."),
    N_UNARY.but(help="Unary ops per branch of a genotype (--shape lpzero)."),
    Spec("shape", str, "lpzero", choices=("lpzero", "deep"),
         help="lpzero: the paper's genotype; deep: free typed trees."),
    Spec("max_height", int, 8, low=3, high=30,
         help="Largest tree height of a proxy (--shape deep draws trees up to it)."),
    AGGREGATION.but(help="Aggregation over blocks (sum is depth-sensitive)."),
    Spec("cxpb", float, 0.5, low=0, high=1, help="Crossover probability (cxpb + mutpb <= 1)."),
    Spec("mutpb", float, 0.5, low=0, high=1, help="Mutation probability (cxpb + mutpb <= 1)."),
    Spec("rps", bool, True, flag="--no-rps", was="no_rps", help="Disable rule-based pruning."),
    Spec("memo", bool, True, flag="--no-memo", was="no_memo",
         help="Disable fitness/sub-tree memoisation."),
    Spec("fitness", str, "beyond-shape", choices=FITNESS,
         help="beyond-shape: reject candidates that are not statistics-driven on the search "
              "split (their scores on real and on null statistics agree, or a formula of the "
              "config ranks like them, |rho| >= 0.5); rho: plain Spearman rho."),
    Spec("objective", str, "rho", choices=("rho", "pareto"),
         help="rho: survivors by rank correlation on the search split; pareto: NSGA-II "
              "survivors on rank correlation (max), cost class of the proxy's inputs and tree "
              "size (min), and the run writes its front (front.csv, front.png)."),
    SEARCH_ARCHS.but(help="Search architectures: a stored split name or a number N (seeded "
                          f"sample). {SMALL_FILE_HELP}"),
    HELDOUT.but(help="Held-out architectures: validation, test, heldout (all not searched), "
                     f"N. {HELDOUT_HELP} {SMALL_SAMPLE_HELP}"),
    out("runs/<space>-<variant>-s<seed>"),
    FORCE.but(help="Replace an existing results folder (and discard an interrupted run's "
                   "checkpoint)."),
    Spec("resume_dir", str, None, path="any", flag="--resume",
         help="Continue an interrupted run: give its results folder (the --out of the run) or "
              "its checkpoint folder. Checkpoints are written every generation to the hidden "
              "folder .<out-name>.checkpoint next to the results folder; the resumed run uses "
              "the stored settings (options given again must match) and ends exactly as an "
              "uninterrupted run."),
    Spec("keep_checkpoint", bool, False,
         help="Keep the checkpoint folder after the run completes (it is removed once the "
              "results folder is written, so only interrupted runs leave one)."),
)}

# -- eval -------------------------------------------------------------------------------------

EVAL_SPECS = {s.name: s for s in (
    Spec("proxies", str, (), multiple=True, flag="--proxy", required=True,
         help="Proxy in any exported form, named proxy, JSON file (best.json), results "
              "folder, feature (params, layers, ...), or a front table (front.csv of a "
              "run --objective pareto: every proxy on it); repeatable."),
    ARCHS.but(help="search | validation | test | heldout | all | N."),
    Spec("ci", bool, False, help="95% bootstrap intervals of rho and tau (the partial and "
                                 "within-group correlations always have them)."),
    Spec("compare", bool, False,
         help="Paired bootstrap of the first proxy against each other one: the difference in "
              "rho, its 95% interval and P(difference <= 0)."),
    out("none: print only; a folder gets scores.csv, summary.json, summary.md, timing.json "
        "and the rank-space plot score_vs_truth.png"),
    FORCE,
)}

# -- ablate -----------------------------------------------------------------------------------

ABLATE_SPECS = {s.name: s for s in (
    Spec("experiments", str, EXPERIMENTS, sep=",", item=_underscore, unique=True,
         choices=EXPERIMENTS, noun="experiment",
         help=f"Comma-separated subset of {', '.join(EXPERIMENTS)}."),
    Spec("seeds", int, 3, low=1, high=100,
         help="Search seeds per setting: --seed, --seed+1, ... (statistics stay fixed)."),
    budget(ABLATE_BUDGETS, "evaluations count every proxy of a run, the initial population "
           "included, so every arm of an experiment spends the same", "with the tables"),
    EVALUATIONS.but(low=3, help="Proxies evaluated per run, the initial population included "
                                "(default: the --budget preset's); must exceed every "
                                "population of the experiments run."),
    POPULATION.but(help="Population of the rps and n_unary experiments (default: the --budget "
                        "preset's)."),
    OFFSPRING.but(help="Offspring per generation (default: the --budget preset's)."),
    N_UNARY.but(help="Unary ops per branch of the rps and population experiments."),
    Spec("populations", int, (80, 100, 200), sep=",", low=POPULATION.low,
         high=POPULATION.high, help="Population sizes compared by the population experiment."),
    Spec("n_unary_values", int, (2, 3, 4, 5), sep=",", low=N_UNARY.low, high=N_UNARY.high,
         help="Unary ops per branch compared by the n_unary experiment."),
    AGGREGATION.but(help="Aggregation over blocks."),
    SEARCH_ARCHS.but(help="Search architectures: a stored split name or a number N. "
                          + SMALL_FILE_HELP),
    HELDOUT.but(help="Architectures the best proxies are scored on: validation, test, heldout "
                     f"(all not searched), N. {HELDOUT_HELP}"),
    out("runs/ablate-<space>-<variant>"),
    FORCE,
)}

# -- baselines --------------------------------------------------------------------------------


def _baseline_keys() -> str:
    """The help of ``baselines --proxies``: every baseline key (imported when help is shown)."""
    from lpzero_gp.score.baselines import BASELINES

    return "Comma-separated baseline keys (default: all). Keys: " + ", ".join(
        b.key for b in BASELINES)


BASELINE_SPECS = {s.name: s for s in (
    # the shared options, worded for the baselines
    BATCH_SIZE.but(help="Calibration batch size (default: the space's baseline batch, 2; "
                        "smaller than the search's so every baseline fits a small CPU)."),
    SEQ_LEN.but(help="Calibration sequence length (default: the space's baseline batch: "
                     "flexibert 128, gpt2 192), never longer than the benchmark's models "
                     "accept; a longer one is refused."),
    SEMANTICS.but(help="intended: real LM loss, eval mode; reference: as the published code "
                       "(flexibert: all-ones backward, train mode)."),
    SEED.but(help="One seed for everything: a benchmark file's splits, samples of N "
                  "architectures and the models' initialisation (unless --init-seed)."),
    STAT_BUDGET.but(help="Stored elements per statistic tensor of --trees (refused without "
                         "it)."),
    CACHE_DIR.but(help="Cache folder of the per-architecture baseline scores and of the "
                       "--trees statistics (default: the user cache folder, or "
                       "$LPZERO_GP_CACHE_DIR, as for every command; lpzero-gp cache info "
                       "shows it; --no-cache keeps nothing)."),
    WORKERS.but(help="Local worker processes scoring architectures (and extracting --trees "
                     "statistics)."),
    # the baselines' own
    ARCHS.but(help="all | search | validation | test | heldout | N (seeded sample)."),
    Spec("proxies", str, None, sep=",", help=_baseline_keys),
    Spec("trees", bool, False,
         help="Also score each baseline's tree twin on the search's statistics."),
    THREADS,
    out("runs/baselines-<space>-<variant>"),
    FORCE,
)}
#: ``baselines --batch BxT``: the deprecated spelling of ``--batch-size B --seq-len T`` (the
#: command line reads it; it is no field of the options).
BATCH_ALIAS = Spec("batch", str, None, metavar="BATCHxSEQ_LEN",
                   help="Deprecated spelling of --batch-size BATCH --seq-len SEQ_LEN.")

# -- subnets ----------------------------------------------------------------------------------

SUBNET_SPECS = {s.name: s for s in (
    SPACE.but(default=None,
              help="Space whose sub-networks are searched (default: the one registered space "
                   "that offers sub-networks; lpzero-gp spaces lists the spaces)."),
    SPACE_OPTIONS,
    Spec("proxy", str, None,
         help="Proxy maximised (default: the space's own, llama-best for llama; else params): "
              "a named proxy, "
              "any proxy form eval takes (string, exported form, best.json, results folder), "
              "or a cost feature of the sub-networks (params, ...)."),
    Spec("budget_params", float, None, low=0,
         help="Parameter budget: a fraction of the maximal sub-network's params (<= 1) or an "
              "absolute count (> 1). Default: none."),
    Spec("generations", int, 8, low=0, high=10_000,
         help="Generations of the sub-network evolution."),
    POPULATION.but(default=16, high=100_000,
                   help="Population size (mu) of the sub-network evolution."),
    OFFSPRING.but(high=100_000, help="Children per generation (default: the population size)."),
    Spec("top_k", int, 10, low=1, high=10_000, help="How many best sub-networks to write."),
    BATCH_SIZE.but(help="Calibration batch size (default: the space's)."),
    SEQ_LEN.but(help="Calibration sequence length (default: the space's), never longer than "
                     "its models accept; a longer one is refused."),
    TOKENIZER,
    TEXT,
    SEED.but(help="One seed for everything: the super-network's random parts and the "
                  "sub-network search."),
    DEVICE,
    THREADS.but(default=1, help="CPU threads for torch (1 avoids thread thrashing on busy "
                                "CPUs)."),
    out("runs/subnets-<name>-s<seed>, name: the super-network's short name"),
    FORCE,
    QUIET,
)}

# -- cache and export (no options dataclass) --------------------------------------------------

CACHE_SPACE = Spec("space", str, None, help="Clear only this space's statistics.")
EXPORT_PROXY = Spec("proxy", str, None, required=True,
                    help="Proxy in any exported form (string, SymPy, srepr, LaTeX, JSON), "
                         "named proxy, JSON file (best.json) or results folder.")
EXPORT_FORMAT = Spec("fmt_", str, "latex", flag="--format",
                     choices=("string", "sympy", "srepr", "latex", "json"))
EXPORT_LITERAL = Spec("literal", bool, False,
                      help="Keep the proxy exactly as written (every primitive, in order) in "
                           "the SymPy, srepr and LaTeX forms, instead of its canonical form.")


__all__ = [
    "ABLATE_BUDGETS", "ABLATE_SPECS", "AGG", "ARCH_CHOICES", "BASELINE_SPECS", "BATCH_ALIAS",
    "BUDGETS", "BUDGET_ALIASES", "COMBINE", "COMMON", "DEFAULT_EVALUATIONS", "EVAL_SPECS",
    "EXPERIMENTS",
    "FITNESS", "MAX_BATCH_TOKENS", "MAX_SEED", "PAPER_EVALUATIONS", "RUN_SPECS", "STATS",
    "SUBNET_SPECS", "Spec", "budget", "check_fields", "cli_spelling", "current_names",
    "from_spec", "out", "presets_text", "specs_of", "spelled",
]
