"""``lpzero-gp ablate``: the statistics once, every planned run, and the results folder."""

from __future__ import annotations

import time
from pathlib import Path

from lpzero_gp.atomic import AtomicFolder, check_outside_cache, exists_error
from lpzero_gp.spaces.progress import honours_quiet
from lpzero_gp.stats.cache import resolve as stats_cache
from lpzero_gp.versions import versions
from lpzero_gp.workflows.ablate.config import budget_of, config_from_options
from lpzero_gp.workflows.ablate.markdown import ablation_lines, markdown
from lpzero_gp.workflows.ablate.plots import plot_rps, plot_sweep
from lpzero_gp.workflows.ablate.runs import AblationData
from lpzero_gp.workflows.ablate.summary import run_ablation
from lpzero_gp.workflows.options import AblateOptions, Report
from lpzero_gp.workflows.optionspec import spelled
from lpzero_gp.workflows.splits import choose


def write(result: dict, out: Path, force: bool, title: str, timing: dict | None = None) -> None:
    """The results folder: ablation.json, ablation.md and one PNG per experiment run."""
    with AtomicFolder(out, force=force, force_name=spelled("force", True)) as rf:
        rf.json("ablation.json", result)
        rf.text("ablation.md", markdown(result, title))
        if timing is not None:
            rf.json("timing.json", timing)
        exps = result["experiments"]
        if "rps" in exps:
            plot_rps(result, rf.path("rps_vs_random.png"), title)
        if "population" in exps:
            plot_sweep(result, "population", rf.path("population.png"), title, "population",
                       "population {}")
        if "n_unary" in exps:
            plot_sweep(result, "n_unary", rf.path("n_unary.png"), title,
                       "unary ops per branch", "{} unary ops per branch")



def load_data(ctx, search_archs: str = "search", heldout: str = "validation"
              ) -> tuple[AblationData, object]:
    """Statistics of the search and held-out architectures (built or read from the cache).

    The architectures are chosen as ``run`` chooses them (``splits.choose``): the held-out ones
    are never searched, a file too small for its default splits gets workable ones (the choice
    is the data's ``splits``), and choices that cannot work are one error naming every option
    to change.
    """
    from lpzero_gp.workflows.context import dataset_for, load

    loaded = load(ctx)
    choice = choose(loaded.records, search_archs, heldout, loaded.space, loaded.packaged,
                    ctx.seed)
    ds, truth, srecs = dataset_for(loaded, choice.search, "search statistics")
    vds, vtruth, vrecs = dataset_for(loaded, choice.heldout, "validation statistics")
    nds, _, _ = dataset_for(loaded, srecs, "search statistics", kind="null")
    nvds, _, _ = dataset_for(loaded, vrecs, "validation statistics", kind="null")
    null = AblationData(nds, truth, nvds, vtruth)
    return AblationData(ds, truth, vds, vtruth, null, splits=choice), loaded


@honours_quiet
def run_ablate(opts: AblateOptions) -> Report:
    """The search ablations of ``opts``: every run, summarised, written to a results folder.

    Returns ablation.json's content as ``data``, the printed tables as ``lines`` and the
    results folder as ``out``.
    """
    from lpzero_gp.spaces import get_space

    t0 = time.perf_counter()
    cfg = config_from_options(opts)
    variant = opts.variant or get_space(opts.space, **opts.space_options).default_variant
    out = Path(opts.out or f"runs/ablate-{opts.space}-{variant}")
    if out.exists() and not opts.force:
        raise exists_error(out, spelled("force", True))
    check_outside_cache(out, stats_cache(opts.cache_dir, not opts.cache))
    ctx = opts.context()
    data, loaded = load_data(ctx, opts.search_archs, opts.heldout)
    timing: dict = {}
    result = run_ablation(data, cfg, progress=not opts.quiet, timing=timing)
    result.update({"space": loaded.space.name, "variant": loaded.variant,
                   "semantics": ctx.semantics, "truth": loaded.space.truth_label,
                   "calibration": loaded.info, "init_seed": ctx.model_init_seed(),
                   "search_archs": opts.search_archs, "heldout": opts.heldout,
                   "splits": data.splits.to_json() if data.splits else None,
                   "budget": budget_of(opts)[1], "versions": versions()})
    ex = loaded.extractor
    timing.update({"wall_seconds": time.perf_counter() - t0, "extract_seconds": ex.seconds,
                   "models_built": ex.built, "statistics_loaded_from_cache": ex.loaded})
    title = f"{loaded.space.name} ({loaded.variant}, {ctx.semantics} inputs)"
    write(result, out, opts.force, title, timing)
    return Report(result, ablation_lines(result, title, out, timing["wall_seconds"], ex),
                  out=out)

__all__ = ["load_data", "run_ablate", "write"]
