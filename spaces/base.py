"""The contract every search space implements: records, model builder, calibration, inputs.

A space turns benchmark records into seeded, randomly initialised torch models and reads the
proxy inputs off one forward/backward pass. Everything the engine needs to know about a space
lives on its :class:`Space` object; the engine never looks inside a model and never branches on
a space's name. Spaces import nothing from the engine: the engine hands them what they need
(the calibration batch, a seed).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import stat
import struct
import warnings
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Protocol

import torch
from torch import nn

from lpzero_gp.errors import BIDI_CHARS, UNSAFE_CHARS, LpzeroError, SpaceError, env_limit
from lpzero_gp.jsonfile import finite
from lpzero_gp.primitives.pset import INPUTS

#: Input letters of the paper: Activation, Head, Softmax, Jacobian, Gradient, Weight (the
#: primitive set's order; one definition for the whole package).
INPUT_NAMES: tuple[str, ...] = INPUTS

#: ``{letter: [block_0_tensors, block_1_tensors, ...]}``. Every list has one entry per block
#: (transformer layer) and every block entry is a list of detached, cloned float tensors whose
#: last axis is the feature axis. ``G[b][i]`` is the gradient of the parameter ``W[b][i]``
#: (same shape, same order), so parameter-wise products such as G*W are well defined.
RawInputs = dict[str, list[list[torch.Tensor]]]

#: Input-collection semantics: ``intended`` (clean: eval mode, real loss, hooks removed) or
#: ``reference`` (what the published numbers were computed with; see docs/design.md §5.3 and
#: docs/specs.md §2).
SEMANTICS: tuple[str, ...] = ("intended", "reference")


def arch_seed(seed: int, arch_id: str) -> int:
    """Seed of one architecture's model: a hash of (run seed, architecture id)."""
    h = hashlib.blake2b(f"{seed}:{arch_id}".encode(), digest_size=4).digest()
    return int.from_bytes(h, "little")


#: Files up to this size are hashed whole by :func:`path_digest`; larger ones by a sample.
FULL_HASH_BYTES = 8 << 20
#: Bytes read from each end of a file larger than :data:`FULL_HASH_BYTES`.
SAMPLE_BYTES = 1 << 20


def config_digest(config: Any) -> str:
    """SHA-256 of a record config as canonical JSON (sorted keys, no spaces): the same config
    gives the same digest whatever the key order of the file it came from."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_digest(h: Any, path: str) -> None:
    """Feed one file to ``h``: its whole content up to :data:`FULL_HASH_BYTES`; beyond, its
    size, modification time and first and last :data:`SAMPLE_BYTES`."""
    st = os.stat(path)
    with open(path, "rb") as f:
        if st.st_size <= FULL_HASH_BYTES:
            h.update(b"full:%d:" % st.st_size)
            for chunk in iter(lambda: f.read(SAMPLE_BYTES), b""):
                h.update(chunk)
            return
        h.update(b"sampled:%d:%d:" % (st.st_size, st.st_mtime_ns))
        h.update(f.read(SAMPLE_BYTES))
        f.seek(st.st_size - SAMPLE_BYTES)
        h.update(f.read(SAMPLE_BYTES))


def path_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of what a file or folder holds, for cache keys of records that point at files.

    A file of up to 8 MiB (:data:`FULL_HASH_BYTES`) is hashed whole; a larger one (weights: a
    ``.gguf`` or ``.safetensors``) by its size, modification time and first and last MiB, so a
    multi-gigabyte checkpoint costs two reads, and a copied or touched one counts as changed.
    A folder is every file under it (hidden names and links to folders skipped) by relative
    path, in sorted order. A missing or unreadable path digests its name and the error, so it
    never matches a readable one.
    """
    h = hashlib.sha256()
    root = os.path.abspath(os.fspath(path))
    try:
        if os.path.isdir(root):
            files = []
            for folder, dirs, names in os.walk(root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files += [os.path.join(folder, n) for n in names if not n.startswith(".")]
            for file in sorted(files):
                h.update(f"\0{os.path.relpath(file, root)}\0".encode())
                _file_digest(h, file)
        else:
            _file_digest(h, root)
    except OSError as exc:
        h.update(f"unreadable:{root}:{exc.strerror or type(exc).__name__}".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Record:
    """One benchmark architecture: its id, its config, and its ground truth (higher is better)."""

    id: str
    config: dict[str, Any]
    truth: float
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


#: Skipped records named in the one warning about them; the rest are counted.
SKIPPED_SHOWN = 3


def _shown_id(key: Hashable) -> str:
    text = repr(key) if isinstance(key, str) else str(key)
    return text if len(text) <= 60 else text[:57] + "..."


#: The bidirectional marks, embeddings, overrides and isolates: they make text display other
#: than it reads (an id that looks like another).
_BIDI = BIDI_CHARS
#: Characters no record id (nor label) may hold: C0 and C1 controls (DEL included), the line
#: and paragraph separators, and the bidirectional controls.
_UNSAFE_ID_CHARS = UNSAFE_CHARS
#: The same for other text of a record (its config's keys and strings): tab and line breaks
#: may appear there.
_UNSAFE_TEXT_CHARS = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")
#: The line breaks among them (named as such in a refusal).
_LINE_BREAKS = "\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029"


def _what_char(char: str) -> str:
    """``the control character U+000A (a line break)`` of a refused character."""
    kind = "bidirectional control" if re.match(f"[{_BIDI}]", char) else "control"
    brk = " (a line break)" if re.match(f"[{_LINE_BREAKS}]", char) else ""
    return f"the {kind} character U+{ord(char):04X}{brk}"


def _unsafe(text: str, pattern: re.Pattern[str]) -> str | None:
    """The first character of ``text`` that ``pattern`` refuses, else None."""
    found = pattern.search(text)
    return None if found is None else found.group()


def _unsafe_in(value: Any, where: str) -> tuple[str, str] | None:
    """(path, character) of the first refused character in the keys and strings of a
    record's ``value`` (a config: dicts, lists, strings), else None."""
    stack = [(value, where)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            char = _unsafe(node, _UNSAFE_TEXT_CHARS)
            if char:
                return path, char
        elif isinstance(node, Mapping):
            for key in node:
                char = _unsafe(key, _UNSAFE_TEXT_CHARS) if isinstance(key, str) else None
                if char:
                    return f"{path} (a key)", char
            stack.extend(reversed([(v, f"{path}.{k}") for k, v in node.items()]))
        elif isinstance(node, list | tuple):
            stack.extend(reversed([(v, f"{path}[{i}]") for i, v in enumerate(node)]))
    return None


def _check_text(records: Sequence[Record], source: str, positions: Mapping[Hashable, int],
                ids: Sequence[Hashable | None]) -> None:
    """SpaceError naming the record's position and the code point when an id holds a control
    or bidirectional character (:data:`_UNSAFE_ID_CHARS`) or its config's text does
    (:data:`_UNSAFE_TEXT_CHARS`): such text would reach tables and terminals as it is."""
    def refuse(position: int, what: str, char: str) -> None:
        raise SpaceError(f"{source}: record #{position}: {what} holds {_what_char(char)}; "
                         "ids and record text must be plain printable text")

    for position, key in enumerate(ids):
        char = _unsafe(key, _UNSAFE_ID_CHARS) if isinstance(key, str) else None
        if char:
            refuse(position, "its id", char)
    for index, record in enumerate(records):
        position = positions.get(record.id, index)
        char = _unsafe(record.id, _UNSAFE_ID_CHARS) if isinstance(record.id, str) else None
        if char:
            refuse(position, "its id", char)
        found = _unsafe_in(record.config, "config")
        if found:
            refuse(position, f"{found[0]} (record {_shown_id(record.id)})", found[1])


def check_label(text: str, source: str, what: str) -> str:
    """``text`` of a benchmark file's header that reports show (a truth label, a metric's
    name), stripped; SpaceError naming ``source`` and ``what`` when it holds a character no id
    may hold (:data:`_UNSAFE_ID_CHARS`: a control or bidirectional character, a line break),
    since it is printed and written to Markdown as it is."""
    char = _unsafe(text, _UNSAFE_ID_CHARS)
    if char:
        raise SpaceError(f"{source}: {what} holds {_what_char(char)}; labels must be plain "
                         "printable text on one line")
    return text.strip()


#: Largest benchmark file read, in MiB (raise it with this environment variable).
MAX_BENCHMARK_MB, MAX_BENCHMARK_MB_ENV = 64, "LPZERO_GP_MAX_BENCHMARK_MB"
#: Most records a benchmark file may hold: each is checked when the file is read (an ``hf``
#: record is built on the meta device), then built and run to score it, so 10,000 take
#: minutes (raise it with the variable).
MAX_RECORDS, MAX_RECORDS_ENV = 10_000, "LPZERO_GP_MAX_RECORDS"


def check_file_size(path: str, what: str, limit_mb: int, env: str) -> int:
    """The size of the regular file ``path`` in bytes; SpaceError when it is not a regular
    file (a device, a pipe) or holds more than ``limit_mb`` MiB (naming the limit and the
    environment variable ``env`` that raises it)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SpaceError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise SpaceError(f"{what} {path} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise SpaceError(f"{what} {path} is not a regular file (a device or a pipe?)")
    if st.st_size > limit_mb << 20:
        raise SpaceError(f"{what} {path} is {st.st_size / (1 << 20):,.0f} MiB, over the "
                         f"{limit_mb:,} MiB limit (raise it with {env}=MB)")
    return st.st_size


#: Most tensors and metadata entries a GGUF header may declare (a 405B-parameter model has
#: about 1,100 tensors and 40 entries): a header beyond them is not a model file.
MAX_GGUF_TENSORS, MAX_GGUF_ENTRIES = 1 << 20, 1 << 16


def check_gguf_header(path: str | os.PathLike, error: type[LpzeroError] = SpaceError
                      ) -> tuple[int, int, int]:
    """Raise ``error`` naming ``path`` unless it is a regular file with a sane GGUF header: the
    one check of a GGUF file, read before any loader parses it (the llama space's models, the
    tokenizer reader's files). Returns the header's (version, tensors, metadata entries)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise error(f"{path} is not a regular file (a device or a pipe?)")
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(head) < 24 or head[:4] != b"GGUF":
        raise error(f"{path} is not a GGUF file (no GGUF header)")
    version, tensors, entries = struct.unpack("<IQQ", head[4:24])
    if not 1 <= version <= 16 or tensors > MAX_GGUF_TENSORS or entries > MAX_GGUF_ENTRIES:
        raise error(f"{path}: GGUF header declares version {version}, {tensors:,} tensors "
                    f"and {entries:,} metadata entries (at most {MAX_GGUF_TENSORS:,} and "
                    f"{MAX_GGUF_ENTRIES:,}): not a model file")
    return version, tensors, entries


def check_benchmark_file(path: str | os.PathLike[str], what: str = "benchmark file") -> None:
    """The check every space's ``load_records`` makes of a user's benchmark file before
    reading it: a regular file of at most :data:`MAX_BENCHMARK_MB` MiB (a missing path is left
    to the reader's own error); SpaceError otherwise."""
    path = os.fspath(path)
    if os.path.exists(path):
        check_file_size(path, what, env_limit(MAX_BENCHMARK_MB_ENV, MAX_BENCHMARK_MB),
                        MAX_BENCHMARK_MB_ENV)


def check_record_count(count: int, source: str,
                       reason: str = "each is checked now, then built and scored") -> None:
    """SpaceError when a benchmark file holds more than :data:`MAX_RECORDS` records, checked
    before any record is read further; ``reason`` says what each costs."""
    limit = env_limit(MAX_RECORDS_ENV, MAX_RECORDS)
    if count > limit:
        raise SpaceError(f"{source}: {count:,} records, over the limit of {limit:,} ({reason}; "
                         f"raise the limit with {MAX_RECORDS_ENV}=N)")


def check_records(records: Sequence[Record], source: str, *, space: str = "",
                  ids: Sequence[Hashable | None] | None = None,
                  skipped: Sequence[tuple[str, str]] = ()) -> list[Record]:
    """The records of a benchmark file after the checks every space's ``load_records`` shares.

    ``ids`` are every record's id in file order (default: the records' ids), so a duplicate is
    found even when one copy is skipped; None marks a record without a usable id. ``skipped``
    holds ``(label, reason)`` for each record that cannot be built (its id, or ``#position``):
    they are one warning with their count, the first reason and the first few labels. A file
    with no record left, an id or config text holding a control or bidirectional character, a
    duplicate id, a truth that is not finite, and one truth shared by every record (nothing to
    rank) are each one SpaceError naming ``source`` (and the record's position).
    """
    every = [r.id for r in records] if ids is None else list(ids)
    first: dict[Hashable, int] = {}
    _check_text(records, source, {key: i for i, key in enumerate(every) if key is not None},
                every)
    for position, key in enumerate(every):
        if key is None:
            continue
        if key in first:
            raise SpaceError(f"{source}: duplicate id {_shown_id(key)} (records #{first[key]} "
                             f"and #{position}); every record needs its own id")
        first[key] = position
    if not records:
        problem = f" (record {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise SpaceError(f"{source}: no usable record, none can be built{problem}")
    for record in records:
        if finite(record.truth) is None:
            raise SpaceError(f"{source}: record {record.id}: the truth must be finite, got "
                             f"{record.truth}")
    truths = {record.truth for record in records}
    if len(records) > 1 and len(truths) == 1:
        raise SpaceError(f"{source}: all {len(records)} records have the same truth "
                         f"({records[0].truth:g}); a constant ground truth cannot rank proxies")
    if skipped:
        others = [label for label, _ in skipped[1:SKIPPED_SHOWN]]
        more = len(skipped) - 1 - len(others)
        also = f"; also {', '.join(others)}{f' and {more} more' if more else ''}" if others else ""
        prefix = f"{space}: " if space else ""
        warnings.warn(f"{prefix}skipped {len(skipped)} of {len(skipped) + len(records)} records "
                      f"of {source} that cannot be built: record {skipped[0][0]} "
                      f"({skipped[0][1]}){also}", stacklevel=3)
    return list(records)


@dataclass(frozen=True)
class CalibrationSpec:
    """What calibration batch a space's models take; the engine builds it from this.

    ``kind`` is ``bert`` (input ids, token types and attention mask for a masked-LM loss) or
    ``lm`` (input ids and next-token labels); ``batch_size`` x ``seq_len`` is the default on a
    CPU; ``vocab_size`` bounds the token ids of ``lm`` batches; ``max_seq_len`` is the longest
    sequence the models accept (None: no limit); ``tokenizer`` is the tokenizer the space
    suggests (a local folder; None: the shipped one). ``stream`` is a 1-D array of token ids
    the space ships for its models (``lm`` only), described by ``stream_source``; it is used
    when no tokenizer and no text are given.
    """

    kind: str
    batch_size: int
    seq_len: int
    vocab_size: int | None = None
    max_seq_len: int | None = None
    tokenizer: str | None = None
    stream: Any = field(default=None, compare=False, repr=False)
    stream_source: str | None = None


@dataclass(frozen=True)
class BaselineSpec:
    """What the hand-crafted baselines need from a space.

    ``batch``: their default calibration batch (batch size, sequence length), smaller than the
    search's so every baseline on every architecture fits a small CPU; ``hooks_module``: the
    module whose ``HOOKS`` object (a :class:`BaselineHooks`) reads the models (None: the space
    supports only the feature baselines); ``paper`` and ``recomputed``: published numbers,
    key -> (Spearman rho, Kendall tau), printed beside the measured ones.
    """

    batch: tuple[int, int] = (4, 128)
    hooks_module: str | None = None
    paper: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    recomputed: Mapping[str, tuple[float, float]] = field(default_factory=dict)


class BaselineHooks(Protocol):
    """What a space exposes so the hand-crafted baselines can read its models."""

    def check(self, model: nn.Module) -> None:
        """Raise SpaceError unless ``model`` was built by this space."""

    def module_set(self, model: nn.Module, name: str) -> list[nn.Module]:
        """Weight-bearing modules of a named set (layers, saliency, diversity,
        head_importance, param_inputs), in model order."""

    def fan(self, module: nn.Module) -> tuple[int, int]:
        """(in_features, out_features) of a linear-like module."""

    def activation_modules(self, model: nn.Module) -> list[nn.Module]:
        """Modules whose every output call feeds Activation Distance / NWOT."""

    def head_modules(self, model: nn.Module) -> list[nn.Module]:
        """Modules whose outputs feed Attention Confidence."""

    def softmax_taps(self, model: nn.Module) -> list[tuple[nn.Module, int | None]]:
        """(module, output index or None) whose output is a softmax, for Softmax Confidence."""

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        """The transformer blocks, in order (the search's per-block grouping)."""

    def position_table(self, model: nn.Module) -> nn.Parameter | None:
        """The learned position-embedding table (Jacobian Cosine), or None."""

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor],
             semantics: str) -> torch.Tensor:
        """Forward pass and the scalar the gradients are taken of, for ``semantics``."""

    def synflow_loss(self, model: nn.Module, batch: dict[str, torch.Tensor],
                     semantics: str) -> torch.Tensor:
        """Synflow's objective on a model whose parameters are already |.| and float64."""


#: A sub-network configuration: one value per elastic group (hashable: the cache key).
SubnetConfig = tuple[int, ...]


class SubnetSearchSpace(ABC):
    """Sub-networks of one super-network: what the engine needs to score and search them.

    The capability a space offers through :meth:`Space.subnets` (``lpzero-gp subnets``). The
    search works on a genome of indices, one gene per free choice: gene ``i`` takes
    ``0 .. choices[i] - 1`` and a larger index is a smaller network (index 0 is the largest
    value). A config (:data:`SubnetConfig`) is what the genome decodes to. The super-network
    may be built lazily: :attr:`name` never needs it.
    """

    #: Short name of the super-network, for the default results folder.
    name: str = ""
    #: Cost features of a config, read without running a model; ``params`` is the count a
    #: parameter budget limits, so every capability has it. Higher is bigger.
    feature_names: tuple[str, ...] = ("params",)
    #: The cost features the results table shows (a subset of :attr:`feature_names`).
    table_features: tuple[str, ...] = ("params",)
    #: The proxy ``subnets`` maximises when none is given (None: the engine's default).
    default_proxy: str | None = None
    #: Packages whose versions are recorded with the results (beside torch and Python).
    packages: tuple[str, ...] = ()

    @property
    @abstractmethod
    def choices(self) -> tuple[int, ...]:
        """How many values each gene takes."""

    @abstractmethod
    def validate(self, config: Sequence[Any]) -> SubnetConfig:
        """``config`` checked and normalised; SpaceError names the bad entry."""

    @abstractmethod
    def encode(self, config: Sequence[Any]) -> tuple[int, ...]:
        """The genome (one index per gene) of a config."""

    @abstractmethod
    def decode(self, genes: Sequence[int]) -> SubnetConfig:
        """The config of a genome."""

    @abstractmethod
    def maximal(self) -> SubnetConfig:
        """The largest sub-network (the whole super-network)."""

    @abstractmethod
    def minimal(self) -> SubnetConfig:
        """The smallest sub-network."""

    @abstractmethod
    def named(self) -> dict[str, SubnetConfig]:
        """Named sub-networks the results report beside the best ones, in report order."""

    def seeds(self) -> list[SubnetConfig]:
        """Configs the search's first population starts with (default: the named ones)."""
        return list(self.named().values())

    @abstractmethod
    def features(self, config: SubnetConfig) -> dict[str, int]:
        """The cost features of a config (:attr:`feature_names`, in that order)."""

    def shrink(self, genes: list[int], rng: random.Random) -> bool:
        """One step of the budget repair, in place: one gene drawn with ``rng`` among those
        that can still shrink moves one value smaller. False when none can."""
        room = [i for i, n in enumerate(self.choices) if genes[i] < n - 1]
        if not room:
            return False
        genes[rng.choice(room)] += 1
        return True

    @abstractmethod
    def collect(self, config: SubnetConfig, batch: dict[str, torch.Tensor],
                letters: Sequence[str] = INPUT_NAMES) -> RawInputs:
        """The RawInputs of one config on ``batch`` (letters not asked for may be empty)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-ready facts of the super-network and its settings, recorded with the results."""


class Space(ABC):
    """A benchmark family: records, seeded models, calibration and proxy inputs.

    Subclasses register by name in :mod:`lpzero_gp.spaces` (or through the ``lpzero_gp.spaces``
    entry-point group). Class attributes describe the space; methods build and read models.
    """

    name: str = ""
    variants: tuple[str, ...] = ("default",)
    default_variant: str = "default"
    #: Input semantics the space supports (see :data:`SEMANTICS`).
    semantics: tuple[str, ...] = SEMANTICS
    #: What the ground truth is, in words, with its sign convention.
    truth_label: str = ""
    #: Whether the benchmark's own metric is better when higher (records always store a truth
    #: that is higher-is-better: a lower-is-better metric is negated when records are read).
    higher_is_better: bool = True
    #: The benchmark file format, in a sentence or two (shown by ``lpzero-gp spaces``).
    benchmark_format: str = ""
    #: Whether ``load_records(None)`` gives a packaged benchmark (False: a file, or the
    #: space's stand-in records, supplies them).
    ships_benchmark: bool = True
    #: Named scalar features usable as proxies (e.g. ``params``, ``layers``).
    feature_names: tuple[str, ...] = ()
    #: The feature that measures a model's size (parameter count). Reports control for it:
    #: a proxy's partial rank correlation given this feature (None: the space has none).
    size_feature: str | None = "params"
    #: A categorical feature (depth) whose groups reports rank within: a proxy's rank
    #: correlation inside each group of this feature (None: the space has none).
    group_feature: str | None = None
    #: Named proxies from the literature that ``run`` scores on the held-out architectures
    #: beside the searched proxy and the features.
    reference_proxies: tuple[str, ...] = ()
    #: The calibration batch the models take, with the default size on a CPU.
    calibration: CalibrationSpec = CalibrationSpec("lm", 16, 128)
    #: Sizes of the packaged benchmark's stored search / validation / test splits (None: no
    #: stored splits; a benchmark is then split 10 / 10 / 80 %).
    split_sizes: tuple[int, int, int] | None = None
    #: The hand-crafted baselines' batch, model hooks and published numbers.
    baselines: BaselineSpec = BaselineSpec()
    #: What produces the gradients, per semantics, in words.
    losses: Mapping[str, str] = {}
    #: Named values of the constructor's options, per option (an option may take other values
    #: too, such as a path). Code outside the spaces never compares against them.
    option_choices: Mapping[str, tuple[str, ...]] = {}
    #: Whether :meth:`subnets` gives the space's sub-networks (``lpzero-gp subnets``).
    has_subnets: bool = False
    #: A folder where the space may keep what it converts from the model files its options
    #: point at (llama: a GGUF file's config, tokenizer and weights), one sub-folder per entry
    #: named by 20 hex digits with a ``key.json`` naming the ``space``. The workflows set it
    #: from the cache setting (``lpzero-gp cache`` lists and clears it); None keeps nothing.
    #: What it holds never changes a model, so it is no part of any statistics key.
    model_cache: str | None = None

    #: Version of the space's model code, part of every statistics-cache key: bump it by hand
    #: when a change to ``build`` or ``collect`` alters what the same record gives.
    code_version: str = "1"

    def record_digest(self, record: Record) -> str:
        """Digest of what decides ``record``'s statistics beyond the run's settings, part of
        its statistics-cache key, so a record edited under the same id is recomputed.

        Default: :func:`config_digest` of its config (never its truth). A space whose records
        or options point at files (weights, configs) overrides this to add their content
        (:func:`path_digest`).
        """
        return config_digest(record.config)

    def model_seed(self, seed: int, record_id: str) -> int:
        """Seed of one architecture's model (default: a hash of run seed and id, so the model
        never depends on evaluation order or worker count)."""
        return arch_seed(seed, record_id)

    def loss_label(self, semantics: str) -> str:
        """What produces the gradients under ``semantics``, in words."""
        return self.losses.get(semantics, "")

    def baseline_hooks(self) -> BaselineHooks | None:
        """How the hand-crafted baselines read this space's models (None: no baselines)."""
        if self.baselines.hooks_module is None:
            return None
        return import_module(self.baselines.hooks_module).HOOKS

    def max_seq_len(self, records: list[Record] | None = None) -> int | None:
        """The longest calibration sequence every model of ``records`` accepts (None: no limit).

        The engine makes the default calibration length no longer and refuses a longer
        ``--seq-len`` up front. The default is :attr:`calibration`'s ``max_seq_len``; a space
        whose limit is a field of each record (GPT-2's ``tgt_len``) reads it off ``records``.
        """
        return self.calibration.max_seq_len

    def packaged_size(self) -> int | None:
        """Number of records of the packaged benchmark (None when there is none)."""
        return len(self.load_records(None)) if self.ships_benchmark else None

    def stand_in_records(self, seed: int, batch: dict[str, torch.Tensor],
                         progress: Any = None) -> list[Record] | None:
        """Records with a measured stand-in truth when no benchmark is available (None: the
        space has none). The engine hands over the run's seed and the calibration batch."""
        return None

    def subnets(self, seed: int, device: str = "cpu") -> SubnetSearchSpace | None:
        """The sub-networks of the super-network built with ``seed`` on ``device`` (None: the
        space has none; a space that gives them sets :attr:`has_subnets`)."""
        return None

    @abstractmethod
    def load_records(self, path: str | None = None) -> list[Record]:
        """Packaged benchmark (``path=None``) or a user file; raise SpaceError on bad input.

        A record that cannot be built is skipped with a warning naming its id (not fatal);
        a file that is not a benchmark at all raises SpaceError.
        """

    @abstractmethod
    def build(self, record: Record, variant: str, seed: int) -> torch.nn.Module:
        """A freshly initialised model for ``record``; the init depends only on ``seed``."""

    @abstractmethod
    def num_params(self, record: Record, variant: str) -> int:
        """Trainable parameter count as the benchmark counts it (no model build needed)."""

    @abstractmethod
    def features(self, record: Record, variant: str) -> dict[str, float]:
        """Named architecture features (``params``, ``layers``, ...) used as trivial proxies."""

    @abstractmethod
    def collect(self, model: torch.nn.Module, batch: dict[str, torch.Tensor],
                semantics: str = "intended") -> RawInputs:
        """One forward and one backward pass; every hook removed before returning."""

__all__ = [
    "BaselineHooks", "BaselineSpec", "CalibrationSpec", "INPUT_NAMES", "MAX_BENCHMARK_MB",
    "MAX_GGUF_ENTRIES", "MAX_GGUF_TENSORS",
    "MAX_BENCHMARK_MB_ENV", "MAX_RECORDS", "MAX_RECORDS_ENV", "RawInputs", "Record", "SEMANTICS",
    "Space", "SubnetConfig", "SubnetSearchSpace", "arch_seed", "check_benchmark_file",
    "check_file_size", "check_gguf_header", "check_label", "check_record_count", "check_records",
    "config_digest", "path_digest",
]
