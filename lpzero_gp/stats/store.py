"""Compact per-architecture statistics and the block-batched dataset the evaluator runs on.

Each source tensor is viewed as rows of its feature axis and a seeded subset of rows is kept
(at most ``budget`` elements per tensor), together with the full element count, so per-block
means are unbiased estimates and size-dependent reductions (Frobenius norm) scale back to the
full tensor. G and W tensors of one parameter get identical rows, so G*W stays exact.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lpzero_gp.atomic import atomic_bytes
from lpzero_gp.errors import ResultsError, one_line
from lpzero_gp.primitives.types import Blocks, Layout
from lpzero_gp.spaces.base import INPUT_NAMES, RawInputs

DEFAULT_BUDGET = 2048


@dataclass
class ArchStats:
    """Compact statistics of one architecture: ``inputs[letter] = [(block, rows, numel)]``."""

    n_blocks: int
    inputs: dict[str, list[tuple[int, torch.Tensor, int]]]
    #: Measured seconds of the model's ``build`` and of its ``statistics`` pass (forward,
    #: backward, compaction) when it was extracted; not part of the content digest.
    seconds: dict[str, float] = field(default_factory=dict)


def _rows(t: torch.Tensor, budget: int, seed: int) -> torch.Tensor:
    """A seeded subset of the rows of ``t`` viewed as (-1, features), float32, contiguous."""
    t = t.detach().float()
    mat = t.reshape(1, -1) if t.dim() == 0 else t.reshape(-1, t.shape[-1])
    n_rows, cols = mat.shape
    keep = max(1, budget // max(cols, 1))
    if n_rows <= keep:
        return mat.clone().cpu().contiguous()
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(n_rows, generator=gen)[:keep].sort().values
    return mat[idx.to(mat.device)].cpu().contiguous()


def _seed(base: int, letter_group: str, block: int, k: int, shape: tuple[int, ...]) -> int:
    text = f"{base}|{letter_group}|{block}|{k}|{shape}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1


def compact(raw: RawInputs, budget: int = DEFAULT_BUDGET, seed: int = 0) -> ArchStats:
    """Compact a space's raw inputs. G and W share their row choice (group key ``P``)."""
    n_blocks = max((len(v) for v in raw.values()), default=0)
    inputs: dict[str, list[tuple[int, torch.Tensor, int]]] = {}
    for letter, blocks in raw.items():
        if letter not in INPUT_NAMES:
            continue
        group = "P" if letter in ("G", "W") else letter
        segs = []
        for b, tensors in enumerate(blocks):
            for k, t in enumerate(tensors):
                segs.append((b, _rows(t, budget, _seed(seed, group, b, k, tuple(t.shape))),
                             int(t.numel())))
        inputs[letter] = segs
    return ArchStats(n_blocks, inputs)


def _layout_and_groups(per_arch, block_offset):
    """Group segments of all architectures by stored shape."""
    by_shape: dict[tuple[int, int], list] = defaultdict(list)
    for a, segs in enumerate(per_arch):
        for b, t, numel in segs:
            by_shape[tuple(t.shape)].append((block_offset[a] + b, t, numel))
    groups, seg_block, seg_numel = [], [], []
    for shape in sorted(by_shape):
        items = by_shape[shape]
        groups.append(torch.stack([t for _, t, _ in items]))
        seg_block.append(torch.tensor([b for b, _, _ in items], dtype=torch.long))
        seg_numel.append(torch.tensor([n for _, _, n in items], dtype=torch.float64))
    return groups, seg_block, seg_numel


@dataclass
class Dataset:
    """Block-batched inputs of many architectures, ready for proxy evaluation."""

    inputs: dict[str, Blocks]
    n_archs: int
    blocks_per_arch: list[int]

    @classmethod
    def from_stats(cls, stats: list[ArchStats]) -> Dataset:
        """Stack the statistics of ``stats`` (one entry per architecture, in order)."""
        counts = [s.n_blocks for s in stats]
        offsets = [sum(counts[:i]) for i in range(len(counts))]
        block_arch = torch.repeat_interleave(torch.arange(len(stats)), torch.tensor(counts))
        letters = sorted({k for s in stats for k in s.inputs})
        inputs: dict[str, Blocks] = {}
        layouts: dict[str, Layout] = {}
        for letter in letters:
            per_arch = [s.inputs.get(letter, []) for s in stats]
            groups, seg_block, seg_numel = _layout_and_groups(per_arch, offsets)
            layout = Layout(tuple(seg_block), tuple(seg_numel), block_arch, len(stats))
            if letter == "G" and "W" in layouts and _same_layout(layouts["W"], layout):
                layout = layouts["W"]
            if letter == "W" and "G" in layouts and _same_layout(layouts["G"], layout):
                layout = layouts["G"]
            layouts[letter] = layout
            inputs[letter] = Blocks(tuple(groups), layout)
        for letter in INPUT_NAMES:
            if letter not in inputs:  # absent input: no data, every block reduces to nan
                inputs[letter] = Blocks((), Layout((), (), block_arch, len(stats)))
        return cls(inputs, len(stats), counts)


def _same_layout(a: Layout, b: Layout) -> bool:
    return len(a.seg_block) == len(b.seg_block) and all(
        torch.equal(x, y) for x, y in zip(a.seg_block, b.seg_block, strict=True)) and all(
        torch.equal(x, y) for x, y in zip(a.seg_numel, b.seg_numel, strict=True))


#: Layout version of a statistics file; a file of another layout is recomputed.
STATS_FORMAT = 3
#: File suffix of a statistics file (safetensors: no pickle, read without running code).
STATS_SUFFIX = ".safetensors"
#: Sane bounds on what a statistics file may claim (a damaged one is recomputed, not used).
_MAX_BLOCKS = 1 << 16


class StatsFileError(Exception):
    """A statistics file that exists but cannot be used (damaged, swapped, other layout)."""


def stats_digest(stats: ArchStats) -> str:
    """SHA-256 of everything an :class:`ArchStats` holds: blocks, shapes, counts and values."""
    h = hashlib.sha256(f"{stats.n_blocks}".encode())
    for letter in sorted(stats.inputs):
        h.update(f"|{letter}".encode())
        for block, t, numel in stats.inputs[letter]:
            h.update(f"|{block},{numel},{tuple(t.shape)},{t.dtype}".encode())
            h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


def save_stats(stats: ArchStats, path: Path, key: str = "") -> None:
    """Write statistics atomically, as safetensors, with their content digest and the ``key``
    they belong to (a folder in the file's place is removed first).

    ResultsError (one line naming the file) when the folder cannot be written, e.g. a full disk,
    or a folder in the file's place cannot be removed; no temporary file is left behind (see
    :mod:`lpzero_gp.atomic`).
    """
    import json

    from safetensors.torch import save

    clear_folder(path, "a statistics file")
    tensors = {f"{letter}.{i}": t.contiguous() for letter, segs in stats.inputs.items()
               for i, (_, t, _) in enumerate(segs)}
    segments = {letter: [[b, n] for b, _, n in segs] for letter, segs in stats.inputs.items()}
    meta = {"format": str(STATS_FORMAT), "key": key, "digest": stats_digest(stats),
            "n_blocks": str(stats.n_blocks), "segments": json.dumps(segments, sort_keys=True),
            "seconds": json.dumps(stats.seconds, sort_keys=True)}
    try:
        atomic_bytes(path, save(tensors, metadata=meta))
    except OSError as exc:
        raise ResultsError(f"cannot write statistics to {path}: "
                           f"{exc.strerror or one_line(exc)}") from None


def not_a_file(path: Path) -> str | None:
    """Why what stands at a cache entry's ``path`` is no file (a folder, a link that leads to
    no file: damage, recomputed like any other); None when nothing or a file is there."""
    if path.is_file():
        return None
    if path.is_symlink():
        return "a link that leads to no file"
    if path.is_dir():
        return "a folder, not a file"
    return "not a regular file" if os.path.lexists(path) else None


def clear_folder(path: Path, what: str) -> None:
    """Remove a folder standing where a cache entry (``what``) goes (damage, recomputed like
    any other); ResultsError, one line naming it, when it cannot be removed."""
    import shutil

    if path.is_symlink() or not path.is_dir():
        return  # a file or a link is replaced by the atomic rename itself
    try:
        shutil.rmtree(path)
    except OSError as exc:
        raise ResultsError(f"cannot replace the folder {path} with {what}: "
                           f"{exc.strerror or one_line(exc)}") from None


def _inputs(segments: object, tensors: dict[str, torch.Tensor]) -> dict:
    """The ``inputs`` of a statistics file from its segment table and tensors, checked."""
    if not isinstance(segments, dict):
        raise StatsFileError("no segment table")
    inputs = {}
    for letter, segs in segments.items():
        if letter not in INPUT_NAMES or not isinstance(segs, list):
            raise StatsFileError(f"unexpected input {letter!r}")
        out = []
        for i, seg in enumerate(segs):
            t = tensors.pop(f"{letter}.{i}", None)
            if not (isinstance(seg, list) and len(seg) == 2
                    and all(isinstance(x, int) and not isinstance(x, bool) for x in seg)
                    and 0 <= seg[0] < _MAX_BLOCKS and seg[1] >= 0 and t is not None
                    and t.dim() == 2 and t.dtype == torch.float32):
                raise StatsFileError(f"malformed segment {i} of input {letter}")
            out.append((seg[0], t, seg[1]))
        inputs[letter] = out
    if tensors:
        raise StatsFileError("tensors without a segment")
    return inputs


def read_stats(path: Path, key: str | None = None) -> ArchStats | None:
    """Statistics written by :func:`save_stats`; None if the file does not exist.

    StatsFileError when a folder stands in its place, or the file is unreadable, of another
    layout or structure, belongs to
    another key (``key`` given: a swapped or copied file) or fails its content digest
    (flipped bytes, edited values).
    """
    import json

    from safetensors import safe_open

    why = not_a_file(path)
    if why:
        raise StatsFileError(why)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
        segments = json.loads(meta.get("segments", "null"))
        n_blocks = int(meta.get("n_blocks", "-1"))
    except Exception as exc:  # any unreadable file is a damaged entry
        raise StatsFileError(f"unreadable ({type(exc).__name__})") from None
    if meta.get("format") != str(STATS_FORMAT):
        raise StatsFileError("not a statistics file of this lpzero-gp version")
    if key is not None and meta.get("key") != key:
        raise StatsFileError("it belongs to another architecture or configuration")
    if not 0 <= n_blocks < _MAX_BLOCKS:
        raise StatsFileError("bad block count")
    stats = ArchStats(n_blocks, _inputs(segments, tensors))
    if meta.get("digest") != stats_digest(stats):
        raise StatsFileError("its content does not match its digest")
    stats.seconds = _seconds(meta.get("seconds"))
    return stats


def _seconds(text: str | None) -> dict[str, float]:
    """The measured seconds a statistics file records (empty when absent or unreadable: they
    are information, not data)."""
    import json

    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(k, str)
            and isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1e7}


def load_stats(path: Path, key: str | None = None) -> ArchStats | None:
    """:func:`read_stats`, with None for a missing or unusable file."""
    try:
        return read_stats(path, key)
    except StatsFileError:
        return None

__all__ = [
    "ArchStats", "DEFAULT_BUDGET", "Dataset", "STATS_SUFFIX", "StatsFileError", "clear_folder",
    "compact", "load_stats", "not_a_file", "read_stats", "save_stats",
]
