"""``lpzero-gp run`` and ``lpzero-gp eval`` as functions: the data flow of docs/design.md §3."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from deap import gp

from lpzero_gp.errors import CheckpointError, OptionError, ProxyError, SpaceError
from lpzero_gp.primitives.pset import INPUTS
from lpzero_gp.proxy import default_pset
from lpzero_gp.proxy.named import unknown_word
from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.proxy.read import read_proxy
from lpzero_gp.score.fitness import RankResult, bootstrap_ci, rank
from lpzero_gp.score.scoring import Scorer
from lpzero_gp.search import Search, SearchConfig, load_checkpoint
from lpzero_gp.spaces import get_space
from lpzero_gp.spaces.base import Record, Space
from lpzero_gp.spaces.progress import bar as progress_bar
from lpzero_gp.stats.cache import models_folder
from lpzero_gp.stats.cache import resolve as stats_cache
from lpzero_gp.stats.calibration import load_text, space_batch, space_batch_info
from lpzero_gp.stats.extract import ExtractConfig, Extractor
from lpzero_gp.stats.store import Dataset
from lpzero_gp.workflows.options import Context, Notify
from lpzero_gp.workflows.optionspec import spelled

#: Above this many models to build, a command first says how many and about how long.
ANNOUNCE_ABOVE = 30
#: Seconds per model assumed when none is measured yet: a rough figure for a CPU.
ROUGH_SECONDS = (1.0, 5.0)


@dataclass
class Loaded:
    """A space with its records, calibration batch and extractor."""

    space: Space
    variant: str
    records: list[Record]
    batch: dict
    extractor: Extractor
    info: dict = field(default_factory=dict)
    packaged: bool = True
    #: ``real`` statistics or the ``null`` control (:mod:`lpzero_gp.stats.null`).
    stats_kind: str = "real"
    #: Seed of the null control's noise (the models' initialisation seed).
    null_seed: int = 0
    #: Where news goes before a long extraction (:func:`dataset_for`); None: nowhere.
    notify: Notify | None = None
    #: Worker processes of the extraction, as many as the cores allow for many models (the
    #: time estimate divides by them).
    workers: int = 1


def _mapper(ctx: Context):
    """The Dask map of ``--dask``; local workers are the extractor's own (it starts its pool
    when models are to be built, and only when the pool pays)."""
    from lpzero_gp.parallel import make_mapper

    return make_mapper(ctx.workers, ctx.dask)


def load(ctx: Context, default_batch: tuple[int, int] | None = None) -> Loaded:
    """Open the space, read the benchmark, build the calibration batch (once).

    ``default_batch`` (batch size, sequence length) replaces the space's calibration default
    for what ``ctx`` leaves unset (the baselines' smaller batch).
    """
    space = get_space(ctx.space, **ctx.space_options)
    space.model_cache = models_folder(stats_cache(ctx.cache_dir, not ctx.cache))
    variant = ctx.variant or space.default_variant
    if variant not in space.variants:
        raise SpaceError(f"space {space.name!r} has no variant {variant!r} "
                         f"(choose from {', '.join(space.variants)})")
    if ctx.semantics not in space.semantics:
        raise SpaceError(f"space {space.name!r} has no semantics {ctx.semantics!r}; choose "
                         f"{', '.join(space.semantics)}")
    stand_in = ctx.benchmark is None and not space.ships_benchmark
    records = None if stand_in else space.load_records(ctx.benchmark)
    batch, info = calibration_batch(ctx, space, records, default_batch)
    init_seed = ctx.model_init_seed()
    if stand_in:
        records = _stand_in(space, init_seed, batch, ctx.progress)
    cfg = ExtractConfig(space.name, variant, ctx.semantics, init_seed, ctx.stat_budget,
                        ctx.device, space_key(ctx.space_options))
    mapper = _mapper(ctx) if ctx.dask else None
    cache = stats_cache(ctx.cache_dir, not ctx.cache) or ctx.fallback_cache
    extractor = Extractor(space, cfg, batch, cache, mapper, ctx.progress, workers=ctx.workers,
                          threads=ctx.threads)
    return Loaded(space, variant, records, batch, extractor, info, ctx.benchmark is None,
                  ctx.stats, init_seed, workers=extractor.planned(len(records)).workers)


def calibration_batch(ctx: Context, space: Space, records: list[Record] | None = None,
                      default_batch: tuple[int, int] | None = None) -> tuple[dict, dict]:
    """The calibration batch of ``space`` and its description, built once per command by
    every command alike: the shape of the options, else ``default_batch`` (default: the
    space's), its length checked against what the models of ``records`` accept."""
    spec = space.calibration
    bs, sl = _batch_shape(ctx, space, records, default_batch or (spec.batch_size, spec.seq_len))
    text = load_text(ctx.text) if ctx.text else None
    tokenizer = ctx.tokenizer or spec.tokenizer
    batch = space_batch(spec, bs, sl, tokenizer=tokenizer, text=text)
    info = space_batch_info(spec, bs, sl, tokenizer=tokenizer, text=text,
                            text_source=ctx.text)
    return batch, info


def _batch_shape(ctx: Context, space: Space, records: list[Record] | None,
                 default: tuple[int, int]) -> tuple[int, int]:
    """Calibration batch size and length: the options (checked when ``ctx`` was built), else
    ``default``, whose length is cut to what every model of ``records`` accepts. A given
    length longer than that is refused here, once, before any model is built: the one check
    that needs the records."""
    limit = space.max_seq_len(records)
    if ctx.seq_len is None:
        seq_len = default[1] if limit is None else min(default[1], limit)
    elif limit is not None and ctx.seq_len > limit:
        raise OptionError(f"{spelled('seq_len', ctx.seq_len)} is longer than the {limit} "
                          f"tokens the models of this {space.name} benchmark accept; give "
                          f"{spelled('seq_len', limit)} or less")
    else:
        seq_len = ctx.seq_len
    return default[0] if ctx.batch_size is None else ctx.batch_size, seq_len


def space_key(options: dict) -> str:
    """The space options as canonical text (part of the statistics-cache key)."""
    return json.dumps(options, sort_keys=True, default=str) if options else ""


def _stand_in(space: Space, seed: int, batch: dict, progress: bool) -> list[Record]:
    """The space's stand-in records when it ships no benchmark and none was given."""
    bar = progress_bar(desc="stand-in ground truth", disable=not progress,
               leave=False)
    records = space.stand_in_records(seed, batch, progress=bar)
    bar.close()
    if not records:
        raise SpaceError(f"space {space.name!r} ships no benchmark: give "
                         f"{spelled('benchmark', 'FILE')}")
    return records


def dataset_for(loaded: Loaded, records: list[Record], label: str, kind: str | None = None
                ) -> tuple[Dataset, np.ndarray, list[Record]]:
    """Statistics of ``records`` as a dataset with its ground truth (failed ones dropped).

    ``kind`` (default: the run's ``--stats``) ``null`` gives the null control of the same
    statistics: noise of the same shapes (:func:`~lpzero_gp.stats.null.null_stats`).
    """
    from lpzero_gp.stats.null import input_scales, null_stats

    announce(loaded, records, label)
    stats = loaded.extractor.stats(records, label)
    keep = [(r, s) for r, s in zip(records, stats, strict=True) if s is not None]
    if len(keep) < 3:
        raise SpaceError(f"only {len(keep)} architectures could be evaluated ({label})")
    if (kind or loaded.stats_kind) == "null":
        scales = input_scales([s for _, s in keep])
        keep = [(r, null_stats(s, loaded.null_seed, scales)) for r, s in keep]
    ds = Dataset.from_stats([s for _, s in keep])
    truth = np.array([r.truth for r, _ in keep])
    return ds, truth, [r for r, _ in keep]


def announce(loaded: Loaded, records: list[Record], label: str) -> None:
    """Before more than :data:`ANNOUNCE_ABOVE` models are built for ``records``, tell
    ``loaded.notify`` how many, how many statistics are cached, and about how long it takes
    (the cached ones are read first, for the build times they store)."""
    if loaded.notify is None:
        return
    ex = loaded.extractor
    todo = ex.pending(records)
    if len(todo) <= ANNOUNCE_ABOVE:
        return
    building = {r.id for r in todo}
    cached = [r for r in records if r.id not in building]
    if cached:  # read now rather than a moment later: their stored build times
        ex.stats(cached, label)
    cost = ex.cost_seconds([r.id for r in loaded.records])
    where = str(ex.cache.parent) if ex.cache is not None else None
    loaded.notify(build_notice(label, len(todo), len(records), cost, where,
                               max(loaded.workers, 1)))


def _duration(seconds: float) -> str:
    """``40 s``, ``13 min``, ``2 h 05 min``."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60:02d} min"


def build_notice(label: str, n_build: int, n_total: int, cost: dict, cache: str | None,
                 workers: int = 1) -> str:
    """The line said before a long extraction: models to build, statistics cached (and where),
    and the time expected from ``cost`` (:meth:`~lpzero_gp.stats.extract.Extractor.
    cost_seconds`: measured build and statistics seconds) or, unmeasured, a rough figure."""
    cached = n_total - n_build
    if cache is None:
        stored = "no cache: the statistics are not kept"
    else:
        stored = f"{cached} of {n_total} statistics cached in {cache}"
    per = "" if workers == 1 else f", {workers} workers"
    if cost.get("n"):
        each = cost["build"] + cost["statistics"]
        eta = (f"about {_duration(n_build * each / workers)} ({each:.1f} s a model, the median "
               f"measured on {cost['n']} architecture{'s' if cost['n'] > 1 else ''}"
               f"{per})")
    else:
        low, high = (n_build * s / workers for s in ROUGH_SECONDS)
        eta = (f"roughly {_duration(low)} to {_duration(high)} ({ROUGH_SECONDS[0]:g} to "
               f"{ROUGH_SECONDS[1]:g} s a model on a CPU{per}; none measured here yet)")
    models = "model" if n_build == 1 else "models"
    return f"{label}: building {n_build} {models} ({stored}); {eta}"


def feature_ranks(loaded: Loaded, records: list[Record]) -> dict[str, RankResult]:
    """Rank correlation of every trivial feature proxy (params, layers, ...) on ``records``."""
    truth = np.array([r.truth for r in records])
    feats = [loaded.space.features(r, loaded.variant) for r in records]
    out = {}
    for name in feats[0]:
        out[name] = rank(np.array([f[name] for f in feats], dtype=float), truth)
    return out


@dataclass
class EvalResult:
    """A proxy scored on a set of architectures, with what its statistics add beyond shapes:
    ``info`` (:func:`~lpzero_gp.score.information.information`: rho between its scores on real
    and null statistics, and the label), ``cost`` (its cost class) and ``precision`` (True when
    its ranking rests on differences float32 barely resolves)."""

    proxy: str
    records: list[Record]
    scores: np.ndarray
    result: RankResult
    ci: dict | None = None
    info: dict = field(default_factory=dict)
    cost: str = "config"
    precision: bool = False

    def labels(self) -> dict:
        """The information, cost and precision entries of a report row."""
        return {"information": self.info, "cost": self.cost, "precision_limited": self.precision}


def evaluate_proxy(loaded: Loaded, proxy: str, records: list[Record], label: str = "eval",
                   with_ci: bool = False, labelled: bool = True) -> EvalResult:
    """Score one proxy on ``records``: a feature name, or any input :func:`read_proxy` takes
    (proxy text in any exported form, a named proxy, a JSON file, a results folder).

    A proxy over statistics is also scored on the null control of the same architectures and a
    config formula is fitted to its scores (its information label; with ``--stats null`` both
    are the control, labelled as such); ``labelled=False`` skips both where only the scores or
    the rank are wanted.
    """
    from lpzero_gp.score.information import (
        config_labels,
        cost_class,
        information,
        inputs_of,
        precision_flag,
    )
    from lpzero_gp.search.formula import config_rho

    feats = [loaded.space.features(r, loaded.variant) for r in records]
    if feats and proxy in feats[0]:
        scores = np.array([f[proxy] for f in feats], dtype=float)
        recs, info, cost = records, config_labels()["information"], "config"
    else:
        tree = _read(proxy, feats[0] if feats else {})  # fails before any model is built
        ds, _, recs = dataset_for(loaded, records, label)
        scorer = Scorer(ds, np.array([r.truth for r in recs]))
        s = scorer.scores(tree)
        if s is None:
            raise ProxyError("every branch of the proxy is pruned")
        scores = s
        cost = cost_class(inputs_of(tree))
        if not labelled:
            info = {}
        elif loaded.stats_kind == "null":
            info = {"rho_real_null": 1.0, "label": "null control"}
        else:
            null, _, _ = dataset_for(loaded, recs, label, kind="null")
            by_config = config_rho(s, [loaded.space.features(r, loaded.variant) for r in recs])
            info = information(s, Scorer(null, scorer.truth).scores(tree), by_config)
    truth = np.array([r.truth for r in recs])
    res = rank(scores, truth)
    ci = bootstrap_ci(scores, truth) if with_ci and res.valid else None
    return EvalResult(proxy, recs, scores, res, ci, info, cost,
                      precision_flag(scores, truth) if res.valid else False)


def _read(proxy: str, features) -> gp.PrimitiveTree:
    """The tree of a proxy input; a proxy that is one unknown word names the closest named
    proxies, inputs and ``features`` of the space."""
    try:
        return read_proxy(proxy)
    except ProxyError as exc:
        if not features:
            raise
        raise unknown_word(exc, INPUTS, features) from None


def search(loaded: Loaded, ctx: Context, cfg: SearchConfig, search_records: list[Record],
           checkpoint_dir: Path | None = None, resume: bool = False, checkpoint_key: str = "",
           fitness: str = "rho"):
    """Run the GP search on ``search_records``; returns (search, final state, dataset info).

    ``checkpoint_key`` is stored with every checkpoint, and a resumed checkpoint must carry it.
    ``fitness`` ``beyond-shape`` rejects candidates that are not statistics-driven on the
    search architectures (:class:`~lpzero_gp.score.scoring.Scorer` with a null dataset); it
    is plain rho on the null control itself.
    """
    scorer, ds, recs = search_scorer(loaded, cfg, search_records, fitness)
    s, state, secs = run_scorer(ctx, cfg, scorer, available_inputs(ds), checkpoint_dir, resume,
                                checkpoint_key)
    return s, state, recs, secs


def search_scorer(loaded: Loaded, cfg: SearchConfig, search_records: list[Record],
                  fitness: str = "rho") -> tuple[Scorer, Dataset, list[Record]]:
    """The search fitness of one space: (scorer, dataset, records with statistics) of
    ``search_records`` (``fitness`` as for :func:`search`)."""
    ds, truth, recs = dataset_for(loaded, search_records, "search statistics")
    null = explain = None
    if fitness == "beyond-shape" and loaded.stats_kind == "real":
        from functools import partial

        from lpzero_gp.search.formula import config_rho

        null, _, _ = dataset_for(loaded, recs, "search statistics", kind="null")
        explain = partial(config_rho, features=[loaded.space.features(r, loaded.variant)
                                                for r in recs])
    scorer = Scorer(ds, truth, memoize=cfg.memoize, with_tau=False, null=null, explain=explain)
    return scorer, ds, recs


def run_scorer(ctx: Context, cfg: SearchConfig, scorer, available: tuple[str, ...],
               checkpoint_dir: Path | None = None, resume: bool = False,
               checkpoint_key: str = "", signed: bool = True):
    """The GP search of ``scorer`` (``proxy -> (fitness, tau)``, with ``rank``) over proxies of
    the ``available`` inputs, checkpointed; returns (search, final state, seconds).
    ``signed``: as :class:`~lpzero_gp.search.loop.Search` takes it."""
    from lpzero_gp.parallel import fitness_mapper

    score_fn, mapper = fitness_mapper(scorer, ctx.workers, ctx.dask)
    s = Search(search_pset(cfg), score_fn, cfg, available=available, mapper=mapper,
               signed=signed)
    s.checkpoint_key = checkpoint_key
    state = None
    if resume and checkpoint_dir is not None:
        state = load_checkpoint(checkpoint_dir, default_pset(), key=checkpoint_key)
        if state.meta.get("config") != asdict(cfg):
            raise CheckpointError("checkpoint was written with different search settings")
        s.resume(state)
    bar = progress_bar(total=cfg.generations, desc="search", disable=not ctx.progress,
               initial=state.generation if state else 0)

    def progress(st):  # totals so far and the population's diversity: report.PROGRESS_KEY
        rec, counts = st.logbook[-1], s.stats_counts
        bar.set_postfix({"best_rho": f"{rec['best']:.3f}", "evals": counts["evaluated"],
                         "hits": counts["cache_hits"], "regen": counts["regenerated"],
                         "distinct": f"{rec['distinct']}/{cfg.population}"})
        bar.update(1)

    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # fitness ops are small: one thread avoids oversubscription
    try:
        state = s.run(state, progress=progress, checkpoint_dir=checkpoint_dir)
    finally:
        torch.set_num_threads(threads)
    bar.close()
    for ind in state.hof:  # Kendall tau is only needed for what is reported
        ind.tau = scorer.rank(str(ind)).tau
    return s, state, time.perf_counter() - t0


def search_pset(cfg: SearchConfig):
    """The primitive set of a search: every op, with only the chosen block aggregations."""
    from lpzero_gp.primitives.ops import OPS_BY_NAME
    from lpzero_gp.primitives.pset import make_pset

    ops = tuple(n for n in OPS_BY_NAME if not n.startswith("agg_") or n in cfg.aggregations)
    return make_pset(ops=ops)


def available_inputs(ds: Dataset) -> tuple[str, ...]:
    """Inputs with data for at least one block."""
    return tuple(k for k, b in ds.inputs.items() if b.groups)


def best_proxy(state) -> tuple[str, float, float]:
    """(proxy string, rho, tau) of the search's best (the one rule of
    :func:`~lpzero_gp.search.loop.best_individual`)."""
    from lpzero_gp.search.loop import best_individual

    ind = best_individual(state.hof)
    return format_tree(ind), ind.fitness.values[0], getattr(ind, "tau", float("nan"))

__all__ = [
    "ANNOUNCE_ABOVE", "Loaded", "ROUGH_SECONDS", "announce", "available_inputs", "best_proxy",
    "build_notice", "calibration_batch", "dataset_for", "evaluate_proxy", "feature_ranks", "load",
    "run_scorer", "search", "search_pset", "search_scorer",
]
