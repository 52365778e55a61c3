"""A run's folders and checkpoints, shared by one-space and multi-space runs.

Where results and checkpoints live (``.<name>.checkpoint`` beside the results folder, holding
``run.json`` with the settings and a fingerprint of the data), how a run's architectures are
picked, and what a stopped run keeps: :mod:`.run` and :mod:`.multispace` both build on these.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from lpzero_gp.atomic import atomic_text, check_outside_cache, exists_error, make_folder
from lpzero_gp.errors import CheckpointError, ResultsError
from lpzero_gp.jsonfile import read_json
from lpzero_gp.search import CHECKPOINT, SearchConfig, checkpoint_info
from lpzero_gp.stats.cache import resolve as stats_cache
from lpzero_gp.stats.extract import batch_digest
from lpzero_gp.versions import __version__
from lpzero_gp.workflows.options import Notify, RunOptions
from lpzero_gp.workflows.optionspec import spelled
from lpzero_gp.workflows.splits import Choice, choose

#: Settings file written next to the checkpoint when a run starts.
RUN_FILE = "run.json"


RUN_FILE_FORMAT = 1


#: Sub-folder of the checkpoint folder holding statistics when no cache is used.
STATS_FOLDER = "stats"


#: ``run`` options that never change its results. Every other option does, and a resumed run
#: takes those from the checkpoint.
FREE_OPTIONS = ("cache_dir", "cache", "workers", "threads", "dask", "quiet", "out", "force",
                "resume_dir", "keep_checkpoint", "checkpoint_dir")


#: Context fields that change how a run is executed but never its results.
RUNTIME_FIELDS = ("cache_dir", "cache", "workers", "threads", "dask", "progress",
                  "fallback_cache")


#: Of those, the options a resumed run takes from the checkpoint unless given again.
RUNTIME_OPTIONS = ("cache_dir", "cache", "workers", "threads", "dask")


def default_out(opts: RunOptions) -> Path:
    """``runs/<space>-<variant>-s<seed>`` when no results folder is given, with the variant the
    run uses (the space's default variant when none is given, e.g. ``flexibert-as-trained``);
    ``runs/<space>+<space>...-s<seed>`` for several spaces."""
    from lpzero_gp.spaces import get_space

    if not isinstance(opts.space, str):
        return Path(f"runs/{'+'.join(opts.space)}-s{opts.seed}")
    variant = opts.variant or get_space(opts.space, **opts.space_options).default_variant
    return Path(f"runs/{opts.space}-{variant}-s{opts.seed}")


def checkpoint_dir_for(out: Path) -> Path:
    """The hidden checkpoint folder of results folder ``out``."""
    out = Path(out)
    return out.parent / f".{out.name}.checkpoint"


def find_checkpoint(path: str | Path) -> Path:
    """Checkpoint folder of ``--resume PATH``: PATH itself, or the results folder's sibling."""
    path = Path(path)
    if path.name in (CHECKPOINT, RUN_FILE):
        path = path.parent
    sibling = checkpoint_dir_for(path)
    for folder in (path, sibling):
        if (folder / CHECKPOINT).is_file():
            return folder
    if path.is_dir() and (path / "scores.csv").is_file() and not (path / "best.json").is_file():
        raise CheckpointError(f"{path} holds the results of another command (eval's "
                              "scores.csv, no best.json), not of a run: there is nothing to "
                              "resume")
    if path.is_dir() and (path / "summary.json").is_file():
        raise CheckpointError(f"{path} holds a finished run and no checkpoint (checkpoints are "
                              "removed when a run completes unless --keep-checkpoint / "
                              "keep_checkpoint=True)")
    for folder in (path, sibling):  # stopped before its first generation: start the search
        if (folder / RUN_FILE).is_file():
            return folder
    if not path.exists() and not sibling.exists():
        raise CheckpointError(f"nothing to resume: neither {path} nor its checkpoint folder "
                         f"{sibling} exists")
    raise CheckpointError(f"no checkpoint to resume in {path} (looked for {path / CHECKPOINT} and "
                     f"{sibling / CHECKPOINT})")


def normalise_paths(opts: RunOptions) -> RunOptions:
    """Absolute paths for path options, so a run can be resumed from any working folder."""
    changes = {name: str(Path(os.path.expanduser(value)).resolve())
               for name in ("benchmark", "text", "cache_dir") if (value := getattr(opts, name))}
    tok = opts.tokenizer
    if tok and Path(os.path.expanduser(tok)).exists():
        changes["tokenizer"] = str(Path(os.path.expanduser(tok)).resolve())
    return replace(opts, **changes)


def result_options() -> list[str]:
    """Names of the run options that decide a run's results (stored with its checkpoint)."""
    return sorted(f.name for f in fields(RunOptions) if f.name not in FREE_OPTIONS)


def _option(name: str) -> str:
    return spelled(name)


def read_run_file(ckpt: Path) -> dict:
    """The ``run.json`` of a checkpoint folder (CheckpointError if missing or from another
    version)."""
    path = ckpt / RUN_FILE
    if not path.is_file():
        raise CheckpointError(f"{ckpt} has no {RUN_FILE}: not a checkpoint of lpzero-gp run")
    data = read_json(path, "run file", error=CheckpointError)
    if not isinstance(data, dict) or data.get("format") != RUN_FILE_FORMAT or not isinstance(
            data.get("settings"), dict) or not isinstance(data.get("fingerprint"), dict):
        raise CheckpointError(f"{path} is not a run file of this lpzero-gp version")
    if data.get("version") != __version__:
        raise CheckpointError(f"checkpoint {ckpt} was written by lpzero-gp {data.get('version')}; "
                         f"this is {__version__} (resume it with that version or start a new "
                         "run)")
    return data


@dataclass
class _Target:
    """Where a run writes: results folder, checkpoint folder, and what it may replace."""

    out: Path
    ckpt: Path
    replace: bool
    #: The checkpoint's generation when resuming, else None.
    resumed_from: int | None = None
    #: Whether this continues an interrupted run (possibly from before its first generation).
    resuming: bool = False


def _target(opts: RunOptions, cfg: SearchConfig) -> _Target:
    """The run's folders; ResultsError if it would overwrite results or a checkpoint."""
    out = Path(opts.out) if opts.out else default_out(opts)
    if out.exists() and not out.is_dir():
        raise ResultsError(f"results folder {out} exists and is not a folder")
    check_outside_cache(out, stats_cache(opts.cache_dir, not opts.cache))
    if opts.resume_dir:
        ckpt = Path(opts.checkpoint_dir)
        generation = None
        if (ckpt / CHECKPOINT).is_file():
            gen = checkpoint_info(ckpt)
            if gen["config"] != asdict(cfg):
                raise CheckpointError(f"the checkpoint in {ckpt} was written with different "
                                      "search settings")
            generation = gen["generation"]
        # the interrupted run's own results folder may be replaced; any other needs --force
        replace_ = opts.force or out.resolve() == Path(read_run_file(ckpt)["out"])
        if out.exists() and not replace_:
            raise exists_error(out, spelled("force", True))
        return _Target(out, ckpt, replace_, generation, resuming=True)
    ckpt = checkpoint_dir_for(out)
    if out.exists() and not opts.force:
        raise exists_error(out, spelled("force", True))
    _check_checkpoint_folder(ckpt)
    if ((ckpt / CHECKPOINT).is_file() or (ckpt / RUN_FILE).is_file()) and not opts.force:
        raise CheckpointError(f"an interrupted run left a checkpoint in {ckpt}: continue it with "
                              f"--resume {out} (resume_dir={str(out)!r}), or start over with "
                              "--force (force=True)")
    return _Target(out, ckpt, opts.force)


def _fingerprint(loaded, search_recs, held_recs) -> dict:
    """What the data of a run looked like: architecture ids, ground truth, calibration batch,
    and each architecture's record digest (``Space.record_digest``, as in the statistics
    cache's keys), so a record edited under the same id is noticed on resuming."""
    recs = search_recs + held_recs
    truth = json.dumps([[r.id, r.truth] for r in recs])
    return {"search_ids": [r.id for r in search_recs], "heldout_ids": [r.id for r in held_recs],
            "truth_sha256": hashlib.sha256(truth.encode()).hexdigest(),
            "batch": batch_digest(loaded.batch),
            "records": {r.id: loaded.space.record_digest(r) for r in recs}}


#: How a fingerprint's parts are named when they no longer match.
_FINGERPRINT_PARTS = {"search_ids": "search architectures", "heldout_ids": "held-out architectures",
                      "truth_sha256": "ground truth", "batch": "calibration batch"}


def _check_fingerprint(ckpt: Path, stored: dict, now: dict) -> None:
    """CheckpointError (one line naming what changed) unless the run's data is still what the
    checkpoint in ``ckpt`` was made from."""
    for key, what in _FINGERPRINT_PARTS.items():
        if stored.get(key) != now[key]:
            raise CheckpointError(f"the {what} differ from those of the checkpoint in {ckpt} (was "
                             "the benchmark file, calibration text or tokenizer changed?)")
    was = stored.get("records")
    if not isinstance(was, dict):
        raise CheckpointError(f"the checkpoint in {ckpt} records no digest of its architectures' "
                              "configs, so it cannot be checked against the benchmark file: "
                              f"start over with {spelled('force', True)}")
    changed = [rid for rid, digest in now["records"].items() if was.get(rid) != digest]
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5
                                          else "")
        raise CheckpointError(f"{len(changed)} architecture(s) changed since the checkpoint in "
                              f"{ckpt} was written ({shown}: same id, other config or model "
                              "files); resume with the benchmark as it was, or start over with "
                              f"{spelled('force', True)}")


def _settings(opts: RunOptions, variant: str) -> dict:
    settings = {name: getattr(opts, name) for name in result_options()}
    settings["variant"] = variant
    return settings


def _check_checkpoint_folder(ckpt: Path) -> None:
    """CheckpointError unless ``ckpt`` is a folder or nothing: a symbolic link or a file there
    is never followed, replaced or removed (it may point at someone's files)."""
    if ckpt.is_symlink():
        raise CheckpointError(f"checkpoint folder {ckpt} is a symbolic link: remove the link "
                              "(a run never writes through it nor removes what it points to)")
    if ckpt.exists() and not ckpt.is_dir():
        raise CheckpointError(f"checkpoint folder {ckpt} exists and is not a folder: remove it")


def _start_checkpoints(ckpt: Path, run_file: dict) -> None:
    """A fresh checkpoint folder holding ``run.json``, its entry fsynced in its parent."""
    _check_checkpoint_folder(ckpt)
    try:
        if ckpt.exists():
            shutil.rmtree(ckpt)
        make_folder(ckpt)
        atomic_text(ckpt / RUN_FILE, json.dumps(run_file, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoints to {ckpt}: "
                              f"{exc.strerror or exc}") from None


def _records(loaded, opts: RunOptions, seed: int) -> tuple[list, list, Choice]:
    """Search and held-out architectures (held-out ones never searched, at least 3 each; a
    file too small for its default splits gets workable ones, said in the choice; an error
    names every option to change)."""
    choice = choose(loaded.records, opts.search_archs, opts.heldout, loaded.space,
                    loaded.packaged, seed)
    return choice.search, choice.heldout, choice


def _missing(asked: list, used: list) -> list[str]:
    """Ids of ``asked`` architectures that are not among ``used`` (no statistics)."""
    kept = {r.id for r in used}
    return [r.id for r in asked if r.id not in kept]


def _open_checkpoints(target: _Target, opts: RunOptions, cfg: SearchConfig,
                      variant: str, fingerprint: dict, note: Notify) -> str:
    """Check a resumed run's data against its checkpoint, or start a fresh checkpoint folder
    (``variant``: the variant used; of the first space in a run over several, the one the
    ``variant`` option sets).

    Returns the key every checkpoint of the run carries (:func:`checkpoint_key`).
    """
    ckpt, out = target.ckpt, target.out
    if target.resuming:
        run_file = read_run_file(ckpt)
        _check_fingerprint(ckpt, run_file["fingerprint"], fingerprint)
        if target.resumed_from is None:
            note(f"resuming before the first generation (checkpoint folder {ckpt}; statistics "
                 "extracted so far are reused)")
        else:
            note(f"resuming from generation {target.resumed_from} of {cfg.generations} "
                 f"(checkpoint {ckpt})")
        return checkpoint_key(run_file)
    run_file = {"format": RUN_FILE_FORMAT, "version": __version__, "out": str(out.resolve()),
                "settings": _settings(opts, variant),
                "runtime": {k: getattr(opts, k) for k in RUNTIME_OPTIONS},
                "fingerprint": fingerprint}
    _start_checkpoints(ckpt, run_file)
    note(f"checkpoints: {ckpt} (after a crash: lpzero-gp run --resume {out})")
    return checkpoint_key(run_file)


@contextmanager
def kept_on_failure(target: _Target, cache: Path | None, note: Notify) -> Iterator[None]:
    """Around a run's search: when it fails, the checkpoint folder is removed unless it holds
    something worth resuming (a checkpoint, extracted statistics, or an interrupt), which
    ``note`` names (``cache``: the extractor's configuration folder)."""
    try:
        yield
    except BaseException as exc:
        kept = (target.ckpt / CHECKPOINT).is_file() or isinstance(exc, KeyboardInterrupt) \
            or any((target.ckpt / STATS_FOLDER).glob("*/*.safetensors"))
        if not kept:  # nothing worth resuming: a user error before any work was kept
            shutil.rmtree(target.ckpt, ignore_errors=True)
        else:
            note(_kept_line(target.ckpt, cache, target.out))
        raise


def write_results(target: _Target, keep_checkpoint: bool, note: Notify, write) -> None:
    """Write a finished search's results folder (``write()``), then remove its checkpoint
    folder unless ``keep_checkpoint``; if writing fails, ``note`` says the checkpoint is kept
    and how to write the results from it without searching again."""
    try:
        write()
    except BaseException:
        note(f"the finished search's checkpoint is kept in {target.ckpt}: lpzero-gp run "
             f"--resume {target.out} writes the results without searching again")
        raise
    if not keep_checkpoint:
        shutil.rmtree(target.ckpt, ignore_errors=True)


def _kept_line(ckpt: Path, cache: Path | None, out: Path) -> str:
    """What a stopped run kept, and where: the last checkpoint (or only the run's settings)
    in ``ckpt``, and the statistics in the statistics cache, or with the checkpoint under
    ``--no-cache`` (``cache``: the extractor's configuration folder; None: none kept)."""
    if (ckpt / CHECKPOINT).is_file():
        head = f"the last checkpoint is kept in {ckpt}"
    else:
        head = f"no generation was finished; the run's settings are kept in {ckpt}"
    if cache is None:
        where = "the statistics were not kept"
    elif cache.parent == ckpt / STATS_FOLDER:
        where = f"the statistics extracted so far are kept with it, in {cache.parent} (no cache)"
    else:
        where = f"the statistics extracted so far are in the statistics cache {cache.parent}"
    return f"{head}; {where}: continue with lpzero-gp run --resume {out}"


def checkpoint_key(run_file: dict) -> str:
    """The key every checkpoint of a run carries: a digest of its settings and data."""
    body = json.dumps({"settings": run_file["settings"], "fingerprint": run_file["fingerprint"]},
                      sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _results(entry: dict) -> dict:
    """A summary entry without the interval reasons (``ci_reason``, at any depth): best.json
    keeps its results as they were, the reasons are in summary.json."""
    return {k: _results(v) if isinstance(v, dict) else v for k, v in entry.items()
            if k != "ci_reason"}


def _counts_line(counts: dict) -> str:
    """The search's counters in words: proxies scored, cache hits, children regenerated."""
    return (f"search counts: {counts['evaluated']} proxies scored, {counts['cache_hits']} "
            "cache hits (scored before, not scored again), "
            f"{counts['regenerated']} children regenerated (rejected by RPS or duplicates)")

__all__ = [
    "FREE_OPTIONS",
    "RUNTIME_FIELDS",
    "RUNTIME_OPTIONS",
    "RUN_FILE",
    "RUN_FILE_FORMAT",
    "STATS_FOLDER",
    "checkpoint_dir_for",
    "checkpoint_key",
    "default_out",
    "find_checkpoint",
    "kept_on_failure",
    "normalise_paths",
    "read_run_file",
    "result_options",
    "write_results",
]
